//! Fund tracing (SPEC §10.4, §10.6–§10.8): where an inflow's money went,
//! and what an outflow drew on, computed by one algorithm from a fund's
//! trace rows, and proven to a light client.
//!
//! The algorithm ([`follow`], [`sources`]) reads rows through [`Axes`]. The
//! ledger gives it the rows of its store; the verifier ([`verify`]) gives
//! it the rows a [`TraceProof`] carries, each proven in the write set of a
//! certified block. Because trace rows are append-only and every one is in
//! the write set of the block that wrote it, the verifier can check that
//! the proof's rows fit together as only complete rows can:
//!
//! * a fund's outflows consume its axis first in, first out with no gap but
//!   refund holes, so between two shown outflows (and from the traced
//!   range's start to the first) every position must be in a shown hole —
//!   an omitted outflow leaves a gap ([`Broken::Gap`]);
//! * an outflow's range minus the holes inside is its amount, so a hidden
//!   hole is seen ([`Broken::Holes`]);
//! * a grant or allocation lands at a recorded start of the receiving
//!   project's axis, where the matching inflow row must be ([`Broken::Hop`]).
//!
//! What the verifier cannot know is whether an outflow *after* the last one
//! shown has spent the rest: that rest is reported as [`What::NotShownSpent`]
//! as of the proof's newest checkpoint, never as unspent.

use crate::block::{Checkpoint, Header};
use crate::bundle::{self, BundleError, CertifiedBlock, ProvenRecord, Run, ValidatorStep};
use crate::codec;
use crate::keys;
use crate::record::{Payload, Record, SignedRecord, WelfareRecipient};
use crate::types::*;
use crate::values::{HoleRow, OutflowKind, OutflowRow, SourceKind, SourceRow};
use crate::writeset::WriteSetProof;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

/// How many grant or allocation hops a trace follows (SPEC §10.4).
pub const MAX_DEPTH: u32 = 16;

/// The JSON form's `format` value.
pub const JSON_FORMAT: &str = "shanlian-trace-proof/1";

/// Where a trace row is: `(family, fund, position)`; its key is
/// [`keys::fund_pos_key`] of these.
pub type RowKey = (u8, FundRef, u64);

/// Read access to funds' trace rows. Every method returns rows sorted by
/// position.
pub trait Axes {
    type Error;
    /// The outflow rows of `fund` whose range `[position, end)` overlaps
    /// `[from, to)`.
    fn outflows(
        &mut self,
        fund: &FundRef,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, OutflowRow)>, Self::Error>;
    /// The refund holes of `fund` overlapping `[from, to)`.
    fn holes(
        &mut self,
        fund: &FundRef,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, HoleRow)>, Self::Error>;
    /// The inflow rows of `fund` overlapping `[from, to)`.
    fn inflows(
        &mut self,
        fund: &FundRef,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, SourceRow)>, Self::Error>;
}

/// One piece of a traced range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub fund: FundRef,
    /// Grant or allocation hops from the traced inflow (0: its own fund).
    pub depth: u32,
    /// The piece `[from, to)` of the fund's axis.
    pub from: u64,
    pub to: u64,
    /// The money in it: its length minus refund holes inside.
    pub amount: Fen,
    pub what: What,
}

/// What became of a piece.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// Spent by an outflow. A grant or allocation to a project names it in
    /// `to`; `followed` says whether the next steps follow it there (not
    /// beyond [`MAX_DEPTH`] hops).
    Spent {
        outflow: RecordId,
        outflow_kind: OutflowKind,
        to: Option<ProjectId>,
        followed: bool,
    },
    /// Given back to the donor by the refund `refund`.
    Refunded { refund: RecordId },
    /// No outflow shown spends it: it was still in the fund as of the
    /// newest checkpoint, unless an outflow the proof does not show spent it.
    NotShownSpent,
}

/// Part of an outflow's money and the inflow it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub record: RecordId,
    pub source_kind: SourceKind,
    /// The piece `[from, to)` of the fund's axis.
    pub from: u64,
    pub to: u64,
    pub amount: Fen,
}

/// A trace rule the rows break: either some rows are missing from a proof,
/// or a store is corrupt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    #[error("{fund} [{from}, {to}) is neither spent by a shown outflow nor refunded by a shown hole: an outflow is missing")]
    Gap { fund: FundRef, from: u64, to: u64 },
    #[error("{fund}: the inflows shown do not cover [{from}, {to}) of outflow {outflow}: an inflow is missing")]
    Tiling {
        fund: FundRef,
        outflow: RecordId,
        from: u64,
        to: u64,
    },
    #[error("{fund}: outflow {outflow} covers [{from}, {to}) and spent {amount}, so holes of {want} lie inside it, but the holes shown add up to {shown}")]
    Holes {
        fund: FundRef,
        outflow: RecordId,
        from: u64,
        to: u64,
        amount: u64,
        want: u64,
        shown: u64,
    },
    #[error("{fund}: hole [{from}, {to}) crosses the edge of outflow {outflow}")]
    HoleCrosses {
        fund: FundRef,
        outflow: RecordId,
        from: u64,
        to: u64,
    },
    #[error("{fund}: rows at {first} and {second} overlap")]
    Overlap {
        fund: FundRef,
        first: u64,
        second: u64,
    },
    #[error("outflow {outflow} sent {amount} to project {project} at {at}, but no inflow row of it is shown there")]
    Hop {
        outflow: RecordId,
        project: ProjectId,
        at: u64,
        amount: u64,
    },
}

impl Broken {
    /// A stable, machine-readable name (SPEC §10.8).
    pub fn code(&self) -> &'static str {
        match self {
            Broken::Gap { .. } | Broken::Tiling { .. } => "trace.gap",
            Broken::Holes { .. } | Broken::HoleCrosses { .. } => "trace.holes",
            Broken::Overlap { .. } => "trace.overlap",
            Broken::Hop { .. } => "trace.hop",
        }
    }
}

/// Why a walk stopped: the rows could not be read, or they break a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError<E> {
    #[error("{0}")]
    Axes(E),
    #[error(transparent)]
    Broken(Broken),
}

impl<E> From<Broken> for WalkError<E> {
    fn from(b: Broken) -> Self {
        WalkError::Broken(b)
    }
}

/// Where an inflow range went: its pieces in axis order, depth first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flow {
    pub steps: Vec<Step>,
    /// Every row the walk read and relied on.
    pub used: BTreeSet<RowKey>,
}

/// The money of the steps at `depth` whose `what` matches `f`.
pub fn total(steps: &[Step], depth: u32, f: impl Fn(&What) -> bool) -> u64 {
    steps
        .iter()
        .filter(|s| s.depth == depth && f(&s.what))
        .map(|s| s.amount.0)
        .sum()
}

impl Flow {
    /// The money of the steps at `depth` whose `what` matches `f`.
    pub fn total(&self, depth: u32, f: impl Fn(&What) -> bool) -> u64 {
        total(&self.steps, depth, f)
    }
}

/// The money in `[a, b)` that the holes do not cover (holes sorted, disjoint).
fn holes_len(holes: &[(u64, HoleRow)], a: u64, b: u64) -> u64 {
    holes
        .iter()
        .map(|(s, h)| h.end.min(b).saturating_sub((*s).max(a)))
        .sum()
}

fn check_sorted_disjoint<T>(
    fund: &FundRef,
    rows: &[(u64, T)],
    end: impl Fn(u64, &T) -> u64,
) -> Result<(), Broken> {
    for w in rows.windows(2) {
        let (p, r) = (&w[0].0, &w[0].1);
        if end(*p, r) > w[1].0 || w[1].0 <= *p {
            return Err(Broken::Overlap {
                fund: fund.clone(),
                first: *p,
                second: w[1].0,
            });
        }
    }
    Ok(())
}

fn source_kind_of(kind: OutflowKind) -> Option<SourceKind> {
    match kind {
        OutflowKind::Disbursement => None,
        OutflowKind::Grant => Some(SourceKind::Grant),
        OutflowKind::WelfareAllocation => Some(SourceKind::WelfareAllocation),
    }
}

struct Walker<'a, A> {
    axes: &'a mut A,
    flow: Flow,
}

impl<A: Axes> Walker<'_, A> {
    /// The pieces of `[from, to)` not in a hole: holes inside are refunds;
    /// the rest is `rest` (a gap is an error, a tail is not shown spent).
    fn uncovered(
        &mut self,
        fund: &FundRef,
        holes: &[(u64, HoleRow)],
        (from, to): (u64, u64),
        depth: u32,
        gap_is_error: bool,
    ) -> Result<(), Broken> {
        let mut cursor = from;
        let piece = |flow: &mut Flow, a: u64, b: u64| -> Result<(), Broken> {
            if a >= b {
                return Ok(());
            }
            if gap_is_error {
                return Err(Broken::Gap {
                    fund: fund.clone(),
                    from: a,
                    to: b,
                });
            }
            flow.steps.push(Step {
                fund: fund.clone(),
                depth,
                from: a,
                to: b,
                amount: Fen(b - a),
                what: What::NotShownSpent,
            });
            Ok(())
        };
        for (s, h) in holes {
            let (a, b) = ((*s).max(from), h.end.min(to));
            if a >= b {
                continue;
            }
            piece(&mut self.flow, cursor, a)?;
            self.flow.used.insert((keys::TRACE_HOLES, fund.clone(), *s));
            self.flow.steps.push(Step {
                fund: fund.clone(),
                depth,
                from: a,
                to: b,
                amount: Fen(b - a),
                what: What::Refunded { refund: h.record },
            });
            cursor = b;
        }
        piece(&mut self.flow, cursor, to)
    }

    fn walk(
        &mut self,
        fund: &FundRef,
        x: u64,
        y: u64,
        depth: u32,
    ) -> Result<(), WalkError<A::Error>> {
        let outs: Vec<(u64, OutflowRow)> = self
            .axes
            .outflows(fund, x, y)
            .map_err(WalkError::Axes)?
            .into_iter()
            .filter(|(p, o)| *p < y && o.end > x)
            .collect();
        check_sorted_disjoint(fund, &outs, |_, o| o.end)?;
        let lo = outs.first().map_or(x, |(p, _)| x.min(*p));
        let hi = outs.last().map_or(y, |(_, o)| y.max(o.end));
        let holes = self.axes.holes(fund, lo, hi).map_err(WalkError::Axes)?;
        check_sorted_disjoint(fund, &holes, |_, h| h.end)?;
        let mut cursor = x;
        for (p, o) in &outs {
            let (p, o) = (*p, o);
            if p > cursor {
                self.uncovered(fund, &holes, (cursor, p), depth, true)?;
            }
            self.flow
                .used
                .insert((keys::TRACE_OUTFLOWS, fund.clone(), p));
            // Every hole inside the outflow, and only whole ones.
            let inside: Vec<(u64, HoleRow)> = holes
                .iter()
                .filter(|(s, h)| *s < o.end && h.end > p)
                .cloned()
                .collect();
            for (s, h) in &inside {
                if *s < p || h.end > o.end {
                    return Err(Broken::HoleCrosses {
                        fund: fund.clone(),
                        outflow: o.record,
                        from: *s,
                        to: h.end,
                    }
                    .into());
                }
                self.flow.used.insert((keys::TRACE_HOLES, fund.clone(), *s));
            }
            let shown = holes_len(&inside, p, o.end);
            let want = (o.end - p).checked_sub(o.amount);
            if want != Some(shown) {
                return Err(Broken::Holes {
                    fund: fund.clone(),
                    outflow: o.record,
                    from: p,
                    to: o.end,
                    amount: o.amount,
                    want: want.unwrap_or(0),
                    shown,
                }
                .into());
            }
            let (a, b) = (x.max(p), y.min(o.end));
            // Refunds inside the traced piece, then the outflow's money.
            for (s, h) in &inside {
                let (ha, hb) = ((*s).max(a), h.end.min(b));
                if ha < hb {
                    self.flow.steps.push(Step {
                        fund: fund.clone(),
                        depth,
                        from: ha,
                        to: hb,
                        amount: Fen(hb - ha),
                        what: What::Refunded { refund: h.record },
                    });
                }
            }
            let money = (b - a) - holes_len(&inside, a, b);
            if money > 0 {
                let next = match &o.to {
                    Some((project, start)) if depth < MAX_DEPTH => Some((project, *start)),
                    _ => None,
                };
                self.flow.steps.push(Step {
                    fund: fund.clone(),
                    depth,
                    from: a,
                    to: b,
                    amount: Fen(money),
                    what: What::Spent {
                        outflow: o.record,
                        outflow_kind: o.kind,
                        to: o.to.as_ref().map(|(p, _)| p.clone()),
                        followed: next.is_some(),
                    },
                });
                if let Some((project, start)) = next {
                    // Offset of [a, b) inside the outflow's money (SPEC §10.4).
                    let off = (a - p) - holes_len(&inside, p, a);
                    self.hop(o, project, start, off, money, depth)?;
                }
            }
            cursor = o.end;
        }
        if cursor < y {
            self.uncovered(fund, &holes, (cursor, y), depth, false)?;
        }
        Ok(())
    }

    /// Follows `money` at offset `off` of outflow `o` onto `project`'s axis,
    /// where `o`'s inflow row must start at `start`.
    fn hop(
        &mut self,
        o: &OutflowRow,
        project: &ProjectId,
        start: u64,
        off: u64,
        money: u64,
        depth: u32,
    ) -> Result<(), WalkError<A::Error>> {
        let to_fund = FundRef::Project(project.clone());
        let landed = self
            .axes
            .inflows(&to_fund, start, start + 1)
            .map_err(WalkError::Axes)?;
        let ok = landed.iter().any(|(at, r)| {
            *at == start
                && r.record == o.record
                && r.amount == o.amount
                && Some(r.kind) == source_kind_of(o.kind)
                && off + money <= r.amount
        });
        if !ok {
            return Err(Broken::Hop {
                outflow: o.record,
                project: project.clone(),
                at: start,
                amount: o.amount,
            }
            .into());
        }
        self.flow
            .used
            .insert((keys::TRACE_SOURCES, to_fund.clone(), start));
        self.walk(&to_fund, start + off, start + off + money, depth + 1)
    }
}

/// Where the range `[from, to)` of `fund`'s axis went (SPEC §10.4): the
/// inflow row's whole range, for an inflow; refund holes inside it show as
/// [`What::Refunded`].
pub fn follow<A: Axes>(
    axes: &mut A,
    fund: &FundRef,
    from: u64,
    to: u64,
) -> Result<Flow, WalkError<A::Error>> {
    let mut w = Walker {
        axes,
        flow: Flow::default(),
    };
    w.walk(fund, from, to, 0)?;
    Ok(w.flow)
}

/// An outflow's sources, and the rows they were read from.
pub type Sources = (Vec<Source>, BTreeSet<RowKey>);

/// What the outflow `row` at `position` of `fund` drew on (SPEC §10.4): the
/// inflows that tile its range, each with its share, and the rows used.
pub fn sources<A: Axes>(
    axes: &mut A,
    fund: &FundRef,
    position: u64,
    row: &OutflowRow,
) -> Result<Sources, WalkError<A::Error>> {
    let (p, end) = (position, row.end);
    let mut used = BTreeSet::new();
    let holes = axes.holes(fund, p, end).map_err(WalkError::Axes)?;
    check_sorted_disjoint(fund, &holes, |_, h| h.end)?;
    for (s, h) in &holes {
        if *s < p || h.end > end {
            return Err(Broken::HoleCrosses {
                fund: fund.clone(),
                outflow: row.record,
                from: *s,
                to: h.end,
            }
            .into());
        }
        used.insert((keys::TRACE_HOLES, fund.clone(), *s));
    }
    let shown = holes_len(&holes, p, end);
    let want = (end - p).checked_sub(row.amount);
    if want != Some(shown) {
        return Err(Broken::Holes {
            fund: fund.clone(),
            outflow: row.record,
            from: p,
            to: end,
            amount: row.amount,
            want: want.unwrap_or(0),
            shown,
        }
        .into());
    }
    let ins: Vec<(u64, SourceRow)> = axes
        .inflows(fund, p, end)
        .map_err(WalkError::Axes)?
        .into_iter()
        .filter(|(s, r)| *s < end && s + r.amount > p)
        .collect();
    let mut out = Vec::new();
    let mut cursor = p;
    for (s, r) in &ins {
        if *s > cursor {
            return Err(Broken::Tiling {
                fund: fund.clone(),
                outflow: row.record,
                from: cursor,
                to: *s,
            }
            .into());
        }
        if *s < cursor && cursor != p {
            return Err(Broken::Overlap {
                fund: fund.clone(),
                first: cursor,
                second: *s,
            }
            .into());
        }
        used.insert((keys::TRACE_SOURCES, fund.clone(), *s));
        let (a, b) = (p.max(*s), end.min(s + r.amount));
        let money = (b - a) - holes_len(&holes, a, b);
        if money > 0 {
            out.push(Source {
                record: r.record,
                source_kind: r.kind,
                from: a,
                to: b,
                amount: Fen(money),
            });
        }
        cursor = s + r.amount;
    }
    if cursor < end {
        return Err(Broken::Tiling {
            fund: fund.clone(),
            outflow: row.record,
            from: cursor,
            to: end,
        }
        .into());
    }
    Ok((out, used))
}

// --- Rows held in memory --------------------------------------------------------------------

/// Trace rows held in memory (those of a proof, say).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowSet {
    pub inflows: BTreeMap<(FundRef, u64), SourceRow>,
    pub outflows: BTreeMap<(FundRef, u64), OutflowRow>,
    pub holes: BTreeMap<(FundRef, u64), HoleRow>,
}

fn in_range<'a, T: Clone + 'a>(
    map: &'a BTreeMap<(FundRef, u64), T>,
    fund: &FundRef,
    from: u64,
    to: u64,
    end: impl Fn(u64, &T) -> u64,
) -> Vec<(u64, T)> {
    map.range((fund.clone(), 0)..(fund.clone(), to))
        .filter(|((_, p), r)| end(*p, r) > from)
        .map(|((_, p), r)| (*p, r.clone()))
        .collect()
}

impl Axes for RowSet {
    type Error = Infallible;
    fn outflows(
        &mut self,
        fund: &FundRef,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, OutflowRow)>, Infallible> {
        Ok(in_range(&self.outflows, fund, from, to, |_, o| o.end))
    }
    fn holes(
        &mut self,
        fund: &FundRef,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, HoleRow)>, Infallible> {
        Ok(in_range(&self.holes, fund, from, to, |_, h| h.end))
    }
    fn inflows(
        &mut self,
        fund: &FundRef,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, SourceRow)>, Infallible> {
        Ok(in_range(&self.inflows, fund, from, to, |p, r| {
            p.saturating_add(r.amount)
        }))
    }
}

/// A trace row decoded from a write-set entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Inflow(SourceRow),
    Outflow(OutflowRow),
    Hole(HoleRow),
}

impl Row {
    /// Reads a write-set entry as a trace row (`None` if it is not one).
    pub fn parse(key: &[u8], value: Option<&[u8]>) -> Option<(RowKey, Row)> {
        let (family, fund, pos) = keys::parse_fund_pos_key(key)?;
        let v = value?;
        let row = match family {
            keys::TRACE_SOURCES => Row::Inflow(codec::decode_canonical(v).ok()?),
            keys::TRACE_OUTFLOWS => Row::Outflow(codec::decode_canonical(v).ok()?),
            keys::TRACE_HOLES => Row::Hole(codec::decode_canonical(v).ok()?),
            _ => return None,
        };
        Some(((family, fund, pos), row))
    }

    /// The record that wrote the row.
    pub fn record(&self) -> RecordId {
        match self {
            Row::Inflow(r) => r.record,
            Row::Outflow(r) => r.record,
            Row::Hole(r) => r.record,
        }
    }

    /// The row's value bytes (its canonical encoding).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Row::Inflow(r) => codec::encode(r),
            Row::Outflow(r) => codec::encode(r),
            Row::Hole(r) => codec::encode(r),
        }
    }
}

impl RowSet {
    /// Adds a row; false if one is already at its key.
    pub fn insert(&mut self, (family, fund, pos): RowKey, row: Row) -> bool {
        let k = (fund, pos);
        match (family, row) {
            (keys::TRACE_SOURCES, Row::Inflow(r)) => self.inflows.insert(k, r).is_none(),
            (keys::TRACE_OUTFLOWS, Row::Outflow(r)) => self.outflows.insert(k, r).is_none(),
            (keys::TRACE_HOLES, Row::Hole(r)) => self.holes.insert(k, r).is_none(),
            _ => false,
        }
    }
}

// --- Proofs -----------------------------------------------------------------------------------

/// Which question a trace proof answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Where the subject's inflow went.
    Forward,
    /// What the subject's outflow drew on.
    Reverse,
}

/// A trace row proven in the write set of `blocks[block]`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenRow {
    pub block: u32,
    pub proof: WriteSetProof,
}

/// A record proven in the log of `blocks[block]`, the block that committed
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockRecord {
    pub block: u32,
    pub record: ProvenRecord,
}

/// A trace proof (SPEC §10.6).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct TraceProof {
    pub direction: Direction,
    /// The traced record: an inflow (donation, grant or allocation received,
    /// lottery sales) going forward, an outflow going back.
    pub subject: RecordId,
    /// Governance records from genesis up to the newest block, as in a
    /// receipt bundle.
    pub validators: Vec<ValidatorStep>,
    /// The blocks the rows and records are in, by increasing height; the
    /// last is the checkpoint the trace is "as of".
    pub blocks: Vec<CertifiedBlock>,
    /// The subject and every outflow the trace reaches.
    pub records: Vec<BlockRecord>,
    pub rows: Vec<ProvenRow>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TraceJson {
    format: String,
    direction: Direction,
    subject: RecordId,
    validators: Vec<ValidatorStep>,
    blocks: Vec<CertifiedBlock>,
    records: Vec<BlockRecord>,
    rows: Vec<ProvenRow>,
}

impl TraceProof {
    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes the canonical bytes strictly.
    pub fn from_bytes(bytes: &[u8]) -> Result<TraceProof, TraceError> {
        codec::decode_canonical(bytes)
            .map_err(|e| TraceError::new("proof", TraceKind::Malformed(e.to_string())))
    }

    /// The JSON form (SPEC §10.6).
    pub fn to_json(&self) -> serde_json::Value {
        let j = TraceJson {
            format: JSON_FORMAT.into(),
            direction: self.direction,
            subject: self.subject,
            validators: self.validators.clone(),
            blocks: self.blocks.clone(),
            records: self.records.clone(),
            rows: self.rows.clone(),
        };
        serde_json::to_value(j).unwrap_or(serde_json::Value::Null)
    }

    /// Reads the JSON form.
    pub fn from_json(value: &serde_json::Value) -> Result<TraceProof, TraceError> {
        let malformed = |m: String| TraceError::new("proof", TraceKind::Malformed(m));
        let j: TraceJson =
            serde_json::from_value(value.clone()).map_err(|e| malformed(e.to_string()))?;
        if j.format != JSON_FORMAT {
            return Err(malformed(format!(
                "format is {:?}, expected {JSON_FORMAT:?}",
                j.format
            )));
        }
        Ok(TraceProof {
            direction: j.direction,
            subject: j.subject,
            validators: j.validators,
            blocks: j.blocks,
            records: j.records,
            rows: j.rows,
        })
    }
}

/// What a trace proof failed on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceKind {
    #[error("the proof does not decode: {0}")]
    Malformed(String),
    #[error(transparent)]
    Bundle(bundle::Kind),
    #[error("out of order: {0}")]
    Order(&'static str),
    #[error("the write-set proof does not lead to the state hash of block {height}")]
    WriteSet { height: u64 },
    #[error("not a trace row: {0}")]
    Row(&'static str),
    #[error("subject: {0}")]
    Subject(String),
    #[error(transparent)]
    Broken(Box<Broken>),
    #[error("outflow {outflow}: {reason}")]
    Record { outflow: RecordId, reason: String },
    #[error("{what} is in block {got}, but the row it goes with is in block {want}")]
    Block { what: RecordId, want: u64, got: u64 },
    #[error("the trace does not use it")]
    Unused,
}

impl TraceKind {
    /// A stable code (SPEC §10.8).
    pub fn code(&self) -> &'static str {
        match self {
            TraceKind::Malformed(_) => "trace.malformed",
            TraceKind::Bundle(k) => k.code(),
            TraceKind::Order(_) => "trace.order",
            TraceKind::WriteSet { .. } => "trace.write_set",
            TraceKind::Row(_) => "trace.row",
            TraceKind::Subject(_) => "trace.subject",
            TraceKind::Broken(b) => b.code(),
            TraceKind::Record { .. } => "trace.record",
            TraceKind::Block { .. } => "trace.block",
            TraceKind::Unused => "trace.unused",
        }
    }
}

/// A trace proof failed at step `at` (`rows[3]`, `records[0]`, `blocks[1]`,
/// `trace`, …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {kind}")]
pub struct TraceError {
    pub at: String,
    pub kind: TraceKind,
}

impl TraceError {
    fn new(at: impl Into<String>, kind: TraceKind) -> TraceError {
        TraceError {
            at: at.into(),
            kind,
        }
    }
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

impl From<BundleError> for TraceError {
    fn from(e: BundleError) -> Self {
        TraceError::new(e.at, TraceKind::Bundle(e.kind))
    }
}

/// A proven record of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedRecord {
    pub record: SignedRecord,
    /// The member that signed it, when the genesis or the proof's
    /// governance records name it.
    pub signer: Option<crate::validators::KnownMember>,
    /// The block that committed it and its time.
    pub height: u64,
    pub time: Timestamp,
}

/// What a verified trace proof proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvedTrace {
    pub direction: Direction,
    pub subject: RecordId,
    /// The subject's row: its fund and the start of its range there.
    pub fund: FundRef,
    pub position: u64,
    /// The subject's amount on that axis.
    pub amount: Fen,
    /// Going forward: where the money went, piece by piece.
    pub steps: Vec<Step>,
    /// Going back: what the outflow drew on.
    pub sources: Vec<Source>,
    /// The subject and every outflow reached.
    pub records: BTreeMap<RecordId, TracedRecord>,
    /// The newest checkpoint: what is "not shown spent" is so as of it.
    pub as_of: Checkpoint,
}

impl ProvedTrace {
    /// The money of the steps at `depth` whose `what` matches `f`.
    pub fn total(&self, depth: u32, f: impl Fn(&What) -> bool) -> u64 {
        total(&self.steps, depth, f)
    }
}

/// Checks that a record's payload is the one that wrote an outflow row of
/// `fund`.
fn outflow_matches(p: &Payload, fund: &FundRef, row: &OutflowRow) -> Result<(), String> {
    let to = row.to.as_ref().map(|(p, _)| p);
    let (kind, from, amount, dest) = match p {
        Payload::RecordDisbursement(d) => (OutflowKind::Disbursement, &d.fund, d.amount, None),
        Payload::TransferGrant(g) => (OutflowKind::Grant, &g.from, g.amount, Some(&g.to)),
        Payload::AllocateWelfareFund(a) => (
            OutflowKind::WelfareAllocation,
            &FundRef::WelfarePool,
            a.amount,
            match &a.recipient {
                WelfareRecipient::Project(p) => Some(p),
                WelfareRecipient::Programme(_) => None,
            },
        ),
        other => return Err(format!("a {} record writes no outflow row", other.kind())),
    };
    if kind != row.kind || from != fund || amount.0 != row.amount || dest != to {
        return Err(format!(
            "the record ({kind:?} of {amount} from {from} to {dest:?}) is not the row's ({:?} of {} from {fund} to {to:?})",
            row.kind,
            Fen(row.amount)
        ));
    }
    Ok(())
}

/// Checks that a record's payload is the one that wrote an inflow row of
/// `fund`. (A lottery sales report's inflow is its local welfare share,
/// SPEC §11, whose game the genesis must know.)
fn inflow_matches(
    p: &Payload,
    fund: &FundRef,
    row: &SourceRow,
    genesis: &crate::genesis::Genesis,
) -> Result<(), String> {
    let (kind, to, amount) = match p {
        Payload::RecordDonation(d) => (SourceKind::Donation, d.fund.clone(), d.amount),
        Payload::TransferGrant(g) => (SourceKind::Grant, FundRef::Project(g.to.clone()), g.amount),
        Payload::AllocateWelfareFund(a) => match &a.recipient {
            WelfareRecipient::Project(p) => (
                SourceKind::WelfareAllocation,
                FundRef::Project(p.clone()),
                a.amount,
            ),
            WelfareRecipient::Programme(_) => {
                return Err("an allocation to a programme writes no inflow row".into())
            }
        },
        Payload::RecordLotterySales(s) => {
            let game = genesis
                .game(&s.game)
                .ok_or_else(|| format!("game {} is not in the genesis", s.game))?;
            let split = crate::lottery::split_sales(game, s.sales);
            (
                SourceKind::LotterySales,
                FundRef::WelfarePool,
                split.welfare_local,
            )
        }
        other => return Err(format!("a {} record writes no inflow row", other.kind())),
    };
    if kind != row.kind || &to != fund || amount.0 != row.amount {
        return Err(format!(
            "the record ({kind:?} of {amount} into {to}) is not the row's ({:?} of {} into {fund})",
            row.kind,
            Fen(row.amount)
        ));
    }
    Ok(())
}

/// The record that wrote the row at `key`, if the set holds one.
fn row_record(rows: &RowSet, (family, fund, pos): &RowKey) -> Option<RecordId> {
    let k = (fund.clone(), *pos);
    match *family {
        keys::TRACE_SOURCES => rows.inflows.get(&k).map(|r| r.record),
        keys::TRACE_OUTFLOWS => rows.outflows.get(&k).map(|r| r.record),
        keys::TRACE_HOLES => rows.holes.get(&k).map(|r| r.record),
        _ => None,
    }
}

/// Verifies a trace proof against a genesis (SPEC §10.7).
pub fn verify(
    genesis: &crate::genesis::Genesis,
    proof: &TraceProof,
) -> Result<ProvedTrace, TraceError> {
    let err = |at: &str, k| TraceError::new(at, k);
    let Some(last) = proof.blocks.last() else {
        return Err(err("blocks", TraceKind::Order("a proof needs a block")));
    };
    let as_of = last.checkpoint.header.height;
    // Step 1: the validator sets, from genesis to the newest block.
    let mut run = Run::new(genesis);
    for (i, s) in proof.validators.iter().enumerate() {
        run.step(s, &format!("validators[{i}]"), 1, as_of)?;
    }
    // Step 2: every block, certified.
    let mut ranges = Vec::with_capacity(proof.blocks.len());
    for (i, b) in proof.blocks.iter().enumerate() {
        let at = format!("blocks[{i}]");
        if i > 0 && proof.blocks[i - 1].checkpoint.header.height >= b.checkpoint.header.height {
            return Err(err(
                &at,
                TraceKind::Order("blocks must be in increasing height"),
            ));
        }
        ranges.push(run.block(b, &at)?);
    }
    let header_of = |i: u32, at: &str| -> Result<&Header, TraceError> {
        proof
            .blocks
            .get(i as usize)
            .map(|b| &b.checkpoint.header)
            .ok_or_else(|| err(at, TraceKind::Order("no such block")))
    };
    // Step 3: every row, in its block's write set.
    let mut rows = RowSet::default();
    let mut row_block: BTreeMap<RowKey, u32> = BTreeMap::new();
    for (i, r) in proof.rows.iter().enumerate() {
        let at = format!("rows[{i}]");
        let header = header_of(r.block, &at)?;
        let implied = r.proof.state_hash(header.height).map_err(|_| {
            err(
                &at,
                TraceKind::WriteSet {
                    height: header.height,
                },
            )
        })?;
        if implied != header.state_hash {
            return Err(err(
                &at,
                TraceKind::WriteSet {
                    height: header.height,
                },
            ));
        }
        let (key, row) = Row::parse(&r.proof.key, r.proof.value.as_deref())
            .ok_or_else(|| err(&at, TraceKind::Row("the entry is not a trace row")))?;
        if !rows.insert(key.clone(), row) {
            return Err(err(&at, TraceKind::Row("a row is shown twice")));
        }
        row_block.insert(key, r.block);
    }
    // Step 4: every record, in its block's log.
    let mut records: BTreeMap<RecordId, (u32, Record)> = BTreeMap::new();
    for (i, r) in proof.records.iter().enumerate() {
        let at = format!("records[{i}]");
        let header = header_of(r.block, &at)?;
        let rec = run.record(&r.record, header, ranges[r.block as usize], &at)?;
        if records.insert(rec.id, (r.block, rec)).is_some() {
            return Err(err(&at, TraceKind::Order("a record is shown twice")));
        }
    }
    // Step 5: the subject: its record, its one row, in its block, written
    // by it.
    let subject = records.get(&proof.subject).ok_or_else(|| {
        err(
            "subject",
            TraceKind::Subject("its record is not shown".into()),
        )
    })?;
    let payload = &subject.1.signed.body.payload;
    let (family, what) = match proof.direction {
        Direction::Forward => (keys::TRACE_SOURCES, "inflow"),
        Direction::Reverse => (keys::TRACE_OUTFLOWS, "outflow"),
    };
    let found: Vec<&RowKey> = row_block
        .keys()
        .filter(|k| k.0 == family && row_record(&rows, k) == Some(proof.subject))
        .collect();
    let [key] = found[..] else {
        return Err(err(
            "subject",
            TraceKind::Subject(format!(
                "{} {what} rows of it are shown, not one",
                found.len()
            )),
        ));
    };
    let key = key.clone();
    let row_at = row_block.get(&key).copied().unwrap_or(0);
    if row_at != subject.0 {
        return Err(err(
            "subject",
            TraceKind::Block {
                what: proof.subject,
                want: header_of(row_at, "subject")?.height,
                got: header_of(subject.0, "subject")?.height,
            },
        ));
    }
    let (_, fund, position) = key.clone();
    let broken = |b: WalkError<Infallible>| match b {
        WalkError::Broken(b) => err("trace", TraceKind::Broken(Box::new(b))),
        WalkError::Axes(never) => match never {},
    };
    // Step 6: the walk.
    let (amount, steps, sources_found, used) = match proof.direction {
        Direction::Forward => {
            let row = rows.inflows[&(fund.clone(), position)].clone();
            inflow_matches(payload, &fund, &row, genesis)
                .map_err(|m| err("subject", TraceKind::Subject(m)))?;
            let flow = follow(&mut rows.clone(), &fund, position, position + row.amount)
                .map_err(broken)?;
            (row.amount, flow.steps, Vec::new(), flow.used)
        }
        Direction::Reverse => {
            let row = rows.outflows[&(fund.clone(), position)].clone();
            outflow_matches(payload, &fund, &row)
                .map_err(|m| err("subject", TraceKind::Subject(m)))?;
            let (found, used) =
                sources(&mut rows.clone(), &fund, position, &row).map_err(broken)?;
            (row.amount, Vec::new(), found, used)
        }
    };
    // Step 7: every outflow reached, against its own record.
    let mut needed: BTreeSet<RecordId> = BTreeSet::from([proof.subject]);
    for s in &steps {
        let What::Spent { outflow, .. } = &s.what else {
            continue;
        };
        if !needed.insert(*outflow) {
            continue;
        }
        let at = format!("trace: outflow {outflow} of {}", s.fund);
        let (block, rec) = records.get(outflow).ok_or_else(|| {
            err(
                &at,
                TraceKind::Record {
                    outflow: *outflow,
                    reason: "its record is not shown".into(),
                },
            )
        })?;
        let (pos, row) = rows
            .outflows
            .iter()
            .find(|((f, _), r)| f == &s.fund && r.record == *outflow)
            .map(|((_, p), r)| (*p, r))
            .ok_or_else(|| err(&at, TraceKind::Order("the outflow's row is missing")))?;
        let row_at = row_block
            .get(&(keys::TRACE_OUTFLOWS, s.fund.clone(), pos))
            .copied()
            .unwrap_or(0);
        if row_at != *block {
            return Err(err(
                &at,
                TraceKind::Block {
                    what: *outflow,
                    want: header_of(row_at, &at)?.height,
                    got: header_of(*block, &at)?.height,
                },
            ));
        }
        outflow_matches(&rec.signed.body.payload, &s.fund, row).map_err(|reason| {
            err(
                &at,
                TraceKind::Record {
                    outflow: *outflow,
                    reason,
                },
            )
        })?;
    }
    // Step 8: nothing shown that the trace does not use.
    let mut used = used;
    used.insert(key);
    for (i, r) in proof.rows.iter().enumerate() {
        if let Some((k, _)) = Row::parse(&r.proof.key, r.proof.value.as_deref()) {
            if !used.contains(&k) {
                return Err(err(&format!("rows[{i}]"), TraceKind::Unused));
            }
        }
    }
    for (i, r) in proof.records.iter().enumerate() {
        if !needed.contains(&RecordId::of_bytes(&r.record.record)) {
            return Err(err(&format!("records[{i}]"), TraceKind::Unused));
        }
    }
    let records = records
        .into_values()
        .map(|(block, rec)| {
            let h = &proof.blocks[block as usize].checkpoint.header;
            (
                rec.id,
                TracedRecord {
                    signer: run.tracker.member_of_key(&rec.signed.signer).cloned(),
                    record: rec.signed,
                    height: h.height,
                    time: h.time,
                },
            )
        })
        .collect();
    Ok(ProvedTrace {
        direction: proof.direction,
        subject: proof.subject,
        fund,
        position,
        amount: Fen(amount),
        steps,
        sources: sources_found,
        records,
        as_of: last.checkpoint.checkpoint.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> RecordId {
        RecordId([n; 32])
    }
    fn fund() -> FundRef {
        FundRef::General(Address([7; 20]))
    }
    fn p() -> ProjectId {
        ProjectId("P".into())
    }

    /// SPEC §10.5's worked example as rows.
    fn example() -> RowSet {
        let f = fund();
        let mut r = RowSet::default();
        for (pos, n, amount) in [(0, 1, 100), (100, 2, 50), (150, 3, 30)] {
            r.inflows.insert(
                (f.clone(), pos),
                SourceRow {
                    record: id(n),
                    kind: SourceKind::Donation,
                    amount,
                },
            );
        }
        r.outflows.insert(
            (f.clone(), 0),
            OutflowRow {
                record: id(10),
                kind: OutflowKind::Disbursement,
                end: 60,
                amount: 60,
                to: None,
            },
        );
        r.holes.insert(
            (f.clone(), 130),
            HoleRow {
                record: id(11),
                end: 150,
            },
        );
        r.outflows.insert(
            (f.clone(), 60),
            OutflowRow {
                record: id(12),
                kind: OutflowKind::Grant,
                end: 160,
                amount: 80,
                to: Some((p(), 500)),
            },
        );
        r.inflows.insert(
            (FundRef::Project(p()), 500),
            SourceRow {
                record: id(12),
                kind: SourceKind::Grant,
                amount: 80,
            },
        );
        r
    }

    fn spent(flow: &Flow) -> Vec<(u32, RecordId, u64)> {
        flow.steps
            .iter()
            .filter_map(|s| match &s.what {
                What::Spent { outflow, .. } => Some((s.depth, *outflow, s.amount.0)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_worked_example() {
        let mut r = example();
        let f = fund();
        // D1 [0, 100): X 60, G 40 landing at P [500, 540).
        let d1 = follow(&mut r, &f, 0, 100).unwrap();
        assert_eq!(spent(&d1), vec![(0, id(10), 60), (0, id(12), 40)]);
        let on_p: Vec<_> = d1.steps.iter().filter(|s| s.depth == 1).collect();
        assert_eq!((on_p[0].from, on_p[0].to), (500, 540));
        assert_eq!(on_p[0].what, What::NotShownSpent);
        // D2 [100, 150): G 30 (at P [540, 570)), refunded 20.
        let d2 = follow(&mut r, &f, 100, 150).unwrap();
        assert_eq!(spent(&d2), vec![(0, id(12), 30)]);
        assert_eq!(d2.total(0, |w| matches!(w, What::Refunded { .. })), 20);
        let on_p: Vec<_> = d2.steps.iter().filter(|s| s.depth == 1).collect();
        assert_eq!((on_p[0].from, on_p[0].to), (540, 570));
        // D3 [150, 180): G 10 (offset 70: P [570, 580)), 20 not shown spent.
        let d3 = follow(&mut r, &f, 150, 180).unwrap();
        assert_eq!(spent(&d3), vec![(0, id(12), 10)]);
        assert_eq!(d3.total(0, |w| *w == What::NotShownSpent), 20);
        let on_p: Vec<_> = d3.steps.iter().filter(|s| s.depth == 1).collect();
        assert_eq!((on_p[0].from, on_p[0].to), (570, 580));
        // The grant drew 40 + 30 + 10.
        let g = r.outflows[&(f.clone(), 60)].clone();
        let (src, _) = sources(&mut r, &f, 60, &g).unwrap();
        let got: Vec<(RecordId, u64)> = src.iter().map(|s| (s.record, s.amount.0)).collect();
        assert_eq!(got, vec![(id(1), 40), (id(2), 30), (id(3), 10)]);
    }

    #[test]
    fn missing_rows_break_the_walk() {
        let f = fund();
        // Without the disbursement, [0, 60) of D1 is a gap.
        let mut r = example();
        r.outflows.remove(&(f.clone(), 0));
        let e = follow(&mut r, &f, 0, 100).unwrap_err();
        assert_eq!(
            e,
            WalkError::Broken(Broken::Gap {
                fund: f.clone(),
                from: 0,
                to: 60
            })
        );
        // Without the hole, the grant's range holds 20 too many.
        let mut r = example();
        r.holes.clear();
        let e = follow(&mut r, &f, 150, 180).unwrap_err();
        assert!(matches!(
            e,
            WalkError::Broken(Broken::Holes {
                want: 20,
                shown: 0,
                ..
            })
        ));
        // Without the landing row, the hop fails.
        let mut r = example();
        r.inflows.remove(&(FundRef::Project(p()), 500));
        let e = follow(&mut r, &f, 0, 100).unwrap_err();
        assert!(e.to_string().contains("no inflow row"), "{e}");
        // Without D2's inflow, the grant's sources have a gap.
        let mut r = example();
        r.inflows.remove(&(f.clone(), 100));
        let g = r.outflows[&(f.clone(), 60)].clone();
        let e = sources(&mut r, &f, 60, &g).unwrap_err();
        assert!(matches!(
            e,
            WalkError::Broken(Broken::Tiling {
                from: 100,
                to: 150,
                ..
            })
        ));
    }

    #[test]
    fn a_gap_covered_by_holes_is_refunded() {
        let f = fund();
        let mut r = RowSet::default();
        // Donation [0, 100) refunded 30 at its end before anything was
        // spent; then an outflow of 50 from the next donation's range.
        r.holes.insert(
            (f.clone(), 70),
            HoleRow {
                record: id(5),
                end: 100,
            },
        );
        r.outflows.insert(
            (f.clone(), 0),
            OutflowRow {
                record: id(6),
                kind: OutflowKind::Disbursement,
                end: 70,
                amount: 70,
                to: None,
            },
        );
        r.outflows.insert(
            (f.clone(), 100),
            OutflowRow {
                record: id(7),
                kind: OutflowKind::Disbursement,
                end: 150,
                amount: 50,
                to: None,
            },
        );
        let flow = follow(&mut r, &f, 0, 100).unwrap();
        assert_eq!(flow.total(0, |w| matches!(w, What::Spent { .. })), 70);
        assert_eq!(flow.total(0, |w| matches!(w, What::Refunded { .. })), 30);
        assert!(flow.used.contains(&(keys::TRACE_HOLES, f.clone(), 70)));
        // The next donation [100, 200): 50 spent, 50 not shown spent.
        let flow = follow(&mut r, &f, 100, 200).unwrap();
        assert_eq!(flow.total(0, |w| matches!(w, What::Spent { .. })), 50);
        assert_eq!(flow.total(0, |w| *w == What::NotShownSpent), 50);
    }
}
