//! A validator with a test-only fault switch proposes invalid blocks; the
//! honest three refuse them, naming the rule, and the chain continues
//! without any of its blocks.

use crate::net::{round_robin, Net};
use shanlian_ledger::types::Address;

async fn faulty_run(fault: &str, code: &str) {
    let mut net = Net::new(4, 0);
    // Node 1 is a charity: its faulty records are ones it could sign.
    for i in [0, 2, 3] {
        net.start(i, &[]);
    }
    net.start(1, &["--test-fault", fault]);
    for i in 0..4 {
        net.wait_up(i).await;
    }
    let records = net.donations(fault, 400);
    round_robin(&net, &[0, 1, 2, 3], &records, 50).await;
    net.wait_committed(0, &records, 300).await;
    // Each honest node refuses one of node 1's blocks, naming the rule. A
    // node that fell behind takes the heights it missed from sync and
    // checks no proposal for them, so the network runs on until each has
    // checked one of node 1's (it proposes every fourth height).
    let refused = |log: &str| {
        log.lines()
            .any(|l| l.contains("refused a proposed block") && l.contains(code))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    while ![0, 2, 3].iter().all(|&i| refused(&net.log(i))) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let h = net.height(0).await;
    net.wait_height(0, h + 4, 120).await;
    net.stop_all();

    let faulty = Address::of_key(&net.member_key(1).public());
    let stores = net.check_stores(&[0, 1, 2, 3]);
    let tip = stores[0].tip().unwrap().unwrap().height;
    for h in 1..=tip {
        let header = stores[0].header(h).unwrap().unwrap();
        assert_ne!(
            header.proposer, faulty,
            "height {h}: a faulty block was committed"
        );
    }
    assert!(net.log(1).contains("TEST FAULT"), "{}", net.log(1));
    for i in [0, 2, 3] {
        let log = net.log(i);
        assert!(refused(&log), "node {i} did not refuse with {code}:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_with_a_bad_signature_is_refused() {
    faulty_run("bad-signature", "signer.bad_signature").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_that_over_spends_is_refused() {
    faulty_run("over-spend", "fund.insufficient").await;
}
