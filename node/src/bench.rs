//! `shanlian-node bench`: a local network of validators (one `run` process
//! each) on this machine, fed records signed in advance, measured from the
//! outside through the nodes' HTTP endpoints.
//!
//! 1. **Bound.** Before any node starts, the signature checks the network
//!    must do are timed on all cores: every validator checks every record
//!    once (at admission, in ZIP-215 batches), so `bound_records_per_s` =
//!    (signatures verified per second on this machine) / validators. The
//!    same with one-by-one verification is `single_bound_records_per_s`.
//! 2. **Throughput** (`--seconds`, ≥ 60 by default). Clients keep the
//!    nodes saturated (at most `--window` records submitted and not yet
//!    committed), batches round-robin to every node. Committed records are
//!    counted from node 0's blocks after a warm-up.
//! 3. **Latency** (`--latency-seconds`). Records are offered at a steady
//!    `--latency-load` (default 80%) of the measured throughput, or at
//!    `--latency-rate` records/s (to compare builds at one load); latency is from the client sending
//!    a record to node 0 reporting the block that holds it (polled every
//!    25 ms).
//!
//! Output: one JSON object per line.

use crate::config::testnet;
use shanlian_ledger::crypto::Keypair;
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::record::Record;
use shanlian_ledger::types::*;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// Length of the measured throughput phase.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Length of the paced latency phase.
    #[arg(long, default_value_t = 20)]
    pub latency_seconds: u64,
    /// The latency phase offers this fraction of the measured throughput
    /// (0 < load ≤ 1).
    #[arg(long, default_value_t = 0.8)]
    pub latency_load: f64,
    /// The latency phase offers this many records per second instead
    /// (overrides --latency-load): two builds compared at one load, not at
    /// a fraction of each one's own maximum.
    #[arg(long)]
    pub latency_rate: Option<f64>,
    /// Records signed in advance for the throughput phase (it ends early,
    /// and says so, if they run out).
    #[arg(long, default_value_t = 720_000)]
    pub records: usize,
    /// Most records submitted and not yet committed.
    #[arg(long, default_value_t = 40_000)]
    pub window: u64,
    #[arg(long, default_value_t = 28500)]
    pub base_port: u16,
    /// Where the network lives (default: a temporary folder).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Validators left stopped (the last ones): the network runs on the
    /// others (more than two thirds of the power must remain).
    #[arg(long, default_value_t = 0)]
    pub stopped: usize,
    /// Every node's `propose_timeout_ms` (default: the node's default).
    #[arg(long)]
    pub propose_timeout_ms: Option<u64>,
}

/// `n` donations to `key`'s general fund, signed on all cores.
fn presign(key: &Keypair, genesis: &Hash32, prefix: &str, n: usize) -> Vec<Record> {
    let fund = FundRef::General(Address::of_key(&key.public()));
    crate::demo::donations(key, genesis, &fund, prefix, n, |i| 100 + i % 10_000)
}

/// Process CPU time (user + system) in seconds, from /proc.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// What the commit tracker shares with the feeders.
#[derive(Default)]
struct Tracker {
    sent: Mutex<HashMap<RecordId, Instant>>,
    /// Latency samples (ms) with the time the record was committed.
    samples: Mutex<Vec<(Instant, f64)>>,
    committed: AtomicU64,
    submitted: AtomicU64,
    height: AtomicU64,
}

async fn post_batch(
    client: &reqwest::Client,
    url: &str,
    records: &[Record],
    tracker: &Tracker,
) -> Result<u64, String> {
    let frames: Vec<Vec<u8>> = records.iter().map(|r| r.bytes.clone()).collect();
    let body = crate::gossip::frame(&frames);
    {
        let now = Instant::now();
        let mut sent = tracker.sent.lock().map_err(|_| "lock")?;
        for r in records {
            sent.insert(r.id, now);
        }
    }
    let v: serde_json::Value = client
        .post(format!("{url}/v1/records/batch"))
        .body(body)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?
        .json()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let accepted = v["accepted"].as_u64().unwrap_or(0);
    if let Some(refused) = v["refused"].as_array() {
        if let Some(first) = refused.first() {
            tracing::warn!(n = refused.len(), first = %first, "bench: records refused");
        }
    }
    tracker.submitted.fetch_add(accepted, Ordering::Relaxed);
    Ok(accepted)
}

/// Second by second from `start`: how many of the measured records
/// committed in that second and the longest latency among them (ms), as
/// `[records, max_ms]` pairs — whether a paced phase kept up throughout or
/// fell behind at some point and never caught up.
fn per_second(start: Instant, samples: &[(Instant, f64)]) -> Vec<[u64; 2]> {
    let mut out: Vec<[u64; 2]> = Vec::new();
    for (at, ms) in samples {
        let sec = at.saturating_duration_since(start).as_secs() as usize;
        if out.len() <= sec {
            out.resize(sec + 1, [0, 0]);
        }
        out[sec][0] += 1;
        out[sec][1] = out[sec][1].max(ms.round() as u64);
    }
    out
}

/// Follows node 0's blocks: counts committed records and their latency.
async fn track(client: reqwest::Client, url: String, tracker: Arc<Tracker>) {
    let mut next = 1u64;
    loop {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let Ok(r) = client.get(format!("{url}/health")).send().await else {
            continue;
        };
        let Ok(v) = r.json::<serde_json::Value>().await else {
            continue;
        };
        let height = v["height"].as_u64().unwrap_or(0);
        while next <= height {
            let Ok(r) = client.get(format!("{url}/v1/blocks/{next}")).send().await else {
                break;
            };
            let Ok(b) = r.json::<serde_json::Value>().await else {
                break;
            };
            let now = Instant::now();
            let ids = b["records"].as_array().cloned().unwrap_or_default();
            let mut sent = match tracker.sent.lock() {
                Ok(s) => s,
                Err(_) => return,
            };
            let mut samples = Vec::new();
            for id in ids.iter().filter_map(|i| i.as_str()) {
                if let Some(t) = RecordId::from_hex(id).ok().and_then(|id| sent.remove(&id)) {
                    samples.push((now, now.duration_since(t).as_secs_f64() * 1000.0));
                }
            }
            drop(sent);
            tracker
                .committed
                .fetch_add(ids.len() as u64, Ordering::Relaxed);
            if let Ok(mut s) = tracker.samples.lock() {
                s.extend(samples);
            }
            tracker.height.store(next, Ordering::Relaxed);
            next += 1;
        }
    }
}

/// The folder a benchmark's network lives in: `dir`, or a temporary one
/// (removed when the returned guard is dropped).
pub(crate) fn network_dir(
    dir: &Option<PathBuf>,
) -> Result<(Option<tempfile::TempDir>, PathBuf), String> {
    match dir {
        Some(d) => Ok((None, d.clone())),
        None => {
            let tmp = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
            let path = tmp.path().to_path_buf();
            Ok((Some(tmp), path))
        }
    }
}

pub fn run(args: BenchArgs) -> Result<(), String> {
    let (_tmp, dir) = network_dir(&args.dir)?;
    if !dir.join("genesis.toml").exists() {
        testnet(args.validators, 0, &dir, args.base_port, None).map_err(|e| e.to_string())?;
    }
    // More than two thirds of the (equal) power must run.
    let running = args.validators.saturating_sub(args.stopped);
    if !(args.latency_load > 0.0 && args.latency_load <= 1.0) {
        return Err(format!(
            "--latency-load is a fraction of the measured throughput, more than 0 and at most 1, not {}",
            args.latency_load
        ));
    }
    if let Some(r) = args.latency_rate.filter(|r| !(r.is_finite() && *r >= 1.0)) {
        return Err(format!(
            "--latency-rate is records per second, at least 1, not {r}"
        ));
    }
    if 3 * running <= 2 * args.validators {
        return Err(format!(
            "--stopped {}: {running} of {} validators cannot commit (more than two thirds must run)",
            args.stopped, args.validators
        ));
    }
    if let Some(ms) = args.propose_timeout_ms {
        for i in 0..args.validators {
            let path = dir.join(format!("node-{i}/config.toml"));
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let kept: Vec<&str> = text
                .lines()
                .filter(|l| !l.starts_with("propose_timeout_ms"))
                .collect();
            std::fs::write(
                &path,
                format!("{}\npropose_timeout_ms = {ms}\n", kept.join("\n")),
            )
            .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    let genesis = Genesis::from_toml(
        &std::fs::read_to_string(dir.join("genesis.toml")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let gh = genesis.hash();
    let key = Keypair::from_pkcs8_pem(
        &std::fs::read_to_string(dir.join("keys/charity-a.pem")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;

    // Records signed before anything is measured.
    let t = Instant::now();
    let prefix = format!("BENCH-{}", crate::app::now().0);
    let records = presign(&key, &gh, &prefix, args.records);
    eprintln!(
        "signed {} records in {:.1} s",
        records.len(),
        t.elapsed().as_secs_f64()
    );

    // The bound: every validator checks every record's signature once, at
    // admission, in ZIP-215 batches (SPEC §4). The same signatures checked
    // one by one (the rule before batching, and the bound of earlier
    // reports) are printed beside it.
    let sample = &records[..records.len().min(40_000)];
    let t = Instant::now();
    let ok = shanlian_ledger::chain::verify_record_signatures(&gh, sample);
    let verify_per_s = sample.len() as f64 / t.elapsed().as_secs_f64();
    if ok.iter().any(|b| !b) {
        return Err("a pre-signed record does not verify".into());
    }
    let single_per_s = single_verify_rate(&gh, &sample[..sample.len().min(10_000)]);
    // Every running validator checks every record, all on this machine.
    let bound = verify_per_s / running as f64;
    let single_bound = single_per_s / running as f64;
    println!(
        "{}",
        serde_json::json!({"bench": "network_bound", "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), "batch_verify_per_s": verify_per_s.round(), "single_verify_per_s": single_per_s.round(), "validators": args.validators, "stopped": args.stopped, "bound_records_per_s": bound.round(), "single_bound_records_per_s": single_bound.round()})
    );

    // The nodes log warnings (SHANLIAN_BENCH_NODE_LOG: another filter, e.g.
    // "warn,fjall=info" to see the store's write stalls in --dir's logs).
    let node_log = std::env::var("SHANLIAN_BENCH_NODE_LOG").unwrap_or_else(|_| "warn".into());
    let children = crate::localnet::spawn_nodes(&dir, running, &node_log)?;
    let urls: Vec<String> = (0..running)
        .map(|i| format!("http://127.0.0.1:{}", args.base_port as usize + 100 + i))
        .collect();
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let result = runtime.block_on(async {
        let client = reqwest::Client::new();
        for url in &urls {
            let mut up = false;
            for _ in 0..600 {
                if client.get(format!("{url}/health")).send().await.is_ok() {
                    up = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if !up {
                return Err(format!("{url} did not come up (see {}/node-*.log)", dir.display()));
            }
        }
        let tracker = Arc::new(Tracker::default());
        tokio::spawn(track(client.clone(), urls[0].clone(), tracker.clone()));

        // Throughput: saturate within the window, round-robin batches.
        let records = Arc::new(records);
        let cursor = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        const BATCH: usize = 1000;
        let mut feeders = Vec::new();
        for url in urls.clone() {
            let (client, records, cursor, tracker, stop) = (
                client.clone(),
                records.clone(),
                cursor.clone(),
                tracker.clone(),
                stop.clone(),
            );
            let window = args.window;
            feeders.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let outstanding = tracker.submitted.load(Ordering::Relaxed)
                        .saturating_sub(tracker.committed.load(Ordering::Relaxed));
                    if outstanding > window {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                    let start = cursor.fetch_add(BATCH as u64, Ordering::Relaxed) as usize;
                    if start >= records.len() {
                        return;
                    }
                    let end = (start + BATCH).min(records.len());
                    if let Err(e) = post_batch(&client, &url, &records[start..end], &tracker).await {
                        tracing::warn!(error = %e, "bench: batch failed");
                    }
                }
            }));
        }
        // Warm-up, then the measured window.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let (c1, h1, t1) = (
            tracker.committed.load(Ordering::Relaxed),
            tracker.height.load(Ordering::Relaxed),
            Instant::now(),
        );
        let steps_url = format!("http://127.0.0.1:{}/metrics", args.base_port as usize + 150);
        let s1 = scrape_steps(&client, &steps_url).await;
        let cpu1: Vec<Option<f64>> = children.0.iter().map(|c| cpu_seconds(c.id())).collect();
        let me1 = cpu_seconds(std::process::id());
        let deadline = t1 + Duration::from_secs(args.seconds);
        let mut exhausted = false;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if cursor.load(Ordering::Relaxed) as usize >= records.len()
                && tracker.submitted.load(Ordering::Relaxed) <= tracker.committed.load(Ordering::Relaxed)
            {
                exhausted = true;
                break;
            }
        }
        let (c2, h2, t2) = (
            tracker.committed.load(Ordering::Relaxed),
            tracker.height.load(Ordering::Relaxed),
            Instant::now(),
        );
        let cpu2: Vec<Option<f64>> = children.0.iter().map(|c| cpu_seconds(c.id())).collect();
        let me2 = cpu_seconds(std::process::id());
        stop.store(true, Ordering::Relaxed);
        for f in feeders {
            let _ = f.await;
        }
        let secs = (t2 - t1).as_secs_f64();
        let rate = (c2 - c1) as f64 / secs;
        let saturated: Vec<f64> = {
            let s = tracker.samples.lock().map_err(|_| "lock")?;
            let mut v: Vec<f64> = s.iter().filter(|(at, _)| *at >= t1 && *at <= t2).map(|(_, l)| *l).collect();
            v.sort_by(|a, b| a.total_cmp(b));
            v
        };
        let node_cpu: Vec<f64> = cpu1
            .iter()
            .zip(&cpu2)
            .map(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => ((b - a) / secs * 100.0).round() / 100.0,
                _ => f64::NAN,
            })
            .collect();
        let client_cpu = match (me1, me2) {
            (Some(a), Some(b)) => ((b - a) / secs * 100.0).round() / 100.0,
            _ => f64::NAN,
        };
        println!(
            "{}",
            serde_json::json!({"bench": "network_throughput", "validators": args.validators, "stopped": args.stopped, "propose_timeout_ms": args.propose_timeout_ms, "seconds": secs.round(), "records": c2 - c1, "blocks": h2 - h1, "records_per_block": if h2 > h1 { ((c2 - c1) / (h2 - h1)) as f64 } else { 0.0 }, "records_per_s": rate.round(), "exhausted": exhausted, "commit_latency_ms_p50": percentile(&saturated, 0.5).round(), "commit_latency_ms_p99": percentile(&saturated, 0.99).round(), "node_cores_busy": node_cpu, "client_cores_busy": client_cpu})
        );
        let s2 = scrape_steps(&client, &steps_url).await;
        print_steps("throughput", &s1, &s2);

        // Latency at a steady `latency_load` of that rate (or at
        // `latency_rate`), on fresh records (signed while the network
        // idles, outside the measurement).
        let paced = args
            .latency_rate
            .unwrap_or((rate * args.latency_load).max(10.0));
        // The load offered, as a fraction of the measured throughput.
        let load = (paced / rate.max(1.0) * 100.0).round() / 100.0;
        let n = (paced * (args.latency_seconds as f64 + 2.0)) as usize;
        let fresh = tokio::task::spawn_blocking(move || presign(&key, &gh, &format!("{prefix}-L"), n))
            .await
            .map_err(|e| e.to_string())?;
        // Let the backlog of the saturated phase drain.
        for _ in 0..600 {
            if tracker.submitted.load(Ordering::Relaxed) <= tracker.committed.load(Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let s3 = scrape_steps(&client, &steps_url).await;
        let t3 = Instant::now();
        let tick = Duration::from_millis(100);
        let per_tick = ((paced * 0.1).ceil() as usize).max(1);
        let mut interval = tokio::time::interval(tick);
        let mut sent = 0usize;
        let mut k = 0usize;
        while sent < fresh.len() && t3.elapsed() < Duration::from_secs(args.latency_seconds) {
            interval.tick().await;
            let end = (sent + per_tick).min(fresh.len());
            let url = &urls[k % urls.len()];
            k += 1;
            if let Err(e) = post_batch(&client, url, &fresh[sent..end], &tracker).await {
                tracing::warn!(error = %e, "bench: batch failed");
            }
            sent = end;
        }
        let t4 = Instant::now();
        // Wait for what was sent to commit (up to 30 s).
        for _ in 0..300 {
            if tracker.submitted.load(Ordering::Relaxed) <= tracker.committed.load(Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (lat, timeline) = {
            let s = tracker.samples.lock().map_err(|_| "lock")?;
            let paced_samples: Vec<(Instant, f64)> =
                s.iter().filter(|(at, _)| *at >= t3).copied().collect();
            let mut v: Vec<f64> = paced_samples.iter().map(|(_, l)| *l).collect();
            v.sort_by(|a, b| a.total_cmp(b));
            (v, per_second(t3, &paced_samples))
        };
        println!(
            "{}",
            serde_json::json!({"bench": "network_latency", "load": load, "offered_records_per_s": paced.round(), "seconds": (t4 - t3).as_secs_f64().round(), "samples": lat.len(), "commit_latency_ms_p50": percentile(&lat, 0.5).round(), "commit_latency_ms_p99": percentile(&lat, 0.99).round(), "per_second": timeline})
        );
        print_steps("latency", &s3, &scrape_steps(&client, &steps_url).await);
        println!(
            "{}",
            serde_json::json!({"bench": "network", "validators": args.validators, "stopped": args.stopped, "propose_timeout_ms": args.propose_timeout_ms, "records_per_s": rate.round(), "commit_latency_ms_p50": percentile(&lat, 0.5).round(), "commit_latency_ms_p99": percentile(&lat, 0.99).round(), "bound_records_per_s": bound.round(), "ratio": ((rate / bound) * 100.0).round() / 100.0, "single_bound_records_per_s": single_bound.round(), "single_ratio": ((rate / single_bound) * 100.0).round() / 100.0, "latency_at_records_per_s": paced.round(), "latency_load": load})
        );
        Ok(())
    });
    drop(children);
    result
}

/// Signatures per second checked one by one on all cores.
fn single_verify_rate(gh: &Hash32, records: &[Record]) -> f64 {
    use rayon::prelude::*;
    use shanlian_ledger::crypto::Verifier;
    let mut keys: HashMap<PublicKey, Option<Verifier>> = HashMap::new();
    for r in records {
        keys.entry(r.signed.signer)
            .or_insert_with(|| Verifier::parse(&r.signed.signer).ok());
    }
    let t = Instant::now();
    let ok = records.par_iter().all(|r| {
        keys[&r.signed.signer].as_ref().is_some_and(|v| {
            v.verify_message(&r.signing_message(gh), &r.signed.signature)
                .is_ok()
        })
    });
    let rate = records.len() as f64 / t.elapsed().as_secs_f64();
    assert!(ok, "a pre-signed record does not verify one by one");
    rate
}

/// Node 0's `shanlian_step_seconds` sums and counts, by step.
async fn scrape_steps(
    client: &reqwest::Client,
    url: &str,
) -> std::collections::BTreeMap<String, (f64, f64)> {
    match async { client.get(url).send().await?.text().await }.await {
        Ok(text) => parse_steps(&text),
        Err(_) => Default::default(),
    }
}

/// `shanlian_step_seconds` sums and counts, by step, from the text
/// exposition format.
fn parse_steps(text: &str) -> std::collections::BTreeMap<String, (f64, f64)> {
    let mut out = std::collections::BTreeMap::new();
    for line in text.lines() {
        let (kind, rest) = if let Some(r) = line.strip_prefix("shanlian_step_seconds_sum{") {
            (0, r)
        } else if let Some(r) = line.strip_prefix("shanlian_step_seconds_count{") {
            (1, r)
        } else {
            continue;
        };
        let Some(step) = rest
            .split("step=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
        else {
            continue;
        };
        let Some(v) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        let e = out.entry(step.to_string()).or_insert((0.0, 0.0));
        if kind == 0 {
            e.0 = v;
        } else {
            e.1 = v;
        }
    }
    out
}

/// One JSON line: node 0's mean milliseconds and count per step of a
/// height between two scrapes.
fn print_steps(
    phase: &str,
    before: &std::collections::BTreeMap<String, (f64, f64)>,
    after: &std::collections::BTreeMap<String, (f64, f64)>,
) {
    let mut mean = serde_json::Map::new();
    let mut count = serde_json::Map::new();
    for (step, (sum, n)) in after {
        let (s0, n0) = before.get(step).copied().unwrap_or((0.0, 0.0));
        if n - n0 > 0.0 {
            // Milliseconds, to a tenth.
            let ms = ((sum - s0) / (n - n0) * 1e4).round() / 10.0;
            mean.insert(step.clone(), ms.into());
            count.insert(step.clone(), (n - n0).into());
        }
    }
    println!(
        "{}",
        serde_json::json!({"bench": "network_steps", "phase": phase, "node": 0, "mean_ms": mean, "count": count})
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn per_second_counts_records_and_keeps_the_worst_latency() {
        let t = std::time::Instant::now();
        let at = |ms: u64| t + std::time::Duration::from_millis(ms);
        let samples = [(at(100), 250.4), (at(900), 80.0), (at(2_500), 1_200.0)];
        // Second 1 committed nothing: it is there, as [0, 0].
        assert_eq!(
            super::per_second(t, &samples),
            vec![[2, 250], [0, 0], [1, 1_200]]
        );
        assert!(super::per_second(t, &[]).is_empty());
    }

    #[test]
    fn step_sums_and_counts_are_read_from_the_exposition() {
        let text = "# HELP shanlian_step_seconds Seconds per step\n\
            shanlian_step_seconds_sum{moniker=\"node-0\",step=\"commit\"} 1.5\n\
            shanlian_step_seconds_count{moniker=\"node-0\",step=\"commit\"} 3\n\
            shanlian_step_seconds_bucket{moniker=\"node-0\",step=\"commit\",le=\"0.5\"} 1\n\
            shanlian_step_seconds_sum{step=\"check\",moniker=\"node-0\"} 0.25\n\
            shanlian_height{moniker=\"node-0\"} 7\n";
        let steps = super::parse_steps(text);
        assert_eq!(steps.len(), 2);
        assert_eq!(steps["commit"], (1.5, 3.0));
        assert_eq!(steps["check"], (0.25, 0.0));
    }
}
