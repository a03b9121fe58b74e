//! Fuzz targets: what untrusted bytes reach, each a function that must not
//! panic on any input and must not accept a non-canonical encoding. The
//! cargo-fuzz harness (`fuzz/`, nightly) runs them for long; the stable test
//! `ledger/tests/it/fuzz.rs` replays the kept corpus (`fuzz/corpus/<name>`)
//! and random bytes through the same functions in CI.

use crate::block::{BlockData, CommitCertificate};
use crate::bundle::{verify, ReceiptBundle};
use crate::codec;
use crate::genesis::{dev_genesis, Genesis};
use crate::record::Record;
use crate::tracing::TraceProof;
use std::sync::OnceLock;

fn dev() -> &'static Genesis {
    static G: OnceLock<Genesis> = OnceLock::new();
    G.get_or_init(|| dev_genesis().0)
}

/// A fuzz target: a function over untrusted bytes.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus folder.
pub const TARGETS: &[(&str, Target)] = &[
    ("record", record),
    ("block", block),
    ("certificate", certificate),
    ("genesis_toml", genesis_toml),
    ("bundle_bytes", bundle_bytes),
    ("bundle_json", bundle_json),
    ("trace_bytes", trace_bytes),
    ("trace_json", trace_json),
    ("batch_frames", batch_frames),
];

/// A signed record from a client or a peer.
pub fn record(data: &[u8]) {
    if let Ok(r) = Record::from_bytes(data, 4096) {
        assert_eq!(r.bytes, data);
        assert_eq!(
            codec::encode(&r.signed),
            data,
            "non-canonical record accepted"
        );
        assert_eq!(r.id, crate::types::RecordId::of_bytes(data));
    }
}

/// A block from a proposer or a sync peer.
pub fn block(data: &[u8]) {
    if let Ok(b) = codec::decode_canonical::<BlockData>(data) {
        assert_eq!(codec::encode(&b), data);
        let _ = crate::chain::decode_records(&b, 4096);
    }
}

/// A commit certificate (sync, bundles): decoded and checked against the
/// dev validator set.
pub fn certificate(data: &[u8]) {
    if let Ok(c) = codec::decode_canonical::<CommitCertificate>(data) {
        assert_eq!(codec::encode(&c), data);
        let state = crate::state::State::from_genesis(dev().clone()).0;
        let set = state.validator_set(c.height.max(1));
        let _ = c.verify(&dev().hash(), c.height, &c.header_hash, &set);
    }
}

/// A genesis file (TOML).
pub fn genesis_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(g) = Genesis::from_toml(text) {
        assert!(g.validate().is_ok());
        let again = Genesis::from_toml(&g.to_toml());
        assert_eq!(again.ok(), Some(g), "a valid genesis does not read back");
    }
}

/// A receipt bundle's canonical bytes, verified against the dev genesis.
pub fn bundle_bytes(data: &[u8]) {
    if let Ok(b) = ReceiptBundle::from_bytes(data) {
        assert_eq!(b.to_bytes(), data);
        let _ = verify(dev(), &b);
    }
}

/// A receipt bundle's JSON form, verified against the dev genesis.
pub fn bundle_json(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(b) = ReceiptBundle::from_json(&v) {
        let _ = verify(dev(), &b);
        assert_eq!(ReceiptBundle::from_json(&b.to_json()).ok(), Some(b));
    }
}

/// A trace proof's canonical bytes (SPEC §10.6), as a donor's tool reads them.
pub fn trace_bytes(data: &[u8]) {
    if let Ok(p) = TraceProof::from_bytes(data) {
        assert_eq!(p.to_bytes(), data);
        let _ = crate::tracing::verify(dev(), &p);
    }
}

/// A trace proof's JSON form, as the page and the command line read it.
pub fn trace_json(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(p) = TraceProof::from_json(&v) {
        let _ = crate::tracing::verify(dev(), &p);
        assert_eq!(TraceProof::from_json(&p.to_json()).ok(), Some(p));
    }
}

/// A submission batch body (records each prefixed by a u32 LE length, the
/// explorer's batch route): split, then each frame decoded as a record.
pub fn batch_frames(data: &[u8]) {
    if let Ok(frames) = crate::codec::unframe(data, 10_000) {
        let total: usize = frames.iter().map(|f| f.len() + 4).sum();
        assert_eq!(total, data.len());
        for f in frames {
            record(f);
        }
    }
}

/// Seed inputs for each target: real bytes of a dev chain (its records,
/// blocks, certificates and bundles, the dev genesis), from which the
/// fuzzers mutate. `(target, bytes)`.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(chain) = super::vectors::bundle_chain() else {
        return out;
    };
    let store = &chain.net.store;
    for h in 1..=chain.tip {
        if let (Ok(Some(b)), Ok(Some(c))) = (store.block(h), store.certificate(h)) {
            for r in &b.records {
                out.push(("record", r.clone()));
            }
            out.push(("block", codec::encode(&b)));
            out.push(("certificate", codec::encode(&c)));
        }
    }
    out.push(("genesis_toml", dev().to_toml().into_bytes()));
    let mut g = dev().clone();
    g.params.max_records_per_block = 7;
    g.games.clear();
    out.push(("genesis_toml", g.to_toml().into_bytes()));
    if let Ok(tc) = super::trace_vectors::trace_chain() {
        for id in [tc.donation, tc.refunded] {
            if let Ok(p) = tc
                .net
                .store
                .trace_proof(&id, crate::tracing::Direction::Forward)
            {
                out.push(("trace_bytes", p.to_bytes()));
                out.push(("trace_json", p.to_json().to_string().into_bytes()));
            }
        }
    }
    let mut framed = Vec::new();
    for h in 1..=chain.tip {
        if let Ok(Some(b)) = store.block(h) {
            for r in &b.records {
                framed.extend_from_slice(&(r.len() as u32).to_le_bytes());
                framed.extend_from_slice(r);
            }
        }
    }
    out.push(("batch_frames", framed));
    for id in [chain.donation, chain.rotated] {
        if let Ok(mut b) = store.receipt_bundle(&id) {
            out.push(("bundle_bytes", b.to_bytes()));
            out.push(("bundle_json", b.to_json().to_string().into_bytes()));
            if store.extend_bundle(&mut b, chain.tip).is_ok() {
                out.push(("bundle_bytes", b.to_bytes()));
                out.push(("bundle_json", b.to_json().to_string().into_bytes()));
            }
        }
    }
    out
}
