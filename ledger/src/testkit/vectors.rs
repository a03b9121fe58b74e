//! The receipt-bundle vectors of `ledger/tests/data/bundles/` (SPEC §13.5):
//! a deterministic dev chain with validator-set changes and a key rotation,
//! valid bundles from it, and hostile variants, each with the error a
//! verifier must report. The ledger's tests and the web page's JavaScript
//! verifier run the same files.

use super::{payloads as p, DevNet, NetError};
use crate::block::{CommitCertificate, CommitSignature, SignedCheckpoint, VoteBody, VoteKind};
use crate::bundle::{verify, ReceiptBundle};
use crate::crypto::{Domain, Keypair};
use crate::genesis::Genesis;
use crate::record::*;
use crate::store::Store;
use crate::types::*;
use serde_json::{json, Value};

/// The chain the vectors are cut from.
pub struct BundleChain {
    pub net: DevNet,
    /// A donation of the charity federation (a genesis member), committed
    /// after two validator-set changes.
    pub donation: RecordId,
    /// A donation signed by one-foundation's rotated key.
    pub rotated: RecordId,
    /// The height the extended bundles reach.
    pub tip: u64,
}

/// The key one-foundation rotates to.
pub fn rotated_key() -> Keypair {
    Keypair::insecure_dev("dev/one-foundation/rotated")
}

/// The key of the charity the bureau admits (and makes a validator).
pub fn new_charity_key() -> Keypair {
    Keypair::insecure_dev("dev/new-charity")
}

/// Builds the chain (in memory; deterministic: the same bytes every run).
///
/// | height | records |
/// |---|---|
/// | 1 | bureau: `SetValidator(red-cross, 10, at 3)`; federation: a donation |
/// | 2 | bureau: `RotateKey(one-foundation)` |
/// | 3 | bureau: `SetValidator(auditor, 0, at 5)`; one-foundation (new key): a donation |
/// | 4 | federation: a disbursement |
/// | 5 | federation: **the donation** of most vectors |
/// | 6 | bureau: `AdmitMember(new charity)` |
/// | 7 | bureau: `SetValidator(new charity, 5, at 9)` |
/// | 8–10 | federation: donations |
pub fn bundle_chain() -> Result<BundleChain, NetError> {
    let mut net = DevNet::on(Store::memory())?;
    let fed = FundRef::General(net.address("charity-federation"));
    let red_cross = net.address("red-cross");
    let auditor = net.address("auditor");
    let one = net.address("one-foundation");
    // 1
    let sv = net.sign(
        "bureau",
        Payload::SetValidator(SetValidator {
            member: red_cross,
            power: 10,
            effective_height: 3,
        }),
    );
    let r = net.receipt();
    let d = net.sign("charity-federation", p::donation(r, fed.clone(), 50_000, 1));
    net.commit_all(&[sv, d])?;
    // 2
    let new_key = rotated_key();
    let old = net.key("one-foundation");
    let consent = old.sign(
        Domain::RotateKey,
        &net.genesis_hash,
        &RotateKey::consent_bytes(&one, &new_key.public()),
    );
    let rot = net.sign(
        "bureau",
        Payload::RotateKey(RotateKey {
            member: one,
            new_key: new_key.public(),
            old_key_signature: consent,
        }),
    );
    net.commit_all(&[rot])?;
    // 3
    let sv = net.sign(
        "bureau",
        Payload::SetValidator(SetValidator {
            member: auditor,
            power: 0,
            effective_height: 5,
        }),
    );
    let r = net.receipt();
    let one_fund = FundRef::General(one);
    let rotated = net.sign_with(&new_key, p::donation(r, one_fund, 8_800, 2));
    let rotated_id = rotated.id;
    net.commit_all(&[sv, rotated])?;
    // 4
    let dis = net.sign("charity-federation", p::disbursement(fed.clone(), 20_000));
    net.commit_all(&[dis])?;
    // 5
    let r = net.receipt();
    let d = net.sign("charity-federation", p::donation(r, fed.clone(), 10_000, 3));
    let donation = d.id;
    net.commit_all(&[d])?;
    // 6
    let nc = new_charity_key();
    let admit = net.sign(
        "bureau",
        Payload::AdmitMember(AdmitMember {
            public_key: nc.public(),
            role: Role::Charity,
            name: "深圳新慈善基金会 (demo)".into(),
            uscc: Uscc(format!(
                "53440300MJL000021{}",
                Uscc::check_char("53440300MJL000021").unwrap_or('0')
            )),
            node: NodeKey(Keypair::insecure_dev("dev/new-charity/node").public().0),
        }),
    );
    net.commit_all(&[admit])?;
    // 7
    let sv = net.sign(
        "bureau",
        Payload::SetValidator(SetValidator {
            member: Address::of_key(&nc.public()),
            power: 5,
            effective_height: 9,
        }),
    );
    net.commit_all(&[sv])?;
    // 8–10
    for _ in 0..3 {
        let r = net.receipt();
        let d = net.sign("charity-federation", p::donation(r, fed.clone(), 1_000, 4));
        net.commit_all(&[d])?;
    }
    let tip = net.state.height;
    Ok(BundleChain {
        net,
        donation,
        rotated: rotated_id,
        tip,
    })
}

/// The genesis vectors are checked against (the dev genesis).
fn genesis_toml(g: &Genesis) -> String {
    g.to_toml()
}

fn vector(description: &str, bundle: &ReceiptBundle, expect: Value) -> Value {
    json!({
        "description": description,
        "bundle": bundle.to_json(),
        "expect": expect,
    })
}

fn refused(code: &str, at: &str) -> Value {
    json!({"error": {"code": code, "at": at}})
}

/// A precommit signature of `key` on the header of a signed checkpoint.
fn precommit(net: &DevNet, s: &SignedCheckpoint, key: &Keypair) -> CommitSignature {
    let validator = Address::of_key(&key.public());
    let body = VoteBody {
        kind: VoteKind::Precommit,
        height: s.header.height,
        round: s.certificate.round,
        value: Some(s.checkpoint.header_hash),
        validator,
    };
    CommitSignature {
        validator,
        signature: body.sign(key, &net.genesis_hash),
    }
}

/// Every bundle vector: `(file name, JSON)`. Names without `bad-` are
/// valid bundles.
pub fn bundle_vectors() -> Result<Vec<(String, Value)>, Box<dyn std::error::Error>> {
    let chain = bundle_chain()?;
    let net = &chain.net;
    let store = &net.store;
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut add = |name: &str, v: Value| out.push((format!("{name}.json"), v));

    let ok = |b: &ReceiptBundle| -> Result<Value, Box<dyn std::error::Error>> {
        let proved = verify(&net.genesis, b)?;
        Ok(json!({"bytes": hex::encode(b.to_bytes()), "ok": {
            "id": proved.id.to_hex(),
            "height": proved.height,
            "time": proved.time.0,
            "log_index": proved.log_index,
            "checkpoint_height": proved.checkpoint.height,
            "log_size": proved.checkpoint.log_size,
            "signer": proved.signer.as_ref().map(|m| m.address.to_hex()),
        }}))
    };

    let base = store.receipt_bundle(&chain.donation)?;
    let mut extended = base.clone();
    store.extend_bundle(&mut extended, chain.tip)?;
    add(
        "valid-donation",
        vector(
            "a donation, two validator-set changes before it",
            &base,
            ok(&base)?,
        ),
    );
    add(
        "valid-extended",
        vector(
            "the same donation extended to a later checkpoint across a new member's admission and promotion",
            &extended,
            ok(&extended)?,
        ),
    );
    let rotated = store.receipt_bundle(&chain.rotated)?;
    add(
        "valid-rotated-signer",
        vector(
            "a donation signed with a rotated key: the rotation proves the signer",
            &rotated,
            ok(&rotated)?,
        ),
    );
    let first = store.receipt_bundle(&store.committed_at(1, 1)?.ok_or("no record at height 1")?)?;
    add(
        "valid-height-1",
        vector(
            "a record of block 1 (no previous header)",
            &first,
            ok(&first)?,
        ),
    );

    // Hostile: the record and its proof.
    let mut b = base.clone();
    b.record.record = rotated.record.record.clone();
    add(
        "bad-wrong-leaf",
        vector(
            "another committed record in place of the proven one",
            &b,
            refused("bundle.inclusion", "record"),
        ),
    );
    let mut b = base.clone();
    b.record.proof.path.pop();
    add(
        "bad-truncated-proof",
        vector(
            "the inclusion proof lacks its last hash",
            &b,
            refused("bundle.inclusion", "record"),
        ),
    );
    let mut b = base.clone();
    b.record.proof.path.push([0; 32]);
    add(
        "bad-padded-proof",
        vector(
            "the inclusion proof has an extra hash",
            &b,
            refused("bundle.inclusion", "record"),
        ),
    );
    let mut b = base.clone();
    if let Some(h) = b.record.proof.path.first_mut() {
        h[7] ^= 0x01;
    }
    add(
        "bad-flipped-proof",
        vector(
            "one bit of the inclusion proof flipped",
            &b,
            refused("bundle.inclusion", "record"),
        ),
    );
    let mut b = base.clone();
    let n = b.record.record.len();
    b.record.record[n - 1] ^= 0x80;
    add(
        "bad-record-signature",
        vector(
            "one bit of the record's signature flipped",
            &b,
            refused("bundle.record_signature", "record"),
        ),
    );
    let mut b = base.clone();
    b.record.record.push(0);
    add(
        "bad-record-bytes",
        vector(
            "a trailing byte after the record",
            &b,
            refused("bundle.record_bytes", "record"),
        ),
    );
    let mut b = base.clone();
    b.record.proof.leaf_index -= 1;
    add(
        "bad-not-in-block",
        vector(
            "a log index before the block's records",
            &b,
            refused("bundle.not_in_block", "record"),
        ),
    );
    let mut b = base.clone();
    b.record.proof.tree_size += 1;
    add(
        "bad-proof-size",
        vector(
            "an inclusion proof for a larger log than the header's",
            &b,
            refused("bundle.proof_size", "record"),
        ),
    );

    // Hostile: the header, the checkpoint and the certificate.
    let mut b = base.clone();
    b.block.checkpoint.header.log_root[0] ^= 0x01;
    add(
        "bad-flipped-header",
        vector(
            "one bit of the header flipped, checkpoint left as it was",
            &b,
            refused("bundle.checkpoint_mismatch", "block"),
        ),
    );
    let mut b = base.clone();
    b.block.checkpoint.header.log_root[0] ^= 0x01;
    b.block.checkpoint.checkpoint = crate::block::Checkpoint::of(&b.block.checkpoint.header);
    add("bad-flipped-header-and-checkpoint", vector("one bit of the header flipped and the checkpoint recomputed: the certificate is for another header", &b, refused("certificate.wrong_header", "block")));
    let mut b = base.clone();
    b.block.checkpoint.checkpoint.log_size += 1;
    add(
        "bad-checkpoint-mismatch",
        vector(
            "a checkpoint whose log size is not its header's",
            &b,
            refused("bundle.checkpoint_mismatch", "block"),
        ),
    );
    let mut b = base.clone();
    b.block.checkpoint.certificate.signatures[0].signature.0[10] ^= 0x04;
    add(
        "bad-flipped-certificate",
        vector(
            "one bit of a precommit signature flipped",
            &b,
            refused("certificate.bad_signature", "block"),
        ),
    );
    let mut b = base.clone();
    b.block.checkpoint.certificate.signatures.truncate(2);
    add(
        "bad-too-little-power",
        vector(
            "two of four equal validators: not more than two thirds",
            &b,
            refused("certificate.no_quorum", "block"),
        ),
    );
    let mut b = base.clone();
    let dup = b.block.checkpoint.certificate.signatures[0].clone();
    b.block.checkpoint.certificate.signatures.push(dup);
    add(
        "bad-duplicate-signer",
        vector(
            "one validator's precommit twice",
            &b,
            refused("certificate.duplicate_signer", "block"),
        ),
    );
    let mut b = base.clone();
    let outsider = precommit(net, &b.block.checkpoint, net.key("one-foundation"));
    b.block.checkpoint.certificate.signatures.push(outsider);
    add(
        "bad-non-validator-signer",
        vector(
            "a valid precommit by a member that is not a validator",
            &b,
            refused("certificate.unknown_validator", "block"),
        ),
    );
    let mut b = base.clone();
    let removed = precommit(net, &b.block.checkpoint, net.key("auditor"));
    b.block.checkpoint.certificate.signatures.push(removed);
    add(
        "bad-removed-validator-signer",
        vector(
            "a valid precommit by the auditor, removed from the set at height 5",
            &b,
            refused("certificate.unknown_validator", "block"),
        ),
    );
    let mut b = base.clone();
    b.block.checkpoint.certificate = CommitCertificate::sign_with(
        &net.genesis_hash,
        b.block.checkpoint.header.height,
        0,
        b.block.checkpoint.checkpoint.header_hash,
        &[
            net.key("bureau"),
            net.key("charity-federation"),
            net.key("lottery-centre"),
        ],
    );
    b.block.checkpoint.certificate.signatures.push(precommit(
        net,
        &b.block.checkpoint,
        net.key("auditor"),
    ));
    b.validators
        .retain(|s| s.block.checkpoint.header.height != 3);
    add("bad-skipped-change", vector("the auditor's removal is left out and the auditor signs: the set followed from genesis is wrong", &b, refused("bundle.validator_set", "block")));
    let mut b = base.clone();
    if let Some(prev) = b.block.previous.as_mut() {
        prev.log_size -= 1;
    }
    add(
        "bad-previous-header",
        vector(
            "a previous header that is not the one the header links to",
            &b,
            refused("bundle.previous_header", "block"),
        ),
    );
    let mut b = base.clone();
    b.block.previous = None;
    add(
        "bad-missing-previous-header",
        vector(
            "no previous header for a block above 1",
            &b,
            refused("bundle.previous_header", "block"),
        ),
    );

    // Hostile: the governance steps.
    let mut b = base.clone();
    let again = b.validators[0].clone();
    b.validators.insert(1, again);
    add(
        "bad-steps-out-of-order",
        vector(
            "the same governance block twice",
            &b,
            refused("bundle.order", "validators[1]"),
        ),
    );
    let mut b = base.clone();
    let step1 = store.certified_block(1)?;
    let d1 = store.committed_at(1, 1)?.ok_or("no record at height 1")?;
    let d1 = store.committed(&d1)?.ok_or("record at height 1")?;
    if let Some(s) = b.validators.first_mut() {
        s.block = step1;
        s.records.push(crate::bundle::ProvenRecord {
            proof: store.inclusion_proof(d1.log_index, store.log_size_at(1)?)?,
            record: d1.record.bytes.clone(),
        });
    }
    add(
        "bad-donation-as-governance",
        vector(
            "a donation of block 1, proven there, offered as governance evidence",
            &b,
            refused("bundle.unexpected_record", "validators[0].records[1]"),
        ),
    );
    let mut b = base.clone();
    b.validators.remove(0);
    add(
        "bad-missing-step",
        vector(
            "the step that made red-cross a validator is left out",
            &b,
            refused("bundle.validator_set", "validators[0].block"),
        ),
    );

    // Hostile: extensions.
    let mut b = extended.clone();
    if let Some(e) = b.extensions.first_mut() {
        if let Some(h) = e.consistency.path.first_mut() {
            h[3] ^= 0x20;
        }
    }
    add(
        "bad-consistency",
        vector(
            "a later checkpoint whose consistency proof has a flipped bit",
            &b,
            refused("bundle.consistency", "extensions[0].consistency"),
        ),
    );
    let mut b = extended.clone();
    if let Some(e) = b.extensions.first_mut() {
        e.consistency.old_size -= 1;
    }
    add(
        "bad-consistency-sizes",
        vector(
            "a consistency proof from another log size than the bundle's checkpoint",
            &b,
            refused("bundle.consistency", "extensions[0].consistency"),
        ),
    );
    let mut b = extended.clone();
    if let Some(e) = b.extensions.first_mut() {
        e.checkpoint = b.block.checkpoint.clone();
    }
    add(
        "bad-stale-extension",
        vector(
            "an extension whose checkpoint is the bundle's own (not later)",
            &b,
            refused("bundle.order", "extensions[0].checkpoint"),
        ),
    );
    let mut b = extended.clone();
    if let Some(e) = b.extensions.first_mut() {
        e.validators.clear();
    }
    add(
        "bad-extension-skips-admission",
        vector(
            "the new charity's admission and promotion left out of the extension",
            &b,
            refused("bundle.validator_set", "extensions[0].checkpoint"),
        ),
    );

    // Hostile: another chain's genesis.
    let mut other = net.genesis.clone();
    other.chain_id = "shanlian-other".into();
    let v = vector(
        "a valid bundle checked against another chain's genesis",
        &base,
        refused("bundle.chain_id", "validators[0].block"),
    );
    add("bad-other-chain", with_genesis(v, &other));
    let mut other = net.genesis.clone();
    other.time = Timestamp(other.time.0 + 1000);
    let v = vector(
        "a valid bundle checked against a genesis with the same chain id but another time",
        &base,
        refused("certificate.bad_signature", "validators[0].block"),
    );
    add("bad-other-genesis", with_genesis(v, &other));

    let mut b = base.to_json();
    b["format"] = json!("shanlian-receipt-bundle/0");
    add(
        "bad-format",
        json!({"description": "an unknown format", "bundle": b, "expect": refused("bundle.malformed", "bundle")}),
    );
    let mut b = base.to_json();
    b["record"]["record"] = json!("zz");
    add(
        "bad-hex",
        json!({"description": "record bytes that are not hex", "bundle": b, "expect": refused("bundle.malformed", "bundle")}),
    );
    Ok(out)
}

/// Sets the genesis a vector is checked against (default: genesis/dev.toml).
fn with_genesis(mut v: Value, g: &Genesis) -> Value {
    v["genesis"] = json!(genesis_toml(g));
    v
}
