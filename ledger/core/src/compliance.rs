//! The statutory checks every reader of the ledger shows the same way
//! (DESIGN §6): Charity Law art. 60 ratios of a charity's year, and the
//! elderly share of a year's welfare-fund allocations. Pure functions of
//! the ledger's yearly totals and the genesis thresholds, so that the
//! explorer, the client's audit and the web page agree to the basis point.
//!
//! Ratios are in basis points (1 bp = 0.01%), rounded down, computed in
//! integers: money is never a float.

use crate::genesis::Params;
use crate::values::{CharityYear, WelfareYear};
use serde::Serialize;

/// A ratio `num / den` in basis points, rounded down; `None` when `den` is 0.
pub fn ratio_bp(num: u64, den: u64) -> Option<u32> {
    if den == 0 {
        return None;
    }
    let bp = (u128::from(num) * 10_000 / u128::from(den)).min(u128::from(u32::MAX));
    Some(bp as u32)
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// Nothing to measure (no income the year before, no spending, no
    /// allocations).
    NotApplicable,
}

/// One ratio against its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ratio {
    /// The measured ratio in basis points (absent when not applicable).
    pub bp: Option<u32>,
    /// The threshold in basis points.
    pub threshold_bp: u32,
    pub verdict: Verdict,
}

fn at_least(bp: Option<u32>, threshold_bp: u32) -> Ratio {
    let verdict = match bp {
        None => Verdict::NotApplicable,
        Some(b) if b >= threshold_bp => Verdict::Pass,
        Some(_) => Verdict::Fail,
    };
    Ratio {
        bp,
        threshold_bp,
        verdict,
    }
}

fn at_most(bp: Option<u32>, threshold_bp: u32) -> Ratio {
    let verdict = match bp {
        None => Verdict::NotApplicable,
        Some(b) if b <= threshold_bp => Verdict::Pass,
        Some(_) => Verdict::Fail,
    };
    Ratio {
        bp,
        threshold_bp,
        verdict,
    }
}

/// Charity Law art. 60 for one charity and year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Art60 {
    pub year: u32,
    /// The previous year's income: donations and grants received, less
    /// refunds.
    pub previous_income: u64,
    /// This year's spending: charitable activity, management, fundraising
    /// (grants given count as charitable activity).
    pub spending: u64,
    /// Charitable-activity spending (with grants given) over the previous
    /// year's income: at least `charity_activity_min_bp`.
    pub activity: Ratio,
    /// Management costs over this year's spending: at most
    /// `charity_management_max_bp`.
    pub management: Ratio,
}

/// Income counted by art. 60: donations and grants received, less refunds.
pub fn income(y: &CharityYear) -> u64 {
    y.donations
        .0
        .saturating_add(y.grants_in.0)
        .saturating_sub(y.refunds.0)
}

/// Charitable activity counted by art. 60: activity spending and grants
/// given to other charities' projects.
pub fn activity(y: &CharityYear) -> u64 {
    y.charitable_activity.0.saturating_add(y.grants_out.0)
}

/// All spending of the year.
pub fn spending(y: &CharityYear) -> u64 {
    activity(y)
        .saturating_add(y.management.0)
        .saturating_add(y.fundraising.0)
}

/// Art. 60 for `year`, given its totals and the previous year's.
pub fn art60(year: u32, this: &CharityYear, previous: Option<&CharityYear>, p: &Params) -> Art60 {
    let previous_income = previous.map_or(0, income);
    let spending = spending(this);
    Art60 {
        year,
        previous_income,
        spending,
        activity: at_least(
            ratio_bp(activity(this), previous_income),
            p.charity_activity_min_bp,
        ),
        management: at_most(
            ratio_bp(this.management.0, spending),
            p.charity_management_max_bp,
        ),
    }
}

/// The elderly share of a year's welfare-fund allocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ElderlyShare {
    pub year: u32,
    pub total: u64,
    pub elderly: u64,
    pub share: Ratio,
}

/// The elderly share of `year`'s allocations against the genesis minimum.
pub fn elderly_share(year: u32, w: &WelfareYear, p: &Params) -> ElderlyShare {
    let total: u64 = w.by_purpose.iter().fold(0u64, |a, b| a.saturating_add(*b));
    let elderly = w.by_purpose[crate::types::WelfarePurpose::Elderly.index()];
    ElderlyShare {
        year,
        total,
        elderly,
        share: at_least(ratio_bp(elderly, total), p.elderly_min_share_bp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Fen;

    #[test]
    fn ratios_are_integer_basis_points() {
        assert_eq!(ratio_bp(1, 3), Some(3_333));
        assert_eq!(ratio_bp(7, 0), None);
        assert_eq!(ratio_bp(u64::MAX, 1), Some(u32::MAX));
    }

    #[test]
    fn art60_counts_grants_as_activity_and_nets_refunds() {
        let p = Params::default();
        let prev = CharityYear {
            donations: Fen(1_000_000),
            grants_in: Fen(100_000),
            refunds: Fen(100_000),
            ..Default::default()
        };
        let this = CharityYear {
            charitable_activity: Fen(500_000),
            grants_out: Fen(200_000),
            management: Fen(50_000),
            fundraising: Fen(50_000),
            ..Default::default()
        };
        let a = art60(2026, &this, Some(&prev), &p);
        assert_eq!(a.previous_income, 1_000_000);
        assert_eq!(a.activity.bp, Some(7_000));
        assert_eq!(a.activity.verdict, Verdict::Pass);
        assert_eq!(a.management.bp, Some(625));
        assert_eq!(a.management.verdict, Verdict::Pass);
        let a = art60(2026, &this, None, &p);
        assert_eq!(a.activity.verdict, Verdict::NotApplicable);
        let lavish = CharityYear {
            management: Fen(200_000),
            ..this
        };
        assert_eq!(
            art60(2026, &lavish, Some(&prev), &p).management.verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn elderly_share_against_the_minimum() {
        let p = Params::default();
        let w = WelfareYear {
            by_purpose: [540, 200, 200, 60, 0],
        };
        let e = elderly_share(2026, &w, &p);
        assert_eq!((e.total, e.elderly, e.share.bp), (1_000, 540, Some(5_400)));
        assert_eq!(e.share.verdict, Verdict::Fail);
        let none = elderly_share(2026, &WelfareYear::default(), &p);
        assert_eq!(none.share.verdict, Verdict::NotApplicable);
    }
}
