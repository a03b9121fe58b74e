//! The node's TOML configuration, and `testnet`: genesis, keys and configs
//! for a local network on loopback ports.

use serde::{Deserialize, Serialize};
use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::genesis::{standard_games, Genesis, GenesisMember, Params};
use shanlian_ledger::types::{NodeKey, Role, Timestamp, Uscc};
use std::path::{Path, PathBuf};

/// Declares [`Config`] and, from the same doc comments, [`Config::DOCS`],
/// which [`Config::template`] writes above each setting: the commented
/// `config.toml` that `init` and `testnet` write is generated from the type.
macro_rules! config {
    ($( $(#[doc = $doc:expr])* $(#[serde($($s:tt)*)])* pub $name:ident : $ty:ty, )*) => {
        /// One node's configuration. Relative paths are relative to the
        /// folder of the configuration file.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Config {
            $( $(#[doc = $doc])* $(#[serde($($s)*)])* pub $name: $ty, )*
        }

        impl Config {
            /// Each setting's name and its documentation, in file order.
            pub const DOCS: &'static [(&'static str, &'static str)] =
                &[ $( (stringify!($name), concat!($($doc, "\n"),*)) ),* ];
        }
    };
}

config! {
    /// A name for logs and metrics.
    pub moniker: String,
    /// The chain's genesis file. Its hash identifies the chain: a node never
    /// joins a network with another genesis.
    pub genesis: PathBuf,
    /// Where the node keeps its store and consensus WAL.
    pub data_dir: PathBuf,
    /// The member's signing key (PKCS#8 PEM). It signs this node's votes and
    /// proposals; keep it secret and readable only by the node's user.
    pub member_key: PathBuf,
    /// The node's libp2p identity (PKCS#8 PEM). Its public key is the
    /// member's `node` key on chain: other nodes accept connections only from
    /// the node keys of active members.
    pub node_key: PathBuf,
    /// Consensus (Malachite) listen address, e.g. `/ip4/0.0.0.0/tcp/27000`.
    pub listen: String,
    /// The other members' nodes, each "/ip4/<address>/tcp/<port>/p2p/<peer id>".
    /// Only those whose peer id belongs to an active member's node are
    /// dialled or accepted; the list is re-checked whenever membership changes
    /// on chain.
    pub peers: Vec<String>,
    /// Local HTTP endpoint where clients submit signed records
    /// (POST /v1/records) and ask what became of them (GET /v1/records/<id>);
    /// GET /health reports height, round, pool and peers. Keep it on loopback
    /// or behind the explorer.
    pub http: String,
    /// Record gossip (a second swarm, separate from consensus) listen address.
    pub gossip_listen: String,
    /// The public explorer: the JSON API under /api/v1 (with proofs), its
    /// OpenAPI document, and the donor's web page, e.g. "0.0.0.0:8080".
    /// Leave the setting out to serve no explorer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explorer: Option<String>,
    /// The built web page the explorer serves at / (explorer/web/dist, made
    /// by `npm run build`). Leave it out to serve the API only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explorer_web: Option<PathBuf>,
    /// Requests per second one client address may make to the explorer on
    /// average (bursts of twice as many); 0 turns the limit off. Default 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explorer_rate: Option<u32>,
    /// The other nodes' gossip addresses, in the same form as `peers`.
    pub gossip_peers: Vec<String>,
    /// Prometheus metrics (GET /metrics), e.g. "127.0.0.1:29000". Leave the
    /// setting out to disable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<String>,
    /// true: start even though the member key is not a member in the local
    /// store yet (the bureau admitted it on chain; the node syncs first).
    #[serde(default)]
    pub joining: bool,
    /// Where the passphrase of an encrypted member key comes from — never
    /// the command line: "env:NAME" (an environment variable), "file:PATH"
    /// (a file only its owner can read) or "fd:N" (a descriptor the
    /// launcher opened). Leave it out for an unencrypted key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_key_passphrase: Option<String>,
    /// The double-signing guard's record of the last vote and proposal this
    /// validator signed. Default: beside the member key, `<member_key>.signer-state`.
    /// Keep it with the key (back them up together; never delete it), not in
    /// the data folder: restoring an old data folder must not rewind it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_state: Option<PathBuf>,
    /// Milliseconds to watch the network after start, before signing
    /// anything, for another process signing with this validator's key (a
    /// copy of this node's files started by mistake). Default 5000, and
    /// never less than twice `empty_block_interval_ms` plus a second (an
    /// idle network votes once per heartbeat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_watch_ms: Option<u64>,
    /// With nothing to commit, the network makes one (empty) block every
    /// this many milliseconds, a heartbeat that keeps time and liveness
    /// visible; a record starts the next block at once. 0 makes blocks as
    /// fast as consensus allows (an idle chain then grows without end).
    /// Default 5000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_block_interval_ms: Option<u64>,
    /// Milliseconds a validator waits for the round's proposal before
    /// voting nil (then +500 ms each further round of the height): how long
    /// the network stalls when the proposer is down. Timeouts never affect
    /// safety, only how fast a round with a missing proposer ends; blocks
    /// are sized so a validator checks one well within it. Default 1500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propose_timeout_ms: Option<u64>,
    /// Write every record answered `202` to `pool.log` in the data folder
    /// (fsynced) before answering, so it survives a crash of this node.
    /// Costs an fsync per request (shared by concurrent ones). With
    /// `false`, a 202 means held in memory only: clients resubmit until
    /// committed (always safe). Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_log: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
}

fn file_err(path: &Path, reason: impl ToString) -> ConfigError {
    ConfigError::File {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

impl Config {
    /// Reads a configuration file; relative paths become relative to it.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| file_err(path, e))?;
        let mut c: Config = toml::from_str(&text).map_err(|e| file_err(path, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut c.genesis,
            &mut c.data_dir,
            &mut c.member_key,
            &mut c.node_key,
        ] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(p) = c.signer_state.as_mut().filter(|p| p.is_relative()) {
            *p = base.join(&*p);
        }
        if let Some(p) = c.explorer_web.as_mut().filter(|p| p.is_relative()) {
            *p = base.join(&*p);
        }
        Ok(c)
    }

    pub fn read_genesis(&self) -> Result<Genesis, ConfigError> {
        let text =
            std::fs::read_to_string(&self.genesis).map_err(|e| file_err(&self.genesis, e))?;
        Genesis::from_toml(&text).map_err(|e| file_err(&self.genesis, e))
    }

    /// The configuration as a commented TOML file: each setting under its
    /// documentation from [`Config::DOCS`]. Reads back to an equal value.
    pub fn template(&self) -> Result<String, ConfigError> {
        let body = toml::to_string(self).map_err(|e| file_err(Path::new("config.toml"), e))?;
        let mut out = String::from(
            "# shanlian-node configuration. Relative paths are relative to this file.\n\
             # Start the node with: shanlian-node run --config config.toml\n",
        );
        for line in body.lines() {
            let key = line.split(" = ").next().unwrap_or_default();
            if let Some((_, doc)) = Config::DOCS.iter().find(|(name, _)| *name == key) {
                out.push('\n');
                for d in doc.lines() {
                    out.push('#');
                    out.push_str(d);
                    out.push('\n');
                }
            }
            out.push_str(line);
            out.push('\n');
        }
        Ok(out)
    }

    /// Reads a private key file, refusing one that others can read or
    /// write unless `insecure`, decrypting it with `passphrase` if needed.
    pub fn read_key(
        path: &Path,
        passphrase: Option<&[u8]>,
        insecure: bool,
    ) -> Result<Keypair, ConfigError> {
        shanlian_ledger::keyfile::read(path, passphrase, insecure).map_err(|e| {
            file_err(
                path,
                e.to_string()
                    .trim_start_matches(&format!("{}: ", path.display())),
            )
        })
    }

    /// The signer state file: `signer_state`, or beside the member key.
    pub fn signer_state(&self) -> PathBuf {
        self.signer_state.clone().unwrap_or_else(|| {
            let mut p = self.member_key.clone().into_os_string();
            p.push(".signer-state");
            PathBuf::from(p)
        })
    }
}

/// A syntactically valid code from a 15-character prefix and a number.
fn uscc(prefix15: &str, i: usize) -> Uscc {
    let first17 = format!("{prefix15}{:02}", i % 100);
    let c = Uscc::check_char(&first17).unwrap_or('0');
    Uscc(format!("{first17}{c}"))
}

/// Writes a local network of `validators` nodes to `out`: `genesis.toml`,
/// `node-<i>/{config.toml, member.pem, node.pem}`, and `keys/<label>.pem`
/// for the members that run no node (a charity, to sign test records).
/// Keys are freshly generated. Ports: consensus `base_port + i`, record
/// gossip `base_port + 50 + i`, HTTP `base_port + 100 + i`, metrics
/// `base_port + 150 + i`. Nodes `validators..validators + observers` are
/// members' nodes without voting power (charities), e.g. to be made
/// validators later by the bureau.
pub fn testnet(
    validators: usize,
    observers: usize,
    out: &Path,
    base_port: u16,
    web: Option<&Path>,
) -> Result<(), ConfigError> {
    let total = validators + observers;
    if validators == 0 || total > 50 {
        return Err(file_err(
            out,
            "between 1 and 50 nodes (ports are base + i, + 50 + i, + 100 + i, + 150 + i, + 200 + i)",
        ));
    }
    if base_port as usize + 250 > u16::MAX as usize {
        return Err(file_err(out, "base port too high: ports run to base + 249"));
    }
    std::fs::create_dir_all(out).map_err(|e| file_err(out, e))?;
    let roles = [
        Role::Bureau,
        Role::Charity,
        Role::LotteryCentre,
        Role::Auditor,
    ];
    let mut members = Vec::new();
    let mut nodes = Vec::new();
    for i in 0..total {
        let key = Keypair::generate();
        let node_key = Keypair::generate();
        let role = if i < roles.len() && i < validators {
            roles[i]
        } else {
            Role::Charity
        };
        // The first four are the city's bureau, charity federation,
        // lottery centre and an auditor, as in a real deployment.
        const NAMES: [&str; 4] = [
            "深圳市民政局 (local)",
            "深圳市慈善会 (local)",
            "深圳市福利彩票发行中心 (local)",
            "深圳示例会计师事务所 (local)",
        ];
        members.push(GenesisMember {
            name: match i {
                i if i < validators && i < NAMES.len() => NAMES[i].into(),
                i if i < validators => format!("validator-{i}"),
                i => format!("member-{i}"),
            },
            role,
            uscc: uscc("53440300MJL0000", i),
            public_key: key.public(),
            node: NodeKey(node_key.public().0),
            power: if i < validators { 10 } else { 0 },
        });
        nodes.push((key, node_key));
    }
    let charity = Keypair::generate();
    members.push(GenesisMember {
        name: "深圳市红十字会 (local, charity-a)".into(),
        role: Role::Charity,
        uscc: uscc("53440300MJL0001", 0),
        public_key: charity.public(),
        node: NodeKey(Keypair::generate().public().0),
        power: 0,
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() * 1000)
        .unwrap_or(0);
    let genesis = Genesis {
        chain_id: "shanlian-local".into(),
        time: Timestamp(now),
        params: Params::default(),
        members,
        games: standard_games(),
    };
    genesis.validate().map_err(|e| file_err(out, e))?;
    let write = |p: PathBuf, s: String| std::fs::write(&p, s).map_err(|e| file_err(&p, e));
    let write_key = |p: PathBuf, k: &Keypair| -> Result<(), ConfigError> {
        let pem = k.to_pkcs8_pem().map_err(|e| file_err(&p, e))?;
        shanlian_ledger::keyfile::write_new(&p, pem.as_bytes()).map_err(|e| file_err(&p, e))
    };
    write(out.join("genesis.toml"), genesis.to_toml())?;
    write_key(out.join("keys/charity-a.pem"), &charity)?;
    let addr = |i: usize, offset: usize| {
        format!(
            "/ip4/127.0.0.1/tcp/{}/p2p/{}",
            base_port as usize + offset + i,
            NodeKey(nodes[i].1.public().0).peer_id()
        )
    };
    for (i, (key, node_key)) in nodes.iter().enumerate() {
        let dir = out.join(format!("node-{i}"));
        write_key(dir.join("member.pem"), key)?;
        write_key(dir.join("node.pem"), node_key)?;
        let config = Config {
            moniker: format!("node-{i}"),
            genesis: PathBuf::from("../genesis.toml"),
            data_dir: PathBuf::from("data"),
            member_key: PathBuf::from("member.pem"),
            node_key: PathBuf::from("node.pem"),
            listen: format!("/ip4/127.0.0.1/tcp/{}", base_port as usize + i),
            peers: (0..total).filter(|j| *j != i).map(|j| addr(j, 0)).collect(),
            http: format!("127.0.0.1:{}", base_port as usize + 100 + i),
            gossip_listen: format!("/ip4/127.0.0.1/tcp/{}", base_port as usize + 50 + i),
            explorer: Some(format!("127.0.0.1:{}", base_port as usize + 200 + i)),
            explorer_web: web.map(Path::to_path_buf),
            explorer_rate: None,
            gossip_peers: (0..total)
                .filter(|j| *j != i)
                .map(|j| addr(j, 50))
                .collect(),
            metrics: Some(format!("127.0.0.1:{}", base_port as usize + 150 + i)),
            joining: false,
            member_key_passphrase: None,
            signer_state: None,
            // A local network starts all at once: a shorter watch.
            signer_watch_ms: Some(1_500),
            // A quicker heartbeat on loopback, so tests and the demo see heights move.
            empty_block_interval_ms: Some(500),
            propose_timeout_ms: None,
            pool_log: None,
        };
        write(dir.join("config.toml"), config.template()?)?;
    }
    Ok(())
}

#[cfg(test)]
mod template_tests {
    use super::*;

    #[test]
    fn the_template_documents_every_setting_and_reads_back() {
        let c = Config {
            moniker: "n".into(),
            genesis: "genesis.toml".into(),
            data_dir: "data".into(),
            member_key: "member.pem".into(),
            node_key: "node.pem".into(),
            listen: "/ip4/0.0.0.0/tcp/1".into(),
            peers: vec!["/ip4/127.0.0.1/tcp/2/p2p/x".into()],
            http: "127.0.0.1:3".into(),
            gossip_listen: "/ip4/0.0.0.0/tcp/4".into(),
            explorer: Some("0.0.0.0:8080".into()),
            explorer_web: Some("/srv/shanlian/web".into()),
            explorer_rate: Some(100),
            gossip_peers: vec![],
            metrics: Some("127.0.0.1:5".into()),
            joining: true,
            member_key_passphrase: Some("env:SHANLIAN_MEMBER_KEY_PASSPHRASE".into()),
            signer_state: Some("member.pem.signer-state".into()),
            signer_watch_ms: Some(5_000),
            empty_block_interval_ms: Some(5_000),
            propose_timeout_ms: Some(1_500),
            pool_log: Some(true),
        };
        let text = c.template().unwrap();
        for (name, doc) in Config::DOCS {
            assert!(!doc.trim().is_empty(), "{name} has no documentation");
            let first = doc.lines().next().unwrap();
            assert!(text.contains(&format!("#{first}\n")), "{name}: {text}");
            assert!(
                text.contains(&format!("\n{name} = ")),
                "{name} missing: {text}"
            );
        }
        assert_eq!(toml::from_str::<Config>(&text).unwrap(), c);
    }
}
