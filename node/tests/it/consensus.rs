//! Four validators of the demo genesis, each with its own store, WAL and
//! libp2p identity on a loopback port, agree on blocks through Malachite.

use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::genesis::dev_genesis;
use shanlian_ledger::record::Record;
use shanlian_ledger::types::*;
use shanlian_node::node::{start, Node, NodeOptions};
use shanlian_node::pool::SharedPool;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Members of the demo genesis running nodes on loopback ports, each with
/// its own store, WAL and libp2p identity; every node lists all others as
/// persistent peers.
struct LocalNet {
    genesis: shanlian_ledger::genesis::Genesis,
    members: Vec<shanlian_ledger::genesis::DevMember>,
    labels: Vec<&'static str>,
    ports: Vec<u16>,
    dirs: Vec<tempfile::TempDir>,
}

impl LocalNet {
    fn new(labels: &[&'static str]) -> LocalNet {
        let (genesis, members) = dev_genesis();
        LocalNet {
            genesis,
            members,
            labels: labels.to_vec(),
            ports: labels.iter().map(|_| free_port()).collect(),
            dirs: labels
                .iter()
                .map(|_| tempfile::tempdir().unwrap())
                .collect(),
        }
    }

    fn member(&self, label: &str) -> &shanlian_ledger::genesis::DevMember {
        self.members.iter().find(|m| m.label == label).unwrap()
    }

    fn addr(&self, i: usize) -> String {
        let node = NodeKey(self.member(self.labels[i]).node_key.public().0);
        format!(
            "/ip4/127.0.0.1/tcp/{}/p2p/{}",
            self.ports[i],
            node.peer_id()
        )
    }

    async fn start(&self, i: usize, pool: Vec<Record>) -> Node {
        let m = self.member(self.labels[i]);
        let peers = (0..self.labels.len())
            .filter(|j| *j != i)
            .map(|j| self.addr(j).parse().unwrap())
            .collect();
        start(NodeOptions {
            moniker: self.labels[i].to_string(),
            home: self.dirs[i].path().to_path_buf(),
            genesis: self.genesis.clone(),
            key: Keypair::from_seed(m.key.seed()),
            node_key_seed: m.node_key.seed(),
            listen: format!("/ip4/127.0.0.1/tcp/{}", self.ports[i])
                .parse()
                .unwrap(),
            peers,
            pool: SharedPool::with_records(pool),
            fault: None,
            joining: false,
            signer_state: self.dirs[i].path().join("signer-state"),
            signer_watch: std::time::Duration::ZERO,
            empty_block_interval: std::time::Duration::ZERO,
            pool_log: true,
            propose_timeout: std::time::Duration::from_millis(
                shanlian_node::service::DEFAULT_PROPOSE_TIMEOUT_MS,
            ),
        })
        .await
        .unwrap()
    }

    /// `n` donations to the charity federation's general fund.
    fn donations(&self, prefix: &str, n: u64) -> Vec<Record> {
        let charity = self.member("charity-federation");
        let fund = FundRef::General(Address::of_key(&charity.key.public()));
        shanlian_node::demo::donations(
            &charity.key,
            &self.genesis.hash(),
            &fund,
            prefix,
            n as usize,
            |i| 100 + i,
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_validators_commit_every_record_once() {
    let net = LocalNet::new(&["bureau", "charity-federation", "lottery-centre", "auditor"]);
    let genesis = net.genesis.clone();
    let records = net.donations("E2E", 60);
    let mut nodes: Vec<Node> = Vec::new();
    for i in 0..4 {
        nodes.push(net.start(i, records.clone()).await);
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
    let net = LocalNet::new(&[
        "bureau",
        "charity-federation",
        "lottery-centre",
        "auditor",
        "red-cross",
    ]);
    let genesis = net.genesis.clone();
    let records = net.donations("SYNC", 20);
    let mut validators = Vec::new();
    for i in 0..4 {
        validators.push(net.start(i, records.clone()).await);
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
    let follower = net.start(4, Vec::new()).await;
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
