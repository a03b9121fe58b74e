//! The consensus application: answers the Malachite engine's requests
//! (`AppMsg`) with the ledger. Blocks are built with `chain::propose`,
//! checked on a scratch basis with `chain::check_block` (rolled back), and
//! committed with `chain::commit` only once decided, durably, before the
//! engine is told. No rule is implemented here.

use crate::ctx::{Address, BlockHash, Ctx, Height, ProposalPart, ValidatorSet};
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
use shanlian_ledger::record::Record;
use shanlian_ledger::state::State;
use shanlian_ledger::store::Store;
use shanlian_ledger::types::{Signature, Timestamp};
use shanlian_ledger::{chain, codec};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Largest chunk of block bytes in one proposal part.
const PART_BYTES: usize = 256 * 1024;

/// Records waiting for a block, shared with whatever feeds them in.
pub type SharedPool = Arc<Mutex<Vec<Record>>>;

/// Why a record was not taken into the pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    #[error("refused: {0}")]
    Refused(shanlian_ledger::Refusal),
    #[error("the pool is full ({0} records); try again later")]
    Full(usize),
}

/// A request to admit a record into the pool, answered by the app loop.
pub struct Admission {
    pub record: Record,
    pub reply: tokio::sync::oneshot::Sender<Result<(), AdmitError>>,
}

/// The most records a pool holds before it says "full".
pub const POOL_MAX_RECORDS: usize = 100_000;

/// Why records left the pool without being committed, by id (for status
/// queries); bounded to the most recent entries.
pub type SharedRefusals =
    Arc<Mutex<HashMap<shanlian_ledger::types::RecordId, shanlian_ledger::Refusal>>>;

/// A proposal stream being reassembled.
#[derive(Default)]
struct PartialStream {
    parts: BTreeMap<u64, ProposalPart>,
    fin: Option<u64>,
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
    #[error("decided block {0} is unknown to this node")]
    UnknownDecided(BlockHash),
    #[error("decided block does not apply: {0}")]
    Apply(shanlian_ledger::BlockError),
}

/// The application state behind one engine.
pub struct App {
    ctx: Ctx,
    state: State,
    store: Store,
    me: Address,
    key: Arc<Keypair>,
    pool: SharedPool,
    /// Blocks proposed or received for the current height, by header hash.
    blocks: HashMap<BlockHash, BlockData>,
    /// Our own proposal per round, so a repeated request gets the same block.
    own: HashMap<u32, BlockHash>,
    /// Values validated per round, handed back at `StartedRound`.
    validated: HashMap<u32, Vec<ProposedValue<Ctx>>>,
    streams: HashMap<(PeerId, Bytes), PartialStream>,
    refusals: SharedRefusals,
}

impl App {
    pub fn new(
        ctx: Ctx,
        state: State,
        store: Store,
        key: Arc<Keypair>,
        pool: SharedPool,
        refusals: SharedRefusals,
    ) -> App {
        let me = Address(shanlian_ledger::types::Address::of_key(&key.public()));
        App {
            ctx,
            state,
            store,
            me,
            key,
            pool,
            blocks: HashMap::new(),
            own: HashMap::new(),
            validated: HashMap::new(),
            streams: HashMap::new(),
            refusals,
        }
    }

    /// The committed height.
    pub fn height(&self) -> u64 {
        self.state.height
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
                    let result = self.admit(a.record);
                    let _ = a.reply.send(result);
                }
            }
        }
    }

    /// Pool admission: the ledger's record-level rules at the node's
    /// clock, duplicates dropped silently, a bounded pool.
    fn admit(&mut self, record: Record) -> Result<(), AdmitError> {
        let mut pool = match self.pool.lock() {
            Ok(p) => p,
            Err(p) => p.into_inner(),
        };
        if pool.iter().any(|r| r.id == record.id) {
            return Ok(());
        }
        if pool.len() >= POOL_MAX_RECORDS {
            return Err(AdmitError::Full(pool.len()));
        }
        self.state
            .admit(&record, now())
            .map_err(AdmitError::Refused)?;
        pool.push(record);
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
                    (true, Some(r)) => self.validated.get(&r).cloned().unwrap_or_default(),
                    _ => Vec::new(),
                };
                let _ = reply_value.send(mine);
            }
            AppMsg::GetValue {
                height,
                round,
                reply,
                ..
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
                        let h = self.build_block()?;
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
                let value = self.received_part(published_by.unwrap_or(from), part);
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
                        let validity = self.check(&block);
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

    /// Builds this node's block for the next height from the pool.
    fn build_block(&mut self) -> Result<BlockHash, AppError> {
        let candidates: Vec<Record> = match self.pool.lock() {
            Ok(p) => p.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let time = Timestamp(now().0.max(self.state.time.0 + 1));
        let (block, _, refused) = chain::propose(
            &mut self.state,
            time,
            self.me.0,
            &candidates,
            &[],
            &self.store,
        )
        .map_err(AppError::Apply)?;
        self.state.rollback_block();
        // Refused records leave the pool; their reasons stay queryable.
        if !refused.is_empty() {
            let ids: std::collections::HashSet<_> = refused.iter().map(|(id, _)| *id).collect();
            if let Ok(mut pool) = self.pool.lock() {
                pool.retain(|r| !ids.contains(&r.id));
            }
            if let Ok(mut map) = self.refusals.lock() {
                if map.len() > 100_000 {
                    map.clear();
                }
                map.extend(refused);
            }
        }
        let hash = BlockHash(block.header.hash());
        self.blocks.insert(hash, block);
        Ok(hash)
    }

    /// Whether a block is valid on top of the committed state (checked on a
    /// scratch basis, then rolled back).
    fn check(&mut self, block: &BlockData) -> Validity {
        if block.header.height != self.state.height + 1 {
            return Validity::Invalid;
        }
        let max = self.state.genesis.params.max_record_bytes as usize;
        let Ok(records) = chain::decode_records(block, max) else {
            return Validity::Invalid;
        };
        let verified = chain::verify_signatures(&mut self.state, &records);
        let ok =
            chain::check_block(&mut self.state, block, &records, &verified, &self.store).is_ok();
        self.state.rollback_block();
        if ok {
            Validity::Valid
        } else {
            Validity::Invalid
        }
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

    /// Buffers a part; when its stream completes, authenticates, decodes
    /// and validates the block.
    fn received_part(
        &mut self,
        publisher: PeerId,
        msg: StreamMessage<ProposalPart>,
    ) -> Option<ProposedValue<Ctx>> {
        let key = (publisher, msg.stream_id.to_bytes());
        let s = self.streams.entry(key.clone()).or_default();
        match msg.content {
            StreamContent::Data(p) => {
                s.parts.insert(msg.sequence, p);
            }
            StreamContent::Fin => s.fin = Some(msg.sequence),
        }
        if !s.complete() {
            return None;
        }
        let s = self.streams.remove(&key)?;
        let mut parts = s.parts.into_values();
        let Some(ProposalPart::Init {
            height,
            round,
            pol_round,
            proposer,
        }) = parts.next()
        else {
            return None;
        };
        let mut bytes = Vec::new();
        let mut signature: Option<Signature> = None;
        for p in parts {
            match p {
                ProposalPart::Data(d) => bytes.extend_from_slice(&d),
                ProposalPart::Fin { signature: s } => signature = Some(s),
                ProposalPart::Init { .. } => return None,
            }
        }
        if height != self.state.height + 1 {
            return None;
        }
        // Only the round's proposer may stream a block for it.
        let set = ValidatorSet::from(&self.state.validator_set(height));
        let expected = self
            .ctx
            .select_proposer(&set, Height(height), Round::new(round));
        if expected.address != proposer {
            return None;
        }
        let block: BlockData = codec::decode_canonical(&bytes).ok()?;
        let hash = BlockHash(block.header.hash());
        let body = ProposalBody {
            height,
            round,
            pol_round,
            value: hash.0,
            proposer: proposer.0,
        };
        let key = Verifier::parse(&expected.public_key).ok()?;
        key.verify_message(&body.sign_bytes(&self.ctx.genesis_hash), &signature?)
            .ok()?;
        let validity = self.check(&block);
        self.blocks.insert(hash, block);
        let value = ProposedValue {
            height: Height(height),
            round: Round::new(round),
            valid_round: pol_round.map(Round::new).unwrap_or(Round::Nil),
            proposer,
            value: hash,
            validity,
        };
        self.validated.entry(round).or_default().push(value.clone());
        Some(value)
    }

    /// Commits a decided block durably, then forgets the height's caches.
    fn commit(&mut self, cert: &CommitCertificate<Ctx>) -> Result<(), AppError> {
        let block = self
            .blocks
            .get(&cert.value_id)
            .cloned()
            .ok_or(AppError::UnknownDecided(cert.value_id))?;
        let max = self.state.genesis.params.max_record_bytes as usize;
        let records = chain::decode_records(&block, max).map_err(AppError::Apply)?;
        let verified = chain::verify_signatures(&mut self.state, &records);
        let tr = chain::check_block(&mut self.state, &block, &records, &verified, &self.store)
            .map_err(AppError::Apply)?;
        let ours = to_ledger(cert);
        chain::commit(&mut self.state, &self.store, &block, &ours, &tr)?;
        self.store.flush()?;
        let committed: std::collections::HashSet<_> = records.iter().map(|r| r.id).collect();
        if let Ok(mut pool) = self.pool.lock() {
            let state = &self.state;
            pool.retain(|r| !committed.contains(&r.id) && r.signed.body.expires >= state.time);
        }
        self.blocks.clear();
        self.own.clear();
        self.validated.clear();
        let next = self.state.height + 1;
        self.streams
            .retain(|(_, id), _| id.len() >= 8 && id[..8] >= next.to_be_bytes()[..]);
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
