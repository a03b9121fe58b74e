//! Applying whole blocks: building one from candidate records (proposer),
//! checking a proposed one against a scratch state (validator), and
//! committing a decided one with its certificate.

use crate::block::{BlockData, CommitCertificate, Header};
use crate::crypto::{SignedMessage, Verifier};
use crate::error::BlockError;
use crate::fault::{ApplyError, ChainError};
use crate::record::Record;
use crate::state::{History, State, Transition};
use crate::types::*;

/// A proposed block, its transition, and the candidates left out with
/// their refusals.
pub type Proposal = (BlockData, Transition, Vec<(RecordId, crate::Refusal)>);

/// Decodes a block's record bytes strictly, on all cores (each record's
/// id and leaf hash are computed here); a bad record is named by its index,
/// the first if there are several.
pub fn decode_records(block: &BlockData, max_bytes: usize) -> Result<Vec<Record>, BlockError> {
    use rayon::prelude::*;
    first_refusal(
        block
            .records
            .par_iter()
            .map(|b| Record::from_bytes(b, max_bytes))
            .collect(),
    )
}

/// [`decode_records`] of record bytes the caller gives up (a replay, which
/// keeps only the block's header): each record keeps its bytes, uncopied.
pub fn decode_owned_records(
    records: Vec<Vec<u8>>,
    max_bytes: usize,
) -> Result<Vec<Record>, BlockError> {
    use rayon::prelude::*;
    first_refusal(
        records
            .into_par_iter()
            .map(|b| Record::from_vec(b, max_bytes))
            .collect(),
    )
}

/// The records in order, or the first one refused, named by its index.
fn first_refusal(decoded: Vec<Result<Record, crate::Refusal>>) -> Result<Vec<Record>, BlockError> {
    decoded
        .into_iter()
        .enumerate()
        .map(|(index, r)| r.map_err(|refusal| BlockError::RecordBytes { index, refusal }))
        .collect()
}

/// Checks every record's signature (SPEC §4, ZIP-215) in batches on all
/// cores. Batch and single verification give the same verdicts, so this
/// is the consensus path. Unknown or unparsable signer keys count as
/// invalid.
pub fn verify_signatures(state: &mut State, records: &[Record]) -> Vec<bool> {
    let verifiers: Vec<Option<Verifier>> = records
        .iter()
        .map(|r| state.cached_verifier(&r.signed.signer))
        .collect();
    verify_each(&state.genesis_hash, records, &verifiers)
}

/// The same check without a state (for pool admission, before the records
/// reach the state machine): each record's signature under the key it
/// names. Membership of that key is the state's business
/// ([`State::admit_checked`]).
pub fn verify_record_signatures(genesis_hash: &Hash32, records: &[Record]) -> Vec<bool> {
    let mut keys: std::collections::HashMap<PublicKey, Option<Verifier>> =
        std::collections::HashMap::new();
    let verifiers: Vec<Option<Verifier>> = records
        .iter()
        .map(|r| {
            keys.entry(r.signed.signer)
                .or_insert_with(|| Verifier::parse(&r.signed.signer).ok())
                .clone()
        })
        .collect();
    verify_each(genesis_hash, records, &verifiers)
}

/// The most signatures in one batch: past ~1,000 the multiscalar
/// multiplication gains little, and a smaller batch bounds the work one
/// bad signature adds.
pub const MAX_BATCH: usize = 1024;

/// Record `i`'s signature under `verifiers[i]`, in batches on all cores.
fn verify_each(
    genesis_hash: &Hash32,
    records: &[Record],
    verifiers: &[Option<Verifier>],
) -> Vec<bool> {
    let indexed: Vec<(&Record, Option<&Verifier>)> = records
        .iter()
        .zip(verifiers)
        .map(|(r, v)| (r, v.as_ref()))
        .collect();
    verify_in_batches(genesis_hash, &indexed, false)
}

/// Verdicts for many records' signatures (SPEC §4), each under the key
/// paired with it (`None`: invalid), split over all cores in batches of at
/// most [`MAX_BATCH`] (or each on its own with `single_only`: the same
/// verdicts, slower). Each batch builds its own signing messages, so that
/// work runs on all cores too and no message outlives its batch.
pub(crate) fn verify_in_batches(
    genesis_hash: &Hash32,
    records: &[(&Record, Option<&Verifier>)],
    single_only: bool,
) -> Vec<bool> {
    use rayon::prelude::*;
    let threads = rayon::current_num_threads().max(1);
    let chunk = records.len().div_ceil(threads).clamp(1, MAX_BATCH);
    records
        .par_chunks(chunk)
        .flat_map_iter(|batch| {
            let messages: Vec<Vec<u8>> = batch
                .iter()
                .map(|(r, _)| r.signing_message(genesis_hash))
                .collect();
            let mut at = Vec::with_capacity(batch.len());
            let mut items: Vec<SignedMessage> = Vec::with_capacity(batch.len());
            for (i, ((r, v), m)) in batch.iter().zip(&messages).enumerate() {
                if let Some(v) = v {
                    at.push(i);
                    items.push((v, m.as_slice(), &r.signed.signature));
                }
            }
            let verdicts = verdicts(&items, single_only);
            let mut out = vec![false; batch.len()];
            for (i, ok) in at.into_iter().zip(verdicts) {
                out[i] = ok;
            }
            out
        })
        .collect()
}

/// Verdicts for signatures with their messages built: one ZIP-215 batch,
/// or each on its own with `single_only` (the same verdicts, slower).
pub(crate) fn verdicts(items: &[SignedMessage], single_only: bool) -> Vec<bool> {
    if single_only {
        items
            .iter()
            .map(|(v, m, s)| v.verify_message(m, s).is_ok())
            .collect()
    } else {
        crate::crypto::verify_batch(items)
    }
}

/// Builds a block at `time` from candidates in order, leaving out any that
/// would be refused (returned with their reasons). `verified[i]` says
/// candidate `i`'s signature was checked already (at pool
/// admission); others are checked here. The state keeps the block open:
/// commit it with [`commit`] once decided, or roll it back.
///
/// A fault while applying a candidate (a history read that fails) is not a
/// refusal of that candidate: the proposal is abandoned and the fault
/// returned, with the state rolled back.
pub fn propose(
    state: &mut State,
    time: Timestamp,
    proposer: Address,
    candidates: &[Record],
    verified: &[bool],
    history: &dyn History,
) -> Result<Proposal, ChainError> {
    let height = state.height + 1;
    state.begin_block(height, time)?;
    let max = state.genesis.params.max_records_per_block as usize;
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    for (i, r) in candidates.iter().enumerate() {
        if kept.len() >= max {
            break;
        }
        match state.apply_record(r, verified.get(i).copied().unwrap_or(false), history) {
            Ok(()) => kept.push(r.bytes.clone()),
            Err(ApplyError::Refused(e)) => refused.push((r.id, e)),
            Err(ApplyError::Fault(f)) => {
                state.rollback_block();
                return Err(f.into());
            }
        }
    }
    let (tr, c) = match state.finish_block() {
        Ok(x) => x,
        Err(e) => {
            state.rollback_block();
            return Err(e.into());
        }
    };
    let header = Header {
        chain_id: state.genesis.chain_id.clone(),
        height,
        time,
        prev_hash: state.last_header_hash,
        log_size: c.log_size,
        log_root: c.log_root,
        record_root: c.record_root,
        state_hash: c.state_hash,
        proposer,
        validator_set_hash: c.validator_set_hash,
    };
    Ok((
        BlockData {
            header,
            records: kept,
        },
        tr,
        refused,
    ))
}

/// Re-validates a whole proposed block, its header `h` and its decoded
/// `records`, against the state: every record must be accepted and every
/// header field must match what the state machine computes. The block
/// stays open on success (commit or roll back); on failure it is rolled
/// back. `verified[i]` says record `i`'s signature was
/// already checked (SPEC §4, singly or in a batch).
///
/// [`ChainError::Invalid`] is a verdict on the block; [`ChainError::Fault`]
/// (this node's history could not be read) is none, and must not be voted on.
pub fn check_block(
    state: &mut State,
    h: &Header,
    records: &[Record],
    verified: &[bool],
    history: &dyn History,
) -> Result<Transition, ChainError> {
    let result = (|| {
        if h.chain_id != state.genesis.chain_id {
            return Err(BlockError::HeaderMismatch("chain_id").into());
        }
        if h.prev_hash != state.last_header_hash {
            return Err(BlockError::HeaderMismatch("prev_hash").into());
        }
        let max = state.genesis.params.max_records_per_block as usize;
        if records.len() > max {
            return Err(BlockError::TooManyRecords {
                got: records.len(),
                max,
            }
            .into());
        }
        let vs = state.validator_set(h.height);
        if vs.get(&h.proposer).is_none() {
            return Err(BlockError::UnknownProposer(h.proposer).into());
        }
        state.begin_block(h.height, h.time)?;
        for (index, r) in records.iter().enumerate() {
            let pre = verified.get(index).copied().unwrap_or(false);
            state.apply_record(r, pre, history).map_err(|e| match e {
                ApplyError::Refused(refusal) => ChainError::Invalid(BlockError::Record {
                    index,
                    id: r.id,
                    refusal,
                }),
                ApplyError::Fault(f) => ChainError::Fault(f),
            })?;
        }
        let (tr, c) = state.finish_block()?;
        for (name, ok) in [
            ("log_size", c.log_size == h.log_size),
            ("log_root", c.log_root == h.log_root),
            ("record_root", c.record_root == h.record_root),
            ("state_hash", c.state_hash == h.state_hash),
            (
                "validator_set_hash",
                c.validator_set_hash == h.validator_set_hash,
            ),
        ] {
            if !ok {
                return Err(BlockError::HeaderMismatch(name).into());
            }
        }
        Ok(tr)
    })();
    if result.is_err() {
        state.rollback_block();
    }
    result
}

/// A validator's clock rule, applied before voting for a proposal (never
/// in replay, which has no "now"): a block's time may be at most
/// `clock_skew_ms` ahead of the validator's own clock, so a proposer cannot
/// push the chain's time (and every expiry check) into the future.
pub fn check_block_time(state: &State, time: Timestamp, now: Timestamp) -> Result<(), BlockError> {
    let skew_ms = state.genesis.params.clock_skew_ms;
    if time.0 > now.0.saturating_add(skew_ms) {
        return Err(BlockError::FromTheFuture {
            got: time,
            now,
            skew_ms,
        });
    }
    Ok(())
}

/// Commits a decided, checked block: the store first (one atomic batch),
/// then the in-memory state. Every failure here is a fault: the block was
/// decided.
pub fn commit(
    state: &mut State,
    store: &crate::store::Store,
    block: &BlockData,
    cert: &CommitCertificate,
    tr: &Transition,
) -> Result<(), crate::fault::Fault> {
    store.commit(block, cert, tr)?;
    state
        .commit_block(&block.header)
        .map_err(|e| crate::fault::Fault::Invariant(e.to_string()))
}
