//! The full-chain verifier: replays a store from genesis and checks
//! everything a block commits to — hash links, every commit certificate,
//! every record signature, every record's validity (by re-applying it
//! through the same state machine), record roots, log roots and state
//! hashes — and finally that the stored state tables and log tiles equal
//! the replayed ones. The first failure is reported with its height,
//! record and reason.
//!
//! Signatures are checked ahead of replay on all cores in ZIP-215 batches
//! ([`crate::crypto::verify_batch`]), which give the same verdicts as
//! single verification: every record's, and every certificate's under the
//! validator keys a [`ValidatorTracker`] following the governance records
//! ahead of the replay expects. The replay then takes a certificate
//! signature as checked only if it was checked under the key the replayed
//! state gives that validator; any other it verifies on its own.

use crate::block::{BlockData, CommitCertificate, Header, VoteBody, VoteKind};
use crate::chain;
use crate::codec;
use crate::crypto::Verifier;
use crate::error::BlockError;
use crate::fault::ChainError;
use crate::genesis::Genesis;
use crate::keys as t;
use crate::merkle::{self, MemTiles};
use crate::record::Record;
use crate::state::State;
use crate::store::{Store, StoreError};
use crate::types::*;
use crate::validators::ValidatorTracker;
use std::collections::HashMap;
use std::sync::{mpsc, Arc};

/// Why a chain failed verification.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("store holds no genesis")]
    NoGenesis,
    #[error("stored genesis differs from the expected one")]
    GenesisMismatch,
    #[error("height {height}: {what} is missing")]
    Missing { height: u64, what: &'static str },
    #[error("height {height}: {what} bytes are malformed: {reason}")]
    Malformed {
        height: u64,
        what: &'static str,
        reason: String,
    },
    #[error("height {height}: header does not link: {reason}")]
    Link { height: u64, reason: String },
    #[error("height {height}: commit certificate: {reason}")]
    Certificate { height: u64, reason: String },
    #[error("height {height}, record {index} ({id}): signature does not verify")]
    Signature {
        height: u64,
        index: usize,
        id: RecordId,
    },
    #[error("height {height}: {error}")]
    Block { height: u64, error: BlockError },
    #[error("height {height}: {fault}")]
    Fault {
        height: u64,
        fault: crate::fault::Fault,
    },
    #[error("stored tip does not match the replayed chain: {0}")]
    Tip(String),
    #[error("the store differs from the replay: {0}")]
    State(String),
    #[error("stored log tile {0} differs from the replayed log")]
    Tile(String),
}

/// Progress of a long verification.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub height: u64,
    pub tip: u64,
    pub records: u64,
}

/// How thoroughly to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Also compare every stored state entry, trace row and index entry
    /// with the replayed ones (catches a node's corrupted local indexes;
    /// costs a sort of all of them at the end).
    pub deep: bool,
    /// Check every signature on its own, never in a batch (slower; the
    /// same verdicts under ZIP-215, for an auditor who wants to see that).
    pub single_only: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            deep: true,
            single_only: false,
        }
    }
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub height: u64,
    pub records: u64,
    /// Signatures of the commit certificates replayed.
    pub certificate_signatures: u64,
    pub header_hash: Hash32,
    pub log_size: u64,
    pub log_root: Hash32,
    pub state_hash: Hash32,
}

/// One block, decoded and signature-checked ahead of replay.
struct Prepared {
    height: u64,
    /// The block's header (its records' bytes moved into `records`).
    header: Header,
    cert: CommitCertificate,
    records: Vec<Record>,
    sig_ok: Vec<bool>,
    /// Per certificate signature: the key it was verified under ahead of
    /// the replay, if it was and verified.
    cert_ok: Vec<Option<PublicKey>>,
}

/// One height's stored bytes, read ahead of decoding.
struct Raw {
    height: u64,
    block: Vec<u8>,
    cert: Vec<u8>,
    header: Vec<u8>,
}

fn read_raw(store: &Store, height: u64) -> Result<Raw, VerifyError> {
    let raw = |family, what| -> Result<Vec<u8>, VerifyError> {
        store
            .raw(&t::height_key(family, height))?
            .ok_or(VerifyError::Missing { height, what })
    };
    Ok(Raw {
        height,
        block: raw(t::BLOCKS, "block")?,
        cert: raw(t::CERTIFICATES, "certificate")?,
        header: raw(t::HEADERS, "header")?,
    })
}

/// Decodes one height strictly, its records in parallel on the current
/// rayon pool ([`chain::decode_records`]).
fn decode_raw(raw: Raw, max_bytes: usize) -> Result<Prepared, VerifyError> {
    let height = raw.height;
    let malformed = |what: &'static str| {
        move |e: codec::DecodeError| VerifyError::Malformed {
            height,
            what,
            reason: e.to_string(),
        }
    };
    let mut block: BlockData = codec::decode_canonical(&raw.block).map_err(malformed("block"))?;
    let cert: CommitCertificate =
        codec::decode_canonical(&raw.cert).map_err(malformed("certificate"))?;
    let header: Header = codec::decode_canonical(&raw.header).map_err(malformed("header"))?;
    if header != block.header {
        return Err(VerifyError::Link {
            height,
            reason: "header index differs from the block's header".into(),
        });
    }
    let records = chain::decode_owned_records(std::mem::take(&mut block.records), max_bytes)
        .map_err(|error| VerifyError::Block { height, error })?;
    let sig_ok = vec![false; records.len()];
    let cert_ok = vec![None; cert.signatures.len()];
    Ok(Prepared {
        height,
        header: block.header,
        cert,
        records,
        sig_ok,
        cert_ok,
    })
}

/// The blocks decoded before the first failure, in order, and that
/// failure (an earlier height's failure comes first).
fn until_failure(
    decoded: Vec<Result<Prepared, VerifyError>>,
) -> (Vec<Prepared>, Option<VerifyError>) {
    let mut window = Vec::with_capacity(decoded.len());
    for d in decoded {
        match d {
            Ok(p) => window.push(p),
            Err(e) => return (window, Some(e)),
        }
    }
    (window, None)
}

/// Reads and decodes the blocks from height `*h` on, about
/// [`WINDOW_BYTES`] of them, advancing `*h`; decoding runs on the current
/// rayon pool. Returns the blocks that decoded, in order, and the failure
/// that stopped the window early, if one did (the first in height order).
fn read_window(
    store: &Store,
    h: &mut u64,
    tip_height: u64,
    max_bytes: usize,
) -> (Vec<Prepared>, Option<VerifyError>) {
    use rayon::prelude::*;
    let mut raws = Vec::new();
    let mut bytes = 0;
    let mut failed = None;
    while *h <= tip_height && bytes < WINDOW_BYTES {
        match read_raw(store, *h) {
            Ok(raw) => {
                bytes += raw.block.len();
                raws.push(raw);
                *h += 1;
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let decoded: Vec<_> = raws
        .into_par_iter()
        .map(|raw| decode_raw(raw, max_bytes))
        .collect();
    let (window, bad) = until_failure(decoded);
    (window, bad.or(failed))
}

/// How many bytes of blocks the reader decodes and signature-checks at a
/// time: large enough for full signature batches on every core, small
/// enough that the windows in flight stay a few MiB.
const WINDOW_BYTES: usize = 2 << 20;

/// Verifies every record signature of a window of blocks on all cores, in
/// ZIP-215 batches (or one by one with `single_only`: the same verdicts,
/// slower).
fn check_signatures(
    window: &mut [Prepared],
    genesis_hash: &Hash32,
    cache: &Keys,
    single_only: bool,
) {
    let paired: Vec<_> = window
        .iter()
        .flat_map(|p| &p.records)
        .map(|r| (r, cache.get(&r.signed.signer).and_then(Option::as_ref)))
        .collect();
    let mut verdicts = chain::verify_in_batches(genesis_hash, &paired, single_only).into_iter();
    drop(paired);
    for p in window.iter_mut() {
        for ok in p.sig_ok.iter_mut() {
            *ok = verdicts.next().unwrap_or(false);
        }
    }
}

/// Verifies a run of certified blocks continuing `state`'s chain and
/// commits them to `store`, in order: what `shanlian audit download` does
/// with the blocks an explorer serves. Each block must link to the last
/// header, carry a certificate of the validator set the state gives its
/// height, have valid record signatures and check (every rule, the roots).
/// The run's record and certificate signatures are verified first,
/// together, in batches on all cores; certificates are expected under the
/// validator set of the run's first height, and a signature whose
/// validator's key changed within the run is verified on its own. A
/// failure names its height; the blocks before it stay committed. Returns
/// the records committed.
pub fn commit_run(
    state: &mut State,
    store: &Store,
    run: Vec<(BlockData, CommitCertificate)>,
) -> Result<u64, VerifyError> {
    use rayon::prelude::*;
    let Some(first) = run.first().map(|(b, _)| b.header.height) else {
        return Ok(0);
    };
    let genesis_hash = state.genesis_hash;
    let max_bytes = state.genesis.params.max_record_bytes as usize;
    let decoded: Vec<Result<Prepared, VerifyError>> = run
        .par_iter()
        .map(|(block, cert)| {
            let height = block.header.height;
            let records = chain::decode_records(block, max_bytes)
                .map_err(|error| VerifyError::Block { height, error })?;
            Ok(Prepared {
                height,
                header: block.header.clone(),
                cert: cert.clone(),
                sig_ok: vec![false; records.len()],
                cert_ok: vec![None; cert.signatures.len()],
                records,
            })
        })
        .collect();
    // The blocks before a malformed one are still checked and committed.
    let (mut window, failed) = until_failure(decoded);
    let set = state.validator_set(first);
    let certs = expect_certificates_under(&window, &set, &genesis_hash);
    let mut keys = Arc::new(Keys::default());
    register_signers(&window, &certs, &mut keys);
    check_signatures(&mut window, &genesis_hash, &keys, false);
    check_certificates(&mut window, &certs, &keys, false);
    let mut records = 0u64;
    for (p, (block, cert)) in window.iter().zip(&run) {
        let height = p.height;
        if p.header.prev_hash != state.last_header_hash || height != state.height + 1 {
            return Err(VerifyError::Link {
                height,
                reason: "it does not follow the last committed block".into(),
            });
        }
        let tr = check_prepared(state, p, store)?;
        chain::commit(state, store, block, cert, &tr)
            .map_err(|fault| VerifyError::Fault { height, fault })?;
        records += p.records.len() as u64;
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(records),
    }
}

/// Checks a linked block whose signatures were checked ahead: its
/// certificate against the validator set `state` gives its height (taking
/// as verified only what was verified under that set's keys), its records'
/// signatures, then every rule and root ([`chain::check_block`]).
fn check_prepared(
    state: &mut State,
    p: &Prepared,
    store: &Store,
) -> Result<crate::state::Transition, VerifyError> {
    let height = p.height;
    let set = state.validator_set(height);
    p.cert
        .verify_prechecked(
            &state.genesis_hash,
            height,
            &p.header.hash(),
            &set,
            |i, key| p.cert_ok.get(i).copied().flatten().as_ref() == Some(key),
        )
        .map_err(|e| VerifyError::Certificate {
            height,
            reason: e.to_string(),
        })?;
    if let Some(index) = p.sig_ok.iter().position(|ok| !ok) {
        return Err(VerifyError::Signature {
            height,
            index,
            id: p.records[index].id,
        });
    }
    chain::check_block(state, &p.header, &p.records, &p.sig_ok, store).map_err(|e| match e {
        ChainError::Invalid(error) => VerifyError::Block { height, error },
        ChainError::Fault(fault) => VerifyError::Fault { height, fault },
    })
}

/// The certificate signatures of `window`, each under the key `set` gives
/// its validator (see [`expect_certificates`]).
fn expect_certificates_under(
    window: &[Prepared],
    set: &crate::block::ValidatorSet,
    genesis_hash: &Hash32,
) -> Vec<CertCheck> {
    let mut checks = Vec::new();
    for (block, p) in window.iter().enumerate() {
        expect_block(&mut checks, block, p, set, genesis_hash);
    }
    checks
}

/// Adds the signatures of block `block`'s certificate to `checks`, each
/// under the key `set` gives its validator, over the precommit the
/// certificate claims (a signer `set` does not know is left to the replay).
fn expect_block(
    checks: &mut Vec<CertCheck>,
    block: usize,
    p: &Prepared,
    set: &crate::block::ValidatorSet,
    genesis_hash: &Hash32,
) {
    for (index, s) in p.cert.signatures.iter().enumerate() {
        let Some(v) = set.get(&s.validator) else {
            continue;
        };
        let vote = VoteBody {
            kind: VoteKind::Precommit,
            height: p.height,
            round: p.cert.round,
            value: Some(p.cert.header_hash),
            validator: s.validator,
        };
        checks.push(CertCheck {
            block,
            index,
            key: v.public_key,
            message: vote.sign_bytes(genesis_hash),
        });
    }
}

/// A certificate signature to check ahead of the replay: block `block` of
/// the window, signature `index` of its certificate, under `key`, over
/// `message` (the precommit the certificate claims).
struct CertCheck {
    block: usize,
    index: usize,
    key: PublicKey,
    message: Vec<u8>,
}

/// The certificate signatures of a window, each under the key the tracker
/// expects its validator to have at that height; the tracker follows the
/// window's governance records. A guess, never trusted: the replay uses a
/// verdict only for the key its own state gives (a store with an invalid
/// governance record fails the replay anyway).
fn expect_certificates(
    window: &[Prepared],
    tracker: &mut ValidatorTracker,
    genesis_hash: &Hash32,
) -> Vec<CertCheck> {
    let mut checks = Vec::new();
    for (block, p) in window.iter().enumerate() {
        expect_block(
            &mut checks,
            block,
            p,
            &tracker.set_at(p.height),
            genesis_hash,
        );
        for r in &p.records {
            let payload = &r.signed.body.payload;
            if ValidatorTracker::follows(payload) {
                let _ = tracker.apply(payload, p.height);
            }
        }
    }
    checks
}

/// Verifies the window's expected certificate signatures on all cores, in
/// batches (or one by one with `single_only`), into `cert_ok`.
fn check_certificates(
    window: &mut [Prepared],
    checks: &[CertCheck],
    keys: &Keys,
    single_only: bool,
) {
    use rayon::prelude::*;
    let threads = rayon::current_num_threads().max(1);
    let chunk = checks.len().div_ceil(threads).clamp(1, chain::MAX_BATCH);
    let verdicts: Vec<bool> = {
        let window = &*window;
        checks
            .par_chunks(chunk)
            .flat_map_iter(|batch| {
                let mut at = Vec::with_capacity(batch.len());
                let mut items = Vec::with_capacity(batch.len());
                for (i, c) in batch.iter().enumerate() {
                    if let Some(v) = keys.get(&c.key).and_then(Option::as_ref) {
                        at.push(i);
                        let sig = &window[c.block].cert.signatures[c.index].signature;
                        items.push((v, c.message.as_slice(), sig));
                    }
                }
                let mut out = vec![false; batch.len()];
                for (i, ok) in at.into_iter().zip(chain::verdicts(&items, single_only)) {
                    out[i] = ok;
                }
                out
            })
            .collect()
    };
    for (c, ok) in checks.iter().zip(verdicts) {
        if ok {
            window[c.block].cert_ok[c.index] = Some(c.key);
        }
    }
}

/// The parsed keys of every signer seen so far (`None`: not a valid key).
/// Looked up twice per record, so with foldhash rather than SipHash; it is
/// seeded per process, so a store cannot hold keys chosen to collide.
type Keys = HashMap<PublicKey, Option<Verifier>, crate::journal::Hasher>;

/// Adds the window's new signers and expected validator keys to `keys`
/// (copying the map only if a signature check still holds the old one: new
/// keys are rare).
fn register_signers(window: &[Prepared], certs: &[CertCheck], keys: &mut Arc<Keys>) {
    let signers = window
        .iter()
        .flat_map(|p| &p.records)
        .map(|r| &r.signed.signer);
    for key in signers.chain(certs.iter().map(|c| &c.key)) {
        if !keys.contains_key(key) {
            Arc::make_mut(keys).insert(*key, Verifier::parse(key).ok());
        }
    }
}

/// How fast this machine verifies a chain's signatures, alone: the record
/// and certificate signatures of its first blocks (at least `sample` of
/// them, or all), verified in batches on all cores exactly as
/// [`verify_store_with`] does ahead of its replay — the bound a replay's
/// rate is measured against. Signatures per second; `None` for a chain
/// with no blocks.
pub fn signature_rate(store: &Store, sample: usize) -> Result<Option<f64>, VerifyError> {
    let genesis = store.genesis()?.ok_or(VerifyError::NoGenesis)?;
    let tip = store.tip()?.ok_or(VerifyError::NoGenesis)?.height;
    let genesis_hash = genesis.hash();
    let max_bytes = genesis.params.max_record_bytes as usize;
    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .map_err(|e| VerifyError::Tip(format!("cannot start verifier threads: {e}")))?;
    let mut tracker = ValidatorTracker::from_genesis(&genesis);
    let mut keys = Arc::new(Keys::default());
    let mut windows = Vec::new();
    let (mut h, mut signatures) = (1, 0usize);
    while h <= tip && signatures < sample {
        let (window, failed) = pool.install(|| read_window(store, &mut h, tip, max_bytes));
        if let Some(e) = failed {
            return Err(e);
        }
        let certs = expect_certificates(&window, &mut tracker, &genesis_hash);
        register_signers(&window, &certs, &mut keys);
        signatures += certs.len() + window.iter().map(|p| p.records.len()).sum::<usize>();
        windows.push((window, certs));
    }
    if signatures == 0 {
        return Ok(None);
    }
    let t = std::time::Instant::now();
    pool.install(|| {
        for (window, certs) in &mut windows {
            check_signatures(window, &genesis_hash, &keys, false);
            check_certificates(window, certs, &keys, false);
        }
    });
    Ok(Some(
        signatures as f64 / t.elapsed().as_secs_f64().max(1e-9),
    ))
}

/// Replays the whole store and checks it; calls `progress` after each block.
pub fn verify_store(
    store: &Store,
    expected_genesis: Option<&Genesis>,
    progress: impl FnMut(Progress),
) -> Result<Report, VerifyError> {
    verify_store_with(store, expected_genesis, VerifyOptions::default(), progress)
}

/// Replays the whole store and checks it; calls `progress` after each block.
pub fn verify_store_with(
    store: &Store,
    expected_genesis: Option<&Genesis>,
    opts: VerifyOptions,
    mut progress: impl FnMut(Progress),
) -> Result<Report, VerifyError> {
    let genesis = store.genesis()?.ok_or(VerifyError::NoGenesis)?;
    if let Some(g) = expected_genesis {
        if g.hash() != genesis.hash() {
            return Err(VerifyError::GenesisMismatch);
        }
    }
    let tip = store.tip()?.ok_or(VerifyError::NoGenesis)?;
    let (mut state, _) = State::from_genesis(genesis.clone());
    state.set_index_output(opts.deep);
    let genesis_hash = state.genesis_hash;
    let max_bytes = genesis.params.max_record_bytes as usize;
    let mut records_seen = 0u64;
    let mut certificate_signatures = 0u64;
    // Trace rows and index entries the replay produces, to compare with
    // what the store holds.
    let mut derived: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();

    // The reader decodes windows of blocks ahead of the replay, and has
    // their signatures checked, on the verifier's pool, while this thread
    // applies; it sends, in order, a channel for each window's checked
    // blocks.
    let (tx, rx) = mpsc::sync_channel::<Result<mpsc::Receiver<Vec<Prepared>>, VerifyError>>(2);
    // Windows the replay is done with go back to the reader, which
    // allocated them: freeing them there is cheaper, and is work the
    // applying thread need not do.
    let (done_tx, done_rx) = mpsc::channel::<Vec<Prepared>>();
    let reader_store = store.clone();
    let tip_height = tip.height;
    let pool = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("verify-sig-{i}"))
        // A job that panics drops its window's sender: the replay reports
        // it as a check that stopped, rather than the process aborting.
        .panic_handler(|_| {})
        .build()
        .map_err(|e| VerifyError::Tip(format!("cannot start verifier threads: {e}")))?;
    // The log's tiles, built from the nodes each block's check completed
    // while it hashed the log (nothing is hashed again for them).
    let mut tiles = MemTiles::new();
    let mut tracker = ValidatorTracker::from_genesis(&genesis);
    let reader = std::thread::Builder::new()
        .name("verify-reader".into())
        .spawn(move || {
            let mut keys = Arc::new(Keys::default());
            let mut h = 1;
            while h <= tip_height {
                let (mut window, failed) =
                    pool.install(|| read_window(&reader_store, &mut h, tip_height, max_bytes));
                let certs = expect_certificates(&window, &mut tracker, &genesis_hash);
                register_signers(&window, &certs, &mut keys);
                // The window's signatures are checked by a job of its own,
                // and the replay waits for it in order: the reader goes on
                // to the next window meanwhile, so the pool always has the
                // next batches queued and no core waits out a window's
                // last batch.
                let (checked_tx, checked) = mpsc::sync_channel(1);
                let keys = Arc::clone(&keys);
                pool.spawn(move || {
                    check_signatures(&mut window, &genesis_hash, &keys, opts.single_only);
                    check_certificates(&mut window, &certs, &keys, opts.single_only);
                    let _ = checked_tx.send(window);
                });
                // The blocks before a failure are checked and replayed
                // first, so the error names the height that failed to
                // load, not a signature of the next block.
                if tx.send(Ok(checked)).is_err() {
                    return false;
                }
                if let Some(e) = failed {
                    let _ = tx.send(Err(e));
                    return false;
                }
                while let Ok(done) = done_rx.try_recv() {
                    drop(done);
                }
            }
            drop(tx);
            for done in done_rx {
                drop(done);
            }
            true
        })
        .map_err(|e| VerifyError::Tip(format!("cannot start the verifier reader: {e}")))?;

    let result = (|| {
        for checked in rx.iter() {
            let window = checked?.recv().map_err(|_| {
                VerifyError::Tip("a signature check stopped before it finished".into())
            })?;
            for p in &window {
                let height = p.height;
                let header = &p.header;
                if header.height != height {
                    return Err(VerifyError::Link {
                        height,
                        reason: format!("header says height {}", header.height),
                    });
                }
                if header.prev_hash != state.last_header_hash {
                    return Err(VerifyError::Link {
                        height,
                        reason: "previous header hash differs".into(),
                    });
                }
                let tr = check_prepared(&mut state, p, store)?;
                let writes = merkle::tiles_gaining(tr.log_before.size(), &tr.log_nodes, &tiles)
                    .map_err(|e| VerifyError::Tile(e.to_string()))?;
                tiles.apply(writes);
                if opts.deep {
                    derived.extend(tr.trace_groups);
                    derived.push((
                        t::height_key(t::RECORD_OFFSETS, height),
                        crate::block::record_offsets(p.records.iter().map(|r| r.bytes.len())),
                    ));
                    derived.extend(tr.index_writes);
                    derived.push((
                        t::header_hash_key(&header.hash()),
                        height.to_be_bytes().to_vec(),
                    ));
                }
                state
                    .commit_block(header)
                    .map_err(|error| VerifyError::Block { height, error })?;
                records_seen += p.records.len() as u64;
                certificate_signatures += p.cert.signatures.len() as u64;
                progress(Progress {
                    height,
                    tip: tip_height,
                    records: records_seen,
                });
            }
            let _ = done_tx.send(window);
        }
        Ok(())
    })();
    drop(rx);
    drop(done_tx);
    let read_all = reader.join();
    result?;
    // The reader read every block unless it sent an error, which `result`
    // holds.
    if !read_all.map_err(|_| VerifyError::Tip("the verifier reader panicked".into()))? {
        return Err(VerifyError::Tile(
            "the reader stopped before the tip".into(),
        ));
    }

    if state.height != tip.height
        || state.last_header_hash != tip.header_hash
        || state.state_hash != tip.state_hash
        || state.log.size() != tip.log_size
    {
        return Err(VerifyError::Tip(format!(
            "replay ends at height {} but the tip says {}",
            state.height, tip.height
        )));
    }
    if opts.deep {
        // Two scans of different key ranges: at once.
        let (state_ok, derived_ok) = rayon::join(
            || compare_state(store, &state),
            || compare_derived(store, derived),
        );
        state_ok?;
        derived_ok?;
    }
    for (id, tile) in &tiles.tiles {
        let stored =
            merkle::TileReader::tile(store, *id).map_err(|e| VerifyError::Tile(e.to_string()))?;
        if stored.as_ref() != Some(tile) {
            return Err(VerifyError::Tile(format!(
                "band {} index {}",
                id.band, id.index
            )));
        }
    }
    Ok(Report {
        height: state.height,
        records: records_seen,
        certificate_signatures,
        header_hash: state.last_header_hash,
        log_size: state.log.size(),
        log_root: state.log.root(),
        state_hash: state.state_hash,
    })
}

/// Compares stored trace rows and indexes with the replayed ones.
fn compare_derived(store: &Store, mut want: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), VerifyError> {
    use rayon::slice::ParallelSliceMut;
    // Keys are unique, so an unstable sort gives the one order.
    want.par_sort_unstable();
    let stored = store
        .scan_range(&[t::TRACE_SOURCES], &[t::BLOCKS])
        .chain(store.scan_range(&[t::RECORD_IDS], &[0xff]));
    compare_sorted(stored, &want, "derived row")
}

/// Compares every stored state-table entry with the replayed state.
fn compare_state(store: &Store, state: &State) -> Result<(), VerifyError> {
    let want = state.entries();
    let stored = store.scan_range(&[t::MEMBERS], &[t::TRACE_SOURCES]);
    compare_sorted(stored, &want, "state entry")
}

/// Walks stored entries in key order against the replayed ones, also in
/// key order; names the first key that differs, is extra or is missing.
fn compare_sorted(
    stored: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>>,
    want: &[(Vec<u8>, Vec<u8>)],
    what: &str,
) -> Result<(), VerifyError> {
    let mut n = 0;
    for item in stored {
        let item = item?;
        match want.get(n) {
            Some(w) if *w == item => n += 1,
            Some(w) if w.0 < item.0 => {
                return Err(VerifyError::State(format!(
                    "{what} {} is missing from the store",
                    hex::encode(&w.0)
                )))
            }
            Some(w) if w.0 == item.0 => {
                return Err(VerifyError::State(format!(
                    "{what} {} holds a value that differs from the replay",
                    hex::encode(&item.0)
                )))
            }
            _ => {
                return Err(VerifyError::State(format!(
                    "{what} {} is in the store but not in the replay",
                    hex::encode(&item.0)
                )))
            }
        }
    }
    match want.get(n) {
        Some(w) => Err(VerifyError::State(format!(
            "{what} {} is missing from the store ({} of them)",
            hex::encode(&w.0),
            want.len() - n
        ))),
        None => Ok(()),
    }
}
