//! Every key family of a node's store, declared once (SPEC §9.1). The
//! store is one ordered key-value tree; the first key byte names the family. State-table keys are
//! the family byte and the canonical (little-endian) encoding of the
//! table's key; trace, index and chain keys put heights and positions in
//! big-endian so that they sort in order.
//!
//! Three kinds of family:
//! * **state** (`0x01..=0x1f`): the state machine's tables, loaded into
//!   memory at open; every change is in the block's write set and its hash.
//! * **trace** (`0x20..=0x2f`): append-only fund-tracing rows; in the write
//!   set and its hash, never loaded.
//! * **index / chain** (`0x30..`): blocks, certificates, headers, log tiles
//!   and lookup indexes; derived from blocks, not hashed.

use crate::codec;
use crate::types::*;

/// `meta`: 0x00 || name → value (tip height, frontier, genesis).
pub const META: u8 = 0x00;

/// members: Address → Member
pub const MEMBERS: u8 = 0x01;
/// keys: PublicKey → KeyEntry (current and retired keys)
pub const KEYS: u8 = 0x02;
/// validator changes awaiting their height: (height, Address) → power
pub const PENDING_VALIDATORS: u8 = 0x03;
/// projects: ProjectId → Project
pub const PROJECTS: u8 = 0x04;
/// funds: FundRef → FundState
pub const FUNDS: u8 = 0x05;
/// donations: (charity Address, ReceiptNo) → Donation
pub const DONATIONS: u8 = 0x06;
/// public lists: (Address, ListKind) → Listing
pub const LISTINGS: u8 = 0x07;
/// lottery game totals: GameId → GameTotals
pub const GAMES: u8 = 0x08;
/// sales reports seen: (GameId, period, region) → RecordId
pub const SALES_REPORTS: u8 = 0x09;
/// welfare allocations per UTC year: year → WelfareYear
pub const WELFARE_YEARS: u8 = 0x0b;
/// per charity per UTC year: (Address, year) → CharityYear
pub const CHARITY_YEARS: u8 = 0x0c;
/// refunded ranges of a fund at or after its FIFO position:
/// FundRef → Vec<(start, end)> (absent when there are none)
pub const HOLES: u8 = 0x0d;
/// verifiable draws: DrawId → Draw
pub const DRAWS: u8 = 0x0e;

/// trace: inflows, `SourceRow` at each inflow's start position.
///
/// Trace rows are grouped per block: one entry per (family, fund) and
/// block, key `family || encode(FundRef) || first row's position BE`, value
/// `encode(Vec<(u64 position, row)>)` in the order the rows were written
/// (see [`group_trace_rows`]).
pub const TRACE_SOURCES: u8 = 0x20;
/// trace: outflows, `OutflowRow` at the start of the range each consumed.
pub const TRACE_OUTFLOWS: u8 = 0x21;
/// trace: refund holes, `HoleRow` (refund record, hole end) at the hole's
/// start: one row per refund, the range of the inflow axis it gave back.
pub const TRACE_HOLES: u8 = 0x22;

/// block bodies: 0x30 || height BE → BlockData
pub const BLOCKS: u8 = 0x30;
/// commit certificates: 0x31 || height BE → CommitCertificate
pub const CERTIFICATES: u8 = 0x31;
/// headers: 0x32 || height BE → Header
pub const HEADERS: u8 = 0x32;
/// log tiles: 0x33 || band || index BE → 32-byte hashes
pub const TILES: u8 = 0x33;
/// record ids: 0x34 || RecordId → Location
pub const RECORD_IDS: u8 = 0x34;
/// donor commitments: 0x35 || Commitment || height BE || index BE → ()
pub const DONORS: u8 = 0x35;
/// fund → records: 0x36 || encode(FundRef) || height BE → [u32 LE indexes]
pub const FUND_RECORDS: u8 = 0x36;
/// member → records it signed: 0x37 || Address || height BE → [u32 LE indexes]
pub const MEMBER_RECORDS: u8 = 0x37;
/// governance records that change members or validators (`AdmitMember`,
/// `UpdateMember`, `RotateKey`, `SetValidator`), for receipt bundles:
/// 0x38 || height BE || index BE → ()
pub const GOVERNANCE: u8 = 0x38;
/// where a record's trace rows are (grants, allocations, disbursements,
/// refunds, sales; a donation's inflow is found through its donation
/// entry): 0x39 || RecordId → encode(Vec<(u8 family, FundRef, u64 position)>)
pub const TRACE_POSITIONS: u8 = 0x39;
/// header hash → height: 0x3a || header hash → height BE
pub const HEADER_HASHES: u8 = 0x3a;
/// the leaf hashes of each block's write set, in write-set order, for
/// write-set proofs: 0x3b || height BE → 32-byte hashes
pub const WRITE_SETS: u8 = 0x3b;
/// records about a record (corrections and findings, which name it as
/// their target): 0x3c || target id || height BE || index BE → ()
pub const ANNOTATIONS: u8 = 0x3c;
/// where each record of a block starts in its stored body, to read one
/// record without walking the block: 0x3d || height BE → u32 LE per record,
/// the offset of its length prefix from the start of the records
pub const RECORD_OFFSETS: u8 = 0x3d;

/// A state-table key: family byte then the canonical encoding of the key.
pub fn state_key<K: bincode::Encode>(family: u8, key: &K) -> Vec<u8> {
    let mut k = vec![family];
    codec::encode_into(key, &mut k);
    k
}

/// `family || encode(fund)`: the prefix of a fund's rows.
pub fn fund_prefix(family: u8, fund: &FundRef) -> Vec<u8> {
    state_key(family, fund)
}

/// `family || encode(fund) || pos BE`.
pub fn fund_pos_key(family: u8, fund: &FundRef, pos: u64) -> Vec<u8> {
    let mut k = fund_prefix(family, fund);
    k.extend_from_slice(&pos.to_be_bytes());
    k
}

/// Reads a trace-row key `family || encode(fund) || pos BE` (strictly: the
/// fund's encoding must be canonical and fill the middle exactly).
pub fn parse_fund_pos_key(key: &[u8]) -> Option<(u8, FundRef, u64)> {
    let (&family, rest) = key.split_first()?;
    let split = rest.len().checked_sub(8)?;
    let (fund, pos) = rest.split_at(split);
    let fund: FundRef = codec::decode_canonical(fund).ok()?;
    Some((family, fund, u64::from_be_bytes(pos.try_into().ok()?)))
}

pub fn height_key(family: u8, height: u64) -> Vec<u8> {
    let mut k = vec![family];
    k.extend_from_slice(&height.to_be_bytes());
    k
}

pub fn meta_key(name: &str) -> Vec<u8> {
    let mut k = vec![META];
    k.extend_from_slice(name.as_bytes());
    k
}

/// `0x35 || donor commitment || height BE || index BE`.
pub fn donor_key(donor: &Commitment, height: u64, index: u32) -> Vec<u8> {
    let mut k = vec![DONORS];
    k.extend_from_slice(&donor.0);
    k.extend_from_slice(&height.to_be_bytes());
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// `0x36 || encode(fund) || height BE`.
pub fn fund_records_key(fund: &FundRef, height: u64) -> Vec<u8> {
    let mut k = fund_prefix(FUND_RECORDS, fund);
    k.extend_from_slice(&height.to_be_bytes());
    k
}

/// `0x37 || member address || height BE`.
pub fn member_records_key(member: &Address, height: u64) -> Vec<u8> {
    let mut k = vec![MEMBER_RECORDS];
    k.extend_from_slice(&member.0);
    k.extend_from_slice(&height.to_be_bytes());
    k
}

/// `0x38 || height BE || index BE`.
pub fn governance_key(height: u64, index: u32) -> Vec<u8> {
    let mut k = vec![GOVERNANCE];
    k.extend_from_slice(&height.to_be_bytes());
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// `0x39 || record id`.
pub fn trace_positions_key(id: &RecordId) -> Vec<u8> {
    let mut k = vec![TRACE_POSITIONS];
    k.extend_from_slice(&id.0);
    k
}

/// `0x3a || header hash`.
pub fn header_hash_key(hash: &Hash32) -> Vec<u8> {
    let mut k = vec![HEADER_HASHES];
    k.extend_from_slice(hash);
    k
}

/// `0x3c || target id || height BE || index BE`.
pub fn annotation_key(target: &RecordId, height: u64, index: u32) -> Vec<u8> {
    let mut k = vec![ANNOTATIONS];
    k.extend_from_slice(&target.0);
    k.extend_from_slice(&height.to_be_bytes());
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// `0x34 || record id`.
pub fn record_id_key(id: &RecordId) -> Vec<u8> {
    let mut k = vec![RECORD_IDS];
    k.extend_from_slice(&id.0);
    k
}

/// Groups a block's trace rows into one entry per (family, fund): key
/// `family || encode(fund) || BE64(position of the group's first row)`,
/// value the canonical encoding of `Vec<(u64 position, row)>` with the rows
/// in the order the block wrote them.
///
/// For inflows (0x20) and outflows (0x21) that order has strictly
/// increasing positions. Refund holes (0x22) follow commit order, which
/// need not be position order: a second refund in the same block can cut a
/// hole before the first one's (SPEC §9.1).
pub fn group_trace_rows(rows: &[(u8, FundRef, u64, Vec<u8>)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut groups: std::collections::BTreeMap<(u8, &FundRef), (u64, u64, Vec<u8>)> =
        std::collections::BTreeMap::new();
    for (family, fund, pos, row) in rows {
        let g = groups
            .entry((*family, fund))
            .or_insert_with(|| (*pos, 0, Vec::new()));
        g.1 += 1;
        g.2.extend_from_slice(&pos.to_le_bytes());
        g.2.extend_from_slice(row);
    }
    groups
        .into_iter()
        .map(|((family, fund), (first, n, body))| {
            let mut v = Vec::with_capacity(8 + body.len());
            v.extend_from_slice(&n.to_le_bytes());
            v.extend_from_slice(&body);
            (fund_pos_key(family, fund, first), v)
        })
        .collect()
}
