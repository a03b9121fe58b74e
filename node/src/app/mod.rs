//! The consensus application: answers the Malachite engine's requests
//! (`AppMsg`) with the ledger. Blocks are built with `chain::propose`,
//! checked with `chain::check_block` on the open (uncommitted) state, and
//! committed with `chain::commit` only once decided, durably, before the
//! engine is told. No ledger rule is implemented here.
//!
//! | file | what |
//! |---|---|
//! | [`admission`] | pool admission of records from clients and peers |
//! | [`membership`] | who may be on the network, published after each block |
//! | [`stream`] | proposal streams: publishing and reassembling, with a reason for every drop |
//! | [`persist`] | crash-safety records of our own and validated blocks |
//! | [`propose`] | building our block; the test-only proposer faults |
//! | [`check`] | checking a proposed or synced block |
//! | this file | the engine loop and committing decided blocks |

mod admission;
mod check;
mod membership;
mod persist;
mod propose;
pub mod stream;

pub use admission::{admit, submit, submit_logged, Admission, AdmitError, Stopping};
pub use membership::{membership, Membership};
pub use propose::Fault;
use std::time::Duration;

use crate::ctx::{Address, BlockHash, Ctx, Height, ValidatorSet};
use crate::metrics::Metrics;
use crate::pool::SharedPool;
use bytes::Bytes;
use malachitebft_app_channel::app::engine::host::{Next, SyncedValueOutcome};
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::core::{
    CommitCertificate, ExtendedCommitCertificate, HeightParams, LinearTimeouts, Round, Validity,
    VoteExtensions,
};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use malachitebft_app_channel::app::types::{LocallyProposedValue, PeerId, ProposedValue};
use malachitebft_app_channel::{AppMsg, Channels, NetworkMsg};
use shanlian_ledger::block::BlockData;
use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::state::{State, Transition};
use shanlian_ledger::store::Store;
use shanlian_ledger::types::Timestamp;
use shanlian_ledger::{chain, codec, ChainError};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use stream::{Reassembler, PART_BYTES};

/// Errors that stop the application (storage, not bad input).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("store: {0}")]
    Store(#[from] shanlian_ledger::store::StoreError),
    #[error("consensus tree: {0}")]
    Aux(String),
    #[error("decided block {0} is unknown to this node")]
    UnknownDecided(BlockHash),
    #[error("a block decided by the network does not apply on this node: {0}. This node's store disagrees with the network's: stop it and resync its data folder from a peer, or restore it from a backup")]
    Apply(shanlian_ledger::BlockError),
    #[error("{0}: this node cannot check blocks and will not vote on them; stop it and repair or restore its data folder")]
    Fault(#[from] shanlian_ledger::Fault),
    #[error("block {height}, which more than two thirds of the validators committed, fails this node's checks: {reason}. This node's store or state is wrong, not the network: it stopped consensus and will not vote; {}", crate::health::REMEDY)]
    Disagrees { height: u64, reason: String },
    #[error("{0}")]
    Health(String),
}

impl From<ChainError> for AppError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Invalid(e) => AppError::Apply(e),
            ChainError::Fault(f) => AppError::Fault(f),
        }
    }
}

/// The application state behind one engine.
pub struct App {
    ctx: Ctx,
    state: State,
    store: Store,
    aux: shanlian_ledger::store::kv::AuxTree,
    me: Address,
    /// The member key, for the records of the test faults.
    key: Arc<Keypair>,
    /// Signs our proposal streams (through the double-signing guard).
    signer: Arc<crate::signing::NodeSigner>,
    pool: SharedPool,
    metrics: Metrics,
    fault: Option<Fault>,
    /// Blocks proposed or received for the current height, by header hash.
    blocks: HashMap<BlockHash, BlockData>,
    /// Our own proposal per round, so a repeated request gets the same block.
    own: HashMap<u32, BlockHash>,
    /// Values validated per round, handed back at `StartedRound`.
    validated: HashMap<u32, Vec<ProposedValue<Ctx>>>,
    streams: Reassembler,
    /// The block last checked (or built) is still applied to `state`:
    /// committing it needs no second pass.
    open: Option<(BlockHash, Transition)>,
    /// Active members' node keys, published when they change.
    members: tokio::sync::watch::Sender<Membership>,
    /// The committed height, published after every commit (the explorer's
    /// block stream listens).
    heights: tokio::sync::watch::Sender<u64>,
    /// Records per second this node applied when it last built a block:
    /// blocks are sized so every validator can check one well within the
    /// propose timeout.
    build_rate: f64,
    /// With nothing to commit, the next height starts only after this long
    /// since the last block (a heartbeat); zero: at once.
    empty_block_interval: Duration,
    /// Consensus timeouts (the propose timeout configured).
    timeouts: LinearTimeouts,
    /// The pool's log on disk, kept small here (see [`crate::pool_log`]).
    pool_log: Option<Arc<crate::pool_log::PoolLog>>,
    /// A compaction of the pool log is running.
    compacting: Arc<std::sync::atomic::AtomicBool>,
    /// Why the last block checked was refused (for the error when the
    /// network committed it).
    last_refusal: Option<String>,
    /// Set when this node finds its own store wrong (here or by a check
    /// elsewhere); the loop stops on it.
    health: crate::health::Health,
}

/// The engine's timeouts with our propose timeout (the rebroadcast
/// timeout follows it, as in the engine's defaults).
fn timeouts(propose: Duration) -> LinearTimeouts {
    let d = LinearTimeouts::default();
    LinearTimeouts {
        propose,
        rebroadcast: propose + d.prevote + d.precommit,
        ..d
    }
}

/// The store's tree of this node's undecided proposals ([`persist`]).
pub const CONSENSUS_TREE: &str = "consensus";

/// How often an idle node looks at its pool for a record to commit.
const IDLE_POLL: Duration = Duration::from_millis(10);

impl App {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ctx: Ctx,
        state: State,
        store: Store,
        key: Arc<Keypair>,
        signer: Arc<crate::signing::NodeSigner>,
        pool: SharedPool,
        metrics: Metrics,
        fault: Option<Fault>,
        members: tokio::sync::watch::Sender<Membership>,
        heights: tokio::sync::watch::Sender<u64>,
        empty_block_interval: Duration,
        propose_timeout: Duration,
        health: crate::health::Health,
        pool_log: Option<Arc<crate::pool_log::PoolLog>>,
    ) -> Result<App, AppError> {
        let me = Address(shanlian_ledger::types::Address::of_key(&key.public()));
        let aux = store.aux_tree(CONSENSUS_TREE)?;
        metrics.height.set(state.height as i64);
        let p = &state.genesis.params;
        // A full block of maximum-size records plus its header and framing.
        let max_stream =
            (p.max_records_per_block as usize) * (p.max_record_bytes as usize + 16) + 64 * 1024;
        let mut app = App {
            ctx,
            state,
            store,
            aux,
            me,
            key,
            signer,
            pool,
            metrics,
            fault,
            blocks: HashMap::new(),
            own: HashMap::new(),
            validated: HashMap::new(),
            streams: Reassembler::new(max_stream.max(PART_BYTES)),
            open: None,
            members,
            heights,
            build_rate: 0.0,
            empty_block_interval,
            timeouts: timeouts(propose_timeout),
            pool_log,
            compacting: Arc::default(),
            last_refusal: None,
            health,
        };
        app.restore()?;
        Ok(app)
    }

    fn params(&self, h: u64) -> HeightParams<Ctx> {
        HeightParams::new(
            ValidatorSet::from(&self.state.validator_set(h)),
            self.timeouts,
            None,
        )
    }

    /// Handles engine messages and pool admissions until the engine stops.
    pub async fn run(
        mut self,
        mut channels: Channels<Ctx>,
        mut admissions: tokio::sync::mpsc::Receiver<Admission>,
    ) -> Result<(), AppError> {
        let health = self.health.clone();
        loop {
            tokio::select! {
                msg = channels.consensus.recv() => match msg {
                    Some(msg) => {
                        if let Err(e) = self.handle(msg, &channels).await {
                            self.health.set_fault(e.to_string());
                            return Err(e);
                        }
                    }
                    None => return Ok(()),
                },
                Some(a) = admissions.recv() => self.admit_batch(a),
                why = health.faulted() => return Err(AppError::Health(why)),
            }
        }
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
                        if r > 0 {
                            tracing::info!(
                                height = height.0,
                                round = r,
                                "round {r}: the height's earlier rounds did not decide"
                            );
                        }
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
                        let started = std::time::Instant::now();
                        let h = self.build_block(timeout)?;
                        self.metrics.step("propose", started);
                        if let Some(block) = self.blocks.get(&h) {
                            let started = std::time::Instant::now();
                            self.persist_own(height.0, r, block)?;
                            self.metrics.step("persist", started);
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
                let started = std::time::Instant::now();
                self.commit(&certificate)?;
                self.metrics.step("commit", started);
                let _ = reply.send(());
            }
            AppMsg::Finalized { reply, .. } => {
                let h = self.state.height + 1;
                let next = Next::Start(Height(h), self.params(h));
                match self.idle_wait() {
                    None => {
                        let _ = reply.send(next);
                    }
                    // Nothing to commit: start the next height when a record
                    // arrives, or at the heartbeat. The wait runs beside the
                    // app loop, which keeps admitting records and taking
                    // proposal parts meanwhile.
                    Some(wait) => {
                        let pool = self.pool.clone();
                        tokio::spawn(async move {
                            let until = tokio::time::Instant::now() + wait;
                            while tokio::time::Instant::now() < until && pool.lock().is_empty() {
                                tokio::time::sleep(IDLE_POLL).await;
                            }
                            let _ = reply.send(next);
                        });
                    }
                }
            }
            AppMsg::GetDecidedValues { range, reply } => {
                let mut out = Vec::new();
                for h in range.start().0..=range.end().0 {
                    // Checked against its header: this node never serves
                    // a block altered on its disk (it stops instead).
                    let (Some(block), Some(cert)) =
                        (self.store.checked_block(h)?, self.store.certificate(h)?)
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
                        // The engine checked the certificate before asking
                        // (more than two thirds committed this block); no
                        // clock rule for a block decided in the past.
                        let validity = self.check(hash, &block, None)?;
                        if validity == Validity::Invalid {
                            // The network committed a block this node
                            // finds invalid: this node is the one that is
                            // wrong. It stops rather than stall or vote.
                            return Err(AppError::Disagrees {
                                height: height.0,
                                reason: self.last_refusal.take().unwrap_or_default(),
                            });
                        }
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

    /// How long to wait before starting the next height: `None` when there
    /// is something to commit, empty blocks are not held back, or the last
    /// block is older than the heartbeat (a node catching up never waits).
    fn idle_wait(&self) -> Option<Duration> {
        let interval = self.empty_block_interval;
        if interval.is_zero() || !self.pool.lock().is_empty() {
            return None;
        }
        let age = Duration::from_millis(now().0.saturating_sub(self.state.time.0));
        interval.checked_sub(age).filter(|w| !w.is_zero())
    }

    /// Publishes one of our blocks as a proposal stream.
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
        let at = (height, round, pol_round);
        let signature = match self
            .signer
            .proposal(&stream::proposal_body(self.me, at, block))
        {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(height, round, %e, "not streaming our proposal");
                return;
            }
        };
        let msgs = stream::parts(signature, self.me, at, block);
        for msg in msgs {
            let _ = channels
                .network
                .send(NetworkMsg::PublishProposalPart(msg))
                .await;
        }
    }

    /// Buffers a part; when its stream completes, authenticates, decodes
    /// and validates the block (and persists it before answering).
    fn received_part(
        &mut self,
        publisher: PeerId,
        msg: StreamMessage<crate::ctx::ProposalPart>,
    ) -> Result<Option<ProposedValue<Ctx>>, AppError> {
        let next = self.state.height + 1;
        let assembled = match self.streams.push(next, publisher, msg) {
            Ok(Some(a)) => a,
            Ok(None) => return Ok(None),
            Err(reason) => {
                log_drop(&publisher, reason);
                return Ok(None);
            }
        };
        // Our own proposal arriving from the network: another process
        // with this validator's key proposed it (a node never receives its
        // own parts back). Checked at any height, signature first.
        if assembled.proposer == self.me {
            self.own_proposal_seen(&assembled);
        }
        let set = ValidatorSet::from(&self.state.validator_set(next));
        let (round, pol_round, proposer) =
            (assembled.round, assembled.pol_round, assembled.proposer);
        let (block, hash) = match stream::authenticate(&self.ctx, next, &set, assembled) {
            Ok(x) => x,
            Err(reason) => {
                log_drop(&publisher, reason);
                return Ok(None);
            }
        };
        let validity = if self.open.as_ref().is_some_and(|(h, _)| *h == hash) {
            Validity::Valid
        } else {
            let started = std::time::Instant::now();
            let validity = self.check(hash, &block, Some(now()))?;
            self.metrics.step("check", started);
            validity
        };
        let seen = persist::Seen {
            round,
            valid_round: pol_round,
            proposer: proposer.0,
            valid: validity == Validity::Valid,
            block,
        };
        let started = std::time::Instant::now();
        self.persist_seen(next, &hash, &seen)?;
        self.metrics.step("persist", started);
        self.blocks.insert(hash, seen.block);
        let value = ProposedValue {
            height: Height(next),
            round: Round::new(round),
            valid_round: pol_round.map(Round::new).unwrap_or(Round::Nil),
            proposer,
            value: hash,
            validity,
        };
        self.validated.entry(round).or_default().push(value.clone());
        Ok(Some(value))
    }

    /// A proposal stream signed with this validator's key that this
    /// process did not send: the double-signing guard judges it.
    fn own_proposal_seen(&self, a: &stream::Assembled) {
        let Ok(block) = codec::decode_canonical::<BlockData>(&a.bytes) else {
            return;
        };
        let body = stream::proposal_body(self.me, (a.height, a.round, a.pol_round), &block);
        let signed_by_us = a.signature.is_some_and(|sig| {
            shanlian_ledger::crypto::Verifier::parse(&self.key.public())
                .and_then(|v| v.verify_message(&body.sign_bytes(&self.ctx.genesis_hash), &sig))
                .is_ok()
        });
        if signed_by_us {
            self.signer.guard().observe(
                crate::signing::Step::Proposal,
                a.height,
                a.round,
                Some(body.value),
            );
        }
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
                // No clock check: the network decided it.
                self.try_check(&block, None)?
            }
        };
        let committed = tr.record_ids.clone();
        let ours = to_ledger(cert);
        // A precommit of this validator in a decided certificate that this
        // process did not sign means another process has the key.
        if ours.signatures.iter().any(|s| s.validator == self.me.0) {
            self.signer.guard().observe(
                crate::signing::Step::Precommit,
                ours.height,
                ours.round,
                Some(ours.header_hash),
            );
        }
        let started = std::time::Instant::now();
        chain::commit(&mut self.state, &self.store, &block, &ours, &tr)?;
        self.metrics.step("commit_write", started);
        let started = std::time::Instant::now();
        self.store.flush()?;
        self.metrics.step("commit_flush", started);

        let (pool_len, pool_bytes) = {
            let mut pool = self.pool.lock();
            for waited in pool.remove_committed(&committed) {
                self.metrics.commit_latency.observe(waited.as_secs_f64());
            }
            pool.expire(self.state.time);
            (pool.len(), pool.bytes())
        };
        self.compact_pool_log();
        let _ = self.heights.send(self.state.height);
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
        self.streams.retain_from(self.state.height + 1);
        self.clear_persisted()?;
        self.publish_membership();
        Ok(())
    }
}

impl App {
    /// Compacts the pool log off this loop when it has grown (each
    /// compaction is an fsync; see [`crate::pool_log`]). One at a time.
    fn compact_pool_log(&self) {
        let Some(log) = &self.pool_log else {
            return;
        };
        if !log.wants_compaction() || self.compacting.swap(true, Ordering::AcqRel) {
            return;
        }
        let (log, pool, busy) = (log.clone(), self.pool.clone(), self.compacting.clone());
        tokio::task::spawn_blocking(move || {
            if let Err(e) = log.compact(&pool) {
                tracing::warn!(%e, "pool log not compacted");
            }
            busy.store(false, Ordering::Release);
        });
    }
}

/// Logs a dropped proposal part or stream with its reason.
fn log_drop(publisher: &PeerId, reason: stream::Dropped) {
    use stream::Dropped::*;
    match reason {
        // Ordinary: late parts of a decided height.
        PastHeight => tracing::debug!(%publisher, %reason, "proposal part dropped"),
        _ => tracing::warn!(%publisher, %reason, "proposal stream dropped"),
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
