//! The values the state machine stores (SPEC §2.6): members, keys,
//! projects, funds and their tracing rows, donations, listings, lottery and
//! yearly totals. They are hashed into the state through the write set
//! (SPEC §9), so their encodings are part of the protocol: a light client
//! decodes them from write-set proofs, and the explorer serves them.

use crate::types::*;
use bincode::{Decode, Encode};

/// A member as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct KeyEntry {
    pub member: Address,
    /// False once the key was rotated out: it may sign nothing new.
    pub current: bool,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub enum ProjectStatus {
    /// Registered with a public-fundraising reference; awaits the bureau.
    Pending,
    Active,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
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
    #[serde(with = "crate::hexser::opt_hash32")]
    pub final_report: Option<Hash32>,
}

/// A fund's money on the tracing axis (docs/SPEC.md § Fund tracing).
///
/// Every inflow occupies `[start, start + amount)` of the inflow axis, in
/// commit order. Outflows consume the axis first in, first out from
/// `consumed`, skipping refunded ranges (`holes`). Refunds cut from the end
/// of their donation's unconsumed range.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
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
    /// Money in the fund now: inflow − refunded − outflow. (A consistent
    /// state always has `refunded + outflow ≤ inflow`; see
    /// [`FundState::is_consistent`].)
    pub fn balance(&self) -> Fen {
        Fen(self
            .inflow
            .saturating_sub(self.refunded)
            .saturating_sub(self.outflow))
    }

    /// Whether the counters agree with each other: nothing leaves a fund
    /// that did not enter it, and the FIFO position is on the axis.
    pub fn is_consistent(&self) -> bool {
        self.refunded
            .checked_add(self.outflow)
            .is_some_and(|out| out <= self.inflow)
            && self.consumed <= self.inflow
    }
}

/// A donation's live state, keyed by (charity, receipt).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct Donation {
    pub record: RecordId,
    pub fund: FundRef,
    pub amount: Fen,
    pub refunded: Fen,
    /// Where it starts on the fund's inflow axis.
    pub start: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct Listing {
    pub reason: String,
    pub since: Timestamp,
}

/// What one lottery game has generated and paid.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub struct GameTotals {
    pub sales: Fen,
    pub prize: Fen,
    pub issuance_fee: Fen,
    pub welfare_central: Fen,
    pub welfare_local: Fen,
    pub prizes_paid: Fen,
}

/// Welfare allocations of one UTC year, by purpose (WelfarePurpose order).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub struct WelfareYear {
    pub by_purpose: [u64; 5],
}

/// One committer's seed in a draw.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct DrawSeed {
    pub member: Address,
    #[serde(with = "crate::hexser::hash32")]
    pub commitment: Hash32,
    /// The revealed seed, once revealed.
    #[serde(with = "crate::hexser::opt_hash32")]
    pub seed: Option<Hash32>,
    /// The record that committed it.
    pub record: RecordId,
}

/// A settled draw's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct DrawOutcome {
    /// Height of the block that settled it.
    pub height: u64,
    /// The beacon block's (height `closes + 1`) header hash.
    #[serde(with = "crate::hexser::hash32")]
    pub block_hash: Hash32,
    #[serde(with = "crate::hexser::hash32")]
    pub beacon: Hash32,
    /// Winning entry indices, in the order drawn.
    pub winners: Vec<u64>,
    /// Committers that did not reveal by the deadline (their seeds left out).
    pub withheld: Vec<Address>,
    /// The SettleDraw record.
    pub record: RecordId,
}

/// A verifiable draw (SPEC §15) as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct Draw {
    pub owner: Address,
    pub draw_kind: crate::record::DrawKind,
    pub title: String,
    #[serde(with = "crate::hexser::hash32")]
    pub entries_root: Hash32,
    pub entries: u64,
    pub winners: u32,
    pub opened: u64,
    pub closes: u64,
    pub reveal_by: u64,
    pub invited: Vec<Address>,
    /// The owner's seed first, then the others in the order committed.
    pub seeds: Vec<DrawSeed>,
    pub outcome: Option<DrawOutcome>,
}

impl Draw {
    /// What the outcome of draw `id` is computed from, given the beacon
    /// block's header hash: the seeds revealed so far.
    pub fn beacon_input<'a>(
        &self,
        id: &'a str,
        block_hash: Hash32,
    ) -> crate::draw::BeaconInput<'a> {
        crate::draw::BeaconInput {
            draw: id,
            entries_root: self.entries_root,
            entries: self.entries,
            winners: self.winners,
            block_hash,
            revealed: self
                .seeds
                .iter()
                .filter_map(|s| s.seed.map(|x| (s.member, x)))
                .collect(),
        }
    }
}

/// One charity's flows in one UTC year (for Charity Law art. 60).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub enum SourceKind {
    Donation,
    Grant,
    WelfareAllocation,
    /// The local welfare share of a lottery sales report (welfare pool only).
    LotterySales,
}

/// An inflow on a fund's tracing axis: `[start, start + amount)`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct SourceRow {
    pub record: RecordId,
    pub kind: SourceKind,
    pub amount: u64,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub enum OutflowKind {
    Disbursement,
    Grant,
    WelfareAllocation,
}

/// An outflow on a fund's tracing axis: it consumed `[start, end)` minus
/// refunded holes, `amount` in all.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct OutflowRow {
    pub record: RecordId,
    pub kind: OutflowKind,
    pub end: u64,
    pub amount: u64,
    /// For grants and welfare allocations to a project: the project and
    /// where the money starts on that project's inflow axis.
    pub to: Option<(ProjectId, u64)>,
}

/// A refund hole on a fund's tracing axis: the refund `record` gave back
/// `[start, end)` (the start is in the row's key).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct HoleRow {
    pub record: RecordId,
    pub end: u64,
}

/// Where a committed record is: block height and index in the block.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub struct Location {
    pub height: u64,
    pub index: u32,
}
