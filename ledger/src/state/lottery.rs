//! SPEC §8.3, the lottery centre's rows: sales split into the game's pools
//! (the split itself is SPEC §11, [`shanlian_core::lottery`]), welfare-fund
//! allocations out of the local pool, prize payouts.

use super::{add, Cx, State, Verdict};
use shanlian_core::error::Refusal;
use shanlian_core::lottery;
use shanlian_core::record::*;
use shanlian_core::types::*;
use shanlian_core::values::*;

impl State {
    /// §8.3 RecordLotterySales.
    pub(super) fn record_lottery_sales(&mut self, cx: &Cx, s: &RecordLotterySales) -> Verdict {
        let game = self
            .genesis
            .game(&s.game)
            .cloned()
            .ok_or_else(|| Refusal::UnknownGame(s.game.clone()))?;
        let key = (s.game.clone(), s.period.clone(), s.region.clone());
        if self.tables.sales_reports.contains(&key) {
            return Err(Refusal::DuplicateSalesReport {
                game: s.game.clone(),
                period: s.period.clone(),
                region: s.region.clone(),
            }
            .into());
        }
        let split = lottery::split_sales(&game, s.sales);
        let mut g = self.tables.games.get(&s.game).cloned().unwrap_or_default();
        g.sales = add(g.sales, s.sales)?;
        g.prize = add(g.prize, split.prize)?;
        g.issuance_fee = add(g.issuance_fee, split.issuance_fee)?;
        g.welfare_central = add(g.welfare_central, split.welfare_central)?;
        g.welfare_local = add(g.welfare_local, split.welfare_local)?;
        self.tables.games.put(s.game.clone(), g);
        self.tables.sales_reports.put(key, cx.rec.id);
        if split.welfare_local.0 > 0 {
            let row = SourceRow {
                record: cx.rec.id,
                kind: SourceKind::LotterySales,
                amount: split.welfare_local.0,
            };
            self.inflow(&FundRef::WelfarePool, split.welfare_local, row, cx.index)?;
        }
        Ok(())
    }

    /// §8.3 AllocateWelfareFund.
    pub(super) fn allocate_welfare_fund(&mut self, cx: &Cx, a: &AllocateWelfareFund) -> Verdict {
        let pool = self.fund(&FundRef::WelfarePool)?;
        let available = pool.balance();
        if a.amount > available {
            return Err(Refusal::InsufficientWelfarePool {
                available,
                requested: a.amount,
            }
            .into());
        }
        let mut to = None;
        if let WelfareRecipient::Project(id) = &a.recipient {
            let fund = FundRef::Project(id.clone());
            let owner = self.receiving_project(id)?.owner;
            to = Some((id.clone(), self.inflow_end(&fund)));
            let row = SourceRow {
                record: cx.rec.id,
                kind: SourceKind::WelfareAllocation,
                amount: a.amount.0,
            };
            self.inflow(&fund, a.amount, row, cx.index)?;
            let amount = a.amount;
            self.charity_year(owner, |y| {
                y.grants_in = Fen(y.grants_in.0.saturating_add(amount.0))
            });
        }
        let row = OutflowRow {
            record: cx.rec.id,
            kind: OutflowKind::WelfareAllocation,
            end: 0,
            amount: a.amount.0,
            to,
        };
        self.outflow(&FundRef::WelfarePool, pool, row, cx.index);
        let year = cx.time.utc_year();
        let t = &mut self.tables.welfare_years;
        let mut y = t.get(&year).cloned().unwrap_or_default();
        y.by_purpose[a.purpose.index()] += a.amount.0;
        t.put(year, y);
        Ok(())
    }

    /// §8.3 RecordPrizePayout.
    pub(super) fn record_prize_payout(&mut self, pp: &RecordPrizePayout) -> Verdict {
        let mut g = self
            .tables
            .games
            .get(&pp.game)
            .cloned()
            .ok_or_else(|| Refusal::UnknownGame(pp.game.clone()))?;
        let available = Fen(g.prize.0.saturating_sub(g.prizes_paid.0));
        if pp.amount > available {
            return Err(Refusal::InsufficientPrizeFund {
                game: pp.game.clone(),
                available,
                requested: pp.amount,
            }
            .into());
        }
        g.prizes_paid = Fen(g.prizes_paid.0 + pp.amount.0);
        self.tables.games.put(pp.game.clone(), g);
        Ok(())
    }
}
