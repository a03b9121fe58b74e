//! The deterministic state machine: `begin_block`, `apply_record` for each
//! record, `finish_block`, then `commit_block` (decided) or
//! `rollback_block` (scratch validation). No I/O: committed history the
//! rules need (a correction's target, an attested header) comes through
//! [`History`], and time comes in with the block.
//!
//! A refused record changes nothing: each record runs between a journal
//! mark and either keeps its changes or rolls back to the mark.

use crate::block::{Header, Validator, ValidatorSet};
use crate::codec;
use crate::crypto::{check_member_key, Domain, Verifier};
use crate::error::{BlockError, Refusal};
use crate::genesis::Genesis;
use crate::journal::Hasher;
use crate::journal::{Journaled, Table};
use crate::lottery;
use crate::merkle::{Blake3Hasher, Frontier};
use crate::record::*;
use crate::tables::{self as t};
use crate::types::*;
use bincode::{Decode, Encode};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// A member as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Member {
    pub role: Role,
    pub name: String,
    pub uscc: Uscc,
    /// The current signing key.
    pub key: PublicKey,
    pub node: NodeKey,
    pub suspended: bool,
    /// Current validator power (0 = not a validator).
    pub power: u64,
    pub admitted_height: u64,
}

/// A signing key and the member it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct KeyEntry {
    pub member: Address,
    /// False once the key was rotated out: it may sign nothing new.
    pub current: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum ProjectStatus {
    /// Registered with a public-fundraising reference; awaits the bureau.
    Pending,
    Active,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Project {
    pub owner: Address,
    pub title: String,
    pub category: ProjectCategory,
    pub target: Fen,
    pub start: Timestamp,
    pub end: Timestamp,
    pub public_fundraising_ref: Option<String>,
    pub approval_ref: Option<String>,
    pub status: ProjectStatus,
    pub final_report: Option<Hash32>,
}

/// A fund's money on the tracing axis (docs/SPEC.md § Fund tracing).
///
/// Every inflow occupies `[start, start + amount)` of the inflow axis, in
/// commit order. Outflows consume the axis first in, first out from
/// `consumed`, skipping refunded ranges (`holes`). Refunds cut from the end
/// of their donation's unconsumed range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct FundState {
    pub owner: Address,
    /// Total inflow: the end of the inflow axis.
    pub inflow: u64,
    /// The FIFO position: everything before it is consumed or refunded.
    pub consumed: u64,
    pub refunded: u64,
    pub outflow: u64,
}

/// Refunded ranges of one fund at or after its FIFO position, sorted and
/// disjoint. Kept apart from [`FundState`] so that the common updates
/// (inflows) never copy them.
pub type Holes = Vec<(u64, u64)>;

impl FundState {
    /// Money in the fund now: inflow − refunded − outflow.
    pub fn balance(&self) -> Fen {
        Fen(self.inflow - self.refunded - self.outflow)
    }

    /// Consumes `amount` FIFO and returns the `[start, end)` range of the
    /// inflow axis it covers (holes inside are not money of this outflow).
    /// The caller has checked `amount <= balance`.
    fn consume(&mut self, holes: &mut Holes, amount: u64) -> (u64, u64) {
        let start = skip_holes(holes, self.consumed);
        let mut p = start;
        let mut left = amount;
        while left > 0 {
            match holes.first().copied() {
                Some((hs, he)) if hs <= p => {
                    p = he;
                    holes.remove(0);
                }
                Some((hs, _)) if hs - p < left => {
                    left -= hs - p;
                    p = hs;
                }
                _ => {
                    p += left;
                    left = 0;
                }
            }
        }
        self.consumed = p;
        self.outflow += amount;
        (start, p)
    }
}

/// Moves `p` past any holes that start at or before it (and drops them).
fn skip_holes(holes: &mut Holes, mut p: u64) -> u64 {
    let n = holes.iter().take_while(|h| h.0 <= p).count();
    for (_, he) in holes.drain(..n) {
        p = p.max(he);
    }
    p
}

/// Adds the refunded range `[start, end)`, merging it with a neighbour it
/// touches (a donation refunded twice).
fn add_hole(holes: &mut Holes, start: u64, end: u64) {
    let i = holes.partition_point(|h| h.0 < start);
    if i < holes.len() && holes[i].0 == end {
        holes[i].0 = start;
    } else {
        holes.insert(i, (start, end));
    }
    if i > 0 && holes[i - 1].1 == holes[i].0 {
        holes[i - 1].1 = holes[i].1;
        holes.remove(i);
    }
}

/// A donation's live state, keyed by (charity, receipt).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Donation {
    pub record: RecordId,
    pub fund: FundRef,
    pub amount: Fen,
    pub refunded: Fen,
    /// Where it starts on the fund's inflow axis.
    pub start: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Listing {
    pub reason: String,
    pub since: Timestamp,
}

/// What one lottery game has generated and paid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct GameTotals {
    pub sales: Fen,
    pub prize: Fen,
    pub issuance_fee: Fen,
    pub welfare_central: Fen,
    pub welfare_local: Fen,
    pub prizes_paid: Fen,
}

/// Welfare allocations of one UTC year, by purpose (WelfarePurpose order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct WelfareYear {
    pub by_purpose: [u64; 5],
}

/// One charity's flows in one UTC year (for Charity Law art. 60).
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct CharityYear {
    /// Donations received.
    pub donations: Fen,
    /// Grants and welfare allocations received.
    pub grants_in: Fen,
    pub refunds: Fen,
    pub charitable_activity: Fen,
    pub management: Fen,
    pub fundraising: Fen,
    pub grants_out: Fen,
}

/// What an inflow row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum SourceKind {
    Donation,
    Grant,
    WelfareAllocation,
    /// The local welfare share of a lottery sales report (welfare pool only).
    LotterySales,
}

/// An inflow on a fund's tracing axis: `[start, start + amount)`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SourceRow {
    pub record: RecordId,
    pub kind: SourceKind,
    pub amount: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum OutflowKind {
    Disbursement,
    Grant,
    WelfareAllocation,
}

/// An outflow on a fund's tracing axis: it consumed `[start, end)` minus
/// refunded holes, `amount` in all.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct OutflowRow {
    pub record: RecordId,
    pub kind: OutflowKind,
    pub end: u64,
    pub amount: u64,
    /// For grants and welfare allocations to a project: the project and
    /// where the money starts on that project's inflow axis.
    pub to: Option<(ProjectId, u64)>,
}

/// State writes of a block: `(key, new value or deletion)`, sorted by key.
pub type WriteSet = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Where a committed record is: block height and index in the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct Location {
    pub height: u64,
    pub index: u32,
}

/// Committed history the rules consult (implemented by the store).
pub trait History {
    /// The signer key of a committed record.
    fn record_signer(&self, id: &RecordId) -> Result<Option<PublicKey>, Refusal>;
    /// The header at a committed height.
    fn header(&self, height: u64) -> Result<Option<Header>, Refusal>;
}

/// A history with nothing in it (genesis, tests).
pub struct NoHistory;

impl History for NoHistory {
    fn record_signer(&self, _: &RecordId) -> Result<Option<PublicKey>, Refusal> {
        Ok(None)
    }
    fn header(&self, _: u64) -> Result<Option<Header>, Refusal> {
        Ok(None)
    }
}

/// Ids committed within the expiry window (replay protection), bucketed by
/// the second their expiry falls in. A bucket is forgotten once all its
/// expiries are before the block time; an id kept a little longer changes
/// no verdict, because an expired record is refused before the duplicate
/// check.
#[derive(Debug, Clone, Default)]
struct Recent {
    ids: HashSet<RecordId, Hasher>,
    buckets: BTreeMap<u64, Vec<RecordId>>,
    undo: Vec<RecentUndo>,
}

#[derive(Debug, Clone)]
enum RecentUndo {
    Inserted(u64),
    Pruned(u64, Vec<RecordId>),
}

impl Recent {
    fn insert(&mut self, id: RecordId, exp: Timestamp) {
        let b = exp.0 / 1000;
        self.ids.insert(id);
        self.buckets.entry(b).or_default().push(id);
        self.undo.push(RecentUndo::Inserted(b));
    }
    /// Forgets the buckets whose expiries are all before `time`.
    fn prune(&mut self, time: Timestamp) {
        while let Some((&b, _)) = self.buckets.first_key_value() {
            if b >= time.0 / 1000 {
                break;
            }
            let Some((b, ids)) = self.buckets.pop_first() else {
                break;
            };
            for id in &ids {
                self.ids.remove(id);
            }
            self.undo.push(RecentUndo::Pruned(b, ids));
        }
    }
    fn rollback(&mut self, mark: usize) {
        while self.undo.len() > mark {
            match self.undo.pop() {
                Some(RecentUndo::Inserted(b)) => {
                    if let Some(v) = self.buckets.get_mut(&b) {
                        if let Some(id) = v.pop() {
                            self.ids.remove(&id);
                        }
                        if v.is_empty() {
                            self.buckets.remove(&b);
                        }
                    }
                }
                Some(RecentUndo::Pruned(b, ids)) => {
                    self.ids.extend(ids.iter().copied());
                    self.buckets.insert(b, ids);
                }
                None => break,
            }
        }
    }
}

/// The block being built or checked.
#[derive(Debug, Clone)]
struct OpenBlock {
    height: u64,
    time: Timestamp,
    marks: Marks,
    recent_mark: usize,
    log_before: Frontier<Blake3Hasher>,
    /// Set by `finish_block`.
    log_after: Option<Frontier<Blake3Hasher>>,
    records: Vec<(RecordId, PublicKey)>,
    /// Trace rows of this block in order: (family, fund, position, row).
    trace: Vec<(u8, FundRef, u64, Vec<u8>)>,
    donors: Vec<(Commitment, u32)>,
    /// (fund, record index) and (signer, record index) for the indexes.
    fund_notes: Vec<(FundRef, u32)>,
    member_notes: Vec<(Address, u32)>,
    /// Hash of the validator set deciding this block, fixed at its start.
    validator_set_hash: Hash32,
}

/// Everything a decided block changes in the store.
#[derive(Debug, Clone, Default)]
pub struct Transition {
    pub height: u64,
    /// State-table and trace writes, sorted by key (hashed into the state hash).
    pub state_writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Index writes (not hashed: derived from block contents).
    pub index_writes: Vec<(Vec<u8>, Vec<u8>)>,
    pub record_ids: Vec<RecordId>,
    pub state_hash: Hash32,
    pub log_size: u64,
    pub log_root: Hash32,
    pub record_root: Hash32,
    /// The log frontier before the block (to write log tiles from).
    pub log_before: Frontier<Blake3Hasher>,
}

/// The header fields the state machine computes for a block.
pub struct Computed {
    pub log_size: u64,
    pub log_root: Hash32,
    pub record_root: Hash32,
    pub state_hash: Hash32,
    pub validator_set_hash: Hash32,
}

/// The ledger state after some height.
#[derive(Debug, Clone)]
pub struct State {
    pub genesis: Arc<Genesis>,
    pub genesis_hash: Hash32,
    pub height: u64,
    pub time: Timestamp,
    pub last_header_hash: Hash32,
    pub state_hash: Hash32,
    pub log: Frontier<Blake3Hasher>,
    pub members: Table<Address, Member>,
    pub keys: Table<PublicKey, KeyEntry>,
    pub pending_validators: Table<(u64, Address), u64>,
    pub projects: Table<ProjectId, Project>,
    pub funds: Table<FundRef, FundState>,
    pub holes: Table<FundRef, Holes>,
    pub donations: Table<(Address, ReceiptNo), Donation>,
    pub listings: Table<(Address, ListKind), Listing>,
    pub games: Table<GameId, GameTotals>,
    pub sales_reports: Table<(GameId, String, String), RecordId>,
    pub welfare_years: Table<u32, WelfareYear>,
    pub charity_years: Table<(Address, u32), CharityYear>,
    recent: Recent,
    verifiers: HashMap<PublicKey, Verifier>,
    open: Option<OpenBlock>,
    /// Whether blocks produce index writes (a store needs them; a replay
    /// that only checks the chain does not).
    index_output: bool,
}

/// Journal marks of every table, in `tables!` order.
type Marks = [usize; TABLES];
const TABLES: usize = 12;

macro_rules! tables {
    ($s:expr) => {
        [
            &mut $s.members as &mut dyn Journaled,
            &mut $s.keys,
            &mut $s.pending_validators,
            &mut $s.projects,
            &mut $s.funds,
            &mut $s.holes,
            &mut $s.donations,
            &mut $s.listings,
            &mut $s.games,
            &mut $s.sales_reports,
            &mut $s.welfare_years,
            &mut $s.charity_years,
        ]
    };
}

fn add(a: Fen, b: Fen) -> Result<Fen, Refusal> {
    a.checked_add(b).ok_or(Refusal::Overflow)
}

/// Groups a block's trace rows into one entry per (family, fund): key
/// `family || encode(fund) || first position BE`, value the canonical
/// encoding of `Vec<(u64 position, row)>` in position order (rows of one
/// fund are appended with increasing positions).
fn group_trace_rows(rows: &[(u8, FundRef, u64, Vec<u8>)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut groups: BTreeMap<(u8, &FundRef), (u64, u64, Vec<u8>)> = BTreeMap::new();
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
            (t::fund_pos_key(family, fund, first), v)
        })
        .collect()
}

/// `blake3("shanlian/state/v1" || 0x00 || prev || height LE || blake3(write set))`.
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

impl State {
    fn empty(genesis: Arc<Genesis>) -> State {
        let genesis_hash = genesis.hash();
        State {
            genesis,
            genesis_hash,
            height: 0,
            time: Timestamp(0),
            last_header_hash: genesis_hash,
            state_hash: [0; 32],
            log: Frontier::new(),
            members: Table::new(t::MEMBERS),
            keys: Table::new(t::KEYS),
            pending_validators: Table::new(t::PENDING_VALIDATORS),
            projects: Table::new(t::PROJECTS),
            funds: Table::new(t::FUNDS),
            holes: Table::new(t::HOLES),
            donations: Table::new(t::DONATIONS),
            listings: Table::new(t::LISTINGS),
            games: Table::new(t::GAMES),
            sales_reports: Table::new(t::SALES_REPORTS),
            welfare_years: Table::new(t::WELFARE_YEARS),
            charity_years: Table::new(t::CHARITY_YEARS),
            recent: Recent::default(),
            verifiers: HashMap::new(),
            open: None,
            index_output: true,
        }
    }

    /// The state at height 0, and the genesis write set (what the store
    /// writes at initialisation). The genesis state hash is
    /// `next_state_hash(genesis_hash, 0, writes)`.
    pub fn from_genesis(genesis: Genesis) -> (State, WriteSet) {
        let mut s = State::empty(Arc::new(genesis));
        let g = s.genesis.clone();
        for m in &g.members {
            let a = m.address();
            s.members.put(
                a,
                Member {
                    role: m.role,
                    name: m.name.clone(),
                    uscc: m.uscc.clone(),
                    key: m.public_key,
                    node: m.node,
                    suspended: false,
                    power: m.power,
                    admitted_height: 0,
                },
            );
            s.keys.put(
                m.public_key,
                KeyEntry {
                    member: a,
                    current: true,
                },
            );
            if m.role == Role::Charity {
                s.funds.put(
                    FundRef::General(a),
                    FundState {
                        owner: a,
                        ..Default::default()
                    },
                );
            }
        }
        for game in &g.games {
            s.games.put(game.id.clone(), GameTotals::default());
        }
        s.funds.put(FundRef::WelfarePool, FundState::default());
        let mut writes = Vec::new();
        for tbl in tables!(s) {
            tbl.changes_since(0, &mut writes);
            tbl.clear_journal();
        }
        writes.sort_by(|a, b| a.0.cmp(&b.0));
        s.state_hash = next_state_hash(&s.genesis_hash, 0, &writes);
        s.time = g.time;
        (s, writes)
    }

    /// Rebuilds a state from stored parts (store open). `tables` are the
    /// raw state-table entries; `recent` the ids still inside the expiry
    /// window.
    #[allow(clippy::too_many_arguments)]
    pub fn restore(
        genesis: Genesis,
        height: u64,
        time: Timestamp,
        last_header_hash: Hash32,
        state_hash: Hash32,
        log: Frontier<Blake3Hasher>,
        entries: impl Iterator<Item = (Vec<u8>, Vec<u8>)>,
        recent: impl Iterator<Item = (RecordId, Timestamp)>,
    ) -> Result<State, crate::codec::DecodeError> {
        let mut s = State::empty(Arc::new(genesis));
        s.height = height;
        s.time = time;
        s.last_header_hash = last_header_hash;
        s.state_hash = state_hash;
        s.log = log;
        fn kv<K: bincode::Decode<()>, V: bincode::Decode<()>>(
            k: &[u8],
            v: &[u8],
        ) -> Result<(K, V), crate::codec::DecodeError> {
            Ok((codec::decode(&k[1..])?, codec::decode(v)?))
        }
        for (k, v) in entries {
            match k.first().copied() {
                Some(t::MEMBERS) => {
                    let (a, b) = kv(&k, &v)?;
                    s.members.load(a, b)
                }
                Some(t::KEYS) => {
                    let (a, b) = kv(&k, &v)?;
                    s.keys.load(a, b)
                }
                Some(t::PENDING_VALIDATORS) => {
                    let (a, b) = kv(&k, &v)?;
                    s.pending_validators.load(a, b)
                }
                Some(t::PROJECTS) => {
                    let (a, b) = kv(&k, &v)?;
                    s.projects.load(a, b)
                }
                Some(t::FUNDS) => {
                    let (a, b) = kv(&k, &v)?;
                    s.funds.load(a, b)
                }
                Some(t::HOLES) => {
                    let (a, b) = kv(&k, &v)?;
                    s.holes.load(a, b)
                }
                Some(t::DONATIONS) => {
                    let (a, b) = kv(&k, &v)?;
                    s.donations.load(a, b)
                }
                Some(t::LISTINGS) => {
                    let (a, b) = kv(&k, &v)?;
                    s.listings.load(a, b)
                }
                Some(t::GAMES) => {
                    let (a, b) = kv(&k, &v)?;
                    s.games.load(a, b)
                }
                Some(t::SALES_REPORTS) => {
                    let (a, b) = kv(&k, &v)?;
                    s.sales_reports.load(a, b)
                }
                Some(t::WELFARE_YEARS) => {
                    let (a, b) = kv(&k, &v)?;
                    s.welfare_years.load(a, b)
                }
                Some(t::CHARITY_YEARS) => {
                    let (a, b) = kv(&k, &v)?;
                    s.charity_years.load(a, b)
                }
                _ => {}
            }
        }
        for (id, exp) in recent {
            s.recent.insert(id, exp);
        }
        s.recent.undo.clear();
        Ok(s)
    }

    /// The validator set deciding `height` (any height after the current
    /// one): current powers plus changes scheduled at or before it.
    pub fn validator_set(&self, height: u64) -> ValidatorSet {
        let mut power: BTreeMap<Address, u64> = self
            .members
            .iter()
            .filter(|(_, m)| m.power > 0)
            .map(|(a, m)| (*a, m.power))
            .collect();
        let mut pending: Vec<_> = self
            .pending_validators
            .iter()
            .filter(|((h, _), _)| *h <= height)
            .collect();
        pending.sort_by_key(|((h, a), _)| (*h, *a));
        for ((_, a), p) in pending {
            power.insert(*a, *p);
        }
        ValidatorSet::new(
            power
                .into_iter()
                .filter_map(|(a, p)| {
                    self.members.get(&a).map(|m| Validator {
                        address: a,
                        public_key: m.key,
                        power: p,
                    })
                })
                .collect(),
        )
    }

    fn verifier(&mut self, key: &PublicKey) -> Option<Verifier> {
        if let Some(v) = self.verifiers.get(key) {
            return Some(v.clone());
        }
        let v = Verifier::parse(key).ok()?;
        self.verifiers.insert(*key, v.clone());
        Some(v)
    }

    /// Parsed verifier of a member key (cached), for batch verification.
    pub fn cached_verifier(&mut self, key: &PublicKey) -> Option<Verifier> {
        self.verifier(key)
    }

    fn marks(&mut self) -> Marks {
        let mut m = [0; TABLES];
        for (slot, t) in m.iter_mut().zip(tables!(self)) {
            *slot = t.mark();
        }
        m
    }

    /// Whether finished blocks carry index writes (default true). A replay
    /// that does not compare indexes turns this off and saves the work.
    pub fn set_index_output(&mut self, on: bool) {
        self.index_output = on;
    }

    /// Opens block `height` at `time`.
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
        let marks = self.marks();
        let recent_mark = self.recent.undo.len();
        self.open = Some(OpenBlock {
            height,
            time,
            marks,
            recent_mark,
            log_before: self.log.clone(),
            log_after: None,
            records: Vec::new(),
            trace: Vec::new(),
            donors: Vec::new(),
            fund_notes: Vec::new(),
            member_notes: Vec::new(),
            validator_set_hash: [0; 32],
        });
        self.recent.prune(time);
        // Validator changes scheduled for this height take effect now.
        let mut due: Vec<((u64, Address), u64)> = self
            .pending_validators
            .iter()
            .filter(|((h, _), _)| *h <= height)
            .map(|(k, v)| (*k, *v))
            .collect();
        due.sort();
        for ((h, a), p) in due {
            if let Some(mut m) = self.members.get(&a).cloned() {
                m.power = p;
                self.members.put(a, m);
            }
            self.pending_validators.remove(&(h, a));
        }
        let vs = self.validator_set(height).hash();
        if let Some(o) = self.open.as_mut() {
            o.validator_set_hash = vs;
        }
        Ok(())
    }

    /// Validates and applies one record in the open block. On refusal the
    /// state is exactly as before. `signature_checked` says the caller has
    /// already verified the signature under the strict rule.
    pub fn apply_record(
        &mut self,
        rec: &Record,
        signature_checked: bool,
        history: &dyn History,
    ) -> Result<(), Refusal> {
        let Some(open) = &self.open else {
            return Err(Refusal::Store("no block is open".into()));
        };
        if open.records.len() >= self.genesis.params.max_records_per_block as usize {
            return Err(Refusal::BlockFull(
                self.genesis.params.max_records_per_block,
            ));
        }
        let marks = self.marks();
        let recent_mark = self.recent.undo.len();
        let open_mark = self.open.as_ref().map(|o| {
            (
                o.trace.len(),
                o.donors.len(),
                o.fund_notes.len(),
                o.member_notes.len(),
            )
        });
        match self.apply_inner(rec, signature_checked, history) {
            Ok(()) => Ok(()),
            Err(e) => {
                for (t, m) in tables!(self).into_iter().zip(marks) {
                    t.rollback(m);
                }
                self.recent.rollback(recent_mark);
                if let (Some(o), Some((tr, dn, fnotes, mnotes))) = (self.open.as_mut(), open_mark) {
                    o.trace.truncate(tr);
                    o.donors.truncate(dn);
                    o.fund_notes.truncate(fnotes);
                    o.member_notes.truncate(mnotes);
                }
                Err(e)
            }
        }
    }

    fn block_time(&self) -> Timestamp {
        self.open.as_ref().map(|o| o.time).unwrap_or(self.time)
    }

    fn block_height(&self) -> u64 {
        self.open.as_ref().map(|o| o.height).unwrap_or(self.height)
    }

    /// The record-level rules (SPEC §8.2, rules 1–10) at time `time`:
    /// size, fields, time window, replay, signer, role and signature.
    /// Returns the signing member. Changes nothing but the verifier cache.
    fn check_envelope(
        &mut self,
        rec: &Record,
        time: Timestamp,
        sig_ok: bool,
    ) -> Result<Address, Refusal> {
        let p = &self.genesis.params;
        let max = p.max_record_bytes as usize;
        if rec.bytes.len() > max {
            return Err(Refusal::TooLarge {
                size: rec.bytes.len(),
                max,
            });
        }
        // Records built in memory (Record::new) skip decoding, so the
        // stateless field rules run here too.
        check_fields(&rec.signed.body.payload)?;
        let body = &rec.signed.body;
        if body.created.0 > time.0.saturating_add(p.clock_skew_ms) {
            return Err(Refusal::NotYetValid {
                created: body.created,
                block_time: time,
            });
        }
        if body.expires < time {
            return Err(Refusal::Expired {
                expires: body.expires,
                block_time: time,
            });
        }
        let window = body.expires.0.saturating_sub(body.created.0);
        if body.expires < body.created || window > p.max_expiry_window_ms {
            return Err(Refusal::ExpiryWindow {
                window_ms: window,
                max_ms: p.max_expiry_window_ms,
            });
        }
        if self.recent.ids.contains(&rec.id) {
            return Err(Refusal::Duplicate(rec.id));
        }
        let signer_key = rec.signed.signer;
        let entry = self
            .keys
            .get(&signer_key)
            .cloned()
            .ok_or(Refusal::UnknownSigner(signer_key))?;
        if !entry.current {
            return Err(Refusal::RetiredKey(signer_key));
        }
        let signer = entry.member;
        let member = self
            .members
            .get(&signer)
            .cloned()
            .ok_or(Refusal::UnknownMember(signer))?;
        if member.suspended {
            return Err(Refusal::SignerSuspended(signer));
        }
        let payload = &body.payload;
        if !payload.permits(member.role) {
            return Err(Refusal::RoleNotPermitted {
                role: member.role,
                payload: payload.kind(),
            });
        }
        if !sig_ok {
            let v = self.verifier(&signer_key).ok_or(Refusal::BadSignature)?;
            v.verify_message(
                &rec.signing_message(&self.genesis_hash),
                &rec.signed.signature,
            )
            .map_err(|_| Refusal::BadSignature)?;
        }
        Ok(signer)
    }

    /// Pool admission: whether `rec` could be committed in a block at time
    /// `now` as far as rules that need no payload state go — size, fields,
    /// time window, not already committed, signer an active member whose
    /// role permits the payload, strict signature. Changes nothing. Payload
    /// rules (balances, receipts, …) are left to block building, where
    /// order is known.
    pub fn admit(&mut self, rec: &Record, now: Timestamp) -> Result<(), Refusal> {
        self.check_envelope(rec, now, false).map(|_| ())
    }

    /// [`State::admit`] for a record whose signature was already checked
    /// strictly (`signature_ok`, e.g. by
    /// [`crate::chain::verify_record_signatures`] on many cores); a `false`
    /// is checked again here, so the refusal names the right rule.
    pub fn admit_checked(
        &mut self,
        rec: &Record,
        now: Timestamp,
        signature_ok: bool,
    ) -> Result<(), Refusal> {
        self.check_envelope(rec, now, signature_ok).map(|_| ())
    }

    fn apply_inner(
        &mut self,
        rec: &Record,
        sig_ok: bool,
        history: &dyn History,
    ) -> Result<(), Refusal> {
        let time = self.block_time();
        let signer = self.check_envelope(rec, time, sig_ok)?;
        let body = &rec.signed.body;
        let signer_key = rec.signed.signer;
        let payload = &body.payload;
        self.recent.insert(rec.id, body.expires);
        let index = self
            .open
            .as_ref()
            .map(|o| o.records.len() as u32)
            .unwrap_or(0);
        self.apply_payload(rec, signer, payload, index, history)?;
        let open = self
            .open
            .as_mut()
            .ok_or_else(|| Refusal::Store("no block is open".into()))?;
        open.records.push((rec.id, signer_key));
        if self.index_output {
            open.member_notes.push((signer, index));
        }
        Ok(())
    }

    fn note_fund(&mut self, fund: &FundRef, index: u32) {
        if !self.index_output {
            return;
        }
        if let Some(o) = self.open.as_mut() {
            o.fund_notes.push((fund.clone(), index));
        }
    }

    fn trace_row<V: Encode>(&mut self, family: u8, fund: &FundRef, pos: u64, row: &V) {
        if let Some(o) = self.open.as_mut() {
            o.trace
                .push((family, fund.clone(), pos, codec::encode(row)));
        }
    }

    fn charity_year(&mut self, charity: Address, f: impl FnOnce(&mut CharityYear)) {
        let key = (charity, self.block_time().utc_year());
        let mut y = self.charity_years.get(&key).cloned().unwrap_or_default();
        f(&mut y);
        self.charity_years.put(key, y);
    }

    fn member(&self, a: &Address) -> Result<Member, Refusal> {
        self.members
            .get(a)
            .cloned()
            .ok_or(Refusal::UnknownMember(*a))
    }

    fn project(&self, id: &ProjectId) -> Result<Project, Refusal> {
        self.projects
            .get(id)
            .cloned()
            .ok_or_else(|| Refusal::UnknownProject(id.clone()))
    }

    /// A fund the signer owns and may move money out of.
    fn own_fund(&self, signer: Address, fund: &FundRef) -> Result<FundState, Refusal> {
        match fund {
            FundRef::General(a) if *a != signer => return Err(Refusal::NotFundOwner(*a)),
            FundRef::General(_) => {}
            FundRef::WelfarePool => return Err(Refusal::NotFundOwner(signer)),
            FundRef::Project(id) => {
                let p = self.project(id)?;
                if p.owner != signer {
                    return Err(Refusal::NotProjectOwner(id.clone()));
                }
                if p.status == ProjectStatus::Closed {
                    return Err(Refusal::ProjectClosed(id.clone()));
                }
            }
        }
        self.funds
            .get(fund)
            .cloned()
            .ok_or(Refusal::NotACharity(signer))
    }

    /// A project that may receive money now.
    fn receiving_project(&self, id: &ProjectId) -> Result<Project, Refusal> {
        let p = self.project(id)?;
        match p.status {
            ProjectStatus::Pending => return Err(Refusal::ProjectNotApproved(id.clone())),
            ProjectStatus::Closed => return Err(Refusal::ProjectClosed(id.clone())),
            ProjectStatus::Active => {}
        }
        let time = self.block_time();
        if time < p.start || time > p.end {
            return Err(Refusal::OutsideProjectDates {
                project: id.clone(),
                start: p.start,
                end: p.end,
                time,
            });
        }
        Ok(p)
    }

    fn check_not_listed(&self, org: Address) -> Result<(), Refusal> {
        for list in [ListKind::AbnormalActivity, ListKind::SeriousViolation] {
            if self.listings.contains(&(org, list)) {
                return Err(Refusal::OrganisationListed(org, list));
            }
        }
        Ok(())
    }

    /// Adds an inflow to a fund; returns its start on the axis.
    fn inflow(
        &mut self,
        fund: &FundRef,
        amount: Fen,
        row: SourceRow,
        index: u32,
    ) -> Result<(), Refusal> {
        let mut fs = self
            .funds
            .get(fund)
            .cloned()
            .ok_or(Refusal::Store("fund missing".into()))?;
        let start = fs.inflow;
        fs.inflow = fs.inflow.checked_add(amount.0).ok_or(Refusal::Overflow)?;
        self.funds.put(fund.clone(), fs);
        self.trace_row(t::TRACE_SOURCES, fund, start, &row);
        self.note_fund(fund, index);
        Ok(())
    }

    /// Takes an outflow FIFO from a fund (balance already checked) and
    /// writes its trace row; `row.end` is filled in here.
    fn outflow(&mut self, fund: &FundRef, mut fs: FundState, mut row: OutflowRow, index: u32) {
        let before = self.holes.get(fund).cloned().unwrap_or_default();
        let mut holes = before.clone();
        let (start, end) = fs.consume(&mut holes, row.amount);
        self.funds.put(fund.clone(), fs);
        self.set_holes(fund, &before, holes);
        row.end = end;
        self.trace_row(t::TRACE_OUTFLOWS, fund, start, &row);
        self.note_fund(fund, index);
    }

    /// Stores a fund's holes if they changed.
    fn set_holes(&mut self, fund: &FundRef, before: &Holes, holes: Holes) {
        if &holes == before {
            return;
        }
        if holes.is_empty() {
            self.holes.remove(fund);
        } else {
            self.holes.put(fund.clone(), holes);
        }
    }

    fn apply_payload(
        &mut self,
        rec: &Record,
        signer: Address,
        payload: &Payload,
        index: u32,
        history: &dyn History,
    ) -> Result<(), Refusal> {
        let time = self.block_time();
        let height = self.block_height();
        match payload {
            Payload::AdmitMember(m) => {
                check_member_key(&m.public_key).map_err(|e| Refusal::WeakKey(e.to_string()))?;
                let a = Address::of_key(&m.public_key);
                if self.members.contains(&a) {
                    return Err(Refusal::MemberExists(a));
                }
                if self.keys.contains(&m.public_key) {
                    return Err(Refusal::KeyInUse(m.public_key));
                }
                self.members.put(
                    a,
                    Member {
                        role: m.role,
                        name: m.name.clone(),
                        uscc: m.uscc.clone(),
                        key: m.public_key,
                        node: m.node,
                        suspended: false,
                        power: 0,
                        admitted_height: height,
                    },
                );
                self.keys.put(
                    m.public_key,
                    KeyEntry {
                        member: a,
                        current: true,
                    },
                );
                if m.role == Role::Charity {
                    self.funds.put(
                        FundRef::General(a),
                        FundState {
                            owner: a,
                            ..Default::default()
                        },
                    );
                }
            }
            Payload::UpdateMember(u) => {
                let mut m = self.member(&u.member)?;
                if let Some(n) = &u.name {
                    m.name = n.clone();
                }
                if let Some(c) = &u.uscc {
                    m.uscc = c.clone();
                }
                if let Some(n) = u.node {
                    m.node = n;
                }
                self.members.put(u.member, m);
            }
            Payload::SuspendMember(s) => {
                let mut m = self.member(&s.member)?;
                if s.member == signer {
                    return Err(Refusal::SelfSuspension);
                }
                if m.suspended {
                    return Err(Refusal::AlreadySuspended(s.member));
                }
                m.suspended = true;
                self.members.put(s.member, m);
            }
            Payload::ReinstateMember(r) => {
                let mut m = self.member(&r.member)?;
                if !m.suspended {
                    return Err(Refusal::NotSuspended(r.member));
                }
                m.suspended = false;
                self.members.put(r.member, m);
            }
            Payload::RotateKey(r) => {
                let mut m = self.member(&r.member)?;
                // A validator's vote key may change only through the
                // delayed validator-set path: remove it, rotate, re-add.
                let scheduled = self
                    .pending_validators
                    .iter()
                    .any(|((_, a), _)| *a == r.member);
                if m.power > 0 || scheduled {
                    return Err(Refusal::ValidatorKeyRotation(r.member));
                }
                check_member_key(&r.new_key).map_err(|e| Refusal::WeakKey(e.to_string()))?;
                if self.keys.contains(&r.new_key) {
                    return Err(Refusal::KeyInUse(r.new_key));
                }
                let old = self.verifier(&m.key).ok_or(Refusal::BadRotationConsent)?;
                old.verify(
                    Domain::RotateKey,
                    &self.genesis_hash,
                    &rotate_key_body(r),
                    &r.old_key_signature,
                )
                .map_err(|_| Refusal::BadRotationConsent)?;
                self.keys.put(
                    m.key,
                    KeyEntry {
                        member: r.member,
                        current: false,
                    },
                );
                self.keys.put(
                    r.new_key,
                    KeyEntry {
                        member: r.member,
                        current: true,
                    },
                );
                m.key = r.new_key;
                self.members.put(r.member, m);
            }
            Payload::SetValidator(v) => {
                let m = self.member(&v.member)?;
                // A suspended member may be removed, not given power.
                if m.suspended && v.power > 0 {
                    return Err(Refusal::MemberSuspended(v.member));
                }
                let earliest = height + self.genesis.params.validator_change_delay;
                if v.effective_height < earliest {
                    return Err(Refusal::ValidatorChangeTooSoon {
                        effective: v.effective_height,
                        earliest,
                    });
                }
                self.pending_validators
                    .put((v.effective_height, v.member), v.power);
                // The set must keep voting power at every height from now
                // on: check it at each height where a scheduled change
                // lands (the set only changes there).
                let mut heights: Vec<u64> = self
                    .pending_validators
                    .iter()
                    .map(|((h, _), _)| *h)
                    .collect();
                heights.sort_unstable();
                heights.dedup();
                for h in heights {
                    let total = self.validator_set(h).total_power();
                    if total == 0 {
                        return Err(Refusal::EmptyValidatorSet);
                    }
                    if total > u64::MAX / 4 {
                        return Err(Refusal::Overflow);
                    }
                }
            }
            Payload::ApproveProject(a) => {
                let mut p = self.project(&a.project)?;
                if p.status != ProjectStatus::Pending {
                    return Err(Refusal::ProjectNotPending(a.project.clone()));
                }
                p.status = ProjectStatus::Active;
                p.approval_ref = Some(a.approval_ref.clone());
                self.projects.put(a.project.clone(), p);
            }
            Payload::ListOrganisation(l) => {
                self.member(&l.organisation)?;
                if self.listings.contains(&(l.organisation, l.list)) {
                    return Err(Refusal::OrganisationListed(l.organisation, l.list));
                }
                self.listings.put(
                    (l.organisation, l.list),
                    Listing {
                        reason: l.reason.clone(),
                        since: time,
                    },
                );
            }
            Payload::DelistOrganisation(l) => {
                if !self.listings.contains(&(l.organisation, l.list)) {
                    return Err(Refusal::NotListed(l.organisation, l.list));
                }
                self.listings.remove(&(l.organisation, l.list));
            }
            Payload::RegisterProject(r) => {
                if self.projects.contains(&r.project) {
                    return Err(Refusal::ProjectExists(r.project.clone()));
                }
                if r.end <= time {
                    return Err(Refusal::ProjectAlreadyEnded {
                        project: r.project.clone(),
                        end: r.end,
                    });
                }
                let status = if r.public_fundraising_ref.is_some() {
                    ProjectStatus::Pending
                } else {
                    ProjectStatus::Active
                };
                self.projects.put(
                    r.project.clone(),
                    Project {
                        owner: signer,
                        title: r.title.clone(),
                        category: r.category,
                        target: r.target,
                        start: r.start,
                        end: r.end,
                        public_fundraising_ref: r.public_fundraising_ref.clone(),
                        approval_ref: None,
                        status,
                        final_report: None,
                    },
                );
                let fund = FundRef::Project(r.project.clone());
                self.funds.put(
                    fund.clone(),
                    FundState {
                        owner: signer,
                        ..Default::default()
                    },
                );
                self.note_fund(&fund, index);
            }
            Payload::RecordDonation(d) => {
                self.check_not_listed(signer)?;
                match &d.fund {
                    FundRef::General(a) if *a != signer => return Err(Refusal::NotFundOwner(*a)),
                    FundRef::General(_) => {}
                    FundRef::WelfarePool => return Err(Refusal::NotFundOwner(signer)),
                    FundRef::Project(id) => {
                        let p = self.receiving_project(id)?;
                        if p.owner != signer {
                            return Err(Refusal::NotProjectOwner(id.clone()));
                        }
                    }
                }
                let key = (signer, d.receipt.clone());
                if self.donations.contains(&key) {
                    return Err(Refusal::DuplicateReceipt {
                        receipt: d.receipt.clone(),
                    });
                }
                let start = self.funds.get(&d.fund).map(|f| f.inflow).unwrap_or(0);
                self.inflow(
                    &d.fund,
                    d.amount,
                    SourceRow {
                        record: rec.id,
                        kind: SourceKind::Donation,
                        amount: d.amount.0,
                    },
                    index,
                )?;
                self.donations.put(
                    key,
                    Donation {
                        record: rec.id,
                        fund: d.fund.clone(),
                        amount: d.amount,
                        refunded: Fen(0),
                        start,
                    },
                );
                let mut err = None;
                self.charity_year(signer, |y| match add(y.donations, d.amount) {
                    Ok(v) => y.donations = v,
                    Err(e) => err = Some(e),
                });
                if let Some(e) = err {
                    return Err(e);
                }
                if let (true, Some(o)) = (self.index_output, self.open.as_mut()) {
                    o.donors.push((d.donor, index));
                }
            }
            Payload::RecordDisbursement(d) => {
                let fs = self.own_fund(signer, &d.fund)?;
                if d.amount > fs.balance() {
                    return Err(Refusal::InsufficientFunds {
                        available: fs.balance(),
                        requested: d.amount,
                    });
                }
                self.outflow(
                    &d.fund,
                    fs,
                    OutflowRow {
                        record: rec.id,
                        kind: OutflowKind::Disbursement,
                        end: 0,
                        amount: d.amount.0,
                        to: None,
                    },
                    index,
                );
                let amount = d.amount;
                let cat = d.category;
                self.charity_year(signer, |y| {
                    let slot = match cat {
                        SpendingCategory::CharitableActivity => &mut y.charitable_activity,
                        SpendingCategory::Management => &mut y.management,
                        SpendingCategory::Fundraising => &mut y.fundraising,
                    };
                    // Cannot overflow: bounded by the fund's inflow.
                    *slot = Fen(slot.0.saturating_add(amount.0));
                });
            }
            Payload::RecordRefund(r) => {
                let key = (signer, r.receipt.clone());
                let mut d =
                    self.donations
                        .get(&key)
                        .cloned()
                        .ok_or_else(|| Refusal::UnknownReceipt {
                            receipt: r.receipt.clone(),
                        })?;
                if let FundRef::Project(id) = &d.fund {
                    if self.project(id)?.status == ProjectStatus::Closed {
                        return Err(Refusal::ProjectClosed(id.clone()));
                    }
                }
                let mut fs = self
                    .funds
                    .get(&d.fund)
                    .cloned()
                    .ok_or(Refusal::Store("fund missing".into()))?;
                let eff_end = d.start + d.amount.0 - d.refunded.0;
                // Normalise the FIFO position past holes that start at it
                // (balance is unchanged by this).
                let before = self.holes.get(&d.fund).cloned().unwrap_or_default();
                let mut holes = before.clone();
                fs.consumed = skip_holes(&mut holes, fs.consumed);
                let from = d.start.max(fs.consumed);
                let refundable = eff_end.saturating_sub(from);
                if r.amount.0 > refundable {
                    return Err(Refusal::RefundExceedsDonation {
                        receipt: r.receipt.clone(),
                        refundable: Fen(refundable),
                        requested: r.amount,
                    });
                }
                add_hole(&mut holes, eff_end - r.amount.0, eff_end);
                self.set_holes(&d.fund, &before, holes);
                self.trace_row(t::TRACE_HOLES, &d.fund, eff_end - r.amount.0, &eff_end);
                fs.refunded += r.amount.0;
                let fund = d.fund.clone();
                self.funds.put(fund.clone(), fs);
                d.refunded = Fen(d.refunded.0 + r.amount.0);
                self.donations.put(key, d);
                self.note_fund(&fund, index);
                let amount = r.amount;
                self.charity_year(signer, |y| {
                    y.refunds = Fen(y.refunds.0.saturating_add(amount.0))
                });
            }
            Payload::TransferGrant(g) => {
                let fs = self.own_fund(signer, &g.from)?;
                let to = self.receiving_project(&g.to)?;
                if to.owner == signer {
                    return Err(Refusal::SelfGrant);
                }
                if g.amount > fs.balance() {
                    return Err(Refusal::InsufficientFunds {
                        available: fs.balance(),
                        requested: g.amount,
                    });
                }
                let to_fund = FundRef::Project(g.to.clone());
                let to_start = self.funds.get(&to_fund).map(|f| f.inflow).unwrap_or(0);
                self.inflow(
                    &to_fund,
                    g.amount,
                    SourceRow {
                        record: rec.id,
                        kind: SourceKind::Grant,
                        amount: g.amount.0,
                    },
                    index,
                )?;
                self.outflow(
                    &g.from,
                    fs,
                    OutflowRow {
                        record: rec.id,
                        kind: OutflowKind::Grant,
                        end: 0,
                        amount: g.amount.0,
                        to: Some((g.to.clone(), to_start)),
                    },
                    index,
                );
                let amount = g.amount;
                self.charity_year(signer, |y| {
                    y.grants_out = Fen(y.grants_out.0.saturating_add(amount.0))
                });
                self.charity_year(to.owner, |y| {
                    y.grants_in = Fen(y.grants_in.0.saturating_add(amount.0))
                });
            }
            Payload::Correction(c) => {
                let key = self.target_signer(&c.target, history)?;
                let owner = self.keys.get(&key).map(|k| k.member);
                if owner != Some(signer) {
                    return Err(Refusal::NotOwnRecord(c.target));
                }
            }
            Payload::CloseProject(c) => {
                let mut p = self.project(&c.project)?;
                if p.owner != signer {
                    return Err(Refusal::NotProjectOwner(c.project.clone()));
                }
                if p.status == ProjectStatus::Closed {
                    return Err(Refusal::ProjectClosed(c.project.clone()));
                }
                let fund = FundRef::Project(c.project.clone());
                let balance = self
                    .funds
                    .get(&fund)
                    .map(|f| f.balance())
                    .unwrap_or_default();
                if balance.0 > 0 {
                    return Err(Refusal::ProjectNotEmpty {
                        project: c.project.clone(),
                        balance,
                    });
                }
                p.status = ProjectStatus::Closed;
                p.final_report = Some(c.final_report);
                self.projects.put(c.project.clone(), p);
                self.note_fund(&fund, index);
            }
            Payload::RecordLotterySales(s) => {
                let game = self
                    .genesis
                    .game(&s.game)
                    .cloned()
                    .ok_or_else(|| Refusal::UnknownGame(s.game.clone()))?;
                let key = (s.game.clone(), s.period.clone(), s.region.clone());
                if self.sales_reports.contains(&key) {
                    return Err(Refusal::DuplicateSalesReport {
                        game: s.game.clone(),
                        period: s.period.clone(),
                        region: s.region.clone(),
                    });
                }
                let split = lottery::split_sales(&game, s.sales);
                let mut g = self.games.get(&s.game).cloned().unwrap_or_default();
                g.sales = add(g.sales, s.sales)?;
                g.prize = add(g.prize, split.prize)?;
                g.issuance_fee = add(g.issuance_fee, split.issuance_fee)?;
                g.welfare_central = add(g.welfare_central, split.welfare_central)?;
                g.welfare_local = add(g.welfare_local, split.welfare_local)?;
                self.games.put(s.game.clone(), g);
                self.sales_reports.put(key, rec.id);
                if split.welfare_local.0 > 0 {
                    self.inflow(
                        &FundRef::WelfarePool,
                        split.welfare_local,
                        SourceRow {
                            record: rec.id,
                            kind: SourceKind::LotterySales,
                            amount: split.welfare_local.0,
                        },
                        index,
                    )?;
                }
            }
            Payload::AllocateWelfareFund(a) => {
                let pool = self
                    .funds
                    .get(&FundRef::WelfarePool)
                    .cloned()
                    .ok_or(Refusal::Store("welfare pool missing".into()))?;
                let available = pool.balance();
                if a.amount > available {
                    return Err(Refusal::InsufficientWelfarePool {
                        available,
                        requested: a.amount,
                    });
                }
                let mut to = None;
                if let WelfareRecipient::Project(id) = &a.recipient {
                    let start = self
                        .funds
                        .get(&FundRef::Project(id.clone()))
                        .map(|f| f.inflow)
                        .unwrap_or(0);
                    to = Some((id.clone(), start));
                    let p = self.receiving_project(id)?;
                    self.inflow(
                        &FundRef::Project(id.clone()),
                        a.amount,
                        SourceRow {
                            record: rec.id,
                            kind: SourceKind::WelfareAllocation,
                            amount: a.amount.0,
                        },
                        index,
                    )?;
                    let amount = a.amount;
                    self.charity_year(p.owner, |y| {
                        y.grants_in = Fen(y.grants_in.0.saturating_add(amount.0))
                    });
                }
                self.outflow(
                    &FundRef::WelfarePool,
                    pool,
                    OutflowRow {
                        record: rec.id,
                        kind: OutflowKind::WelfareAllocation,
                        end: 0,
                        amount: a.amount.0,
                        to,
                    },
                    index,
                );
                let year = time.utc_year();
                let mut y = self.welfare_years.get(&year).cloned().unwrap_or_default();
                y.by_purpose[a.purpose.index()] += a.amount.0;
                self.welfare_years.put(year, y);
            }
            Payload::RecordPrizePayout(pp) => {
                let mut g = self
                    .games
                    .get(&pp.game)
                    .cloned()
                    .ok_or_else(|| Refusal::UnknownGame(pp.game.clone()))?;
                let available = Fen(g.prize.0 - g.prizes_paid.0);
                if pp.amount > available {
                    return Err(Refusal::InsufficientPrizeFund {
                        game: pp.game.clone(),
                        available,
                        requested: pp.amount,
                    });
                }
                g.prizes_paid = Fen(g.prizes_paid.0 + pp.amount.0);
                self.games.put(pp.game.clone(), g);
            }
            Payload::AuditAttestation(a) => {
                let h = history
                    .header(a.height)?
                    .ok_or(Refusal::UnknownHeight(a.height))?;
                if h.log_size != a.log_size || h.log_root != a.log_root {
                    return Err(Refusal::AttestationMismatch {
                        height: a.height,
                        log_size: a.log_size,
                    });
                }
            }
            Payload::Finding(f) => {
                self.target_signer(&f.target, history)?;
            }
        }
        Ok(())
    }

    /// The signer key of a committed record, or of one earlier in this block.
    fn target_signer(&self, id: &RecordId, history: &dyn History) -> Result<PublicKey, Refusal> {
        if let Some(o) = &self.open {
            if let Some((_, k)) = o.records.iter().find(|(r, _)| r == id) {
                return Ok(*k);
            }
        }
        history
            .record_signer(id)?
            .ok_or(Refusal::UnknownTarget(*id))
    }

    /// Closes the open block: appends its record ids to the log and
    /// computes the write set, state hash and header fields. The block
    /// stays open until `commit_block` or `rollback_block`.
    pub fn finish_block(&mut self) -> Result<(Transition, Computed), BlockError> {
        let open = self.open.as_ref().ok_or(BlockError::NoOpenBlock)?;
        let height = open.height;
        let mut state_writes = Vec::new();
        let marks = open.marks;
        for (tbl, m) in tables!(self).into_iter().zip(marks) {
            tbl.changes_since(m, &mut state_writes);
        }
        let open = self.open.as_ref().ok_or(BlockError::NoOpenBlock)?;
        state_writes.extend(
            group_trace_rows(&open.trace)
                .into_iter()
                .map(|(k, v)| (k, Some(v))),
        );
        state_writes.sort_by(|a, b| a.0.cmp(&b.0));
        let state_hash = next_state_hash(&self.state_hash, height, &state_writes);
        let record_ids: Vec<RecordId> = open.records.iter().map(|r| r.0).collect();
        let mut log = open.log_before.clone();
        let mut rr = Frontier::<Blake3Hasher>::new();
        for id in &record_ids {
            log.push(&id.0)
                .map_err(|e| BlockError::Log(e.to_string()))?;
            rr.push(&id.0).map_err(|e| BlockError::Log(e.to_string()))?;
        }
        let mut index_writes = Vec::with_capacity(record_ids.len() * 2);
        for (i, id) in record_ids.iter().enumerate().filter(|_| self.index_output) {
            index_writes.push((
                t::record_id_key(id),
                codec::encode(&Location {
                    height,
                    index: i as u32,
                }),
            ));
        }
        for (c, i) in &open.donors {
            let mut k = vec![t::DONORS];
            k.extend_from_slice(&c.0);
            k.extend_from_slice(&height.to_be_bytes());
            k.extend_from_slice(&i.to_be_bytes());
            index_writes.push((k, Vec::new()));
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
            let mut k = t::fund_prefix(t::FUND_RECORDS, f);
            k.extend_from_slice(&height.to_be_bytes());
            index_writes.push((k, idx.iter().flat_map(|i| i.to_le_bytes()).collect()));
        }
        for (a, idx) in &member_records {
            let mut k = vec![t::MEMBER_RECORDS];
            k.extend_from_slice(&a.0);
            k.extend_from_slice(&height.to_be_bytes());
            index_writes.push((k, idx.iter().flat_map(|i| i.to_le_bytes()).collect()));
        }
        let computed = Computed {
            log_size: log.size(),
            log_root: log.root(),
            record_root: rr.root(),
            state_hash,
            validator_set_hash: open.validator_set_hash,
        };
        if let Some(o) = self.open.as_mut() {
            o.log_after = Some(log);
        }
        let open = self.open.as_ref().ok_or(BlockError::NoOpenBlock)?;
        let tr = Transition {
            height,
            state_writes,
            index_writes,
            record_ids,
            state_hash,
            log_size: computed.log_size,
            log_root: computed.log_root,
            record_root: computed.record_root,
            log_before: open.log_before.clone(),
        };
        Ok((tr, computed))
    }

    /// Makes the open block permanent in memory (after the store commit).
    pub fn commit_block(&mut self, header: &Header) -> Result<(), BlockError> {
        let open = self.open.take().ok_or(BlockError::NoOpenBlock)?;
        self.log = open.log_after.ok_or(BlockError::NoOpenBlock)?;
        for tbl in tables!(self) {
            tbl.clear_journal();
        }
        self.recent.undo.clear();
        self.height = open.height;
        self.time = open.time;
        self.state_hash = header.state_hash;
        self.last_header_hash = header.hash();
        Ok(())
    }

    /// Undoes everything since `begin_block`.
    pub fn rollback_block(&mut self) {
        if let Some(open) = self.open.take() {
            for (t, m) in tables!(self).into_iter().zip(open.marks) {
                t.rollback(m);
            }
            self.recent.rollback(open.recent_mark);
        }
    }

    /// Every state-table entry as the store holds it, sorted by key.
    pub fn entries(&mut self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for tbl in tables!(self) {
            tbl.entries(&mut out);
        }
        out.sort();
        out
    }
}

/// The bytes the old key signs to consent to a rotation: `member || new_key`
/// (domain RotateKey).
pub fn rotate_key_body(r: &RotateKey) -> Vec<u8> {
    let mut b = r.member.0.to_vec();
    b.extend_from_slice(&r.new_key.0);
    b
}
