//! A year of a city's charity and welfare-lottery books, as records: what
//! the demo network (`shanlian-node localnet`) and the explorer's
//! development server commit, so a newcomer sees every kind of record with
//! realistic content. Production code, not test scaffolding: donors and
//! individual recipients are salted commitments, as real books would hold.
//!
//! The script drives a [`DemoSink`], which signs each payload as one of the
//! five actors and commits it (through a network, or a dev chain). It waits
//! ([`DemoSink::settle`]) wherever a record depends on an earlier one.

use crate::crypto::{commitment, document_hash};
use crate::record::*;
use crate::types::*;

/// Who signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The civil-affairs bureau.
    Bureau,
    /// The city charity federation.
    Charity,
    /// A second charity (receives a grant).
    OtherCharity,
    /// The welfare-lottery centre.
    Lottery,
    /// An independent auditor.
    Auditor,
}

/// Where the script's records go.
pub trait DemoSink {
    type Error;
    /// The member address of an actor.
    fn address(&self, who: Actor) -> Address;
    /// Signs and submits a payload; the record's id.
    fn send(&mut self, who: Actor, payload: Payload) -> Result<RecordId, Self::Error>;
    /// Returns once everything sent so far is committed.
    fn settle(&mut self) -> Result<(), Self::Error>;
    /// The newest committed height, its log size and log root.
    fn checkpoint(&mut self) -> Result<(u64, u64, Hash32), Self::Error>;
    /// Returns once a block at `height` or above is committed.
    fn wait_height(&mut self, height: u64) -> Result<(), Self::Error>;
    /// The header hash of a committed block.
    fn block_hash(&mut self, height: u64) -> Result<Hash32, Self::Error>;
}

/// The demo's reward draw: its id and entrants (identity, salt); the
/// first entrant is the demo donor, who can check its own entry.
pub const DRAW_ID: &str = "FC-REWARD-DEMO-1";

/// The demo draw's entrants: (identity, salt), in entry order.
pub fn draw_entrants() -> Vec<(String, [u8; 32])> {
    (0..200u64)
        .map(|i| {
            let salt = *blake3::hash(format!("shanlian demo draw entry {i}").as_bytes()).as_bytes();
            (donor_identity(i), salt)
        })
        .collect()
}

/// Runs the demo's reward draw among 200 donors, from opening to outcome:
/// the centre and the auditor commit seeds, reveal after the beacon block,
/// and the auditor settles with the winners computed as SPEC §15 says.
pub fn run_draw<S: DemoSink>(sink: &mut S) -> Result<(), S::Error> {
    use crate::draw;
    use Actor::*;
    let entrants = draw_entrants();
    let commits: Vec<Commitment> = entrants
        .iter()
        .map(|(e, s)| draw::entry_commitment(e, s))
        .collect();
    let root = draw::entry_root(&commits);
    let (h, _, _) = sink.checkpoint()?;
    let (closes, reveal_by) = (h + 6, h + 600);
    let seeds = [
        *blake3::hash(b"demo: lottery centre draw seed").as_bytes(),
        *blake3::hash(b"demo: auditor draw seed").as_bytes(),
    ];
    sink.send(
        Lottery,
        Payload::OpenDraw(OpenDraw {
            draw: DrawId(DRAW_ID.into()),
            draw_kind: DrawKind::Reward,
            title: "彩民回馈抽奖 · 捐赠者感恩抽奖 demo reward draw".into(),
            entries_root: root,
            entries: commits.len() as u64,
            winners: 5,
            closes,
            reveal_by,
            seed_commitment: draw::seed_commitment(DRAW_ID, &seeds[0]),
            invited: vec![],
        }),
    )?;
    sink.settle()?;
    sink.send(
        Auditor,
        Payload::CommitDrawSeed(CommitDrawSeed {
            draw: DrawId(DRAW_ID.into()),
            seed_commitment: draw::seed_commitment(DRAW_ID, &seeds[1]),
        }),
    )?;
    sink.settle()?;
    // Reveal only once the beacon block (closes + 1) is decided.
    sink.wait_height(closes + 1)?;
    for (who, seed) in [(Lottery, seeds[0]), (Auditor, seeds[1])] {
        sink.send(
            who,
            Payload::RevealDrawSeed(RevealDrawSeed {
                draw: DrawId(DRAW_ID.into()),
                seed,
            }),
        )?;
    }
    sink.settle()?;
    let block_hash = sink.block_hash(closes + 1)?;
    let (_, winners) = draw::outcome(&draw::BeaconInput {
        draw: DRAW_ID,
        entries_root: root,
        entries: commits.len() as u64,
        winners: 5,
        block_hash,
        revealed: vec![
            (sink.address(Lottery), seeds[0]),
            (sink.address(Auditor), seeds[1]),
        ],
    });
    sink.send(
        Auditor,
        Payload::SettleDraw(SettleDraw {
            draw: DrawId(DRAW_ID.into()),
            winners,
        }),
    )?;
    sink.settle()
}

/// The projects the script registers: (id, title, category, target fen).
pub const PROJECTS: [(&str, &str, ProjectCategory, u64); 3] = [
    (
        "SZCF-2026-ELDER",
        "长者助餐计划 2026",
        ProjectCategory::Elderly,
        50_000_000,
    ),
    (
        "SZCF-2026-EDU",
        "山区儿童图书角",
        ProjectCategory::Education,
        20_000_000,
    ),
    (
        "SZRC-2026-AID",
        "应急救护培训进社区",
        ProjectCategory::Health,
        30_000_000,
    ),
];

/// A donor's commitment from a donor number (the donor keeps identity and
/// salt on the e-receipt; only the commitment is public).
pub fn donor(n: u64) -> Commitment {
    commitment(&donor_identity(n), &donor_salt(n))
}

/// The salt of demo donor `n` (so a demo donor can check their commitment).
pub fn donor_salt(n: u64) -> [u8; 32] {
    let mut salt = [0u8; 32];
    salt[..8].copy_from_slice(&n.to_le_bytes());
    salt[8..].copy_from_slice(&document_hash(format!("demo salt {n}").as_bytes())[..24]);
    salt
}

/// The identity of demo donor `n` (a made-up ID-card number).
pub fn donor_identity(n: u64) -> String {
    format!("4403011990{n:08}")
}

/// A donation payload.
pub fn donation(
    receipt: &str,
    fund: FundRef,
    amount: u64,
    donor_n: u64,
    channel: Channel,
    pledge: Option<&str>,
) -> Payload {
    Payload::RecordDonation(RecordDonation {
        receipt: ReceiptNo(receipt.into()),
        donor: donor(donor_n),
        amount: Fen(amount),
        channel,
        fund,
        restricted: pledge.is_some(),
        pledge: pledge.map(str::to_string),
    })
}

fn evidence(kind: EvidenceKind, what: &str) -> Evidence {
    Evidence {
        kind,
        hash: document_hash(what.as_bytes()),
    }
}

fn disbursement(
    fund: FundRef,
    amount: u64,
    category: SpendingCategory,
    recipient: Recipient,
    purpose: &str,
    evidence: Vec<Evidence>,
    milestone: Option<&str>,
) -> Payload {
    Payload::RecordDisbursement(RecordDisbursement {
        fund,
        amount: Fen(amount),
        category,
        recipient,
        purpose: purpose.into(),
        evidence,
        milestone: milestone.map(str::to_string),
    })
}

fn org(name: &str, uscc: Option<&str>) -> Recipient {
    Recipient::Organisation {
        name: name.into(),
        uscc: uscc.map(|u| Uscc(u.into())),
    }
}

/// The receipt number of the script's `i`-th donation.
pub fn receipt(i: u64) -> String {
    format!("SZ-DEMO-2026-{i:06}")
}

/// Runs the year. Project dates run from `start` for a year.
pub fn run_year<S: DemoSink>(sink: &mut S, start: Timestamp) -> Result<(), S::Error> {
    use Actor::*;
    let end = Timestamp(start.0 + 365 * 86_400_000);
    let charity = FundRef::General(sink.address(Charity));
    let other = FundRef::General(sink.address(OtherCharity));
    let project = |i: usize| FundRef::Project(ProjectId(PROJECTS[i].0.into()));

    // Projects: two with public fundraising (approved by the bureau), one
    // without (active at once).
    for (i, (id, title, category, target)) in PROJECTS.iter().enumerate() {
        let who = if i < 2 { Charity } else { OtherCharity };
        sink.send(
            who,
            Payload::RegisterProject(RegisterProject {
                project: ProjectId((*id).into()),
                title: (*title).into(),
                category: *category,
                target: Fen(*target),
                start,
                end,
                public_fundraising_ref: (i < 2).then(|| format!("深民慈募〔2026〕{}号", 11 + i)),
            }),
        )?;
    }
    sink.settle()?;
    for (i, (id, ..)) in PROJECTS.iter().enumerate().take(2) {
        sink.send(
            Bureau,
            Payload::ApproveProject(ApproveProject {
                project: ProjectId((*id).into()),
                approval_ref: format!("深民批〔2026〕{}号", 301 + i),
            }),
        )?;
    }
    sink.settle()?;

    // Donations through every channel, monthly pledges among them.
    let channels = [
        Channel::OnlinePlatform,
        Channel::DigitalRmb,
        Channel::Bank,
        Channel::Cash,
    ];
    let mut n = 0u64;
    let mut first_donation = None;
    for i in 0..24u64 {
        let fund = match i % 4 {
            0 | 1 => project(0),
            2 => project(1),
            _ => charity.clone(),
        };
        let pledge = (i % 6 == 0).then_some("月捐 monthly, 2026-01 to 2026-12");
        let amount = 5_000 + (i * 7_919) % 95_000;
        let id = sink.send(
            Charity,
            donation(
                &receipt(n),
                fund,
                amount,
                n,
                channels[(i % 4) as usize].clone(),
                pledge,
            ),
        )?;
        first_donation.get_or_insert(id);
        n += 1;
    }
    let in_kind = Channel::InKind {
        description: "大米 2 吨 (rice, 2 t)".into(),
        valuation_evidence: document_hash(b"demo: rice valuation by supplier invoice"),
    };
    sink.send(
        Charity,
        donation(&receipt(n), project(0), 1_200_000, n, in_kind, None),
    )?;
    n += 1;
    for i in 0..8u64 {
        sink.send(
            OtherCharity,
            donation(
                &format!("SZRC-DEMO-2026-{i:06}"),
                if i % 2 == 0 {
                    project(2)
                } else {
                    other.clone()
                },
                20_000 + i * 3_300,
                n,
                channels[(i % 4) as usize].clone(),
                None,
            ),
        )?;
        n += 1;
    }
    sink.settle()?;

    // Disbursements in all three categories, with evidence.
    sink.send(
        Charity,
        disbursement(
            project(0),
            300_000,
            SpendingCategory::CharitableActivity,
            org("福田区长者饭堂", Some("52440304MJL123456Y")),
            "一季度长者助餐补贴 meal subsidies, Q1",
            vec![
                evidence(EvidenceKind::Invoice, "demo: canteen invoice 2026-Q1"),
                evidence(EvidenceKind::Contract, "demo: service contract 2026"),
                evidence(EvidenceKind::Photo, "demo: photo of lunch service"),
            ],
            Some("Q1"),
        ),
    )?;
    sink.send(
        Charity,
        disbursement(
            project(1),
            80_000,
            SpendingCategory::CharitableActivity,
            org("河源市某小学", None),
            "图书采购与配送 books bought and delivered",
            vec![
                evidence(EvidenceKind::Invoice, "demo: bookseller invoice"),
                evidence(
                    EvidenceKind::Report,
                    "demo: delivery report with signatures",
                ),
            ],
            None,
        ),
    )?;
    sink.send(
        Charity,
        disbursement(
            charity.clone(),
            12_000,
            SpendingCategory::Management,
            org("深圳某会计师事务所", None),
            "年度审计费 annual audit fee",
            vec![evidence(EvidenceKind::Invoice, "demo: audit fee invoice")],
            None,
        ),
    )?;
    sink.send(
        Charity,
        disbursement(
            charity.clone(),
            8_000,
            SpendingCategory::Fundraising,
            org("某网络募捐平台", None),
            "线上募捐平台服务费 online platform fee",
            vec![evidence(
                EvidenceKind::BankSlip,
                "demo: platform fee bank slip",
            )],
            None,
        ),
    )?;
    sink.send(
        OtherCharity,
        disbursement(
            project(2),
            40_000,
            SpendingCategory::CharitableActivity,
            Recipient::Person(donor(9_001)),
            "急救培训讲师劳务 first-aid trainer's fee",
            vec![evidence(EvidenceKind::Contract, "demo: trainer contract")],
            Some("第一期 first course"),
        ),
    )?;
    sink.settle()?;

    // A refund, a grant between charities, a correction.
    sink.send(
        Charity,
        Payload::RecordRefund(RecordRefund {
            receipt: ReceiptNo(receipt(22)),
            amount: Fen(5_000),
            reason: "捐赠人误捐，申请退回 donor asked: given by mistake".into(),
        }),
    )?;
    sink.send(
        Charity,
        Payload::TransferGrant(TransferGrant {
            from: charity.clone(),
            to: ProjectId(PROJECTS[2].0.into()),
            amount: Fen(60_000),
            purpose: "联合资助急救培训 joint funding of first-aid training".into(),
        }),
    )?;
    if let Some(target) = first_donation {
        sink.send(
            Charity,
            Payload::Correction(Correction {
                target,
                field: "channel".into(),
                corrected: "Bank".into(),
                reason: "录入错误：实为银行转账 entered wrongly: it was a bank transfer".into(),
            }),
        )?;
    }
    sink.settle()?;

    // The welfare lottery: sales by game, period and region; allocations
    // by purpose; a prize payout.
    let mut sales = Vec::new();
    for (game, period, region, amount) in [
        ("SSQ", "2026001", "440303", 8_000_000u64),
        ("SSQ", "2026001", "440304", 6_500_000),
        ("KL8", "2026001", "440303", 3_200_000),
        ("SSQ", "2026002", "440303", 7_400_000),
    ] {
        sales.push(sink.send(
            Lottery,
            Payload::RecordLotterySales(RecordLotterySales {
                game: GameId(game.into()),
                period: period.into(),
                region: region.into(),
                sales: Fen(amount),
            }),
        )?);
    }
    sink.settle()?;
    for (amount, purpose, to) in [
        (900_000u64, WelfarePurpose::Elderly, Some(PROJECTS[0].0)),
        (300_000, WelfarePurpose::Disabled, None),
        (200_000, WelfarePurpose::Orphans, None),
        (150_000, WelfarePurpose::PovertyRelief, None),
    ] {
        sink.send(
            Lottery,
            Payload::AllocateWelfareFund(AllocateWelfareFund {
                amount: Fen(amount),
                purpose,
                recipient: match to {
                    Some(p) => WelfareRecipient::Project(ProjectId(p.into())),
                    None => WelfareRecipient::Programme(
                        match purpose {
                            WelfarePurpose::Disabled => "残疾人康复辅具适配",
                            WelfarePurpose::Orphans => "孤儿助学金",
                            _ => "困难家庭临时救助",
                        }
                        .into(),
                    ),
                },
            }),
        )?;
    }
    sink.send(
        Lottery,
        Payload::PublishReport(PublishReport {
            subject: ReportSubject::WelfareFund {
                year: start.utc_year(),
            },
            period: format!("{} 上半年 first half", start.utc_year()),
            report: document_hash(b"demo: welfare fund use, first half"),
        }),
    )?;
    sink.send(
        Charity,
        Payload::PublishReport(PublishReport {
            subject: ReportSubject::Project(ProjectId(PROJECTS[0].0.into())),
            period: format!("{}-Q1", start.utc_year()),
            report: document_hash(b"demo: meal programme, first quarter report"),
        }),
    )?;
    sink.send(
        Lottery,
        Payload::RecordPrizePayout(RecordPrizePayout {
            game: GameId("SSQ".into()),
            period: "2026001".into(),
            amount: Fen(2_000_000),
        }),
    )?;
    sink.settle()?;

    // A verifiable reward draw among donors (SPEC §15).
    run_draw(sink)?;

    // The auditor attests the log so far and notes a finding.
    let (height, log_size, log_root) = sink.checkpoint()?;
    sink.send(
        Auditor,
        Payload::AuditAttestation(AuditAttestation {
            height,
            log_size,
            log_root,
            scope: "全链重放、资金守恒、彩票分配核对 full replay, conservation, lottery splits"
                .into(),
            findings: 1,
            report: document_hash(b"demo: audit report 2026-Q1"),
        }),
    )?;
    if let Some(s) = sales.first() {
        sink.send(
            Auditor,
            Payload::Finding(Finding {
                target: *s,
                severity: Severity::Info,
                text: "销售额与银行流水一致 sales agree with the bank statement".into(),
            }),
        )?;
    }
    sink.settle()?;
    Ok(())
}

/// The donation the demo's first receipt was made with, for a donor to look
/// up: (receipt, identity, salt).
pub fn first_donor() -> (String, String, [u8; 32]) {
    (receipt(0), donor_identity(0), donor_salt(0))
}
