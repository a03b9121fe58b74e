//! Flip single bytes in stored blocks, headers, certificates, records,
//! state, trace rows, indexes and log tiles: the verifier must catch every
//! one, and pass again once the byte is restored.

use crate::store::build_chain;
use shanlian_ledger::keys as t;
use shanlian_ledger::testkit::DevNet;
use shanlian_ledger::verify::verify_store;

/// Every flip in `step` of the value at `key` fails the full verifier.
fn flips(net: &DevNet, key: &[u8], step: usize) -> usize {
    flips_caught_by(net, key, step, |net| {
        verify_store(&net.store, None, |_| {})
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

#[test]
fn every_flipped_byte_is_detected() {
    let mut net = DevNet::new().unwrap();
    build_chain(&mut net, 3);
    let report = verify_store(&net.store, Some(&net.genesis), |_| {}).unwrap();
    assert_eq!(report.height, 4);
    assert_eq!(report.records, 2 + 3 * 9);
    let h = 3u64;
    let mut n = 0;
    n += flips(&net, &t::height_key(t::CERTIFICATES, h), 1);
    n += flips(&net, &t::height_key(t::HEADERS, h), 1);
    // The block holds the header and then each record's bytes.
    n += flips(&net, &t::height_key(t::BLOCKS, h), 3);
    // A state entry, a trace row, an index entry and a log tile.
    for family in [
        t::FUNDS,
        t::DONATIONS,
        t::TRACE_SOURCES,
        t::TRACE_OUTFLOWS,
        t::RECORD_IDS,
        t::FUND_RECORDS,
        t::TILES,
    ] {
        let (key, _) = net
            .store
            .scan_range(&[family], &[family + 1])
            .next()
            .unwrap()
            .unwrap();
        n += flips(&net, &key, 1);
    }
    assert!(n > 2_000, "only {n} flips tried");
}

#[test]
fn removed_and_extra_entries_are_detected() {
    let mut net = DevNet::new().unwrap();
    build_chain(&mut net, 2);
    for family in [t::DONATIONS, t::TRACE_SOURCES, t::DONORS] {
        let (key, value) = net
            .store
            .scan_range(&[family], &[family + 1])
            .next()
            .unwrap()
            .unwrap();
        net.store.put_raw(&key, &value).unwrap();
        let mut extra = key.clone();
        extra.push(0);
        net.store.put_raw(&extra, &value).unwrap();
        let err = verify_store(&net.store, None, |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&hex::encode(&extra)) && err.contains("not in the replay"),
            "extra entry in family {family:#x}: {err}"
        );
        net.store.remove_raw(&extra).unwrap();
        net.store.remove_raw(&key).unwrap();
        let err = verify_store(&net.store, None, |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&hex::encode(&key)) && err.contains("missing"),
            "missing entry in family {family:#x}: {err}"
        );
        net.store.put_raw(&key, &value).unwrap();
        verify_store(&net.store, None, |_| {}).unwrap();
    }
}

/// The verifier names what is wrong: a deleted block body is reported as
/// missing at its height (not as a bad signature of the next block), and a
/// corrupted value as malformed at its height.
#[test]
fn the_verifier_names_the_failure() {
    use shanlian_ledger::verify::VerifyError;
    let mut net = DevNet::new().unwrap();
    build_chain(&mut net, 3);
    let key = t::height_key(t::BLOCKS, 3);
    let body = net.store.raw(&key).unwrap().unwrap();
    net.store.remove_raw(&key).unwrap();
    let err = verify_store(&net.store, None, |_| {}).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Missing {
                height: 3,
                what: "block"
            }
        ),
        "{err}"
    );
    assert_eq!(err.to_string(), "height 3: block is missing");
    net.store.put_raw(&key, &body).unwrap();
    let cert_key = t::height_key(t::CERTIFICATES, 2);
    let cert = net.store.raw(&cert_key).unwrap().unwrap();
    net.store
        .put_raw(&cert_key, &cert[..cert.len() - 1])
        .unwrap();
    let err = verify_store(&net.store, None, |_| {}).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Malformed {
                height: 2,
                what: "certificate",
                ..
            }
        ),
        "{err}"
    );
    net.store.put_raw(&cert_key, &cert).unwrap();
    verify_store(&net.store, None, |_| {}).unwrap();
}

/// Flips every bit position in `step` of the value at `key`; `check` must
/// fail each time and pass once the value is restored.
fn flips_caught_by(
    net: &DevNet,
    key: &[u8],
    step: usize,
    check: impl Fn(&DevNet) -> Result<(), String>,
) -> usize {
    let original = net.store.raw(key).unwrap().unwrap();
    let mut n = 0;
    for pos in (0..original.len()).step_by(step) {
        for bit in [0x01u8, 0x80] {
            let mut bad = original.clone();
            bad[pos] ^= bit;
            net.store.put_raw(key, &bad).unwrap();
            assert!(
                check(net).is_err(),
                "flip of bit {bit:#x} at byte {pos} of {} went unnoticed",
                hex::encode(key)
            );
            n += 1;
        }
    }
    net.store.put_raw(key, &original).unwrap();
    check(net).expect("restored store passes");
    n
}

/// The quick check of recent blocks (what a node runs at start and on
/// demand) catches a flipped bit in any value it reads: the top block's
/// certificate, header, body and record offsets, a record's id index entry
/// and the log tile holding the leaves.
#[test]
fn the_recent_check_catches_flips_in_recent_blocks() {
    let mut net = DevNet::new().unwrap();
    build_chain(&mut net, 3);
    let done = net.store.check_recent(2).unwrap();
    assert_eq!(
        (done.tip, done.from, done.blocks, done.records),
        (4, 3, 2, 18)
    );
    let all = |net: &DevNet| {
        net.store
            .check_recent(u64::MAX)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let tip_only = |net: &DevNet| {
        net.store
            .check_recent(1)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let mut n = 0;
    n += flips_caught_by(&net, &t::height_key(t::CERTIFICATES, 4), 1, tip_only);
    n += flips_caught_by(&net, &t::height_key(t::HEADERS, 4), 1, tip_only);
    n += flips_caught_by(&net, &t::height_key(t::BLOCKS, 4), 3, tip_only);
    n += flips_caught_by(&net, &t::height_key(t::RECORD_OFFSETS, 4), 1, tip_only);
    n += flips_caught_by(&net, &t::meta_key("tip"), 1, tip_only);
    n += flips_caught_by(&net, &t::height_key(t::BLOCKS, 2), 3, all);
    for family in [t::RECORD_IDS, t::TILES] {
        let (key, _) = net
            .store
            .scan_range(&[family], &[family + 1])
            .next()
            .unwrap()
            .unwrap();
        n += flips_caught_by(&net, &key, 1, all);
    }
    assert!(n > 1_000, "only {n} flips tried");
}

/// What a node serves is checked against the headers: a record whose bytes
/// were altered on disk is an error wherever it is read, and a block body
/// missing below the tip is an error, not "no such block".
#[test]
fn serving_checks_values_against_their_headers() {
    use shanlian_ledger::store::StoreError;
    use shanlian_ledger::values::Location;
    let mut net = DevNet::new().unwrap();
    let records = build_chain(&mut net, 3);
    let key = t::height_key(t::BLOCKS, 3);
    let body = net.store.raw(&key).unwrap().unwrap();
    assert!(net.store.checked_block(3).unwrap().is_some());
    assert!(net.store.checked_block(5).unwrap().is_none());
    let at = Location {
        height: 3,
        index: 0,
    };
    let id = net.store.record_at(at).unwrap().unwrap().id;
    assert!(records.iter().any(|r| r.id == id));

    // The last byte of the block is the last record's signature: flip the
    // first record's last signature byte instead, found by its offsets.
    let block = net.store.block(3).unwrap().unwrap();
    let first = &block.records[0];
    let pos = body
        .windows(first.len())
        .position(|w| w == first.as_slice())
        .unwrap()
        + first.len()
        - 1;
    let mut bad = body.clone();
    bad[pos] ^= 0x01;
    net.store.put_raw(&key, &bad).unwrap();
    let corrupt = |r: Result<(), StoreError>, what: &str| match r {
        Err(StoreError::Corrupt(m)) => assert!(m.contains(what), "{m}"),
        other => panic!("expected a corrupt-store error about {what:?}, got {other:?}"),
    };
    corrupt(net.store.checked_block(3).map(|_| ()), "record root");
    corrupt(
        net.store.record_at(at).map(|_| ()),
        "not the record the log holds",
    );
    // By id the record is not found at its place either way.
    assert!(net.store.record(&id).is_err());
    assert!(net.store.check_recent(2).is_err());

    net.store.remove_raw(&key).unwrap();
    corrupt(
        net.store.checked_block(3).map(|_| ()),
        "missing below the tip",
    );
    net.store.put_raw(&key, &body).unwrap();
    assert!(net.store.checked_block(3).unwrap().is_some());
    assert_eq!(net.store.record(&id).unwrap().unwrap().1.id, id);
    net.store.check_recent(u64::MAX).unwrap();
}

/// Certificates are checked in batches ahead of the replay, under the keys
/// a tracker following the governance records expects. Across a chain whose
/// validator set changes (a validator added, one removed, a member's key
/// rotated, a new member made validator), the replay passes, and a flip in
/// any certificate after those changes is still caught.
#[test]
fn certificates_checked_ahead_across_validator_changes() {
    let chain = shanlian_ledger::testkit::vectors::bundle_chain().unwrap();
    let net = &chain.net;
    let report = verify_store(&net.store, Some(&net.genesis), |_| {}).unwrap();
    assert_eq!(report.height, chain.tip);
    let mut n = 0;
    for h in [3, 5, chain.tip] {
        n += flips(net, &t::height_key(t::CERTIFICATES, h), 1);
    }
    assert!(n > 300, "only {n} flips tried");
}

/// `commit_run`, what an auditor's download does with served blocks: a run
/// across validator changes (so certificates signed by a validator added
/// within the run are not among the ones expected ahead, and are verified
/// on their own) rebuilds the same chain; a forged certificate signature, a
/// bad record signature or a block that does not link is refused at its
/// height, with the blocks before it committed.
#[test]
fn a_run_of_served_blocks_is_verified_and_committed() {
    use shanlian_ledger::block::{BlockData, CommitCertificate};
    use shanlian_ledger::store::Store;
    use shanlian_ledger::verify::{commit_run, VerifyError};
    let chain = shanlian_ledger::testkit::vectors::bundle_chain().unwrap();
    let src = &chain.net;
    let served = |from: u64, to: u64| -> Vec<(BlockData, CommitCertificate)> {
        (from..=to)
            .map(|h| {
                (
                    src.store.block(h).unwrap().unwrap(),
                    src.store.certificate(h).unwrap().unwrap(),
                )
            })
            .collect()
    };
    let fresh = || {
        let store = Store::memory();
        let state = store.open_state(&src.genesis).unwrap();
        (store, state)
    };
    // The whole chain in one run, and again in runs of three.
    let records = src.state.log.size();
    for run in [chain.tip as usize, 3] {
        let (store, mut state) = fresh();
        let mut n = 0;
        let mut h = 1;
        while h <= chain.tip {
            let to = (h + run as u64 - 1).min(chain.tip);
            n += commit_run(&mut state, &store, served(h, to)).unwrap();
            h = to + 1;
        }
        assert_eq!(n, records);
        assert_eq!(state.last_header_hash, src.state.last_header_hash);
        assert_eq!(state.state_hash, src.state.state_hash);
        let report = verify_store(&store, Some(&src.genesis), |_| {}).unwrap();
        assert_eq!(report.height, chain.tip);
    }
    // A forged precommit in block 6: blocks 1–5 are committed, 6 refused.
    let mut run = served(1, chain.tip);
    run[5].1.signatures[0].signature.0[5] ^= 1;
    let (store, mut state) = fresh();
    let err = commit_run(&mut state, &store, run).unwrap_err();
    assert!(
        matches!(err, VerifyError::Certificate { height: 6, .. }),
        "{err}"
    );
    assert_eq!(state.height, 5);
    // A record altered in block 5: its signature no longer verifies, which
    // is checked before the block's rules and roots.
    let mut run = served(1, 5);
    let (block, _) = &mut run[4];
    let mut record = block.records[0].clone();
    let len = record.len();
    record[len - 1] ^= 1;
    block.records[0] = record;
    let (store, mut state) = fresh();
    let err = commit_run(&mut state, &store, run).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Signature {
                height: 5,
                index: 0,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(state.height, 4);
    // A gap: block 3 served after block 1.
    let mut run = served(1, 3);
    run.remove(1);
    let (store, mut state) = fresh();
    let err = commit_run(&mut state, &store, run).unwrap_err();
    assert!(matches!(err, VerifyError::Link { height: 3, .. }), "{err}");
    assert_eq!(state.height, 1);
}
