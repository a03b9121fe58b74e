//! Load: every record committed exactly once with identical histories,
//! and a validator killed under load that catches up.

use crate::net::{committed_ids, round_robin, Net};
use std::time::Duration;

/// 10,000 records submitted round-robin to all four validators are each
/// committed exactly once; all nodes hold identical headers at every
/// height; every store verifies. Bad input is refused with the rule that
/// refused it; metrics and health report what happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_records_round_robin_commit_exactly_once() {
    let mut net = Net::new(4, 0);
    net.start_all(0..4).await;
    let records = net.donations("RR", 10_000);
    round_robin(&net, &[0, 1, 2, 3], &records, 250).await;

    // Bad input: a clear refusal naming the rule.
    let resp = net
        .client
        .post(format!("{}/v1/records", net.http(0)))
        .body(vec![1u8, 2, 3])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["code"], "record.malformed");
    let mut forged = records[0].signed.clone();
    forged.body.nonce = 9_999;
    let resp = net
        .client
        .post(format!("{}/v1/records", net.http(1)))
        .body(forged.to_bytes())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["code"], "signer.bad_signature");
    let resp = net
        .client
        .post(format!("{}/v1/records/batch", net.http(2)))
        .body(vec![200u8, 0, 0, 0, 1])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    net.wait_committed(0, &records, 600).await;
    let height = net.height(0).await;
    for i in 1..4 {
        net.wait_height(i, height, 60).await;
    }

    // Health and metrics tell an operator what happened.
    let health = net.health(0).await;
    assert!(health["height"].as_u64().unwrap() >= height, "{health}");
    assert_eq!(health["peers"]["consensus"], 3, "{health}");
    let metrics = net
        .client
        .get(net.metrics_url(0))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        net.metric(0, "shanlian_records_committed_total").await,
        records.len() as f64
    );
    for name in [
        "shanlian_height",
        "shanlian_round",
        "shanlian_pool_records",
        "shanlian_block_records_bucket",
        "shanlian_commit_latency_seconds_bucket",
        "shanlian_peers",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    // A load the network carries costs no node its peers' gossip: a batch
    // dropped is never sent again, and its records then wait for the node
    // they were submitted to to propose (admission used to count batches,
    // and dropped them whenever a commit kept the app loop busy).
    for i in 0..4 {
        assert_eq!(
            net.metric(i, "shanlian_gossip_batches_dropped_total").await,
            0.0,
            "node {i} dropped gossip batches under a load it carries"
        );
    }

    net.stop_all();
    let stores = net.check_stores(&[0, 1, 2, 3]);
    Net::assert_exactly_once(&stores[0], &records);
    // Gossip: some record went into a block proposed by a node it was not
    // submitted to (batch k of 250 went to node k % 4).
    let node_of: std::collections::HashMap<_, usize> = (0..4)
        .map(|i| {
            (
                shanlian_ledger::types::Address::of_key(&net.member_key(i).public()),
                i,
            )
        })
        .collect();
    let submitted_to: std::collections::HashMap<_, usize> = records
        .iter()
        .enumerate()
        .map(|(k, r)| (r.id, (k / 250) % 4))
        .collect();
    let tip = stores[0].tip().unwrap().unwrap().height;
    let gossiped = (1..=tip).any(|h| {
        let b = stores[0].block(h).unwrap().unwrap();
        let proposer = node_of[&b.header.proposer];
        b.records.iter().any(|bytes| {
            submitted_to[&shanlian_ledger::types::RecordId::of_bytes(bytes)] != proposer
        })
    });
    assert!(
        gossiped,
        "every record was proposed by the node it was submitted to: no gossip?"
    );
}

/// One validator is SIGKILLed while records keep coming: the other three
/// keep committing; restarted, it catches up (its WAL and stored proposals
/// replayed) and its store verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_killed_under_load_catches_up() {
    let mut net = Net::new(4, 0);
    net.start_all(0..4).await;
    let records = net.donations("KILL", 3_000);
    let (first, rest) = records.split_at(600);
    round_robin(&net, &[0, 1, 2, 3], first, 100).await;
    net.wait_height(3, 3, 120).await;

    // Load continues; node 3 dies mid-stream.
    let (a, b) = rest.split_at(1200);
    let feeding = {
        let urls: Vec<String> = (0..3).map(|i| net.http(i)).collect();
        let client = net.client.clone();
        let a = a.to_vec();
        tokio::spawn(async move {
            for (k, chunk) in a.chunks(100).enumerate() {
                let resp = client
                    .post(format!("{}/v1/records/batch", urls[k % 3]))
                    .body(crate::net::batch_body(chunk))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    // Under load: the first batches are committed, the rest still coming.
    net.wait_committed(0, &a[..200], 120).await;
    net.kill(3);
    let at_kill = net.height(0).await;
    feeding.await.unwrap();
    net.wait_committed(0, a, 300).await;
    net.wait_height(0, at_kill + 3, 120).await;

    // Restarted, it catches up with the others, then takes part again.
    net.start(3, &[]);
    net.wait_up(3).await;
    let target = net.height(0).await;
    net.wait_height(3, target, 180).await;
    round_robin(&net, &[3, 2, 1, 0], b, 100).await;
    net.wait_committed(3, &records, 300).await;
    let h = net.height(3).await;
    for i in 0..3 {
        net.wait_height(i, h, 60).await;
    }
    net.stop_all();
    let stores = net.check_stores(&[0, 1, 2, 3]);
    let ids = committed_ids(&stores[3]);
    assert_eq!(ids.len(), records.len(), "each record exactly once");
}

/// An idle network makes only heartbeat blocks (testnet: one per 500 ms),
/// not a block per consensus round; a record still starts a block at once.
#[tokio::test(flavor = "multi_thread")]
async fn an_idle_network_makes_heartbeat_blocks_only() {
    let mut net = Net::new(4, 0);
    net.start_all(0..4).await;
    net.wait_height(0, 2, 60).await;
    let h0 = net.height(0).await;
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let blocks = net.height(0).await - h0;
    // 4 s at one block per 500 ms is 8; before the heartbeat it was hundreds.
    assert!(
        (4..=12).contains(&blocks),
        "{blocks} blocks in 4 s of idling"
    );
    // A record is committed well before the next heartbeat would come.
    let records = net.donations("IDLE", 1);
    let t = std::time::Instant::now();
    net.submit(0, &records).await;
    net.wait_committed(0, &records, 30).await;
    let took = t.elapsed();
    assert!(
        took < std::time::Duration::from_millis(2_000),
        "a record on an idle network took {took:?}"
    );
}

/// A record that the block under check already holds is pending, never
/// refused (issue 11, item 3). Node 3 takes no part in record gossip (it
/// listens for gossip where nobody dials and dials nobody), so it learns of
/// the records submitted to node 0 only from blocks. Each record is also
/// submitted to node 3, at a delay spread over 1.5 s after node 0 took it:
/// before its block (node 3 pools it), while node 3 checks the block
/// holding it (the race), or after the commit. Every answer must be
/// "accepted", except a duplicate refusal for a record node 3 has already
/// committed (asked right after the answer); node 3 counts the records it
/// answered from a block under check, and that count must not be zero, so
/// the race did happen (phases of 2,000 records repeat until it has, at
/// most six). All records commit exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_in_a_block_under_check_is_pending_not_refused() {
    let mut net = Net::new(4, 0);
    let config = net.path().join("node-3/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("gossip_listen") {
                "gossip_listen = \"/ip4/127.0.0.1/tcp/0\"".to_string()
            } else if l.starts_with("gossip_peers") {
                "gossip_peers = []".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&config, text).unwrap();
    net.start_all(0..4).await;

    // Phases of 2,000 records until node 3 has answered some from a block
    // under check (timing on a shared machine varies), at most six.
    let mut records = Vec::new();
    let (mut refused_committed, mut accepted_at_3, mut from_open) = (0, 0, 0.0);
    for phase in 0..6 {
        let batch_of = net.donations(&format!("OPEN{phase}"), 2_000);
        let first = records.len();
        records.extend(batch_of);
        // (milliseconds from the phase's start, node, record index)
        let mut plan: Vec<(u64, usize, usize)> = Vec::new();
        for (g, group) in (first..records.len())
            .collect::<Vec<_>>()
            .chunks(400)
            .enumerate()
        {
            let at = g as u64 * 300;
            for &i in group {
                plan.push((at, 0, i));
                plan.push((at + (i as u64 * 37) % 1_500, 3, i));
            }
        }
        plan.sort();
        let start = std::time::Instant::now();
        let mut next = 0;
        while next < plan.len() {
            let now = start.elapsed().as_millis() as u64;
            for node in [0, 3] {
                let due: Vec<usize> = plan[next..]
                    .iter()
                    .take_while(|(t, _, _)| *t <= now)
                    .filter(|(_, n, _)| *n == node)
                    .map(|(_, _, i)| *i)
                    .collect();
                if due.is_empty() {
                    continue;
                }
                let batch: Vec<_> = due.iter().map(|&i| records[i].clone()).collect();
                let v = net.submit_batch(node, &batch).await;
                let refused = v["refused"].as_array().unwrap();
                if node == 0 {
                    assert!(refused.is_empty(), "node 0 refused: {v}");
                    continue;
                }
                accepted_at_3 += v["accepted"].as_u64().unwrap();
                for r in refused {
                    let index = r["index"].as_u64().unwrap() as usize;
                    let id = batch[index].id.to_hex();
                    let status = net
                        .get_json(&format!("{}/v1/records/{id}", net.http(3)))
                        .await;
                    assert!(
                        r["code"] == "record.duplicate" && status["status"] == "committed",
                        "node 3 refused a record it has not committed: {r}, now {status}"
                    );
                    refused_committed += 1;
                }
            }
            while next < plan.len() && plan[next].0 <= now {
                next += 1;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        net.wait_committed(3, &records[first..], 300).await;
        from_open = net
            .metric(3, "shanlian_pending_from_open_block_total")
            .await;
        if from_open > 0.0 {
            break;
        }
    }
    eprintln!(
        "node 3: {accepted_at_3} accepted ({from_open} from a block under check), \
         {refused_committed} refused as already committed, of {} records",
        records.len()
    );
    assert!(
        from_open > 0.0,
        "no submission met a block under check in six phases: the race was not tested"
    );
    net.stop_all();
    let stores = net.check_stores(&[0, 1, 2, 3]);
    Net::assert_exactly_once(&stores[3], &records);
}
