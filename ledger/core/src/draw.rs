//! Verifiable draws (SPEC §15): the lottery centre's reward draws for
//! players (彩民回馈抽奖) and game draws, recomputable by anyone from the
//! chain.
//!
//! A draw names a set of entries by the root of a Merkle tree of salted
//! commitments (nothing personal is published), commits its seed, and
//! closes at a height. Auditors and invited members commit their own seeds
//! before it closes; after the first block past the closing height (the
//! *beacon block*) is decided, each committer reveals. The outcome is a
//! function of every revealed seed and the beacon block's hash: nobody who
//! committed honestly can be outguessed, and nobody can choose the outcome
//! alone. This module is the pure part — hashes, the beacon and the
//! sampling — that the state machine, the command line and the web page's
//! JavaScript all follow.

use crate::merkle::{self, Blake3Hasher, Hash, MerkleHasher};
use crate::types::{Address, Commitment, Hash32};

/// The most winners one draw may have (the settling record lists them).
pub const MAX_WINNERS: u32 = 256;
/// The most members a draw may invite to commit seeds.
pub const MAX_INVITED: usize = 16;

fn len_prefixed(h: &mut blake3::Hasher, s: &str) {
    h.update(&(s.len() as u64).to_le_bytes());
    h.update(s.as_bytes());
}

/// A seed's commitment: `blake3("shanlian/draw-seed/v1" ‖ 0x00 ‖ LE64(len(draw)) ‖ draw ‖ seed)`.
/// The draw id is inside, so a commitment cannot be replayed in another draw.
pub fn seed_commitment(draw: &str, seed: &Hash32) -> Hash32 {
    let mut h = blake3::Hasher::new();
    h.update(b"shanlian/draw-seed/v1\0");
    len_prefixed(&mut h, draw);
    h.update(seed);
    *h.finalize().as_bytes()
}

/// An entry of an entry set: the salted commitment to a ticket serial or an
/// entrant's identity ([`crate::crypto::commitment`], SPEC §5).
pub fn entry_commitment(entry: &str, salt: &[u8; 32]) -> Commitment {
    crate::crypto::commitment(entry, salt)
}

/// The leaf hashes of an entry set, in entry order.
pub fn entry_leaves(entries: &[Commitment]) -> Vec<Hash> {
    entries
        .iter()
        .map(|c| Blake3Hasher::hash_leaf(&c.0))
        .collect()
}

/// The root of an entry set: the RFC 9162 tree (BLAKE3, SPEC §6) whose
/// leaf `i` is the 32 bytes of entry `i`'s commitment.
pub fn entry_root(entries: &[Commitment]) -> Hash32 {
    merkle::root_of_leaves::<Blake3Hasher>(&entry_leaves(entries))
}

/// What the outcome is computed from (SPEC §15.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeaconInput<'a> {
    pub draw: &'a str,
    pub entries_root: Hash32,
    pub entries: u64,
    pub winners: u32,
    /// The hash of the header of block `closes + 1`.
    pub block_hash: Hash32,
    /// Every revealed seed with its committer; any order (sorted here).
    pub revealed: Vec<(Address, Hash32)>,
}

/// The beacon: `blake3("shanlian/draw-beacon/v1" ‖ 0x00 ‖ LE64(len(draw)) ‖
/// draw ‖ entries_root ‖ LE64(entries) ‖ LE32(winners) ‖ block_hash ‖
/// LE32(n) ‖ (address ‖ seed) × n)`, the revealed seeds sorted by address.
pub fn beacon(input: &BeaconInput) -> Hash32 {
    let mut revealed = input.revealed.clone();
    revealed.sort_by_key(|(a, _)| *a);
    let mut h = blake3::Hasher::new();
    h.update(b"shanlian/draw-beacon/v1\0");
    len_prefixed(&mut h, input.draw);
    h.update(&input.entries_root);
    h.update(&input.entries.to_le_bytes());
    h.update(&input.winners.to_le_bytes());
    h.update(&input.block_hash);
    h.update(&(revealed.len() as u32).to_le_bytes());
    for (a, s) in &revealed {
        h.update(&a.0);
        h.update(s);
    }
    *h.finalize().as_bytes()
}

/// The outcome of a draw (SPEC §15.3): its beacon and its winners.
pub fn outcome(input: &BeaconInput) -> (Hash32, Vec<u64>) {
    let b = beacon(input);
    (b, winners(&b, input.entries, input.winners))
}

/// The stream of 64-bit numbers a beacon yields: number `c` (from 0) is the
/// little-endian u64 of the first 8 bytes of `blake3(beacon ‖ LE64(c))`.
struct Stream {
    beacon: Hash32,
    counter: u64,
}

impl Stream {
    fn next_u64(&mut self) -> u64 {
        let mut h = blake3::Hasher::new();
        h.update(&self.beacon);
        h.update(&self.counter.to_le_bytes());
        self.counter += 1;
        let out = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&out.as_bytes()[..8]);
        u64::from_le_bytes(b)
    }

    /// A uniform number in `0..m` (`m ≥ 1`), by rejection: numbers at or
    /// above the largest multiple of `m` that fits in 2^64 are skipped, so
    /// no residue is more likely than another.
    fn uniform(&mut self, m: u64) -> u64 {
        // 2^64 mod m, computed without overflow.
        let rem = (u64::MAX % m + 1) % m;
        let limit = u64::MAX - rem; // numbers ≤ limit are accepted: limit + 1 is a multiple of m
        loop {
            let x = self.next_u64();
            if x <= limit {
                return x % m;
            }
        }
    }
}

/// The winners (entry indices, in the order drawn) of a draw of `winners`
/// out of `entries`: a partial Fisher–Yates shuffle of `0..entries` driven
/// by the beacon's stream — for `i` in `0..winners`, `j = i +
/// uniform(entries − i)`, swap positions `i` and `j`, winner `i` is the
/// entry now at position `i`. Without replacement, every ordered choice
/// equally likely. Empty when `winners > entries` or `entries == 0`.
pub fn winners(beacon: &Hash32, entries: u64, winners: u32) -> Vec<u64> {
    if entries == 0 || u64::from(winners) > entries {
        return Vec::new();
    }
    let mut stream = Stream {
        beacon: *beacon,
        counter: 0,
    };
    // The positions moved so far (the rest hold their own index).
    let mut moved = std::collections::BTreeMap::<u64, u64>::new();
    let mut out = Vec::with_capacity(winners as usize);
    for i in 0..u64::from(winners) {
        let j = i + stream.uniform(entries - i);
        let at_i = moved.get(&i).copied().unwrap_or(i);
        let at_j = moved.get(&j).copied().unwrap_or(j);
        moved.insert(i, at_j);
        moved.insert(j, at_i);
        out.push(at_j);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winners_are_distinct_and_in_range() {
        for n in [1u64, 2, 3, 7, 100] {
            for k in 0..=n.min(20) as u32 {
                let w = winners(&[k as u8; 32], n, k);
                assert_eq!(w.len(), k as usize);
                let mut s = w.clone();
                s.sort_unstable();
                s.dedup();
                assert_eq!(s.len(), w.len(), "no entry wins twice");
                assert!(w.iter().all(|&x| x < n));
            }
        }
        assert!(winners(&[0; 32], 3, 4).is_empty());
        assert!(winners(&[0; 32], 0, 0).is_empty());
        // All of them: a permutation.
        let mut all = winners(&[9; 32], 50, 50);
        all.sort_unstable();
        assert_eq!(all, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn uniform_rejects_the_biased_tail() {
        // m = 3: 2^64 mod 3 = 1, so exactly u64::MAX is rejected.
        let mut s = Stream {
            beacon: [1; 32],
            counter: 0,
        };
        for m in [1u64, 2, 3, 10, u64::MAX, (1 << 63) + 1] {
            for _ in 0..50 {
                assert!(s.uniform(m) < m);
            }
        }
    }

    #[test]
    fn every_winner_equally_likely() {
        // 3 entries, 1 winner, 30,000 beacons: each entry near 10,000.
        let mut counts = [0u32; 3];
        for i in 0..30_000u32 {
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&i.to_le_bytes());
            counts[winners(&b, 3, 1)[0] as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn the_beacon_ignores_reveal_order_and_binds_everything_else() {
        let (a, b) = (Address([1; 20]), Address([2; 20]));
        let input = BeaconInput {
            draw: "D-1",
            entries_root: [3; 32],
            entries: 10,
            winners: 2,
            block_hash: [4; 32],
            revealed: vec![(a, [5; 32]), (b, [6; 32])],
        };
        let mut swapped = input.clone();
        swapped.revealed.reverse();
        assert_eq!(beacon(&input), beacon(&swapped));
        let mut other = input.clone();
        other.block_hash = [7; 32];
        assert_ne!(beacon(&input), beacon(&other));
        let mut fewer = input.clone();
        fewer.revealed.pop();
        assert_ne!(beacon(&input), beacon(&fewer));
        assert_ne!(
            seed_commitment("D-1", &[0; 32]),
            seed_commitment("D-2", &[0; 32])
        );
    }
}
