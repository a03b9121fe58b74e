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
    // A node's submission port is not an explorer: said so.
    let (code, _, out) = run(common(&["audit", "compare", &e1, &net.http(2)]));
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("not an explorer"), "{out}");

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
    // The bound counts the certificates' signatures too: at least three a
    // block on this 4-validator network.
    assert!(
        v["integrity"]["certificate_signatures"].as_u64().unwrap()
            >= 3 * v["integrity"]["height"].as_u64().unwrap(),
        "{out}"
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

/// A verifiable draw end to end with the command line on a real network:
/// the entry set built from a CSV, the centre opens, the auditor commits,
/// both reveal after the beacon block, the auditor settles; anyone
/// recomputes it from certified parts, an entrant checks its entry, and a
/// tampered disclosure or a foreign entry is caught.
#[tokio::test(flavor = "multi_thread")]
async fn a_verifiable_draw_on_a_real_network() {
    let mut net = Net::new(4, 0);
    net.start_all(0..4).await;
    net.wait_height(0, 2, 60).await;
    let dir = net.path().to_path_buf();
    let genesis = dir.join("genesis.toml");
    let (e0, e1) = (net.explorer(0), net.explorer(1));
    let as_member = |node: usize, extra: &[&str]| -> (i32, serde_json::Value, String) {
        let key = dir.join(format!("node-{node}/member.pem"));
        let mut v: Vec<String> = vec![
            "--genesis".into(),
            genesis.display().to_string(),
            "--key".into(),
            key.display().to_string(),
            "--explorer".into(),
            e0.clone(),
            "--explorer".into(),
            e1.clone(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        shanlian(&refs)
    };
    const CENTRE: usize = 2; // testnet: node 2 is the lottery centre
    const AUDITOR: usize = 3; // and node 3 the auditor

    // 50 entrants; the entry set and each entrant's proof.
    let csv = dir.join("entrants.csv");
    let mut text = String::from("entry\n");
    for i in 0..50 {
        text += &format!("4403011990{i:08}\n");
    }
    std::fs::write(&csv, text).unwrap();
    let set = dir.join("draw-set");
    let (code, v, out) = as_member(
        CENTRE,
        &[
            "lottery",
            "draw-entries",
            csv.to_str().unwrap(),
            "--out",
            set.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(v["entries"], 50, "{out}");
    let entries = set.join("entries.json");
    let (s1, s2) = (dir.join("centre.seed"), dir.join("auditor.seed"));
    let (code, v, out) = as_member(
        CENTRE,
        &[
            "lottery",
            "open-draw",
            "E2E-DRAW-1",
            "--title",
            "彩民回馈抽奖 e2e",
            "--entries",
            entries.to_str().unwrap(),
            "--winners",
            "3",
            "--closes-in",
            "6",
            "--reveal-window",
            "2000",
            "--seed-out",
            s1.to_str().unwrap(),
            "--wait",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(v["status"], "committed", "{out}");
    let (code, _, out) = as_member(
        AUDITOR,
        &[
            "lottery",
            "commit-seed",
            "E2E-DRAW-1",
            "--seed-out",
            s2.to_str().unwrap(),
            "--wait",
        ],
    );
    assert_eq!(code, 0, "{out}");
    // A charity may not commit (not invited), and nobody settles early.
    let (code, v, out) = as_member(
        1,
        &[
            "lottery",
            "commit-seed",
            "E2E-DRAW-1",
            "--seed-out",
            dir.join("x.seed").to_str().unwrap(),
            "--wait",
        ],
    );
    assert_ne!(code, 0, "{out}");
    assert_eq!(v["code"], "draw.not_invited", "{out}");
    for (who, seed) in [(CENTRE, &s1), (AUDITOR, &s2)] {
        let (code, _, out) = as_member(
            who,
            &[
                "lottery",
                "reveal",
                "E2E-DRAW-1",
                "--seed",
                seed.to_str().unwrap(),
                "--wait",
                "--timeout",
                "120",
            ],
        );
        assert_eq!(code, 0, "{out}");
    }
    let (code, v, out) = as_member(AUDITOR, &["lottery", "settle", "E2E-DRAW-1", "--wait"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(v["status"], "committed", "{out}");
    let settled_at = v["height"].as_u64().unwrap();
    // Anyone recomputes it from the certified chain, with the disclosed set.
    let (code, v, out) = as_member(
        0,
        &[
            "lottery",
            "verify-draw",
            "E2E-DRAW-1",
            "--entries",
            entries.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(v["status"], "settled", "{out}");
    let winners: Vec<u64> = v["winners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_u64().unwrap())
        .collect();
    assert_eq!(winners.len(), 3);
    // An entrant checks its own line of proofs.csv.
    // (index, entry, salt, path): no field holds a comma or a quote.
    let proofs = std::fs::read_to_string(set.join("proofs.csv")).unwrap();
    let rows: Vec<Vec<&str>> = proofs
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 50);
    for (i, row) in rows.iter().enumerate().take(50) {
        if !(winners.contains(&(i as u64)) || i < 2) {
            continue;
        }
        let (code, v, out) = as_member(
            0,
            &[
                "lottery",
                "check-entry",
                "E2E-DRAW-1",
                "--entry",
                row[1],
                "--salt",
                row[2],
                "--index",
                row[0],
                "--path",
                row[3],
            ],
        );
        assert_eq!(code, 0, "{out}");
        assert_eq!(v["included"], true, "{out}");
        assert_eq!(v["won"], winners.contains(&(i as u64)), "{out}");
    }
    // Someone else's entry with a row's salt and path is not in.
    let row = &rows[0];
    let (code, v, out) = as_member(
        0,
        &[
            "lottery",
            "check-entry",
            "E2E-DRAW-1",
            "--entry",
            "not-an-entrant",
            "--salt",
            row[2],
            "--index",
            row[0],
            "--path",
            row[3],
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert_eq!(v["included"], false, "{out}");
    // A disclosed set with one commitment swapped does not match the root.
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&entries).unwrap()).unwrap();
    doc["commitments"][7] = serde_json::json!("00".repeat(32));
    let tampered = dir.join("tampered.json");
    std::fs::write(&tampered, doc.to_string()).unwrap();
    let (code, v, out) = as_member(
        0,
        &[
            "lottery",
            "verify-draw",
            "E2E-DRAW-1",
            "--entries",
            tampered.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        v["problems"][0]
            .as_str()
            .unwrap()
            .contains("not the one the draw committed to"),
        "{out}"
    );
    // A second outcome is refused, by nodes that have committed the first
    // (the client submits through explorers 0 and 1; one may be a block
    // behind the one that reported the first settle committed, and would
    // then rightly answer from its own state: not ready yet).
    net.wait_height(0, settled_at, 60).await;
    net.wait_height(1, settled_at, 60).await;
    let (code, v, out) = as_member(CENTRE, &["lottery", "settle", "E2E-DRAW-1", "--wait"]);
    assert_ne!(code, 0, "{out}");
    assert_eq!(v["code"], "draw.settled", "{out}");
}

/// A 202 and then the node SIGKILLed at once: the record may never have
/// left that node, but a client that keeps asking — and resubmits the same
/// bytes when no node knows it (records are idempotent by id) — still sees
/// it committed.
#[tokio::test(flavor = "multi_thread")]
async fn a_record_accepted_by_a_node_killed_at_once_still_commits() {
    let mut net = Net::new(4, 0);
    net.start_all(0..4).await;
    net.wait_height(0, 2, 60).await;
    let record = net.donations("KILLED-202", 1).remove(0);
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/records", net.http(0)))
        .body(record.bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    net.kill(0);
    let nodes = shanlian_client::api::Nodes::new(vec![net.explorer(1), net.explorer(2)]).unwrap();
    let (height, _) = nodes
        .wait(
            &record.id,
            &record.bytes,
            std::time::Duration::from_secs(60),
        )
        .await
        .expect("the record is committed through the other nodes");
    assert!(height > 0);
}

/// A 202 is on disk before it is answered: with the other validators down
/// (so no peer has the records), node 0 answers 202 for a single record
/// and for a batch, is SIGKILLed, and comes back with them pending from its
/// pool log; once the others return, they commit — no client resubmits.
#[tokio::test(flavor = "multi_thread")]
async fn a_202_survives_a_crash_of_the_only_node_holding_it() {
    let mut net = Net::new(4, 0);
    net.start_all(0..4).await;
    net.wait_height(0, 2, 60).await;
    for i in 1..4 {
        assert!(net.stop(i).success());
    }
    let records = net.donations("POOL-LOG", 4);
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{}/v1/records", net.http(0)))
        .body(records[0].bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let resp = client
        .post(format!("{}/v1/records/batch", net.http(0)))
        .body(crate::net::batch_body(&records[1..]))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["accepted"], 3, "{v}");
    net.kill(0);
    net.start_all(0..4).await;
    net.wait_committed(0, &records, 60).await;
    assert!(
        net.log(0)
            .contains("pool log: records this node had accepted are pending again"),
        "{}",
        net.log(0)
    );
    net.stop_all();
}
