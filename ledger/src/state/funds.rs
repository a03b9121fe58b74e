//! Funds as the payload rules see them (SPEC §8.3 "own fund", "receiving
//! project", listings) and the two ways money moves on a fund's axis
//! (SPEC §10.1): an inflow at the end of the axis, an outflow taken first in,
//! first out ([`super::axis`]).

use super::{axis, State, Verdict};
use crate::fault::Fault;
use shanlian_core::error::Refusal;
use shanlian_core::keys as k;
use shanlian_core::types::*;
use shanlian_core::values::*;

impl State {
    /// "Own fund `f`": a fund the signer owns and may move money out of.
    /// (A charity always has its general fund, and a project its fund: a
    /// missing one is a broken state, not a refusal.)
    pub(super) fn own_fund(&self, signer: Address, fund: &FundRef) -> Verdict<FundState> {
        match fund {
            FundRef::General(a) if *a != signer => return Err(Refusal::NotFundOwner(*a).into()),
            FundRef::General(_) => {}
            FundRef::WelfarePool => return Err(Refusal::NotFundOwner(signer).into()),
            FundRef::Project(id) => {
                let p = self.project(id)?;
                if p.owner != signer {
                    return Err(Refusal::NotProjectOwner(id.clone()).into());
                }
                if p.status == ProjectStatus::Closed {
                    return Err(Refusal::ProjectClosed(id.clone()).into());
                }
            }
        }
        Ok(self.fund(fund)?)
    }

    /// "Receiving project `p`": a project that may receive money now.
    pub(super) fn receiving_project(&self, id: &ProjectId) -> Result<&Project, Refusal> {
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

    /// Refuses an organisation on either public list.
    pub(super) fn check_not_listed(&self, org: Address) -> Result<(), Refusal> {
        for list in [ListKind::AbnormalActivity, ListKind::SeriousViolation] {
            if self.tables.listings.contains(&(org, list)) {
                return Err(Refusal::OrganisationListed(org, list));
            }
        }
        Ok(())
    }

    /// A fund's state, which must exist (a fault otherwise).
    pub(super) fn fund(&self, fund: &FundRef) -> Result<FundState, Fault> {
        self.tables
            .funds
            .get(fund)
            .cloned()
            .ok_or_else(|| Fault::Invariant(format!("fund {fund:?} has no state")))
    }

    /// Where the next inflow into `fund` starts on its axis.
    pub(super) fn inflow_end(&self, fund: &FundRef) -> u64 {
        self.tables.funds.get(fund).map_or(0, |f| f.inflow)
    }

    /// Adds an inflow at the end of a fund's axis and writes its trace row
    /// (SPEC §10.1). Refuses an overflow of the fund's counters.
    pub(super) fn inflow(
        &mut self,
        fund: &FundRef,
        amount: Fen,
        row: SourceRow,
        index: u32,
    ) -> Verdict {
        let mut fs = self.fund(fund)?;
        let start = fs.inflow;
        fs.inflow = fs.inflow.checked_add(amount.0).ok_or(Refusal::Overflow)?;
        self.tables.funds.put(fund.clone(), fs);
        let by_record = (row.kind != SourceKind::Donation).then_some(index);
        self.trace_row((k::TRACE_SOURCES, fund, start), &row, by_record);
        self.note_fund(fund, index);
        Ok(())
    }

    /// Takes an outflow FIFO from a fund (balance already checked) and
    /// writes its trace row; `row.end` is filled in here.
    pub(super) fn outflow(
        &mut self,
        fund: &FundRef,
        mut fs: FundState,
        mut row: OutflowRow,
        index: u32,
    ) {
        let before = self.tables.holes.get(fund).cloned().unwrap_or_default();
        let mut holes = before.clone();
        let (start, end) = axis::consume(&mut fs, &mut holes, row.amount);
        self.tables.funds.put(fund.clone(), fs);
        self.set_holes(fund, &before, holes);
        row.end = end;
        self.trace_row((k::TRACE_OUTFLOWS, fund, start), &row, Some(index));
        self.note_fund(fund, index);
    }

    /// Stores a fund's holes if they changed (absent when empty).
    pub(super) fn set_holes(&mut self, fund: &FundRef, before: &Holes, holes: Holes) {
        if &holes == before {
            return;
        }
        if holes.is_empty() {
            self.tables.holes.remove(fund);
        } else {
            self.tables.holes.put(fund.clone(), holes);
        }
    }

    /// Updates a charity's totals for the block's UTC year.
    pub(super) fn charity_year(&mut self, charity: Address, f: impl FnOnce(&mut CharityYear)) {
        let key = (charity, self.block_time().utc_year());
        let t = &mut self.tables.charity_years;
        let mut y = t.get(&key).cloned().unwrap_or_default();
        f(&mut y);
        t.put(key, y);
    }
}
