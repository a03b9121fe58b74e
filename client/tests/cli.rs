//! The `shanlian` command line against explorers in this process (the dev
//! chain, honest and lying), and offline: every receipt-bundle vector,
//! donations end to end with the donor's receipt, hostile explorers caught
//! by name, CSV imports with bad rows and a re-run, an audit of a chain with
//! planted violations, reconciliation against a bank statement.

use serde_json::Value;
use shanlian_client::commands::{audit, donor, import};
use shanlian_explorer::dev::{DevServer, Kind, Tamper};
use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::record::*;
use shanlian_ledger::store::Store;
use shanlian_ledger::testkit::{payloads as p, DevNet};
use shanlian_ledger::types::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dev_genesis() -> Genesis {
    Genesis::from_toml(include_str!("../../genesis/dev.toml")).unwrap()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A dev member's key in a private file.
fn key_file(dir: &Path, label: &str) -> PathBuf {
    let path = dir.join(format!("{label}.pem"));
    if !path.exists() {
        let k = Keypair::insecure_dev(&format!("dev/{label}"));
        shanlian_ledger::keyfile::write_new(&path, k.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    }
    path
}

/// Runs the binary; (exit code, stdout JSON or text, stderr).
fn shanlian(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shanlian"))
        .args(args)
        .env_remove("SHANLIAN_CONFIG")
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

/// `shanlian verify` of every receipt-bundle vector of the ledger's test
/// data: the valid ones verify, each hostile one fails at its step with
/// its code.
#[tokio::test]
async fn verify_gives_every_bundle_vector_its_verdict() {
    let dir = repo().join("ledger/tests/data/bundles");
    let tmp = tempfile::tempdir().unwrap();
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let genesis = match v["genesis"].as_str() {
            Some(t) => Genesis::from_toml(t).unwrap(),
            None => dev_genesis(),
        };
        let file = tmp.path().join(path.file_name().unwrap());
        std::fs::write(&file, v["bundle"].to_string()).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let r = donor::verify(&file, &genesis, None, None, None).await;
        match (&v["expect"]["ok"], &v["expect"]["error"]) {
            (Value::Object(ok), _) => {
                let r = r.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(r.ok, "{name}: {}", r.text);
                assert_eq!(r.json["record"], ok["id"], "{name}");
            }
            (_, Value::Object(err)) => match r {
                Ok(r) => {
                    assert!(!r.ok, "{name} accepted");
                    assert_eq!(r.json["code"], err["code"], "{name}: {}", r.text);
                    assert_eq!(r.json["step"], err["at"], "{name}: {}", r.text);
                }
                // Bytes that are no bundle are refused before verifying.
                Err(e) => assert_eq!(err["code"], "bundle.malformed", "{name}: {e:#}"),
            },
            _ => panic!("{name}"),
        }
        n += 1;
    }
    assert!(n >= 30);
}

/// A charity records a donation and waits; the donor's receipt file
/// verifies offline (and opens to the donor's identity, not another's), is
/// consistent with the network's newest checkpoint, and its trace is proven.
#[test]
fn a_donation_from_command_line_to_verified_receipt() {
    let server = DevServer::start(Kind::Honest).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let key = key_file(tmp.path(), "charity-federation");
    let genesis = repo().join("genesis/dev.toml");
    let receipt = tmp.path().join("receipt.json");
    let base = [
        "--explorer",
        &server.url,
        "--key",
        key.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
        "--json",
    ];
    let args: Vec<&str> = base
        .iter()
        .copied()
        .chain([
            "donation",
            "--receipt",
            "CLI-2026-0001",
            "--amount",
            "88.80",
            "--fund",
            "project:SZCF-2026-ELDER",
            "--channel",
            "digital-rmb",
            "--donor-identity",
            "440301199912120000",
            "--pledge",
            "monthly",
            "--wait",
            "--receipt-out",
            receipt.to_str().unwrap(),
        ])
        .collect();
    let (code, out, err) = shanlian(&args);
    assert_eq!(code, 0, "{out}\n{err}");
    let v = json(&out);
    assert_eq!(v["status"], "committed");
    assert!(v["link"].as_str().unwrap().contains("g="));
    let id = v["id"].as_str().unwrap().to_string();
    // The receipt file is the donor's: owner-only.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&receipt).unwrap().permissions().mode() & 0o077,
        0
    );
    let g = ["--genesis", genesis.to_str().unwrap(), "--json"];
    let (code, out, _) = shanlian(
        &[
            &g[..],
            &[
                "verify",
                receipt.to_str().unwrap(),
                "--identity",
                "440301199912120000",
            ],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}");
    let v = json(&out);
    assert_eq!(v["donor_commitment_opens"], true);
    assert_eq!(v["amount"], 8_880);
    let (code, out, _) = shanlian(
        &[
            &g[..],
            &[
                "verify",
                receipt.to_str().unwrap(),
                "--identity",
                "someone else",
            ],
        ]
        .concat(),
    );
    assert_eq!(code, 1, "{out}");
    assert_eq!(json(&out)["donor_commitment_opens"], false);
    // Online: the network's newest checkpoint extends the receipt's.
    let (code, out, _) = shanlian(
        &[
            &g[..],
            &[
                "--explorer",
                &server.url,
                "verify",
                receipt.to_str().unwrap(),
                "--online",
            ],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(json(&out)["consistency"]["ok"], true);
    // The trace of it, proven; and of the demo's first donation.
    let (code, out, _) = shanlian(
        &[
            &g[..],
            &[
                "--explorer",
                &server.url,
                "trace",
                receipt.to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(json(&out)["subject"], id);
    // Refusals name their rule: the same receipt again.
    let (code, out, _) = shanlian(&args);
    assert_eq!(code, 2);
    assert_eq!(json(&out)["code"], "donation.duplicate_receipt", "{out}");
    // A bad amount is refused before anything is signed.
    let bad: Vec<&str> = base
        .iter()
        .copied()
        .chain([
            "donation",
            "--receipt",
            "X",
            "--amount",
            "1.234",
            "--channel",
            "cash",
            "--donor-identity",
            "x",
        ])
        .collect();
    let (code, out, _) = shanlian(&bad);
    assert_eq!(code, 2);
    assert!(
        json(&out)["error"]
            .as_str()
            .unwrap()
            .contains("more than two decimals"),
        "{out}"
    );
}

/// The demo's first donation as a receipt file (bare bundle) from a server.
async fn demo_receipt(server: &DevServer, dir: &Path) -> (RecordId, PathBuf) {
    let nodes = shanlian_client::api::Nodes::new(vec![server.url.clone()]).unwrap();
    let hits = nodes
        .get("/api/v1/search?q=SZ-DEMO-2026-000000")
        .await
        .unwrap();
    let path = hits[0]["path"].as_str().unwrap();
    let d = nodes.get(path).await.unwrap();
    let id = RecordId::from_hex(d["record"]["id"].as_str().unwrap()).unwrap();
    let b = nodes
        .get(&format!("/api/v1/records/{}/bundle", id.to_hex()))
        .await
        .unwrap();
    let file = dir.join("demo-receipt.json");
    std::fs::write(&file, b.to_string()).unwrap();
    (id, file)
}

/// Hostile explorers: forged proofs, a certificate short of power, a
/// non-validator's signature, another record in place of the proven one, a
/// forked history — each caught, naming what was wrong.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_explorers_are_caught_by_name() {
    let g = dev_genesis();
    let tmp = tempfile::tempdir().unwrap();
    let honest = tokio::task::spawn_blocking(|| DevServer::start_at_genesis(Kind::Honest).unwrap())
        .await
        .unwrap();
    let (id, good_receipt) = demo_receipt(&honest, tmp.path()).await;
    let cases = [
        (Tamper::Proof, "bundle.inclusion", "trace.write_set"),
        (
            Tamper::Certificate,
            "certificate.bad_signature",
            "certificate.bad_signature",
        ),
        (
            Tamper::ShortOfPower,
            "certificate.no_quorum",
            "certificate.no_quorum",
        ),
        (
            Tamper::NonValidator,
            "certificate.unknown_validator",
            "certificate.unknown_validator",
        ),
        (Tamper::OtherRecord, "bundle.inclusion", "trace.write_set"),
    ];
    for (how, bundle_code, trace_code) in cases {
        let s = tokio::task::spawn_blocking(move || {
            DevServer::start_at_genesis(Kind::Lying(how)).unwrap()
        })
        .await
        .unwrap();
        let nodes = shanlian_client::api::Nodes::new(vec![s.url.clone()]).unwrap();
        // Its bundle of the donation.
        let (_, file) = demo_receipt(&s, &tmp.path().join(format!("{how:?}")).tap_mkdir()).await;
        let r = donor::verify(&file, &g, None, None, None).await.unwrap();
        assert!(!r.ok, "{how:?}: {}", r.text);
        assert_eq!(r.json["code"], bundle_code, "{how:?}: {}", r.text);
        // Its trace of the donation.
        let r = donor::trace(&id, false, &nodes, &g).await.unwrap();
        assert!(!r.ok, "{how:?}");
        assert_eq!(r.json["code"], trace_code, "{how:?}: {}", r.text);
        // A good receipt checked online against it.
        if how != Tamper::Proof && how != Tamper::OtherRecord {
            let r = donor::verify(&good_receipt, &g, None, Some(&nodes), None)
                .await
                .unwrap();
            assert!(!r.ok, "{how:?}");
            assert_eq!(r.json["code"], bundle_code, "{how:?}: {}", r.text);
        }
    }
    // A forked history: the receipt's block is not the network's.
    let fork = tokio::task::spawn_blocking(|| DevServer::start_at_genesis(Kind::Fork).unwrap())
        .await
        .unwrap();
    let nodes = shanlian_client::api::Nodes::new(vec![fork.url.clone()]).unwrap();
    let r = donor::verify(&good_receipt, &g, None, Some(&nodes), None)
        .await
        .unwrap();
    assert!(!r.ok);
    assert_eq!(r.json["code"], "receipt.fork", "{}", r.text);
    // And `audit compare` prints the evidence.
    let r = audit::compare(&[honest.url.clone(), fork.url.clone()], &g)
        .await
        .unwrap();
    assert!(!r.ok, "{}", r.text);
    assert!(r.json["fork_height"].as_u64().unwrap() >= 1);
    assert_eq!(r.json["evidence"][0]["certified"], true);
    assert_eq!(r.json["evidence"][1]["certified"], true);
    // A stale explorer (behind the receipt) cannot prove consistency.
    let r = audit::compare(&[honest.url.clone(), honest.url.clone()], &g)
        .await
        .unwrap();
    assert!(r.ok, "{}", r.text);
}

trait TapMkdir {
    fn tap_mkdir(self) -> PathBuf;
}
impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> PathBuf {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}

/// A CSV of donations with bad rows: the good ones commit, every bad one is
/// reported with its line and column; a re-run commits nothing new.
#[tokio::test(flavor = "multi_thread")]
async fn csv_import_reports_bad_rows_and_reruns_idempotently() {
    let server = tokio::task::spawn_blocking(|| DevServer::start(Kind::Honest).unwrap())
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("donations.csv");
    let mut text = String::from(
        "# the federation's bank donations\nreceipt,amount,fund,channel,donor_identity,pledge\n",
    );
    for i in 0..40 {
        text += &format!(
            "IMP-{i:04},{}.{:02},general,bank,4403011980{i:08},\n",
            10 + i,
            i % 100
        );
    }
    text += "IMP-BAD-1,12.345,general,bank,x,\n"; // line 43: too precise
    text += ",10,general,bank,x,\n"; // line 44: no receipt
    text += "IMP-BAD-3,10,general,carrier-pigeon,x,\n"; // line 45: bad channel
    text += "IMP-0001,10,general,bank,x,\n"; // line 46: the same receipt as line 4
    text += "IMP-BAD-5,10,project:NO-SUCH,bank,x,\n"; // line 47: refused by the ledger
    std::fs::write(&csv, text).unwrap();
    let key = Keypair::insecure_dev("dev/charity-federation");
    let nodes = shanlian_client::api::Nodes::new(vec![server.url.clone()]).unwrap();
    let g = dev_genesis();
    let salts = tmp.path().join("salts.csv");
    let r = import::run(
        import::Kind::Donations,
        &csv,
        &nodes,
        &key,
        &g.hash(),
        16,
        Some(&salts),
        false,
    )
    .await
    .unwrap();
    assert!(!r.ok);
    assert_eq!(r.json["committed"], 40, "{}", r.text);
    let bad: Vec<(u64, String)> = r.json["bad_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["line"].as_u64().unwrap(),
                b["column"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        bad,
        vec![
            (43, "amount".into()),
            (44, "receipt".into()),
            (45, "channel".into()),
            (46, "key".into()),
            (47, "".into()),
        ],
        "{}",
        r.text
    );
    assert!(r.text.contains("project.unknown"), "{}", r.text);
    // The salts of the 40 (+1 refused) donors, for their receipts.
    assert_eq!(
        std::fs::read_to_string(&salts).unwrap().lines().count(),
        1 + 41
    );
    // A re-run: nothing new, everything already there.
    let r = import::run(
        import::Kind::Donations,
        &csv,
        &nodes,
        &key,
        &g.hash(),
        16,
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(r.json["committed"], 0, "{}", r.text);
    assert_eq!(r.json["already_on_ledger"], 40, "{}", r.text);
}

/// An audit of a chain with planted violations reports each of them and
/// nothing else; the same chain reconciled against a bank statement lists
/// what is missing on either side and what differs.
#[tokio::test(flavor = "multi_thread")]
async fn the_audit_finds_exactly_the_planted_violations() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    let store = Store::open(&dir).unwrap();
    let mut net = DevNet::on(store).unwrap();
    let fed = net.address("charity-federation");
    let general = FundRef::General(fed);
    let y0 = net.clock.utc_year();
    // A public-fundraising campaign of two years, approved, never reporting.
    let mut reg = p::project("PF-1", net.clock, Timestamp(net.clock.0 + 700 * 86_400_000));
    if let Payload::RegisterProject(r) = &mut reg {
        r.public_fundraising_ref = Some("深民慈募〔2026〕99号".into());
    }
    let reg = net.sign("charity-federation", reg);
    net.commit_all(&[reg]).unwrap();
    let ap = net.sign(
        "bureau",
        Payload::ApproveProject(ApproveProject {
            project: ProjectId("PF-1".into()),
            approval_ref: "深民批〔2026〕1号".into(),
        }),
    );
    net.commit_all(&[ap]).unwrap();
    // Year 0: 1,000,000 fen in; 100,000 spent on activity, 50,000 on
    // management (a third of spending: art60.management).
    let mut donations = Vec::new();
    for i in 0..10u64 {
        let mut d = p::donation(
            ReceiptNo(format!("BANK-{i}")),
            general.clone(),
            100_000,
            i as u8,
        );
        if let Payload::RecordDonation(x) = &mut d {
            x.channel = Channel::Bank;
        }
        donations.push(net.sign("charity-federation", d));
    }
    net.commit_all(&donations).unwrap();
    let spend = |net: &mut DevNet, amount: u64, category: SpendingCategory| {
        let mut d = p::disbursement(FundRef::General(net.address("charity-federation")), amount);
        if let Payload::RecordDisbursement(x) = &mut d {
            x.category = category;
        }
        let r = net.sign("charity-federation", d);
        net.commit_all(&[r]).unwrap();
    };
    spend(&mut net, 100_000, SpendingCategory::CharitableActivity);
    spend(&mut net, 50_000, SpendingCategory::Management);
    // Lottery: sales and an allocation that gives nothing to the elderly
    // (welfare.elderly_share), and no publication of the year's fund use
    // (disclosure.welfare_fund).
    let s = net.sign("lottery-centre", p::sales("SSQ", "2026001", 1_000_000));
    net.commit_all(&[s]).unwrap();
    let a = net.sign(
        "lottery-centre",
        p::allocate(50_000, WelfarePurpose::Disabled, None),
    );
    net.commit_all(&[a]).unwrap();
    // Year 1: spending 100,000 on activity, a tenth of year 0's income
    // (art60.activity).
    net.clock = Timestamp::from_utc(y0 + 1, 3, 1, 0);
    spend(&mut net, 100_000, SpendingCategory::CharitableActivity);
    // Into year 2, past the end of June: every deadline of years 0 and 1 has
    // passed.
    net.clock = Timestamp::from_utc(y0 + 2, 7, 15, 0);
    let last = net.sign(
        "charity-federation",
        p::donation(ReceiptNo("BANK-LATE".into()), general.clone(), 1_000, 1),
    );
    net.commit_all(&[last]).unwrap();
    drop(net);

    let r = tokio::task::spawn_blocking({
        let dir = dir.clone();
        let (j, h) = (tmp.path().join("audit.json"), tmp.path().join("audit.html"));
        move || audit::audit(&dir, Some(&dev_genesis()), false, Some(&j), Some(&h), false)
    })
    .await
    .unwrap()
    .unwrap();
    assert!(!r.ok, "{}", r.text);
    let mut codes: Vec<(String, String)> = r.json["audit"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    codes.sort();
    codes.dedup();
    let fed_name = format!("深圳市慈善会 (demo) ({fed})");
    let want: Vec<(String, String)> = vec![
        ("art60.activity".into(), format!("{fed_name} {}", y0 + 1)),
        ("art60.management".into(), format!("{fed_name} {y0}")),
        ("disclosure.project".into(), "project PF-1".into()),
        (
            "disclosure.welfare_fund".into(),
            format!("welfare fund {y0}"),
        ),
        ("welfare.elderly_share".into(), format!("{y0}")),
    ];
    assert_eq!(codes, want, "{}", r.text);
    assert_eq!(r.json["integrity"]["ok"], true);
    assert!(std::fs::read_to_string(tmp.path().join("audit.html"))
        .unwrap()
        .contains("art60.management"));
    let exported = tmp.path().join("donations.csv");
    let s = audit::open_store(&dir).unwrap();
    let e = shanlian_client::commands::export::run(
        &s,
        shanlian_client::commands::export::Table::Donations,
        shanlian_client::commands::export::Format::Csv,
        Some(&exported),
    )
    .unwrap();
    assert_eq!(e.json["rows"], 11);
    drop(s);

    // Reconcile year 0's bank donations against a statement with one line
    // missing, one extra and one amount that differs.
    let net = DevNet::on(Store::open(&dir).unwrap()).unwrap();
    let server = tokio::task::spawn_blocking(move || {
        DevServer::serve(
            net,
            Kind::Honest,
            None,
            std::time::Duration::from_secs(3600),
            false,
            None,
        )
        .unwrap()
    })
    .await
    .unwrap();
    let bank = tmp.path().join("bank.csv");
    let day = Timestamp::from_utc(y0, 1, 1, 0).to_string()[..10].to_string();
    let mut t = String::from("date,amount,reference\n");
    for i in 0..9 {
        let amount = if i == 3 { "999.00" } else { "1000.00" };
        t += &format!("{day},{amount},BANK-{i}\n");
    }
    t += &format!("{day},250.00,UNKNOWN-REF\n");
    std::fs::write(&bank, t).unwrap();
    let nodes = shanlian_client::api::Nodes::new(vec![server.url.clone()]).unwrap();
    let r = audit::reconcile(&bank, fed, &day, &format!("{}-12-31", y0), &nodes)
        .await
        .unwrap();
    assert!(!r.ok, "{}", r.text);
    assert_eq!(r.json["missing_on_ledger"][0]["reference"], "UNKNOWN-REF");
    assert_eq!(r.json["missing_in_bank"][0]["receipt"], "BANK-9");
    assert_eq!(r.json["amounts_differ"][0]["reference"], "BANK-3");
    assert_eq!(r.json["matched"], 9);
}
