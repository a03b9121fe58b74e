//! `shanlian-node catchup-bench`: how fast a member's node that starts
//! empty catches up with the validators, against the single-node replay
//! rate measured in the same run (issue 11: ≤ 60 s for 1,000,000 records,
//! or ≥ 0.7 of the replay rate).
//!
//! A chain of `--records` donations is built once, off the network, as the
//! validators would have committed it: full blocks, each certified by the
//! validators' own keys (the same ledger `propose` and `commit` the node
//! runs). Every validator starts on a copy of that store; then the observer
//! (a member's node, no power) starts empty and syncs through the engine's
//! value sync, checking every block (certificate, every record's signature
//! and rules, state hash) as any syncing node does. The replay rate is the
//! operator's verifier (`verify_store`, shallow) on one validator's store.

use crate::config::testnet;
use crate::localnet::read_key;
use shanlian_ledger::block::CommitCertificate;
use shanlian_ledger::chain;
use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::store::Store;
use shanlian_ledger::types::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct CatchupArgs {
    /// Records in the chain the new node syncs.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: usize,
    /// Records per block.
    #[arg(long, default_value_t = 5_000)]
    pub block_records: usize,
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    #[arg(long, default_value_t = 28700)]
    pub base_port: u16,
    /// Where the network lives (default: a temporary folder).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Give up after this many seconds of syncing.
    #[arg(long, default_value_t = 1_200)]
    pub timeout_seconds: u64,
}

/// Builds the certified chain into `store`; returns (blocks, records).
fn build_chain(
    dir: &Path,
    genesis: &Genesis,
    validators: usize,
    records: usize,
    per_block: usize,
) -> Result<(u64, u64), String> {
    let store = Store::open(&dir.join("node-0/data/store")).map_err(|e| e.to_string())?;
    let mut state = store.open_state(genesis).map_err(|e| e.to_string())?;
    let keys: Vec<Keypair> = (0..validators)
        .map(|i| read_key(&dir.join(format!("node-{i}/member.pem"))))
        .collect::<Result<_, _>>()?;
    let signers: Vec<&Keypair> = keys.iter().collect();
    let proposer = Address::of_key(&keys[0].public());
    let charity = read_key(&dir.join("keys/charity-a.pem"))?;
    let gh = genesis.hash();
    let t = Instant::now();
    let prefix = format!("CATCHUP-{}", crate::app::now().0);
    let fund = FundRef::General(Address::of_key(&charity.public()));
    let all = crate::demo::donations(&charity, &gh, &fund, &prefix, records, |i| 100 + i % 10_000);
    eprintln!(
        "signed {records} records in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let mut blocks = 0u64;
    let mut time = state.time;
    for chunk in all.chunks(per_block.max(1)) {
        time = Timestamp(crate::app::now().0.max(time.0 + 1));
        let verified = vec![true; chunk.len()];
        let (block, tr, refused) =
            chain::propose(&mut state, time, proposer, chunk, &verified, &store)
                .map_err(|e| format!("building block {}: {e:?}", state.height + 1))?;
        if let Some((id, why)) = refused.first() {
            return Err(format!("record {id} refused while building: {why}"));
        }
        let cert = CommitCertificate::sign_with(
            &gh,
            block.header.height,
            0,
            block.header.hash(),
            &signers,
        );
        chain::commit(&mut state, &store, &block, &cert, &tr).map_err(|e| e.to_string())?;
        blocks += 1;
    }
    store.flush().map_err(|e| e.to_string())?;
    eprintln!(
        "built {blocks} blocks of {records} records in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok((blocks, records as u64))
}

/// The committed height of the node at `url`, if it answers.
async fn height(client: &reqwest::Client, url: &str) -> Option<u64> {
    let v: serde_json::Value = client
        .get(format!("{url}/health"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    v["height"].as_u64()
}

pub fn run(args: CatchupArgs) -> Result<(), String> {
    let (_tmp, dir) = crate::bench::network_dir(&args.dir)?;
    if dir.join("genesis.toml").exists() {
        return Err(format!(
            "{}: already holds a network; give an empty folder",
            dir.display()
        ));
    }
    // The validators and one member's node without power.
    testnet(args.validators, 1, &dir, args.base_port, None).map_err(|e| e.to_string())?;
    let genesis = Genesis::from_toml(
        &std::fs::read_to_string(dir.join("genesis.toml")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let (blocks, records) = build_chain(
        &dir,
        &genesis,
        args.validators,
        args.records,
        args.block_records,
    )?;
    for i in 1..args.validators {
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(dir.join("node-0/data"))
            .arg(dir.join(format!("node-{i}/data")))
            .status()
            .map_err(|e| format!("cp: {e}"))?;
        if !status.success() {
            return Err("copying the store failed".into());
        }
    }
    // The replay rate, on the same machine in the same run.
    let replay = {
        let store = Store::open(&dir.join("node-1/data/store")).map_err(|e| e.to_string())?;
        let t = Instant::now();
        let opts = shanlian_ledger::verify::VerifyOptions {
            deep: false,
            single_only: false,
        };
        let r = shanlian_ledger::verify::verify_store_with(&store, Some(&genesis), opts, |_| {})
            .map_err(|e| format!("replay: {e}"))?;
        r.records as f64 / t.elapsed().as_secs_f64()
    };
    eprintln!("replay: {replay:.0} records/s");

    let observer = args.validators;
    let url = |i: usize| format!("http://127.0.0.1:{}", args.base_port as usize + 100 + i);
    let _validators = crate::localnet::spawn_nodes(&dir, args.validators, "warn")?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = reqwest::Client::new();
        for i in 0..args.validators {
            let mut up = false;
            for _ in 0..600 {
                if height(&client, &url(i)).await.is_some_and(|h| h >= blocks) {
                    up = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if !up {
                return Err(format!("validator {i} did not come up at height {blocks} (see {}/node-{i}.log)", dir.display()));
            }
        }
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
        let log = std::fs::File::create(dir.join(format!("node-{observer}.log")))
            .map_err(|e| format!("log file: {e}"))?;
        let started = Instant::now();
        let child = std::process::Command::new(exe)
            .args(["run", "--config"])
            .arg(dir.join(format!("node-{observer}/config.toml")))
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start the new node: {e}"))?;
        let _observer = crate::localnet::Children(vec![child]);
        let deadline = started + Duration::from_secs(args.timeout_seconds);
        let mut last_print = Instant::now();
        loop {
            let h = height(&client, &url(observer)).await.unwrap_or(0);
            if h >= blocks {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("the new node reached height {h} of {blocks} in {} s", args.timeout_seconds));
            }
            if last_print.elapsed() >= Duration::from_secs(10) {
                last_print = Instant::now();
                eprintln!("  new node at height {h} of {blocks} after {:.0} s", started.elapsed().as_secs_f64());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let secs = started.elapsed().as_secs_f64();
        let rate = records as f64 / secs;
        println!(
            "{}",
            serde_json::json!({
                "bench": "catchup", "validators": args.validators, "records": records, "blocks": blocks,
                "seconds": (secs * 10.0).round() / 10.0, "records_per_s": rate.round(),
                "replay_records_per_s": replay.round(), "ratio_to_replay": ((rate / replay) * 100.0).round() / 100.0,
                "target": "<= 60 s for 1M records, or >= 0.7 of replay",
            })
        );
        Ok(())
    })
}
