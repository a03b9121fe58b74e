//! A local network of real `shanlian-node` processes, made by `testnet`
//! in a temporary folder, with helpers to submit records, follow heights,
//! kill and restart nodes, and check stores once the nodes are stopped.
//! One network runs at a time (two cores do not run two well).

use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::record::{Payload, Record, RecordBody, SignedRecord};
use shanlian_ledger::store::Store;
use shanlian_ledger::types::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_shanlian-node-e2e");

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Holds the machine for one network test (as `Net::new` does).
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

/// A base port with consensus, gossip, HTTP, metrics and explorer ports
/// free for `n` nodes (`base + i`, `+ 50`, `+ 100`, `+ 150`, `+ 200`).
pub fn free_base(n: u16) -> u16 {
    let seed = (std::process::id() as u16).wrapping_add(now_ms() as u16);
    for k in 0..500u16 {
        let base = 20_000 + (seed.wrapping_mul(7).wrapping_add(k.wrapping_mul(211))) % 40_000;
        let free = (0..n).all(|i| {
            [0, 50, 100, 150, 200]
                .iter()
                .all(|o| std::net::TcpListener::bind(("127.0.0.1", base + o + i)).is_ok())
        });
        if free {
            return base;
        }
    }
    panic!("no free ports");
}

pub struct Net {
    pub dir: tempfile::TempDir,
    pub base: u16,
    pub nodes: usize,
    children: Vec<Option<Child>>,
    pub genesis: Genesis,
    pub client: reqwest::Client,
    _one: MutexGuard<'static, ()>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for c in self.children.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Net {
    /// `validators` validators and `observers` members' nodes without
    /// power, written by `shanlian-node testnet`; nothing started yet.
    pub fn new(validators: usize, observers: usize) -> Net {
        let one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().expect("temporary folder");
        let nodes = validators + observers;
        let base = free_base(nodes as u16);
        let out = Command::new(BIN)
            .args([
                "testnet",
                "--validators",
                &validators.to_string(),
                "--observers",
                &observers.to_string(),
                "--base-port",
                &base.to_string(),
                "--out",
            ])
            .arg(dir.path())
            .output()
            .expect("run testnet");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let genesis =
            Genesis::from_toml(&std::fs::read_to_string(dir.path().join("genesis.toml")).unwrap())
                .unwrap();
        Net {
            dir,
            base,
            nodes,
            children: (0..nodes).map(|_| None).collect(),
            genesis,
            client: reqwest::Client::new(),
            _one: one,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn http(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.base as usize + 100 + i)
    }

    /// Node `i`'s explorer (API and web page).
    pub fn explorer(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.base as usize + 200 + i)
    }

    pub fn metrics_url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}/metrics", self.base as usize + 150 + i)
    }

    pub fn log_path(&self, i: usize) -> PathBuf {
        self.path().join(format!("node-{i}.log"))
    }

    /// Everything node `i` logged so far (across restarts).
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.log_path(i)).unwrap_or_default()
    }

    /// Starts node `i` (`run --config node-i/config.toml`, plus `extra`).
    pub fn start(&mut self, i: usize, extra: &[&str]) {
        assert!(self.children[i].is_none(), "node {i} is running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(i))
            .unwrap();
        let child = Command::new(BIN)
            .args(["run", "--config"])
            .arg(self.path().join(format!("node-{i}/config.toml")))
            .args(extra)
            .env("RUST_LOG", "warn,shanlian_node=info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start a node");
        self.children[i] = Some(child);
    }

    /// Waits until node `i` answers on HTTP.
    pub async fn wait_up(&self, i: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self
            .client
            .get(format!("{}/health", self.http(i)))
            .send()
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "node {i} did not start:\n{}",
                self.log(i)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn start_all(&mut self, nodes: std::ops::Range<usize>) {
        for i in nodes.clone() {
            self.start(i, &[]);
        }
        for i in nodes {
            self.wait_up(i).await;
        }
    }

    /// The process id of running node `i`.
    pub fn pid(&self, i: usize) -> u32 {
        self.children[i].as_ref().expect("node running").id()
    }

    /// SIGKILL: no chance to flush or say goodbye.
    pub fn kill(&mut self, i: usize) {
        let mut c = self.children[i].take().expect("node running");
        c.kill().unwrap();
        c.wait().unwrap();
    }

    /// SIGTERM, then the exit status (within 30 s).
    pub fn stop(&mut self, i: usize) -> ExitStatus {
        let c = self.children[i].take().expect("node running");
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        exit_within(c, 30, &format!("node {i} did not stop on SIGTERM"))
    }

    /// Waits for node `i` to exit on its own (within `secs`): a node that
    /// must refuse to start.
    pub fn wait_exit(&mut self, i: usize, secs: u64) -> ExitStatus {
        let c = self.children[i].take().expect("node started");
        exit_within(
            c,
            secs,
            &format!("node {i} is still running after {secs} s"),
        )
    }

    /// Stops every running node with SIGTERM; each must exit cleanly.
    pub fn stop_all(&mut self) {
        for i in 0..self.nodes {
            if self.children[i].is_some() {
                let status = self.stop(i);
                assert!(
                    status.success(),
                    "node {i} exited with {status}:\n{}",
                    self.log(i)
                );
            }
        }
    }

    pub fn key(&self, file: &str) -> Keypair {
        Keypair::from_pkcs8_pem(&std::fs::read_to_string(self.path().join(file)).unwrap()).unwrap()
    }

    /// The member key of node `i`.
    pub fn member_key(&self, i: usize) -> Keypair {
        self.key(&format!("node-{i}/member.pem"))
    }

    pub fn sign(&self, key: &Keypair, nonce: u64, payload: Payload) -> Record {
        let now = now_ms();
        let body = RecordBody {
            created: Timestamp(now),
            expires: Timestamp(now + 1_800_000),
            nonce,
            payload,
        };
        Record::new(SignedRecord::sign(body, key, &self.genesis.hash()))
    }

    /// `n` donations to charity-a's general fund.
    pub fn donations(&self, prefix: &str, n: usize) -> Vec<Record> {
        let key = self.key("keys/charity-a.pem");
        let fund = FundRef::General(Address::of_key(&key.public()));
        shanlian_node::demo::donations(&key, &self.genesis.hash(), &fund, prefix, n, |i| 100 + i)
    }

    /// Submits records to node `i` in one batch request; every one must be
    /// accepted.
    pub async fn submit(&self, i: usize, records: &[Record]) {
        let v = self.submit_batch(i, records).await;
        assert_eq!(
            v["accepted"].as_u64(),
            Some(records.len() as u64),
            "node {i} refused records: {v}"
        );
    }

    /// Submits records to node `i` in one batch request and returns its
    /// answer, `{"accepted", "refused": [{"index", "code", "message"}]}`.
    pub async fn submit_batch(&self, i: usize, records: &[Record]) -> serde_json::Value {
        let resp = self
            .client
            .post(format!("{}/v1/records/batch", self.http(i)))
            .body(batch_body(records))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    /// Checks that `store` holds each of `records` exactly once and
    /// nothing else.
    pub fn assert_exactly_once(store: &Store, records: &[Record]) {
        let ids = committed_ids(store);
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(ids.len(), records.len(), "each record exactly once");
        assert_eq!(unique.len(), records.len());
        for r in records {
            assert!(unique.contains(&r.id), "record {} not committed", r.id);
        }
    }

    /// Node `i`'s committed height (0 if it does not answer).
    pub async fn height(&self, i: usize) -> u64 {
        let Ok(r) = self
            .client
            .get(format!("{}/health", self.http(i)))
            .send()
            .await
        else {
            return 0;
        };
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        v["height"].as_u64().unwrap_or(0)
    }

    pub async fn health(&self, i: usize) -> serde_json::Value {
        self.get_json(&format!("{}/health", self.http(i))).await
    }

    /// Waits until node `i` has committed height `h`.
    pub async fn wait_height(&self, i: usize, h: u64, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let now = self.height(i).await;
            if now >= h {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {i} stuck at height {now}, waiting for {h}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// GET `url` as JSON (whatever the status).
    pub async fn get_json(&self, url: &str) -> serde_json::Value {
        self.client
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The value of metric `name` (a line `name{labels} value`) on node
    /// `i`'s metrics port.
    pub async fn metric(&self, i: usize, name: &str) -> f64 {
        let text = self
            .client
            .get(self.metrics_url(i))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|x| x.parse().ok())
            .unwrap_or_else(|| panic!("no {name} on node {i}'s metrics:\n{text}"))
    }

    /// Record ids of committed block `h` on node `i`.
    pub async fn block_ids(&self, i: usize, h: u64) -> Vec<String> {
        let v = self
            .get_json(&format!("{}/v1/blocks/{h}", self.http(i)))
            .await;
        v["records"]
            .as_array()
            .unwrap_or_else(|| panic!("block {h}: {v}"))
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    }

    /// Waits until every record of `records` is committed on node `i`
    /// (read block by block from height 1).
    pub async fn wait_committed(&self, i: usize, records: &[Record], secs: u64) {
        let mut want: std::collections::HashSet<String> =
            records.iter().map(|r| r.id.to_hex()).collect();
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut next = 1;
        while !want.is_empty() {
            let h = self.height(i).await;
            while next <= h {
                for id in self.block_ids(i, next).await {
                    want.remove(&id);
                }
                next += 1;
            }
            if want.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node {i}: {} records not committed by height {h}",
                want.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Node `i`'s store (the node must be stopped).
    pub fn store(&self, i: usize) -> Store {
        Store::open(&self.path().join(format!("node-{i}/data/store"))).unwrap()
    }

    /// With every node stopped: identical headers at every common height,
    /// and every store passes the ledger verifier. Returns the stores.
    pub fn check_stores(&self, nodes: &[usize]) -> Vec<Store> {
        let stores: Vec<Store> = nodes.iter().map(|i| self.store(*i)).collect();
        let tips: Vec<u64> = stores
            .iter()
            .map(|s| s.tip().unwrap().map(|t| t.height).unwrap_or(0))
            .collect();
        let common = *tips.iter().min().unwrap();
        for h in 1..=common {
            let first = stores[0].header(h).unwrap();
            for (k, s) in stores.iter().enumerate().skip(1) {
                assert_eq!(
                    s.header(h).unwrap(),
                    first,
                    "node {} differs at height {h}",
                    nodes[k]
                );
            }
        }
        for (k, s) in stores.iter().enumerate() {
            shanlian_ledger::verify::verify_store(s, Some(&self.genesis), |_| {})
                .unwrap_or_else(|e| panic!("node {} store: {e}", nodes[k]));
        }
        stores
    }
}

/// Every record id in a store's blocks, in order.
pub fn committed_ids(store: &Store) -> Vec<RecordId> {
    let tip = store.tip().unwrap().map(|t| t.height).unwrap_or(0);
    (1..=tip)
        .flat_map(|h| {
            store
                .block(h)
                .unwrap()
                .unwrap()
                .records
                .into_iter()
                .map(|b| RecordId::of_bytes(&b))
        })
        .collect()
}

/// A `POST /v1/records/batch` body (the node's framing: `u32` LE length,
/// then the bytes, for each record).
pub fn batch_body(records: &[Record]) -> Vec<u8> {
    let bytes: Vec<Vec<u8>> = records.iter().map(|r| r.bytes.clone()).collect();
    shanlian_node::gossip::frame(&bytes)
}

/// Submits `records` round-robin in batches of `batch` to `nodes`.
pub async fn round_robin(net: &Net, nodes: &[usize], records: &[Record], batch: usize) {
    for (k, chunk) in records.chunks(batch).enumerate() {
        net.submit(nodes[k % nodes.len()], chunk).await;
    }
}

/// The exit status of `c` within `secs`; kills it and panics with `why`
/// after that.
fn exit_within(mut c: std::process::Child, secs: u64, why: &str) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = c.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = c.kill();
            panic!("{why}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
