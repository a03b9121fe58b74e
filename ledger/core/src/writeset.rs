//! The state commitment (SPEC §9.3): each block's write set is hashed and
//! chained into the state hash every honest node computes identically.

use crate::types::Hash32;

/// State writes of a block: `(key, new value or deletion)`, sorted by key.
pub type WriteSet = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// `blake3("shanlian/state/v1" || 0x00 || prev || LE64(height) || ws)`
/// with `ws` the digest of the write set (SPEC §9.3).
pub fn next_state_hash(
    prev: &Hash32,
    height: u64,
    writes: &[(Vec<u8>, Option<Vec<u8>>)],
) -> Hash32 {
    let mut ws = blake3::Hasher::new();
    for (k, v) in writes {
        ws.update(&(k.len() as u32).to_le_bytes());
        ws.update(k);
        match v {
            Some(v) => {
                ws.update(&[1]);
                ws.update(&(v.len() as u32).to_le_bytes());
                ws.update(v);
            }
            None => {
                ws.update(&[0]);
            }
        }
    }
    let mut h = blake3::Hasher::new();
    h.update(b"shanlian/state/v1\0");
    h.update(prev);
    h.update(&height.to_le_bytes());
    h.update(ws.finalize().as_bytes());
    *h.finalize().as_bytes()
}
