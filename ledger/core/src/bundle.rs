//! Receipt bundles (SPEC §13): the unit of trust a donor keeps. A bundle
//! carries one committed record with everything needed to check, offline
//! and with the genesis file alone, that the chain committed it: its
//! inclusion proof in the log, the certified header of its block (and the
//! header before it, which bounds the block's part of the log), the
//! governance records that take the validator set from genesis to that
//! block, and optionally later checkpoints, each with a consistency proof.
//!
//! [`verify`] checks a bundle against a genesis and returns what was proved
//! ([`Proved`]), or a [`BundleError`] naming the failed step (`at`) and a
//! stable code. The donor's identity and salt never travel in a bundle:
//! checking the donor commitment is a separate, local step
//! ([`crate::crypto::commitment`]).

use crate::block::{Checkpoint, Header, SignedCheckpoint};
use crate::codec;
use crate::crypto::Verifier;
use crate::error::Refusal;
use crate::genesis::Genesis;
use crate::merkle::{ConsistencyProof, InclusionProof, ProofError};
use crate::record::{Record, SignedRecord};
use crate::types::*;
use crate::validators::{KnownMember, ValidatorTracker};
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// The JSON form's `format` value.
pub const JSON_FORMAT: &str = "shanlian-receipt-bundle/1";

/// A committed record and its inclusion proof in the log of a certified
/// header (`proof.tree_size` is that header's `log_size`).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenRecord {
    /// The canonical `SignedRecord` bytes.
    #[serde(with = "crate::hexser::bytes")]
    pub record: Vec<u8>,
    /// `leaf_index` is the record's position in the log.
    pub proof: InclusionProof,
}

/// A certified block: its signed checkpoint, and the header before it
/// (absent at height 1), whose `log_size` is where the block's records
/// start in the log. The previous header needs no certificate: the
/// certified header names its hash.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertifiedBlock {
    pub previous: Option<Header>,
    pub checkpoint: SignedCheckpoint,
}

/// Governance records of one block that change members or validators
/// (`AdmitMember`, `UpdateMember`, `RotateKey`, `SetValidator`), proven in
/// that certified block.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorStep {
    pub block: CertifiedBlock,
    pub records: Vec<ProvenRecord>,
}

/// A later checkpoint: the governance records since the previous one, the
/// new signed checkpoint, and the consistency proof from the previous log
/// to the new one.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    pub validators: Vec<ValidatorStep>,
    pub checkpoint: SignedCheckpoint,
    pub consistency: ConsistencyProof,
}

/// A receipt bundle (SPEC §13.1).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ReceiptBundle {
    /// Governance records from genesis up to the record's block, in log
    /// order, one step per block.
    pub validators: Vec<ValidatorStep>,
    /// The record's block.
    pub block: CertifiedBlock,
    /// The record, proven in its block's log.
    pub record: ProvenRecord,
    /// Later checkpoints, oldest first.
    pub extensions: Vec<Extension>,
}

/// The JSON form: the bundle's fields plus `format`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleJson {
    format: String,
    validators: Vec<ValidatorStep>,
    block: CertifiedBlock,
    record: ProvenRecord,
    extensions: Vec<Extension>,
}

impl ReceiptBundle {
    /// The canonical bytes (SPEC §13.1).
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes the canonical bytes strictly.
    pub fn from_bytes(bytes: &[u8]) -> Result<ReceiptBundle, BundleError> {
        codec::decode_canonical(bytes)
            .map_err(|e| BundleError::new("bundle", Kind::Malformed(e.to_string())))
    }

    /// The JSON form (SPEC §13.2).
    pub fn to_json(&self) -> serde_json::Value {
        let j = BundleJson {
            format: JSON_FORMAT.into(),
            validators: self.validators.clone(),
            block: self.block.clone(),
            record: self.record.clone(),
            extensions: self.extensions.clone(),
        };
        serde_json::to_value(j).unwrap_or(serde_json::Value::Null)
    }

    /// Reads the JSON form.
    pub fn from_json(value: &serde_json::Value) -> Result<ReceiptBundle, BundleError> {
        let malformed = |m: String| BundleError::new("bundle", Kind::Malformed(m));
        let j: BundleJson =
            serde_json::from_value(value.clone()).map_err(|e| malformed(e.to_string()))?;
        if j.format != JSON_FORMAT {
            return Err(malformed(format!(
                "format is {:?}, expected {JSON_FORMAT:?}",
                j.format
            )));
        }
        Ok(ReceiptBundle {
            validators: j.validators,
            block: j.block,
            record: j.record,
            extensions: j.extensions,
        })
    }
}

/// What a verified bundle proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proved {
    pub record: SignedRecord,
    pub id: RecordId,
    /// The record's place in the log.
    pub log_index: u64,
    /// The block that committed it.
    pub height: u64,
    pub time: Timestamp,
    /// The signer, when the genesis or the bundle's governance records
    /// name it (they do for any member the bundle builder knows of).
    pub signer: Option<KnownMember>,
    /// The newest checkpoint the bundle proves (the record's block's, or
    /// the last extension's).
    pub checkpoint: Checkpoint,
    /// Witness keys whose co-signature on that newest checkpoint verified,
    /// with the member each belongs to when known.
    pub witnesses: Vec<(PublicKey, Option<Address>)>,
}

/// What failed, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Kind {
    #[error("the bundle does not decode: {0}")]
    Malformed(String),
    #[error("the header is of chain {got:?}, not {expected:?}")]
    ChainId { expected: String, got: String },
    #[error("the checkpoint does not match its header")]
    CheckpointMismatch,
    #[error("the previous header does not link to the header: {0}")]
    PreviousHeader(&'static str),
    #[error("the header's validator-set hash is not the hash of the set followed from genesis at height {height}")]
    ValidatorSet { height: u64 },
    #[error("commit certificate: {0}")]
    Certificate(crate::block::CertificateError),
    #[error("witness signature {index} does not verify")]
    Witness { index: usize },
    #[error("record bytes: {0}")]
    RecordBytes(Refusal),
    #[error("the record's signature does not verify")]
    RecordSignature,
    #[error("the inclusion proof is for a log of {got} records, the header's log has {expected}")]
    ProofSize { expected: u64, got: u64 },
    #[error(
        "log index {index} is not in the block, which holds log indexes {from} to {to} (exclusive)"
    )]
    NotInBlock { index: u64, from: u64, to: u64 },
    #[error("inclusion proof: {0}")]
    Inclusion(ProofError),
    #[error("consistency proof: {0}")]
    Consistency(ProofError),
    #[error("the consistency proof is from {got_old} to {got_new} records, the checkpoints have {old} and {new}")]
    ConsistencySizes {
        old: u64,
        new: u64,
        got_old: u64,
        got_new: u64,
    },
    #[error("a {0} record does not change members or validators")]
    UnexpectedRecord(&'static str),
    #[error("out of order: {0}")]
    Order(&'static str),
}

impl Kind {
    /// A stable, machine-readable name of the failed check (SPEC §13.4).
    pub fn code(&self) -> &'static str {
        match self {
            Kind::Malformed(_) => "bundle.malformed",
            Kind::ChainId { .. } => "bundle.chain_id",
            Kind::CheckpointMismatch => "bundle.checkpoint_mismatch",
            Kind::PreviousHeader(_) => "bundle.previous_header",
            Kind::ValidatorSet { .. } => "bundle.validator_set",
            Kind::Certificate(e) => e.code(),
            Kind::Witness { .. } => "bundle.witness",
            Kind::RecordBytes(_) => "bundle.record_bytes",
            Kind::RecordSignature => "bundle.record_signature",
            Kind::ProofSize { .. } => "bundle.proof_size",
            Kind::NotInBlock { .. } => "bundle.not_in_block",
            Kind::Inclusion(_) => "bundle.inclusion",
            Kind::Consistency(_) => "bundle.consistency",
            Kind::ConsistencySizes { .. } => "bundle.consistency",
            Kind::UnexpectedRecord(_) => "bundle.unexpected_record",
            Kind::Order(_) => "bundle.order",
        }
    }
}

/// A bundle failed verification at step `at` (e.g. `validators[1].records[0]`,
/// `block`, `record`, `extensions[0].consistency`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {kind}")]
pub struct BundleError {
    pub at: String,
    pub kind: Kind,
}

impl BundleError {
    pub(crate) fn new(at: impl Into<String>, kind: Kind) -> BundleError {
        BundleError {
            at: at.into(),
            kind,
        }
    }
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

/// The verifier's running knowledge: the genesis, the tracker, and how far
/// the governance records go.
pub(crate) struct Run<'g> {
    genesis: &'g Genesis,
    genesis_hash: Hash32,
    pub(crate) tracker: ValidatorTracker,
    last_step: Option<u64>,
    last_index: Option<u64>,
}

impl<'g> Run<'g> {
    pub(crate) fn new(genesis: &'g Genesis) -> Run<'g> {
        Run {
            genesis,
            genesis_hash: genesis.hash(),
            tracker: ValidatorTracker::from_genesis(genesis),
            last_step: None,
            last_index: None,
        }
    }

    /// SPEC §13.3 step C: a signed checkpoint against the set followed from
    /// genesis.
    pub(crate) fn checkpoint(&self, s: &SignedCheckpoint, at: &str) -> Result<(), BundleError> {
        let err = |k| BundleError::new(at, k);
        let h = &s.header;
        if h.chain_id != self.genesis.chain_id {
            return Err(err(Kind::ChainId {
                expected: self.genesis.chain_id.clone(),
                got: h.chain_id.clone(),
            }));
        }
        if s.checkpoint != Checkpoint::of(h) {
            return Err(err(Kind::CheckpointMismatch));
        }
        let set = self.tracker.set_at(h.height);
        if set.hash() != h.validator_set_hash {
            return Err(err(Kind::ValidatorSet { height: h.height }));
        }
        s.certificate
            .verify(
                &self.genesis_hash,
                h.height,
                &s.checkpoint.header_hash,
                &set,
            )
            .map_err(|e| err(Kind::Certificate(e)))?;
        let msg = s.checkpoint.witness_bytes(&self.genesis_hash);
        for (index, w) in s.witnesses.iter().enumerate() {
            let ok = Verifier::parse(&w.witness)
                .and_then(|v| v.verify_message(&msg, &w.signature))
                .is_ok();
            if !ok {
                return Err(err(Kind::Witness { index }));
            }
        }
        Ok(())
    }

    /// SPEC §13.3 step B: a certified block; returns the log range
    /// `[from, to)` of its records.
    pub(crate) fn block(&self, b: &CertifiedBlock, at: &str) -> Result<(u64, u64), BundleError> {
        self.checkpoint(&b.checkpoint, at)?;
        let h = &b.checkpoint.header;
        let err = |m| BundleError::new(at, Kind::PreviousHeader(m));
        let from = match (&b.previous, h.height) {
            (None, 1) if h.prev_hash == self.genesis_hash => 0,
            (None, 1) => return Err(err("block 1 must name the genesis hash")),
            (None, _) => return Err(err("the previous header is missing")),
            (Some(_), 0 | 1) => return Err(err("block 1 has no previous header")),
            (Some(p), n) => {
                if p.height != n - 1 || p.hash() != h.prev_hash {
                    return Err(err("its hash is not the header's prev_hash"));
                }
                p.log_size
            }
        };
        if from > h.log_size {
            return Err(err("the previous log is larger than this block's"));
        }
        Ok((from, h.log_size))
    }

    /// SPEC §13.3 step R: a record proven in a block's log range.
    pub(crate) fn record(
        &self,
        p: &ProvenRecord,
        header: &Header,
        (from, to): (u64, u64),
        at: &str,
    ) -> Result<Record, BundleError> {
        let err = |k| BundleError::new(at, k);
        let max = self.genesis.params.max_record_bytes as usize;
        let rec = Record::from_bytes(&p.record, max).map_err(|r| err(Kind::RecordBytes(r)))?;
        let sig_ok = Verifier::parse(&rec.signed.signer)
            .and_then(|v| {
                v.verify_message(
                    &rec.signing_message(&self.genesis_hash),
                    &rec.signed.signature,
                )
            })
            .is_ok();
        if !sig_ok {
            return Err(err(Kind::RecordSignature));
        }
        if p.proof.tree_size != header.log_size {
            return Err(err(Kind::ProofSize {
                expected: header.log_size,
                got: p.proof.tree_size,
            }));
        }
        let index = p.proof.leaf_index;
        if index < from || index >= to {
            return Err(err(Kind::NotInBlock { index, from, to }));
        }
        p.proof
            .verify(&rec.id.0, &header.log_root)
            .map_err(|e| err(Kind::Inclusion(e)))?;
        Ok(rec)
    }

    /// SPEC §13.3 step V: one block of governance records. `before` is the
    /// height the step must be below; `from` the least height allowed.
    pub(crate) fn step(
        &mut self,
        s: &ValidatorStep,
        at: &str,
        from: u64,
        before: u64,
    ) -> Result<(), BundleError> {
        let h = s.block.checkpoint.header.height;
        if h < from || h >= before || self.last_step.is_some_and(|l| h <= l) {
            return Err(BundleError::new(
                at,
                Kind::Order("governance blocks must be in increasing height before the checkpoint they lead to"),
            ));
        }
        let range = self.block(&s.block, &format!("{at}.block"))?;
        for (j, p) in s.records.iter().enumerate() {
            let at = format!("{at}.records[{j}]");
            let rec = self.record(p, &s.block.checkpoint.header, range, &at)?;
            if self.last_index.is_some_and(|l| p.proof.leaf_index <= l) {
                return Err(BundleError::new(
                    at,
                    Kind::Order("records must be in log order"),
                ));
            }
            self.last_index = Some(p.proof.leaf_index);
            let payload = &rec.signed.body.payload;
            if !ValidatorTracker::follows(payload) {
                return Err(BundleError::new(at, Kind::UnexpectedRecord(payload.kind())));
            }
            self.tracker
                .apply(payload, h)
                .map_err(|_| BundleError::new(at, Kind::UnexpectedRecord(payload.kind())))?;
        }
        self.last_step = Some(h);
        Ok(())
    }
}

/// Verifies a receipt bundle against a genesis (SPEC §13.3).
pub fn verify(genesis: &Genesis, bundle: &ReceiptBundle) -> Result<Proved, BundleError> {
    let mut run = Run::new(genesis);
    let home = &bundle.block.checkpoint.header;
    for (i, s) in bundle.validators.iter().enumerate() {
        run.step(s, &format!("validators[{i}]"), 1, home.height)?;
    }
    let range = run.block(&bundle.block, "block")?;
    let rec = run.record(&bundle.record, home, range, "record")?;
    let mut latest = &bundle.block.checkpoint;
    for (k, ext) in bundle.extensions.iter().enumerate() {
        let prev = latest.header.height;
        let next = ext.checkpoint.header.height;
        if next <= prev {
            return Err(BundleError::new(
                format!("extensions[{k}].checkpoint"),
                Kind::Order("each extension's checkpoint must be later than the one before"),
            ));
        }
        for (i, s) in ext.validators.iter().enumerate() {
            run.step(s, &format!("extensions[{k}].validators[{i}]"), prev, next)?;
        }
        run.checkpoint(&ext.checkpoint, &format!("extensions[{k}].checkpoint"))?;
        let (old, new) = (&latest.checkpoint, &ext.checkpoint.checkpoint);
        let at = format!("extensions[{k}].consistency");
        let c = &ext.consistency;
        if c.old_size != old.log_size || c.new_size != new.log_size {
            return Err(BundleError::new(
                at,
                Kind::ConsistencySizes {
                    old: old.log_size,
                    new: new.log_size,
                    got_old: c.old_size,
                    got_new: c.new_size,
                },
            ));
        }
        c.verify(&old.log_root, &new.log_root)
            .map_err(|e| BundleError::new(at, Kind::Consistency(e)))?;
        latest = &ext.checkpoint;
    }
    let witnesses = latest
        .witnesses
        .iter()
        .map(|w| {
            let member = run.tracker.member_of_key(&w.witness).map(|m| m.address);
            (w.witness, member)
        })
        .collect();
    Ok(Proved {
        signer: run.tracker.member_of_key(&rec.signed.signer).cloned(),
        id: rec.id,
        log_index: bundle.record.proof.leaf_index,
        height: home.height,
        time: home.time,
        record: rec.signed,
        checkpoint: latest.checkpoint.clone(),
        witnesses,
    })
}

/// From a checkpoint a client trusted to a newer one (SPEC §13.6): the
/// governance evidence from genesis to the newer height, both signed
/// checkpoints, and the consistency proof between their logs (absent when
/// the old log is empty or as large as the new one).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointProof {
    pub validators: Vec<ValidatorStep>,
    pub old: SignedCheckpoint,
    pub new: SignedCheckpoint,
    #[serde(default)]
    pub consistency: Option<ConsistencyProof>,
}

/// Verifies a checkpoint proof against a genesis (SPEC §13.6): both
/// checkpoints certified by the sets followed from genesis, the newer one
/// not older, and the older log a prefix of the newer. Returns both
/// checkpoints. A client that remembered `old` compares it with what it
/// remembered: a different header hash or log root at the same height means
/// the server shows it another history.
pub fn verify_checkpoints(
    genesis: &Genesis,
    p: &CheckpointProof,
) -> Result<(Checkpoint, Checkpoint), BundleError> {
    let mut run = Run::new(genesis);
    let (old, new) = (&p.old.header, &p.new.header);
    if old.height == 0 || old.height > new.height {
        return Err(BundleError::new(
            "old",
            Kind::Order("the old checkpoint must be at a height from 1 to the new one's"),
        ));
    }
    for (i, s) in p.validators.iter().enumerate() {
        run.step(s, &format!("validators[{i}]"), 1, new.height.max(1))?;
    }
    run.checkpoint(&p.old, "old")?;
    run.checkpoint(&p.new, "new")?;
    let (o, n) = (&p.old.checkpoint, &p.new.checkpoint);
    match &p.consistency {
        None if o.log_size == 0 || o.log_size == n.log_size => {
            if o.log_size == n.log_size && o.log_root != n.log_root {
                return Err(BundleError::new(
                    "consistency",
                    Kind::Consistency(ProofError::RootMismatch),
                ));
            }
        }
        None => {
            return Err(BundleError::new(
                "consistency",
                Kind::ConsistencySizes {
                    old: o.log_size,
                    new: n.log_size,
                    got_old: 0,
                    got_new: 0,
                },
            ))
        }
        Some(c) => {
            if c.old_size != o.log_size || c.new_size != n.log_size {
                return Err(BundleError::new(
                    "consistency",
                    Kind::ConsistencySizes {
                        old: o.log_size,
                        new: n.log_size,
                        got_old: c.old_size,
                        got_new: c.new_size,
                    },
                ));
            }
            c.verify(&o.log_root, &n.log_root)
                .map_err(|e| BundleError::new("consistency", Kind::Consistency(e)))?;
        }
    }
    Ok((o.clone(), n.clone()))
}
