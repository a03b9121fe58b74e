//! Starting a node: the sled store and ledger state, the Malachite engine
//! (permissioned: persistent peers only, no discovery, a protocol name
//! per chain) and the application loop that answers it.

use crate::app::{membership, Admission, App, AppError, Fault, Membership};
use crate::codec::ShanlianCodec;
use crate::ctx::{Address, Ctx};
use crate::metrics::Metrics;
use crate::pool::SharedPool;
use crate::signing::{NodeSigner, NodeVerifier};
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

/// Opens the store, starts the engine and the application loop.
pub async fn start(opts: NodeOptions) -> Result<Node, StartError> {
    let store = Store::open(&opts.home.join("store"))?;
    let state = store.open_state(&opts.genesis)?;
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
    let consensus_ctx = ConsensusContext::new_validator(
        address,
        Box::new(NodeVerifier::new(genesis_hash)),
        Box::new(NodeSigner::new(key.clone(), genesis_hash)),
    );
    let net_key = NetKeypair::ed25519_from_bytes(opts.node_key_seed)
        .map_err(|e| StartError::NodeKey(e.to_string()))?;
    let identity = NetworkIdentity::new(opts.moniker.clone(), net_key, Some(address.to_string()));
    let metrics = Metrics::register(&opts.moniker);
    let app = App::new(
        ctx.clone(),
        state,
        store.clone(),
        key,
        opts.pool.clone(),
        metrics.clone(),
        opts.fault,
        members_tx,
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
    let (admissions, rx) = mpsc::channel(4096);
    let app = tokio::spawn(app.run(channels, rx));
    Ok(Node {
        engine,
        app,
        store,
        admissions,
        pool: opts.pool,
        genesis: opts.genesis,
        metrics,
        members: members_rx,
    })
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
