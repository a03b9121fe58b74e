//! Runs the RFC 6962 / RFC 9162 proof vectors of transparency-dev/merkle (tests/data/rfc6962,
//! Apache-2.0) through the verifiers with SHA-256: each must pass iff `wantErr` is false.

use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::Value;
use sha2::{Digest, Sha256};
use shanlian_ledger::merkle::{
    verify_consistency, verify_inclusion, Hash, MerkleHasher, ProofError,
};
use std::path::{Path, PathBuf};

struct Sha256Hasher;
fn sha(parts: &[&[u8]]) -> Hash {
    parts
        .iter()
        .fold(Sha256::new(), |h, p| h.chain_update(p))
        .finalize()
        .into()
}
impl MerkleHasher for Sha256Hasher {
    fn hash_leaf(data: &[u8]) -> Hash {
        sha(&[&[0], data])
    }
    fn hash_children(l: &Hash, r: &Hash) -> Hash {
        sha(&[&[1], l, r])
    }
    fn empty_root() -> Hash {
        sha(&[])
    }
}

/// The API takes `[u8; 32]`, so a hash of another length is rejected before verification.
/// transparency-dev/merkle compares raw bytes when the sizes are equal and so accepts this
/// one case (size 1 to 1, empty proof, two equal 12-byte "roots"); we reject it.
const ACCEPTED_WITH_BAD_HASH: &str =
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json";

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for path in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// A base64 hash; `None` if missing, not base64 or not 32 bytes long.
fn hash(v: &Value) -> Option<Hash> {
    STANDARD
        .decode(v.as_str().unwrap_or(""))
        .ok()?
        .try_into()
        .ok()
}

/// The proof (`null` or missing: empty); `None` if any hash is malformed.
fn proof(v: &Value) -> Option<Vec<Hash>> {
    v.as_array()
        .map_or(Some(vec![]), |a| a.iter().map(hash).collect())
}

/// Runs one case; `None` if a hash cannot be represented (so the case is rejected).
fn run(inclusion: bool, c: &Value) -> Option<Result<(), ProofError>> {
    let num = |k: &str| c[k].as_u64().unwrap_or(0);
    let p = proof(&c["proof"])?;
    Some(if inclusion {
        let (leaf, root) = (hash(&c["leafHash"])?, hash(&c["root"])?);
        verify_inclusion::<Sha256Hasher>(&leaf, num("leafIdx"), num("treeSize"), &p, &root)
    } else {
        let (root1, root2) = (hash(&c["root1"])?, hash(&c["root2"])?);
        verify_consistency::<Sha256Hasher>(num("size1"), num("size2"), &root1, &root2, &p)
    })
}

#[test]
fn rfc6962_vectors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc6962/testdata");
    let (mut files, mut seen_exception) = (Vec::new(), false);
    json_files(&root, &mut files);
    assert!(!files.is_empty(), "no vectors under {}", root.display());
    for file in &files {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let case: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let want_err = case["wantErr"].as_bool().unwrap_or(false);
        match run(rel.starts_with("inclusion/"), &case) {
            Some(got) => assert_eq!(got.is_err(), want_err, "{rel}: got {got:?}"),
            None if rel == ACCEPTED_WITH_BAD_HASH => seen_exception = true,
            None => assert!(want_err, "{rel}: malformed hash but wantErr is false"),
        }
    }
    assert!(seen_exception, "{ACCEPTED_WITH_BAD_HASH} not found");
    println!("checked {} RFC 6962 vector files", files.len());
}
