//! Building what light clients verify: receipt bundles for any committed
//! record, and extensions of a bundle to a later checkpoint (SPEC §13).
//! Everything here only reads the store; [`shanlian_core::bundle::verify`]
//! is the other half.

use crate::block::{Checkpoint, SignedCheckpoint};
use crate::bundle::{CertifiedBlock, Extension, ProvenRecord, ReceiptBundle, ValidatorStep};
use crate::keys as t;
use crate::record::{Payload, Record};
use crate::store::{Store, StoreError};
use crate::types::*;
use crate::validators::ValidatorTracker;
use std::collections::BTreeSet;

/// Why a proof could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ProofBuildError {
    #[error("record {0} is not committed")]
    UnknownRecord(RecordId),
    #[error("height {0} is not committed")]
    UnknownHeight(u64),
    #[error(
        "record {0} has no trace row in that direction (it is not an inflow, or not an outflow)"
    )]
    NotTraceable(RecordId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn missing(what: &str, h: u64) -> StoreError {
    StoreError::Corrupt(format!("{what} of committed height {h} is missing"))
}

/// A committed record and where it is.
#[derive(Debug, Clone)]
pub struct Committed {
    pub record: Record,
    pub height: u64,
    pub index: u32,
    /// Its position in the log.
    pub log_index: u64,
}

impl Store {
    /// The log size after height `h` (0 for genesis).
    pub fn log_size_at(&self, h: u64) -> Result<u64, StoreError> {
        if h == 0 {
            return Ok(0);
        }
        Ok(self
            .header(h)?
            .ok_or_else(|| missing("header", h))?
            .log_size)
    }

    /// A committed record with its block, index and log position.
    pub fn committed(&self, id: &RecordId) -> Result<Option<Committed>, StoreError> {
        let Some((loc, record)) = self.record(id)? else {
            return Ok(None);
        };
        let log_index = self.log_size_at(loc.height - 1)? + u64::from(loc.index);
        Ok(Some(Committed {
            record,
            height: loc.height,
            index: loc.index,
            log_index,
        }))
    }

    /// The id of the record at `(height, index)`, if there is one.
    pub fn committed_at(&self, height: u64, index: u32) -> Result<Option<RecordId>, StoreError> {
        let loc = crate::values::Location { height, index };
        Ok(self.record_at(loc)?.map(|r| r.id))
    }

    /// The signed checkpoint of committed height `h` (no witnesses).
    pub fn signed_checkpoint(&self, h: u64) -> Result<SignedCheckpoint, ProofBuildError> {
        let header = self.header(h)?.ok_or(ProofBuildError::UnknownHeight(h))?;
        let certificate = self
            .certificate(h)?
            .ok_or_else(|| missing("certificate", h))?;
        Ok(SignedCheckpoint {
            checkpoint: Checkpoint::of(&header),
            header,
            certificate,
            witnesses: Vec::new(),
        })
    }

    /// Height `h` as a certified block (with the header before it).
    pub fn certified_block(&self, h: u64) -> Result<CertifiedBlock, ProofBuildError> {
        let previous = match h {
            0 | 1 => None,
            _ => Some(
                self.header(h - 1)?
                    .ok_or_else(|| missing("header", h - 1))?,
            ),
        };
        Ok(CertifiedBlock {
            previous,
            checkpoint: self.signed_checkpoint(h)?,
        })
    }

    /// The governance records (SPEC §13: those a light client follows) of
    /// blocks `from..to`, in log order.
    fn governance(&self, from: u64, to: u64) -> Result<Vec<(u64, u32)>, StoreError> {
        let mut out = Vec::new();
        for item in self.scan_range(&t::governance_key(from, 0), &t::governance_key(to, 0)) {
            let (k, _) = item?;
            let (Some(h), Some(i)) = (k.get(1..9), k.get(9..13)) else {
                return Err(StoreError::Corrupt("governance index key".into()));
            };
            out.push((
                u64::from_be_bytes(h.try_into().unwrap_or_default()),
                u32::from_be_bytes(i.try_into().unwrap_or_default()),
            ));
        }
        Ok(out)
    }

    /// The members a client must be able to name: everyone given voting
    /// power in blocks `1..until` (so that each validator's admission and
    /// key rotations reach the client before its power does), and `also`.
    fn relevant_members(
        &self,
        until: u64,
        also: Option<&Address>,
    ) -> Result<BTreeSet<Address>, StoreError> {
        let mut wanted: BTreeSet<Address> = also.into_iter().copied().collect();
        for (h, i) in self.governance(1, until)? {
            let loc = crate::values::Location {
                height: h,
                index: i,
            };
            let r = self
                .record_at(loc)?
                .ok_or_else(|| missing("indexed governance record", h))?;
            if let Payload::SetValidator(v) = &r.signed.body.payload {
                wanted.insert(v.member);
            }
        }
        Ok(wanted)
    }

    /// Validator steps for the governance records of blocks `from..to` that
    /// concern `wanted` members (every `SetValidator` is kept).
    fn validator_steps(
        &self,
        from: u64,
        to: u64,
        wanted: &BTreeSet<Address>,
    ) -> Result<Vec<ValidatorStep>, ProofBuildError> {
        let mut steps: Vec<ValidatorStep> = Vec::new();
        for (h, i) in self.governance(from, to)? {
            let loc = crate::values::Location {
                height: h,
                index: i,
            };
            let r = self
                .record_at(loc)?
                .ok_or_else(|| missing("indexed governance record", h))?;
            let p = &r.signed.body.payload;
            if !ValidatorTracker::follows(p) || !concerns(p, wanted) {
                continue;
            }
            let size = self.log_size_at(h)?;
            let index = self.log_size_at(h - 1)? + u64::from(i);
            let proven = ProvenRecord {
                proof: self.inclusion_proof(index, size)?,
                record: r.bytes,
            };
            match steps.last_mut() {
                Some(s) if s.block.checkpoint.header.height == h => s.records.push(proven),
                _ => steps.push(ValidatorStep {
                    block: self.certified_block(h)?,
                    records: vec![proven],
                }),
            }
        }
        Ok(steps)
    }

    /// The receipt bundle of a committed record (SPEC §13): its inclusion
    /// in its own certified block, with the governance evidence from
    /// genesis. Extend it to a later checkpoint with [`Store::extend_bundle`].
    pub fn receipt_bundle(&self, id: &RecordId) -> Result<ReceiptBundle, ProofBuildError> {
        let tip = self.tip()?.map_or(0, |t| t.height);
        self.bundle_naming(id, tip + 1)
    }

    /// A bundle whose evidence names every member given power before
    /// `until`, so that it can be extended to any height below `until`.
    fn bundle_naming(&self, id: &RecordId, until: u64) -> Result<ReceiptBundle, ProofBuildError> {
        let c = self
            .committed(id)?
            .ok_or(ProofBuildError::UnknownRecord(*id))?;
        let signer = self.signer_member(&c.record.signed.signer)?;
        let wanted = self.relevant_members(until, signer.as_ref())?;
        let size = self.log_size_at(c.height)?;
        Ok(ReceiptBundle {
            validators: self.validator_steps(1, c.height, &wanted)?,
            block: self.certified_block(c.height)?,
            record: ProvenRecord {
                proof: self.inclusion_proof(c.log_index, size)?,
                record: c.record.bytes,
            },
            extensions: Vec::new(),
        })
    }

    /// Extends `bundle` to the checkpoint of height `to` (later than its
    /// newest checkpoint; otherwise nothing changes). If a member given
    /// power since the bundle was made was admitted (or rotated its key)
    /// before the bundle's newest checkpoint, the bundle cannot carry that
    /// record any more: it is made afresh, with the same record, and then
    /// extended (a fresh bundle is as good as the old one).
    pub fn extend_bundle(
        &self,
        bundle: &mut ReceiptBundle,
        to: u64,
    ) -> Result<(), ProofBuildError> {
        let record = crate::codec::decode::<crate::record::SignedRecord>(&bundle.record.record)
            .map_err(StoreError::from)?;
        let signer = self.signer_member(&record.signer)?;
        let wanted = self.relevant_members(to + 1, signer.as_ref())?;
        if latest_height(bundle) >= to {
            return Ok(());
        }
        let carried: BTreeSet<&[u8]> = bundle
            .validators
            .iter()
            .chain(bundle.extensions.iter().flat_map(|e| e.validators.iter()))
            .flat_map(|s| s.records.iter().map(|r| r.record.as_slice()))
            .collect();
        let needed = self.validator_steps(1, latest_height(bundle), &wanted)?;
        let complete = needed
            .iter()
            .flat_map(|s| s.records.iter())
            .all(|r| carried.contains(r.record.as_slice()));
        if !complete {
            *bundle = self.bundle_naming(&RecordId::of_bytes(&bundle.record.record), to + 1)?;
        }
        let latest = bundle
            .extensions
            .last()
            .map(|e| &e.checkpoint)
            .unwrap_or(&bundle.block.checkpoint);
        let (from, old_size) = (latest.header.height, latest.header.log_size);
        let checkpoint = self.signed_checkpoint(to)?;
        bundle.extensions.push(Extension {
            validators: self.validator_steps(from, to, &wanted)?,
            consistency: self.consistency_proof(old_size, checkpoint.header.log_size)?,
            checkpoint,
        });
        Ok(())
    }

    /// The governance evidence a light client needs to check any block up
    /// to `until` (every member given power before it) and to name the
    /// members `also`.
    pub(crate) fn validator_evidence(
        &self,
        until: u64,
        also: BTreeSet<Address>,
    ) -> Result<Vec<ValidatorStep>, ProofBuildError> {
        let mut wanted = self.relevant_members(until, None)?;
        wanted.extend(also);
        self.validator_steps(1, until, &wanted)
    }

    /// The member a key belongs to (current or rotated out).
    pub(crate) fn signer_member(&self, key: &PublicKey) -> Result<Option<Address>, StoreError> {
        let entry: Option<crate::values::KeyEntry> = self.get(&t::state_key(t::KEYS, key))?;
        Ok(entry.map(|e| e.member))
    }
}

/// Whether a governance record concerns one of `wanted` (every
/// `SetValidator` does: it changes a validator set).
fn concerns(p: &Payload, wanted: &BTreeSet<Address>) -> bool {
    match p {
        Payload::SetValidator(_) => true,
        Payload::AdmitMember(m) => wanted.contains(&Address::of_key(&m.public_key)),
        Payload::UpdateMember(u) => wanted.contains(&u.member),
        Payload::RotateKey(r) => wanted.contains(&r.member),
        _ => false,
    }
}

/// The height of a bundle's newest checkpoint.
fn latest_height(b: &ReceiptBundle) -> u64 {
    b.extensions
        .last()
        .map(|e| &e.checkpoint)
        .unwrap_or(&b.block.checkpoint)
        .header
        .height
}
