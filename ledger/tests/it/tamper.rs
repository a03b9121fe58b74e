//! Flip single bytes in stored blocks, headers, certificates, records,
//! state, trace rows, indexes and log tiles: the verifier must catch every
//! one, and pass again once the byte is restored.

use crate::store::build_chain;
use shanlian_ledger::keys as t;
use shanlian_ledger::testkit::DevNet;
use shanlian_ledger::verify::verify_store;

fn flips(net: &DevNet, key: &[u8], step: usize) -> usize {
    let original = net
        .store
        .raw(key)
        .unwrap()
        .unwrap_or_else(|| panic!("no value at {}", hex::encode(key)));
    let mut n = 0;
    for pos in (0..original.len()).step_by(step) {
        for bit in [0x01u8, 0x80] {
            let mut bad = original.clone();
            bad[pos] ^= bit;
            net.store.put_raw(key, &bad).unwrap();
            let r = verify_store(&net.store, None, |_| {});
            assert!(
                r.is_err(),
                "flip of bit {bit:#x} at byte {pos} of {} went unnoticed",
                hex::encode(key)
            );
            n += 1;
        }
    }
    net.store.put_raw(key, &original).unwrap();
    verify_store(&net.store, None, |_| {}).expect("restored store verifies");
    n
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
        assert!(
            verify_store(&net.store, None, |_| {}).is_err(),
            "extra entry in family {family:#x}"
        );
        net.store.remove_raw(&extra).unwrap();
        net.store.remove_raw(&key).unwrap();
        assert!(
            verify_store(&net.store, None, |_| {}).is_err(),
            "missing entry in family {family:#x}"
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
