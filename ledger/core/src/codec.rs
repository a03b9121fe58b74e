//! The one canonical encoding for everything Shanlian signs or hashes.
//!
//! bincode 2 with fixed-width little-endian integers: `u8..u64` as 1..8
//! bytes LE, `bool` as one byte 0/1, enum variants as a `u32` LE index,
//! `Option` as a `u8` tag 0/1 followed by the value, `Vec`/`String` as a
//! `u64` LE length followed by the elements/UTF-8 bytes, fixed arrays as
//! their raw elements, structs as their fields in declaration order.
//! docs/SPEC.md restates this for every structure.
//!
//! Decoding is strict: trailing bytes, invalid booleans, unknown variants,
//! invalid UTF-8 and lengths past the input are all refused, and
//! [`decode_canonical`] additionally re-encodes the value and refuses input
//! whose bytes differ, so one value has exactly one byte string.

use bincode::config::{self, Configuration, Fixint, Limit, LittleEndian};

/// Upper bound on what one decode may allocate: no structure we decode is
/// larger than a block, and blocks are bounded far below this by genesis.
const DECODE_LIMIT: usize = 256 << 20;

type Cfg = Configuration<LittleEndian, Fixint, Limit<DECODE_LIMIT>>;

const fn cfg() -> Cfg {
    config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<DECODE_LIMIT>()
}

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("malformed bytes: {0}")]
    Malformed(String),
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    #[error("bytes are not in canonical form")]
    NonCanonical,
}

/// Encodes a value canonically.
pub fn encode<T: bincode::Encode>(value: &T) -> Vec<u8> {
    // Encoding into a Vec cannot fail for our types: no custom encoders,
    // and the limit only applies to decoding.
    bincode::encode_to_vec(value, cfg()).unwrap_or_default()
}

/// Appends the canonical encoding of a value to `out`.
pub fn encode_into<T: bincode::Encode>(value: &T, out: &mut Vec<u8>) {
    out.extend_from_slice(&encode(value));
}

/// Decodes exactly one value occupying all of `bytes`.
pub fn decode<T: bincode::Decode<()>>(bytes: &[u8]) -> Result<T, DecodeError> {
    let (value, used) = decode_prefix::<T>(bytes)?;
    if used != bytes.len() {
        return Err(DecodeError::TrailingBytes(bytes.len() - used));
    }
    Ok(value)
}

/// Decodes one value at the start of `bytes`; returns it and how many
/// bytes it took.
pub fn decode_prefix<T: bincode::Decode<()>>(bytes: &[u8]) -> Result<(T, usize), DecodeError> {
    bincode::decode_from_slice::<T, _>(bytes, cfg())
        .map_err(|e| DecodeError::Malformed(explain::<T>(bytes, &e)))
}

/// A decoding failure as a person reads it: where (the byte offset of the
/// item that failed) and what (no Rust type paths, no debug text). Runs
/// only on failure: the input is decoded again, counting bytes.
fn explain<T: bincode::Decode<()>>(bytes: &[u8], e: &bincode::error::DecodeError) -> String {
    use bincode::error::DecodeError as E;
    let mut r = Counting {
        inner: bincode::de::read::SliceReader::new(bytes),
        pos: 0,
        last: 0,
    };
    let at = match bincode::decode_from_reader::<T, _, _>(&mut r, cfg()) {
        Err(_) => r.last,
        Ok(_) => r.pos,
    };
    let what = match e {
        E::UnexpectedEnd { additional } => {
            format!("the bytes end {additional} byte(s) too early")
        }
        E::UnexpectedVariant {
            type_name, found, ..
        } => {
            let t = short_type(type_name);
            if t.starts_with("Option<") {
                format!("an Option tag is {found}; it must be 0 (none) or 1 (some)")
            } else {
                format!("{t} has no variant {found}")
            }
        }
        E::InvalidBooleanValue(v) => format!("a bool is {v}; it must be 0 or 1"),
        E::Utf8 { .. } => "a string is not valid UTF-8".into(),
        E::LimitExceeded => "a length is larger than anything allowed".into(),
        E::OutsideUsizeRange(n) => format!("a length of {n} does not fit"),
        other => short_type(&other.to_string()),
    };
    format!("at byte {at}: {what}")
}

/// `core::option::Option<alloc::string::String>` → `Option<String>`.
fn short_type(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut word = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            word.clear(); // a path segment: dropped
        } else {
            out.push_str(&word);
            word.clear();
            out.push(c);
        }
    }
    out.push_str(&word);
    out
}

/// A slice reader that knows where it is.
struct Counting<'a> {
    inner: bincode::de::read::SliceReader<'a>,
    /// Bytes consumed.
    pos: usize,
    /// Where the last read started.
    last: usize,
}

impl bincode::de::read::Reader for Counting<'_> {
    fn read(&mut self, bytes: &mut [u8]) -> Result<(), bincode::error::DecodeError> {
        self.last = self.pos;
        self.inner.read(bytes)?;
        self.pos += bytes.len();
        Ok(())
    }
    fn peek_read(&mut self, n: usize) -> Option<&[u8]> {
        self.inner.peek_read(n)
    }
    fn consume(&mut self, n: usize) {
        self.last = self.pos;
        self.inner.consume(n);
        self.pos += n;
    }
}

/// Decodes untrusted bytes and refuses any byte string other than the
/// canonical encoding of the decoded value.
pub fn decode_canonical<T: bincode::Decode<()> + bincode::Encode>(
    bytes: &[u8],
) -> Result<T, DecodeError> {
    let value: T = decode(bytes)?;
    if !encodes_to(&value, bytes) {
        return Err(DecodeError::NonCanonical);
    }
    Ok(value)
}

/// Whether `value`'s canonical encoding is exactly `bytes`: the encoder
/// writes into a comparison with `bytes` and stops at the first byte that
/// differs, so nothing is allocated or copied (this runs on every record
/// and block a node or a replay decodes).
fn encodes_to<T: bincode::Encode>(value: &T, bytes: &[u8]) -> bool {
    let mut m = Matching { expected: bytes };
    bincode::encode_into_writer(value, &mut m, cfg()).is_ok() && m.expected.is_empty()
}

/// A writer that consumes `expected` as long as what is written equals it.
struct Matching<'a> {
    expected: &'a [u8],
}

impl bincode::enc::write::Writer for &mut Matching<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        match self.expected.strip_prefix(bytes) {
            Some(rest) => {
                self.expected = rest;
                Ok(())
            }
            None => Err(bincode::error::EncodeError::Other("differs")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_say_where_and_what_without_rust_types() {
        // a: u16, b: bool, c: Option<u8>, d: String, e: [u8; 3]
        let good = encode(&Sample {
            a: 1,
            b: true,
            c: Some(2),
            d: "x".into(),
            e: [1, 2, 3],
        });
        let msg = |bytes: &[u8]| decode::<Sample>(bytes).unwrap_err().to_string();
        let mut bad_bool = good.clone();
        bad_bool[2] = 7;
        assert_eq!(
            msg(&bad_bool),
            "malformed bytes: at byte 2: a bool is 7; it must be 0 or 1"
        );
        let mut bad_tag = good.clone();
        bad_tag[3] = 9;
        assert_eq!(
            msg(&bad_tag),
            "malformed bytes: at byte 3: an Option tag is 9; it must be 0 (none) or 1 (some)"
        );
        let m = msg(&good[..good.len() - 2]);
        assert!(m.starts_with("malformed bytes: at byte "), "{m}");
        assert!(m.contains("too early"), "{m}");
        assert!(!m.contains("::"), "{m}");
        assert_eq!(
            short_type("core::option::Option<alloc::string::String>"),
            "Option<String>"
        );
    }

    #[test]
    fn the_canonical_check_refuses_every_other_byte_string() {
        let value = Sample {
            a: 513,
            b: false,
            c: Some(9),
            d: "捐赠".into(),
            e: [4, 5, 6],
        };
        let bytes = encode(&value);
        assert!(encodes_to(&value, &bytes));
        for i in 0..bytes.len() {
            let mut other = bytes.clone();
            other[i] ^= 1;
            assert!(!encodes_to(&value, &other), "byte {i} flipped");
            assert!(!encodes_to(&value, &bytes[..i]), "cut to {i} bytes");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(!encodes_to(&value, &longer));
    }

    #[derive(Debug, PartialEq, bincode::Encode, bincode::Decode)]
    struct Sample {
        a: u16,
        b: bool,
        c: Option<u8>,
        d: String,
        e: [u8; 3],
    }

    #[test]
    fn layout_is_fixed_width_little_endian() {
        let s = Sample {
            a: 0x0102,
            b: true,
            c: Some(9),
            d: "ab".into(),
            e: [7, 8, 9],
        };
        let bytes = encode(&s);
        assert_eq!(
            bytes,
            [2, 1, 1, 1, 9, 2, 0, 0, 0, 0, 0, 0, 0, b'a', b'b', 7, 8, 9]
        );
        assert_eq!(decode::<Sample>(&bytes).unwrap(), s);
    }

    #[test]
    fn strict_decoding_refuses_bad_input() {
        let s = Sample {
            a: 1,
            b: false,
            c: None,
            d: String::new(),
            e: [0; 3],
        };
        let mut bytes = encode(&s);
        bytes.push(0);
        assert_eq!(decode::<Sample>(&bytes), Err(DecodeError::TrailingBytes(1)));
        let mut bad_bool = encode(&s);
        bad_bool[2] = 2;
        assert!(matches!(
            decode::<Sample>(&bad_bool),
            Err(DecodeError::Malformed(_))
        ));
        let mut bad_tag = encode(&s);
        bad_tag[3] = 7;
        assert!(matches!(
            decode::<Sample>(&bad_tag),
            Err(DecodeError::Malformed(_))
        ));
        // A string length far past the input must not allocate or panic.
        let mut huge = encode(&s);
        huge[4..12].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode::<Sample>(&huge).is_err());
        assert!(decode::<Sample>(&[]).is_err());
    }
}

/// Why a body of frames did not split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnframeError {
    /// A length runs past the end of the body.
    Truncated,
    /// More than the most frames allowed.
    TooMany,
}

/// Splits a body of frames — each a `u32` little-endian length, then that
/// many bytes (the batch submission body) — refusing more than `max` frames
/// before reading them all.
pub fn unframe(mut b: &[u8], max: usize) -> Result<Vec<&[u8]>, UnframeError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if out.len() == max {
            return Err(UnframeError::TooMany);
        }
        let (len, rest) = b.split_at_checked(4).ok_or(UnframeError::Truncated)?;
        let n = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let (frame, rest) = rest.split_at_checked(n).ok_or(UnframeError::Truncated)?;
        out.push(frame);
        b = rest;
    }
    Ok(out)
}
