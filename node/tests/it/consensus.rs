//! Four validators of the demo genesis, each with its own store, WAL and
//! libp2p identity on a loopback port, agree on blocks through Malachite.

use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::genesis::dev_genesis;
use shanlian_ledger::record::{Record, RecordBody, SignedRecord};
use shanlian_ledger::testkit::payloads as p;
use shanlian_ledger::types::*;
use shanlian_node::node::{start, Node, NodeOptions};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_validators_commit_every_record_once() {
    let (genesis, members) = dev_genesis();
    let gh = genesis.hash();
    let labels = ["bureau", "charity-federation", "lottery-centre", "auditor"];
    let validators: Vec<_> = labels
        .iter()
        .map(|l| members.iter().find(|m| m.label == *l).unwrap())
        .collect();
    let ports: Vec<u16> = labels.iter().map(|_| free_port()).collect();
    let addr = |i: usize| -> String {
        format!(
            "/ip4/127.0.0.1/tcp/{}/p2p/{}",
            ports[i],
            NodeKey(validators[i].node_key.public().0).peer_id()
        )
    };

    // Records for every pool: donations to the federation's general fund.
    let charity = members
        .iter()
        .find(|m| m.label == "charity-federation")
        .unwrap();
    let fund = FundRef::General(Address::of_key(&charity.key.public()));
    let created = Timestamp(now_ms());
    let records: Vec<Record> = (0..60u64)
        .map(|i| {
            let body = RecordBody {
                created,
                expires: Timestamp(created.0 + 600_000),
                nonce: i,
                payload: p::donation(ReceiptNo(format!("E2E-{i}")), fund.clone(), 100 + i, 1),
            };
            Record::new(SignedRecord::sign(body, &charity.key, &gh))
        })
        .collect();

    let dirs: Vec<_> = labels
        .iter()
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    let mut nodes: Vec<Node> = Vec::new();
    for (i, v) in validators.iter().enumerate() {
        let peers = (0..labels.len())
            .filter(|j| *j != i)
            .map(|j| addr(j).parse().unwrap())
            .collect();
        let pool = Arc::new(Mutex::new(records.clone()));
        let node = start(NodeOptions {
            moniker: labels[i].to_string(),
            home: dirs[i].path().to_path_buf(),
            genesis: genesis.clone(),
            key: Keypair::from_seed(v.key.seed()),
            node_key_seed: v.node_key.seed(),
            listen: format!("/ip4/127.0.0.1/tcp/{}", ports[i]).parse().unwrap(),
            peers,
            pool,
        })
        .await
        .unwrap();
        nodes.push(node);
    }

    // Every record committed on every node, within a bounded time.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let done = nodes.iter().all(|n| {
            records
                .iter()
                .all(|r| n.store.location(&r.id).unwrap().is_some())
        });
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "records not committed in time; tips: {:?}",
            nodes
                .iter()
                .map(|n| n.store.tip().unwrap().map(|t| t.height))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Identical headers at every height every node has; each record once.
    let tips: Vec<u64> = nodes
        .iter()
        .map(|n| n.store.tip().unwrap().unwrap().height)
        .collect();
    let common = *tips.iter().min().unwrap();
    for h in 1..=common {
        let first = nodes[0].store.header(h).unwrap().unwrap();
        for n in &nodes[1..] {
            assert_eq!(
                n.store.header(h).unwrap().unwrap(),
                first,
                "height {h} differs"
            );
        }
    }
    let total: usize = (1..=common)
        .map(|h| nodes[0].store.block(h).unwrap().unwrap().records.len())
        .sum();
    assert_eq!(total, records.len(), "every record exactly once");

    for n in &nodes {
        n.engine.actor.stop(None);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in &nodes {
        let report =
            shanlian_ledger::verify::verify_store(&n.store, Some(&genesis), |_| {}).unwrap();
        assert!(report.height >= common);
    }
}

/// A member's node that is not a validator starts from an empty store after
/// the validators have committed blocks, catches up through Malachite's
/// sync (our GetDecidedValues / ProcessSyncedValue), and verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_node_syncs_from_empty() {
    let (genesis, members) = dev_genesis();
    let gh = genesis.hash();
    let labels = [
        "bureau",
        "charity-federation",
        "lottery-centre",
        "auditor",
        "red-cross",
    ];
    let nodes_keys: Vec<_> = labels
        .iter()
        .map(|l| members.iter().find(|m| m.label == *l).unwrap())
        .collect();
    let ports: Vec<u16> = labels.iter().map(|_| free_port()).collect();
    let addr = |i: usize| -> String {
        format!(
            "/ip4/127.0.0.1/tcp/{}/p2p/{}",
            ports[i],
            NodeKey(nodes_keys[i].node_key.public().0).peer_id()
        )
    };
    let dirs: Vec<_> = labels
        .iter()
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    let charity = members
        .iter()
        .find(|m| m.label == "charity-federation")
        .unwrap();
    let fund = FundRef::General(Address::of_key(&charity.key.public()));
    let created = Timestamp(now_ms());
    let records: Vec<Record> = (0..20u64)
        .map(|i| {
            let body = RecordBody {
                created,
                expires: Timestamp(created.0 + 600_000),
                nonce: i,
                payload: p::donation(ReceiptNo(format!("SYNC-{i}")), fund.clone(), 100 + i, 1),
            };
            Record::new(SignedRecord::sign(body, &charity.key, &gh))
        })
        .collect();
    let start_node = |i: usize, pool: Vec<Record>| {
        let peers = (0..labels.len())
            .filter(|j| *j != i)
            .map(|j| addr(j).parse().unwrap())
            .collect();
        start(NodeOptions {
            moniker: labels[i].to_string(),
            home: dirs[i].path().to_path_buf(),
            genesis: genesis.clone(),
            key: Keypair::from_seed(nodes_keys[i].key.seed()),
            node_key_seed: nodes_keys[i].node_key.seed(),
            listen: format!("/ip4/127.0.0.1/tcp/{}", ports[i]).parse().unwrap(),
            peers,
            pool: Arc::new(Mutex::new(pool)),
        })
    };
    let mut validators = Vec::new();
    for i in 0..4 {
        validators.push(start_node(i, records.clone()).await.unwrap());
    }
    // Let the validators commit every record and a few more blocks.
    let deadline = Instant::now() + Duration::from_secs(90);
    while !records
        .iter()
        .all(|r| validators[0].store.location(&r.id).unwrap().is_some())
        || validators[0].store.tip().unwrap().unwrap().height < 6
    {
        assert!(Instant::now() < deadline, "validators did not commit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let target = validators[0].store.tip().unwrap().unwrap().height;

    // The fifth node starts empty and must catch up.
    let follower = start_node(4, Vec::new()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while follower.store.tip().unwrap().map(|t| t.height).unwrap_or(0) < target {
        assert!(
            Instant::now() < deadline,
            "follower stuck at {:?}, validators at {target}",
            follower.store.tip().unwrap().map(|t| t.height)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for h in 1..=target {
        assert_eq!(
            follower.store.header(h).unwrap(),
            validators[0].store.header(h).unwrap(),
            "height {h}"
        );
    }
    for r in &records {
        assert!(follower.store.location(&r.id).unwrap().is_some());
    }
    for n in validators.iter().chain([&follower]) {
        n.engine.actor.stop(None);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    shanlian_ledger::verify::verify_store(&follower.store, Some(&genesis), |_| {}).unwrap();
}
