//! Starting a node: the store and ledger state, the Malachite engine
//! (permissioned: persistent peers only, no discovery, a protocol name
//! per chain) and the application loop that answers it.

use crate::app::{membership, Admission, App, AppError, Fault, Membership};
use crate::codec::ShanlianCodec;
use crate::ctx::{Address, Ctx};
use crate::health::Health;
use crate::metrics::Metrics;
use crate::pool::SharedPool;
use crate::signing::{EngineSigner, LocalKey, NodeSigner, NodeVerifier, SignGuard, Step};
use malachitebft_app_channel::app::config::{ConsensusConfig, NodeConfig, ValueSyncConfig};
use malachitebft_app_channel::app::net::Multiaddr;
use malachitebft_app_channel::app::types::Keypair as NetKeypair;
use malachitebft_app_channel::{
    ConsensusContext, EngineHandle, NetworkContext, NetworkIdentity, NetworkRequest,
    RequestContext, SyncContext, WalContext,
};
use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::store::Store;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The engine configuration of one node.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub moniker: String,
    pub consensus: ConsensusConfig,
    pub value_sync: ValueSyncConfig,
}

impl NodeConfig for EngineConfig {
    fn moniker(&self) -> &str {
        &self.moniker
    }
    fn consensus(&self) -> &ConsensusConfig {
        &self.consensus
    }
    fn consensus_mut(&mut self) -> &mut ConsensusConfig {
        &mut self.consensus
    }
    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }
    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

/// What a node needs to start.
pub struct NodeOptions {
    pub moniker: String,
    pub home: PathBuf,
    pub genesis: Genesis,
    /// The member key (votes and proposals are signed with it).
    pub key: Keypair,
    /// The 32-byte seed of the node's libp2p identity.
    pub node_key_seed: [u8; 32],
    pub listen: Multiaddr,
    /// Other nodes, as `/ip4/…/tcp/…/p2p/<peer id>`. Only those whose peer
    /// id belongs to an active member's node are connected; the list is
    /// re-filtered whenever membership changes on chain.
    pub peers: Vec<Multiaddr>,
    pub pool: SharedPool,
    /// Test-only misbehaviour (see [`Fault`]); `None` in production.
    pub fault: Option<Fault>,
    /// Start even though the key is not (yet) a member in the local store:
    /// a node whose admission is on chain but not yet synced.
    pub joining: bool,
    /// The double-signing guard's state file (beside the member key).
    pub signer_state: PathBuf,
    /// How long to watch the network for another process signing with this
    /// validator's key before signing anything.
    pub signer_watch: Duration,
    /// With nothing to commit, a block is made only this long after the
    /// last one (a heartbeat); zero makes blocks as fast as consensus allows.
    pub empty_block_interval: Duration,
    /// How long validators wait for a round's proposal.
    pub propose_timeout: Duration,
    /// Keep the pool log (see [`crate::pool_log`]).
    pub pool_log: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("store: {0}")]
    Store(#[from] shanlian_ledger::store::StoreError),
    #[error("node key: {0}")]
    NodeKey(String),
    #[error("the member key (address {0}) belongs to no member of the chain at height {1}; if the bureau has admitted it since, set `joining = true` so the node syncs first")]
    NotAMember(shanlian_ledger::types::Address, u64),
    #[error("consensus engine: {0}")]
    Engine(String),
    #[error("application: {0}")]
    App(#[from] AppError),
    #[error("{0}")]
    Signer(#[from] crate::signing::SignError),
    #[error("{0} is missing but {1} is there: a `shanlian-node convert-store` was interrupted. Move the store back (rename {1} to {0}) or finish the conversion, then start again; this node will not start on an empty store beside its chain")]
    InterruptedConversion(String, String),
}

/// A running node.
pub struct Node {
    pub engine: EngineHandle,
    pub app: tokio::task::JoinHandle<Result<(), AppError>>,
    pub store: Store,
    /// Submit records for admission into this node's pool.
    pub admissions: mpsc::Sender<Admission>,
    pub pool: SharedPool,
    pub genesis: Genesis,
    pub metrics: Metrics,
    /// Active members' node keys, updated after every block that changes them.
    pub members: watch::Receiver<Membership>,
    /// The double-signing guard (reports whether signing stopped).
    pub signer: Arc<SignGuard>,
    /// The committed height, updated after every commit.
    pub heights: watch::Receiver<u64>,
    /// Whether this node found its own store wrong.
    pub health: Health,
    /// Where records answered `202` are written before the answer.
    pub pool_log: Option<Arc<crate::pool_log::PoolLog>>,
}

/// The libp2p peer id at the end of an address (`…/p2p/<id>`).
pub fn peer_of(addr: &Multiaddr) -> Option<libp2p::PeerId> {
    addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

/// The peer ids of the nodes of `members`.
pub fn peer_ids(members: &Membership) -> BTreeSet<libp2p::PeerId> {
    members.iter().filter_map(crate::gossip::peer_id).collect()
}

/// Blocks checked at start (the tip and those below it).
pub const START_CHECK_BLOCKS: u64 = 4;

/// Opens the store, starts the engine and the application loop.
pub async fn start(opts: NodeOptions) -> Result<Node, StartError> {
    let dir = opts.home.join("store");
    if !dir.exists() {
        for left in [crate::convert::KEPT, crate::convert::SCRATCH] {
            let left = opts.home.join(left);
            if left.exists() {
                return Err(StartError::InterruptedConversion(
                    dir.display().to_string(),
                    left.display().to_string(),
                ));
            }
        }
    }
    let store = Store::open(&dir)?;
    let state = store.open_state(&opts.genesis)?;
    // The tip and the last blocks, checked against each other and their
    // certificates before this node votes or serves anything.
    let checked = store.check_recent(START_CHECK_BLOCKS)?;
    tracing::info!(
        tip = checked.tip,
        blocks = checked.blocks,
        records = checked.records,
        "store's recent blocks check"
    );
    let genesis_hash = opts.genesis.hash();
    let ctx = Ctx { genesis_hash };
    let key = Arc::new(opts.key);
    let address = Address(shanlian_ledger::types::Address::of_key(&key.public()));
    if !state.tables.members.contains(&address.0) {
        if !opts.joining {
            return Err(StartError::NotAMember(address.0, state.height));
        }
        tracing::warn!(%address, height = state.height, "not a member yet at the local height; joining: syncing first");
    }
    let members = membership(&state);
    let allowed = peer_ids(&members);
    let (members_tx, members_rx) = watch::channel(members);

    let mut consensus = ConsensusConfig::default();
    consensus.p2p.listen_addr = opts.listen;
    consensus.p2p.persistent_peers = opts
        .peers
        .iter()
        .filter(|a| peer_of(a).is_some_and(|p| allowed.contains(&p)))
        .cloned()
        .collect();
    consensus.p2p.persistent_peers_only = true;
    consensus.p2p.discovery.enabled = false;
    consensus.p2p.protocol_names.consensus =
        format!("/shanlian/{}/consensus/v1", opts.genesis.chain_id);
    let initial_peers = consensus.p2p.persistent_peers.clone();
    let cfg = EngineConfig {
        moniker: opts.moniker.clone(),
        consensus,
        value_sync: ValueSyncConfig::default(),
    };

    // Every member's node can sign: the engine votes only at heights where
    // the member holds power, so a member the bureau makes a validator
    // starts voting at the stated height without a restart.
    let guard = Arc::new(SignGuard::open(&opts.signer_state, opts.signer_watch)?);
    let signer = Arc::new(NodeSigner::new(
        Arc::new(LocalKey(key.clone())),
        guard.clone(),
        genesis_hash,
    ));
    // A node whose store is behind what its key has already signed (a
    // wiped or restored data folder, a copy of another node's files) would
    // be asked to sign again at heights its key signed: it runs as a full
    // node (syncing, serving, never signing) until restarted after catching
    // up.
    let signed_up_to = guard.last_height();
    let consensus_ctx = if signed_up_to > state.height + 1 {
        let why = format!(
            "not signing: this validator's key has signed up to height {signed_up_to}, and this node's store is at height {}; it syncs as a full node. Restart it once it has passed height {signed_up_to} (only if no other node signs with this key)",
            state.height
        );
        tracing::warn!(%why, "started without signing");
        guard.stop(why);
        // The engine takes any address in the validator set for a signer:
        // a full node follows consensus under an address of no member.
        let nobody = Address(shanlian_ledger::types::Address([0; 20]));
        ConsensusContext::new_full_node(nobody, Box::new(NodeVerifier::new(genesis_hash)))
    } else {
        ConsensusContext::new_validator(
            address,
            Box::new(NodeVerifier::new(genesis_hash)),
            Box::new(EngineSigner(signer.clone())),
        )
    };
    let net_key = NetKeypair::ed25519_from_bytes(opts.node_key_seed)
        .map_err(|e| StartError::NodeKey(e.to_string()))?;
    let identity = NetworkIdentity::new(opts.moniker.clone(), net_key, Some(address.to_string()));
    let metrics = Metrics::register(&opts.moniker);
    let health = Health::new(metrics.fault.clone());
    // Read even when switched off: records logged before it was switched
    // off are still admitted again.
    let path = opts.home.join("pool.log");
    let (pool_log, logged) = if opts.pool_log || path.exists() {
        let (log, logged) = crate::pool_log::PoolLog::open(&path).map_err(|e| {
            StartError::Store(shanlian_ledger::store::StoreError::Backend(e.to_string()))
        })?;
        (opts.pool_log.then(|| Arc::new(log)), logged)
    } else {
        (None, Vec::new())
    };
    let (heights_tx, heights) = watch::channel(store.tip()?.map_or(0, |t| t.height));
    let app = App::new(
        ctx.clone(),
        state,
        store.clone(),
        key,
        signer,
        opts.pool.clone(),
        metrics.clone(),
        opts.fault,
        members_tx,
        heights_tx,
        opts.empty_block_interval,
        opts.propose_timeout,
        health.clone(),
        pool_log.clone(),
    )?;
    let (channels, engine) = malachitebft_app_channel::start_engine(
        ctx,
        cfg,
        WalContext::new(opts.home.join("wal").join("consensus.wal"), ShanlianCodec),
        NetworkContext::new(identity, ShanlianCodec),
        consensus_ctx,
        SyncContext::new(ShanlianCodec),
        RequestContext::new(100),
    )
    .await
    .map_err(|e| StartError::Engine(e.to_string()))?;
    tokio::spawn(follow_membership(
        channels.net_requests.clone(),
        opts.peers,
        initial_peers,
        members_rx.clone(),
        metrics.clone(),
    ));
    tokio::spawn(watch_for_twins(
        channels.events.subscribe(),
        address,
        guard.clone(),
    ));
    let (admissions, rx) = mpsc::channel(4096);
    let app = tokio::spawn(app.run(channels, rx));
    // Records this node said were pending before it stopped: admitted again
    // (those committed or expired meanwhile are refused and forgotten).
    if !logged.is_empty() {
        let max = opts.genesis.params.max_record_bytes as usize;
        let records: Vec<shanlian_ledger::record::Record> = logged
            .iter()
            .filter_map(|b| shanlian_ledger::record::Record::from_bytes(b, max).ok())
            .collect();
        let admissions = admissions.clone();
        let genesis_hash = opts.genesis.hash();
        tokio::spawn(async move {
            let n = records.len();
            if let Ok(results) = crate::app::submit(&admissions, genesis_hash, records).await {
                let pending = results.iter().filter(|r| r.is_ok()).count();
                tracing::info!(
                    logged = n,
                    pending,
                    "pool log: records this node had accepted are pending again"
                );
            }
        });
    }
    Ok(Node {
        engine,
        app,
        store,
        admissions,
        pool: opts.pool,
        genesis: opts.genesis,
        metrics,
        members: members_rx,
        signer: guard,
        heights,
        health,
        pool_log,
    })
}

/// Feeds the double-signing guard every vote with this validator's address
/// that arrives from the network (see [`SignGuard::observe`]).
async fn watch_for_twins(
    mut events: malachitebft_app_channel::app::events::RxEvent<Ctx>,
    me: Address,
    guard: Arc<SignGuard>,
) {
    use malachitebft_app_channel::app::engine::util::events::Event;
    use malachitebft_app_channel::app::types::SignedConsensusMsg;
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match events.recv().await {
            Ok(Event::Received(SignedConsensusMsg::Vote(v))) if v.message.validator == me => {
                if let Some(body) = v.message.body() {
                    let step = match body.kind {
                        shanlian_ledger::block::VoteKind::Prevote => Step::Prevote,
                        shanlian_ledger::block::VoteKind::Precommit => Step::Precommit,
                    };
                    guard.observe(step, body.height, body.round, body.value);
                }
            }
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
    }
}

/// Keeps the engine's persistent peers equal to the configured peers whose
/// node belongs to an active member (with `persistent_peers_only`, a peer
/// removed from the list is disconnected), and reports connected peers.
async fn follow_membership(
    net: mpsc::Sender<NetworkRequest>,
    configured: Vec<Multiaddr>,
    initial: Vec<Multiaddr>,
    mut members: watch::Receiver<Membership>,
    metrics: Metrics,
) {
    let mut added: BTreeSet<Multiaddr> = initial.into_iter().collect();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            changed = members.changed() => {
                if changed.is_err() {
                    return;
                }
                let allowed = peer_ids(&members.borrow_and_update());
                for addr in &configured {
                    let ok = peer_of(addr).is_some_and(|p| allowed.contains(&p));
                    if ok && !added.contains(addr) {
                        tracing::info!(%addr, "membership: peer admitted");
                        if matches!(NetworkRequest::add_persistent_peer(&net, addr.clone()).await, Ok(Ok(()))) {
                            added.insert(addr.clone());
                        }
                    } else if !ok && added.contains(addr) {
                        tracing::info!(%addr, "membership: peer no longer a member's node; disconnecting");
                        if matches!(NetworkRequest::remove_persistent_peer(&net, addr.clone()).await, Ok(Ok(()))) {
                            added.remove(addr);
                        }
                    }
                }
            }
            _ = tick.tick() => {
                match NetworkRequest::dump_state(&net).await {
                    Ok(Some(dump)) => metrics.set_peers(crate::metrics::CONSENSUS, dump.peers.len()),
                    Ok(None) => {}
                    Err(_) if net.is_closed() => return,
                    Err(_) => {}
                }
            }
        }
    }
}
