//! One accepted flow and at least one refused case per rule. Every refusal
//! must leave the state (hash and tables) exactly as it was.

use shanlian_ledger::record::*;
use shanlian_ledger::state::ProjectStatus;
use shanlian_ledger::testkit::{payloads as p, DevNet};
use shanlian_ledger::tracing::What;
use shanlian_ledger::types::*;
use shanlian_ledger::Refusal;

const DAY: u64 = 86_400_000;

fn net() -> DevNet {
    DevNet::new().unwrap()
}

/// Applies `rec` alone in a block and expects refusal with `code`, with
/// nothing changed.
fn refused(net: &mut DevNet, rec: Record, code: &str) -> Refusal {
    let before_hash = net.state.state_hash;
    let before = net.state.entries();
    let height = net.state.height;
    let (_, tr) = net.propose(std::slice::from_ref(&rec)).unwrap();
    assert!(tr.record_ids.is_empty(), "record should have been left out");
    net.state.rollback_block();
    assert_eq!(
        net.state.entries(),
        before,
        "a refused record changed the state"
    );
    assert_eq!(net.state.state_hash, before_hash);
    assert_eq!(net.state.height, height);
    let err = net
        .commit(std::slice::from_ref(&rec))
        .unwrap()
        .pop()
        .expect("refusal")
        .1;
    assert_eq!(err.code(), code, "{err}");
    err
}

fn setup_project(net: &mut DevNet, id: &str, charity: &str) -> FundRef {
    let start = net.clock;
    let rec = net.sign(
        charity,
        p::project(id, start, Timestamp(start.0 + 365 * DAY)),
    );
    net.commit_all(&[rec]).unwrap();
    FundRef::Project(ProjectId(id.into()))
}

fn donate(net: &mut DevNet, charity: &str, fund: &FundRef, amount: u64) -> ReceiptNo {
    let receipt = net.receipt();
    let rec = net.sign(
        charity,
        p::donation(receipt.clone(), fund.clone(), amount, 1),
    );
    net.commit_all(&[rec]).unwrap();
    receipt
}

#[test]
fn donation_disbursement_refund_flow() {
    let mut net = net();
    let fund = setup_project(&mut net, "P-1", "charity-federation");
    let r1 = donate(&mut net, "charity-federation", &fund, 10_000);
    let _r2 = donate(&mut net, "charity-federation", &fund, 5_000);
    let d = net.sign("charity-federation", p::disbursement(fund.clone(), 12_000));
    net.commit_all(&[d]).unwrap();
    assert_eq!(
        net.state.tables.funds.get(&fund).unwrap().balance(),
        Fen(3_000)
    );
    // r1 is fully consumed: nothing left to refund.
    let rf = net.sign("charity-federation", p::refund(r1.clone(), 1));
    let e = refused(&mut net, rf, "refund.exceeds_donation");
    assert!(matches!(
        e,
        Refusal::RefundExceedsDonation {
            refundable: Fen(0),
            ..
        }
    ));
}

#[test]
fn time_rules() {
    let mut net = net();
    let fund = FundRef::General(net.address("charity-federation"));
    let mut body = RecordBody {
        created: Timestamp(net.clock.0 + 31_000),
        expires: Timestamp(net.clock.0 + 60_000),
        nonce: 1,
        payload: p::donation(ReceiptNo("T1".into()), fund.clone(), 100, 1),
    };
    let key = net.key("charity-federation");
    let gh = net.genesis_hash;
    let rec = Record::new(SignedRecord::sign(body.clone(), key, &gh));
    refused(&mut net, rec, "time.not_yet_valid");
    body.created = Timestamp(net.clock.0 - 10_000);
    body.expires = Timestamp(net.clock.0 - 1);
    let rec = Record::new(SignedRecord::sign(
        body.clone(),
        net.key("charity-federation"),
        &gh,
    ));
    refused(&mut net, rec, "time.expired");
    body.created = net.clock;
    body.expires = Timestamp(net.clock.0 + 3_600_001 + 5_000);
    let rec = Record::new(SignedRecord::sign(
        body.clone(),
        net.key("charity-federation"),
        &gh,
    ));
    refused(&mut net, rec, "time.expiry_window");
}

#[test]
fn replay_signer_and_signature_rules() {
    let mut net = net();
    let fund = FundRef::General(net.address("charity-federation"));
    let receipt = net.receipt();
    let rec = net.sign(
        "charity-federation",
        p::donation(receipt, fund.clone(), 100, 1),
    );
    net.commit_all(std::slice::from_ref(&rec)).unwrap();
    refused(&mut net, rec.clone(), "record.duplicate");
    // Duplicate inside one block: the second copy is left out.
    let receipt = net.receipt();
    let r2 = net.sign(
        "charity-federation",
        p::donation(receipt, fund.clone(), 100, 1),
    );
    let refusals = net.commit(&[r2.clone(), r2.clone()]).unwrap();
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].1.code(), "record.duplicate");

    // Unknown signer.
    let outsider = shanlian_ledger::crypto::Keypair::insecure_dev("outsider");
    let body = RecordBody {
        created: net.clock,
        expires: Timestamp(net.clock.0 + 600_000),
        nonce: 9,
        payload: p::donation(ReceiptNo("X".into()), fund.clone(), 1, 1),
    };
    let rec = Record::new(SignedRecord::sign(
        body.clone(),
        &outsider,
        &net.genesis_hash,
    ));
    refused(&mut net, rec, "signer.unknown");
    // Wrong role: the lottery centre cannot record a donation.
    let rec = net.sign(
        "lottery-centre",
        p::donation(ReceiptNo("X".into()), fund.clone(), 1, 1),
    );
    refused(&mut net, rec, "signer.role");
    // Bad signature: flip one bit of the signature, and sign for another chain.
    let mut rec = net.sign(
        "charity-federation",
        p::donation(ReceiptNo("Y".into()), fund.clone(), 1, 1),
    );
    rec.signed.signature.0[5] ^= 1;
    refused(&mut net, Record::new(rec.signed), "signer.bad_signature");
    let rec = Record::new(SignedRecord::sign(
        body,
        net.key("charity-federation"),
        &[0u8; 32],
    ));
    refused(&mut net, rec, "signer.bad_signature");
}

#[test]
fn money_rules() {
    let mut net = net();
    let fund = setup_project(&mut net, "P-2", "charity-federation");
    let receipt = donate(&mut net, "charity-federation", &fund, 1_000);
    let rec = net.sign("charity-federation", p::disbursement(fund.clone(), 1_001));
    let e = refused(&mut net, rec, "fund.insufficient");
    assert_eq!(
        e,
        Refusal::InsufficientFunds {
            available: Fen(1_000),
            requested: Fen(1_001)
        }
    );
    let rec = net.sign(
        "charity-federation",
        p::donation(receipt.clone(), fund.clone(), 5, 1),
    );
    refused(&mut net, rec, "donation.duplicate_receipt");
    let rec = net.sign("charity-federation", p::refund(ReceiptNo("NOPE".into()), 5));
    refused(&mut net, rec, "donation.unknown_receipt");
    let rec = net.sign("charity-federation", p::refund(receipt.clone(), 1_001));
    refused(&mut net, rec, "refund.exceeds_donation");
    let rec = net.sign(
        "charity-federation",
        p::donation(ReceiptNo("Z".into()), fund.clone(), 0, 1),
    );
    // Zero amounts are refused before anything else looks at them.
    assert_eq!(
        Record::from_bytes(&rec.bytes, 4096).unwrap_err().code(),
        "field.not_positive"
    );
    // Another charity cannot spend this project's money or use its receipts.
    let rec = net.sign("red-cross", p::disbursement(fund.clone(), 1));
    refused(&mut net, rec, "project.not_owner");
    let rec = net.sign(
        "red-cross",
        p::disbursement(FundRef::General(net.address("charity-federation")), 1),
    );
    refused(&mut net, rec, "fund.not_owner");
    // Partial refund, then the rest.
    let rec = net.sign("charity-federation", p::refund(receipt.clone(), 400));
    net.commit_all(&[rec]).unwrap();
    let rec = net.sign("charity-federation", p::refund(receipt.clone(), 601));
    refused(&mut net, rec, "refund.exceeds_donation");
    let rec = net.sign("charity-federation", p::refund(receipt, 600));
    net.commit_all(&[rec]).unwrap();
    assert_eq!(net.state.tables.funds.get(&fund).unwrap().balance(), Fen(0));
}

#[test]
fn project_rules() {
    let mut net = net();
    let now = net.clock;
    let mut reg = p::project("P-3", now, Timestamp(now.0 + 10 * DAY));
    if let Payload::RegisterProject(r) = &mut reg {
        r.public_fundraising_ref = Some("深民函〔2026〕1号".into());
    }
    let rec = net.sign("charity-federation", reg.clone());
    net.commit_all(&[rec]).unwrap();
    let rec = net.sign("charity-federation", reg);
    refused(&mut net, rec, "project.exists");
    let fund = FundRef::Project(ProjectId("P-3".into()));
    let rec = net.sign(
        "charity-federation",
        p::donation(ReceiptNo("A".into()), fund.clone(), 10, 1),
    );
    refused(&mut net, rec, "project.not_approved");
    let approve = Payload::ApproveProject(ApproveProject {
        project: ProjectId("P-3".into()),
        approval_ref: "OK-1".into(),
    });
    let rec = net.sign("charity-federation", approve.clone());
    refused(&mut net, rec, "signer.role");
    let rec = net.sign("bureau", approve.clone());
    net.commit_all(&[rec]).unwrap();
    let rec = net.sign("bureau", approve);
    refused(&mut net, rec, "project.not_pending");
    assert_eq!(
        net.state
            .tables
            .projects
            .get(&ProjectId("P-3".into()))
            .unwrap()
            .status,
        ProjectStatus::Active
    );
    let rec = net.sign(
        "charity-federation",
        p::donation(ReceiptNo("A".into()), fund.clone(), 10, 1),
    );
    net.commit_all(&[rec]).unwrap();
    let close = Payload::CloseProject(CloseProject {
        project: ProjectId("P-3".into()),
        final_report: [1; 32],
    });
    let rec = net.sign("charity-federation", close.clone());
    refused(&mut net, rec, "project.not_empty");
    let rec = net.sign("charity-federation", p::disbursement(fund.clone(), 10));
    net.commit_all(&[rec]).unwrap();
    let rec = net.sign("charity-federation", close.clone());
    net.commit_all(&[rec]).unwrap();
    let rec = net.sign("charity-federation", close);
    refused(&mut net, rec, "project.closed");
    let rec = net.sign(
        "charity-federation",
        p::donation(ReceiptNo("B".into()), fund.clone(), 10, 1),
    );
    refused(&mut net, rec, "project.closed");
    // Dates: a project that has not started yet takes no donations.
    let later = Timestamp(net.clock.0 + 5 * DAY);
    let rec = net.sign(
        "charity-federation",
        p::project("P-4", later, Timestamp(later.0 + DAY)),
    );
    net.commit_all(&[rec]).unwrap();
    let rec = net.sign(
        "charity-federation",
        p::donation(
            ReceiptNo("C".into()),
            FundRef::Project(ProjectId("P-4".into())),
            10,
            1,
        ),
    );
    refused(&mut net, rec, "project.outside_dates");
    let rec = net.sign(
        "charity-federation",
        p::project("P-5", Timestamp(0), Timestamp(1)),
    );
    refused(&mut net, rec, "project.already_ended");
    let rec = net.sign(
        "charity-federation",
        p::donation(
            ReceiptNo("D".into()),
            FundRef::Project(ProjectId("NOPE".into())),
            10,
            1,
        ),
    );
    refused(&mut net, rec, "project.unknown");
}

#[test]
fn governance_rules() {
    let mut net = net();
    let newbie = shanlian_ledger::crypto::Keypair::insecure_dev("new charity");
    let admit = Payload::AdmitMember(AdmitMember {
        public_key: newbie.public(),
        role: Role::Charity,
        name: "新慈善组织".into(),
        uscc: Uscc(format!(
            "53440300000000011{}",
            Uscc::check_char("53440300000000011").unwrap()
        )),
        node: NodeKey([3; 32]),
    });
    let rec = net.sign("charity-federation", admit.clone());
    refused(&mut net, rec, "signer.role");
    let rec = net.sign("bureau", admit.clone());
    net.commit_all(&[rec]).unwrap();
    let rec = net.sign("bureau", admit);
    refused(&mut net, rec, "member.exists");
    let a = Address::of_key(&newbie.public());
    // Weak key.
    let mut weak = [0u8; 32];
    weak[0] = 1;
    let rec = net.sign(
        "bureau",
        Payload::AdmitMember(AdmitMember {
            public_key: PublicKey(weak),
            role: Role::Charity,
            name: "x".into(),
            uscc: net.state.tables.members.get(&a).unwrap().uscc.clone(),
            node: NodeKey([4; 32]),
        }),
    );
    refused(&mut net, rec, "member.weak_key");
    // Suspension stops signing; listing stops donations.
    let susp = Payload::SuspendMember(SuspendMember {
        member: net.address("red-cross"),
        reason: "audit".into(),
    });
    let rec = net.sign("bureau", susp.clone());
    net.commit_all(&[rec]).unwrap();
    let rec = net.sign("bureau", susp);
    refused(&mut net, rec, "member.already_suspended");
    let rec = net.sign(
        "red-cross",
        p::donation(
            ReceiptNo("S".into()),
            FundRef::General(net.address("red-cross")),
            10,
            1,
        ),
    );
    refused(&mut net, rec, "signer.suspended");
    let rec = net.sign(
        "bureau",
        Payload::SuspendMember(SuspendMember {
            member: net.address("bureau"),
            reason: "x".into(),
        }),
    );
    refused(&mut net, rec, "member.self_suspension");
    let list = Payload::ListOrganisation(ListOrganisation {
        organisation: net.address("one-foundation"),
        list: ListKind::AbnormalActivity,
        reason: "annual report overdue".into(),
    });
    let rec = net.sign("bureau", list);
    net.commit_all(&[rec]).unwrap();
    let rec = net.sign(
        "one-foundation",
        p::donation(
            ReceiptNo("L".into()),
            FundRef::General(net.address("one-foundation")),
            10,
            1,
        ),
    );
    refused(&mut net, rec, "organisation.listed");
    let delist = Payload::DelistOrganisation(DelistOrganisation {
        organisation: net.address("one-foundation"),
        list: ListKind::AbnormalActivity,
        reason: "report filed".into(),
    });
    let rec = net.sign("bureau", delist.clone());
    net.commit_all(&[rec]).unwrap();
    let rec = net.sign("bureau", delist);
    refused(&mut net, rec, "organisation.not_listed");
    let rec = net.sign(
        "one-foundation",
        p::donation(
            ReceiptNo("L".into()),
            FundRef::General(net.address("one-foundation")),
            10,
            1,
        ),
    );
    net.commit_all(&[rec]).unwrap();
}

#[test]
fn key_rotation_and_validators() {
    let mut net = net();
    let member = net.address("red-cross");
    let new_key = shanlian_ledger::crypto::Keypair::insecure_dev("red-cross v2");
    let mut rot = RotateKey {
        member,
        new_key: new_key.public(),
        old_key_signature: Signature([0; 64]),
    };
    let rec = net.sign("bureau", Payload::RotateKey(rot.clone()));
    refused(&mut net, rec, "member.bad_rotation_consent");
    let consent = RotateKey::consent_bytes(&rot.member, &rot.new_key);
    rot.old_key_signature = net.key("red-cross").sign(
        shanlian_ledger::crypto::Domain::RotateKey,
        &net.genesis_hash,
        &consent,
    );
    let rec = net.sign("bureau", Payload::RotateKey(rot));
    net.commit_all(&[rec]).unwrap();
    // The old key is retired.
    let rec = net.sign(
        "red-cross",
        p::donation(ReceiptNo("K".into()), FundRef::General(member), 10, 1),
    );
    refused(&mut net, rec, "signer.retired_key");

    // Validator changes: not before the delay; never an empty set.
    let h = net.state.height + 1;
    let set = |m, power, effective_height| {
        Payload::SetValidator(SetValidator {
            member: m,
            power,
            effective_height,
        })
    };
    let rec = net.sign("bureau", set(member, 5, h + 1));
    refused(&mut net, rec, "validator.too_soon");
    let h = net.state.height + 1;
    let rec = net.sign("bureau", set(member, 10, h + 2));
    net.commit_all(&[rec]).unwrap();
    assert!(net.state.validator_set(h + 1).get(&member).is_none());
    assert_eq!(
        net.state.validator_set(h + 2).get(&member).map(|v| v.power),
        Some(10)
    );
    // Committing two more blocks brings the change in force, and the
    // certificates from then on need the new validator's key: the testkit
    // signs with dev keys only, so the rotated member signs nothing and the
    // other four (40 of 50) are still > 2/3.
    net.commit_all(&[]).unwrap();
    net.commit_all(&[]).unwrap();
    assert_eq!(net.state.validator_set(net.state.height).total_power(), 50);
    let h = net.state.height + 1;
    let mut recs = Vec::new();
    for label in ["bureau", "charity-federation", "lottery-centre", "auditor"] {
        let a = net.address(label);
        recs.push(net.sign("bureau", set(a, 0, h + 2)));
    }
    recs.push(net.sign("bureau", set(member, 0, h + 2)));
    let refusals = net.commit(&recs).unwrap();
    assert_eq!(refusals.len(), 1, "the last one would empty the set");
    assert_eq!(refusals[0].1.code(), "validator.empty_set");
}

#[test]
fn lottery_rules() {
    let mut net = net();
    let rec = net.sign("lottery-centre", p::sales("SSQ", "2026001", 1_000_000));
    net.commit_all(&[rec]).unwrap();
    let rec = net.sign("lottery-centre", p::sales("SSQ", "2026001", 5));
    refused(&mut net, rec, "lottery.duplicate_sales");
    let rec = net.sign("lottery-centre", p::sales("NOPE", "2026001", 5));
    refused(&mut net, rec, "lottery.unknown_game");
    let g = net
        .state
        .tables
        .games
        .get(&GameId("SSQ".into()))
        .unwrap()
        .clone();
    assert_eq!(
        g.prize.0 + g.issuance_fee.0 + g.welfare_central.0 + g.welfare_local.0,
        1_000_000
    );
    assert_eq!(g.welfare_local, Fen(180_000));
    let rec = net.sign(
        "lottery-centre",
        p::allocate(180_001, WelfarePurpose::Elderly, None),
    );
    refused(&mut net, rec, "lottery.insufficient_welfare_pool");
    let fund = setup_project(&mut net, "ELDER-1", "charity-federation");
    let rec = net.sign(
        "lottery-centre",
        p::allocate(100_000, WelfarePurpose::Elderly, Some("ELDER-1")),
    );
    net.commit_all(&[rec]).unwrap();
    assert_eq!(
        net.state.tables.funds.get(&fund).unwrap().balance(),
        Fen(100_000)
    );
    let payout = |amount| {
        Payload::RecordPrizePayout(RecordPrizePayout {
            game: GameId("SSQ".into()),
            period: "2026001".into(),
            amount: Fen(amount),
        })
    };
    let rec = net.sign("lottery-centre", payout(510_001));
    refused(&mut net, rec, "lottery.insufficient_prize_fund");
    let rec = net.sign("lottery-centre", payout(510_000));
    net.commit_all(&[rec]).unwrap();
}

#[test]
fn corrections_findings_attestations() {
    let mut net = net();
    let fund = FundRef::General(net.address("charity-federation"));
    let receipt = net.receipt();
    let don = net.sign("charity-federation", p::donation(receipt, fund, 100, 1));
    net.commit_all(std::slice::from_ref(&don)).unwrap();
    let corr = |target| {
        Payload::Correction(Correction {
            target,
            field: "channel".into(),
            corrected: "Bank".into(),
            reason: "typo".into(),
        })
    };
    let rec = net.sign("red-cross", corr(don.id));
    refused(&mut net, rec, "target.not_own");
    let rec = net.sign("charity-federation", corr(RecordId([9; 32])));
    refused(&mut net, rec, "target.unknown");
    let rec = net.sign("charity-federation", corr(don.id));
    net.commit_all(&[rec]).unwrap();
    // The original is untouched.
    let (_, stored) = net.store.record(&don.id).unwrap().unwrap();
    assert_eq!(stored, don);
    let finding = Payload::Finding(Finding {
        target: don.id,
        severity: Severity::Minor,
        text: "receipt late".into(),
    });
    let rec = net.sign("auditor", finding);
    net.commit_all(&[rec]).unwrap();
    let h = net.store.header(2).unwrap().unwrap();
    let att = |log_root| {
        Payload::AuditAttestation(AuditAttestation {
            height: 2,
            log_size: h.log_size,
            log_root,
            scope: "all".into(),
            findings: 1,
            report: [5; 32],
        })
    };
    let rec = net.sign("auditor", att([0; 32]));
    refused(&mut net, rec, "audit.mismatch");
    let rec = net.sign("auditor", att(h.log_root));
    net.commit_all(&[rec]).unwrap();
}

#[test]
fn grants_follow_money_across_charities() {
    let mut net = net();
    let a = setup_project(&mut net, "A-1", "charity-federation");
    let b = setup_project(&mut net, "B-1", "red-cross");
    let r1 = donate(&mut net, "charity-federation", &a, 300);
    let _r2 = donate(&mut net, "charity-federation", &a, 700);
    let rec = net.sign("charity-federation", p::grant(a.clone(), "A-1", 10));
    refused(&mut net, rec, "grant.self");
    let rec = net.sign("charity-federation", p::grant(a.clone(), "B-1", 500));
    net.commit_all(&[rec]).unwrap();
    let rec = net.sign("red-cross", p::disbursement(b.clone(), 450));
    net.commit_all(&[rec]).unwrap();
    let fed = net.address("charity-federation");
    let t = shanlian_ledger::trace::trace_donation(&net.store, &fed, &r1)
        .unwrap()
        .unwrap();
    // r1 (300) went wholly into the grant, and on in B-1 wholly to the disbursement.
    let steps: Vec<(u32, Fen, bool)> = t
        .flow
        .steps
        .iter()
        .map(|s| (s.depth, s.amount, matches!(s.what, What::Spent { .. })))
        .collect();
    assert_eq!(
        steps,
        vec![(0, Fen(300), true), (1, Fen(300), true)],
        "{t:?}"
    );
}

#[test]
fn validator_set_can_never_empty_at_any_height() {
    // Review finding: scheduled changes could leave an intermediate height
    // with no voting power while the checked heights were fine.
    let mut net = net();
    let set = |m, power, effective_height| {
        Payload::SetValidator(SetValidator {
            member: m,
            power,
            effective_height,
        })
    };
    let labels = ["bureau", "charity-federation", "lottery-centre", "auditor"];
    let h = net.state.height + 1;
    let mut recs = Vec::new();
    // Remove three validators at h+5, re-add one at h+8, remove the last at h+6.
    for l in &labels[1..] {
        let a = net.address(l);
        recs.push(net.sign("bureau", set(a, 0, h + 5)));
    }
    let fed = net.address("charity-federation");
    recs.push(net.sign("bureau", set(fed, 10, h + 8)));
    net.commit_all(&recs).unwrap();
    let b = net.address("bureau");
    let rec = net.sign("bureau", set(b, 0, h + 6));
    refused(&mut net, rec, "validator.empty_set");
}

#[test]
fn suspended_and_rotating_validators() {
    let mut net = net();
    let aud = net.address("auditor");
    let rec = net.sign(
        "bureau",
        Payload::SuspendMember(SuspendMember {
            member: aud,
            reason: "x".into(),
        }),
    );
    net.commit_all(&[rec]).unwrap();
    let h = net.state.height + 1;
    let set = |power| {
        Payload::SetValidator(SetValidator {
            member: aud,
            power,
            effective_height: h + 5,
        })
    };
    let rec = net.sign("bureau", set(20));
    refused(&mut net, rec, "member.suspended");
    // Removing a suspended validator is allowed.
    let rec = net.sign("bureau", set(0));
    net.commit_all(&[rec]).unwrap();
    // A validator's key cannot be rotated in place.
    let new_key = shanlian_ledger::crypto::Keypair::insecure_dev("lottery v2");
    let lc = net.address("lottery-centre");
    let mut rot = RotateKey {
        member: lc,
        new_key: new_key.public(),
        old_key_signature: Signature([0; 64]),
    };
    let consent = RotateKey::consent_bytes(&rot.member, &rot.new_key);
    rot.old_key_signature = net.key("lottery-centre").sign(
        shanlian_ledger::crypto::Domain::RotateKey,
        &net.genesis_hash,
        &consent,
    );
    let rec = net.sign("bureau", Payload::RotateKey(rot));
    refused(&mut net, rec, "validator.rotate_key");
}

#[test]
fn records_built_in_memory_get_the_field_checks() {
    // Review finding: Record::new skipped the stateless checks that
    // Record::from_bytes applies, so a proposer could include a zero amount.
    let mut net = net();
    let fund = FundRef::General(net.address("charity-federation"));
    let rec = net.sign(
        "charity-federation",
        p::donation(ReceiptNo("Z0".into()), fund, 0, 1),
    );
    refused(&mut net, rec, "field.not_positive");
}

#[test]
fn write_set_holds_only_real_changes() {
    let mut net = net();
    let m = net.address("red-cross");
    let noop = Payload::UpdateMember(UpdateMember {
        member: m,
        name: None,
        uscc: None,
        node: None,
    });
    let rec = net.sign("bureau", noop);
    let (_, tr) = net.propose(&[rec]).unwrap();
    net.state.rollback_block();
    assert_eq!(tr.record_ids.len(), 1);
    assert!(tr.state_writes.is_empty(), "{:?}", tr.state_writes);
}

#[test]
fn pool_admission_uses_the_record_rules_and_changes_nothing() {
    let mut net = net();
    let fund = FundRef::General(net.address("charity-federation"));
    let receipt = net.receipt();
    let ok = net.sign(
        "charity-federation",
        p::donation(receipt, fund.clone(), 100, 1),
    );
    let before = net.state.entries();
    let now = net.clock;
    net.state.admit(&ok, now).unwrap();
    assert_eq!(net.state.entries(), before);
    // Admission does not look at balances: that needs block order.
    let overspend = net.sign(
        "charity-federation",
        p::disbursement(fund.clone(), 1_000_000),
    );
    net.state.admit(&overspend, now).unwrap();
    // But it applies every record-level rule.
    let wrong_role = net.sign(
        "auditor",
        p::donation(ReceiptNo("A1".into()), fund.clone(), 1, 1),
    );
    assert_eq!(
        net.state.admit(&wrong_role, now).unwrap_err().code(),
        "signer.role"
    );
    let mut forged = ok.clone();
    forged.signed.signature.0[0] ^= 1;
    let forged = Record::new(forged.signed);
    assert_eq!(
        net.state.admit(&forged, now).unwrap_err().code(),
        "signer.bad_signature"
    );
    assert_eq!(
        net.state
            .admit(&ok, Timestamp(now.0 + 700_000))
            .unwrap_err()
            .code(),
        "time.expired"
    );
    net.commit_all(std::slice::from_ref(&ok)).unwrap();
    assert_eq!(
        net.state.admit(&ok, net.clock).unwrap_err().code(),
        "record.duplicate"
    );
}

/// A store that fails reads makes faults, never refusals: a proposer
/// abandons the block (the record is not left out as refused), a validator
/// gets a fault (not an invalid block), and nothing changes.
#[test]
fn a_failing_store_is_a_fault_not_a_refusal() {
    use shanlian_ledger::chain;
    use shanlian_ledger::record::{AuditAttestation, Correction};
    use shanlian_ledger::testkit::FlakyKv;
    use shanlian_ledger::ChainError;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    let kv = Arc::new(FlakyKv::default());
    let mut net = DevNet::on(shanlian_ledger::store::Store::on(kv.clone())).unwrap();
    let fed = FundRef::General(net.address("charity-federation"));
    let r = net.receipt();
    let d = net.sign("charity-federation", p::donation(r, fed, 1_000, 1));
    net.commit_all(std::slice::from_ref(&d)).unwrap();
    let fix = net.sign(
        "charity-federation",
        Payload::Correction(Correction {
            target: d.id,
            field: "channel".into(),
            corrected: "Bank".into(),
            reason: "typo".into(),
        }),
    );
    let header = net.store.header(1).unwrap().unwrap();
    let attest = net.sign(
        "auditor",
        Payload::AuditAttestation(AuditAttestation {
            height: 1,
            log_size: header.log_size,
            log_root: header.log_root,
            scope: "all".into(),
            findings: 0,
            report: [1; 32],
        }),
    );
    let before = (net.state.state_hash, net.state.entries());
    // A valid block, built while the store works, then rolled back.
    let (block, _) = net.propose(&[fix.clone(), attest.clone()]).unwrap();
    net.state.rollback_block();
    kv.fail_reads.store(true, Ordering::SeqCst);
    for rec in [&fix, &attest] {
        let proposer = net.address("bureau");
        let got = chain::propose(
            &mut net.state,
            net.clock,
            proposer,
            std::slice::from_ref(rec),
            &[],
            &net.store,
        );
        assert!(matches!(got, Err(ChainError::Fault(_))), "{got:?}");
        assert!(!net.state.has_open_block());
    }
    let records = chain::decode_records(&block, 4096).unwrap();
    let got = chain::check_block(&mut net.state, &block.header, &records, &[], &net.store);
    assert!(matches!(got, Err(ChainError::Fault(_))), "{got:?}");
    assert_eq!((net.state.state_hash, net.state.entries()), before);
    // Once the store reads again, the same block is valid.
    kv.fail_reads.store(false, Ordering::SeqCst);
    chain::check_block(&mut net.state, &block.header, &records, &[], &net.store).unwrap();
}

/// Blocks and admission verify signatures in ZIP-215 batches (SPEC §4):
/// every forged record is named, every honest one passes, and the verdicts
/// are those of single verification; a block holding a forged record is
/// refused at that record.
#[test]
fn batched_signature_checks_name_each_forgery() {
    use shanlian_ledger::chain;
    use shanlian_ledger::fault::ChainError;
    use shanlian_ledger::BlockError;
    let mut net = net();
    let fund = FundRef::General(net.address("charity-federation"));
    let mut records = net.sign_donations("charity-federation", &fund, 700, |_| 100);
    let forged_at = [17usize, 433, 699];
    for (n, &i) in forged_at.iter().enumerate() {
        let mut signed = records[i].signed.clone();
        match n {
            0 => signed.signature.0[2] ^= 1,                     // R
            1 => signed.signature.0[63] |= 0x80,                 // s not canonical
            _ => signed.signature = records[0].signed.signature, // another record's
        }
        records[i] = Record::new(signed);
    }
    let by_state = chain::verify_signatures(&mut net.state, &records);
    let by_key = chain::verify_record_signatures(&net.genesis_hash, &records);
    assert_eq!(by_state, by_key);
    let bad: Vec<usize> = (0..records.len()).filter(|i| !by_state[*i]).collect();
    assert_eq!(bad, forged_at);
    for (i, r) in records.iter().enumerate() {
        let single = net.state.admit(r, net.clock);
        assert_eq!(single.is_ok(), by_state[i], "record {i}: {single:?}");
    }
    // The proposer leaves the forgeries out; a block that holds one is
    // refused at it, whatever the batch flags say about the others.
    let honest: Vec<Record> = (0..records.len())
        .filter(|i| by_state[*i])
        .map(|i| records[i].clone())
        .collect();
    let (mut block, _) = net.propose(&honest[..500]).unwrap();
    net.state.rollback_block();
    block.records[250] = records[433].bytes.clone();
    let decoded = chain::decode_records(&block, 4096).unwrap();
    let flags = chain::verify_signatures(&mut net.state, &decoded);
    assert_eq!(flags.iter().filter(|b| !**b).count(), 1);
    let before = net.state.state_hash;
    match chain::check_block(&mut net.state, &block.header, &decoded, &flags, &net.store) {
        Err(ChainError::Invalid(BlockError::Record { index, refusal, .. })) => {
            assert_eq!(index, 250);
            assert_eq!(refusal.code(), "signer.bad_signature");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(net.state.state_hash, before);
    assert!(!net.state.has_open_block());
}

/// The log and a block's record root are Merkle trees over the accepted
/// records' ids (SPEC §6, §7), whose leaf hashes each record carries from
/// decoding: a refused record in between contributes no leaf, and the
/// roots equal those computed from the ids alone.
#[test]
fn record_root_and_log_are_over_the_accepted_ids() {
    use shanlian_ledger::merkle::{Blake3Hasher, MerkleHasher};
    let mut net = net();
    let fund = setup_project(&mut net, "LEAVES", "red-cross");
    let log_before = net.state.log.clone();
    let ok = |net: &mut DevNet, n: u64| {
        net.sign(
            "red-cross",
            p::donation(ReceiptNo(format!("L{n}")), fund.clone(), 100 + n, 1),
        )
    };
    let (a, b) = (ok(&mut net, 1), ok(&mut net, 2));
    let dup = ok(&mut net, 1); // the same receipt again: refused
    let c = ok(&mut net, 3);
    for r in [&a, &b, &dup, &c] {
        assert_eq!(r.leaf, Blake3Hasher::hash_leaf(&r.id.0));
        let decoded = Record::from_bytes(&r.bytes, 1 << 20).unwrap();
        assert_eq!(decoded.leaf, r.leaf);
    }
    let (block, tr) = net
        .propose(&[a.clone(), b.clone(), dup, c.clone()])
        .unwrap();
    let ids = vec![a.id, b.id, c.id];
    assert_eq!(tr.record_ids, ids);
    assert_eq!(
        block.header.record_root,
        shanlian_ledger::block::record_root(&ids)
    );
    let mut log = log_before;
    for id in &ids {
        log.push(&id.0).unwrap();
    }
    assert_eq!(block.header.log_root, log.root());
    assert_eq!(block.header.log_size, log.size());
    net.state.rollback_block();
}

/// A block's records decode on all cores, but a block with several
/// malformed records is refused at the first of them, with its reason.
#[test]
fn decoding_a_block_names_its_first_bad_record() {
    use shanlian_ledger::{chain, BlockError};
    let mut net = net();
    let fund = setup_project(&mut net, "DECODE", "red-cross");
    let recs: Vec<Record> = (0..40)
        .map(|n| {
            net.sign(
                "red-cross",
                p::donation(ReceiptNo(format!("D{n}")), fund.clone(), 100 + n, 1),
            )
        })
        .collect();
    let (mut block, _) = net.propose(&recs).unwrap();
    net.state.rollback_block();
    let decoded = chain::decode_records(&block, 4096).unwrap();
    assert_eq!(decoded, recs);
    // The replay's decoding, which takes the bytes over, decodes the same.
    let owned = chain::decode_owned_records(block.records.clone(), 4096).unwrap();
    assert_eq!(owned, recs);
    block.records[31].push(0); // trailing byte
    block.records[17].truncate(10); // cut short
    block.records[35] = vec![0xff; 5000]; // too large
    for got in [
        chain::decode_records(&block, 4096),
        chain::decode_owned_records(block.records.clone(), 4096),
    ] {
        match got {
            Err(BlockError::RecordBytes { index: 17, refusal }) => {
                assert_eq!(refusal.code(), "record.malformed", "{refusal}")
            }
            other => panic!("expected record 17 refused, got {other:?}"),
        }
    }
    // Each refusal on its own, in both.
    block.records[17] = recs[17].bytes.clone();
    block.records[31].pop();
    let huge = chain::decode_owned_records(block.records.clone(), 4096);
    assert!(
        matches!(&huge, Err(BlockError::RecordBytes { index: 35, refusal }) if refusal.code() == "record.too_large"),
        "{huge:?}"
    );
}
