//! Starting a node: the sled store and ledger state, the Malachite engine
//! (permissioned: persistent peers only, no discovery, a protocol name
//! per chain) and the application loop that answers it.

use crate::app::{Admission, App, AppError, SharedPool, SharedRefusals};
use crate::codec::ShanlianCodec;
use crate::ctx::{Address, Ctx};
use crate::signing::{NodeSigner, NodeVerifier};
use malachitebft_app_channel::app::config::{ConsensusConfig, NodeConfig, ValueSyncConfig};
use malachitebft_app_channel::app::net::Multiaddr;
use malachitebft_app_channel::app::types::Keypair as NetKeypair;
use malachitebft_app_channel::{
    ConsensusContext, EngineHandle, NetworkContext, NetworkIdentity, RequestContext, SyncContext,
    WalContext,
};
use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::store::Store;
use std::path::PathBuf;
use std::sync::Arc;

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
    /// Other nodes, as `/ip4/…/tcp/…/p2p/<peer id>`.
    pub peers: Vec<Multiaddr>,
    pub pool: SharedPool,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("store: {0}")]
    Store(#[from] shanlian_ledger::store::StoreError),
    #[error("node key: {0}")]
    NodeKey(String),
    #[error("consensus engine: {0}")]
    Engine(String),
}

/// A running node.
pub struct Node {
    pub engine: EngineHandle,
    pub app: tokio::task::JoinHandle<Result<(), AppError>>,
    pub store: Store,
    /// Submit records for admission into this node's pool.
    pub admissions: tokio::sync::mpsc::Sender<Admission>,
    pub refusals: SharedRefusals,
    pub pool: SharedPool,
    pub genesis: Genesis,
}

/// Opens the store, starts the engine and the application loop.
pub async fn start(opts: NodeOptions) -> Result<Node, StartError> {
    let store = Store::open(&opts.home.join("store"))?;
    let state = store.open_state(&opts.genesis)?;
    let genesis_hash = opts.genesis.hash();
    let ctx = Ctx { genesis_hash };
    let key = Arc::new(opts.key);
    let address = Address(shanlian_ledger::types::Address::of_key(&key.public()));

    let mut consensus = ConsensusConfig::default();
    consensus.p2p.listen_addr = opts.listen;
    consensus.p2p.persistent_peers = opts.peers;
    consensus.p2p.persistent_peers_only = true;
    consensus.p2p.discovery.enabled = false;
    consensus.p2p.protocol_names.consensus =
        format!("/shanlian/{}/consensus/v1", opts.genesis.chain_id);
    let cfg = EngineConfig {
        moniker: opts.moniker.clone(),
        consensus,
        value_sync: ValueSyncConfig::default(),
    };

    // A member that holds no voting power follows consensus without signing.
    let validator = state
        .validator_set(state.height + 1)
        .get(&address.0)
        .is_some();
    let consensus_ctx = if validator {
        ConsensusContext::new_validator(
            address,
            Box::new(NodeVerifier::new(genesis_hash)),
            Box::new(NodeSigner::new(key.clone(), genesis_hash)),
        )
    } else {
        ConsensusContext::new_full_node(address, Box::new(NodeVerifier::new(genesis_hash)))
    };
    let net_key = NetKeypair::ed25519_from_bytes(opts.node_key_seed)
        .map_err(|e| StartError::NodeKey(e.to_string()))?;
    let identity = NetworkIdentity::new(opts.moniker, net_key, Some(address.to_string()));
    let (channels, engine) = malachitebft_app_channel::start_engine(
        ctx.clone(),
        cfg,
        WalContext::new(opts.home.join("wal").join("consensus.wal"), ShanlianCodec),
        NetworkContext::new(identity, ShanlianCodec),
        consensus_ctx,
        SyncContext::new(ShanlianCodec),
        RequestContext::new(100),
    )
    .await
    .map_err(|e| StartError::Engine(e.to_string()))?;
    let refusals = SharedRefusals::default();
    let (admissions, rx) = tokio::sync::mpsc::channel(1024);
    let app = App::new(
        ctx,
        state,
        store.clone(),
        key,
        opts.pool.clone(),
        refusals.clone(),
    );
    let app = tokio::spawn(app.run(channels, rx));
    Ok(Node {
        engine,
        app,
        store,
        admissions,
        refusals,
        pool: opts.pool,
        genesis: opts.genesis,
    })
}
