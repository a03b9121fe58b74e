//! `shanlian-node localnet`: a whole network on loopback, for the demo and
//! for trying things by hand. One `shanlian-node run` child process per
//! validator; a demo client signs donations as `charity-a` and submits them
//! to the nodes in turn, reporting each commit.

use crate::config::testnet;
use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::record::{Record, RecordBody, SignedRecord};
use shanlian_ledger::types::*;
use std::path::Path;
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

pub fn run(validators: usize, dir: &Path, base_port: u16, donations: u64) -> Result<(), String> {
    if !dir.join("genesis.toml").exists() {
        testnet(validators, 0, dir, base_port).map_err(|e| e.to_string())?;
        println!(
            "wrote a {validators}-validator network to {}",
            dir.display()
        );
    }
    let _children = spawn_nodes(dir, validators, "info")?;
    let genesis_text =
        std::fs::read_to_string(dir.join("genesis.toml")).map_err(|e| e.to_string())?;
    let genesis = Genesis::from_toml(&genesis_text).map_err(|e| e.to_string())?;
    let key_pem =
        std::fs::read_to_string(dir.join("keys/charity-a.pem")).map_err(|e| e.to_string())?;
    let key = Keypair::from_pkcs8_pem(&key_pem).map_err(|e| e.to_string())?;
    let http: Vec<String> = (0..validators)
        .map(|i| format!("http://127.0.0.1:{}", base_port as usize + 100 + i))
        .collect();
    println!(
        "nodes: {} (logs in {}/node-*.log); Ctrl-C stops the network",
        http.join(" "),
        dir.display()
    );

    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let client = reqwest::Client::new();
        for url in &http {
            for _ in 0..600 {
                if client.get(format!("{url}/health")).send().await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let gh = genesis.hash();
        let fund = FundRef::General(Address::of_key(&key.public()));
        let mut n = 0u64;
        let stop = tokio::signal::ctrl_c();
        tokio::pin!(stop);
        loop {
            let now = crate::app::now();
            let body = RecordBody {
                created: now,
                expires: Timestamp(now.0 + 600_000),
                nonce: now.0 ^ n,
                payload: crate::demo::donation(
                    ReceiptNo(format!("DEMO-{}-{n}", now.0)),
                    fund.clone(),
                    10_000 + n,
                    n,
                ),
            };
            let record = Record::new(SignedRecord::sign(body, &key, &gh));
            let url = &http[n as usize % http.len()];
            let sent = client
                .post(format!("{url}/v1/records"))
                .body(record.bytes.clone())
                .send()
                .await;
            if let Err(e) = sent {
                return Err(format!("submitting to {url}: {e}"));
            }
            // Wait for the commit, or for Ctrl-C.
            loop {
                tokio::select! {
                    _ = &mut stop => {
                        println!("stopping the network");
                        return Ok(());
                    }
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
                let v: serde_json::Value = match client
                    .get(format!("{url}/v1/records/{}", record.id.to_hex()))
                    .send()
                    .await
                {
                    Ok(r) => r.json().await.unwrap_or_default(),
                    Err(_) => continue,
                };
                if v["status"] == "committed" {
                    println!(
                        "donation {} of {} committed at height {} (via {url})",
                        n + 1,
                        Fen(10_000 + n),
                        v["height"]
                    );
                    break;
                }
                if v["status"] == "refused" {
                    println!("donation {} refused: {}", n + 1, v["message"]);
                    break;
                }
            }
            n += 1;
            if donations > 0 && n >= donations {
                return Ok(());
            }
        }
    })
}
