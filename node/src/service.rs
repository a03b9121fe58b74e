//! `shanlian-node run`: one node from its configuration file, with record
//! gossip, the local HTTP endpoint and the metrics endpoint, until SIGINT
//! or SIGTERM. Every error names what the operator has to fix.

use crate::app::Fault;
use crate::config::Config;
use crate::http::{router, Api};
use crate::node::{start, NodeOptions};
use crate::pool::SharedPool;
use axum::routing::get;
use libp2p::Multiaddr;
use std::path::Path;

/// How `run` treats the node's keys.
#[derive(Debug, Clone, Default)]
pub struct KeyOptions {
    /// TESTS ONLY: accept key files that other users can read or write.
    pub insecure_key_permissions: bool,
    /// Read the member key's passphrase from this file descriptor
    /// (overrides `member_key_passphrase` in the config).
    pub passphrase_fd: Option<i32>,
}

/// Runs the node configured in `config` until a shutdown signal.
pub fn run(config: &Path, fault: Option<Fault>, keys: KeyOptions) -> Result<(), String> {
    let cfg = Config::load(config).map_err(|e| e.to_string())?;
    let genesis = cfg
        .read_genesis()
        .map_err(|e| format!("genesis: {e} (`genesis` in {})", config.display()))?;
    if keys.insecure_key_permissions {
        tracing::warn!("INSECURE: --insecure-key-permissions accepts private keys that other users of this machine can read; never use it outside tests");
    }
    let source = match keys.passphrase_fd {
        Some(fd) => Some(format!("fd:{fd}")),
        None => cfg.member_key_passphrase.clone(),
    };
    let passphrase = match &source {
        Some(src) => Some(shanlian_ledger::keyfile::read_passphrase(src).map_err(|e| {
            format!(
                "member key: {e} (`member_key_passphrase` in {})",
                config.display()
            )
        })?),
        None => None,
    };
    let insecure = keys.insecure_key_permissions;
    let key = Config::read_key(&cfg.member_key, passphrase.as_deref(), insecure)
        .map_err(|e| format!("member key: {e} (`member_key` in {})", config.display()))?;
    let node_key = Config::read_key(&cfg.node_key, None, insecure)
        .map_err(|e| format!("node key: {e} (`node_key` in {})", config.display()))?;
    let listen = parse_addr("listen", &cfg.listen)?;
    let peers = parse_peers("peers", &cfg.peers)?;
    let gossip_listen = parse_addr("gossip_listen", &cfg.gossip_listen)?;
    let gossip_peers = parse_peers("gossip_peers", &cfg.gossip_peers)?;
    if fault.is_some() {
        tracing::warn!(
            ?fault,
            "TEST FAULT SWITCH ON: this node will propose invalid blocks"
        );
    }
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        // Bind every port first, so "port in use" is reported before the
        // engine starts.
        let http = tokio::net::TcpListener::bind(&cfg.http)
            .await
            .map_err(|e| format!("`http` = {}: {e} (is the port in use?)", cfg.http))?;
        let explorer_listener = match &cfg.explorer {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| format!("`explorer` = {addr}: {e} (is the port in use?)"))?,
            ),
            None => None,
        };
        if let Some(web) = &cfg.explorer_web {
            if !web.join("index.html").exists() {
                return Err(format!(
                    "`explorer_web` = {}: no index.html there (build the page: cd explorer/web && npm ci && npm run build)",
                    web.display()
                ));
            }
        }
        let metrics_listener = match &cfg.metrics {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| format!("`metrics` = {addr}: {e} (is the port in use?)"))?,
            ),
            None => None,
        };
        for (name, addr) in [("listen", &listen), ("gossip_listen", &gossip_listen)] {
            if let Some(sock) = tcp_socket(addr) {
                std::net::TcpListener::bind(sock)
                    .map_err(|e| format!("`{name}` = {addr}: {e} (is the port in use?)"))?;
            }
        }
        let max_record_bytes = genesis.params.max_record_bytes as usize;
        let empty_block_interval_ms = cfg
            .empty_block_interval_ms
            .unwrap_or(DEFAULT_EMPTY_BLOCK_INTERVAL_MS);
        let node = start(NodeOptions {
            moniker: cfg.moniker.clone(),
            home: cfg.data_dir.clone(),
            genesis,
            key,
            node_key_seed: node_key.seed(),
            listen,
            peers,
            pool: SharedPool::default(),
            fault,
            joining: cfg.joining,
            signer_state: cfg.signer_state(),
            // The watch for another process signing with this key must see
            // the network vote at least twice: on an idle network, votes
            // come once per heartbeat.
            signer_watch: std::time::Duration::from_millis(
                cfg.signer_watch_ms
                    .unwrap_or(5_000)
                    .max(2 * empty_block_interval_ms + 1_000),
            ),
            empty_block_interval: std::time::Duration::from_millis(empty_block_interval_ms),
            pool_log: cfg.pool_log.unwrap_or(true),
            propose_timeout: std::time::Duration::from_millis(
                cfg.propose_timeout_ms.unwrap_or(DEFAULT_PROPOSE_TIMEOUT_MS),
            ),
        })
        .await
        .map_err(|e| match e {
            crate::node::StartError::Store(e) => format!(
                "the store in {} cannot be used: {e}. Check it with `shanlian-node verify --config {}`; if it does not verify, move {} aside and start again to sync from peers (or restore a backup)",
                cfg.data_dir.join("store").display(),
                config.display(),
                cfg.data_dir.display()
            ),
            e => e.to_string(),
        })?;
        let topic = format!("/shanlian/{}/records/v1", node.genesis.chain_id);
        let publisher = crate::gossip::start(crate::gossip::GossipOptions {
            node_key_seed: node_key.seed(),
            listen: gossip_listen,
            peers: gossip_peers,
            members: node.members.clone(),
            topic,
            admissions: node.admissions.clone(),
            max_record_bytes,
            genesis_hash: node.genesis.hash(),
            metrics: node.metrics.clone(),
        })?;
        if let Some(listener) = metrics_listener {
            let app = axum::Router::new().route(
                "/metrics",
                get(|| async {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        crate::metrics::export(),
                    )
                }),
            );
            tokio::spawn(async move {
                let limits = shanlian_explorer::serve::Limits::new(64, HTTP_HEADER_TIMEOUT);
                let app = shanlian_explorer::serve::harden(app, HTTP_REQUEST_TIMEOUT);
                if let Err(e) =
                    shanlian_explorer::serve::serve(listener, app, limits, std::future::pending()).await
                {
                    tracing::error!(error = %e, "metrics endpoint stopped");
                }
            });
        }
        if let Some(listener) = explorer_listener {
            let submitter = crate::explorer::NodeSubmitter {
                admissions: node.admissions.clone(),
                genesis_hash: node.genesis.hash(),
                pool: node.pool.clone(),
                gossip: Some(publisher.clone()),
                pool_log: node.pool_log.clone(),
            };
            let explorer = shanlian_explorer::Explorer::new(
                std::sync::Arc::new(node.store.clone()),
                Some(std::sync::Arc::new(submitter)),
                node.genesis.clone(),
                shanlian_explorer::Settings {
                    web_dir: cfg.explorer_web.clone(),
                    rate_per_second: cfg.explorer_rate.unwrap_or(200),
                    burst: cfg.explorer_rate.unwrap_or(200).saturating_mul(2),
                    ..Default::default()
                },
            );
            let notifier = explorer.notifier();
            let mut heights = node.heights.clone();
            tokio::spawn(async move {
                while heights.changed().await.is_ok() {
                    let h = *heights.borrow_and_update();
                    notifier.committed(h);
                }
            });
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            tracing::info!(%addr, "explorer serving");
            tokio::spawn(async move {
                if let Err(e) = explorer.serve(listener, shutdown_signal()).await {
                    tracing::error!(error = %e, "explorer stopped");
                }
            });
        }
        let api = Api {
            admissions: node.admissions.clone(),
            store: node.store.clone(),
            pool: node.pool.clone(),
            max_record_bytes,
            gossip: Some(publisher),
            metrics: node.metrics.clone(),
            genesis_hash: node.genesis.hash(),
            signer: Some(node.signer.clone()),
            health: node.health.clone(),
            pool_log: node.pool_log.clone(),
        };
        tracing::info!(moniker = %cfg.moniker, http = %cfg.http, listen = %cfg.listen, "node started");
        let mut app = node.app;
        let limits = shanlian_explorer::serve::Limits::new(256, HTTP_HEADER_TIMEOUT);
        let server = shanlian_explorer::serve::serve(
            http,
            shanlian_explorer::serve::harden(router(api), HTTP_REQUEST_TIMEOUT),
            limits,
            shutdown_signal(),
        );
        tokio::pin!(server);
        let ended = tokio::select! {
            r = &mut server => {
                r.map_err(|e| format!("HTTP server: {e}"))?;
                None
            }
            r = &mut app => Some(r),
        };
        node.engine.actor.stop(None);
        let Some(ended) = ended else {
            tracing::info!("shutting down");
            node.store.flush().map_err(|e| e.to_string())?;
            return Ok(());
        };
        // Consensus stopped without a signal: this node found itself wrong
        // (or the engine died). It never votes again in this process, and
        // keeps answering /health (503, with the reason and what to do) and
        // reads until the operator stops it; then it exits with the error.
        let why = match ended {
            Ok(Ok(())) => "the consensus engine stopped".to_string(),
            Ok(Err(e)) => format!("the application stopped: {e}"),
            Err(e) => format!("the application failed: {e}"),
        };
        node.health.set_fault(why.clone());
        tracing::error!(%why, "consensus stopped; /health reports it until this node is stopped");
        let _ = server.await;
        tracing::info!("shutting down");
        node.store.flush().map_err(|e| e.to_string())?;
        Err(why)
    })
}

/// A configured listen address.
fn parse_addr(name: &str, text: &str) -> Result<Multiaddr, String> {
    text.parse()
        .map_err(|e| format!("`{name}` = {text:?}: {e}"))
}

/// A configured peer list: each address must name its peer id.
fn parse_peers(name: &str, list: &[String]) -> Result<Vec<Multiaddr>, String> {
    list.iter()
        .map(|p| {
            let addr = parse_addr(name, p)?;
            match crate::node::peer_of(&addr) {
                Some(_) => Ok(addr),
                None => Err(format!("`{name}`: {p:?} must end with /p2p/<peer id>")),
            }
        })
        .collect()
}

/// `/ip4/A/tcp/P` as a socket address (to test that the port is free).
fn tcp_socket(addr: &Multiaddr) -> Option<std::net::SocketAddr> {
    use libp2p::multiaddr::Protocol;
    let mut it = addr.iter();
    match (it.next(), it.next()) {
        (Some(Protocol::Ip4(ip)), Some(Protocol::Tcp(port))) => Some((ip, port).into()),
        _ => None,
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// How long validators wait for a round's proposal (the engine's default
/// is 3000: see docs/OPERATING.md for the measurement behind 1500).
pub const DEFAULT_PROPOSE_TIMEOUT_MS: u64 = 1_500;

/// With nothing to commit, one block every this many milliseconds.
pub const DEFAULT_EMPTY_BLOCK_INTERVAL_MS: u64 = 5_000;

/// A request (its body included) must be answered within this, on the
/// local endpoint and the metrics endpoint.
const HTTP_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// A connection that has not sent a whole request head within this is
/// closed (slow or idle clients).
const HTTP_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
