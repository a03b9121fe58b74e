//! SPEC §8.3, the charities' rows: projects, donations, disbursements,
//! refunds, grants, closing; and corrections (any member).

use super::{add, axis, Cx, History, State, Verdict};
use shanlian_core::error::Refusal;
use shanlian_core::keys as k;
use shanlian_core::record::*;
use shanlian_core::types::*;
use shanlian_core::values::*;

impl State {
    /// §8.3 RegisterProject.
    pub(super) fn register_project(&mut self, cx: &Cx, r: &RegisterProject) -> Verdict {
        if self.tables.projects.contains(&r.project) {
            return Err(Refusal::ProjectExists(r.project.clone()).into());
        }
        if r.end <= cx.time {
            return Err(Refusal::ProjectAlreadyEnded {
                project: r.project.clone(),
                end: r.end,
            }
            .into());
        }
        let status = if r.public_fundraising_ref.is_some() {
            ProjectStatus::Pending
        } else {
            ProjectStatus::Active
        };
        self.tables.projects.put(
            r.project.clone(),
            Project {
                owner: cx.signer,
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
        self.tables.funds.put(
            fund.clone(),
            FundState {
                owner: cx.signer,
                ..Default::default()
            },
        );
        self.note_fund(&fund, cx.index);
        Ok(())
    }

    /// §8.3 RecordDonation.
    pub(super) fn record_donation(&mut self, cx: &Cx, d: &RecordDonation) -> Verdict {
        let signer = cx.signer;
        self.check_not_listed(signer)?;
        match &d.fund {
            FundRef::General(a) if *a != signer => return Err(Refusal::NotFundOwner(*a).into()),
            FundRef::General(_) => {}
            FundRef::WelfarePool => return Err(Refusal::NotFundOwner(signer).into()),
            FundRef::Project(id) => {
                let p = self.receiving_project(id)?;
                if p.owner != signer {
                    return Err(Refusal::NotProjectOwner(id.clone()).into());
                }
            }
        }
        let start = self.inflow_end(&d.fund);
        let donation = Donation {
            record: cx.rec.id,
            fund: d.fund.clone(),
            amount: d.amount,
            refunded: Fen(0),
            start,
        };
        // A refusal after this point rolls the whole record back.
        if self
            .tables
            .donations
            .insert_new((signer, d.receipt.clone()), donation)
            .is_err()
        {
            return Err(Refusal::DuplicateReceipt {
                receipt: d.receipt.clone(),
            }
            .into());
        }
        let row = SourceRow {
            record: cx.rec.id,
            kind: SourceKind::Donation,
            amount: d.amount.0,
        };
        self.inflow(&d.fund, d.amount, row, cx.index)?;
        let mut overflow = None;
        self.charity_year(signer, |y| match add(y.donations, d.amount) {
            Ok(v) => y.donations = v,
            Err(e) => overflow = Some(e),
        });
        if let Some(e) = overflow {
            return Err(e.into());
        }
        self.note_donor(d.donor, cx.index);
        Ok(())
    }

    /// §8.3 RecordDisbursement.
    pub(super) fn record_disbursement(&mut self, cx: &Cx, d: &RecordDisbursement) -> Verdict {
        let fs = self.own_fund(cx.signer, &d.fund)?;
        if d.amount > fs.balance() {
            return Err(Refusal::InsufficientFunds {
                available: fs.balance(),
                requested: d.amount,
            }
            .into());
        }
        let row = OutflowRow {
            record: cx.rec.id,
            kind: OutflowKind::Disbursement,
            end: 0,
            amount: d.amount.0,
            to: None,
        };
        self.outflow(&d.fund, fs, row, cx.index);
        let (amount, cat) = (d.amount, d.category);
        self.charity_year(cx.signer, |y| {
            let slot = match cat {
                SpendingCategory::CharitableActivity => &mut y.charitable_activity,
                SpendingCategory::Management => &mut y.management,
                SpendingCategory::Fundraising => &mut y.fundraising,
            };
            // Cannot overflow: bounded by the fund's inflow.
            *slot = Fen(slot.0.saturating_add(amount.0));
        });
        Ok(())
    }

    /// §8.3 RecordRefund; the hole arithmetic is SPEC §10.3 ([`axis`]).
    pub(super) fn record_refund(&mut self, cx: &Cx, r: &RecordRefund) -> Verdict {
        let key = (cx.signer, r.receipt.clone());
        let mut d =
            self.tables
                .donations
                .get(&key)
                .cloned()
                .ok_or_else(|| Refusal::UnknownReceipt {
                    receipt: r.receipt.clone(),
                })?;
        if let FundRef::Project(id) = &d.fund {
            if self.project(id)?.status == ProjectStatus::Closed {
                return Err(Refusal::ProjectClosed(id.clone()).into());
            }
        }
        let mut fs = self.fund(&d.fund)?;
        let eff_end = d.start + d.amount.0 - d.refunded.0;
        let before = self.tables.holes.get(&d.fund).cloned().unwrap_or_default();
        let mut holes = before.clone();
        let refundable = axis::refundable(&mut fs, &mut holes, d.start, eff_end);
        if r.amount.0 > refundable {
            return Err(Refusal::RefundExceedsDonation {
                receipt: r.receipt.clone(),
                refundable: Fen(refundable),
                requested: r.amount,
            }
            .into());
        }
        let hole_start = axis::refund(&mut fs, &mut holes, eff_end, r.amount.0);
        self.set_holes(&d.fund, &before, holes);
        let hole = HoleRow {
            record: cx.rec.id,
            end: eff_end,
        };
        self.trace_row((k::TRACE_HOLES, &d.fund, hole_start), &hole, Some(cx.index));
        let fund = d.fund.clone();
        self.tables.funds.put(fund.clone(), fs);
        d.refunded = Fen(d.refunded.0 + r.amount.0);
        self.tables.donations.put(key, d);
        self.note_fund(&fund, cx.index);
        let amount = r.amount;
        self.charity_year(cx.signer, |y| {
            y.refunds = Fen(y.refunds.0.saturating_add(amount.0))
        });
        Ok(())
    }

    /// §8.3 TransferGrant.
    pub(super) fn transfer_grant(&mut self, cx: &Cx, g: &TransferGrant) -> Verdict {
        let fs = self.own_fund(cx.signer, &g.from)?;
        let to_owner = self.receiving_project(&g.to)?.owner;
        if to_owner == cx.signer {
            return Err(Refusal::SelfGrant.into());
        }
        if g.amount > fs.balance() {
            return Err(Refusal::InsufficientFunds {
                available: fs.balance(),
                requested: g.amount,
            }
            .into());
        }
        let to_fund = FundRef::Project(g.to.clone());
        let to_start = self.inflow_end(&to_fund);
        let source = SourceRow {
            record: cx.rec.id,
            kind: SourceKind::Grant,
            amount: g.amount.0,
        };
        self.inflow(&to_fund, g.amount, source, cx.index)?;
        let row = OutflowRow {
            record: cx.rec.id,
            kind: OutflowKind::Grant,
            end: 0,
            amount: g.amount.0,
            to: Some((g.to.clone(), to_start)),
        };
        self.outflow(&g.from, fs, row, cx.index);
        let amount = g.amount;
        self.charity_year(cx.signer, |y| {
            y.grants_out = Fen(y.grants_out.0.saturating_add(amount.0))
        });
        self.charity_year(to_owner, |y| {
            y.grants_in = Fen(y.grants_in.0.saturating_add(amount.0))
        });
        Ok(())
    }

    /// §8.3 Correction: the original is never altered; the amendment only
    /// has to name one of the signer's own committed records.
    pub(super) fn correction(&mut self, cx: &Cx, c: &Correction, history: &dyn History) -> Verdict {
        let key = self.target_signer(&c.target, history)?;
        let owner = self.tables.keys.get(&key).map(|k| k.member);
        if owner != Some(cx.signer) {
            return Err(Refusal::NotOwnRecord(c.target).into());
        }
        Ok(())
    }

    /// §8.3 CloseProject.
    pub(super) fn close_project(&mut self, cx: &Cx, c: &CloseProject) -> Verdict {
        let mut p = self.project(&c.project)?.clone();
        if p.owner != cx.signer {
            return Err(Refusal::NotProjectOwner(c.project.clone()).into());
        }
        if p.status == ProjectStatus::Closed {
            return Err(Refusal::ProjectClosed(c.project.clone()).into());
        }
        let fund = FundRef::Project(c.project.clone());
        let balance = self
            .tables
            .funds
            .get(&fund)
            .map(|f| f.balance())
            .unwrap_or_default();
        if balance.0 > 0 {
            return Err(Refusal::ProjectNotEmpty {
                project: c.project.clone(),
                balance,
            }
            .into());
        }
        p.status = ProjectStatus::Closed;
        p.final_report = Some(c.final_report);
        self.tables.projects.put(c.project.clone(), p);
        self.note_fund(&fund, cx.index);
        Ok(())
    }
}
