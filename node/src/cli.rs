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
        /// Encrypt the new member key with a passphrase (PBES2: PBKDF2 +
        /// AES-256-CBC; OpenSSL reads it). Needs --passphrase.
        #[arg(long, requires = "passphrase")]
        encrypt: bool,
        /// Where the passphrase is: env:NAME, file:PATH or fd:N (never the
        /// passphrase itself: the command line is visible to every user).
        /// env: and file: are written into the config for `run`.
        #[arg(long)]
        passphrase: Option<String>,
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
        /// First consensus port; gossip, HTTP, metrics and explorer ports
        /// start 50, 100, 150 and 200 higher.
        #[arg(long, default_value_t = 27000)]
        base_port: u16,
        /// The built web page the explorers serve (explorer/web/dist).
        #[arg(long)]
        web: Option<PathBuf>,
    },
    /// Run a node from its configuration file.
    Run {
        #[arg(long)]
        config: PathBuf,
        /// Read the member key's passphrase from this file descriptor.
        #[arg(long)]
        passphrase_fd: Option<i32>,
        /// TESTS ONLY: accept private key files that other users can read.
        #[arg(long, hide = true)]
        insecure_key_permissions: bool,
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
        /// The built web page the explorers serve (default
        /// explorer/web/dist, when it exists).
        #[arg(long)]
        web: Option<PathBuf>,
    },
    /// Measure committed records per second and commit latency of a local
    /// network of validators on this machine (one JSON object per line).
    Bench(crate::bench::BenchArgs),
    /// Measure how fast a member's node that starts empty catches up with
    /// validators holding a chain of --records (one JSON object on stdout),
    /// against the single-node replay rate measured in the same run.
    CatchupBench(crate::catchup::CatchupArgs),
    /// Move a stopped node's store from sled (data folders created before
    /// fjall) to fjall: copy every entry, verify the copy from genesis,
    /// then swap the folders, keeping the old one as `store.sled`.
    ConvertStore {
        /// The node's config.toml (its data folder is converted).
        #[arg(long)]
        config: PathBuf,
    },
    /// Verify a stopped node's store: replay every block from genesis
    /// (links, certificates, signatures, every record re-applied, log and
    /// state roots) and compare every stored state entry and index with the
    /// replay. Exit status 0 when it verifies, 1 when it does not.
    Verify {
        /// The node's config.toml (its data folder is verified).
        #[arg(long)]
        config: PathBuf,
        /// Check every signature on its own, never in batches: slower, the
        /// same verdicts (SPEC §4). `--strict` is the old name.
        #[arg(long, alias = "strict")]
        single: bool,
        /// Skip the comparison of every stored state entry and index (the
        /// chain itself is still replayed and checked).
        #[arg(long)]
        shallow: bool,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Turns transparent huge pages off for this process (Linux; kept across
/// exec, so the nodes a bench or a local network starts have it too).
///
/// mimalloc asks for huge pages, and a node churns through memory: the
/// store's memtables and batches, blocks, records and gossip batches are
/// short-lived (sled, the store's engine then, copied a leaf per insert). Each fresh 2 MiB the allocator touched was zeroed
/// whole by the kernel: ~13% of the nodes' CPU in the network bench, ~2%
/// with 4 KiB pages (docs/OPERATING.md, "Where a height's time goes",
/// "Memory"). A replay, which walks large tables, is better with them, so
/// this is the node's choice, not the allocator's build option for every
/// binary. False if the kernel refused (before 3.15): the node then runs
/// as before, with huge pages, and says so once logging is up.
fn no_transparent_huge_pages() -> bool {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and
    // changes only this process's paging policy.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0
    }
    #[cfg(not(target_os = "linux"))]
    true
}

/// The program's entry point.
pub fn main() -> ExitCode {
    let thp_off = no_transparent_huge_pages();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // The peer-to-peer layer's connection complaints once per backoff
    // (see `logging`), everything else as the filter says.
    {
        use tracing_subscriber::filter::FilterExt as _;
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        use tracing_subscriber::Layer as _;
        let (noise, complaints) = crate::logging::PeerNoise::new();
        let filter = filter.and(noise);
        let registry = tracing_subscriber::registry();
        if cli.json_logs {
            let fmt = tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::stderr);
            registry.with(fmt.with_filter(filter)).init();
        } else {
            use std::io::IsTerminal;
            let fmt = tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal());
            registry.with(fmt.with_filter(filter)).init();
        }
        crate::logging::report(complaints);
    }
    if !thp_off {
        tracing::warn!(
            "could not turn transparent huge pages off for this process; \
             a loaded node spends more CPU zeroing memory (docs/OPERATING.md, \"Memory\")"
        );
    }
    let result = match cli.command {
        Command::Init {
            home,
            genesis,
            moniker,
            member_key,
            port,
            encrypt,
            passphrase,
        } => init(
            &home,
            &genesis,
            &moniker,
            member_key.as_deref(),
            port,
            passphrase.filter(|_| encrypt).as_deref(),
        ),
        Command::Testnet {
            validators,
            observers,
            out,
            base_port,
            web,
        } => testnet(validators, observers, &out, base_port, web.as_deref())
            .map(|()| {
                println!(
                    "wrote a {validators}-validator network to {}",
                    out.display()
                )
            })
            .map_err(|e| e.to_string()),
        Command::Run {
            config,
            test_fault,
            passphrase_fd,
            insecure_key_permissions,
        } => crate::service::run(
            &config,
            test_fault,
            crate::service::KeyOptions {
                insecure_key_permissions,
                passphrase_fd,
            },
        ),
        Command::Localnet {
            validators,
            dir,
            base_port,
            donations,
            web,
        } => crate::localnet::run(validators, &dir, base_port, donations, web),
        Command::Bench(args) => crate::bench::run(args),
        Command::CatchupBench(args) => crate::catchup::run(args),
        Command::ConvertStore { config } => crate::convert::run(&config),
        Command::Verify {
            config,
            single,
            shallow,
            json,
        } => match crate::verify::run(&config, single, shallow, json) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
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

/// `shanlian-node init`. `encrypt_with` is where the new member key's
/// passphrase comes from, if it is to be encrypted.
fn init(
    home: &Path,
    genesis: &Path,
    moniker: &str,
    member_key: Option<&Path>,
    port: u16,
    encrypt_with: Option<&str>,
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
    let passphrase = match encrypt_with {
        Some(src) => {
            Some(shanlian_ledger::keyfile::read_passphrase(src).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let key = match member_key {
        Some(p) => shanlian_ledger::keyfile::read(p, passphrase.as_deref(), false)
            .map_err(|e| format!("member key: {e}"))?,
        None => Keypair::generate(),
    };
    let node_key = Keypair::generate();
    let write_key = |path: PathBuf, k: &Keypair, pass: Option<&[u8]>| -> Result<(), String> {
        let pem = shanlian_ledger::keyfile::to_pem(k, pass).map_err(|e| e.to_string())?;
        shanlian_ledger::keyfile::write_new(&path, pem.as_bytes()).map_err(|e| e.to_string())
    };
    std::fs::create_dir_all(home).map_err(|e| format!("{}: {e}", home.display()))?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700));
    create(&home.join("genesis.toml"), &text)?;
    write_key(home.join("member.pem"), &key, passphrase.as_deref())?;
    write_key(home.join("node.pem"), &node_key, None)?;
    let address = Address::of_key(&key.public());
    let node = NodeKey(node_key.public().0);
    let member = g.members.iter().find(|m| m.address() == address);
    let mut config = init_config(moniker, port, member.is_none());
    config.member_key_passphrase = encrypt_with
        .filter(|s| !s.starts_with("fd:"))
        .map(Into::into);
    let config = config.template().map_err(|e| e.to_string())?;
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

/// The configuration `init` writes for a node on ports `port..=port + 4`.
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
        explorer: Some(format!("0.0.0.0:{}", port + 4)),
        explorer_web: None,
        explorer_rate: None,
        joining,
        member_key_passphrase: None,
        signer_state: None,
        signer_watch_ms: None,
        empty_block_interval_ms: None,
        propose_timeout_ms: None,
        pool_log: None,
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
        init(&home, &genesis, "n1", None, 26000, None).unwrap();
        let cfg = crate::config::Config::load(&home.join("config.toml")).unwrap();
        assert_eq!(cfg.moniker, "n1");
        assert!(cfg.joining, "a fresh key is not a member yet");
        assert_eq!(cfg.metrics.as_deref(), Some("127.0.0.1:26003"));
        cfg.read_genesis().unwrap();
        crate::config::Config::read_key(&cfg.member_key, None, false).unwrap();
        crate::config::Config::read_key(&cfg.node_key, None, false).unwrap();
        // Owner-only files in an owner-only folder.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&home.join("member.pem")), 0o600);
        assert_eq!(mode(&home.join("node.pem")), 0o600);
        assert_eq!(mode(&home), 0o700);
        let before = std::fs::read(home.join("member.pem")).unwrap();
        let again = init(&home, &genesis, "n1", None, 26000, None).unwrap_err();
        assert!(again.contains("never overwrites"), "{again}");
        assert_eq!(std::fs::read(home.join("member.pem")).unwrap(), before);
    }

    #[test]
    fn init_refuses_a_bad_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = dir.path().join("g.toml");
        std::fs::write(&genesis, "chain_id = 5").unwrap();
        let err = init(&dir.path().join("h"), &genesis, "n", None, 26000, None).unwrap_err();
        assert!(err.starts_with("genesis"), "{err}");
        assert!(!dir.path().join("h").exists());
    }
}
