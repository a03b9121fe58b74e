//! SPEC §8.1–§8.3 row by row: for every rule, an accepted case and each
//! refusal, asserting the code, the field where there is one, and that a
//! refusal changes nothing (tables, and a write set equal to an empty
//! block's). Each `row(..)` line names the spec row it walks.

use shanlian_ledger::crypto::{Domain, Keypair};
use shanlian_ledger::record::*;
use shanlian_ledger::store::Store;
use shanlian_ledger::testkit::{payloads as p, DevNet};
use shanlian_ledger::types::*;
use shanlian_ledger::ApplyError;

const DAY: u64 = 86_400_000;

/// The expected outcome of a row.
#[derive(Debug, Clone, Copy)]
enum Want {
    Accepted,
    /// Refused with this code.
    Code(&'static str),
    /// Refused with this code, naming this field.
    Field(&'static str, &'static str),
}
use Want::*;

/// Applies `rec` alone in a fresh block and checks the outcome; on refusal
/// the tables are unchanged and the block's write set equals an empty
/// block's. The block is rolled back either way.
fn check(net: &mut DevNet, spec: &str, rec: &Record, want: Want) {
    let h = net.state.height + 1;
    let t = net.clock;
    net.state.begin_block(h, t).unwrap();
    let (empty, _) = net.state.finish_block().unwrap();
    net.state.rollback_block();
    net.state.begin_block(h, t).unwrap();
    let before = net.state.entries();
    let got = net.state.apply_record(rec, false, &net.store);
    match (want, got) {
        (Accepted, Ok(())) => {}
        (Accepted, Err(e)) => panic!("{spec}: refused: {e}"),
        (Code(code) | Field(code, _), Ok(())) => panic!("{spec}: accepted, expected {code}"),
        (Code(code) | Field(code, _), Err(ApplyError::Fault(f))) => {
            panic!("{spec}: fault {f}, expected {code}")
        }
        (Code(code), Err(ApplyError::Refused(r))) => assert_eq!(r.code(), code, "{spec}: {r}"),
        (Field(code, field), Err(ApplyError::Refused(r))) => {
            assert_eq!(r.code(), code, "{spec}: {r}");
            let named = match &r {
                shanlian_ledger::Refusal::InvalidField { field, .. }
                | shanlian_ledger::Refusal::NotPositive { field } => *field,
                _ => "",
            };
            assert_eq!(named, field, "{spec}: {r}");
        }
    }
    if !matches!(want, Accepted) {
        assert_eq!(
            net.state.entries(),
            before,
            "{spec}: a refusal changed the state"
        );
        let (tr, _) = net.state.finish_block().unwrap();
        assert_eq!(
            tr.state_writes, empty.state_writes,
            "{spec}: a refusal wrote"
        );
    }
    net.state.rollback_block();
}

/// Signs `payload` as `signer` and checks the row.
fn row(net: &mut DevNet, spec: &str, signer: &str, payload: Payload, want: Want) {
    let rec = net.sign(signer, payload);
    check(net, spec, &rec, want);
}

fn commit(net: &mut DevNet, signer: &str, payload: Payload) -> Record {
    let rec = net.sign(signer, payload);
    net.commit_all(std::slice::from_ref(&rec))
        .unwrap_or_else(|e| panic!("setup {}: {e}", rec.signed.body.payload.kind()));
    rec
}

fn uscc(first17: &str) -> Uscc {
    Uscc(format!("{first17}{}", Uscc::check_char(first17).unwrap()))
}

fn project(id: &str, start: Timestamp, days: u64) -> RegisterProject {
    RegisterProject {
        project: ProjectId(id.into()),
        title: "Meals for elders".into(),
        category: ProjectCategory::Elderly,
        target: Fen(1_000_000),
        start,
        end: Timestamp(start.0 + days * DAY),
        public_fundraising_ref: None,
    }
}

fn donation(net: &mut DevNet, fund: FundRef, amount: u64) -> RecordDonation {
    RecordDonation {
        receipt: net.receipt(),
        donor: shanlian_ledger::crypto::commitment("donor", &[1; 32]),
        amount: Fen(amount),
        channel: Channel::Bank,
        fund,
        restricted: false,
        pledge: None,
    }
}

fn disbursement(fund: FundRef, amount: u64) -> RecordDisbursement {
    RecordDisbursement {
        fund,
        amount: Fen(amount),
        category: SpendingCategory::CharitableActivity,
        recipient: Recipient::Organisation {
            name: "某养老院".into(),
            uscc: None,
        },
        purpose: "meals".into(),
        evidence: vec![],
        milestone: None,
    }
}

/// §8.1: the stateless field checks of every payload, and the helpers.
#[test]
fn field_checks() {
    let mut net = DevNet::on(Store::memory()).unwrap();
    let fed = net.address("charity-federation");
    let general = FundRef::General(fed);
    let good_uscc = uscc("53440300MJL00009X");
    let n = &mut net;
    let k = Keypair::insecure_dev("spec/new-member");
    let admit = |name: &str, u: &Uscc| {
        Payload::AdmitMember(AdmitMember {
            public_key: k.public(),
            role: Role::Charity,
            name: name.into(),
            uscc: u.clone(),
            node: NodeKey([5; 32]),
        })
    };
    row(
        n,
        "§8.1 AdmitMember accepted",
        "bureau",
        admit("新会员", &good_uscc),
        Accepted,
    );
    row(
        n,
        "§8.1 AdmitMember nonempty(name)",
        "bureau",
        admit(" \u{3000}", &good_uscc),
        Field("field.invalid", "name"),
    );
    row(
        n,
        "§8.1 text: control characters",
        "bureau",
        admit("a\u{7}b", &good_uscc),
        Field("field.invalid", "name"),
    );
    row(
        n,
        "§8.1 text: at most 1024 bytes",
        "bureau",
        admit(&"长".repeat(342), &good_uscc),
        Field("field.invalid", "name"),
    );
    row(
        n,
        "§8.1 text: \\n allowed",
        "bureau",
        admit("line\nline", &good_uscc),
        Accepted,
    );
    row(
        n,
        "§8.1 AdmitMember uscc",
        "bureau",
        admit("x", &Uscc("53440300MJL00009X0".into())),
        Field("field.invalid", "uscc"),
    );
    let upd = |name: Option<&str>, u: Option<Uscc>| {
        Payload::UpdateMember(UpdateMember {
            member: fed,
            name: name.map(Into::into),
            uscc: u,
            node: None,
        })
    };
    row(
        n,
        "§8.1 UpdateMember accepted",
        "bureau",
        upd(Some("新名字"), None),
        Accepted,
    );
    row(
        n,
        "§8.1 UpdateMember nonempty(name)",
        "bureau",
        upd(Some(""), None),
        Field("field.invalid", "name"),
    );
    row(
        n,
        "§8.1 UpdateMember uscc",
        "bureau",
        upd(None, Some(Uscc("X".into()))),
        Field("field.invalid", "uscc"),
    );
    row(
        n,
        "§8.1 SuspendMember nonempty(reason)",
        "bureau",
        Payload::SuspendMember(SuspendMember {
            member: fed,
            reason: "".into(),
        }),
        Field("field.invalid", "reason"),
    );
    let approve = |p: &str, r: &str| {
        Payload::ApproveProject(ApproveProject {
            project: ProjectId(p.into()),
            approval_ref: r.into(),
        })
    };
    row(
        n,
        "§8.1 ApproveProject code(project)",
        "bureau",
        approve("has space", "ok"),
        Field("field.invalid", "project"),
    );
    row(
        n,
        "§8.1 ApproveProject nonempty(approval_ref)",
        "bureau",
        approve("P", " "),
        Field("field.invalid", "approval_ref"),
    );
    row(
        n,
        "§8.1 ListOrganisation nonempty(reason)",
        "bureau",
        Payload::ListOrganisation(ListOrganisation {
            organisation: fed,
            list: ListKind::AbnormalActivity,
            reason: "".into(),
        }),
        Field("field.invalid", "reason"),
    );
    row(
        n,
        "§8.1 DelistOrganisation nonempty(reason)",
        "bureau",
        Payload::DelistOrganisation(DelistOrganisation {
            organisation: fed,
            list: ListKind::AbnormalActivity,
            reason: "".into(),
        }),
        Field("field.invalid", "reason"),
    );

    let t = n.clock;
    let reg = |f: &dyn Fn(&mut RegisterProject)| {
        let mut r = project("SPEC-P", t, 30);
        f(&mut r);
        Payload::RegisterProject(r)
    };
    row(
        n,
        "§8.1 RegisterProject accepted",
        "charity-federation",
        reg(&|_| {}),
        Accepted,
    );
    row(
        n,
        "§8.1 RegisterProject code(project)",
        "charity-federation",
        reg(&|r| r.project = ProjectId("".into())),
        Field("field.invalid", "project"),
    );
    row(
        n,
        "§8.1 code: 64 bytes at most",
        "charity-federation",
        reg(&|r| r.project = ProjectId("P".repeat(65))),
        Field("field.invalid", "project"),
    );
    row(
        n,
        "§8.1 RegisterProject nonempty(title)",
        "charity-federation",
        reg(&|r| r.title = "".into()),
        Field("field.invalid", "title"),
    );
    row(
        n,
        "§8.1 RegisterProject positive(target)",
        "charity-federation",
        reg(&|r| r.target = Fen(0)),
        Field("field.not_positive", "target"),
    );
    row(
        n,
        "§8.1 RegisterProject end > start",
        "charity-federation",
        reg(&|r| r.end = r.start),
        Field("field.invalid", "end"),
    );
    row(
        n,
        "§8.1 RegisterProject nonempty(public_fundraising_ref)",
        "charity-federation",
        reg(&|r| r.public_fundraising_ref = Some("".into())),
        Field("field.invalid", "public_fundraising_ref"),
    );

    let d = donation(n, general.clone(), 100);
    let don = |f: &dyn Fn(&mut RecordDonation)| {
        let mut x = d.clone();
        f(&mut x);
        Payload::RecordDonation(x)
    };
    row(
        n,
        "§8.1 RecordDonation accepted",
        "charity-federation",
        don(&|_| {}),
        Accepted,
    );
    row(
        n,
        "§8.1 RecordDonation code(receipt)",
        "charity-federation",
        don(&|x| x.receipt = ReceiptNo("收据".into())),
        Field("field.invalid", "receipt"),
    );
    row(
        n,
        "§8.1 RecordDonation positive(amount)",
        "charity-federation",
        don(&|x| x.amount = Fen(0)),
        Field("field.not_positive", "amount"),
    );
    row(
        n,
        "§8.1 RecordDonation fund(fund)",
        "charity-federation",
        don(&|x| x.fund = FundRef::WelfarePool),
        Field("field.invalid", "fund"),
    );
    row(
        n,
        "§8.1 RecordDonation restricted needs a project",
        "charity-federation",
        don(&|x| x.restricted = true),
        Field("field.invalid", "restricted"),
    );
    row(
        n,
        "§8.1 RecordDonation InKind nonempty(description)",
        "charity-federation",
        don(&|x| {
            x.channel = Channel::InKind {
                description: "".into(),
                valuation_evidence: [1; 32],
            }
        }),
        Field("field.invalid", "channel.description"),
    );
    row(
        n,
        "§8.1 RecordDonation nonempty(pledge)",
        "charity-federation",
        don(&|x| x.pledge = Some("".into())),
        Field("field.invalid", "pledge"),
    );

    let dis = |f: &dyn Fn(&mut RecordDisbursement)| {
        let mut x = disbursement(general.clone(), 1);
        f(&mut x);
        Payload::RecordDisbursement(x)
    };
    row(
        n,
        "§8.1 RecordDisbursement fund(fund)",
        "charity-federation",
        dis(&|x| x.fund = FundRef::WelfarePool),
        Field("field.invalid", "fund"),
    );
    row(
        n,
        "§8.1 RecordDisbursement positive(amount)",
        "charity-federation",
        dis(&|x| x.amount = Fen(0)),
        Field("field.not_positive", "amount"),
    );
    row(
        n,
        "§8.1 RecordDisbursement nonempty(purpose)",
        "charity-federation",
        dis(&|x| x.purpose = "\n".into()),
        Field("field.invalid", "purpose"),
    );
    row(
        n,
        "§8.1 RecordDisbursement nonempty(recipient.name)",
        "charity-federation",
        dis(&|x| {
            x.recipient = Recipient::Organisation {
                name: "".into(),
                uscc: None,
            }
        }),
        Field("field.invalid", "recipient.name"),
    );
    row(
        n,
        "§8.1 RecordDisbursement recipient uscc",
        "charity-federation",
        dis(&|x| {
            x.recipient = Recipient::Organisation {
                name: "n".into(),
                uscc: Some(Uscc("bad".into())),
            }
        }),
        Field("field.invalid", "recipient.uscc"),
    );
    row(
        n,
        "§8.1 RecordDisbursement at most 64 evidence",
        "charity-federation",
        dis(&|x| {
            x.evidence = vec![
                Evidence {
                    kind: EvidenceKind::Photo,
                    hash: [0; 32]
                };
                65
            ]
        }),
        Field("field.invalid", "evidence"),
    );
    row(
        n,
        "§8.1 RecordDisbursement nonempty(milestone)",
        "charity-federation",
        dis(&|x| x.milestone = Some(" ".into())),
        Field("field.invalid", "milestone"),
    );

    let refund = |r: &str, a: u64, why: &str| {
        Payload::RecordRefund(RecordRefund {
            receipt: ReceiptNo(r.into()),
            amount: Fen(a),
            reason: why.into(),
        })
    };
    row(
        n,
        "§8.1 RecordRefund code(receipt)",
        "charity-federation",
        refund("", 1, "x"),
        Field("field.invalid", "receipt"),
    );
    row(
        n,
        "§8.1 RecordRefund positive(amount)",
        "charity-federation",
        refund("R", 0, "x"),
        Field("field.not_positive", "amount"),
    );
    row(
        n,
        "§8.1 RecordRefund nonempty(reason)",
        "charity-federation",
        refund("R", 1, ""),
        Field("field.invalid", "reason"),
    );
    let grant = |from: FundRef, to: &str, a: u64, why: &str| {
        Payload::TransferGrant(TransferGrant {
            from,
            to: ProjectId(to.into()),
            amount: Fen(a),
            purpose: why.into(),
        })
    };
    row(
        n,
        "§8.1 TransferGrant fund(from)",
        "charity-federation",
        grant(FundRef::WelfarePool, "P", 1, "x"),
        Field("field.invalid", "from"),
    );
    row(
        n,
        "§8.1 TransferGrant code(to)",
        "charity-federation",
        grant(general.clone(), "P P", 1, "x"),
        Field("field.invalid", "to"),
    );
    row(
        n,
        "§8.1 TransferGrant positive(amount)",
        "charity-federation",
        grant(general.clone(), "P", 0, "x"),
        Field("field.not_positive", "amount"),
    );
    row(
        n,
        "§8.1 TransferGrant nonempty(purpose)",
        "charity-federation",
        grant(general.clone(), "P", 1, ""),
        Field("field.invalid", "purpose"),
    );
    let fix = |f: &str, c: &str, r: &str| {
        Payload::Correction(Correction {
            target: RecordId([0; 32]),
            field: f.into(),
            corrected: c.into(),
            reason: r.into(),
        })
    };
    row(
        n,
        "§8.1 Correction nonempty(field)",
        "charity-federation",
        fix("", "x", "y"),
        Field("field.invalid", "field"),
    );
    row(
        n,
        "§8.1 Correction text(corrected)",
        "charity-federation",
        fix("f", "a\u{0}", "y"),
        Field("field.invalid", "corrected"),
    );
    row(
        n,
        "§8.1 Correction nonempty(reason)",
        "charity-federation",
        fix("f", "", ""),
        Field("field.invalid", "reason"),
    );
    row(
        n,
        "§8.1 CloseProject code(project)",
        "charity-federation",
        Payload::CloseProject(CloseProject {
            project: ProjectId("".into()),
            final_report: [0; 32],
        }),
        Field("field.invalid", "project"),
    );
    let sales = |g: &str, per: &str, reg: &str, a: u64| {
        Payload::RecordLotterySales(RecordLotterySales {
            game: GameId(g.into()),
            period: per.into(),
            region: reg.into(),
            sales: Fen(a),
        })
    };
    row(
        n,
        "§8.1 RecordLotterySales code(game)",
        "lottery-centre",
        sales("", "1", "1", 1),
        Field("field.invalid", "game"),
    );
    row(
        n,
        "§8.1 code: GameId 32 bytes at most",
        "lottery-centre",
        sales(&"G".repeat(33), "1", "1", 1),
        Field("field.invalid", "game"),
    );
    row(
        n,
        "§8.1 RecordLotterySales nonempty(period)",
        "lottery-centre",
        sales("SSQ", "", "1", 1),
        Field("field.invalid", "period"),
    );
    row(
        n,
        "§8.1 RecordLotterySales nonempty(region)",
        "lottery-centre",
        sales("SSQ", "1", "", 1),
        Field("field.invalid", "region"),
    );
    row(
        n,
        "§8.1 RecordLotterySales positive(sales)",
        "lottery-centre",
        sales("SSQ", "1", "1", 0),
        Field("field.not_positive", "sales"),
    );
    let alloc = |a: u64, r: WelfareRecipient| {
        Payload::AllocateWelfareFund(AllocateWelfareFund {
            amount: Fen(a),
            purpose: WelfarePurpose::Elderly,
            recipient: r,
        })
    };
    row(
        n,
        "§8.1 AllocateWelfareFund positive(amount)",
        "lottery-centre",
        alloc(0, WelfareRecipient::Programme("x".into())),
        Field("field.not_positive", "amount"),
    );
    row(
        n,
        "§8.1 AllocateWelfareFund code(project)",
        "lottery-centre",
        alloc(1, WelfareRecipient::Project(ProjectId("".into()))),
        Field("field.invalid", "recipient"),
    );
    row(
        n,
        "§8.1 AllocateWelfareFund nonempty(programme)",
        "lottery-centre",
        alloc(1, WelfareRecipient::Programme("".into())),
        Field("field.invalid", "recipient"),
    );
    let prize = |g: &str, per: &str, a: u64| {
        Payload::RecordPrizePayout(RecordPrizePayout {
            game: GameId(g.into()),
            period: per.into(),
            amount: Fen(a),
        })
    };
    row(
        n,
        "§8.1 RecordPrizePayout code(game)",
        "lottery-centre",
        prize("", "1", 1),
        Field("field.invalid", "game"),
    );
    row(
        n,
        "§8.1 RecordPrizePayout nonempty(period)",
        "lottery-centre",
        prize("SSQ", "", 1),
        Field("field.invalid", "period"),
    );
    row(
        n,
        "§8.1 RecordPrizePayout positive(amount)",
        "lottery-centre",
        prize("SSQ", "1", 0),
        Field("field.not_positive", "amount"),
    );
    row(
        n,
        "§8.1 AuditAttestation nonempty(scope)",
        "auditor",
        Payload::AuditAttestation(AuditAttestation {
            height: 1,
            log_size: 0,
            log_root: [0; 32],
            scope: "".into(),
            findings: 0,
            report: [0; 32],
        }),
        Field("field.invalid", "scope"),
    );
    row(
        n,
        "§8.1 Finding nonempty(text)",
        "auditor",
        Payload::Finding(Finding {
            target: RecordId([0; 32]),
            severity: Severity::Info,
            text: "".into(),
        }),
        Field("field.invalid", "text"),
    );

    // Rule 1 (size) and rule 2 (decoding) on bytes.
    let big = dis(&|x| {
        x.purpose = "长".repeat(341);
        x.recipient = Recipient::Organisation {
            name: "长".repeat(341),
            uscc: None,
        };
        x.milestone = Some("长".repeat(341));
        x.evidence = vec![
            Evidence {
                kind: EvidenceKind::Photo,
                hash: [0; 32]
            };
            64
        ];
    });
    let rec = n.sign("charity-federation", big);
    assert!(rec.bytes.len() > 4096);
    check(
        n,
        "§8.2 rule 1 record.too_large",
        &rec,
        Code("record.too_large"),
    );
    let err = Record::from_bytes(&rec.bytes, 4096).unwrap_err();
    assert_eq!(err.code(), "record.too_large");
    let ok = n.sign("charity-federation", don(&|_| {}));
    let mut bytes = ok.bytes.clone();
    bytes.push(0);
    assert_eq!(
        Record::from_bytes(&bytes, 4096).unwrap_err().code(),
        "record.malformed"
    );
}

/// §8.2 rules 0 and 2–10.
#[test]
fn record_rules() {
    let mut net =
        DevNet::with_genesis(Store::memory(), |g| g.params.max_records_per_block = 2).unwrap();
    let n = &mut net;
    let fed = FundRef::General(n.address("charity-federation"));
    // Rule 0: a full block.
    let h = n.state.height + 1;
    n.state.begin_block(h, n.clock).unwrap();
    for _ in 0..2 {
        let d = donation(n, fed.clone(), 1);
        let rec = n.sign("charity-federation", Payload::RecordDonation(d));
        n.state.apply_record(&rec, false, &n.store).unwrap();
    }
    let d = donation(n, fed.clone(), 1);
    let third = n.sign("charity-federation", Payload::RecordDonation(d));
    let err = n.state.apply_record(&third, false, &n.store).unwrap_err();
    assert_eq!(err.code(), "block.full");
    n.state.rollback_block();

    let body = |n: &mut DevNet, created: u64, expires: u64| {
        let d = donation(n, fed.clone(), 1);
        RecordBody {
            created: Timestamp(created),
            expires: Timestamp(expires),
            nonce: 7,
            payload: Payload::RecordDonation(d),
        }
    };
    let t = n.clock.0;
    let gh = n.genesis_hash;
    let sign = |n: &DevNet, label: &str, b: RecordBody| {
        Record::new(SignedRecord::sign(b, n.key(label), &gh))
    };
    let b = body(n, t + 30_000, t + 60_000);
    let r = sign(n, "charity-federation", b);
    check(n, "§8.2 rule 2 created ≤ t + skew", &r, Accepted);
    let b = body(n, t + 30_001, t + 60_000);
    let r = sign(n, "charity-federation", b);
    check(
        n,
        "§8.2 rule 2 time.not_yet_valid",
        &r,
        Code("time.not_yet_valid"),
    );
    let b = body(n, t - 1_000, t - 1);
    let r = sign(n, "charity-federation", b);
    check(n, "§8.2 rule 3 time.expired", &r, Code("time.expired"));
    let b = body(n, t, t);
    let r = sign(n, "charity-federation", b);
    check(n, "§8.2 rule 3 expires = t is accepted", &r, Accepted);
    let b = body(n, t, t + 3_600_001);
    let r = sign(n, "charity-federation", b);
    check(
        n,
        "§8.2 rule 4 time.expiry_window",
        &r,
        Code("time.expiry_window"),
    );
    let b = body(n, t + 10, t + 5);
    let r = sign(n, "charity-federation", b);
    check(
        n,
        "§8.2 rule 4 expires before created",
        &r,
        Code("time.expiry_window"),
    );
    // Rule 5: committed within the window.
    let d = donation(n, fed.clone(), 1);
    let once = commit(n, "charity-federation", Payload::RecordDonation(d));
    check(
        n,
        "§8.2 rule 5 record.duplicate",
        &once,
        Code("record.duplicate"),
    );
    // Rule 6–10.
    let stranger = Keypair::insecure_dev("spec/stranger");
    let d = donation(n, fed.clone(), 1);
    let r = n.sign_with(&stranger, Payload::RecordDonation(d));
    check(n, "§8.2 rule 6 signer.unknown", &r, Code("signer.unknown"));
    let d = donation(n, fed.clone(), 1);
    let r = n.sign("lottery-centre", Payload::RecordDonation(d));
    check(n, "§8.2 rule 9 signer.role", &r, Code("signer.role"));
    let d = donation(n, fed.clone(), 1);
    let mut r = n.sign("charity-federation", Payload::RecordDonation(d));
    r.signed.signature.0[5] ^= 1;
    let r = Record::new(r.signed);
    check(
        n,
        "§8.2 rule 10 signer.bad_signature",
        &r,
        Code("signer.bad_signature"),
    );
    // Rule 7: a rotated-out key; rule 8: a suspended member.
    let one = n.address("one-foundation");
    let new = Keypair::insecure_dev("spec/rotated");
    let consent = n.key("one-foundation").sign(
        Domain::RotateKey,
        &gh,
        &RotateKey::consent_bytes(&one, &new.public()),
    );
    commit(
        n,
        "bureau",
        Payload::RotateKey(RotateKey {
            member: one,
            new_key: new.public(),
            old_key_signature: consent,
        }),
    );
    let d = donation(n, FundRef::General(one), 1);
    row(
        n,
        "§8.2 rule 7 signer.retired_key",
        "one-foundation",
        Payload::RecordDonation(d),
        Code("signer.retired_key"),
    );
    let d = donation(n, FundRef::General(one), 1);
    let r = n.sign_with(&new, Payload::RecordDonation(d));
    check(n, "§8.2 rule 7 the new key signs", &r, Accepted);
    commit(
        n,
        "bureau",
        Payload::SuspendMember(SuspendMember {
            member: one,
            reason: "audit".into(),
        }),
    );
    let d = donation(n, FundRef::General(one), 1);
    let r = n.sign_with(&new, Payload::RecordDonation(d));
    check(
        n,
        "§8.2 rule 8 signer.suspended",
        &r,
        Code("signer.suspended"),
    );
}

/// §8.3, the bureau's rows.
#[test]
fn governance_rows() {
    let mut net = DevNet::on(Store::memory()).unwrap();
    let n = &mut net;
    let gh = n.genesis_hash;
    let fed = n.address("charity-federation");
    let red = n.address("red-cross");
    let bureau = n.address("bureau");
    let nobody = Address([0xee; 20]);
    let k = Keypair::insecure_dev("spec/admitted");
    let admit = |key: PublicKey| {
        Payload::AdmitMember(AdmitMember {
            public_key: key,
            role: Role::Auditor,
            name: "审计所".into(),
            uscc: uscc("91440300MA5G0009X"),
            node: NodeKey([7; 32]),
        })
    };
    row(
        n,
        "§8.3 AdmitMember accepted",
        "bureau",
        admit(k.public()),
        Accepted,
    );
    let mut weak = [0u8; 32];
    weak[0] = 1;
    row(
        n,
        "§8.3 AdmitMember member.weak_key",
        "bureau",
        admit(PublicKey(weak)),
        Code("member.weak_key"),
    );
    let fed_key = n.key("charity-federation").public();
    row(
        n,
        "§8.3 AdmitMember member.exists",
        "bureau",
        admit(fed_key),
        Code("member.exists"),
    );
    // A key in the key table under another address: a rotated-out key.
    let red_old = n.key("red-cross").public();
    let red_new = Keypair::insecure_dev("spec/red-new");
    let consent = n.key("red-cross").sign(
        Domain::RotateKey,
        &gh,
        &RotateKey::consent_bytes(&red, &red_new.public()),
    );
    let rotate = |member, new: PublicKey, sig| {
        Payload::RotateKey(RotateKey {
            member,
            new_key: new,
            old_key_signature: sig,
        })
    };
    row(
        n,
        "§8.3 RotateKey accepted",
        "bureau",
        rotate(red, red_new.public(), consent),
        Accepted,
    );
    commit(n, "bureau", rotate(red, red_new.public(), consent));
    // Its new key is in use; its address is no member's (a member's address
    // is that of the key it was admitted with).
    row(
        n,
        "§8.3 AdmitMember member.key_in_use",
        "bureau",
        admit(red_new.public()),
        Code("member.key_in_use"),
    );
    let _ = red_old;
    let one = n.address("one-foundation");

    let update = |member| {
        Payload::UpdateMember(UpdateMember {
            member,
            name: Some("x".into()),
            uscc: None,
            node: None,
        })
    };
    row(
        n,
        "§8.3 UpdateMember accepted",
        "bureau",
        update(fed),
        Accepted,
    );
    row(
        n,
        "§8.3 UpdateMember member.unknown",
        "bureau",
        update(nobody),
        Code("member.unknown"),
    );
    let suspend = |member| {
        Payload::SuspendMember(SuspendMember {
            member,
            reason: "违规".into(),
        })
    };
    row(
        n,
        "§8.3 SuspendMember member.unknown",
        "bureau",
        suspend(nobody),
        Code("member.unknown"),
    );
    row(
        n,
        "§8.3 SuspendMember member.self_suspension",
        "bureau",
        suspend(bureau),
        Code("member.self_suspension"),
    );
    row(
        n,
        "§8.3 SuspendMember accepted",
        "bureau",
        suspend(fed),
        Accepted,
    );
    let reinstate = |member| Payload::ReinstateMember(ReinstateMember { member });
    row(
        n,
        "§8.3 ReinstateMember member.unknown",
        "bureau",
        reinstate(nobody),
        Code("member.unknown"),
    );
    row(
        n,
        "§8.3 ReinstateMember member.not_suspended",
        "bureau",
        reinstate(fed),
        Code("member.not_suspended"),
    );
    commit(n, "bureau", suspend(fed));
    row(
        n,
        "§8.3 SuspendMember member.already_suspended",
        "bureau",
        suspend(fed),
        Code("member.already_suspended"),
    );
    row(
        n,
        "§8.3 ReinstateMember accepted",
        "bureau",
        reinstate(fed),
        Accepted,
    );
    commit(n, "bureau", reinstate(fed));

    let fresh = Keypair::insecure_dev("spec/fresh");
    let lottery = n.address("lottery-centre");
    let c = n.key("lottery-centre").sign(
        Domain::RotateKey,
        &gh,
        &RotateKey::consent_bytes(&lottery, &fresh.public()),
    );
    row(
        n,
        "§8.3 RotateKey member.unknown",
        "bureau",
        rotate(nobody, fresh.public(), c),
        Code("member.unknown"),
    );
    row(
        n,
        "§8.3 RotateKey validator.rotate_key",
        "bureau",
        rotate(lottery, fresh.public(), c),
        Code("validator.rotate_key"),
    );
    let c = n.key("red-cross").sign(
        Domain::RotateKey,
        &gh,
        &RotateKey::consent_bytes(&red, &fresh.public()),
    );
    row(
        n,
        "§8.3 RotateKey member.bad_rotation_consent (old key rotated out)",
        "bureau",
        rotate(red, fresh.public(), c),
        Code("member.bad_rotation_consent"),
    );
    let c = red_new.sign(
        Domain::RotateKey,
        &gh,
        &RotateKey::consent_bytes(&red, &PublicKey(weak)),
    );
    row(
        n,
        "§8.3 RotateKey member.weak_key",
        "bureau",
        rotate(red, PublicKey(weak), c),
        Code("member.weak_key"),
    );
    let c = red_new.sign(
        Domain::RotateKey,
        &gh,
        &RotateKey::consent_bytes(&red, &fed_key),
    );
    row(
        n,
        "§8.3 RotateKey member.key_in_use",
        "bureau",
        rotate(red, fed_key, c),
        Code("member.key_in_use"),
    );

    let h = n.state.height + 1;
    let set = |member, power, at| {
        Payload::SetValidator(SetValidator {
            member,
            power,
            effective_height: at,
        })
    };
    row(
        n,
        "§8.3 SetValidator accepted",
        "bureau",
        set(red, 5, h + 2),
        Accepted,
    );
    row(
        n,
        "§8.3 SetValidator member.unknown",
        "bureau",
        set(nobody, 5, h + 2),
        Code("member.unknown"),
    );
    row(
        n,
        "§8.3 SetValidator validator.too_soon",
        "bureau",
        set(red, 5, h + 1),
        Code("validator.too_soon"),
    );
    commit(n, "bureau", suspend(one));
    row(
        n,
        "§8.3 SetValidator member.suspended",
        "bureau",
        set(one, 5, h + 3),
        Code("member.suspended"),
    );
    let h = n.state.height + 1;
    for (i, v) in ["bureau", "charity-federation", "lottery-centre"]
        .iter()
        .enumerate()
    {
        let a = n.address(v);
        commit(n, "bureau", set(a, 0, h + 2 + i as u64));
    }
    let auditor = n.address("auditor");
    row(
        n,
        "§8.3 SetValidator validator.empty_set",
        "bureau",
        set(auditor, 0, h + 10),
        Code("validator.empty_set"),
    );
    row(
        n,
        "§8.3 SetValidator amount.overflow",
        "bureau",
        set(red, u64::MAX / 4, h + 10),
        Code("amount.overflow"),
    );

    // Projects and lists.
    let t = n.clock;
    let mut pending = project("SPEC-PENDING", t, 30);
    pending.public_fundraising_ref = Some("深民函〔2026〕1号".into());
    commit(n, "charity-federation", Payload::RegisterProject(pending));
    let approve = |p: &str| {
        Payload::ApproveProject(ApproveProject {
            project: ProjectId(p.into()),
            approval_ref: "批准".into(),
        })
    };
    row(
        n,
        "§8.3 ApproveProject project.unknown",
        "bureau",
        approve("NOPE"),
        Code("project.unknown"),
    );
    row(
        n,
        "§8.3 ApproveProject accepted",
        "bureau",
        approve("SPEC-PENDING"),
        Accepted,
    );
    commit(n, "bureau", approve("SPEC-PENDING"));
    row(
        n,
        "§8.3 ApproveProject project.not_pending",
        "bureau",
        approve("SPEC-PENDING"),
        Code("project.not_pending"),
    );
    let list = |org| {
        Payload::ListOrganisation(ListOrganisation {
            organisation: org,
            list: ListKind::AbnormalActivity,
            reason: "未年检".into(),
        })
    };
    let delist = |org| {
        Payload::DelistOrganisation(DelistOrganisation {
            organisation: org,
            list: ListKind::AbnormalActivity,
            reason: "已整改".into(),
        })
    };
    row(
        n,
        "§8.3 ListOrganisation member.unknown",
        "bureau",
        list(nobody),
        Code("member.unknown"),
    );
    row(
        n,
        "§8.3 DelistOrganisation organisation.not_listed",
        "bureau",
        delist(red),
        Code("organisation.not_listed"),
    );
    row(
        n,
        "§8.3 ListOrganisation accepted",
        "bureau",
        list(red),
        Accepted,
    );
    commit(n, "bureau", list(red));
    row(
        n,
        "§8.3 ListOrganisation organisation.listed",
        "bureau",
        list(red),
        Code("organisation.listed"),
    );
    row(
        n,
        "§8.3 DelistOrganisation accepted",
        "bureau",
        delist(red),
        Accepted,
    );
}

/// §8.3, the charities' rows (and corrections).
#[test]
fn charity_rows() {
    let mut net = DevNet::on(Store::memory()).unwrap();
    let n = &mut net;
    let fed = n.address("charity-federation");
    let general = FundRef::General(fed);
    let red_general = FundRef::General(n.address("red-cross"));
    let t = n.clock;
    let reg =
        |id: &str, start: Timestamp, days: u64| Payload::RegisterProject(project(id, start, days));
    row(
        n,
        "§8.3 RegisterProject accepted",
        "charity-federation",
        reg("FED-1", t, 30),
        Accepted,
    );
    commit(n, "charity-federation", reg("FED-1", t, 30));
    row(
        n,
        "§8.3 RegisterProject project.exists",
        "charity-federation",
        reg("FED-1", t, 30),
        Code("project.exists"),
    );
    let mut ended = project("FED-OLD", Timestamp(t.0 - 10 * DAY), 5);
    ended.end = Timestamp(t.0 - DAY);
    row(
        n,
        "§8.3 RegisterProject project.already_ended",
        "charity-federation",
        Payload::RegisterProject(ended),
        Code("project.already_ended"),
    );
    commit(
        n,
        "charity-federation",
        reg("FED-LATER", Timestamp(t.0 + 100 * DAY), 30),
    );
    let mut pending = project("FED-PENDING", t, 30);
    pending.public_fundraising_ref = Some("ref".into());
    commit(n, "charity-federation", Payload::RegisterProject(pending));
    commit(n, "red-cross", reg("RED-1", t, 30));
    let fed1 = FundRef::Project(ProjectId("FED-1".into()));

    // RecordDonation.
    let d = donation(n, fed1.clone(), 10_000);
    row(
        n,
        "§8.3 RecordDonation accepted",
        "charity-federation",
        Payload::RecordDonation(d.clone()),
        Accepted,
    );
    let mut x = d.clone();
    x.fund = red_general.clone();
    row(
        n,
        "§8.3 RecordDonation fund.not_owner (General)",
        "charity-federation",
        Payload::RecordDonation(x),
        Code("fund.not_owner"),
    );
    let mut x = d.clone();
    x.fund = FundRef::Project(ProjectId("NOPE".into()));
    row(
        n,
        "§8.3 RecordDonation project.unknown",
        "charity-federation",
        Payload::RecordDonation(x),
        Code("project.unknown"),
    );
    let mut x = d.clone();
    x.fund = FundRef::Project(ProjectId("FED-PENDING".into()));
    row(
        n,
        "§8.3 RecordDonation project.not_approved",
        "charity-federation",
        Payload::RecordDonation(x),
        Code("project.not_approved"),
    );
    let mut x = d.clone();
    x.fund = FundRef::Project(ProjectId("FED-LATER".into()));
    row(
        n,
        "§8.3 RecordDonation project.outside_dates",
        "charity-federation",
        Payload::RecordDonation(x),
        Code("project.outside_dates"),
    );
    let mut x = d.clone();
    x.fund = FundRef::Project(ProjectId("RED-1".into()));
    row(
        n,
        "§8.3 RecordDonation project.not_owner",
        "charity-federation",
        Payload::RecordDonation(x),
        Code("project.not_owner"),
    );
    commit(n, "charity-federation", Payload::RecordDonation(d.clone()));
    row(
        n,
        "§8.3 RecordDonation donation.duplicate_receipt",
        "charity-federation",
        Payload::RecordDonation(d.clone()),
        Code("donation.duplicate_receipt"),
    );
    let mut x = donation(n, fed1.clone(), u64::MAX - 5_000);
    x.channel = Channel::OnlinePlatform;
    row(
        n,
        "§8.3 RecordDonation amount.overflow (fund inflow)",
        "charity-federation",
        Payload::RecordDonation(x),
        Code("amount.overflow"),
    );
    commit(
        n,
        "bureau",
        Payload::ListOrganisation(ListOrganisation {
            organisation: n.address("red-cross"),
            list: ListKind::SeriousViolation,
            reason: "x".into(),
        }),
    );
    let x = donation(n, red_general.clone(), 1);
    row(
        n,
        "§8.3 RecordDonation organisation.listed",
        "red-cross",
        Payload::RecordDonation(x),
        Code("organisation.listed"),
    );

    // RecordDisbursement and the own-fund codes.
    let dis = |f: FundRef, a: u64| Payload::RecordDisbursement(disbursement(f, a));
    row(
        n,
        "§8.3 RecordDisbursement accepted",
        "charity-federation",
        dis(fed1.clone(), 4_000),
        Accepted,
    );
    row(
        n,
        "§8.3 RecordDisbursement fund.insufficient",
        "charity-federation",
        dis(fed1.clone(), 10_001),
        Code("fund.insufficient"),
    );
    row(
        n,
        "§8.3 own fund: fund.not_owner",
        "charity-federation",
        dis(red_general.clone(), 1),
        Code("fund.not_owner"),
    );
    row(
        n,
        "§8.3 own fund: project.unknown",
        "charity-federation",
        dis(FundRef::Project(ProjectId("NOPE".into())), 1),
        Code("project.unknown"),
    );
    row(
        n,
        "§8.3 own fund: project.not_owner",
        "charity-federation",
        dis(FundRef::Project(ProjectId("RED-1".into())), 1),
        Code("project.not_owner"),
    );

    // RecordRefund.
    let refund = |r: &ReceiptNo, a: u64| {
        Payload::RecordRefund(RecordRefund {
            receipt: r.clone(),
            amount: Fen(a),
            reason: "donor asked".into(),
        })
    };
    row(
        n,
        "§8.3 RecordRefund accepted",
        "charity-federation",
        refund(&d.receipt, 10_000),
        Accepted,
    );
    row(
        n,
        "§8.3 RecordRefund donation.unknown_receipt",
        "charity-federation",
        refund(&ReceiptNo("NONE".into()), 1),
        Code("donation.unknown_receipt"),
    );
    commit(n, "charity-federation", dis(fed1.clone(), 4_000));
    row(
        n,
        "§8.3 RecordRefund refund.exceeds_donation (consumed part)",
        "charity-federation",
        refund(&d.receipt, 6_001),
        Code("refund.exceeds_donation"),
    );

    // TransferGrant.
    let grant = |from: FundRef, to: &str, a: u64| {
        Payload::TransferGrant(TransferGrant {
            from,
            to: ProjectId(to.into()),
            amount: Fen(a),
            purpose: "联合项目".into(),
        })
    };
    row(
        n,
        "§8.3 TransferGrant accepted",
        "charity-federation",
        grant(fed1.clone(), "RED-1", 1_000),
        Accepted,
    );
    row(
        n,
        "§8.3 TransferGrant grant.self",
        "charity-federation",
        grant(fed1.clone(), "FED-1", 1_000),
        Code("grant.self"),
    );
    row(
        n,
        "§8.3 TransferGrant fund.insufficient",
        "charity-federation",
        grant(fed1.clone(), "RED-1", 6_001),
        Code("fund.insufficient"),
    );
    row(
        n,
        "§8.3 TransferGrant receiving project: project.unknown",
        "charity-federation",
        grant(fed1.clone(), "NOPE", 1),
        Code("project.unknown"),
    );
    // red-cross is listed: delist it, fill RED-1 almost to the top of the
    // counters, and a grant into it overflows.
    commit(
        n,
        "bureau",
        Payload::DelistOrganisation(DelistOrganisation {
            organisation: n.address("red-cross"),
            list: ListKind::SeriousViolation,
            reason: "x".into(),
        }),
    );
    let r = donation(
        n,
        FundRef::Project(ProjectId("RED-1".into())),
        u64::MAX - 100,
    );
    commit(n, "red-cross", Payload::RecordDonation(r));
    row(
        n,
        "§8.3 TransferGrant amount.overflow",
        "charity-federation",
        grant(fed1.clone(), "RED-1", 1_000),
        Code("amount.overflow"),
    );
    let x = donation(n, general.clone(), u64::MAX - 20_000);
    commit(n, "charity-federation", Payload::RecordDonation(x));
    let x = donation(n, general.clone(), 20_000);
    row(
        n,
        "§8.3 RecordDonation amount.overflow (yearly total)",
        "charity-federation",
        Payload::RecordDonation(x),
        Code("amount.overflow"),
    );

    // Correction.
    let target = commit(n, "charity-federation", dis(fed1.clone(), 1));
    let fix = |t: RecordId| {
        Payload::Correction(Correction {
            target: t,
            field: "purpose".into(),
            corrected: "午餐".into(),
            reason: "笔误".into(),
        })
    };
    row(
        n,
        "§8.3 Correction accepted",
        "charity-federation",
        fix(target.id),
        Accepted,
    );
    row(
        n,
        "§8.3 Correction target.unknown",
        "charity-federation",
        fix(RecordId([9; 32])),
        Code("target.unknown"),
    );
    row(
        n,
        "§8.3 Correction target.not_own",
        "red-cross",
        fix(target.id),
        Code("target.not_own"),
    );

    // CloseProject.
    let close = |p: &str| {
        Payload::CloseProject(CloseProject {
            project: ProjectId(p.into()),
            final_report: [3; 32],
        })
    };
    row(
        n,
        "§8.3 CloseProject project.unknown",
        "charity-federation",
        close("NOPE"),
        Code("project.unknown"),
    );
    row(
        n,
        "§8.3 CloseProject project.not_owner",
        "charity-federation",
        close("RED-1"),
        Code("project.not_owner"),
    );
    row(
        n,
        "§8.3 CloseProject project.not_empty",
        "charity-federation",
        close("FED-1"),
        Code("project.not_empty"),
    );
    let rest = n.state.tables.funds.get(&fed1).unwrap().balance().0;
    commit(n, "charity-federation", dis(fed1.clone(), rest));
    row(
        n,
        "§8.3 CloseProject accepted",
        "charity-federation",
        close("FED-1"),
        Accepted,
    );
    commit(n, "charity-federation", close("FED-1"));
    row(
        n,
        "§8.3 CloseProject project.closed",
        "charity-federation",
        close("FED-1"),
        Code("project.closed"),
    );
    row(
        n,
        "§8.3 own fund: project.closed",
        "charity-federation",
        dis(fed1.clone(), 1),
        Code("project.closed"),
    );
    row(
        n,
        "§8.3 RecordRefund project.closed",
        "charity-federation",
        refund(&d.receipt, 1),
        Code("project.closed"),
    );
    let x = donation(n, fed1.clone(), 1);
    row(
        n,
        "§8.3 receiving project: project.closed",
        "charity-federation",
        Payload::RecordDonation(x),
        Code("project.closed"),
    );
}

/// §8.3, the lottery centre's and the auditors' rows.
#[test]
fn lottery_and_audit_rows() {
    let mut net = DevNet::on(Store::memory()).unwrap();
    let n = &mut net;
    let sales = |g: &str, per: &str, a: u64| {
        Payload::RecordLotterySales(RecordLotterySales {
            game: GameId(g.into()),
            period: per.into(),
            region: "440300".into(),
            sales: Fen(a),
        })
    };
    row(
        n,
        "§8.3 RecordLotterySales accepted",
        "lottery-centre",
        sales("SSQ", "2026001", 1_000_000),
        Accepted,
    );
    row(
        n,
        "§8.3 RecordLotterySales lottery.unknown_game",
        "lottery-centre",
        sales("NOPE", "2026001", 1),
        Code("lottery.unknown_game"),
    );
    commit(n, "lottery-centre", sales("SSQ", "2026001", 1_000_000));
    row(
        n,
        "§8.3 RecordLotterySales lottery.duplicate_sales",
        "lottery-centre",
        sales("SSQ", "2026001", 1),
        Code("lottery.duplicate_sales"),
    );
    row(
        n,
        "§8.3 RecordLotterySales amount.overflow",
        "lottery-centre",
        sales("SSQ", "2026002", u64::MAX - 10),
        Code("amount.overflow"),
    );
    // Local welfare pool: 180,000 fen; prize fund: 510,000 fen.
    let t = n.clock;
    commit(
        n,
        "charity-federation",
        Payload::RegisterProject(project("ELDER-1", t, 30)),
    );
    let alloc = |a: u64, r: WelfareRecipient| {
        Payload::AllocateWelfareFund(AllocateWelfareFund {
            amount: Fen(a),
            purpose: WelfarePurpose::Elderly,
            recipient: r,
        })
    };
    let proj = |p: &str| WelfareRecipient::Project(ProjectId(p.into()));
    row(
        n,
        "§8.3 AllocateWelfareFund accepted (project)",
        "lottery-centre",
        alloc(180_000, proj("ELDER-1")),
        Accepted,
    );
    row(
        n,
        "§8.3 AllocateWelfareFund accepted (programme)",
        "lottery-centre",
        alloc(1, WelfareRecipient::Programme("长者食堂".into())),
        Accepted,
    );
    row(
        n,
        "§8.3 AllocateWelfareFund lottery.insufficient_welfare_pool",
        "lottery-centre",
        alloc(180_001, proj("ELDER-1")),
        Code("lottery.insufficient_welfare_pool"),
    );
    row(
        n,
        "§8.3 AllocateWelfareFund receiving project: project.unknown",
        "lottery-centre",
        alloc(1, proj("NOPE")),
        Code("project.unknown"),
    );
    let prize = |g: &str, a: u64| {
        Payload::RecordPrizePayout(RecordPrizePayout {
            game: GameId(g.into()),
            period: "2026001".into(),
            amount: Fen(a),
        })
    };
    row(
        n,
        "§8.3 RecordPrizePayout accepted",
        "lottery-centre",
        prize("SSQ", 510_000),
        Accepted,
    );
    row(
        n,
        "§8.3 RecordPrizePayout lottery.unknown_game",
        "lottery-centre",
        prize("NOPE", 1),
        Code("lottery.unknown_game"),
    );
    row(
        n,
        "§8.3 RecordPrizePayout lottery.insufficient_prize_fund",
        "lottery-centre",
        prize("SSQ", 510_001),
        Code("lottery.insufficient_prize_fund"),
    );

    let h1 = n.store.header(1).unwrap().unwrap();
    let attest = |height: u64, size: u64, root: [u8; 32]| {
        Payload::AuditAttestation(AuditAttestation {
            height,
            log_size: size,
            log_root: root,
            scope: "全链".into(),
            findings: 0,
            report: [4; 32],
        })
    };
    row(
        n,
        "§8.3 AuditAttestation accepted",
        "auditor",
        attest(1, h1.log_size, h1.log_root),
        Accepted,
    );
    row(
        n,
        "§8.3 AuditAttestation audit.unknown_height (genesis)",
        "auditor",
        attest(0, 0, [0; 32]),
        Code("audit.unknown_height"),
    );
    let here = n.state.height + 1;
    row(
        n,
        "§8.3 AuditAttestation audit.unknown_height (this block)",
        "auditor",
        attest(here, 0, [0; 32]),
        Code("audit.unknown_height"),
    );
    row(
        n,
        "§8.3 AuditAttestation audit.mismatch",
        "auditor",
        attest(1, h1.log_size + 1, h1.log_root),
        Code("audit.mismatch"),
    );
    let first = n.store.committed_at(1, 0).unwrap().unwrap();
    let finding = |t: RecordId| {
        Payload::Finding(Finding {
            target: t,
            severity: Severity::Minor,
            text: "凭证不全".into(),
        })
    };
    row(
        n,
        "§8.3 Finding accepted",
        "auditor",
        finding(first),
        Accepted,
    );
    row(
        n,
        "§8.3 Finding target.unknown",
        "auditor",
        finding(RecordId([8; 32])),
        Code("target.unknown"),
    );
    // Disclosures.
    let report = |subject: ReportSubject| {
        Payload::PublishReport(PublishReport {
            subject,
            period: "2026-Q1".into(),
            report: [5; 32],
        })
    };
    let year = n.clock.utc_year();
    row(
        n,
        "§8.3 PublishReport accepted (project)",
        "charity-federation",
        report(ReportSubject::Project(ProjectId("ELDER-1".into()))),
        Accepted,
    );
    row(
        n,
        "§8.3 PublishReport accepted (welfare fund)",
        "lottery-centre",
        report(ReportSubject::WelfareFund { year }),
        Accepted,
    );
    row(
        n,
        "§8.3 PublishReport project.not_owner",
        "red-cross",
        report(ReportSubject::Project(ProjectId("ELDER-1".into()))),
        Code("project.not_owner"),
    );
    row(
        n,
        "§8.3 PublishReport project.unknown",
        "red-cross",
        report(ReportSubject::Project(ProjectId("NO-SUCH".into()))),
        Code("project.unknown"),
    );
    row(
        n,
        "§8.3 PublishReport report.future_year",
        "charity-federation",
        report(ReportSubject::Charity { year: year + 1 }),
        Code("report.future_year"),
    );
    row(
        n,
        "§8.2 PublishReport signer.role (a charity reporting the welfare fund)",
        "charity-federation",
        report(ReportSubject::WelfareFund { year }),
        Code("signer.role"),
    );
    let _ = p::sales;
}

/// Every code of the golden list (SPEC §14) is asserted by a row above.
/// §8.1–§8.3 the draw rows (SPEC §15): field checks, who may do what,
/// and when.
#[test]
fn draw_rows() {
    use shanlian_ledger::draw;
    let n = &mut DevNet::new().unwrap();
    n.commit(&[]).unwrap();
    let h0 = n.state.height;
    let id = DrawId("FC-REWARD-1".into());
    let seeds: [Hash32; 3] = [[1; 32], [2; 32], [3; 32]];
    let open = |f: &dyn Fn(&mut OpenDraw)| {
        let mut d = OpenDraw {
            draw: id.clone(),
            draw_kind: DrawKind::Reward,
            title: "彩民回馈抽奖 2026-11".into(),
            entries_root: [9; 32],
            entries: 1_000,
            winners: 10,
            closes: h0 + 3,
            reveal_by: h0 + 8,
            seed_commitment: draw::seed_commitment(&id.0, &seeds[0]),
            invited: vec![],
        };
        f(&mut d);
        Payload::OpenDraw(d)
    };
    let centre = "lottery-centre";
    // §8.1 field checks.
    for (spec, edit, field) in [
        (
            "§8.1 OpenDraw draw",
            &(|d: &mut OpenDraw| d.draw = DrawId("has space".into())) as &dyn Fn(&mut OpenDraw),
            "draw",
        ),
        ("§8.1 OpenDraw title", &|d| d.title = " ".into(), "title"),
        ("§8.1 OpenDraw entries ≥ 1", &|d| d.entries = 0, "entries"),
        ("§8.1 OpenDraw winners ≥ 1", &|d| d.winners = 0, "winners"),
        (
            "§8.1 OpenDraw winners ≤ entries",
            &|d| d.winners = 1_001,
            "winners",
        ),
        (
            "§8.1 OpenDraw winners ≤ 256",
            &|d| d.winners = 257,
            "winners",
        ),
        (
            "§8.1 OpenDraw reveal_by ≥ closes + 2",
            &|d| d.reveal_by = d.closes + 1,
            "reveal_by",
        ),
        (
            "§8.1 OpenDraw invited distinct",
            &|d| d.invited = vec![Address([1; 20]), Address([1; 20])],
            "invited",
        ),
    ] {
        row(n, spec, centre, open(edit), Field("field.invalid", field));
    }
    let settle = |winners: Vec<u64>| {
        Payload::SettleDraw(SettleDraw {
            draw: DrawId("FC-REWARD-1".into()),
            winners,
        })
    };
    row(
        n,
        "§8.1 SettleDraw winners ≤ 256",
        centre,
        settle(vec![0; 257]),
        Field("field.invalid", "winners"),
    );
    row(
        n,
        "§8.1 CommitDrawSeed draw",
        "auditor",
        Payload::CommitDrawSeed(CommitDrawSeed {
            draw: DrawId(String::new()),
            seed_commitment: [0; 32],
        }),
        Field("field.invalid", "draw"),
    );
    // §8.2 and §8.3 OpenDraw.
    row(
        n,
        "§8.2 OpenDraw signer.role",
        "charity-federation",
        open(&|_| {}),
        Code("signer.role"),
    );
    row(
        n,
        "§8.3 OpenDraw draw.closes_too_soon",
        centre,
        open(&|d| {
            d.closes = h0 + 1;
            d.reveal_by = h0 + 5
        }),
        Code("draw.closes_too_soon"),
    );
    row(
        n,
        "§8.3 OpenDraw member.unknown (invited)",
        centre,
        open(&|d| d.invited = vec![Address([7; 20])]),
        Code("member.unknown"),
    );
    let red_cross = n.address("red-cross");
    row(
        n,
        "§8.3 OpenDraw accepted",
        centre,
        open(&|d| d.invited = vec![red_cross]),
        Accepted,
    );
    commit(n, centre, open(&|d| d.invited = vec![red_cross]));
    row(
        n,
        "§8.3 OpenDraw draw.exists",
        centre,
        open(&|_| {}),
        Code("draw.exists"),
    );
    // CommitDrawSeed.
    let commit_seed = |seed: &Hash32| {
        Payload::CommitDrawSeed(CommitDrawSeed {
            draw: DrawId("FC-REWARD-1".into()),
            seed_commitment: draw::seed_commitment("FC-REWARD-1", seed),
        })
    };
    row(
        n,
        "§8.3 CommitDrawSeed accepted (auditor)",
        "auditor",
        commit_seed(&seeds[1]),
        Accepted,
    );
    row(
        n,
        "§8.3 CommitDrawSeed draw.not_invited",
        "charity-federation",
        commit_seed(&seeds[1]),
        Code("draw.not_invited"),
    );
    row(
        n,
        "§8.3 CommitDrawSeed draw.already_committed (the centre committed when it opened)",
        centre,
        commit_seed(&seeds[1]),
        Code("draw.already_committed"),
    );
    row(
        n,
        "§8.3 CommitDrawSeed draw.unknown",
        "auditor",
        Payload::CommitDrawSeed(CommitDrawSeed {
            draw: DrawId("NO-SUCH".into()),
            seed_commitment: [0; 32],
        }),
        Code("draw.unknown"),
    );
    commit(n, "auditor", commit_seed(&seeds[1]));
    commit(n, "red-cross", commit_seed(&seeds[2]));
    // Reveals: not before the beacon block (closes + 1) is decided.
    let reveal = |seed: &Hash32| {
        Payload::RevealDrawSeed(RevealDrawSeed {
            draw: DrawId("FC-REWARD-1".into()),
            seed: *seed,
        })
    };
    while n.state.height < h0 + 3 {
        n.commit(&[]).unwrap();
    }
    // The next block is closes + 1: commits are late, reveals early.
    row(
        n,
        "§8.3 CommitDrawSeed draw.closed",
        "auditor",
        commit_seed(&seeds[1]),
        Code("draw.closed"),
    );
    row(
        n,
        "§8.3 RevealDrawSeed draw.reveal_too_early",
        centre,
        reveal(&seeds[0]),
        Code("draw.reveal_too_early"),
    );
    n.commit(&[]).unwrap(); // the beacon block, h0 + 4
    row(
        n,
        "§8.3 SettleDraw draw.not_ready",
        centre,
        settle(vec![]),
        Code("draw.not_ready"),
    );
    row(
        n,
        "§8.3 RevealDrawSeed draw.not_committer",
        "charity-federation",
        reveal(&seeds[0]),
        Code("draw.not_committer"),
    );
    row(
        n,
        "§8.3 RevealDrawSeed draw.reveal_mismatch",
        centre,
        reveal(&seeds[1]),
        Code("draw.reveal_mismatch"),
    );
    row(
        n,
        "§8.3 RevealDrawSeed accepted",
        centre,
        reveal(&seeds[0]),
        Accepted,
    );
    commit(n, centre, reveal(&seeds[0]));
    row(
        n,
        "§8.3 RevealDrawSeed draw.already_revealed",
        centre,
        reveal(&seeds[0]),
        Code("draw.already_revealed"),
    );
    commit(n, "auditor", reveal(&seeds[1]));
    // Red Cross withholds; past the deadline its reveal is late and the
    // draw settles from the other two seeds.
    while n.state.height < h0 + 8 {
        n.commit(&[]).unwrap();
    }
    row(
        n,
        "§8.3 RevealDrawSeed draw.reveal_late",
        "red-cross",
        reveal(&seeds[2]),
        Code("draw.reveal_late"),
    );
    let block_hash = n.store.header(h0 + 4).unwrap().unwrap().hash();
    let beacon = draw::beacon(&draw::BeaconInput {
        draw: "FC-REWARD-1",
        entries_root: [9; 32],
        entries: 1_000,
        winners: 10,
        block_hash,
        revealed: vec![
            (n.address(centre), seeds[0]),
            (n.address("auditor"), seeds[1]),
        ],
    });
    let winners = draw::winners(&beacon, 1_000, 10);
    let mut wrong = winners.clone();
    wrong.swap(0, 1);
    row(
        n,
        "§8.3 SettleDraw draw.wrong_outcome",
        "auditor",
        settle(wrong),
        Code("draw.wrong_outcome"),
    );
    row(
        n,
        "§8.3 SettleDraw accepted",
        "auditor",
        settle(winners.clone()),
        Accepted,
    );
    commit(n, "auditor", settle(winners.clone()));
    row(
        n,
        "§8.3 SettleDraw draw.settled",
        centre,
        settle(winners.clone()),
        Code("draw.settled"),
    );
    let d = n
        .state
        .tables
        .draws
        .get(&id)
        .unwrap()
        .outcome
        .clone()
        .unwrap();
    assert_eq!(d.winners, winners);
    assert_eq!(
        d.withheld,
        vec![red_cross],
        "the non-revealer is on the record"
    );
    assert_eq!(d.block_hash, block_hash);
}

#[test]
fn every_refusal_code_has_a_row() {
    let rows = include_str!("spec_rows.rs");
    let golden = include_str!("../data/refusal-codes.txt");
    let missing: Vec<&str> = golden
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|code| !rows.contains(&format!("\"{code}\"")))
        .collect();
    assert!(missing.is_empty(), "codes no row asserts: {missing:?}");
}
