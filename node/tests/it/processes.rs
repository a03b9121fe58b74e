//! Real `shanlian-node` processes: a local network made by `testnet`,
//! records submitted over HTTP round-robin, bad input refused with the rule
//! that refused it, clean shutdown on SIGTERM, and every store verified.

use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::record::{Record, RecordBody, SignedRecord};
use shanlian_ledger::store::Store;
use shanlian_ledger::testkit::payloads as p;
use shanlian_ledger::types::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_shanlian-node");

/// A base port with `n` free consensus ports and `n` free HTTP ports (+100).
fn free_base(n: u16) -> u16 {
    let seed = std::process::id() as u16;
    for k in 0..200u16 {
        let base = 20_000 + (seed.wrapping_mul(7).wrapping_add(k * 211)) % 30_000;
        let free = (0..n).all(|i| {
            std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()
                && std::net::TcpListener::bind(("127.0.0.1", base + 100 + i)).is_ok()
        });
        if free {
            return base;
        }
    }
    panic!("no free ports");
}

struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn spawn(dir: &Path, i: usize) -> Child {
    let log = std::fs::File::create(dir.join(format!("node-{i}.log"))).unwrap();
    Command::new(BIN)
        .args(["run", "--config"])
        .arg(dir.join(format!("node-{i}/config.toml")))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_network_of_processes() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base(4);
    let out = Command::new(BIN)
        .args([
            "testnet",
            "--validators",
            "4",
            "--base-port",
            &base.to_string(),
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut nodes = Nodes((0..4).map(|i| spawn(dir.path(), i)).collect());
    let http = |i: usize| format!("http://127.0.0.1:{}", base + 100 + i as u16);
    let client = reqwest::Client::new();

    // Wait for every node's HTTP endpoint.
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0..4 {
        while client
            .get(format!("{}/health", http(i)))
            .send()
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "node {i} did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Sign donations as charity-a and submit them round-robin.
    let genesis_text = std::fs::read_to_string(dir.path().join("genesis.toml")).unwrap();
    let genesis = shanlian_ledger::genesis::Genesis::from_toml(&genesis_text).unwrap();
    let gh = genesis.hash();
    let key = Keypair::from_pkcs8_pem(
        &std::fs::read_to_string(dir.path().join("keys/charity-a.pem")).unwrap(),
    )
    .unwrap();
    let fund = FundRef::General(Address::of_key(&key.public()));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let records: Vec<Record> = (0..200u64)
        .map(|i| {
            let body = RecordBody {
                created: Timestamp(now),
                expires: Timestamp(now + 600_000),
                nonce: i,
                payload: p::donation(ReceiptNo(format!("P-{i}")), fund.clone(), 100 + i, 1),
            };
            Record::new(SignedRecord::sign(body, &key, &gh))
        })
        .collect();
    // All to node 0, in eight waves each committed before the next: with
    // gossip, each wave lands in the next block whoever proposes it.
    let deadline = Instant::now() + Duration::from_secs(120);
    for wave in records.chunks(25) {
        for r in wave {
            let resp = client
                .post(format!("{}/v1/records", http(0)))
                .body(r.bytes.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
        }
        for r in wave {
            loop {
                let url = format!("{}/v1/records/{}", http(0), r.id.to_hex());
                let v: serde_json::Value =
                    client.get(url).send().await.unwrap().json().await.unwrap();
                if v["status"] == "committed" {
                    break;
                }
                assert!(Instant::now() < deadline, "record not committed: {v}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    // Bad input gets a clear refusal naming the rule, and changes nothing.
    let resp = client
        .post(format!("{}/v1/records", http(0)))
        .body(vec![1u8, 2, 3])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "record.malformed");
    let mut forged = records[0].signed.clone();
    forged.body.nonce = 9_999;
    let resp = client
        .post(format!("{}/v1/records", http(1)))
        .body(forged.to_bytes())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "signer.bad_signature");

    // Every record committed, as seen from node 0.
    let deadline = Instant::now() + Duration::from_secs(120);
    for r in &records {
        loop {
            let v: serde_json::Value = client
                .get(format!("{}/v1/records/{}", http(0), r.id.to_hex()))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if v["status"] == "committed" {
                break;
            }
            assert!(Instant::now() < deadline, "record not committed: {v}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // An outsider (a node key of no member) cannot connect to the gossip
    // swarm, so a record it publishes — valid, and signed by a member —
    // never reaches a pool.
    let node1_key = Keypair::from_pkcs8_pem(
        &std::fs::read_to_string(dir.path().join("node-1/node.pem")).unwrap(),
    )
    .unwrap();
    let node1 = format!(
        "/ip4/127.0.0.1/tcp/{}/p2p/{}",
        base + 51,
        NodeKey(node1_key.public().0).peer_id()
    );
    let outsider = Keypair::generate();
    let (admissions, _rx) = tokio::sync::mpsc::channel(16);
    let injected = {
        let body = RecordBody {
            created: Timestamp(now),
            expires: Timestamp(now + 600_000),
            nonce: 424_242,
            payload: p::donation(ReceiptNo("OUTSIDER-1".into()), fund.clone(), 5, 1),
        };
        Record::new(SignedRecord::sign(body, &key, &gh))
    };
    let outsider_port = free_base(1);
    let publisher = shanlian_node::gossip::start(
        outsider.seed(),
        format!("/ip4/127.0.0.1/tcp/{outsider_port}")
            .parse()
            .unwrap(),
        vec![node1.parse().unwrap()],
        vec![shanlian_node::gossip::peer_id(&NodeKey(node1_key.public().0)).unwrap()],
        format!("/shanlian/{}/records/v1", genesis.chain_id),
        admissions,
        4096,
    )
    .unwrap();
    publisher.publish(injected.bytes.clone()).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    for i in 0..4 {
        let url = format!("{}/v1/records/{}", http(i), injected.id.to_hex());
        let resp = client.get(url).send().await.unwrap();
        assert_eq!(
            resp.status(),
            404,
            "node {i} received the outsider's record"
        );
    }

    // SIGTERM: every node exits cleanly.
    for c in &nodes.0 {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
    }
    for (i, c) in nodes.0.iter_mut().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                assert!(status.success(), "node {i} exited with {status}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node {i} did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    // Identical histories, each record once, every store verifies.
    let stores: Vec<Store> = (0..4)
        .map(|i| Store::open(&dir.path().join(format!("node-{i}/data/store"))).unwrap())
        .collect();
    let tips: Vec<u64> = stores
        .iter()
        .map(|s| s.tip().unwrap().unwrap().height)
        .collect();
    for (s, tip) in stores.iter().zip(&tips).skip(1) {
        for h in 1..=(*tip).min(tips[0]) {
            assert_eq!(
                s.header(h).unwrap(),
                stores[0].header(h).unwrap(),
                "height {h} differs"
            );
        }
    }
    for s in &stores {
        shanlian_ledger::verify::verify_store(s, Some(&genesis), |_| {}).unwrap();
    }
    let total: usize = (1..=tips[0])
        .map(|h| stores[0].block(h).unwrap().unwrap().records.len())
        .sum();
    assert_eq!(total, records.len(), "every record exactly once");
    // Records reached other nodes' pools by gossip: blocks from more than
    // one proposer carry them, though all were submitted to node 0
    // (without gossip only node 0's blocks could; with it, eight waves all
    // landing in node 0's blocks has probability 4^-8).
    let proposers: std::collections::HashSet<_> = (1..=tips[0])
        .map(|h| stores[0].block(h).unwrap().unwrap())
        .filter(|b| !b.records.is_empty())
        .map(|b| b.header.proposer)
        .collect();
    assert!(
        proposers.len() >= 2,
        "only {} proposer(s) included records: no gossip?",
        proposers.len()
    );
}
