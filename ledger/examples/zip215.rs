//! ZIP-215 batch verification (ed25519-zebra, the rule Zcash and CometBFT
//! use for consensus: batch and single verdicts agree; the ledger's rule
//! since issue 11, SPEC §4) against the ledger's first rule — strict single
//! verification (ed25519-dalek `verify_strict`) — and against dalek's own
//! batch equation, each on all cores, same signatures, same run: the
//! measurement behind the change of rule. One JSON object per line.
//!
//!     cargo run --release -p shanlian-ledger --example zip215 [SIGNATURES] [SIGNERS]
//!
//! Records are signed by few keys (the members): 64 signers by default
//! (ZIP-215 batches coalesce one key's terms, so also try thousands),
//! messages of 230 bytes (a donation's signed bytes).

use ed25519_dalek::{Signer, SigningKey, Verifier as _};
use rayon::prelude::*;
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let signers: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(64);
    let keys: Vec<SigningKey> = (0..signers.max(1) as u64)
        .map(|i| {
            let mut seed = [7u8; 32];
            seed[..8].copy_from_slice(&i.to_le_bytes());
            SigningKey::from_bytes(&seed)
        })
        .collect();
    let items: Vec<(usize, Vec<u8>, ed25519_dalek::Signature)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let k = i % keys.len();
            let msg: Vec<u8> = (0..230).map(|j| (i * 31 + j) as u8).collect();
            let sig = keys[k].sign(&msg);
            (k, msg, sig)
        })
        .collect();
    let dalek_vks: Vec<_> = keys.iter().map(|k| k.verifying_key()).collect();
    let zebra_vks: Vec<ed25519_zebra::VerificationKeyBytes> = dalek_vks
        .iter()
        .map(|v| ed25519_zebra::VerificationKeyBytes::from(v.to_bytes()))
        .collect();
    let cores = rayon::current_num_threads();
    let rate = |f: &dyn Fn() -> bool| {
        // Best of three: the machine is shared.
        let mut best = 0f64;
        for _ in 0..3 {
            let t = Instant::now();
            assert!(f(), "a valid signature failed to verify");
            best = best.max(n as f64 / t.elapsed().as_secs_f64());
        }
        best.round()
    };
    let strict = rate(&|| {
        items
            .par_iter()
            .all(|(k, m, s)| dalek_vks[*k].verify_strict(m, s).is_ok())
    });
    let dalek_single = rate(&|| {
        items
            .par_iter()
            .all(|(k, m, s)| dalek_vks[*k].verify(m, s).is_ok())
    });
    let zebra_single = rate(&|| {
        items.par_iter().all(|(k, m, s)| {
            let vk = ed25519_zebra::VerificationKey::try_from(zebra_vks[*k]).unwrap();
            vk.verify(&ed25519_zebra::Signature::from(s.to_bytes()), m)
                .is_ok()
        })
    });
    println!(
        "{}",
        serde_json::json!({"bench": "sig_single", "cores": cores, "signatures": n, "signers": keys.len(),
            "strict_per_s": strict, "dalek_cofactorless_per_s": dalek_single, "zip215_single_per_s": zebra_single})
    );
    for batch in [64usize, 256, 1024] {
        let zebra = rate(&|| {
            items.par_chunks(batch).all(|chunk| {
                let mut v = ed25519_zebra::batch::Verifier::new();
                for (k, m, s) in chunk {
                    v.queue((
                        zebra_vks[*k],
                        ed25519_zebra::Signature::from(s.to_bytes()),
                        m,
                    ));
                }
                v.verify(rand_core::OsRng).is_ok()
            })
        });
        let dalek = rate(&|| {
            items.par_chunks(batch).all(|chunk| {
                let msgs: Vec<&[u8]> = chunk.iter().map(|(_, m, _)| m.as_slice()).collect();
                let sigs: Vec<_> = chunk.iter().map(|(_, _, s)| *s).collect();
                let vks: Vec<_> = chunk.iter().map(|(k, _, _)| dalek_vks[*k]).collect();
                ed25519_dalek::verify_batch(&msgs, &sigs, &vks).is_ok()
            })
        });
        println!(
            "{}",
            serde_json::json!({"bench": "sig_batch", "cores": cores, "batch": batch, "signers": keys.len(),
                "zip215_batch_per_s": zebra, "dalek_batch_per_s": dalek, "strict_per_s": strict,
                "zip215_batch_vs_strict": (zebra / strict * 100.0).round() / 100.0,
                "dalek_batch_vs_strict": (dalek / strict * 100.0).round() / 100.0})
        );
    }
}
