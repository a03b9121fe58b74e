//! The block lifecycle (SPEC §7.3, §9): opening a block (due validator
//! changes, the set that decides it), the journal marks that make a refused
//! record change nothing, and closing a block into its write set, state
//! hash, log and index writes.

use super::State;
use crate::fault::Fault;
use bincode::Encode;
use shanlian_core::block::Header;
use shanlian_core::codec;
use shanlian_core::error::BlockError;
use shanlian_core::keys as k;
use shanlian_core::merkle::{self, Blake3Hasher, Frontier};
use shanlian_core::types::*;
use shanlian_core::values::Location;
use shanlian_core::writeset;
use std::collections::BTreeMap;

/// The block being built or checked.
#[derive(Debug, Clone)]
pub(super) struct OpenBlock {
    pub height: u64,
    pub time: Timestamp,
    /// Journal marks at the block's start.
    marks: Marks,
    log_before: Frontier<Blake3Hasher>,
    /// Set by `finish_block`.
    log_after: Option<Frontier<Blake3Hasher>>,
    /// Accepted records so far, with their signer keys and log leaf
    /// hashes.
    pub records: Vec<(RecordId, PublicKey, Hash32)>,
    /// Trace rows of this block in order: (family, fund, position, row).
    pub trace: Vec<(u8, FundRef, u64, Vec<u8>)>,
    /// Donor commitments, (fund, record index) and (signer, record index)
    /// for the indexes.
    pub donors: Vec<(Commitment, u32)>,
    pub fund_notes: Vec<(FundRef, u32)>,
    pub member_notes: Vec<(Address, u32)>,
    /// Indexes of governance records a light client follows.
    pub governance: Vec<u32>,
    /// (target, index) of corrections and findings.
    pub annotations: Vec<(RecordId, u32)>,
    /// (record index, family, fund, position) of trace rows to index by
    /// record (all but donations' inflows).
    pub positions: Vec<(u32, u8, FundRef, u64)>,
    /// Hash of the validator set deciding this block, fixed at its start.
    validator_set_hash: Hash32,
}

/// Journal positions of everything a record can change: the tables, the
/// replay window, and the open block's own lists.
#[derive(Debug, Clone, Copy)]
pub(super) struct Marks {
    tables: [usize; super::tables::COUNT],
    recent: usize,
    /// Lengths of the open block's trace, donors, fund and member notes,
    /// and trace positions.
    open: (usize, usize, usize, usize, usize),
}

/// Everything a decided block changes in the store.
#[derive(Debug, Clone, Default)]
pub struct Transition {
    pub height: u64,
    /// State-table writes, sorted by key.
    pub state_writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// The block's trace rows as stored: grouped per (family, fund)
    /// (SPEC §9.1), sorted by key. Empty when index output is off.
    pub trace_groups: Vec<(Vec<u8>, Vec<u8>)>,
    /// The leaf hashes of the block's write set (the state-table writes and
    /// each trace row), in write-set order: their Merkle root is hashed
    /// into the state hash (SPEC §9.3).
    pub write_set: Vec<Hash32>,
    /// Index writes (not hashed: derived from block contents).
    pub index_writes: Vec<(Vec<u8>, Vec<u8>)>,
    pub record_ids: Vec<RecordId>,
    pub state_hash: Hash32,
    pub log_size: u64,
    pub log_root: Hash32,
    pub record_root: Hash32,
    /// The log frontier before the block.
    pub log_before: Frontier<Blake3Hasher>,
    /// The nodes the block's records complete at log tile boundaries
    /// (collected while the log was hashed, to write its tiles from).
    pub log_nodes: merkle::BandNodes,
}

/// The header fields the state machine computes for a block.
pub struct Computed {
    pub log_size: u64,
    pub log_root: Hash32,
    pub record_root: Hash32,
    pub state_hash: Hash32,
    pub validator_set_hash: Hash32,
}

fn log_fault(e: impl std::fmt::Display) -> BlockError {
    BlockError::Log(e.to_string())
}

impl State {
    pub(super) fn marks(&mut self) -> Marks {
        let mut tables = [0; super::tables::COUNT];
        for (slot, t) in tables.iter_mut().zip(self.tables.all_ref()) {
            *slot = t.mark();
        }
        let open = self.open.as_ref().map_or((0, 0, 0, 0, 0), |o| {
            (
                o.trace.len(),
                o.donors.len(),
                o.fund_notes.len(),
                o.member_notes.len(),
                o.positions.len(),
            )
        });
        Marks {
            tables,
            recent: self.recent.mark(),
            open,
        }
    }

    /// Undoes everything since `marks` (a refused record).
    pub(super) fn rollback_to(&mut self, marks: Marks) {
        for (t, m) in self.tables.all().into_iter().zip(marks.tables) {
            t.rollback(m);
        }
        self.recent.rollback(marks.recent);
        if let Some(o) = self.open.as_mut() {
            let (tr, dn, fnotes, mnotes, pos) = marks.open;
            o.trace.truncate(tr);
            o.donors.truncate(dn);
            o.fund_notes.truncate(fnotes);
            o.member_notes.truncate(mnotes);
            o.positions.truncate(pos);
        }
    }

    pub(super) fn open_block(&mut self) -> Result<&mut OpenBlock, Fault> {
        self.open
            .as_mut()
            .ok_or_else(|| Fault::Invariant("no block is open".into()))
    }

    /// Whether finished blocks carry index writes and the grouped trace rows
    /// a store keeps (default true). A replay that does not compare them
    /// turns this off and saves the work.
    pub fn set_index_output(&mut self, on: bool) {
        self.index_output = on;
    }

    /// Notes that record `index` touched `fund` (the fund → records index).
    pub(super) fn note_fund(&mut self, fund: &FundRef, index: u32) {
        if !self.index_output {
            return;
        }
        if let Some(o) = self.open.as_mut() {
            o.fund_notes.push((fund.clone(), index));
        }
    }

    /// Notes a donor commitment of record `index` (the donor index).
    pub(super) fn note_donor(&mut self, donor: Commitment, index: u32) {
        if let (true, Some(o)) = (self.index_output, self.open.as_mut()) {
            o.donors.push((donor, index));
        }
    }

    /// Writes a trace row of this block (SPEC §9.1 families 0x20–0x22),
    /// and, if `by_record`, notes it for the record's trace-positions index.
    pub(super) fn trace_row<V: Encode>(
        &mut self,
        (family, fund, pos): (u8, &FundRef, u64),
        row: &V,
        by_record: Option<u32>,
    ) {
        let index_output = self.index_output;
        if let Some(o) = self.open.as_mut() {
            o.trace
                .push((family, fund.clone(), pos, codec::encode(row)));
            if let (true, Some(i)) = (index_output, by_record) {
                o.positions.push((i, family, fund.clone(), pos));
            }
        }
    }

    /// Opens block `height` at `time` (SPEC §7.1 rules 3–4, §7.3): applies
    /// the validator changes due at this height and fixes the set that
    /// decides it.
    pub fn begin_block(&mut self, height: u64, time: Timestamp) -> Result<(), BlockError> {
        self.rollback_block();
        if height != self.height + 1 {
            return Err(BlockError::WrongHeight {
                expected: self.height + 1,
                got: height,
            });
        }
        if time <= self.time {
            return Err(BlockError::TimeNotIncreasing {
                previous: self.time,
                got: time,
            });
        }
        let mut tables = [0; super::tables::COUNT];
        for (slot, t) in tables.iter_mut().zip(self.tables.all_ref()) {
            *slot = t.mark();
        }
        let marks = Marks {
            tables,
            recent: self.recent.mark(),
            open: (0, 0, 0, 0, 0),
        };
        self.open = Some(OpenBlock {
            height,
            time,
            marks,
            log_before: self.log.clone(),
            log_after: None,
            records: Vec::new(),
            trace: Vec::new(),
            donors: Vec::new(),
            fund_notes: Vec::new(),
            member_notes: Vec::new(),
            governance: Vec::new(),
            annotations: Vec::new(),
            positions: Vec::new(),
            validator_set_hash: [0; 32],
        });
        self.recent.prune(time);
        // Validator changes scheduled for this height take effect now.
        let t = &mut self.tables;
        let mut due: Vec<((u64, Address), u64)> = t
            .pending_validators
            .iter()
            .filter(|((h, _), _)| *h <= height)
            .map(|(k, v)| (*k, *v))
            .collect();
        due.sort();
        for ((h, a), p) in due {
            if let Some(mut m) = t.members.get(&a).cloned() {
                m.power = p;
                t.members.put(a, m);
            }
            t.pending_validators.remove(&(h, a));
        }
        let vs = self.validator_set(height).hash();
        if let Some(o) = self.open.as_mut() {
            o.validator_set_hash = vs;
        }
        Ok(())
    }

    /// Closes the open block: appends its record ids to the log and
    /// computes the write set, state hash and header fields. The block
    /// stays open until `commit_block` or `rollback_block`.
    pub fn finish_block(&mut self) -> Result<(Transition, Computed), BlockError> {
        let open = self.open.as_ref().ok_or(BlockError::NoOpenBlock)?;
        let height = open.height;
        let mut state_writes = Vec::new();
        for (tbl, m) in self.tables.all_ref().into_iter().zip(open.marks.tables) {
            tbl.changes_since(m, &mut state_writes);
        }
        state_writes.sort_by(|a, b| a.0.cmp(&b.0));
        let record_ids: Vec<RecordId> = open.records.iter().map(|r| r.0).collect();
        // The log and the record root share the records' leaf hashes (each
        // hashed once, when the record was decoded); the write set hashes
        // the changes: for a large block, both at once.
        let hash_ids = || -> Result<_, BlockError> {
            let leaves: Vec<Hash32> = open.records.iter().map(|r| r.2).collect();
            let mut log = open.log_before.clone();
            let mut nodes = merkle::BandNodes::default();
            for leaf in &leaves {
                log.push_leaf_hash_to_tiles(*leaf, &mut nodes)
                    .map_err(log_fault)?;
            }
            Ok((log, nodes, merkle::root_of_leaves::<Blake3Hasher>(&leaves)))
        };
        let (write_set, ids_hashed) =
            if state_writes.len() + open.trace.len() + record_ids.len() >= PARALLEL_LEAVES {
                rayon::join(|| write_set_leaves(&state_writes, &open.trace), hash_ids)
            } else {
                (write_set_leaves(&state_writes, &open.trace), hash_ids())
            };
        let (log, log_nodes, record_root) = ids_hashed?;
        let state_hash =
            writeset::state_hash_from_root(&self.state_hash, height, &write_set_root(&write_set));
        // Only a store needs the rows grouped (a plain replay does not).
        let trace_groups = if self.index_output {
            k::group_trace_rows(&open.trace)
        } else {
            Vec::new()
        };
        let index_writes = if self.index_output {
            let mut w = index_writes(open, &record_ids);
            w.push((
                k::height_key(k::WRITE_SETS, height),
                write_set.iter().flatten().copied().collect(),
            ));
            w
        } else {
            Vec::new()
        };
        let computed = Computed {
            log_size: log.size(),
            log_root: log.root(),
            record_root,
            state_hash,
            validator_set_hash: open.validator_set_hash,
        };
        let tr = Transition {
            height,
            state_writes,
            trace_groups,
            write_set,
            index_writes,
            record_ids,
            state_hash,
            log_size: computed.log_size,
            log_root: computed.log_root,
            record_root: computed.record_root,
            log_before: open.log_before.clone(),
            log_nodes,
        };
        if let Some(o) = self.open.as_mut() {
            o.log_after = Some(log);
        }
        Ok((tr, computed))
    }

    /// Makes the open, finished block permanent in memory (after the store
    /// commit).
    pub fn commit_block(&mut self, header: &Header) -> Result<(), BlockError> {
        let open = self.open.take().ok_or(BlockError::NoOpenBlock)?;
        self.log = open.log_after.ok_or(BlockError::NoOpenBlock)?;
        for tbl in self.tables.all() {
            tbl.clear_journal();
        }
        self.recent.clear_journal();
        self.height = open.height;
        self.time = open.time;
        self.state_hash = header.state_hash;
        self.last_header_hash = header.hash();
        Ok(())
    }

    /// Undoes everything since `begin_block` (nothing if no block is open).
    pub fn rollback_block(&mut self) {
        if let Some(open) = self.open.take() {
            for (t, m) in self.tables.all().into_iter().zip(open.marks.tables) {
                t.rollback(m);
            }
            self.recent.rollback(open.marks.recent);
        }
    }

    /// Whether a block is open (begun and not yet committed or rolled back).
    pub fn has_open_block(&self) -> bool {
        self.open.is_some()
    }
}

/// The leaf hashes of a block's write set (SPEC §9.2): the state-table
/// writes (families below 0x20, already sorted) and then each trace row
/// under its own key `family ‖ encode(fund) ‖ BE64(position)`, sorted.
/// (`encode(fund)` is self-delimiting, so sorting by (prefix, position) is
/// sorting by key, and no key is built whole.)
fn write_set_leaves(
    tables: &[(Vec<u8>, Option<Vec<u8>>)],
    trace: &[(u8, FundRef, u64, Vec<u8>)],
) -> Vec<Hash32> {
    let mut prefixes: BTreeMap<(u8, &FundRef), Vec<u8>> = BTreeMap::new();
    for (family, fund, _, _) in trace {
        prefixes
            .entry((*family, fund))
            .or_insert_with(|| k::fund_prefix(*family, fund));
    }
    let mut rows: Vec<(&[u8], u64, &[u8])> = trace
        .iter()
        .map(|(family, fund, pos, row)| {
            let prefix = prefixes
                .get(&(*family, fund))
                .map_or(&[][..], Vec::as_slice);
            (prefix, *pos, row.as_slice())
        })
        .collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(&b.1)));
    // A block of thousands of records hashes thousands of leaves: on all
    // cores (the order, and so the hashes, are the same).
    use rayon::prelude::*;
    let mut leaves: Vec<Hash32> = if tables.len() + rows.len() >= PARALLEL_LEAVES {
        tables
            .par_iter()
            .map(|(k, v)| writeset::leaf_hash(k, v.as_deref()))
            .collect()
    } else {
        tables
            .iter()
            .map(|(k, v)| writeset::leaf_hash(k, v.as_deref()))
            .collect()
    };
    let row_leaf = |(prefix, pos, v): &(&[u8], u64, &[u8])| {
        writeset::leaf_hash_split(prefix, &pos.to_be_bytes(), Some(v))
    };
    if tables.len() + rows.len() >= PARALLEL_LEAVES {
        let mut r: Vec<Hash32> = rows.par_iter().map(row_leaf).collect();
        leaves.append(&mut r);
    } else {
        leaves.extend(rows.iter().map(row_leaf));
    }
    leaves
}

/// From how many leaves hashing a write set is worth spreading over cores.
const PARALLEL_LEAVES: usize = 1024;

/// The Merkle root of a write set's leaves (SPEC §9.3), the two halves of a
/// large tree on two cores: `MTH(D[n]) = H(MTH(D[0:k]), MTH(D[k:n]))`.
pub(super) fn write_set_root(leaves: &[Hash32]) -> Hash32 {
    use shanlian_core::merkle::MerkleHasher;
    let n = leaves.len();
    if n < PARALLEL_LEAVES {
        return writeset::root(leaves);
    }
    let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
    let (l, r) = rayon::join(
        || write_set_root(&leaves[..k]),
        || write_set_root(&leaves[k..]),
    );
    Blake3Hasher::hash_children(&l, &r)
}

/// The index writes of a block (SPEC §9.1 families 0x34–0x3c; not hashed).
fn index_writes(open: &OpenBlock, record_ids: &[RecordId]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let height = open.height;
    let mut out = Vec::with_capacity(record_ids.len() * 2);
    for (i, id) in record_ids.iter().enumerate() {
        let loc = Location {
            height,
            index: i as u32,
        };
        out.push((k::record_id_key(id), codec::encode(&loc)));
    }
    for (c, i) in &open.donors {
        out.push((k::donor_key(c, height, *i), Vec::new()));
    }
    for i in &open.governance {
        out.push((k::governance_key(height, *i), Vec::new()));
    }
    for (target, i) in &open.annotations {
        out.push((k::annotation_key(target, height, *i), Vec::new()));
    }
    let mut positions: BTreeMap<u32, Vec<(u8, FundRef, u64)>> = BTreeMap::new();
    for (i, family, fund, pos) in &open.positions {
        positions
            .entry(*i)
            .or_default()
            .push((*family, fund.clone(), *pos));
    }
    for (i, rows) in positions {
        if let Some(id) = record_ids.get(i as usize) {
            out.push((k::trace_positions_key(id), codec::encode(&rows)));
        }
    }
    let mut fund_records: BTreeMap<&FundRef, Vec<u32>> = BTreeMap::new();
    for (f, i) in &open.fund_notes {
        let v = fund_records.entry(f).or_default();
        if v.last() != Some(i) {
            v.push(*i);
        }
    }
    let mut member_records: BTreeMap<&Address, Vec<u32>> = BTreeMap::new();
    for (a, i) in &open.member_notes {
        member_records.entry(a).or_default().push(*i);
    }
    for (f, idx) in &fund_records {
        let key = k::fund_records_key(f, height);
        out.push((key, idx.iter().flat_map(|i| i.to_le_bytes()).collect()));
    }
    for (a, idx) in &member_records {
        let key = k::member_records_key(a, height);
        out.push((key, idx.iter().flat_map(|i| i.to_le_bytes()).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parallel_root_is_the_root() {
        for n in [0usize, 1, 2, 1023, 1024, 1025, 3000, 4096, 5001] {
            let leaves: Vec<Hash32> = (0..n as u32)
                .map(|i| *blake3::hash(&i.to_le_bytes()).as_bytes())
                .collect();
            assert_eq!(
                write_set_root(&leaves),
                writeset::root(&leaves),
                "{n} leaves"
            );
        }
    }
}
