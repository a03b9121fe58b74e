//! The FIFO arithmetic of a fund's tracing axis (SPEC §10.2–§10.3), as pure
//! functions over a fund's counters and its refund holes. The rules in
//! [`super::charity`] and [`super::lottery`] call these; nothing else moves
//! a fund's FIFO position.
//!
//! Positions are fen on the fund's inflow axis. Holes are refunded ranges
//! `[start, end)` at or after the FIFO position, sorted and disjoint.

use shanlian_core::values::{FundState, Holes};

/// Moves `p` past every hole that starts at or before it, dropping those
/// holes (SPEC §10.2 `skip_holes`).
pub fn skip_holes(holes: &mut Holes, mut p: u64) -> u64 {
    let n = holes.iter().take_while(|h| h.0 <= p).count();
    for (_, he) in holes.drain(..n) {
        p = p.max(he);
    }
    p
}

/// Consumes `amount` first in, first out from the fund's FIFO position,
/// skipping holes, and returns the `[start, end)` range of the axis it
/// covers (holes inside are not this outflow's money). SPEC §10.2
/// `consume`. The caller has checked `amount <= fund.balance()`.
pub fn consume(fund: &mut FundState, holes: &mut Holes, amount: u64) -> (u64, u64) {
    let start = skip_holes(holes, fund.consumed);
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
    fund.consumed = p;
    fund.outflow += amount;
    (start, p)
}

/// Adds the refunded range `[start, end)`, merging it with a neighbour it
/// touches (a donation refunded twice) (SPEC §10.3).
pub fn add_hole(holes: &mut Holes, start: u64, end: u64) {
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

/// A refund of `amount` from the donation whose effective range is
/// `[start, end)` (SPEC §10.3): normalises the fund's FIFO position past
/// holes at it, and returns what is left of the donation unconsumed.
pub fn refundable(fund: &mut FundState, holes: &mut Holes, start: u64, end: u64) -> u64 {
    fund.consumed = skip_holes(holes, fund.consumed);
    end.saturating_sub(start.max(fund.consumed))
}

/// Records a refund of `amount` taken from the end of the effective range
/// ending at `end` (SPEC §10.3): the hole `[end − amount, end)` and the
/// fund's refunded total. Returns the hole's start. The caller has checked
/// `amount <= refundable(..)`.
pub fn refund(fund: &mut FundState, holes: &mut Holes, end: u64, amount: u64) -> u64 {
    let start = end - amount;
    add_hole(holes, start, end);
    fund.refunded += amount;
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fund(inflow: u64) -> FundState {
        FundState {
            inflow,
            ..Default::default()
        }
    }

    #[test]
    fn consume_without_holes_is_a_plain_fifo() {
        let (mut f, mut h) = (fund(100), Holes::new());
        assert_eq!(consume(&mut f, &mut h, 30), (0, 30));
        assert_eq!(consume(&mut f, &mut h, 70), (30, 100));
        assert_eq!((f.consumed, f.outflow), (100, 100));
        assert_eq!(f.balance().0, 0);
    }

    #[test]
    fn consume_skips_holes_inside_and_at_the_position() {
        // Holes [10, 20) and [40, 50): a 50-fen outflow covers [0, 70).
        let (mut f, mut h) = (fund(100), vec![(10, 20), (40, 50)]);
        f.refunded = 20;
        assert_eq!(consume(&mut f, &mut h, 50), (0, 70));
        assert!(h.is_empty(), "both holes passed: {h:?}");
        // A hole starting exactly at the FIFO position is skipped first.
        let (mut f, mut h) = (fund(100), vec![(0, 25)]);
        f.refunded = 25;
        assert_eq!(consume(&mut f, &mut h, 10), (25, 35));
    }

    #[test]
    fn consume_can_stop_at_a_hole_start_and_leave_it() {
        let (mut f, mut h) = (fund(100), vec![(30, 40)]);
        f.refunded = 10;
        assert_eq!(consume(&mut f, &mut h, 30), (0, 30));
        assert_eq!(h, vec![(30, 40)], "the hole stays until skipped");
        assert_eq!(consume(&mut f, &mut h, 5), (40, 45));
        assert!(h.is_empty());
    }

    #[test]
    fn holes_merge_with_touching_neighbours() {
        let mut h = Holes::new();
        add_hole(&mut h, 50, 60);
        add_hole(&mut h, 40, 50); // touches the next one: merged
        assert_eq!(h, vec![(40, 60)]);
        add_hole(&mut h, 60, 70); // touches the previous one: merged
        assert_eq!(h, vec![(40, 70)]);
        add_hole(&mut h, 10, 20);
        assert_eq!(h, vec![(10, 20), (40, 70)]);
        add_hole(&mut h, 20, 40); // touches both
        assert_eq!(h, vec![(10, 70)]);
    }

    #[test]
    fn refunds_come_from_the_unconsumed_end() {
        // The SPEC §10.5 example: D1 [0,100), D2 [100,150), D3 [150,180).
        let (mut f, mut h) = (fund(180), Holes::new());
        assert_eq!(consume(&mut f, &mut h, 60), (0, 60)); // X
        assert_eq!(refundable(&mut f, &mut h, 100, 150), 50); // D2
        assert_eq!(refund(&mut f, &mut h, 150, 20), 130);
        assert_eq!(h, vec![(130, 150)]);
        assert_eq!(consume(&mut f, &mut h, 80), (60, 160)); // G
        assert_eq!(f.balance().0, 20);
        assert_eq!(refundable(&mut f, &mut h, 150, 180), 20); // D3
        assert_eq!(refundable(&mut f, &mut h, 0, 100), 0); // D1: spent
        assert!(f.is_consistent());
    }
}
