//! The state commitment (SPEC §9.3): each block's write set is a Merkle
//! tree (RFC 9162 shape, BLAKE3, the log's own code) over its entries in
//! key order, and its root is chained into the state hash every honest
//! node computes identically. So one entry — a trace row, a fund's state —
//! can be proved to a light client with a [`WriteSetProof`] against a
//! certified header (SPEC §10.6).

use crate::merkle::{self, Blake3Hasher, ProofError};
use crate::types::Hash32;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// State writes of a block: `(key, new value or deletion)`, sorted by key.
pub type WriteSet = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// The leaf data of one write-set entry: `LE32(len(key)) ‖ key ‖ (0x01 ‖
/// LE32(len(value)) ‖ value | 0x00)` (SPEC §9.3).
pub fn entry_leaf(key: &[u8], value: Option<&[u8]>) -> Vec<u8> {
    let mut b = Vec::with_capacity(9 + key.len() + value.map_or(0, <[u8]>::len));
    b.extend_from_slice(&(key.len() as u32).to_le_bytes());
    b.extend_from_slice(key);
    match value {
        Some(v) => {
            b.push(1);
            b.extend_from_slice(&(v.len() as u32).to_le_bytes());
            b.extend_from_slice(v);
        }
        None => b.push(0),
    }
    b
}

/// The Merkle leaf hash of one entry, `blake3(0x00 ‖ entry_leaf(key,
/// value))`, computed without building the leaf.
pub fn leaf_hash(key: &[u8], value: Option<&[u8]>) -> Hash32 {
    leaf_hash_split(key, &[], value)
}

/// [`leaf_hash`] of the key `key_head ‖ key_tail`.
pub fn leaf_hash_split(key_head: &[u8], key_tail: &[u8], value: Option<&[u8]>) -> Hash32 {
    let key_len = key_head.len() + key_tail.len();
    let len = 1 + 4 + key_len + 1 + value.map_or(0, |v| 4 + v.len());
    // Most leaves are a few hundred bytes: hashing them in one call from
    // a buffer on the stack is faster than feeding the hasher piecewise.
    let mut small = [0u8; 256];
    let mut large = Vec::new();
    let buf: &mut [u8] = if len <= small.len() {
        &mut small[..len]
    } else {
        large.resize(len, 0);
        &mut large
    };
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        buf[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(&[0]);
    put(&(key_len as u32).to_le_bytes());
    put(key_head);
    put(key_tail);
    match value {
        Some(v) => {
            put(&[1]);
            put(&(v.len() as u32).to_le_bytes());
            put(v);
        }
        None => put(&[0]),
    }
    *blake3::hash(buf).as_bytes()
}

/// The leaf hashes of a write set, in its (key) order.
pub fn leaf_hashes(writes: &[(Vec<u8>, Option<Vec<u8>>)]) -> Vec<Hash32> {
    writes
        .iter()
        .map(|(k, v)| leaf_hash(k, v.as_deref()))
        .collect()
}

/// The Merkle root of a block's write set from its leaf hashes.
pub fn root(leaves: &[Hash32]) -> Hash32 {
    merkle::root_of_leaves::<Blake3Hasher>(leaves)
}

/// `state_hash(h) = blake3("shanlian/state/v2" ‖ 0x00 ‖ prev ‖ LE64(h) ‖ root)`
/// with `root` the Merkle root of block h's write set.
pub fn state_hash_from_root(prev: &Hash32, height: u64, root: &Hash32) -> Hash32 {
    let mut h = blake3::Hasher::new();
    h.update(b"shanlian/state/v2\0");
    h.update(prev);
    h.update(&height.to_le_bytes());
    h.update(root);
    *h.finalize().as_bytes()
}

/// The state hash after a block with these writes (sorted by key).
pub fn next_state_hash(
    prev: &Hash32,
    height: u64,
    writes: &[(Vec<u8>, Option<Vec<u8>>)],
) -> Hash32 {
    state_hash_from_root(prev, height, &root(&leaf_hashes(writes)))
}

/// One entry of a block's write set, proven: the entry, its index among
/// the `size` entries, its inclusion path, and the state hash before the
/// block. It verifies against the block's certified header.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteSetProof {
    #[serde(with = "crate::hexser::bytes")]
    pub key: Vec<u8>,
    /// `None` is a deletion.
    #[serde(with = "opt_bytes")]
    pub value: Option<Vec<u8>>,
    pub index: u64,
    pub size: u64,
    #[serde(with = "crate::hexser::hash32_vec")]
    pub path: Vec<Hash32>,
    #[serde(with = "crate::hexser::hash32")]
    pub previous_state_hash: Hash32,
}

impl WriteSetProof {
    /// The state hash this proof implies for block `height`; equal to the
    /// header's `state_hash` iff the entry is in that block's write set.
    pub fn state_hash(&self, height: u64) -> Result<Hash32, ProofError> {
        let leaf = leaf_hash(&self.key, self.value.as_deref());
        let root = merkle::root_from_inclusion_proof::<Blake3Hasher>(
            &leaf, self.index, self.size, &self.path,
        )?;
        Ok(state_hash_from_root(
            &self.previous_state_hash,
            height,
            &root,
        ))
    }
}

/// Optional bytes as hex or null.
mod opt_bytes {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_str(&hex::encode(b)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(t) => hex::decode(t)
                .map(Some)
                .map_err(|e| D::Error::custom(format!("expected hex bytes: {e}"))),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MerkleHasher;

    /// The leaf preimage of SPEC §9.2 fed to the hasher piece by piece:
    /// the definition [`leaf_hash_split`] must equal at every size, on
    /// both sides of its stack buffer's length.
    fn leaf_by_pieces(head: &[u8], tail: &[u8], value: Option<&[u8]>) -> Hash32 {
        let mut h = blake3::Hasher::new();
        h.update(&[0]);
        h.update(&((head.len() + tail.len()) as u32).to_le_bytes());
        h.update(head).update(tail);
        match value {
            Some(v) => {
                h.update(&[1])
                    .update(&(v.len() as u32).to_le_bytes())
                    .update(v);
            }
            None => {
                h.update(&[0]);
            }
        }
        *h.finalize().as_bytes()
    }

    #[test]
    fn a_leaf_hashes_its_preimage_at_every_size() {
        let bytes: Vec<u8> = (0..2000u32).map(|i| (i * 7 + 3) as u8).collect();
        for key_len in [0usize, 1, 21, 40, 200, 246, 247, 300] {
            for value_len in [
                None,
                Some(0usize),
                Some(1),
                Some(100),
                Some(201),
                Some(202),
                Some(1500),
            ] {
                let (head, tail) = bytes[..key_len].split_at(key_len / 3);
                let value = value_len.map(|n| &bytes[500..500 + n]);
                assert_eq!(
                    leaf_hash_split(head, tail, value),
                    leaf_by_pieces(head, tail, value),
                    "key {key_len} value {value_len:?}"
                );
            }
        }
    }

    #[test]
    fn every_entry_proves_against_the_state_hash() {
        let writes: WriteSet = (0..37u8)
            .map(|i| {
                (
                    vec![1, i],
                    if i % 5 == 0 {
                        None
                    } else {
                        Some(vec![i; i as usize])
                    },
                )
            })
            .collect();
        let leaves = leaf_hashes(&writes);
        let prev = [4; 32];
        let want = next_state_hash(&prev, 9, &writes);
        for (i, (k, v)) in writes.iter().enumerate() {
            let p = WriteSetProof {
                key: k.clone(),
                value: v.clone(),
                index: i as u64,
                size: writes.len() as u64,
                path: merkle::path_in_leaves::<Blake3Hasher>(&leaves, i as u64).unwrap(),
                previous_state_hash: prev,
            };
            assert_eq!(p.state_hash(9).unwrap(), want);
            let mut bad = p.clone();
            bad.value = Some(b"other".to_vec());
            assert_ne!(bad.state_hash(9).unwrap(), want);
            assert_ne!(p.state_hash(10).unwrap(), want);
        }
        for (k, v) in &writes {
            let leaf = entry_leaf(k, v.as_deref());
            assert_eq!(leaf_hash(k, v.as_deref()), Blake3Hasher::hash_leaf(&leaf));
        }
        // The empty write set: root = blake3("").
        assert_eq!(
            next_state_hash(&prev, 1, &[]),
            state_hash_from_root(&prev, 1, blake3::hash(b"").as_bytes())
        );
    }
}
