//! The fuzz targets (`shanlian_ledger::testkit::fuzz`) on stable, in CI:
//! every input of the kept corpus (`fuzz/corpus/<target>/`, grown by
//! cargo-fuzz runs on nightly), then a bounded run of random mutations of
//! the seeds. No input may panic, and no non-canonical encoding may be
//! accepted (the targets assert it).
//!
//! `SHANLIAN_WRITE_CORPUS=1` adds the seeds to the corpus folders.

use shanlian_ledger::testkit::fuzz::{seeds, TARGETS};
use std::path::PathBuf;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

#[test]
fn the_corpus_replays_without_a_panic() {
    if std::env::var("SHANLIAN_WRITE_CORPUS").is_ok_and(|v| v == "1") {
        for (target, bytes) in seeds() {
            let dir = corpus(target);
            std::fs::create_dir_all(&dir).unwrap();
            let name = blake3::hash(&bytes).to_hex()[..40].to_string();
            std::fs::write(dir.join(name), &bytes).unwrap();
        }
    }
    for (name, target) in TARGETS {
        let dir = corpus(name);
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (SHANLIAN_WRITE_CORPUS=1 seeds it)", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        assert!(!files.is_empty(), "{}: empty corpus", dir.display());
        for f in files {
            let data = std::fs::read(&f).unwrap();
            let r = std::panic::catch_unwind(|| target(&data));
            assert!(r.is_ok(), "{name}: {} panics", f.display());
        }
    }
}

/// A deterministic run of mutations of the seeds (bit flips, truncation,
/// insertion, duplication of a slice, length-field bumps): bounded so CI
/// stays fast; the long runs are cargo-fuzz's.
#[test]
fn mutated_seeds_do_not_panic() {
    let mut rng = 0x853c_49e6_748f_ea9bu64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut runs = 0;
    for (name, bytes) in seeds() {
        let target = TARGETS.iter().find(|(n, _)| *n == name).unwrap().1;
        for _ in 0..60 {
            let mut d = bytes.clone();
            for _ in 0..=(next() % 4) {
                if d.is_empty() {
                    d.push(next() as u8);
                    continue;
                }
                let at = (next() as usize) % d.len();
                match next() % 5 {
                    0 => d[at] ^= 1 << (next() % 8),
                    1 => d.truncate(at),
                    2 => d.insert(at, next() as u8),
                    3 => {
                        let end = (at + 1 + (next() as usize % 16)).min(d.len());
                        let piece = d[at..end].to_vec();
                        d.splice(at..at, piece);
                    }
                    _ => d[at] = d[at].wrapping_add(1),
                }
            }
            let r = std::panic::catch_unwind(|| target(&d));
            assert!(
                r.is_ok(),
                "{name}: a mutated seed panics: {}",
                hex::encode(&d)
            );
            runs += 1;
        }
    }
    assert!(runs > 1_000, "{runs} runs");
}
