//! Prometheus metrics. Ours are registered in the engine's registry (the
//! one Malachite's own `malachitebft_*` metrics live in), under the prefix
//! `shanlian_` with a `moniker` label, and served together in the text
//! exposition format on the node's metrics port.

use malachitebft_app_channel::app::metrics::prometheus::metrics::counter::Counter;
use malachitebft_app_channel::app::metrics::prometheus::metrics::family::Family;
use malachitebft_app_channel::app::metrics::prometheus::metrics::gauge::Gauge;
use malachitebft_app_channel::app::metrics::prometheus::metrics::histogram::{
    exponential_buckets, Histogram,
};
use malachitebft_app_channel::app::metrics::SharedRegistry;

/// `swarm` label values of `shanlian_peers`.
pub const CONSENSUS: &str = "consensus";
pub const GOSSIP: &str = "gossip";

type Labels = Vec<(String, String)>;

/// 0.5 ms to ~8 s.
fn step_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// One node's metrics (cheap to clone: every metric is shared).
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Last committed height.
    pub height: Gauge,
    /// Round of the height being decided.
    pub round: Gauge,
    pub pool_records: Gauge,
    pub pool_bytes: Gauge,
    pub records_committed: Counter,
    pub blocks_committed: Counter,
    /// Proposals this node refused to vote for.
    pub blocks_refused: Counter,
    /// Records per committed block.
    pub block_records: Histogram,
    /// Encoded bytes per committed block.
    pub block_bytes: Histogram,
    /// From a record's admission into this node's pool to its commit here.
    pub commit_latency: Histogram,
    /// Connected peers, by swarm (`consensus`, `gossip`).
    pub peers: Family<Labels, Gauge>,
    /// 1 once this node found its own store wrong and stopped consensus.
    pub fault: Gauge,
    /// Gossip batches dropped because their peer (or all peers) had too
    /// many bytes in admission.
    pub gossip_batches_dropped: Counter,
    /// Records answered pending although already in the block under check
    /// (applied, not committed): before, these were refused as duplicates.
    pub pending_from_open_block: Counter,
    /// Blocks checked by the last on-demand check of recent blocks, and
    /// 1 when it passed.
    pub self_check_blocks: Gauge,
    pub self_check_ok: Gauge,
    /// Seconds spent in each step of a height on the application loop:
    /// `propose` (building our block), `check` (checking a proposed one),
    /// `persist` (making a proposed or checked block durable before the
    /// engine hears of it), `commit` (all of committing a decided block),
    /// within it `commit_write` (the store batch) and `commit_flush` (the
    /// fsync).
    pub step_seconds: Family<Labels, Histogram>,
}

impl Metrics {
    /// Registers a node's metrics under its moniker.
    pub fn register(moniker: &str) -> Metrics {
        let m = Metrics {
            height: Gauge::default(),
            round: Gauge::default(),
            pool_records: Gauge::default(),
            pool_bytes: Gauge::default(),
            records_committed: Counter::default(),
            blocks_committed: Counter::default(),
            blocks_refused: Counter::default(),
            block_records: Histogram::new(exponential_buckets(1.0, 4.0, 8)),
            block_bytes: Histogram::new(exponential_buckets(1024.0, 4.0, 8)),
            commit_latency: Histogram::new(exponential_buckets(0.01, 2.0, 12)),
            peers: Family::default(),
            fault: Gauge::default(),
            gossip_batches_dropped: Counter::default(),
            pending_from_open_block: Counter::default(),
            self_check_blocks: Gauge::default(),
            self_check_ok: Gauge::default(),
            step_seconds: Family::new_with_constructor(step_histogram),
        };
        let c = m.clone();
        SharedRegistry::global()
            .with_moniker(moniker)
            .with_prefix("shanlian", move |r| {
                r.register("height", "Last committed height", c.height);
                r.register("round", "Round of the height being decided", c.round);
                r.register(
                    "pool_records",
                    "Records waiting in the pool",
                    c.pool_records,
                );
                r.register("pool_bytes", "Bytes waiting in the pool", c.pool_bytes);
                r.register(
                    "records_committed",
                    "Records committed",
                    c.records_committed,
                );
                r.register("blocks_committed", "Blocks committed", c.blocks_committed);
                r.register(
                    "blocks_refused",
                    "Proposed blocks this node found invalid",
                    c.blocks_refused,
                );
                r.register("block_records", "Records per block", c.block_records);
                r.register("block_bytes", "Encoded bytes per block", c.block_bytes);
                r.register(
                    "commit_latency_seconds",
                    "From admission into this node's pool to commit",
                    c.commit_latency,
                );
                r.register("peers", "Connected peers, by swarm", c.peers);
                r.register(
                    "fault",
                    "1 once this node found its own store wrong and stopped consensus (see /health)",
                    c.fault,
                );
                r.register(
                    "gossip_batches_dropped",
                    "Gossip batches dropped: their peer (or all peers) had too many bytes in admission",
                    c.gossip_batches_dropped,
                );
                r.register(
                    "pending_from_open_block",
                    "Records admitted as pending while the block under check already held them",
                    c.pending_from_open_block,
                );
                r.register(
                    "self_check_blocks",
                    "Blocks checked by the last check of recent blocks (GET /health?check=N)",
                    c.self_check_blocks,
                );
                r.register(
                    "step_seconds",
                    "Seconds per step of a height on the application loop, by step (propose, check, persist, commit)",
                    c.step_seconds.clone(),
                );
                r.register(
                    "self_check_ok",
                    "1 when the last check of recent blocks passed",
                    c.self_check_ok,
                );
            });
        m
    }

    /// Records how long one step of a height took (see `step_seconds`).
    pub fn step(&self, step: &str, started: std::time::Instant) {
        self.step_seconds
            .get_or_create(&vec![("step".to_string(), step.to_string())])
            .observe(started.elapsed().as_secs_f64());
    }

    /// Sets the connected-peer gauge of one swarm.
    pub fn set_peers(&self, swarm: &str, n: usize) {
        self.peers
            .get_or_create(&vec![("swarm".to_string(), swarm.to_string())])
            .set(n as i64);
    }

    /// Connected peers of one swarm, as last reported.
    pub fn peers_of(&self, swarm: &str) -> i64 {
        self.peers
            .get_or_create(&vec![("swarm".to_string(), swarm.to_string())])
            .get()
    }
}

/// Every registered metric, in the Prometheus text format.
pub fn export() -> String {
    let mut out = String::new();
    malachitebft_app_channel::app::metrics::export(&mut out);
    out
}
