//! Explorer benchmark: a store of N records (default 1,000,000; set
//! SHANLIAN_BENCH_RECORDS), served over loopback HTTP by the explorer as a
//! node serves it (all its layers, no rate limit), loaded by concurrent
//! clients looking up random receipts with their receipt bundles
//! (`GET /api/v1/receipts/{charity}/{receipt}`). The baseline is the same
//! server answering a constant JSON response, in the same run, with the same
//! load generator: the HTTP ceiling of this machine (server and load
//! generator share its cores).
//!
//! `cargo bench -p shanlian-explorer --bench explorer`
//! (SHANLIAN_BENCH_STORE=sled: on sled instead of fjall, to compare)
//! Prints one JSON line:
//! `{"bench":"explorer","records":…,"requests_per_s":…,"latency_ms_p50":…,
//!   "latency_ms_p99":…,"baseline_requests_per_s":…,"ratio":…}`

use shanlian_explorer::{Explorer, Settings};
use shanlian_ledger::record::{Payload, Record};
use shanlian_ledger::store::Store;
use shanlian_ledger::testkit::{payloads as p, DevNet};
use shanlian_ledger::types::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BLOCK: usize = 5_000;
const CHARITIES: [&str; 3] = ["charity-federation", "red-cross", "one-foundation"];

/// Commits `n` records: donations into three charities' general funds and
/// a project each, with a disbursement every 20 records. Returns (charity,
/// receipt) of every donation.
fn fill(net: &mut DevNet, n: usize) -> Vec<(Address, String)> {
    let start = net.clock;
    let end = Timestamp(start.0 + 365 * 86_400_000);
    let regs: Vec<Record> = CHARITIES
        .iter()
        .enumerate()
        .map(|(c, l)| net.sign(l, p::project(&format!("BENCH-{c}"), start, end)))
        .collect();
    net.commit_all(&regs).expect("projects");
    let mut receipts = Vec::with_capacity(n);
    let mut done = 0;
    let t = Instant::now();
    while done < n {
        let per = (n - done).min(BLOCK);
        let mut records = Vec::with_capacity(per);
        for (c, label) in CHARITIES.iter().enumerate() {
            let fund = if c % 2 == 0 {
                FundRef::General(net.address(label))
            } else {
                FundRef::Project(ProjectId(format!("BENCH-{c}")))
            };
            let k = per / CHARITIES.len() + usize::from(c < per % CHARITIES.len());
            let donations = net.sign_donations(label, &fund, k * 19 / 20, |i| {
                5_000 + (i as u64 * 7) % 20_000
            });
            for r in &donations {
                if let Payload::RecordDonation(d) = &r.signed.body.payload {
                    receipts.push((net.address(label), d.receipt.0.clone()));
                }
            }
            records.extend(donations);
            for _ in 0..(k - k * 19 / 20) {
                records.push(net.sign(label, p::disbursement(fund.clone(), 1_000)));
            }
        }
        let ok = vec![true; records.len()];
        net.commit_with(&records, &ok).expect("commit");
        done += records.len();
    }
    net.store.flush().expect("flush");
    eprintln!(
        "committed {done} records in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    receipts
}

/// Runs `clients` concurrent clients for `secs` seconds against `path(i)`;
/// returns requests per second and sorted latencies.
async fn load(
    base: &str,
    clients: usize,
    secs: f64,
    path: Arc<dyn Fn(u64) -> String + Send + Sync>,
) -> (f64, Vec<Duration>) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let http = http.clone();
        let base = base.to_string();
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = c as u64 * 7_919;
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = http
                    .get(format!("{base}{}", path(i)))
                    .send()
                    .await
                    .expect("request");
                assert!(r.status().is_success(), "{}", r.status());
                let _ = r.bytes().await.expect("body");
                lat.push(t.elapsed());
                i = i
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
            }
            lat
        }));
    }
    let t = Instant::now();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("client"));
    }
    let rate = all.len() as f64 / t.elapsed().as_secs_f64();
    all.sort();
    (rate, all)
}

fn pct(l: &[Duration], p: f64) -> f64 {
    let i = ((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1));
    l.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn main() {
    let n: usize = std::env::var("SHANLIAN_BENCH_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let clients: usize = std::env::var("SHANLIAN_BENCH_CLIENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let secs = 10.0;
    let dir = tempfile::tempdir().expect("tempdir");
    // SHANLIAN_BENCH_STORE=sled: the engine of stores from before fjall.
    let store = match std::env::var("SHANLIAN_BENCH_STORE").as_deref() {
        Ok("sled") => Store::open_sled(dir.path()),
        _ => Store::open(dir.path()),
    };
    let mut net = DevNet::on(store.expect("store")).expect("devnet");
    let receipts = Arc::new(fill(&mut net, n));
    let records = net.state.log.size();
    let explorer = Explorer::new(
        Arc::new(net.store.clone()),
        None,
        net.genesis.clone(),
        Settings {
            rate_per_second: 0,
            max_in_flight: 4_096,
            ..Settings::default()
        },
    );
    let constant = serde_json::json!({"id": "0".repeat(64), "status": "constant"});
    let app = explorer.router().route(
        "/bench/constant",
        axum::routing::get(move || {
            let c = constant.clone();
            async move { axum::Json(c) }
        }),
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        let r = receipts.clone();
        let lookup: Arc<dyn Fn(u64) -> String + Send + Sync> = Arc::new(move |i| {
            let (c, receipt) = &r[(i % r.len() as u64) as usize];
            format!("/api/v1/receipts/{}/{receipt}", c.to_hex())
        });
        let constant: Arc<dyn Fn(u64) -> String + Send + Sync> =
            Arc::new(|_| "/bench/constant".to_string());
        // Warm up both, then measure each.
        load(&base, clients, 2.0, lookup.clone()).await;
        load(&base, clients, 1.0, constant.clone()).await;
        let (b, _) = load(&base, clients, secs, constant).await;
        let (rate, lat) = load(&base, clients, secs, lookup).await;
        println!(
            "{{\"bench\":\"explorer\",\"records\":{records},\"clients\":{clients},\"requests_per_s\":{rate:.0},\"latency_ms_p50\":{:.2},\"latency_ms_p99\":{:.2},\"baseline_requests_per_s\":{b:.0},\"ratio\":{:.2}}}",
            pct(&lat, 0.50),
            pct(&lat, 0.99),
            rate / b
        );
    });
}
