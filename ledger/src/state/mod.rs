//! The deterministic state machine (SPEC §8): `begin_block`, `apply_record`
//! for each record, `finish_block`, then `commit_block` (decided) or
//! `rollback_block` (scratch validation). No I/O: committed history the
//! rules need (a correction's target, an attested header) comes through
//! [`History`], and time comes in with the block.
//!
//! The files follow the spec:
//!
//! | file | SPEC |
//! |---|---|
//! | [`envelope`] | §8.2 rules 0–11: size, fields, time window, replay, signer, role, signature |
//! | [`governance`] | §8.3 rows AdmitMember … DelistOrganisation |
//! | [`charity`] | §8.3 rows RegisterProject … CloseProject, Correction |
//! | [`lottery`] | §8.3 rows RecordLotterySales, AllocateWelfareFund, RecordPrizePayout |
//! | [`draws`] | §8.3 rows OpenDraw … SettleDraw; §15 verifiable draws |
//! | [`audit`] | §8.3 rows AuditAttestation, Finding, PublishReport |
//! | [`funds`] | §8.3 "own fund", "receiving project"; §10.1 inflows and outflows |
//! | [`axis`] | §10.2–§10.3 the FIFO arithmetic |
//! | [`block`] | §7.3, §9 block lifecycle, write set, state hash |
//! | [`tables`] | §9.1 the state tables, declared once |
//!
//! A refused record changes nothing: each record runs between a journal
//! mark and either keeps its changes or rolls back to the mark. A fault
//! (a failed history read, a broken invariant) also rolls back, and is
//! reported as a fault, never as a refusal ([`crate::fault`]).

pub mod audit;
pub mod axis;
pub mod block;
pub mod charity;
pub mod draws;
pub mod envelope;
pub mod funds;
pub mod governance;
pub mod lottery;
pub mod recent;
pub mod tables;

pub use block::{Computed, Transition};
pub use shanlian_core::values::*;
pub use shanlian_core::writeset::{next_state_hash, WriteSet};
pub use tables::Tables;

use crate::fault::{ApplyError, Fault};
use block::OpenBlock;
use recent::Recent;
use shanlian_core::block::{Header, Validator, ValidatorSet};
use shanlian_core::crypto::Verifier;
use shanlian_core::error::Refusal;
use shanlian_core::genesis::Genesis;
use shanlian_core::merkle::{Blake3Hasher, Frontier};
use shanlian_core::record::*;
use shanlian_core::types::*;
use shanlian_core::validators::ValidatorTracker;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Committed history the rules consult (implemented by the store). A read
/// that fails is a [`Fault`], never a refusal.
pub trait History {
    /// The signer key of a committed record.
    fn record_signer(&self, id: &RecordId) -> Result<Option<PublicKey>, Fault>;
    /// The header at a committed height.
    fn header(&self, height: u64) -> Result<Option<Header>, Fault>;
}

/// A history with nothing in it (genesis, tests).
pub struct NoHistory;

impl History for NoHistory {
    fn record_signer(&self, _: &RecordId) -> Result<Option<PublicKey>, Fault> {
        Ok(None)
    }
    fn header(&self, _: u64) -> Result<Option<Header>, Fault> {
        Ok(None)
    }
}

/// The outcome of a rule: `Ok`, a refusal, or a fault.
pub type Verdict<T = ()> = Result<T, ApplyError>;

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
    pub tables: Tables,
    recent: Recent,
    verifiers: HashMap<PublicKey, Verifier>,
    open: Option<OpenBlock>,
    /// Whether blocks produce index writes (a store needs them; a replay
    /// that only checks the chain does not).
    index_output: bool,
}

/// Adds two amounts, refusing an overflow of the 64-bit counters.
fn add(a: Fen, b: Fen) -> Result<Fen, Refusal> {
    a.checked_add(b).ok_or(Refusal::Overflow)
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
            tables: Tables::new(),
            recent: Recent::default(),
            verifiers: HashMap::new(),
            open: None,
            index_output: true,
        }
    }

    /// The state at height 0, and the genesis write set (what the store
    /// writes at initialisation). The genesis state hash is
    /// `next_state_hash(genesis_hash, 0, writes)` (SPEC §9.3).
    pub fn from_genesis(genesis: Genesis) -> (State, WriteSet) {
        let mut s = State::empty(Arc::new(genesis));
        let g = s.genesis.clone();
        let t = &mut s.tables;
        for m in &g.members {
            let a = m.address();
            t.members.put(
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
            t.keys.put(
                m.public_key,
                KeyEntry {
                    member: a,
                    current: true,
                },
            );
            if m.role == Role::Charity {
                t.funds.put(
                    FundRef::General(a),
                    FundState {
                        owner: a,
                        ..Default::default()
                    },
                );
            }
        }
        for game in &g.games {
            t.games.put(game.id.clone(), GameTotals::default());
        }
        t.funds.put(FundRef::WelfarePool, FundState::default());
        let mut writes = Vec::new();
        for tbl in s.tables.all() {
            tbl.changes_since(0, &mut writes);
            tbl.clear_journal();
        }
        writes.sort_by(|a, b| a.0.cmp(&b.0));
        s.state_hash = next_state_hash(&s.genesis_hash, 0, &writes);
        s.time = g.time;
        (s, writes)
    }

    /// Rebuilds a state from stored parts (store open). `entries` are the
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
    ) -> Result<State, shanlian_core::codec::DecodeError> {
        let mut s = State::empty(Arc::new(genesis));
        s.height = height;
        s.time = time;
        s.last_header_hash = last_header_hash;
        s.state_hash = state_hash;
        s.log = log;
        for (k, v) in entries {
            s.tables.load(&k, &v)?;
        }
        for (id, exp) in recent {
            s.recent.insert(id, exp);
        }
        s.recent.clear_journal();
        Ok(s)
    }

    /// The validator set deciding `height` (any height after the current
    /// one): current powers plus changes scheduled at or before it
    /// (SPEC §7.3).
    pub fn validator_set(&self, height: u64) -> ValidatorSet {
        let t = &self.tables;
        let mut power: BTreeMap<Address, u64> = t
            .members
            .iter()
            .filter(|(_, m)| m.power > 0)
            .map(|(a, m)| (*a, m.power))
            .collect();
        let mut pending: Vec<_> = t
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
                    t.members.get(&a).map(|m| Validator {
                        address: a,
                        public_key: m.key,
                        power: p,
                    })
                })
                .collect(),
        )
    }

    /// The parsed verifier of a key (cached; parsing costs ~5 µs).
    pub fn cached_verifier(&mut self, key: &PublicKey) -> Option<Verifier> {
        if let Some(v) = self.verifiers.get(key) {
            return Some(v.clone());
        }
        let v = Verifier::parse(key).ok()?;
        self.verifiers.insert(*key, v.clone());
        Some(v)
    }

    /// Pool admission: whether `rec` could be committed in a block at time
    /// `now` as far as rules that need no payload state go — SPEC §8.2
    /// rules 1–10: size, fields, time window, not already committed, signer
    /// an active member whose role permits the payload, valid signature.
    /// Changes nothing. Payload rules (balances, receipts, …) are left to
    /// block building, where order is known.
    pub fn admit(&mut self, rec: &Record, now: Timestamp) -> Verdict {
        self.check_envelope(rec, now, false).map(|_| ())
    }

    /// [`State::admit`] for a record whose signature was already checked
    /// (`signature_ok`, e.g. in batches by
    /// [`crate::chain::verify_record_signatures`] on many cores); a `false`
    /// is checked again here, so the refusal names the right rule.
    pub fn admit_checked(&mut self, rec: &Record, now: Timestamp, signature_ok: bool) -> Verdict {
        self.check_envelope(rec, now, signature_ok).map(|_| ())
    }

    /// Validates and applies one record in the open block (SPEC §8.2–8.3).
    /// On refusal or fault the state is exactly as before.
    /// `signature_checked` says the caller has already verified the
    /// signature (SPEC §4).
    pub fn apply_record(
        &mut self,
        rec: &Record,
        signature_checked: bool,
        history: &dyn History,
    ) -> Verdict {
        let Some(open) = &self.open else {
            return Err(Fault::Invariant("a record was applied with no block open".into()).into());
        };
        let max = self.genesis.params.max_records_per_block;
        if open.records.len() >= max as usize {
            return Err(Refusal::BlockFull(max).into());
        }
        let marks = self.marks();
        let result = self.apply_inner(rec, signature_checked, history);
        if result.is_err() {
            self.rollback_to(marks);
        }
        result
    }

    fn apply_inner(&mut self, rec: &Record, sig_ok: bool, history: &dyn History) -> Verdict {
        let time = self.block_time();
        let signer = self.check_envelope(rec, time, sig_ok)?;
        let body = &rec.signed.body;
        self.recent.insert(rec.id, body.expires);
        let index = self.open.as_ref().map_or(0, |o| o.records.len() as u32);
        let cx = Cx {
            rec,
            signer,
            index,
            time,
            height: self.block_height(),
        };
        self.apply_payload(&cx, &body.payload, history)?;
        let index_output = self.index_output;
        let open = self.open_block()?;
        open.records.push((rec.id, rec.signed.signer, rec.leaf));
        if index_output {
            open.member_notes.push((signer, index));
            if ValidatorTracker::follows(&body.payload) {
                open.governance.push(index);
            }
            match &body.payload {
                Payload::Correction(c) => open.annotations.push((c.target, index)),
                Payload::Finding(f) => open.annotations.push((f.target, index)),
                _ => {}
            }
        }
        Ok(())
    }

    /// The payload rules of SPEC §8.3, one function per row.
    fn apply_payload(&mut self, cx: &Cx, payload: &Payload, history: &dyn History) -> Verdict {
        use Payload as P;
        match payload {
            P::AdmitMember(p) => self.admit_member(cx, p),
            P::UpdateMember(p) => self.update_member(p),
            P::SuspendMember(p) => self.suspend_member(cx, p),
            P::ReinstateMember(p) => self.reinstate_member(p),
            P::RotateKey(p) => self.rotate_key(p),
            P::SetValidator(p) => self.set_validator(cx, p),
            P::ApproveProject(p) => self.approve_project(p),
            P::ListOrganisation(p) => self.list_organisation(cx, p),
            P::DelistOrganisation(p) => self.delist_organisation(p),
            P::RegisterProject(p) => self.register_project(cx, p),
            P::RecordDonation(p) => self.record_donation(cx, p),
            P::RecordDisbursement(p) => self.record_disbursement(cx, p),
            P::RecordRefund(p) => self.record_refund(cx, p),
            P::TransferGrant(p) => self.transfer_grant(cx, p),
            P::Correction(p) => self.correction(cx, p, history),
            P::CloseProject(p) => self.close_project(cx, p),
            P::RecordLotterySales(p) => self.record_lottery_sales(cx, p),
            P::AllocateWelfareFund(p) => self.allocate_welfare_fund(cx, p),
            P::RecordPrizePayout(p) => self.record_prize_payout(p),
            P::AuditAttestation(p) => self.audit_attestation(p, history),
            P::Finding(p) => self.finding(p, history),
            P::PublishReport(p) => self.publish_report(cx, p),
            P::OpenDraw(p) => self.open_draw(cx, p),
            P::CommitDrawSeed(p) => self.commit_draw_seed(cx, p),
            P::RevealDrawSeed(p) => self.reveal_draw_seed(cx, p),
            P::SettleDraw(p) => self.settle_draw(cx, p, history),
        }
    }

    /// The time of the open block (or of the last one).
    fn block_time(&self) -> Timestamp {
        self.open.as_ref().map(|o| o.time).unwrap_or(self.time)
    }

    /// The height of the open block (or of the last one).
    fn block_height(&self) -> u64 {
        self.open.as_ref().map(|o| o.height).unwrap_or(self.height)
    }

    fn member(&self, a: &Address) -> Result<Member, Refusal> {
        self.tables
            .members
            .get(a)
            .cloned()
            .ok_or(Refusal::UnknownMember(*a))
    }

    fn project(&self, id: &ProjectId) -> Result<&Project, Refusal> {
        self.tables
            .projects
            .get(id)
            .ok_or_else(|| Refusal::UnknownProject(id.clone()))
    }

    /// The signer key of a committed record, or of one earlier in this block.
    fn target_signer(&self, id: &RecordId, history: &dyn History) -> Verdict<PublicKey> {
        if let Some(o) = &self.open {
            if let Some((_, k, _)) = o.records.iter().find(|(r, ..)| r == id) {
                return Ok(*k);
            }
        }
        Ok(history
            .record_signer(id)?
            .ok_or(Refusal::UnknownTarget(*id))?)
    }

    /// Every state-table entry as the store holds it, sorted by key.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for tbl in self.tables.all_ref() {
            tbl.entries(&mut out);
        }
        // Keys are unique, so an unstable sort gives the one order.
        rayon::slice::ParallelSliceMut::par_sort_unstable(&mut out[..]);
        out
    }
}

/// What every payload rule knows about the record being applied.
pub struct Cx<'a> {
    pub rec: &'a Record,
    /// The signing member.
    pub signer: Address,
    /// The record's index in its block.
    pub index: u32,
    /// The block time and height.
    pub time: Timestamp,
    pub height: u64,
}
