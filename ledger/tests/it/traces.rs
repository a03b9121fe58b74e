//! Trace proofs (SPEC §10.6–§10.9): every inflow's and every outflow's
//! proof verifies against the genesis alone to the store's own answer; the
//! vectors in tests/data/traces (shared with the web page's verifier) are
//! exactly what the code makes, and each hostile one is refused with its
//! code at its step.

use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::keys;
use shanlian_ledger::testkit::trace_vectors::{proved_json, trace_chain, trace_vectors};
use shanlian_ledger::trace;
use shanlian_ledger::tracing::{verify, Direction, TraceProof, What};
use shanlian_ledger::types::*;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/traces")
}

#[test]
fn vector_files_are_up_to_date() {
    super::bundles::sync_vector_files(&dir(), &trace_vectors().unwrap());
}

#[test]
fn every_vector_gives_its_verdict() {
    let dev = Genesis::from_toml(include_str!("../../../genesis/dev.toml")).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let result = TraceProof::from_json(&v["proof"]).and_then(|t| verify(&dev, &t));
        match (&v["expect"]["ok"], &v["expect"]["error"]) {
            (serde_json::Value::Object(_), _) => {
                let bytes = hex::decode(v["expect"]["bytes"].as_str().unwrap()).unwrap();
                assert_eq!(
                    TraceProof::from_bytes(&bytes).unwrap(),
                    TraceProof::from_json(&v["proof"]).unwrap(),
                    "{name}"
                );
                let p = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(proved_json(&p), v["expect"]["ok"], "{name}");
            }
            (_, serde_json::Value::Object(err)) => {
                let e = result.err().unwrap_or_else(|| panic!("{name}: accepted"));
                assert_eq!(
                    (e.code(), e.at.as_str()),
                    (err["code"].as_str().unwrap(), err["at"].as_str().unwrap()),
                    "{name}: {e}"
                );
            }
            _ => panic!("{name}: no expectation"),
        }
        seen += 1;
    }
    assert!(seen >= 20, "only {seen} vectors");
}

/// The worked numbers of the vector chain: the donation's 30 000 fen went
/// 5 000 to the federation's disbursement and 25 000 into the grant to P;
/// there 10 000 to P's disbursement and 15 000 into the grant to Q; there
/// 12 000 to Q's disbursement, and 3 000 not shown spent as of the tip.
#[test]
fn the_two_hop_donation_adds_up() {
    let c = trace_chain().unwrap();
    let proof = c
        .net
        .store
        .trace_proof(&c.donation, Direction::Forward)
        .unwrap();
    let p = verify(&c.net.genesis, &proof).unwrap();
    let got: Vec<(u32, Option<RecordId>, u64)> = p
        .steps
        .iter()
        .map(|s| {
            let o = match &s.what {
                What::Spent { outflow, .. } => Some(*outflow),
                _ => None,
            };
            (s.depth, o, s.amount.0)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (0, Some(c.x), 5_000),
            (0, Some(c.g1), 25_000),
            (1, Some(c.y), 10_000),
            (1, Some(c.g2), 15_000),
            (2, Some(c.z), 12_000),
            (2, None, 3_000),
        ]
    );
    assert_eq!(p.as_of.height, c.net.state.height);
    // The outflow records carry what a donor reads: the disbursements'
    // purposes and evidence.
    for id in [c.x, c.y, c.z] {
        let r = &p.records[&id];
        assert!(matches!(
            r.record.body.payload,
            shanlian_ledger::record::Payload::RecordDisbursement(_)
        ));
    }
    // What the grant to P drew on: 25 000 of the donation, 15 000 of the
    // refunded one (whose last 5 000 are a hole inside the grant), 5 000 of
    // the next.
    let back = c.net.store.trace_proof(&c.g1, Direction::Reverse).unwrap();
    let p = verify(&c.net.genesis, &back).unwrap();
    let amounts: Vec<(RecordId, u64)> = p.sources.iter().map(|s| (s.record, s.amount.0)).collect();
    assert_eq!(amounts[..2], [(c.donation, 25_000), (c.refunded, 15_000)]);
    assert_eq!(amounts[2].1, 5_000);
}

/// Every record with a trace row has a proof in each direction it has,
/// which verifies to what the store computes; records with none are
/// refused with a clear error.
#[test]
fn every_traceable_record_has_a_verifying_proof() {
    let c = trace_chain().unwrap();
    let store = &c.net.store;
    let mut proved = 0;
    for h in 1..=c.net.state.height {
        let block = store.block(h).unwrap().unwrap();
        for i in 0..block.records.len() as u32 {
            let id = store.committed_at(h, i).unwrap().unwrap();
            for dir in [Direction::Forward, Direction::Reverse] {
                match store.trace_proof(&id, dir) {
                    Ok(t) => {
                        let p = verify(&c.net.genesis, &t).unwrap();
                        if dir == Direction::Reverse {
                            assert_eq!(p.sources, trace::sources_of_record(store, &id).unwrap());
                        } else {
                            let flow =
                                trace::follow(store, &p.fund, p.position, p.amount.0).unwrap();
                            assert_eq!(p.steps, flow.steps);
                        }
                        proved += 1;
                    }
                    Err(shanlian_ledger::proofs::ProofBuildError::NotTraceable(x)) => {
                        assert_eq!(x, id)
                    }
                    Err(e) => panic!("{h}/{i}: {e}"),
                }
            }
        }
    }
    // 4 donations, 2 grants (each both ways), 3 + 1 disbursements, a sales
    // report, an allocation (both ways).
    assert_eq!(proved, 4 + 4 + 4 + 1 + 2);
    // Unknown records are not traceable either.
    assert!(store
        .trace_proof(&RecordId([9; 32]), Direction::Forward)
        .is_err());
}

/// A proof's rows are exactly what the write sets hold: every row's
/// write-set proof also checks against the header the store holds, and
/// changing any byte of any row breaks it.
#[test]
fn every_row_is_bound_to_its_header() {
    let c = trace_chain().unwrap();
    let proof = c
        .net
        .store
        .trace_proof(&c.donation, Direction::Forward)
        .unwrap();
    for r in &proof.rows {
        let h = &proof.blocks[r.block as usize].checkpoint.header;
        assert_eq!(&c.net.store.header(h.height).unwrap().unwrap(), h);
        assert_eq!(r.proof.state_hash(h.height).unwrap(), h.state_hash);
        assert!(keys::TRACE_SOURCES <= r.proof.key[0] && r.proof.key[0] <= keys::TRACE_HOLES);
        let value = r.proof.value.clone().unwrap();
        for i in 0..value.len() {
            let mut bad = r.proof.clone();
            bad.value.as_mut().unwrap()[i] ^= 0x40;
            assert_ne!(bad.state_hash(h.height).unwrap(), h.state_hash);
        }
    }
}
