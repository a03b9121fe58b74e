//! Where did the money go? Answers computed from the trace rows every
//! node stores and hashes (docs/SPEC.md § Fund tracing).
//!
//! Each fund has an inflow axis: inflow `i` occupies `[start, start +
//! amount)`. Outflows consume the axis first in, first out; a refund gives
//! back the end of its donation's unconsumed range (a *hole*). The part of
//! inflow `[s, e)` (minus its own hole) that outflow `[ps, pe)` used is
//! their overlap. A grant or welfare allocation lands on the receiving
//! project's axis at a recorded start, so a range is followed exactly
//! across funds.

use crate::keys as t;
use crate::state::{OutflowKind, OutflowRow, SourceRow};
use crate::store::query::LedgerReader;
use crate::store::{Store, StoreError};
use crate::types::*;

/// One hop of money: `amount` of the traced range went out of `fund` by
/// `outflow`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub fund: FundRef,
    pub outflow: RecordId,
    pub kind: OutflowKind,
    pub amount: Fen,
    /// How many grant/allocation hops from the traced inflow (0 = direct).
    pub depth: u32,
    /// For grants/allocations to a project: where the money went on to.
    pub to: Option<ProjectId>,
}

/// The full answer for one inflow range.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trace {
    /// Every hop, depth-first in axis order.
    pub allocations: Vec<Allocation>,
    /// Money still unspent, in the funds it now sits in.
    pub unspent: Vec<Unspent>,
}

/// Part of the traced money that no outflow has used yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unspent {
    pub fund: FundRef,
    pub amount: Fen,
    /// Hops from the traced inflow (0 = still in its own fund).
    pub depth: u32,
}

/// Total length of holes (refunded ranges) of `fund` inside `[a, b)`.
fn holes_in(store: &Store, fund: &FundRef, a: u64, b: u64) -> Result<u64, StoreError> {
    let rows: Vec<(u64, u64)> = store.trace_rows(t::TRACE_HOLES, fund, a, b)?;
    Ok(rows
        .into_iter()
        .filter(|(s, _)| *s >= a)
        .map(|(s, e)| e.min(b) - s)
        .sum())
}

/// Traces the hole-free range `[s, e)` of `fund`'s inflow axis, following
/// grants and allocations into other funds (at most `max_depth` hops).
pub fn trace_range(
    store: &Store,
    fund: &FundRef,
    s: u64,
    e: u64,
    max_depth: u32,
) -> Result<Trace, StoreError> {
    let mut out = Trace::default();
    walk(store, fund, s, e, 0, max_depth, &mut out)?;
    Ok(out)
}

fn walk(
    store: &Store,
    fund: &FundRef,
    s: u64,
    e: u64,
    depth: u32,
    max_depth: u32,
    out: &mut Trace,
) -> Result<(), StoreError> {
    let rows: Vec<(u64, OutflowRow)> = store.trace_rows(t::TRACE_OUTFLOWS, fund, s, e)?;
    let mut spent = 0u64;
    for (ps, row) in rows {
        let (a, b) = (s.max(ps), e.min(row.end));
        if a >= b {
            continue;
        }
        let amount = b - a;
        spent += amount;
        out.allocations.push(Allocation {
            fund: fund.clone(),
            outflow: row.record,
            kind: row.kind,
            amount: Fen(amount),
            depth,
            to: row.to.as_ref().map(|(p, _)| p.clone()),
        });
        if let Some((project, to_start)) = &row.to {
            if depth < max_depth {
                // Offset of [a, b) inside this outflow's money.
                let off = (a - ps) - holes_in(store, fund, ps, a)?;
                let next = to_start + off;
                walk(
                    store,
                    &FundRef::Project(project.clone()),
                    next,
                    next + amount,
                    depth + 1,
                    max_depth,
                    out,
                )?;
            }
        }
    }
    if spent < e - s {
        out.unspent.push(Unspent {
            fund: fund.clone(),
            amount: Fen(e - s - spent),
            depth,
        });
    }
    Ok(())
}

/// Where a charity's donation (by receipt) went.
pub fn trace_donation(
    store: &Store,
    charity: &Address,
    receipt: &ReceiptNo,
) -> Result<Option<Trace>, StoreError> {
    let Some(d) = store.donation(charity, receipt)? else {
        return Ok(None);
    };
    let end = d.start + d.amount.0 - d.refunded.0;
    trace_range(store, &d.fund, d.start, end, 16).map(Some)
}

/// What an outflow drew on: `(source record, kind, amount)` for every
/// inflow whose range overlaps the outflow's range, minus holes.
pub fn sources_of_outflow(
    store: &Store,
    fund: &FundRef,
    ps: u64,
    pe: u64,
) -> Result<Vec<(RecordId, crate::state::SourceKind, Fen)>, StoreError> {
    let rows: Vec<(u64, SourceRow)> = store.trace_rows(t::TRACE_SOURCES, fund, ps, pe)?;
    let holes: Vec<(u64, u64)> = store.trace_rows(t::TRACE_HOLES, fund, ps, pe)?;
    let mut out = Vec::new();
    for (s, row) in rows {
        let e = s + row.amount;
        let (a, b) = (ps.max(s), pe.min(e));
        if a >= b {
            continue;
        }
        let hole: u64 = holes
            .iter()
            .filter(|(hs, he)| *hs >= a && *he <= b)
            .map(|(hs, he)| he - hs)
            .sum();
        if b - a > hole {
            out.push((row.record, row.kind, Fen(b - a - hole)));
        }
    }
    Ok(out)
}

/// A donation's trace with, for every outflow it reached, that outflow's
/// committed record (so a donor can check each with its own bundle).
#[derive(Debug, Clone)]
pub struct DonationFlow {
    pub donation: crate::state::Donation,
    pub trace: Trace,
    pub outflows: Vec<crate::proofs::Committed>,
}

/// Where a charity's donation (by receipt) went, with the outflows' records.
pub fn donation_flow(
    store: &Store,
    charity: &Address,
    receipt: &ReceiptNo,
) -> Result<Option<DonationFlow>, StoreError> {
    let Some(donation) = store.donation(charity, receipt)? else {
        return Ok(None);
    };
    let end = donation.start + donation.amount.0 - donation.refunded.0;
    let trace = trace_range(store, &donation.fund, donation.start, end, 16)?;
    let mut seen = std::collections::BTreeSet::new();
    let mut outflows = Vec::new();
    for a in &trace.allocations {
        if seen.insert(a.outflow) {
            let c = store.committed(&a.outflow)?.ok_or_else(|| {
                StoreError::Corrupt(format!("traced outflow {} is not committed", a.outflow))
            })?;
            outflows.push(c);
        }
    }
    Ok(Some(DonationFlow {
        donation,
        trace,
        outflows,
    }))
}

/// What a committed outflow (disbursement, grant or welfare allocation)
/// drew on: `(source record, kind, amount)` in axis order.
pub fn sources_of_record(
    store: &Store,
    id: &RecordId,
) -> Result<Vec<(RecordId, crate::state::SourceKind, Fen)>, StoreError> {
    let mut out = Vec::new();
    for (family, fund, start) in store.trace_positions(id)? {
        if family != t::TRACE_OUTFLOWS {
            continue;
        }
        let rows: Vec<(u64, OutflowRow)> =
            store.trace_rows(t::TRACE_OUTFLOWS, &fund, start, start + 1)?;
        let Some((_, row)) = rows
            .into_iter()
            .find(|(p, r)| *p == start && r.record == *id)
        else {
            return Err(StoreError::Corrupt(format!(
                "outflow row of {id} is missing"
            )));
        };
        out.extend(sources_of_outflow(store, &fund, start, row.end)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{payloads as p, DevNet};

    /// SPEC §10.5's worked example, number for number.
    #[test]
    fn the_worked_example() {
        let mut net = DevNet::on(Store::memory()).unwrap();
        let f = FundRef::General(net.address("charity-federation"));
        let start = net.clock;
        let end = Timestamp(start.0 + 86_400_000 * 30);
        let reg = net.sign("red-cross", p::project("P", start, end));
        net.commit_all(&[reg]).unwrap();
        let pf = FundRef::Project(ProjectId("P".into()));
        let r0 = net.receipt();
        let d0 = net.sign("red-cross", p::donation(r0, pf.clone(), 500, 9));
        net.commit_all(&[d0]).unwrap();
        let donate = |net: &mut DevNet, amount| {
            let r = net.receipt();
            let d = net.sign(
                "charity-federation",
                p::donation(r.clone(), f.clone(), amount, 1),
            );
            net.commit_all(&[d]).unwrap();
            r
        };
        let r1 = donate(&mut net, 100);
        let r2 = donate(&mut net, 50);
        let r3 = donate(&mut net, 30);
        let x = net.sign("charity-federation", p::disbursement(f.clone(), 60));
        let refund = net.sign("charity-federation", p::refund(r2.clone(), 20));
        let g = net.sign("charity-federation", p::grant(f.clone(), "P", 80));
        net.commit_all(&[x.clone(), refund]).unwrap();
        net.commit_all(std::slice::from_ref(&g)).unwrap();
        let fed = net.address("charity-federation");
        let hops = |r: &ReceiptNo| {
            let t = trace_donation(&net.store, &fed, r).unwrap().unwrap();
            let direct: Vec<(RecordId, u64)> = t
                .allocations
                .iter()
                .filter(|a| a.depth == 0)
                .map(|a| (a.outflow, a.amount.0))
                .collect();
            let unspent: Vec<(u32, u64)> =
                t.unspent.iter().map(|u| (u.depth, u.amount.0)).collect();
            (direct, unspent)
        };
        // D1 [0,100): X takes 60, G 40 (landing at P [500,540), unspent there).
        assert_eq!(hops(&r1), (vec![(x.id, 60), (g.id, 40)], vec![(1, 40)]));
        // D2 effective [100,130): G takes 30.
        assert_eq!(hops(&r2), (vec![(g.id, 30)], vec![(1, 30)]));
        // D3 [150,180): G takes [150,160) = 10; 20 unspent in F.
        assert_eq!(hops(&r3), (vec![(g.id, 10)], vec![(1, 10), (0, 20)]));
        // The grant's 80 on P are [500,580) = 40 (D1) + 30 (D2) + 10 (D3).
        let on_p = sources_of_outflow(&net.store, &f, 60, 160).unwrap();
        let amounts: Vec<u64> = on_p.iter().map(|(_, _, a)| a.0).collect();
        assert_eq!(amounts, vec![40, 30, 10]);
        let rows: Vec<(u64, SourceRow)> = net
            .store
            .trace_rows(t::TRACE_SOURCES, &pf, 500, 580)
            .unwrap();
        assert_eq!(rows.iter().map(|(p, _)| *p).collect::<Vec<_>>(), vec![500]);
        assert_eq!(rows[0].1.amount, 80);
        // The hole of the refund, [130, 150).
        let holes: Vec<(u64, u64)> = net.store.trace_rows(t::TRACE_HOLES, &f, 0, 200).unwrap();
        assert_eq!(holes, vec![(130, 150)]);
    }
}
