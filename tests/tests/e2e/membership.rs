//! Membership: a member's node that is not a validator syncs the whole
//! chain from an empty store; then the bureau makes it a validator, and
//! from the stated height it votes and certificates need it.

use crate::net::Net;
use shanlian_ledger::record::{Payload, SetValidator};
use shanlian_ledger::types::Address;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_node_syncs_then_the_bureau_makes_it_a_validator() {
    let mut net = Net::new(4, 1);
    net.start_all(0..4).await;
    let records = net.donations("SYNC", 400);
    crate::net::round_robin(&net, &[0, 1, 2, 3], &records, 100).await;
    net.wait_committed(0, &records, 300).await;
    net.wait_height(0, 8, 120).await;

    // Node 4 (charity member-4, power 0) starts from an empty store.
    let target = net.height(0).await;
    net.start(4, &[]);
    net.wait_up(4).await;
    net.wait_height(4, target, 180).await;

    // The bureau (node 0's member) makes member-4 a validator.
    let newcomer = Address::of_key(&net.member_key(4).public());
    let now = net.height(0).await;
    let effective = now + 6;
    let set = net.sign(
        &net.member_key(0),
        1,
        Payload::SetValidator(SetValidator {
            member: newcomer,
            power: 10,
            effective_height: effective,
        }),
    );
    net.submit(0, std::slice::from_ref(&set)).await;
    net.wait_committed(0, std::slice::from_ref(&set), 120).await;
    net.wait_height(0, effective + 2, 180).await;

    // With five validators of power 10, a certificate needs four. Without
    // node 3, only node 4's votes can make up the fourth.
    net.stop(3);
    let stopped_at = net.height(0).await;
    let more = net.donations("AFTER", 200);
    crate::net::round_robin(&net, &[0, 1, 2, 4], &more, 50).await;
    net.wait_committed(0, &more, 300).await;
    net.wait_height(0, stopped_at + 3, 120).await;
    let end = net.height(0).await;
    net.wait_height(4, end, 120).await;

    net.stop_all();
    // Node 4's store was synced from nothing: verifying it checks every
    // certificate against the validator set of its height.
    let stores = net.check_stores(&[0, 1, 2, 4]);
    let s = &stores[0];
    for h in 1..effective {
        let cert = s.certificate(h).unwrap().unwrap();
        assert!(
            cert.signatures.iter().all(|x| x.validator != newcomer),
            "height {h}: a vote of member-4 before it was a validator"
        );
    }
    for h in (stopped_at + 1)..=end {
        let cert = s.certificate(h).unwrap().unwrap();
        assert!(
            cert.signatures.iter().any(|x| x.validator == newcomer),
            "height {h}: certified without member-4's vote while node 3 was down"
        );
        let set = s.header(h).unwrap().unwrap().validator_set_hash;
        assert_ne!(set, s.header(1).unwrap().unwrap().validator_set_hash);
    }
}

/// The bureau suspends a member: every node drops the connections of that
/// member's node on both swarms, and it receives no more blocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_members_node_is_cut_off() {
    let mut net = Net::new(4, 1);
    net.start_all(0..5).await;
    net.wait_height(4, 3, 120).await;
    let peers = |v: &serde_json::Value, swarm: &str| v["peers"][swarm].as_i64().unwrap_or(-1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let h = net.health(0).await;
        if peers(&h, "consensus") == 4 && peers(&h, "gossip") == 4 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "node 4 never connected: {h}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    let member = Address::of_key(&net.member_key(4).public());
    let suspend = net.sign(
        &net.member_key(0),
        2,
        Payload::SuspendMember(shanlian_ledger::record::SuspendMember {
            member,
            reason: "test: licence withdrawn".into(),
        }),
    );
    net.submit(0, std::slice::from_ref(&suspend)).await;
    net.wait_committed(0, std::slice::from_ref(&suspend), 120)
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let cut = all_validators(&net, |h| {
            peers(h, "consensus") == 3 && peers(h, "gossip") == 3
        })
        .await;
        if cut {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "node 4 still connected: {}",
            net.health(0).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let stalled = net.height(4).await;
    let more = net.donations("AFTER-SUSPEND", 50);
    crate::net::round_robin(&net, &[0, 1, 2, 3], &more, 25).await;
    net.wait_committed(0, &more, 120).await;
    net.wait_height(0, stalled + 3, 60).await;
    // A negative condition (no block reaches node 4) has nothing to poll
    // for: give a connected node ample time to have synced, then look.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(
        net.height(4).await <= stalled + 1,
        "the suspended member's node still gets blocks"
    );
    net.stop_all();
    net.check_stores(&[0, 1, 2, 3]);
}

/// Whether `ok` holds for the health of each of the four validators.
async fn all_validators(net: &Net, ok: impl Fn(&serde_json::Value) -> bool) -> bool {
    for i in 0..4 {
        if !ok(&net.health(i).await) {
            return false;
        }
    }
    true
}

/// The catch-up benchmark, small: validators on a certified chain built
/// off the network; a member's node that starts empty syncs all of it
/// (every block checked) and the bench prints its JSON line.
#[test]
fn an_empty_node_catches_up_with_a_prebuilt_chain() {
    let _one = crate::net::one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let base = crate::net::free_base(5);
    let out = std::process::Command::new(crate::net::BIN)
        .args([
            "catchup-bench",
            "--records",
            "3000",
            "--block-records",
            "500",
            "--timeout-seconds",
            "120",
            "--base-port",
            &base.to_string(),
            "--dir",
        ])
        .arg(dir.path().join("net"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["bench"], "catchup");
    assert_eq!(v["records"], 3000);
    assert_eq!(v["blocks"], 6);
    assert!(v["records_per_s"].as_f64().unwrap() > 0.0, "{v}");
    assert!(v["replay_records_per_s"].as_f64().unwrap() > 0.0, "{v}");
}
