//! Ledger benchmarks. Prints one JSON object per line on stdout.
//!
//! `cargo bench -p shanlian-ledger --bench ledger`
//! (SHANLIAN_BENCH_RECORDS overrides the replay size, default 1,000,000;
//! SHANLIAN_BENCH_SKIP_APPLY=1 runs only the replay and trace benches;
//! SHANLIAN_BENCH_ROUNDS the number of bound-then-replay rounds, default 3.)
//!
//! * `apply`: validate + apply + atomic store commit on one node, for blocks
//!   of 2,000 records of a realistic mix, with every signature checked
//!   strictly (in parallel) as part of the block — the path of a block whose
//!   records the node has not seen. `apply_preverified` is the same with
//!   signatures already checked at pool admission (the proposer's path).
//!   `fjall_keys_per_s` is the store engine's raw random-key insert rate in
//!   this run (fjall, the engine of new stores), the store's ceiling;
//!   `sled_keys_per_s` the same for sled (stores created before fjall).
//! * `replay`: the full chain verifier over a stored chain (links,
//!   certificates, signatures, re-applied records, log, record and state
//!   roots, log tiles); `replay_deep` also compares every stored state
//!   entry, trace row and index entry with the replayed ones.
//!   `bound_records_per_s` is the raw ZIP-215 batch signature-verification
//!   rate on all cores over the same signatures, measured just before the
//!   replay; the two alternate for several rounds, and `replay` prints the
//!   round with the median ratio (`round_ratios`: every round's).
//!   `cpu_us_per_record` and `bound_cpu_us_per_record` are the CPU time
//!   (all threads) per record of the replay and of the bound: their
//!   difference is the replay's work besides signatures.
//!   `applying_cpu_us_per_record` is the part of it on the one thread that
//!   applies blocks in order (the rest runs on all cores). `cores_busy` is
//!   how many cores the replay kept busy, and `cpu_ratio` (bound CPU over
//!   replay CPU) the ratio it would reach with every core busy, taking the
//!   bound to keep every core busy (it is parallel signature checking and
//!   nothing else). CPU time is read in 10 ms ticks.
//! * `trace_proof`: on the replay chain, a donation's money is granted to a
//!   project, which grants everything on to a second project, which spends
//!   everything: the donation's trace proof (SPEC §10.6) goes two hops. It
//!   prints the proof's size (canonical bytes and JSON), what it holds, the
//!   time to build it on the node and to verify it against the genesis,
//!   and, as the baseline, the time to verify the same donation's receipt
//!   bundle (so `verify_vs_bundle` is the cost of a proven trace in receipt
//!   bundles).

use rayon::prelude::*;
use shanlian_ledger::record::*;
use shanlian_ledger::store::query::LedgerReader as _;
use shanlian_ledger::store::Store;
use shanlian_ledger::testkit::{payloads as p, DevNet};
use shanlian_ledger::tracing::{self, Direction, What};
use shanlian_ledger::types::*;
use shanlian_ledger::verify::{verify_store_with, VerifyOptions};
use std::time::{Duration, Instant};

/// The allocator of the binaries that apply and replay chains
/// (shanlian-node, shanlian): what is measured here is what they run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BLOCK: usize = 2_000;
const CHARITIES: [&str; 3] = ["charity-federation", "red-cross", "one-foundation"];

/// `n` records of a realistic mix, signed in parallel: ~90% donations to
/// nine projects and three general funds, ~7% disbursements, ~1% refunds,
/// ~1% lottery sales, ~1% welfare allocations.
fn workload(net: &mut DevNet, n: usize) -> Vec<Record> {
    let start = net.clock;
    let end = Timestamp(start.0 + 86_400_000 * 365);
    let mut regs = Vec::new();
    for (c, label) in CHARITIES.iter().enumerate() {
        for k in 0..3 {
            regs.push(net.sign(label, p::project(&format!("BENCH-{c}-{k}"), start, end)));
        }
    }
    net.commit_all(&regs).expect("projects");
    let mut bodies: Vec<(usize, RecordBody)> = Vec::with_capacity(n);
    let mut receipts: Vec<(usize, ReceiptNo)> = Vec::new();
    let created = net.clock;
    let body = |nonce: u64, payload| RecordBody {
        created,
        expires: Timestamp(created.0 + 3_500_000),
        nonce,
        payload,
    };
    for i in 0..n as u64 {
        let c = (i % 3) as usize;
        let fund = if i % 4 == 0 {
            FundRef::General(net.address(CHARITIES[c]))
        } else {
            FundRef::Project(ProjectId(format!("BENCH-{c}-{}", i % 3)))
        };
        let (who, payload) = match i % 100 {
            0..=89 => {
                let r = ReceiptNo(format!("B{i:010}"));
                receipts.push((c, r.clone()));
                (
                    c,
                    p::donation(r, fund, 5_000 + (i * 7919) % 20_000, (i % 251) as u8),
                )
            }
            90..=96 => (c, p::disbursement(fund, 20_000)),
            97 => {
                let (rc, r) = receipts[(i as usize * 31) % receipts.len()].clone();
                (rc, p::refund(r, 1))
            }
            98 => (99, p::sales("SSQ", &format!("S{i}"), 1_000_000)),
            _ => (
                99,
                p::allocate(
                    10_000,
                    WelfarePurpose::Elderly,
                    Some(&format!("BENCH-{c}-0")),
                ),
            ),
        };
        bodies.push((who, body(i, payload)));
    }
    let keys: Vec<_> = CHARITIES.iter().map(|l| net.key(l)).collect();
    let lottery = net.key("lottery-centre");
    let gh = net.genesis_hash;
    bodies
        .into_par_iter()
        .map(|(who, b)| {
            let k = if who == 99 { lottery } else { keys[who] };
            Record::new(SignedRecord::sign(b, k, &gh))
        })
        .collect()
}

fn apply_run(records: &[Record], preverified: bool) -> (f64, usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut net = DevNet::on(Store::open(dir.path()).expect("store")).expect("devnet");
    // Same projects as the workload was built against.
    let _ = workload(&mut net, 0);
    let t = Instant::now();
    let mut refused = 0;
    for chunk in records.chunks(BLOCK) {
        let verified = if preverified {
            vec![true; chunk.len()]
        } else {
            shanlian_ledger::chain::verify_signatures(&mut net.state, chunk)
        };
        refused += net.commit_with(chunk, &verified).expect("commit").len();
    }
    net.store.flush().expect("flush");
    (records.len() as f64 / t.elapsed().as_secs_f64(), refused)
}

/// The store engine's raw rate for the same keys: fjall, through the
/// store's own backend (both partitions' journal, one batch per block).
fn fjall_baseline(n: usize) -> f64 {
    use shanlian_ledger::store::kv::{FjallKv, Kv, WriteBatch};
    let dir = tempfile::tempdir().expect("tempdir");
    let kv = FjallKv::open(dir.path(), false).expect("fjall");
    let t = Instant::now();
    for c in 0..n / BLOCK {
        let mut b = WriteBatch::default();
        for i in 0..BLOCK {
            let k = blake3::hash(&((c * BLOCK + i) as u64).to_le_bytes());
            b.put(k.as_bytes().to_vec(), vec![7u8; 12]);
        }
        kv.apply(b).expect("batch");
    }
    kv.flush().expect("flush");
    n as f64 / t.elapsed().as_secs_f64()
}

fn sled_baseline(n: usize) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::Config::new().path(dir.path()).open().expect("sled");
    let t = Instant::now();
    for c in 0..n / BLOCK {
        let mut b = sled::Batch::default();
        for i in 0..BLOCK {
            let k = blake3::hash(&((c * BLOCK + i) as u64).to_le_bytes());
            b.insert(&k.as_bytes()[..], &[7u8; 12][..]);
        }
        db.apply_batch(b).expect("batch");
    }
    db.flush().expect("flush");
    n as f64 / t.elapsed().as_secs_f64()
}

/// CPU seconds this process has used on all its threads, the ended ones
/// included (/proc/self/stat's utime + stime, in USER_HZ = 100 ticks per
/// second on Linux); None where there is no /proc.
fn process_cpu_s() -> Option<f64> {
    cpu_s_of("/proc/self/stat")
}

/// The same for the calling thread alone (/proc/thread-self/stat).
fn thread_cpu_s() -> Option<f64> {
    cpu_s_of("/proc/thread-self/stat")
}

fn cpu_s_of(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The median of `n` timed runs of `f`.
fn median<T>(n: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(n);
    let mut last = None;
    for _ in 0..n {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed());
    }
    times.sort();
    (times[n / 2], last.expect("n > 0"))
}

/// Appends a grant, a grant of everything onward and a disbursement of
/// everything, then proves where a donation the first grant drew on went.
fn trace_bench(net: &mut DevNet) {
    let fed = FundRef::General(net.address("charity-federation"));
    let pf = FundRef::Project(ProjectId("BENCH-1-0".into()));
    let qf = FundRef::Project(ProjectId("BENCH-2-0".into()));
    let balance =
        |net: &DevNet, f: &FundRef| net.store.fund(f).expect("read").expect("fund").balance().0;
    let g1 = net.sign("charity-federation", p::grant(fed, "BENCH-1-0", 50_000));
    net.commit_all(std::slice::from_ref(&g1)).expect("grant");
    let all = balance(net, &pf);
    let g2 = net.sign("red-cross", p::grant(pf, "BENCH-2-0", all));
    net.commit_all(&[g2]).expect("grant on");
    let all = balance(net, &qf);
    let z = net.sign("one-foundation", p::disbursement(qf, all));
    net.commit_all(&[z]).expect("disbursement");
    let sources = shanlian_ledger::trace::sources_of_record(&net.store, &g1.id).expect("sources");
    let donation = sources
        .first()
        .expect("the grant drew on a donation")
        .record;
    let (build, proof) = median(5, || {
        net.store
            .trace_proof(&donation, Direction::Forward)
            .expect("proof")
    });
    let (verify, proved) = median(21, || {
        tracing::verify(&net.genesis, &proof).expect("verifies")
    });
    let depth = proved.steps.iter().map(|s| s.depth).max().unwrap_or(0);
    assert_eq!(depth, 2, "the trace goes two hops");
    let spent = proved.total(0, |w| matches!(w, What::Spent { .. }));
    let bundle = net.store.receipt_bundle(&donation).expect("bundle");
    let (bundle_verify, _) = median(21, || {
        shanlian_ledger::bundle::verify(&net.genesis, &bundle).expect("bundle verifies")
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{{\"bench\":\"trace_proof\",\"chain_records\":{},\"depth\":{depth},\"steps\":{},\"spent_at_depth_0\":{spent},\"rows\":{},\"records\":{},\"blocks\":{},\"validator_steps\":{},\"bytes\":{},\"json_bytes\":{},\"build_ms\":{:.2},\"verify_ms\":{:.2},\"bundle_bytes\":{},\"bundle_verify_ms\":{:.2},\"verify_vs_bundle\":{:.1}}}",
        net.state.log.size(),
        proved.steps.len(),
        proof.rows.len(),
        proof.records.len(),
        proof.blocks.len(),
        proof.validators.len(),
        proof.to_bytes().len(),
        proof.to_json().to_string().len(),
        ms(build),
        ms(verify),
        bundle.to_bytes().len(),
        ms(bundle_verify),
        verify.as_secs_f64() / bundle_verify.as_secs_f64()
    );
}

/// What the bound verifies, read back from the stored chain: each
/// record's verifying key (parsed once per signer), signing message and
/// signature, in chain order.
fn bound_inputs(
    store: &Store,
    height: u64,
    max_bytes: usize,
    genesis_hash: &Hash32,
) -> Vec<(shanlian_ledger::crypto::Verifier, Vec<u8>, Signature)> {
    let mut cache = std::collections::HashMap::new();
    let mut inputs = Vec::new();
    for h in 1..=height {
        let block = store.block(h).expect("read").expect("stored block");
        let records = shanlian_ledger::chain::decode_records(&block, max_bytes).expect("decodes");
        for r in records {
            let key = cache
                .entry(r.signed.signer)
                .or_insert_with(|| {
                    shanlian_ledger::crypto::Verifier::parse(&r.signed.signer).expect("key")
                })
                .clone();
            inputs.push((key, r.signing_message(genesis_hash), r.signed.signature));
        }
    }
    inputs
}

fn main() {
    let replay_n: usize = std::env::var("SHANLIAN_BENCH_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let apply_n = replay_n.min(200_000);

    // apply (SHANLIAN_BENCH_SKIP_APPLY=1 skips it, to profile the replay)
    if std::env::var("SHANLIAN_BENCH_SKIP_APPLY").is_err() {
        let mut net = DevNet::new().expect("devnet");
        let records = workload(&mut net, apply_n);
        let (full, refused) = apply_run(&records, false);
        let (pre, _) = apply_run(&records, true);
        let sled_rate = sled_baseline(apply_n * 2);
        let fjall_rate = fjall_baseline(apply_n * 2);
        println!(
            "{{\"bench\":\"apply\",\"records\":{apply_n},\"block\":{BLOCK},\"refused\":{refused},\"records_per_s\":{full:.0},\"fjall_keys_per_s\":{fjall_rate:.0},\"sled_keys_per_s\":{sled_rate:.0}}}"
        );
        println!(
            "{{\"bench\":\"apply_preverified\",\"records\":{apply_n},\"block\":{BLOCK},\"records_per_s\":{pre:.0}}}"
        );
    }

    // replay: build a stored chain (not timed), then verify it.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut net = DevNet::on(Store::open(dir.path()).expect("store")).expect("devnet");
    let build = Instant::now();
    let records = workload(&mut net, replay_n);
    for chunk in records.chunks(BLOCK) {
        net.commit_with(chunk, &vec![true; chunk.len()])
            .expect("commit");
    }
    net.store.flush().expect("flush");
    eprintln!(
        "built {} records in {:.1} s",
        records.len(),
        build.elapsed().as_secs_f64()
    );
    let committed = net.state.log.size();
    let height = net.store.tip().expect("tip").expect("a tip").height;
    let max_bytes = net.genesis.params.max_record_bytes as usize;
    let gh = net.genesis_hash;
    drop(records);

    // The bound and the replay alternate, `SHANLIAN_BENCH_ROUNDS` times
    // (default 3), each replay against the bound measured just before it:
    // on a shared machine the rate of both drifts by tens of percent within
    // a minute. `replay` prints the round with the median ratio and every
    // round's ratio; `replay_deep` runs once, after the last bound. Each
    // round reads the bound's inputs from the store (not timed) and drops
    // them before the replay, so every replay starts from the same memory
    // a fresh process would give it, round after round.
    let rounds: usize = std::env::var("SHANLIAN_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(3);
    // The bound: ZIP-215 batch verification of the same signatures on all
    // cores (SPEC §4), in the replay's batches (chain::MAX_BATCH: a window
    // of thousands of records fills them), nothing else.
    let bound = || {
        let inputs = bound_inputs(&net.store, height, max_bytes, &gh);
        let cpu = process_cpu_s();
        let t = Instant::now();
        let ok = inputs
            .par_chunks(shanlian_ledger::chain::MAX_BATCH)
            .all(|c| {
                let items: Vec<_> = c.iter().map(|(k, m, s)| (k, m.as_slice(), s)).collect();
                shanlian_ledger::crypto::verify_batch(&items)
                    .iter()
                    .all(|b| *b)
            });
        assert!(ok);
        let rate = inputs.len() as f64 / t.elapsed().as_secs_f64();
        let cpu_us = cpu
            .zip(process_cpu_s())
            .map(|(a, b)| (b - a) * 1e6 / inputs.len() as f64);
        (rate, cpu_us)
    };
    let replay = |deep: bool, (bound, bound_cpu_us): (f64, Option<f64>)| {
        let opts = VerifyOptions {
            deep,
            single_only: false,
        };
        let cpu = process_cpu_s();
        let main_cpu = thread_cpu_s();
        let t = Instant::now();
        let report = verify_store_with(&net.store, None, opts, |_| {}).expect("chain verifies");
        let seconds = t.elapsed().as_secs_f64();
        let rate = report.records as f64 / seconds;
        assert_eq!(report.log_size, committed);
        // Where the ratio comes from: CPU per record of the replay against
        // the bound's (the difference is everything but signatures), and
        // how many cores the replay kept busy. With every core busy the
        // ratio would be bound_cpu / replay_cpu (`cpu_ratio`).
        let per_record = |a: Option<f64>, b: Option<f64>| {
            a.zip(b).map(|(a, b)| (b - a) * 1e6 / report.records as f64)
        };
        let replay_cpu_us = per_record(cpu, process_cpu_s());
        let main_cpu_us = per_record(main_cpu, thread_cpu_s());
        let cpu_fields = match (replay_cpu_us, bound_cpu_us, main_cpu_us) {
            (Some(r), Some(b), Some(m)) => format!(
                ",\"cpu_us_per_record\":{r:.2},\"bound_cpu_us_per_record\":{b:.2},\"applying_cpu_us_per_record\":{m:.2},\"cores_busy\":{:.2},\"cpu_ratio\":{:.2}",
                r * report.records as f64 / 1e6 / seconds,
                b / r
            ),
            _ => String::new(),
        };
        let ratio = rate / bound;
        let line = format!(
            "\"records\":{},\"records_per_s\":{rate:.0},\"bound_records_per_s\":{bound:.0},\"ratio\":{ratio:.2}{cpu_fields}",
            report.records,
        );
        (ratio, line)
    };
    let mut shallow: Vec<(f64, String)> = Vec::new();
    let mut last_bound = (0.0, None);
    for _ in 0..rounds {
        last_bound = bound();
        shallow.push(replay(false, last_bound));
    }
    let ratios: Vec<String> = shallow.iter().map(|(r, _)| format!("{r:.2}")).collect();
    shallow.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (_, median) = &shallow[shallow.len() / 2];
    println!(
        "{{\"bench\":\"replay\",{median},\"rounds\":{rounds},\"round_ratios\":[{}]}}",
        ratios.join(",")
    );
    let (_, deep) = replay(true, last_bound);
    println!("{{\"bench\":\"replay_deep\",{deep}}}");
    trace_bench(&mut net);
}
