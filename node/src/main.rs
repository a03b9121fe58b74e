//! `shanlian-node`: run a Shanlian node, or make a local network.

use clap::{Parser, Subcommand};
use shanlian_node::config::{testnet, Config};
use shanlian_node::http::{router, Api};
use shanlian_node::node::{start, NodeOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

#[derive(Parser)]
#[command(
    name = "shanlian-node",
    version,
    about = "A Shanlian (善链) ledger node"
)]
struct Cli {
    /// Log as JSON lines (default: human-readable).
    #[arg(long, global = true)]
    json_logs: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write genesis, keys and configs for a local network on loopback ports.
    Testnet {
        /// How many validator nodes.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// The folder to write (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// First consensus port; HTTP ports start 100 higher.
        #[arg(long, default_value_t = 27000)]
        base_port: u16,
    },
    /// Run a node from its configuration file.
    Run {
        #[arg(long)]
        config: PathBuf,
    },
    /// Run a whole local network on loopback (one `run` process per
    /// validator), feeding it demo donations, until Ctrl-C.
    Localnet {
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Where the network lives (written by `testnet` if missing).
        #[arg(long, default_value = "target/localnet")]
        dir: PathBuf,
        #[arg(long, default_value_t = 27000)]
        base_port: u16,
        /// Stop after this many demo donations are committed (0 = run until Ctrl-C).
        #[arg(long, default_value_t = 0)]
        donations: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if cli.json_logs {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init();
    }
    let result = match cli.command {
        Command::Testnet {
            validators,
            out,
            base_port,
        } => testnet(validators, &out, base_port)
            .map(|()| {
                println!(
                    "wrote a {validators}-validator network to {}",
                    out.display()
                )
            })
            .map_err(|e| e.to_string()),
        Command::Run { config } => run(config),
        Command::Localnet {
            validators,
            dir,
            base_port,
            donations,
        } => shanlian_node::localnet::run(validators, &dir, base_port, donations),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shanlian-node: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: PathBuf) -> Result<(), String> {
    let cfg = Config::load(&config).map_err(|e| e.to_string())?;
    let genesis = cfg.read_genesis().map_err(|e| e.to_string())?;
    let key = Config::read_key(&cfg.member_key).map_err(|e| e.to_string())?;
    let node_key = Config::read_key(&cfg.node_key).map_err(|e| e.to_string())?;
    let me = shanlian_ledger::types::Address::of_key(&key.public());
    if !genesis.members.iter().any(|m| m.address() == me) {
        return Err(format!(
            "{}: this key belongs to no member of the genesis",
            cfg.member_key.display()
        ));
    }
    let listen = cfg
        .listen
        .parse()
        .map_err(|e| format!("listen address {}: {e}", cfg.listen))?;
    let mut peers = Vec::new();
    for p in &cfg.peers {
        peers.push(p.parse().map_err(|e| format!("peer address {p}: {e}"))?);
    }
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let http = tokio::net::TcpListener::bind(&cfg.http)
            .await
            .map_err(|e| format!("HTTP address {}: {e} (is the port in use?)", cfg.http))?;
        let max_record_bytes = genesis.params.max_record_bytes as usize;
        let node = start(NodeOptions {
            moniker: cfg.moniker.clone(),
            home: cfg.data_dir.clone(),
            genesis,
            key,
            node_key_seed: node_key.seed(),
            listen,
            peers,
            pool: Arc::new(Mutex::new(Vec::new())),
        })
        .await
        .map_err(|e| e.to_string())?;
        // Record gossip between members' nodes only.
        let gossip_listen = cfg
            .gossip_listen
            .parse()
            .map_err(|e| format!("gossip listen address {}: {e}", cfg.gossip_listen))?;
        let mut gossip_peers = Vec::new();
        for p in &cfg.gossip_peers {
            gossip_peers.push(p.parse().map_err(|e| format!("gossip peer address {p}: {e}"))?);
        }
        let allowed = node.genesis.members.iter().filter_map(|m| shanlian_node::gossip::peer_id(&m.node)).collect();
        let topic = format!("/shanlian/{}/records/v1", node.genesis.chain_id);
        let publisher = shanlian_node::gossip::start(
            node_key.seed(),
            gossip_listen,
            gossip_peers,
            allowed,
            topic,
            node.admissions.clone(),
            max_record_bytes,
        )?;
        let api = Api {
            admissions: node.admissions.clone(),
            store: node.store.clone(),
            pool: node.pool.clone(),
            refusals: node.refusals.clone(),
            max_record_bytes,
            gossip: Some(publisher),
        };
        tracing::info!(moniker = %cfg.moniker, http = %cfg.http, listen = %cfg.listen, "node started");
        let server = axum::serve(http, router(api)).with_graceful_shutdown(shutdown_signal());
        server.await.map_err(|e| format!("HTTP server: {e}"))?;
        tracing::info!("shutting down");
        node.engine.actor.stop(None);
        node.store.flush().map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
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
