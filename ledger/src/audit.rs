//! The auditor's compliance checks (DESIGN §9), over a replayed store:
//! conservation per fund, game and pool; lottery splits recomputed
//! fen-exact from every sales report; Charity Law art. 60 for charities with
//! public-fundraising status; the elderly share of welfare allocations;
//! disclosure deadlines; listed organisations' activity.
//!
//! Chain integrity itself (links, certificates, signatures, roots, state
//! hashes) is [`crate::verify`]'s: run it first; these checks read what it
//! has proven.

use crate::compliance::{self, Verdict};
use crate::record::{Payload, ReportSubject};
use crate::state::FundState;
use crate::store::query::LedgerReader;
use crate::store::{Store, StoreError};
use crate::types::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// One thing the audit found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// A stable code (`art60.management`, `disclosure.project`, …).
    pub code: &'static str,
    /// What it is about (a fund, a charity and year, a project, …).
    pub subject: String,
    pub message: String,
}

/// A fund's money and whether it adds up.
#[derive(Debug, Clone, Serialize)]
pub struct FundLine {
    pub fund: FundRef,
    pub inflow: u64,
    pub refunded: u64,
    pub outflow: u64,
    pub balance: u64,
}

/// A game's split, as recorded and as recomputed from its sales reports.
#[derive(Debug, Clone, Serialize)]
pub struct GameLine {
    pub game: String,
    pub reports: u64,
    pub sales: u64,
    pub prize: u64,
    pub issuance_fee: u64,
    pub welfare_central: u64,
    pub welfare_local: u64,
    pub prizes_paid: u64,
    /// Whether every component equals the sum of the split of each report
    /// (SPEC §11), fen for fen.
    pub recomputed_equal: bool,
}

/// A disclosure that was due.
#[derive(Debug, Clone, Serialize)]
pub struct Disclosure {
    pub subject: String,
    /// The deadline (UTC).
    pub due: Timestamp,
    /// When a report for it came (the block's time), if one did by then.
    pub published: Option<Timestamp>,
}

/// Everything the audit looked at.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    pub height: u64,
    pub time: Timestamp,
    pub records: u64,
    pub funds: Vec<FundLine>,
    pub games: Vec<GameLine>,
    pub art60: Vec<(String, compliance::Art60)>,
    pub elderly: Vec<compliance::ElderlyShare>,
    pub disclosures: Vec<Disclosure>,
    /// Records signed by listed organisations since their listing:
    /// (organisation, list, how many, of which donations).
    pub listed_activity: Vec<(String, String, u64, u64)>,
    pub findings: Vec<Finding>,
}

/// Three months, for quarterly reports.
const QUARTER_MS: u64 = 91 * 86_400_000;
/// Six months: longer campaigns report quarterly.
const HALF_YEAR_MS: u64 = 182 * 86_400_000;

/// 30 June, 23:59:59.999 UTC of `year`, in ms.
fn end_of_june(year: u32) -> Timestamp {
    Timestamp(Timestamp::from_utc(year, 7, 1, 0).0 - 1)
}

/// Runs every check on a store (which [`crate::verify`] has checked).
pub fn run(store: &Store) -> Result<Audit, StoreError> {
    let genesis = store.genesis()?.ok_or(StoreError::NotInitialised)?;
    let tip = store.tip()?.ok_or(StoreError::NotInitialised)?;
    let p = &genesis.params;
    let now = tip.time;
    let this_year = now.utc_year();
    let max = p.max_record_bytes as usize;
    let mut findings = Vec::new();
    let members = store.members()?;
    let name = |a: &Address| {
        members
            .iter()
            .find(|(x, _)| x == a)
            .map(|(_, m)| format!("{} ({a})", m.name))
            .unwrap_or_else(|| a.to_hex())
    };

    // One pass over every record.
    let mut records = 0u64;
    let mut split_sums: BTreeMap<String, (u64, [u64; 5])> = BTreeMap::new();
    let mut project_reports: BTreeMap<ProjectId, Vec<Timestamp>> = BTreeMap::new();
    let mut welfare_reports: BTreeMap<u32, Timestamp> = BTreeMap::new();
    let mut welfare_active: BTreeMap<u32, bool> = BTreeMap::new();
    let listings = store.listings()?;
    let mut listed: BTreeMap<(Address, String), (u64, u64)> = BTreeMap::new();
    for h in 1..=tip.height {
        let block = store
            .block(h)?
            .ok_or_else(|| StoreError::Corrupt(format!("block {h} is missing")))?;
        let time = block.header.time;
        for bytes in &block.records {
            records += 1;
            let rec = crate::record::Record::from_bytes(bytes, max)
                .map_err(|e| StoreError::Corrupt(format!("record in block {h}: {e}")))?;
            let signer = store.key_owner(&rec.signed.signer)?;
            if let Some(a) = signer {
                for ((org, kind), l) in &listings {
                    if *org == a && l.since <= time {
                        let e = listed.entry((a, format!("{kind:?}"))).or_default();
                        e.0 += 1;
                        if matches!(rec.signed.body.payload, Payload::RecordDonation(_)) {
                            e.1 += 1;
                        }
                    }
                }
            }
            match &rec.signed.body.payload {
                Payload::RecordLotterySales(s) => {
                    if let Some(game) = genesis.game(&s.game) {
                        let split = crate::lottery::split_sales(game, s.sales);
                        let e = split_sums.entry(s.game.0.clone()).or_default();
                        e.0 += 1;
                        for (slot, v) in e.1.iter_mut().zip([
                            s.sales.0,
                            split.prize.0,
                            split.issuance_fee.0,
                            split.welfare_central.0,
                            split.welfare_local.0,
                        ]) {
                            *slot = slot.saturating_add(v);
                        }
                    }
                    welfare_active.insert(time.utc_year(), true);
                }
                Payload::AllocateWelfareFund(_) => {
                    welfare_active.insert(time.utc_year(), true);
                }
                Payload::PublishReport(r) => match &r.subject {
                    ReportSubject::Project(id) => {
                        project_reports.entry(id.clone()).or_default().push(time)
                    }
                    ReportSubject::WelfareFund { year } => {
                        welfare_reports.entry(*year).or_insert(time);
                    }
                    ReportSubject::Charity { .. } => {}
                },
                _ => {}
            }
        }
    }

    // Conservation per fund.
    let mut funds = Vec::new();
    let fund_list = {
        let mut f: Vec<FundRef> = vec![FundRef::WelfarePool];
        for (a, m) in &members {
            if m.role == Role::Charity {
                f.push(FundRef::General(*a));
            }
        }
        for (id, _) in store.projects()? {
            f.push(FundRef::Project(id));
        }
        f
    };
    for f in fund_list {
        let s: FundState = store.fund(&f)?.unwrap_or_default();
        let out = s.refunded.checked_add(s.outflow);
        if out.is_none_or(|o| o > s.inflow) || s.consumed > s.inflow {
            findings.push(Finding {
                code: "conservation.fund",
                subject: f.to_string(),
                message: format!(
                    "received {} but refunded {} and spent {}",
                    Fen(s.inflow),
                    Fen(s.refunded),
                    Fen(s.outflow)
                ),
            });
        }
        funds.push(FundLine {
            fund: f,
            inflow: s.inflow,
            refunded: s.refunded,
            outflow: s.outflow,
            balance: s.balance().0,
        });
    }

    // Lottery: splits recomputed, the pool, the prize funds.
    let mut games = Vec::new();
    let mut local_total = 0u64;
    for g in &genesis.games {
        let t = store.game(&g.id)?.unwrap_or_default();
        let (reports, sums) = split_sums.get(&g.id.0).copied().unwrap_or_default();
        let recorded = [
            t.sales.0,
            t.prize.0,
            t.issuance_fee.0,
            t.welfare_central.0,
            t.welfare_local.0,
        ];
        let equal = sums == recorded
            && t.sales.0 == t.prize.0 + t.issuance_fee.0 + t.welfare_central.0 + t.welfare_local.0;
        if !equal {
            findings.push(Finding {
                code: "lottery.split",
                subject: g.id.0.clone(),
                message: format!(
                    "recorded totals {recorded:?} differ from the split of its {reports} sales reports {sums:?}"
                ),
            });
        }
        if t.prizes_paid > t.prize {
            findings.push(Finding {
                code: "lottery.prize_fund",
                subject: g.id.0.clone(),
                message: format!(
                    "paid {} in prizes from a prize fund of {}",
                    t.prizes_paid, t.prize
                ),
            });
        }
        local_total += t.welfare_local.0;
        games.push(GameLine {
            game: g.id.0.clone(),
            reports,
            sales: t.sales.0,
            prize: t.prize.0,
            issuance_fee: t.issuance_fee.0,
            welfare_central: t.welfare_central.0,
            welfare_local: t.welfare_local.0,
            prizes_paid: t.prizes_paid.0,
            recomputed_equal: equal,
        });
    }
    let pool = store.fund(&FundRef::WelfarePool)?.unwrap_or_default();
    if pool.inflow != local_total {
        findings.push(Finding {
            code: "lottery.welfare_pool",
            subject: "welfare-pool".into(),
            message: format!(
                "the pool received {} but the games' local shares add up to {}",
                Fen(pool.inflow),
                Fen(local_total)
            ),
        });
    }

    // Art. 60, for charities with public-fundraising status, each completed
    // year.
    let projects = store.projects()?;
    let mut art60 = Vec::new();
    for (a, m) in &members {
        if m.role != Role::Charity {
            continue;
        }
        let public = projects.iter().any(|(_, pr)| {
            pr.owner == *a && pr.public_fundraising_ref.is_some() && pr.approval_ref.is_some()
        });
        let years: BTreeMap<u32, _> = store.charity_years(a)?.into_iter().collect();
        for (y, t) in &years {
            if !public || *y >= this_year {
                continue;
            }
            let prev = y.checked_sub(1).and_then(|p| years.get(&p));
            let r = compliance::art60(*y, t, prev, p);
            if r.activity.verdict == Verdict::Fail {
                findings.push(Finding {
                    code: "art60.activity",
                    subject: format!("{} {y}", name(a)),
                    message: format!(
                        "charitable activity was {} of the previous year's income; at least {} is required",
                        bp(r.activity.bp),
                        bp(Some(r.activity.threshold_bp))
                    ),
                });
            }
            if r.management.verdict == Verdict::Fail {
                findings.push(Finding {
                    code: "art60.management",
                    subject: format!("{} {y}", name(a)),
                    message: format!(
                        "management costs were {} of the year's spending; at most {} is allowed",
                        bp(r.management.bp),
                        bp(Some(r.management.threshold_bp))
                    ),
                });
            }
            art60.push((name(a), r));
        }
    }

    // The elderly share of each completed year's allocations.
    let mut elderly = Vec::new();
    for (y, w) in store.welfare_years()? {
        let e = compliance::elderly_share(y, &w, p);
        if y < this_year && e.share.verdict == Verdict::Fail {
            findings.push(Finding {
                code: "welfare.elderly_share",
                subject: format!("{y}"),
                message: format!(
                    "elderly services had {} of the year's allocations; the genesis minimum is {}",
                    bp(e.share.bp),
                    bp(Some(e.share.threshold_bp))
                ),
            });
        }
        elderly.push(e);
    }

    // Disclosure deadlines.
    let mut disclosures = Vec::new();
    for (id, pr) in &projects {
        if pr.end.0.saturating_sub(pr.start.0) <= HALF_YEAR_MS {
            continue;
        }
        let reports = project_reports.get(id).cloned().unwrap_or_default();
        // Reports are due through the campaign (a closed one too, up to its
        // end date), and no later than now.
        let last = pr.end.min(now);
        let mut due = Timestamp(pr.start.0 + QUARTER_MS);
        while due <= last {
            let from = Timestamp(due.0 - QUARTER_MS);
            let published = reports.iter().copied().find(|t| *t > from && *t <= due);
            if published.is_none() {
                findings.push(Finding {
                    code: "disclosure.project",
                    subject: format!("project {id}"),
                    message: format!(
                        "no progress report in the quarter ending {due} (a campaign longer than six months reports at least every three months)"
                    ),
                });
            }
            disclosures.push(Disclosure {
                subject: format!("project {id}, quarter ending {due}"),
                due,
                published,
            });
            due = Timestamp(due.0 + QUARTER_MS);
        }
    }
    for (y, _) in welfare_active {
        let due = end_of_june(y + 1);
        if now <= due {
            continue;
        }
        let published = welfare_reports.get(&y).copied().filter(|t| *t <= due);
        if published.is_none() {
            findings.push(Finding {
                code: "disclosure.welfare_fund",
                subject: format!("welfare fund {y}"),
                message: format!(
                    "the use of the {y} welfare fund was not published by {due} (due by the end of June of the next year){}",
                    welfare_reports
                        .get(&y)
                        .map(|t| format!("; it came late, at {t}"))
                        .unwrap_or_default()
                ),
            });
        }
        disclosures.push(Disclosure {
            subject: format!("welfare fund {y}"),
            due,
            published,
        });
    }

    // Listed organisations' activity since their listing.
    // Verifiable draws (SPEC §15): each settled outcome recomputed from the
    // stored seeds and the beacon block's header; a committer that withheld
    // its reveal, and a draw left unsettled past its deadline, are findings.
    for (id, d) in store.draws()? {
        match &d.outcome {
            Some(o) => {
                let block_hash = store
                    .header(d.closes + 1)?
                    .map(|h| h.hash())
                    .ok_or_else(|| StoreError::Corrupt(format!("draw {id}: no beacon header")))?;
                let (beacon, winners) = crate::draw::outcome(&d.beacon_input(&id.0, block_hash));
                if o.block_hash != block_hash || o.beacon != beacon || o.winners != winners {
                    findings.push(Finding {
                        code: "draw.outcome",
                        subject: id.0.clone(),
                        message: "the stored outcome does not recompute from the seeds and the beacon block".into(),
                    });
                }
                for m in &o.withheld {
                    findings.push(Finding {
                        code: "draw.withheld",
                        subject: id.0.clone(),
                        message: format!(
                            "{} committed a seed and did not reveal it by height {}",
                            name(m),
                            d.reveal_by
                        ),
                    });
                }
            }
            None if tip.height > d.reveal_by => findings.push(Finding {
                code: "draw.unsettled",
                subject: id.0.clone(),
                message: format!(
                    "reveals closed at height {} and the draw is not settled",
                    d.reveal_by
                ),
            }),
            None => {}
        }
    }
    let mut listed_activity = Vec::new();
    for ((a, kind), (n, donations)) in listed {
        if donations > 0 {
            findings.push(Finding {
                code: "listed.donations",
                subject: name(&a),
                message: format!("{donations} donations recorded while on the {kind} list"),
            });
        }
        listed_activity.push((name(&a), kind, n, donations));
    }

    Ok(Audit {
        height: tip.height,
        time: now,
        records,
        funds,
        games,
        art60,
        elderly,
        disclosures,
        listed_activity,
        findings,
    })
}

fn bp(v: Option<u32>) -> String {
    match v {
        Some(b) => format!("{}.{:02}%", b / 100, b % 100),
        None => "n/a".into(),
    }
}
