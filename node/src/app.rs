//! The consensus application: answers the Malachite engine's requests
//! (`AppMsg`) with the ledger. Blocks are built with `chain::propose`,
//! checked with `chain::check_block` on the open (uncommitted) state, and
//! committed with `chain::commit` only once decided, durably, before the
//! engine is told. No ledger rule is implemented here.
//!
//! Crash safety: this node's own proposal for a (height, round), and every
//! block it validated for the current height, are written to the store's
//! `consensus` tree and flushed before the engine hears of them. After a
//! crash the engine replays its WAL; `GetValue` then returns the very same
//! block (never a second one for the same round), `StartedRound` hands back
//! the values already validated, and a decision on a block received before
//! the crash finds it.

use crate::ctx::{Address, BlockHash, Ctx, Height, ProposalPart, ValidatorSet};
use crate::metrics::Metrics;
use crate::pool::SharedPool;
use bytes::Bytes;
use malachitebft_app_channel::app::engine::host::{Next, SyncedValueOutcome};
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::core::{
    CommitCertificate, Context, ExtendedCommitCertificate, HeightParams, LinearTimeouts, Round,
    Validity, VoteExtensions,
};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use malachitebft_app_channel::app::types::{LocallyProposedValue, PeerId, ProposedValue};
use malachitebft_app_channel::{AppMsg, Channels, NetworkMsg};
use shanlian_ledger::block::{BlockData, ProposalBody};
use shanlian_ledger::crypto::{Keypair, Verifier};
use shanlian_ledger::record::{Record, RecordBody, SignedRecord};
use shanlian_ledger::state::{State, Transition};
use shanlian_ledger::store::Store;
use shanlian_ledger::types::{NodeKey, Signature, Timestamp};
use shanlian_ledger::{chain, codec};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Largest chunk of block bytes in one proposal part.
const PART_BYTES: usize = 256 * 1024;
/// Most proposal streams buffered at once (a height has one proposer per
/// round; more than this means somebody is flooding).
const MAX_STREAMS: usize = 64;

/// Why a record was not taken into the pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    #[error("refused: {0}")]
    Refused(shanlian_ledger::Refusal),
    #[error(transparent)]
    Full(#[from] crate::pool::PoolFull),
}

impl AdmitError {
    /// The stable code clients see: the ledger rule's code, or `pool.full`.
    pub fn code(&self) -> &'static str {
        match self {
            AdmitError::Refused(r) => r.code(),
            AdmitError::Full(_) => "pool.full",
        }
    }
}

/// A request to admit records into the pool, answered by the app loop
/// with one result per record, in order.
pub struct Admission {
    /// Each record, and whether its signature was already checked
    /// strictly (see [`submit`]).
    pub records: Vec<(Record, bool)>,
    pub reply: Option<tokio::sync::oneshot::Sender<Vec<Result<(), AdmitError>>>>,
}

/// The node is stopping: its application loop no longer takes records.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the node is shutting down")]
pub struct Stopping;

/// Submits records for admission: their signatures are checked on all
/// cores first (off the application loop, which then only applies the
/// record-level rules), then the loop admits them in order.
pub async fn submit(
    admissions: &tokio::sync::mpsc::Sender<Admission>,
    genesis_hash: shanlian_ledger::types::Hash32,
    records: Vec<Record>,
) -> Result<Vec<Result<(), AdmitError>>, Stopping> {
    let (records, checked) = tokio::task::spawn_blocking(move || {
        let checked = chain::verify_record_signatures(&genesis_hash, &records);
        (records, checked)
    })
    .await
    .map_err(|_| Stopping)?;
    let (reply, rx) = tokio::sync::oneshot::channel();
    admissions
        .send(Admission {
            records: records.into_iter().zip(checked).collect(),
            reply: Some(reply),
        })
        .await
        .map_err(|_| Stopping)?;
    rx.await.map_err(|_| Stopping)
}

/// Test-only misbehaviour of a proposer (`run --test-fault`), so the
/// end-to-end tests can check that honest validators refuse bad blocks.
/// Never set in production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// Propose blocks that contain a record with a broken signature (the
    /// proposer's own state skips the signature check, so the header is
    /// otherwise consistent).
    BadSignature,
    /// Propose blocks with an extra disbursement that over-spends the
    /// proposer's general fund.
    OverSpend,
}

/// The node keys of the members allowed on the network (active members).
pub type Membership = BTreeSet<NodeKey>;

/// The node keys of active members in `state`.
pub fn membership(state: &State) -> Membership {
    state
        .members
        .iter()
        .filter(|(_, m)| !m.suspended)
        .map(|(_, m)| m.node)
        .collect()
}

/// A proposal stream being reassembled.
#[derive(Default)]
struct PartialStream {
    parts: BTreeMap<u64, ProposalPart>,
    fin: Option<u64>,
    bytes: usize,
}

impl PartialStream {
    fn complete(&self) -> bool {
        self.fin
            .is_some_and(|f| (0..f).all(|s| self.parts.contains_key(&s)))
    }
}

/// Errors that stop the application (storage, not bad input).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("store: {0}")]
    Store(#[from] shanlian_ledger::store::StoreError),
    #[error("consensus tree: {0}")]
    Aux(String),
    #[error("decided block {0} is unknown to this node")]
    UnknownDecided(BlockHash),
    #[error("decided block does not apply: {0}")]
    Apply(shanlian_ledger::BlockError),
}

impl From<sled::Error> for AppError {
    fn from(e: sled::Error) -> Self {
        AppError::Aux(e.to_string())
    }
}

/// A validated value remembered for `StartedRound` (and persisted).
#[derive(bincode::Encode, bincode::Decode)]
struct Seen {
    round: u32,
    valid_round: Option<u32>,
    proposer: shanlian_ledger::types::Address,
    valid: bool,
    block: BlockData,
}

/// Keys of the `consensus` tree: `o` ‖ height ‖ round for our own
/// proposals, `s` ‖ height ‖ round ‖ hash for values we validated.
fn own_key(h: u64, r: u32) -> Vec<u8> {
    let mut k = vec![b'o'];
    k.extend_from_slice(&h.to_be_bytes());
    k.extend_from_slice(&r.to_be_bytes());
    k
}
fn seen_key(h: u64, r: u32, hash: &BlockHash) -> Vec<u8> {
    let mut k = vec![b's'];
    k.extend_from_slice(&h.to_be_bytes());
    k.extend_from_slice(&r.to_be_bytes());
    k.extend_from_slice(&hash.0);
    k
}

/// The application state behind one engine.
pub struct App {
    ctx: Ctx,
    state: State,
    store: Store,
    aux: sled::Tree,
    me: Address,
    key: Arc<Keypair>,
    pool: SharedPool,
    metrics: Metrics,
    fault: Option<Fault>,
    /// Blocks proposed or received for the current height, by header hash.
    blocks: HashMap<BlockHash, BlockData>,
    /// Our own proposal per round, so a repeated request gets the same block.
    own: HashMap<u32, BlockHash>,
    /// Values validated per round, handed back at `StartedRound`.
    validated: HashMap<u32, Vec<ProposedValue<Ctx>>>,
    streams: HashMap<(PeerId, Bytes), PartialStream>,
    /// The block last checked (or built) is still applied to `state`:
    /// committing it needs no second pass.
    open: Option<(BlockHash, Transition)>,
    /// Active members' node keys, published when they change.
    members: tokio::sync::watch::Sender<Membership>,
    /// Records per second this node applied when it last built a block:
    /// blocks are sized so every validator can check one well within the
    /// propose timeout.
    build_rate: f64,
}

impl App {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ctx: Ctx,
        state: State,
        store: Store,
        key: Arc<Keypair>,
        pool: SharedPool,
        metrics: Metrics,
        fault: Option<Fault>,
        members: tokio::sync::watch::Sender<Membership>,
    ) -> Result<App, AppError> {
        let me = Address(shanlian_ledger::types::Address::of_key(&key.public()));
        let aux = store.aux_tree("consensus")?;
        metrics.height.set(state.height as i64);
        let mut app = App {
            ctx,
            state,
            store,
            aux,
            me,
            key,
            pool,
            metrics,
            fault,
            blocks: HashMap::new(),
            own: HashMap::new(),
            validated: HashMap::new(),
            streams: HashMap::new(),
            open: None,
            members,
            build_rate: 0.0,
        };
        app.restore()?;
        Ok(app)
    }

    /// Reloads what this node proposed and validated for the next height
    /// before a restart; forgets older heights.
    fn restore(&mut self) -> Result<(), AppError> {
        let next = self.state.height + 1;
        for entry in self.aux.iter() {
            let (k, v) = entry?;
            let h = k
                .get(1..9)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            if h != next {
                self.aux.remove(&k)?;
                continue;
            }
            let r = k
                .get(9..13)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
                .unwrap_or(0);
            match k[0] {
                b'o' => {
                    let block: BlockData =
                        codec::decode(&v).map_err(|e| AppError::Aux(e.to_string()))?;
                    let hash = BlockHash(block.header.hash());
                    self.blocks.insert(hash, block);
                    self.own.insert(r, hash);
                }
                b's' => {
                    let seen: Seen = codec::decode(&v).map_err(|e| AppError::Aux(e.to_string()))?;
                    let hash = BlockHash(seen.block.header.hash());
                    self.validated.entry(r).or_default().push(ProposedValue {
                        height: Height(next),
                        round: Round::new(seen.round),
                        valid_round: seen.valid_round.map(Round::new).unwrap_or(Round::Nil),
                        proposer: Address(seen.proposer),
                        value: hash,
                        validity: if seen.valid {
                            Validity::Valid
                        } else {
                            Validity::Invalid
                        },
                    });
                    self.blocks.insert(hash, seen.block);
                }
                _ => {
                    self.aux.remove(&k)?;
                }
            }
        }
        if !self.own.is_empty() || !self.validated.is_empty() {
            tracing::info!(
                height = next,
                own = self.own.len(),
                seen = self.validated.len(),
                "restored undecided proposals"
            );
        }
        Ok(())
    }

    fn params(&self, h: u64) -> HeightParams<Ctx> {
        HeightParams::new(
            ValidatorSet::from(&self.state.validator_set(h)),
            LinearTimeouts::default(),
            None,
        )
    }

    /// Handles engine messages and pool admissions until the engine stops.
    pub async fn run(
        mut self,
        mut channels: Channels<Ctx>,
        mut admissions: tokio::sync::mpsc::Receiver<Admission>,
    ) -> Result<(), AppError> {
        loop {
            tokio::select! {
                msg = channels.consensus.recv() => match msg {
                    Some(msg) => self.handle(msg, &channels).await?,
                    None => return Ok(()),
                },
                Some(a) = admissions.recv() => {
                    let results: Vec<_> = a.records.into_iter().map(|(r, ok)| self.admit(r, ok)).collect();
                    let pool = self.pool.lock();
                    self.metrics.pool_records.set(pool.len() as i64);
                    self.metrics.pool_bytes.set(pool.bytes() as i64);
                    drop(pool);
                    if let Some(reply) = a.reply {
                        let _ = reply.send(results);
                    }
                }
            }
        }
    }

    /// Pool admission: the ledger's record-level rules at the node's
    /// clock, duplicates dropped silently, a bounded pool.
    fn admit(&mut self, record: Record, signature_ok: bool) -> Result<(), AdmitError> {
        if self.pool.lock().contains(&record.id) {
            return Ok(());
        }
        self.state
            .admit_checked(&record, now(), signature_ok)
            .map_err(AdmitError::Refused)?;
        self.pool.lock().insert(record)?;
        Ok(())
    }

    async fn handle(&mut self, msg: AppMsg<Ctx>, channels: &Channels<Ctx>) -> Result<(), AppError> {
        match msg {
            AppMsg::ConsensusReady { reply } => {
                let h = self.state.height + 1;
                let _ = reply.send((Height(h), self.params(h)));
            }
            AppMsg::StartedRound {
                height,
                round,
                reply_value,
                ..
            } => {
                let mine = match (height.0 == self.state.height + 1, round.as_u32()) {
                    (true, Some(r)) => {
                        self.metrics.round.set(r as i64);
                        self.validated.get(&r).cloned().unwrap_or_default()
                    }
                    _ => Vec::new(),
                };
                let _ = reply_value.send(mine);
            }
            AppMsg::GetValue {
                height,
                round,
                timeout,
                reply,
            } => {
                let Some(r) = round.as_u32() else {
                    return Ok(());
                };
                if height.0 != self.state.height + 1 {
                    return Ok(());
                }
                let hash = match self.own.get(&r) {
                    Some(h) => *h,
                    None => {
                        let h = self.build_block(timeout)?;
                        // Durable before the engine signs a proposal for it.
                        if let Some(block) = self.blocks.get(&h) {
                            self.aux
                                .insert(own_key(height.0, r), codec::encode(block))?;
                            self.aux.flush()?;
                        }
                        self.own.insert(r, h);
                        h
                    }
                };
                let _ = reply.send(LocallyProposedValue::new(height, round, hash));
                self.stream(channels, height.0, r, None, hash).await;
            }
            AppMsg::RestreamProposal {
                height,
                round,
                valid_round,
                value_id,
                ..
            } => {
                if let Some(r) = round.as_u32() {
                    self.stream(channels, height.0, r, valid_round.as_u32(), value_id)
                        .await;
                }
            }
            AppMsg::ExtendVote { reply, .. } => {
                let _ = reply.send(None);
            }
            AppMsg::VerifyVoteExtensions { reply, .. } => {
                let _ = reply.send(Vec::new());
            }
            AppMsg::GetHistoryMinHeight { reply } => {
                let _ = reply.send(Height(1));
            }
            AppMsg::ReceivedProposalPart {
                from,
                published_by,
                part,
                reply,
            } => {
                let value = self.received_part(published_by.unwrap_or(from), part)?;
                let _ = reply.send(value);
            }
            AppMsg::Decided {
                certificate, reply, ..
            } => {
                self.commit(&certificate)?;
                let _ = reply.send(());
            }
            AppMsg::Finalized { reply, .. } => {
                let h = self.state.height + 1;
                let _ = reply.send(Next::Start(Height(h), self.params(h)));
            }
            AppMsg::GetDecidedValues { range, reply } => {
                let mut out = Vec::new();
                for h in range.start().0..=range.end().0 {
                    let (Some(block), Some(cert)) =
                        (self.store.block(h)?, self.store.certificate(h)?)
                    else {
                        break;
                    };
                    out.push(RawDecidedValue::new(
                        Bytes::from(codec::encode(&block)),
                        to_engine(&cert),
                    ));
                }
                let _ = reply.send(out);
            }
            AppMsg::ProcessSyncedValue {
                height,
                round,
                proposer,
                value_bytes,
                reply,
            } => {
                let outcome = match codec::decode_canonical::<BlockData>(&value_bytes) {
                    Err(_) => SyncedValueOutcome::PeerFault,
                    Ok(block) => {
                        let hash = BlockHash(block.header.hash());
                        // The certificate was checked by the engine: no
                        // clock rule for a block decided in the past.
                        let validity = self.check(hash, &block, None);
                        self.blocks.insert(hash, block);
                        SyncedValueOutcome::Verdict(ProposedValue {
                            height,
                            round,
                            valid_round: Round::Nil,
                            proposer,
                            value: hash,
                            validity,
                        })
                    }
                };
                let _ = reply.send(outcome);
            }
        }
        Ok(())
    }

    /// Undoes a block still applied to the state from an earlier check.
    fn close_open(&mut self) {
        if self.open.take().is_some() {
            self.state.rollback_block();
        }
    }

    /// Builds this node's block for the next height from the pool, oldest
    /// records first, leaving out those the ledger refuses. Within the
    /// genesis limit, a block holds what this node applied in a quarter of
    /// the propose timeout last time: the other validators (sharing
    /// machines, perhaps slower) must receive and check it before their
    /// propose timeout, or the round is lost.
    fn build_block(&mut self, timeout: std::time::Duration) -> Result<BlockHash, AppError> {
        self.close_open();
        let genesis_max = self.state.genesis.params.max_records_per_block as usize;
        let max = if self.build_rate > 0.0 {
            ((self.build_rate * timeout.as_secs_f64() / 4.0) as usize).clamp(256, genesis_max)
        } else {
            genesis_max.min(2_000)
        };
        let started = std::time::Instant::now();
        let mut candidates = self.pool.lock().oldest(max + max / 10 + 16);
        // Every pool record passed the strict signature check at admission
        // (its id is the hash of its whole bytes).
        let mut verified = vec![true; candidates.len()];
        if self.fault == Some(Fault::BadSignature) {
            tracing::warn!("TEST FAULT: proposing a record with a broken signature");
            candidates.insert(0, self.bad_signature());
            verified.insert(0, true);
        }
        let time = Timestamp(now().0.max(self.state.time.0 + 1));
        let limit = candidates.len();
        let (mut block, tr, refused) = chain::propose(
            &mut self.state,
            time,
            self.me.0,
            &candidates,
            &verified,
            &self.store,
        )
        .map_err(AppError::Apply)?;
        if limit >= 256 {
            let rate = limit as f64 / started.elapsed().as_secs_f64().max(1e-6);
            self.build_rate = if self.build_rate > 0.0 {
                0.7 * self.build_rate + 0.3 * rate
            } else {
                rate
            };
        }
        if self.fault == Some(Fault::OverSpend) {
            // Appended after the header was computed: the honest nodes
            // refuse the record itself before they compare roots.
            tracing::warn!("TEST FAULT: proposing an over-spending disbursement");
            block.records.push(self.over_spend().bytes);
        }
        // Refused records leave the pool; their reasons stay queryable.
        if !refused.is_empty() {
            tracing::debug!(
                refused = refused.len(),
                "records refused while building a block"
            );
            self.pool.lock().refuse(refused);
        }
        let hash = BlockHash(block.header.hash());
        self.blocks.insert(hash, block);
        self.open = Some((hash, tr));
        Ok(hash)
    }

    /// [`Fault::BadSignature`]: a donation to this (charity) node's own
    /// general fund with one bit of its signature flipped.
    fn bad_signature(&self) -> Record {
        let mut r = self.signed_by_me(shanlian_ledger::testkit::payloads::donation(
            shanlian_ledger::types::ReceiptNo(format!("FAULT-{}", now().0)),
            shanlian_ledger::types::FundRef::General(self.me.0),
            100,
            1,
        ));
        r.signed.signature.0[0] ^= 1;
        Record::new(r.signed)
    }

    /// [`Fault::OverSpend`]: ten trillion yuan out of this (charity)
    /// node's general fund.
    fn over_spend(&self) -> Record {
        self.signed_by_me(shanlian_ledger::testkit::payloads::disbursement(
            shanlian_ledger::types::FundRef::General(self.me.0),
            1_000_000_000_000_000,
        ))
    }

    fn signed_by_me(&self, payload: shanlian_ledger::record::Payload) -> Record {
        let t = now();
        let body = RecordBody {
            created: t,
            expires: Timestamp(t.0 + 60_000),
            nonce: t.0,
            payload,
        };
        Record::new(SignedRecord::sign(body, &self.key, &self.ctx.genesis_hash))
    }

    /// Whether a block is valid on top of the committed state. A valid
    /// block stays applied (see `open`) until another is checked or built.
    /// `clock` is this validator's time for the future-time bound.
    fn check(&mut self, hash: BlockHash, block: &BlockData, clock: Option<Timestamp>) -> Validity {
        self.close_open();
        match self.try_check(block, clock) {
            Ok(tr) => {
                self.open = Some((hash, tr));
                Validity::Valid
            }
            Err(e) => {
                self.metrics.blocks_refused.inc();
                let code = match &e {
                    shanlian_ledger::BlockError::Record { refusal, .. }
                    | shanlian_ledger::BlockError::RecordBytes { refusal, .. } => refusal.code(),
                    _ => "block.invalid",
                };
                tracing::warn!(
                    height = block.header.height,
                    proposer = %block.header.proposer,
                    code,
                    reason = %e,
                    "refused a proposed block"
                );
                Validity::Invalid
            }
        }
    }

    fn try_check(
        &mut self,
        block: &BlockData,
        clock: Option<Timestamp>,
    ) -> Result<Transition, shanlian_ledger::BlockError> {
        if let Some(now) = clock {
            chain::check_block_time(&self.state, block.header.time, now)?;
        }
        let max = self.state.genesis.params.max_record_bytes as usize;
        let records = chain::decode_records(block, max)?;
        let verified = self.verified(&records);
        chain::check_block(&mut self.state, block, &records, &verified, &self.store)
    }

    /// Signature flags for a block's records: those in our pool were
    /// checked strictly at admission; the others are checked now.
    fn verified(&mut self, records: &[Record]) -> Vec<bool> {
        let mut flags = self.pool.lock().known(records.iter().map(|r| r.id));
        let todo: Vec<usize> = (0..records.len()).filter(|i| !flags[*i]).collect();
        if !todo.is_empty() {
            let subset: Vec<Record> = todo.iter().map(|&i| records[i].clone()).collect();
            let checked = chain::verify_signatures(&mut self.state, &subset);
            for (k, &i) in todo.iter().enumerate() {
                flags[i] = checked[k];
            }
        }
        flags
    }

    /// Publishes a block as a stream: Init, Data chunks, Fin with the
    /// proposer's signature over the `ProposalBody`.
    async fn stream(
        &self,
        channels: &Channels<Ctx>,
        height: u64,
        round: u32,
        pol_round: Option<u32>,
        hash: BlockHash,
    ) {
        let Some(block) = self.blocks.get(&hash) else {
            return;
        };
        let body = ProposalBody {
            height,
            round,
            pol_round,
            value: hash.0,
            proposer: self.me.0,
        };
        let signature = body.sign(&self.key, &self.ctx.genesis_hash);
        let mut id = height.to_be_bytes().to_vec();
        id.extend_from_slice(&round.to_be_bytes());
        let id = StreamId::new(Bytes::from(id));
        let bytes = codec::encode(block);
        let mut parts = vec![ProposalPart::Init {
            height,
            round,
            pol_round,
            proposer: self.me,
        }];
        parts.extend(
            bytes
                .chunks(PART_BYTES)
                .map(|c| ProposalPart::Data(c.to_vec())),
        );
        parts.push(ProposalPart::Fin { signature });
        let n = parts.len() as u64;
        for (seq, p) in parts.into_iter().enumerate() {
            let msg = StreamMessage::new(id.clone(), seq as u64, StreamContent::Data(p));
            let _ = channels
                .network
                .send(NetworkMsg::PublishProposalPart(msg))
                .await;
        }
        let fin = StreamMessage::new(id, n, StreamContent::Fin);
        let _ = channels
            .network
            .send(NetworkMsg::PublishProposalPart(fin))
            .await;
    }

    /// The most bytes a proposal stream may carry: a full block of
    /// maximum-size records plus its header and framing.
    fn max_stream_bytes(&self) -> usize {
        let p = &self.state.genesis.params;
        (p.max_records_per_block as usize) * (p.max_record_bytes as usize + 16) + 64 * 1024
    }

    /// Buffers a part; when its stream completes, authenticates, decodes
    /// and validates the block (and persists it before answering).
    fn received_part(
        &mut self,
        publisher: PeerId,
        msg: StreamMessage<ProposalPart>,
    ) -> Result<Option<ProposedValue<Ctx>>, AppError> {
        let key = (publisher, msg.stream_id.to_bytes());
        // Streams for past heights are useless; a stream id starts with
        // the height.
        if key.1.len() >= 8 && key.1[..8] < (self.state.height + 1).to_be_bytes()[..] {
            return Ok(None);
        }
        if !self.streams.contains_key(&key) && self.streams.len() >= MAX_STREAMS {
            tracing::warn!(%publisher, "too many open proposal streams; part dropped");
            return Ok(None);
        }
        let max_bytes = self.max_stream_bytes();
        let s = self.streams.entry(key.clone()).or_default();
        match msg.content {
            StreamContent::Data(p) => {
                if let ProposalPart::Data(d) = &p {
                    s.bytes += d.len();
                }
                s.parts.insert(msg.sequence, p);
            }
            StreamContent::Fin => s.fin = Some(msg.sequence),
        }
        if s.bytes > max_bytes || s.parts.len() > max_bytes / PART_BYTES + 4 {
            tracing::warn!(%publisher, "proposal stream larger than any valid block; dropped");
            self.streams.remove(&key);
            return Ok(None);
        }
        if !s.complete() {
            return Ok(None);
        }
        let Some(s) = self.streams.remove(&key) else {
            return Ok(None);
        };
        let mut parts = s.parts.into_values();
        let Some(ProposalPart::Init {
            height,
            round,
            pol_round,
            proposer,
        }) = parts.next()
        else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        let mut signature: Option<Signature> = None;
        for p in parts {
            match p {
                ProposalPart::Data(d) => bytes.extend_from_slice(&d),
                ProposalPart::Fin { signature: s } => signature = Some(s),
                ProposalPart::Init { .. } => return Ok(None),
            }
        }
        if height != self.state.height + 1 {
            return Ok(None);
        }
        // Only the round's proposer may stream a block for it.
        let set = ValidatorSet::from(&self.state.validator_set(height));
        let expected = self
            .ctx
            .select_proposer(&set, Height(height), Round::new(round));
        if expected.address != proposer {
            return Ok(None);
        }
        let Ok(block) = codec::decode_canonical::<BlockData>(&bytes) else {
            return Ok(None);
        };
        let hash = BlockHash(block.header.hash());
        let body = ProposalBody {
            height,
            round,
            pol_round,
            value: hash.0,
            proposer: proposer.0,
        };
        let (Ok(key), Some(signature)) = (Verifier::parse(&expected.public_key), signature) else {
            return Ok(None);
        };
        if key
            .verify_message(&body.sign_bytes(&self.ctx.genesis_hash), &signature)
            .is_err()
        {
            return Ok(None);
        }
        let validity = if self.blocks.contains_key(&hash)
            && self.open.as_ref().is_some_and(|(h, _)| *h == hash)
        {
            Validity::Valid
        } else {
            self.check(hash, &block, Some(now()))
        };
        let seen = Seen {
            round,
            valid_round: pol_round,
            proposer: proposer.0,
            valid: validity == Validity::Valid,
            block,
        };
        self.aux
            .insert(seen_key(height, round, &hash), codec::encode(&seen))?;
        self.aux.flush()?;
        self.blocks.insert(hash, seen.block);
        let value = ProposedValue {
            height: Height(height),
            round: Round::new(round),
            valid_round: pol_round.map(Round::new).unwrap_or(Round::Nil),
            proposer,
            value: hash,
            validity,
        };
        self.validated.entry(round).or_default().push(value.clone());
        Ok(Some(value))
    }

    /// Commits a decided block durably, then forgets the height's caches.
    fn commit(&mut self, cert: &CommitCertificate<Ctx>) -> Result<(), AppError> {
        let block = self
            .blocks
            .remove(&cert.value_id)
            .ok_or(AppError::UnknownDecided(cert.value_id))?;
        // The decided block is usually the one last checked: still applied.
        let tr = match self.open.take() {
            Some((hash, tr)) if hash == cert.value_id => tr,
            other => {
                if other.is_some() {
                    self.state.rollback_block();
                }
                let max = self.state.genesis.params.max_record_bytes as usize;
                let records = chain::decode_records(&block, max).map_err(AppError::Apply)?;
                let verified = self.verified(&records);
                chain::check_block(&mut self.state, &block, &records, &verified, &self.store)
                    .map_err(AppError::Apply)?
            }
        };
        let committed = tr.record_ids.clone();
        let ours = to_ledger(cert);
        chain::commit(&mut self.state, &self.store, &block, &ours, &tr)?;
        self.store.flush()?;

        let (pool_len, pool_bytes) = {
            let mut pool = self.pool.lock();
            for waited in pool.remove_committed(&committed) {
                self.metrics.commit_latency.observe(waited.as_secs_f64());
            }
            pool.expire(self.state.time);
            (pool.len(), pool.bytes())
        };
        let m = &self.metrics;
        m.height.set(self.state.height as i64);
        m.pool_records.set(pool_len as i64);
        m.pool_bytes.set(pool_bytes as i64);
        m.records_committed.inc_by(committed.len() as u64);
        m.blocks_committed.inc();
        m.block_records.observe(committed.len() as f64);
        m.block_bytes
            .observe(block.records.iter().map(|r| r.len()).sum::<usize>() as f64);
        tracing::debug!(
            height = self.state.height,
            records = committed.len(),
            "committed"
        );

        self.blocks.clear();
        self.own.clear();
        self.validated.clear();
        let next = self.state.height + 1;
        self.streams
            .retain(|(_, id), _| id.len() >= 8 && id[..8] >= next.to_be_bytes()[..]);
        for k in self.aux.iter().keys() {
            self.aux.remove(k?)?;
        }
        // Membership changes reach the networking layers.
        let members = membership(&self.state);
        self.members.send_if_modified(|old| {
            if *old != members {
                *old = members;
                true
            } else {
                false
            }
        });
        Ok(())
    }
}

/// Wall-clock UTC now, in ledger time.
pub fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    )
}

/// The engine's certificate as the ledger's.
pub fn to_ledger(c: &CommitCertificate<Ctx>) -> shanlian_ledger::block::CommitCertificate {
    shanlian_ledger::block::CommitCertificate {
        height: c.height.0,
        round: c.round.as_u32().unwrap_or(0),
        header_hash: c.value_id.0,
        signatures: c
            .commit_signatures
            .iter()
            .map(|s| shanlian_ledger::block::CommitSignature {
                validator: s.address.0,
                signature: s.signature,
            })
            .collect(),
    }
}

/// The ledger's certificate as the engine's (for sync responses).
pub fn to_engine(c: &shanlian_ledger::block::CommitCertificate) -> ExtendedCommitCertificate<Ctx> {
    let cert = CommitCertificate {
        height: Height(c.height),
        round: Round::new(c.round),
        value_id: BlockHash(c.header_hash),
        commit_signatures: c
            .signatures
            .iter()
            .map(|s| {
                malachitebft_app_channel::app::types::core::CommitSignature::new(
                    Address(s.validator),
                    s.signature,
                )
            })
            .collect(),
    };
    ExtendedCommitCertificate::from_commit_certificate_and_extensions(
        cert,
        VoteExtensions::default(),
    )
}
