//! The `shanlian-node` command line: `init`, `run`, `testnet`, `localnet`
//! and `bench`. (In the library so the end-to-end test crate can build the
//! very same program.)

use crate::app::Fault;
use crate::config::testnet;
use clap::{Parser, Subcommand};
use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::types::{Address, NodeKey};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "shanlian-node",
    version,
    about = "A Shanlian (善链) ledger node"
)]
struct Cli {
    /// Log as JSON lines (default: human-readable). Logs go to stderr;
    /// RUST_LOG filters them (default `info`).
    #[arg(long, global = true)]
    json_logs: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a node's home: keys (PKCS#8 PEM) and a commented config.toml.
    Init {
        /// The node's folder (created; existing files are never overwritten).
        #[arg(long)]
        home: PathBuf,
        /// The chain's genesis file (copied into the home).
        #[arg(long)]
        genesis: PathBuf,
        /// A name for logs.
        #[arg(long, default_value = "node")]
        moniker: String,
        /// The member key, if the member already has one (PKCS#8 PEM);
        /// otherwise a new key is generated for the bureau to admit.
        #[arg(long)]
        member_key: Option<PathBuf>,
        /// First of four ports: consensus P, gossip P+1, HTTP P+2, metrics P+3.
        #[arg(long, default_value_t = 26000)]
        port: u16,
    },
    /// Write genesis, keys and configs for a local network on loopback ports.
    Testnet {
        /// How many validator nodes.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// How many more members' nodes without voting power.
        #[arg(long, default_value_t = 0)]
        observers: usize,
        /// The folder to write (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// First consensus port; gossip, HTTP and metrics ports start 50,
        /// 100 and 150 higher.
        #[arg(long, default_value_t = 27000)]
        base_port: u16,
    },
    /// Run a node from its configuration file.
    Run {
        #[arg(long)]
        config: PathBuf,
        /// TEST ONLY: propose invalid blocks (for the end-to-end tests).
        #[arg(long, hide = true)]
        test_fault: Option<Fault>,
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
    /// Measure committed records per second and commit latency of a local
    /// network of validators on this machine (one JSON object per line).
    Bench(crate::bench::BenchArgs),
}

/// The program's entry point.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if cli.json_logs {
        tracing_subscriber::fmt()
            .json()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init();
    } else {
        use std::io::IsTerminal;
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_env_filter(filter)
            .init();
    }
    let result = match cli.command {
        Command::Init {
            home,
            genesis,
            moniker,
            member_key,
            port,
        } => init(&home, &genesis, &moniker, member_key.as_deref(), port),
        Command::Testnet {
            validators,
            observers,
            out,
            base_port,
        } => testnet(validators, observers, &out, base_port)
            .map(|()| {
                println!(
                    "wrote a {validators}-validator network to {}",
                    out.display()
                )
            })
            .map_err(|e| e.to_string()),
        Command::Run { config, test_fault } => crate::service::run(&config, test_fault),
        Command::Localnet {
            validators,
            dir,
            base_port,
            donations,
        } => crate::localnet::run(validators, &dir, base_port, donations),
        Command::Bench(args) => crate::bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shanlian-node: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes a file that must not exist yet.
fn create(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| format!("{}: {e} (init never overwrites)", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// `shanlian-node init`.
fn init(
    home: &Path,
    genesis: &Path,
    moniker: &str,
    member_key: Option<&Path>,
    port: u16,
) -> Result<(), String> {
    if port as u32 + 3 > u16::MAX as u32 {
        return Err(format!(
            "--port {port}: four ports from it must fit under 65536"
        ));
    }
    let text = std::fs::read_to_string(genesis)
        .map_err(|e| format!("genesis {}: {e}", genesis.display()))?;
    let g = shanlian_ledger::genesis::Genesis::from_toml(&text)
        .map_err(|e| format!("genesis {}: {e}", genesis.display()))?;
    std::fs::create_dir_all(home).map_err(|e| format!("{}: {e}", home.display()))?;
    let key = match member_key {
        Some(p) => {
            let pem = std::fs::read_to_string(p)
                .map_err(|e| format!("member key {}: {e}", p.display()))?;
            Keypair::from_pkcs8_pem(&pem).map_err(|e| format!("member key {}: {e}", p.display()))?
        }
        None => Keypair::generate(),
    };
    let node_key = Keypair::generate();
    let pem = |k: &Keypair| k.to_pkcs8_pem().map_err(|e| e.to_string());
    create(&home.join("genesis.toml"), &text)?;
    create(&home.join("member.pem"), &pem(&key)?)?;
    create(&home.join("node.pem"), &pem(&node_key)?)?;
    let address = Address::of_key(&key.public());
    let node = NodeKey(node_key.public().0);
    let member = g.members.iter().find(|m| m.address() == address);
    let config = init_config(moniker, port, member.is_none())
        .template()
        .map_err(|e| e.to_string())?;
    create(&home.join("config.toml"), &config)?;
    println!("wrote {}", home.display());
    println!("  member address: {address}");
    println!("  member key:     {}", key.public());
    println!("  node key:       {} (peer id {})", node, node.peer_id());
    match member {
        Some(m) if m.node == node => {}
        Some(m) => println!(
            "  note: genesis names node key {} for member {:?}; this node's key is new, so the other nodes will refuse it until the bureau records the new node key",
            m.node, m.name
        ),
        None => println!(
            "  note: this key is not a member of chain {:?} yet: ask the bureau to admit it (address and node key above); `joining = true` is set so the node syncs first",
            g.chain_id
        ),
    }
    println!("  next: list the other nodes under `peers` and `gossip_peers`, then `shanlian-node run --config {}`", home.join("config.toml").display());
    Ok(())
}

/// The configuration `init` writes for a node on ports `port..port + 4`.
fn init_config(moniker: &str, port: u16, joining: bool) -> crate::config::Config {
    crate::config::Config {
        moniker: moniker.into(),
        genesis: "genesis.toml".into(),
        data_dir: "data".into(),
        member_key: "member.pem".into(),
        node_key: "node.pem".into(),
        listen: format!("/ip4/0.0.0.0/tcp/{port}"),
        peers: Vec::new(),
        http: format!("127.0.0.1:{}", port + 2),
        gossip_listen: format!("/ip4/0.0.0.0/tcp/{}", port + 1),
        gossip_peers: Vec::new(),
        metrics: Some(format!("127.0.0.1:{}", port + 3)),
        joining,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_writes_a_loadable_config_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = dir.path().join("g.toml");
        std::fs::write(
            &genesis,
            shanlian_ledger::genesis::dev_genesis().0.to_toml(),
        )
        .unwrap();
        let home = dir.path().join("home");
        init(&home, &genesis, "n1", None, 26000).unwrap();
        let cfg = crate::config::Config::load(&home.join("config.toml")).unwrap();
        assert_eq!(cfg.moniker, "n1");
        assert!(cfg.joining, "a fresh key is not a member yet");
        assert_eq!(cfg.metrics.as_deref(), Some("127.0.0.1:26003"));
        cfg.read_genesis().unwrap();
        crate::config::Config::read_key(&cfg.member_key).unwrap();
        crate::config::Config::read_key(&cfg.node_key).unwrap();
        let before = std::fs::read(home.join("member.pem")).unwrap();
        let again = init(&home, &genesis, "n1", None, 26000).unwrap_err();
        assert!(again.contains("never overwrites"), "{again}");
        assert_eq!(std::fs::read(home.join("member.pem")).unwrap(), before);
    }

    #[test]
    fn init_refuses_a_bad_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = dir.path().join("g.toml");
        std::fs::write(&genesis, "chain_id = 5").unwrap();
        let err = init(&dir.path().join("h"), &genesis, "n", None, 26000).unwrap_err();
        assert!(err.starts_with("genesis"), "{err}");
        assert!(!dir.path().join("h").exists());
    }
}
