//! Receipt bundles (SPEC §13): every committed record has a bundle that
//! verifies against the genesis alone; the vectors in tests/data/bundles
//! (shared with the web page's verifier) are exactly what the code makes,
//! and each hostile one is refused with its code at its step.

use shanlian_ledger::bundle::{verify, ReceiptBundle};
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::testkit::vectors::{bundle_chain, bundle_vectors};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/bundles")
}

/// The vector files equal what the code generates. Set
/// `SHANLIAN_WRITE_VECTORS=1` to rewrite them after an intended change.
#[test]
fn vector_files_are_up_to_date() {
    sync_vector_files(&dir(), &bundle_vectors().unwrap());
}

/// Checks (or with `SHANLIAN_WRITE_VECTORS=1`, rewrites) a directory of
/// JSON vector files against what the code generates.
pub(crate) fn sync_vector_files(dir: &std::path::Path, vectors: &[(String, serde_json::Value)]) {
    let write = std::env::var("SHANLIAN_WRITE_VECTORS").is_ok_and(|v| v == "1");
    if write {
        std::fs::create_dir_all(dir).unwrap();
        for old in std::fs::read_dir(dir).unwrap() {
            let p = old.unwrap().path();
            if p.extension().is_some_and(|e| e == "json") {
                std::fs::remove_file(p).unwrap();
            }
        }
    }
    for (name, v) in vectors {
        let text = serde_json::to_string_pretty(v).unwrap() + "\n";
        let path = dir.join(name);
        if write {
            std::fs::write(&path, text).unwrap();
        } else {
            let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (SHANLIAN_WRITE_VECTORS=1 writes it)",
                    path.display()
                )
            });
            assert_eq!(
                on_disk, text,
                "{name} is out of date (SHANLIAN_WRITE_VECTORS=1 rewrites it)"
            );
        }
    }
    let files = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(files, vectors.len(), "stray files in {}", dir.display());
}

/// Runs every vector file: valid ones prove what they say; hostile ones
/// fail with their code at their step.
#[test]
fn every_vector_gives_its_verdict() {
    let dev = Genesis::from_toml(include_str!("../../../genesis/dev.toml")).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let genesis = match v["genesis"].as_str() {
            Some(t) => Genesis::from_toml(t).unwrap(),
            None => dev.clone(),
        };
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let result = ReceiptBundle::from_json(&v["bundle"]).and_then(|b| verify(&genesis, &b));
        match (&v["expect"]["ok"], &v["expect"]["error"]) {
            (serde_json::Value::Object(ok), _) => {
                // The canonical bytes decode to the same bundle as the JSON.
                let bytes = hex::decode(v["expect"]["bytes"].as_str().unwrap()).unwrap();
                let from_bytes = ReceiptBundle::from_bytes(&bytes).unwrap();
                assert_eq!(
                    from_bytes,
                    ReceiptBundle::from_json(&v["bundle"]).unwrap(),
                    "{name}"
                );
                let p = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(ok["id"], p.id.to_hex(), "{name}");
                assert_eq!(ok["height"], p.height, "{name}");
                assert_eq!(ok["log_index"], p.log_index, "{name}");
                assert_eq!(ok["checkpoint_height"], p.checkpoint.height, "{name}");
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
    assert!(seen >= 30, "only {seen} vectors");
}

/// Every record of the chain has a bundle that verifies, at its own block
/// and extended to the tip, in both the binary and the JSON forms; the
/// signer is named from genesis or the governance records.
#[test]
fn every_committed_record_has_a_verifying_bundle() {
    let chain = bundle_chain().unwrap();
    let store = &chain.net.store;
    let genesis = &chain.net.genesis;
    for h in 1..=chain.tip {
        let block = store.block(h).unwrap().unwrap();
        for i in 0..block.records.len() as u32 {
            let id = store.committed_at(h, i).unwrap().unwrap();
            let mut b = store.receipt_bundle(&id).unwrap();
            let p = verify(genesis, &b).unwrap();
            assert_eq!((p.id, p.height), (id, h));
            assert!(p.signer.is_some(), "height {h} index {i}: signer unknown");
            store.extend_bundle(&mut b, chain.tip).unwrap();
            let p = verify(genesis, &b).unwrap();
            assert_eq!(p.checkpoint.height, chain.tip);
            let again = ReceiptBundle::from_bytes(&b.to_bytes()).unwrap();
            assert_eq!(again, b);
            assert_eq!(ReceiptBundle::from_json(&b.to_json()).unwrap(), b);
        }
    }
}

/// A bundle extended before a member was made a validator, then extended
/// past the promotion: the admission lies below the bundle's checkpoint,
/// so the bundle is made afresh, and verifies.
#[test]
fn extending_past_a_late_promotion_remakes_the_bundle() {
    use shanlian_ledger::record::{AdmitMember, Payload, SetValidator};
    use shanlian_ledger::testkit::{payloads as p, vectors::new_charity_key, DevNet};
    use shanlian_ledger::types::*;
    let mut net = DevNet::on(shanlian_ledger::store::Store::memory()).unwrap();
    let fed = FundRef::General(net.address("charity-federation"));
    let r = net.receipt();
    let d = net.sign("charity-federation", p::donation(r, fed, 1_000, 1));
    let id = d.id;
    net.commit_all(&[d]).unwrap();
    let nc = new_charity_key();
    let admit = net.sign(
        "bureau",
        Payload::AdmitMember(AdmitMember {
            public_key: nc.public(),
            role: Role::Charity,
            name: "late validator".into(),
            uscc: Uscc("91350100M000100Y43".into()),
            node: NodeKey([9; 32]),
        }),
    );
    net.commit_all(&[admit]).unwrap();
    net.commit_all(&[]).unwrap();
    let mut b = net.store.receipt_bundle(&id).unwrap();
    net.store.extend_bundle(&mut b, 3).unwrap();
    assert!(b.validators.is_empty() && b.extensions[0].validators.is_empty());
    verify(&net.genesis, &b).unwrap();
    let sv = net.sign(
        "bureau",
        Payload::SetValidator(SetValidator {
            member: Address::of_key(&nc.public()),
            power: 1,
            effective_height: 6,
        }),
    );
    net.commit_all(&[sv]).unwrap();
    for _ in 0..3 {
        net.commit_all(&[]).unwrap();
    }
    net.store.extend_bundle(&mut b, 7).unwrap();
    assert_eq!(b.extensions.len(), 1, "made afresh, then extended once");
    let p = verify(&net.genesis, &b).unwrap();
    assert_eq!(p.checkpoint.height, 7);
}
