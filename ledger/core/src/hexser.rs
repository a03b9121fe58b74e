//! Hex strings for byte fields in the JSON forms (SPEC §13): `with`
//! modules for serde. Lowercase on output; either case accepted on input.

use serde::{de::Error, Deserialize, Deserializer, Serializer};

/// A 32-byte hash as 64 hex digits.
pub mod hash32 {
    use super::*;

    pub fn serialize<S: Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out)
            .map_err(|e| D::Error::custom(format!("expected 64 hex digits: {e}")))?;
        Ok(out)
    }
}

/// An optional 32-byte hash: a hex string or null.
pub mod opt_hash32 {
    use super::*;

    pub fn serialize<S: Serializer>(h: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match h {
            Some(h) => s.serialize_str(&hex::encode(h)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out)
            .map_err(|e| D::Error::custom(format!("expected 64 hex digits: {e}")))?;
        Ok(Some(out))
    }
}

/// A list of 32-byte hashes as a list of hex strings.
pub mod hash32_vec {
    use super::*;
    use serde::ser::SerializeSeq;

    pub fn serialize<S: Serializer>(v: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for h in v {
            seq.serialize_element(&hex::encode(h))?;
        }
        seq.end()
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        texts
            .iter()
            .map(|t| {
                let mut out = [0u8; 32];
                hex::decode_to_slice(t, &mut out)
                    .map_err(|e| D::Error::custom(format!("expected 64 hex digits: {e}")))?;
                Ok(out)
            })
            .collect()
    }
}

/// Bytes of any length as hex.
pub mod bytes {
    use super::*;

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(&text).map_err(|e| D::Error::custom(format!("expected hex bytes: {e}")))
    }
}
