//! The `shanlian` command line and the explorer against a real 4-validator
//! network: a donation with its receipt, verified offline and online (with
//! one explorer down), a CSV import and its re-run, nodes compared, the
//! chain downloaded through an explorer and audited.

use super::net::Net;
use std::process::Command;

const SHANLIAN: &str = env!("CARGO_BIN_EXE_shanlian-e2e");

fn shanlian(args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = Command::new(SHANLIAN)
        .args(args)
        .arg("--json")
        .env_remove("SHANLIAN_CONFIG")
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let v = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        format!("{text}\n{}", String::from_utf8_lossy(&out.stderr)),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_on_a_real_network() {
    let mut net = Net::new(4, 0);
    net.start_all(0..4).await;
    net.wait_height(0, 2, 60).await;
    let dir = net.path().to_path_buf();
    let genesis = dir.join("genesis.toml");
    let key = dir.join("keys/charity-a.pem");
    let (e0, e1, e2, e3) = (
        net.explorer(0),
        net.explorer(1),
        net.explorer(2),
        net.explorer(3),
    );
    let common = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec![
            "--genesis".into(),
            genesis.display().to_string(),
            "--key".into(),
            key.display().to_string(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        shanlian(&refs)
    };

    // A donation through node 0's explorer, waited for; the receipt file.
    let receipt = dir.join("receipt.json");
    let (code, v, out) = run(common(&[
        "--explorer",
        &e0,
        "--explorer",
        &e1,
        "donation",
        "--receipt",
        "E2E-0001",
        "--amount",
        "520.00",
        "--channel",
        "bank",
        "--donor-identity",
        "440301199505050055",
        "--wait",
        "--receipt-out",
        receipt.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{out}");
    assert_eq!(v["status"], "committed", "{out}");
    let id = v["id"].as_str().unwrap().to_string();

    // Offline, then online with node 0 down: the next explorer answers.
    let (code, v, out) = run(common(&[
        "verify",
        receipt.to_str().unwrap(),
        "--identity",
        "440301199505050055",
    ]));
    assert_eq!(code, 0, "{out}");
    assert_eq!(v["donor_commitment_opens"], true);
    net.kill(0);
    let (code, v, out) = run(common(&[
        "--explorer",
        &e0,
        "--explorer",
        &e1,
        "verify",
        receipt.to_str().unwrap(),
        "--online",
    ]));
    assert_eq!(code, 0, "{out}");
    assert_eq!(v["consistency"]["ok"], true, "{out}");
    let (code, v, out) = run(common(&[
        "--explorer",
        &e0,
        "--explorer",
        &e2,
        "trace",
        &id,
    ]));
    assert_eq!(code, 0, "{out}");
    assert_eq!(v["steps"][0]["what"]["kind"], "not_shown_spent", "{out}");

    // A CSV import through the three nodes still up, then its re-run.
    let csv = dir.join("donations.csv");
    let mut text = String::from("receipt,amount,channel,donor_identity\n");
    for i in 0..300 {
        text += &format!(
            "E2E-IMP-{i:05},{}.00,online,4403011970{i:08}\n",
            1 + i % 500
        );
    }
    text += "E2E-IMP-BAD,abc,online,x\n";
    std::fs::write(&csv, text).unwrap();
    let (code, v, out) = run(common(&[
        "--explorer",
        &e1,
        "--explorer",
        &e2,
        "--explorer",
        &e3,
        "import",
        "donations",
        csv.to_str().unwrap(),
        "--batch",
        "100",
    ]));
    assert_eq!(code, 1, "a bad row: {out}");
    assert_eq!(v["committed"], 300, "{out}");
    assert_eq!(v["bad_rows"][0]["line"], 302, "{out}");
    let (_, v, out) = run(common(&[
        "--explorer",
        &e2,
        "import",
        "donations",
        csv.to_str().unwrap(),
    ]));
    assert_eq!(v["committed"], 0, "{out}");
    assert_eq!(v["already_on_ledger"], 300, "{out}");

    // The nodes that are up agree.
    let (code, v, out) = run(common(&["audit", "compare", &e1, &e2, &e3]));
    assert_eq!(code, 0, "{out}");
    assert_eq!(v["ok"], true);

    // An auditor downloads the chain through one explorer, verifying every
    // block, and audits it: no findings on this chain.
    let store = dir.join("auditor-chain");
    let (code, v, out) = run(common(&[
        "--explorer",
        &e3,
        "audit",
        "download",
        "--store",
        store.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{out}");
    assert!(v["records"].as_u64().unwrap() >= 301, "{out}");
    let (code, v, out) = run(common(&[
        "audit",
        "run",
        "--store",
        store.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{out}");
    assert_eq!(v["integrity"]["ok"], true, "{out}");
    assert!(
        v["integrity"]["signature_bound_records_per_s"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    // A second download resumes where the store ends.
    let (code, _, out) = run(common(&[
        "--explorer",
        &e1,
        "audit",
        "download",
        "--store",
        store.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{out}");
}
