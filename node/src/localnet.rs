//! `shanlian-node localnet`: a whole network on loopback, for the demo and
//! for trying things by hand. One `shanlian-node run` child process per
//! validator, each serving the explorer (API and web page). A demo client
//! commits a year of the city's books (`shanlian_ledger::demo`: projects
//! approved, donations through every channel, disbursements with evidence,
//! a refund, a correction, a grant, lottery sales and allocations, an
//! audit), then keeps signing donations as `charity-a`, reporting each
//! commit, until Ctrl-C.

use crate::config::testnet;
use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::demo::{Actor, DemoSink};
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::record::{Payload, Record, RecordBody, SignedRecord};
use shanlian_ledger::types::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Child processes, stopped with SIGTERM when dropped.
pub struct Children(pub Vec<std::process::Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &self.0 {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

/// Starts `shanlian-node run` for `node-0..n` of a testnet folder.
pub fn spawn_nodes(dir: &Path, n: usize, log_level: &str) -> Result<Children, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut children = Children(Vec::new());
    for i in 0..n {
        let log = std::fs::File::create(dir.join(format!("node-{i}.log")))
            .map_err(|e| format!("log file: {e}"))?;
        let child = std::process::Command::new(&exe)
            .args(["run", "--config"])
            .arg(dir.join(format!("node-{i}/config.toml")))
            .env("RUST_LOG", log_level)
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start node {i}: {e}"))?;
        children.0.push(child);
    }
    Ok(children)
}

pub(crate) fn read_key(path: &Path) -> Result<Keypair, String> {
    let pem = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Keypair::from_pkcs8_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))
}

/// Signs a payload now, with a nonce that never repeats in this process.
fn sign(key: &Keypair, gh: &Hash32, payload: Payload, n: u64) -> Record {
    let now = crate::app::now();
    let body = RecordBody {
        created: now,
        expires: Timestamp(now.0 + 600_000),
        nonce: now.0.wrapping_mul(1_000).wrapping_add(n),
        payload,
    };
    Record::new(SignedRecord::sign(body, key, gh))
}

/// The demo client: submits over the nodes' HTTP endpoints, in turn.
struct Client {
    http: Vec<String>,
    /// Node 0's explorer.
    explorer: String,
    client: reqwest::Client,
    rt: tokio::runtime::Handle,
    genesis_hash: Hash32,
    keys: Vec<(Actor, Keypair)>,
    sent: Vec<RecordId>,
    n: u64,
}

impl Client {
    fn key(&self, who: Actor) -> Result<&Keypair, String> {
        self.keys
            .iter()
            .find(|(a, _)| *a == who)
            .map(|(_, k)| k)
            .ok_or_else(|| format!("no key for {who:?}"))
    }

    async fn post(&self, record: &Record) -> Result<(), String> {
        let url = &self.http[record.id.0[0] as usize % self.http.len()];
        let r = self
            .client
            .post(format!("{url}/v1/records"))
            .body(record.bytes.clone())
            .send()
            .await
            .map_err(|e| format!("submitting to {url}: {e}"))?;
        if r.status().is_success() {
            return Ok(());
        }
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        Err(format!(
            "{} refused: {}",
            record.signed.body.payload.kind(),
            v["message"]
        ))
    }

    /// The status of a record at some node.
    async fn status(&self, id: &RecordId) -> serde_json::Value {
        let url = &self.http[0];
        match self
            .client
            .get(format!("{url}/v1/records/{}", id.to_hex()))
            .send()
            .await
        {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        }
    }

    async fn wait_committed(&self, ids: &[RecordId]) -> Result<u64, String> {
        let mut height = 0;
        for id in ids {
            loop {
                let v = self.status(id).await;
                match v["status"].as_str() {
                    Some("committed") => {
                        height = height.max(v["height"].as_u64().unwrap_or(0));
                        break;
                    }
                    Some("refused") => {
                        return Err(format!("record {id} refused: {}", v["message"]))
                    }
                    Some("expired") => return Err(format!("record {id} expired")),
                    _ => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        }
        Ok(height)
    }
}

impl Client {
    /// GET from the explorer: the URL asked and its JSON.
    fn get_json(&self, path: &str) -> Result<(String, serde_json::Value), String> {
        let url = format!("{}{path}", self.explorer);
        let v = self.rt.clone().block_on(async {
            self.client
                .get(&url)
                .send()
                .await
                .map_err(|e| format!("{url}: {e}"))?
                .json()
                .await
                .map_err(|e| format!("{url}: {e}"))
        })?;
        Ok((url, v))
    }
}

impl DemoSink for Client {
    type Error = String;
    fn address(&self, who: Actor) -> Address {
        self.key(who)
            .map(|k| Address::of_key(&k.public()))
            .unwrap_or(Address([0; 20]))
    }
    fn send(&mut self, who: Actor, payload: Payload) -> Result<RecordId, String> {
        self.n += 1;
        let record = sign(self.key(who)?, &self.genesis_hash, payload, self.n);
        let rt = self.rt.clone();
        rt.block_on(self.post(&record))?;
        self.sent.push(record.id);
        Ok(record.id)
    }
    fn settle(&mut self) -> Result<(), String> {
        let ids = std::mem::take(&mut self.sent);
        let rt = self.rt.clone();
        rt.block_on(self.wait_committed(&ids)).map(|_| ())
    }
    fn checkpoint(&mut self) -> Result<(u64, u64, Hash32), String> {
        let (url, v) = self.get_json("/api/v1/checkpoints/latest")?;
        let c = &v["checkpoint"];
        let (Some(height), Some(size), Some(root)) = (
            c["height"].as_u64(),
            c["log_size"].as_u64(),
            c["log_root"].as_str(),
        ) else {
            return Err(format!("{url}: not a signed checkpoint: {v}"));
        };
        let mut r = [0u8; 32];
        hex::decode_to_slice(root, &mut r).map_err(|e| format!("{url}: {e}"))?;
        Ok((height, size, r))
    }
    fn wait_height(&mut self, height: u64) -> Result<(), String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(600);
        loop {
            let (h, _, _) = self.checkpoint()?;
            if h >= height {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                return Err(format!(
                    "the chain did not reach height {height} in 10 minutes"
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    fn block_hash(&mut self, height: u64) -> Result<Hash32, String> {
        let (url, v) = self.get_json(&format!("/api/v1/blocks/{height}"))?;
        let hash = v["hash"]
            .as_str()
            .ok_or_else(|| format!("{url}: no block hash in {v}"))?;
        let mut h = [0u8; 32];
        hex::decode_to_slice(hash, &mut h).map_err(|e| format!("{url}: {e}"))?;
        Ok(h)
    }
}

pub fn run(
    validators: usize,
    dir: &Path,
    base_port: u16,
    donations: u64,
    web: Option<PathBuf>,
) -> Result<(), String> {
    let web = web.or_else(|| {
        let d = PathBuf::from("explorer/web/dist");
        d.join("index.html").exists().then_some(d)
    });
    let web = web
        .map(|w| std::fs::canonicalize(&w).map_err(|e| format!("{}: {e}", w.display())))
        .transpose()?;
    if !dir.join("genesis.toml").exists() {
        testnet(validators, 0, dir, base_port, web.as_deref()).map_err(|e| e.to_string())?;
        println!(
            "wrote a {validators}-validator network to {}",
            dir.display()
        );
    }
    let config0 = std::fs::read_to_string(dir.join("node-0/config.toml")).unwrap_or_default();
    if !config0.contains("\nexplorer = ") {
        println!(
            "note: {} was written by an older version (no explorer in its configs); remove it to start afresh with the explorer",
            dir.display()
        );
    }
    let _children = spawn_nodes(dir, validators, "info")?;
    let genesis_text =
        std::fs::read_to_string(dir.join("genesis.toml")).map_err(|e| e.to_string())?;
    let genesis = Genesis::from_toml(&genesis_text).map_err(|e| e.to_string())?;
    let http: Vec<String> = (0..validators)
        .map(|i| format!("http://127.0.0.1:{}", base_port as usize + 100 + i))
        .collect();
    let explorer = format!("http://127.0.0.1:{}", base_port as usize + 200);
    let mut keys = vec![(
        Actor::OtherCharity,
        read_key(&dir.join("keys/charity-a.pem"))?,
    )];
    if validators >= 4 {
        for (i, a) in [
            Actor::Bureau,
            Actor::Charity,
            Actor::Lottery,
            Actor::Auditor,
        ]
        .into_iter()
        .enumerate()
        {
            keys.push((a, read_key(&dir.join(format!("node-{i}/member.pem")))?));
        }
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let client = reqwest::Client::new();
    runtime.block_on(async {
        for url in &http {
            for _ in 0..600 {
                if client.get(format!("{url}/health")).send().await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    println!(
        "nodes: {} (logs in {}/node-*.log); Ctrl-C stops the network",
        http.join(" "),
        dir.display()
    );
    let explorers: Vec<String> = (0..validators)
        .map(|i| format!("http://127.0.0.1:{}", base_port as usize + 200 + i))
        .collect();
    println!(
        "every node serves the explorer: {} (compare them: shanlian --genesis {}/genesis.toml audit compare {})",
        explorers.join(" "),
        dir.display(),
        explorers.join(" ")
    );
    match &web {
        Some(_) => println!("explorer: {explorer}/  (API {explorer}/api/v1/status, docs {explorer}/api/docs/)"),
        None => println!("explorer API: {explorer}/api/v1/status (the web page is not built: cd explorer/web && npm ci && npm run build)"),
    }
    let mut demo = Client {
        http: http.clone(),
        explorer: explorer.clone(),
        client: client.clone(),
        rt: runtime.handle().clone(),
        genesis_hash: genesis.hash(),
        keys,
        sent: Vec::new(),
        n: 0,
    };
    if validators >= 4 {
        if already_ran(&runtime, &client, &explorer) {
            print!("the demo year is already on this chain (a restarted network).");
        } else {
            println!("committing a demo year of the city's books (projects, donations, disbursements, a refund, a grant, a correction, lottery sales and allocations, a verifiable reward draw, an audit)…");
            let start = crate::app::now();
            // Projects run from a day ago for a year.
            shanlian_ledger::demo::run_year(
                &mut demo,
                Timestamp(start.0.saturating_sub(86_400_000)),
            )?;
            print!("done.");
        }
        // Printed on a restart too: the donor's own check needs the salt.
        let (receipt, identity, salt) = shanlian_ledger::demo::first_donor();
        println!(" A donor to look up on the explorer: receipt {receipt} of 深圳市慈善会, identity {identity}, salt {}", hex::encode(salt));
    }
    let key = read_key(&dir.join("keys/charity-a.pem"))?;
    let fund = FundRef::General(Address::of_key(&key.public()));
    runtime.block_on(async move {
        let mut n = 0u64;
        let stop = tokio::signal::ctrl_c();
        tokio::pin!(stop);
        loop {
            let now = crate::app::now();
            let record = sign(
                &key,
                &demo.genesis_hash,
                crate::demo::donation(
                    ReceiptNo(format!("DEMO-{}-{n}", now.0)),
                    fund.clone(),
                    10_000 + n,
                    n,
                ),
                n,
            );
            demo.post(&record).await?;
            let url = &demo.http[record.id.0[0] as usize % demo.http.len()];
            let ids = [record.id];
            tokio::select! {
                _ = &mut stop => {
                    println!("stopping the network");
                    return Ok(());
                }
                h = demo.wait_committed(&ids) => {
                    println!(
                        "donation {} of {} committed at height {} (via {url})",
                        n + 1,
                        Fen(10_000 + n),
                        h?
                    );
                }
            }
            n += 1;
            if donations > 0 && n >= donations {
                return Ok(());
            }
        }
    })
}

/// Whether the network already holds the demo year (a restarted localnet).
fn already_ran(rt: &tokio::runtime::Runtime, client: &reqwest::Client, explorer: &str) -> bool {
    rt.block_on(async {
        let url = format!(
            "{explorer}/api/v1/projects/{}",
            shanlian_ledger::demo::PROJECTS[0].0
        );
        for _ in 0..100 {
            match client.get(&url).send().await {
                Ok(r) => return r.status().is_success(),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        false
    })
}
