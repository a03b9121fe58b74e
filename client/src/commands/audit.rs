//! What an auditor runs: `audit` (replay and verify a whole chain, then the
//! compliance checks), `audit download` (a chain from explorers into a local
//! store, every block verified on the way), `audit compare` (do nodes agree),
//! `audit reconcile` (donations against a bank statement) and `attest`.

use crate::api::Nodes;
use crate::Report;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use shanlian_ledger::block::{BlockData, CommitCertificate};
use shanlian_ledger::bundle::{verify_checkpoints, CheckpointProof};
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::record::Payload;
use shanlian_ledger::store::query::LedgerReader;
use shanlian_ledger::store::Store;
use shanlian_ledger::types::*;
use shanlian_ledger::verify::{verify_store_with, VerifyOptions};
use std::path::Path;
use std::time::Instant;

/// `shanlian audit run --store DIR`: replays and verifies everything, then runs
/// the compliance checks; JSON and a self-contained HTML report on request.
pub fn audit(
    dir: &Path,
    genesis: Option<&Genesis>,
    single: bool,
    json_out: Option<&Path>,
    html_out: Option<&Path>,
    progress: bool,
) -> Result<Report> {
    let store = Store::open(dir).with_context(|| {
        format!(
            "store {} (stop the node first: a store is open in one process at a time)",
            dir.display()
        )
    })?;
    let stored = store
        .genesis()?
        .with_context(|| format!("{} holds no chain", dir.display()))?;
    let tip = store.tip()?.map_or(0, |t| t.height);
    let bar = if progress {
        let b = indicatif::ProgressBar::new(tip);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "replaying [{bar:40}] block {pos}/{len} ({per_sec}, {eta}) {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let t = Instant::now();
    let opts = VerifyOptions {
        deep: true,
        single_only: single,
    };
    let verified = verify_store_with(&store, genesis, opts, |p| {
        bar.set_position(p.height);
        bar.set_message(format!("{} records", p.records));
    });
    bar.finish_and_clear();
    let replay = t.elapsed();
    let report = match verified {
        Ok(r) => r,
        Err(e) => {
            return Ok(Report::failed(
                json!({"ok": false, "integrity": {"ok": false, "error": e.to_string()}}),
                format!("✗ the chain does NOT verify: {e}"),
            ))
        }
    };
    let rate = report.records as f64 / replay.as_secs_f64().max(1e-9);
    // The bound: every signature the chain holds (its records' and its
    // certificates'), verified in batches on all cores, and nothing else.
    let signatures = report.records + report.certificate_signatures;
    let signature_rate = shanlian_ledger::verify::signature_rate(&store, 100_000)?.unwrap_or(0.0);
    let bound = if signatures > 0 && signature_rate > 0.0 {
        report.records as f64 * signature_rate / signatures as f64
    } else {
        0.0
    };
    let audit = shanlian_ledger::audit::run(&store)?;
    let j = json!({
        "ok": audit.findings.is_empty(),
        "integrity": {
            "ok": true,
            "height": report.height,
            "records": report.records,
            "header_hash": hex::encode(report.header_hash),
            "state_hash": hex::encode(report.state_hash),
            "log_size": report.log_size,
            "log_root": hex::encode(report.log_root),
            "replay_seconds": replay.as_secs_f64(),
            "replay_records_per_s": rate,
            "signature_bound_records_per_s": bound,
            "certificate_signatures": report.certificate_signatures,
            "signatures_per_s": signature_rate,
            "ratio": if bound > 0.0 { rate / bound } else { 0.0 },
            "single": single,
        },
        "audit": audit,
    });
    if let Some(p) = json_out {
        std::fs::write(p, serde_json::to_string_pretty(&j)? + "\n")
            .with_context(|| format!("{}", p.display()))?;
    }
    if let Some(p) = html_out {
        std::fs::write(p, html(&j, &stored)).with_context(|| format!("{}", p.display()))?;
    }
    let mut text = format!(
        "✓ chain integrity: {} blocks, {} records replayed and verified{} in {:.1} s ({:.0} records/s; signature bound {:.0}/s, ratio {:.2})\n  bound: the {} record and {} certificate signatures alone, at {:.0}/s in batches on all cores\n  header {} · log {} records, root {}",
        report.height,
        report.records,
        if single { " (every signature on its own, no batches)" } else { "" },
        replay.as_secs_f64(),
        rate,
        bound,
        if bound > 0.0 { rate / bound } else { 0.0 },
        report.records,
        report.certificate_signatures,
        signature_rate,
        hex::encode(report.header_hash),
        report.log_size,
        hex::encode(report.log_root)
    );
    text += &format!(
        "\n\n{:<34} {:>14} {:>14} {:>14} {:>14}",
        "fund", "received", "refunded", "spent", "balance"
    );
    for f in &audit.funds {
        text += &format!(
            "\n{:<34} {:>14} {:>14} {:>14} {:>14}",
            short(&f.fund.to_string(), 34),
            Fen(f.inflow).to_string(),
            Fen(f.refunded).to_string(),
            Fen(f.outflow).to_string(),
            Fen(f.balance).to_string()
        );
    }
    for g in &audit.games {
        text += &format!(
            "\nlottery {}: {} reports, sales {} → prizes {} · fee {} · welfare {} + {} — split recomputed {}",
            g.game,
            g.reports,
            Fen(g.sales),
            Fen(g.prize),
            Fen(g.issuance_fee),
            Fen(g.welfare_central),
            Fen(g.welfare_local),
            if g.recomputed_equal { "✓" } else { "✗" }
        );
    }
    for e in &audit.elderly {
        text += &format!(
            "\nwelfare {}: elderly {} of {} ({})",
            e.year,
            Fen(e.elderly),
            Fen(e.total),
            e.share
                .bp
                .map_or("n/a".into(), |b| format!("{}.{:02}%", b / 100, b % 100))
        );
    }
    for (who, a) in &audit.art60 {
        text += &format!(
            "\nart. 60 {who} {}: activity {:?}, management {:?}",
            a.year, a.activity.verdict, a.management.verdict
        );
    }
    text += &format!(
        "\ndisclosures due: {} ({} published on time)",
        audit.disclosures.len(),
        audit
            .disclosures
            .iter()
            .filter(|d| d.published.is_some())
            .count()
    );
    if audit.findings.is_empty() {
        text += "\n\n✓ no findings";
    } else {
        text += &format!("\n\n✗ {} findings:", audit.findings.len());
        for f in &audit.findings {
            text += &format!("\n  [{}] {}: {}", f.code, f.subject, f.message);
        }
    }
    Ok(if audit.findings.is_empty() {
        Report::ok(j, text)
    } else {
        Report::failed(j, text)
    })
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

/// A self-contained HTML report: tables and inline SVG bars, no scripts.
fn html(j: &Value, genesis: &Genesis) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let yuan = |v: &Value| Fen(v.as_u64().unwrap_or(0)).to_string();
    let a = &j["audit"];
    let i = &j["integrity"];
    let mut h = String::new();
    h += "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>善链审计报告 Shanlian audit</title><style>body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.bad{color:#b00020;font-weight:600}.good{color:#1b7a30;font-weight:600}</style></head><body>";
    h += &format!(
        "<h1>审计报告 · Audit report</h1><p>chain <b>{}</b> · genesis {} · height {} · {} records · header {}</p>",
        esc(&genesis.chain_id),
        hex::encode(genesis.hash()),
        i["height"],
        i["records"],
        i["header_hash"].as_str().unwrap_or("")
    );
    h += &format!(
        "<p class=\"good\">✓ integrity: every block, certificate, signature, log root and state hash replayed ({:.0} records/s; signature bound {:.0}/s)</p>",
        i["replay_records_per_s"].as_f64().unwrap_or(0.0),
        i["signature_bound_records_per_s"].as_f64().unwrap_or(0.0)
    );
    let findings = a["findings"].as_array().cloned().unwrap_or_default();
    if findings.is_empty() {
        h += "<h2 class=\"good\">✓ No findings</h2>";
    } else {
        h += &format!("<h2 class=\"bad\">✗ {} findings</h2><table><tr><th>code</th><th>subject</th><th>finding</th></tr>", findings.len());
        for f in &findings {
            h += &format!(
                "<tr><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
                esc(f["code"].as_str().unwrap_or("")),
                esc(f["subject"].as_str().unwrap_or("")),
                esc(f["message"].as_str().unwrap_or(""))
            );
        }
        h += "</table>";
    }
    h += "<h2>资金守恒 Funds</h2><table><tr><th>fund</th><th>received</th><th>refunded</th><th>spent</th><th>balance</th><th></th></tr>";
    let max = a["funds"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|x| x["inflow"].as_u64())
                .max()
                .unwrap_or(1)
        })
        .unwrap_or(1)
        .max(1);
    for f in a["funds"].as_array().cloned().unwrap_or_default() {
        let w = |k: &str| (f[k].as_u64().unwrap_or(0) as f64 / max as f64 * 200.0) as u64;
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><svg width=\"210\" height=\"14\"><rect width=\"{}\" height=\"6\" fill=\"#3b6ea5\"/><rect y=\"7\" width=\"{}\" height=\"6\" fill=\"#c46b2a\"/></svg></td></tr>",
            esc(&f["fund"].to_string()),
            yuan(&f["inflow"]),
            yuan(&f["refunded"]),
            yuan(&f["outflow"]),
            yuan(&f["balance"]),
            w("inflow"),
            w("outflow")
        );
    }
    h += "</table><h2>福利彩票 Lottery</h2><table><tr><th>game</th><th>reports</th><th>sales</th><th>prize</th><th>fee</th><th>welfare central</th><th>welfare local</th><th>prizes paid</th><th>split</th></tr>";
    for g in a["games"].as_array().cloned().unwrap_or_default() {
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(g["game"].as_str().unwrap_or("")),
            g["reports"],
            yuan(&g["sales"]),
            yuan(&g["prize"]),
            yuan(&g["issuance_fee"]),
            yuan(&g["welfare_central"]),
            yuan(&g["welfare_local"]),
            yuan(&g["prizes_paid"]),
            if g["recomputed_equal"].as_bool() == Some(true) { "<span class=\"good\">✓</span>" } else { "<span class=\"bad\">✗</span>" }
        );
    }
    h += "</table><h2>扶老比例 Elderly share</h2><table><tr><th>year</th><th>elderly</th><th>total</th><th>share</th><th>minimum</th></tr>";
    for e in a["elderly"].as_array().cloned().unwrap_or_default() {
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e["year"],
            yuan(&e["elderly"]),
            yuan(&e["total"]),
            e["share"]["bp"].as_u64().map_or("n/a".into(), |b| format!(
                "{}.{:02}%",
                b / 100,
                b % 100
            )),
            e["share"]["threshold_bp"]
                .as_u64()
                .map_or("".into(), |b| format!("{}.{:02}%", b / 100, b % 100))
        );
    }
    h += "</table><h2>慈善法第六十条 Charity Law art. 60</h2><table><tr><th>charity</th><th>year</th><th>activity / previous income</th><th>management / spending</th></tr>";
    for row in a["art60"].as_array().cloned().unwrap_or_default() {
        let r = &row[1];
        let pct = |v: &Value| {
            v["bp"].as_u64().map_or("n/a".into(), |b| {
                format!(
                    "{}.{:02}% ({})",
                    b / 100,
                    b % 100,
                    v["verdict"].as_str().unwrap_or("")
                )
            })
        };
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(row[0].as_str().unwrap_or("")),
            r["year"],
            pct(&r["activity"]),
            pct(&r["management"])
        );
    }
    h += "</table><h2>信息公开 Disclosures</h2><table><tr><th>subject</th><th>due</th><th>published</th></tr>";
    for d in a["disclosures"].as_array().cloned().unwrap_or_default() {
        let ts = |v: &Value| {
            v.as_u64()
                .map_or("<span class=\"bad\">missing</span>".into(), |t| {
                    Timestamp(t).to_string()
                })
        };
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(d["subject"].as_str().unwrap_or("")),
            ts(&d["due"]),
            ts(&d["published"])
        );
    }
    h += "</table></body></html>\n";
    h
}

/// Most blocks one download request asks for (`/api/v1/blocks/raw`'s
/// page limit).
const DOWNLOAD_RUN: u64 = 200;

/// `shanlian audit download`: fetches the chain from explorers into a local
/// store, verifying every block on the way exactly as a node would (its
/// certificate against the validator set the replay follows, every record
/// and rule, the resulting header). Resumes where the store ends.
pub async fn download(
    dir: &Path,
    nodes: &Nodes,
    genesis: &Genesis,
    progress: bool,
) -> Result<Report> {
    let store = Store::open(dir).with_context(|| format!("store {}", dir.display()))?;
    let mut state = store.open_state(genesis)?;
    let status = nodes.get("/api/v1/status").await?;
    if status["genesis_hash"].as_str() != Some(&hex::encode(genesis.hash())) {
        bail!(
            "the explorer serves genesis {}, not this genesis file's {}",
            status["genesis_hash"],
            hex::encode(genesis.hash())
        );
    }
    let remote = status["height"].as_u64().unwrap_or(0);
    let start = state.height + 1;
    let bar = if progress {
        let b = indicatif::ProgressBar::new(remote.saturating_sub(state.height));
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "downloading [{bar:40}] block {pos}/{len} ({per_sec}, {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let t = Instant::now();
    let mut records = 0u64;
    // Runs of blocks, the next run fetched while this one is verified.
    // An explorer behind the one that gave `remote` answers an empty run:
    // the next one is asked.
    let fetch = |from: u64| {
        let nodes = nodes.clone();
        let limit = (remote - from + 1).min(DOWNLOAD_RUN);
        let path = format!("/api/v1/blocks/raw?from={from}&limit={limit}");
        tokio::spawn(async move {
            let mut last = anyhow::anyhow!("no explorer");
            for base in &nodes.urls {
                match nodes.get_at(base, &path).await {
                    Ok(mut v) => match v["blocks"].take() {
                        Value::Array(mut run) if !run.is_empty() => {
                            run.truncate(limit as usize);
                            return Ok(run);
                        }
                        _ => last = anyhow::anyhow!("{base} has no block {from} yet"),
                    },
                    Err(e) => last = e,
                }
            }
            Err(last.context(format!("block {from}, though the chain reaches {remote}")))
        })
    };
    let mut h = start;
    let mut pending = (h <= remote).then(|| fetch(h));
    while let Some(task) = pending.take() {
        let run = task.await.context("the download task failed")??;
        let after = h + run.len() as u64;
        if after <= remote {
            pending = Some(fetch(after));
        }
        let mut blocks = Vec::with_capacity(run.len());
        for (i, v) in run.iter().enumerate() {
            let at = h + i as u64;
            if v["height"].as_u64() != Some(at) {
                bail!(
                    "the explorer answered block {} where block {at} was asked for",
                    v["height"]
                );
            }
            let bytes = |k: &str| {
                hex::decode(v[k].as_str().unwrap_or("")).with_context(|| format!("block {at}: {k}"))
            };
            let block: BlockData = shanlian_ledger::codec::decode_canonical(&bytes("block")?)
                .map_err(|e| anyhow::anyhow!("block {at}: {e}"))?;
            let cert: CommitCertificate =
                shanlian_ledger::codec::decode_canonical(&bytes("certificate")?)
                    .map_err(|e| anyhow::anyhow!("block {at} certificate: {e}"))?;
            blocks.push((block, cert));
        }
        // Verified as a node would (links, certificates, signatures, every
        // rule, the roots) and committed; the run's signatures in batches.
        let n = blocks.len() as u64;
        records +=
            shanlian_ledger::verify::commit_run(&mut state, &store, blocks).map_err(|e| {
                anyhow::anyhow!("the explorer serves a chain that does not verify: {e}")
            })?;
        bar.inc(n);
        h += n;
    }
    store.flush()?;
    bar.finish_and_clear();
    let secs = t.elapsed().as_secs_f64();
    Ok(Report::ok(
        json!({"store": dir.display().to_string(), "height": state.height, "blocks": remote.saturating_sub(start - 1), "records": records, "seconds": secs}),
        format!(
            "✓ {} holds the chain to block {} ({} records downloaded and verified in {:.1} s); audit it with `shanlian audit run --store {}`",
            dir.display(),
            state.height,
            records,
            secs,
            dir.display()
        ),
    ))
}

/// `shanlian audit compare URL…`: every node's newest checkpoint verified
/// from genesis, the same header at the lowest common height (headers chain
/// by hash, so one equal header means equal history below it), and each
/// node's history a prefix of the longest. On a fork, the evidence: two
/// certified headers at one height.
pub async fn compare(urls: &[String], genesis: &Genesis) -> Result<Report> {
    if urls.len() < 2 {
        bail!("compare needs at least two explorers");
    }
    let mut tips = Vec::new();
    for u in urls {
        let n = Nodes::new(vec![u.clone()])?;
        let s = n.get("/api/v1/status").await.map_err(|e| {
            let hint = if e
                .downcast_ref::<crate::api::Refused>()
                .is_some_and(|r| r.status == 404)
            {
                " (not an explorer: give each node's `explorer` address, not its submission port)"
            } else {
                ""
            };
            e.context(format!("{u}{hint}"))
        })?;
        if s["genesis_hash"].as_str() != Some(&hex::encode(genesis.hash())) {
            bail!("{u} serves another genesis ({})", s["genesis_hash"]);
        }
        tips.push((u.clone(), n, s["height"].as_u64().unwrap_or(0)));
    }
    let common = tips.iter().map(|t| t.2).min().unwrap_or(0);
    // A checkpoint proof from each node at the common height to its own tip:
    // verified from genesis, so every header it shows is certified.
    let mut at_common = Vec::new();
    for (u, n, tip) in &tips {
        let v = n
            .get(&format!("/api/v1/checkpoints/proof?from={common}&to={tip}"))
            .await
            .with_context(|| u.to_string())?;
        let p: CheckpointProof = serde_json::from_value(v).with_context(|| u.to_string())?;
        match verify_checkpoints(genesis, &p) {
            Ok((old, new)) => at_common.push((u.clone(), old, new, p)),
            Err(e) => {
                return Ok(Report::failed(
                    json!({"ok": false, "node": u, "error": e.to_string(), "code": e.code()}),
                    format!("✗ {u}: its checkpoints do NOT verify against the genesis: {e}"),
                ))
            }
        }
    }
    let first = &at_common[0];
    for other in &at_common[1..] {
        if other.1.header_hash != first.1.header_hash {
            // Find the first height where they differ, for the evidence.
            let a = Nodes::new(vec![first.0.clone()])?;
            let b = Nodes::new(vec![other.0.clone()])?;
            let (mut lo, mut hi) = (1u64, common);
            while lo < hi {
                let mid = (lo + hi) / 2;
                let ha = a.get(&format!("/api/v1/checkpoints/{mid}")).await?;
                let hb = b.get(&format!("/api/v1/checkpoints/{mid}")).await?;
                if ha["checkpoint"]["header_hash"] == hb["checkpoint"]["header_hash"] {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            let pa: CheckpointProof = serde_json::from_value(
                a.get(&format!("/api/v1/checkpoints/proof?from={lo}&to={lo}"))
                    .await?,
            )?;
            let pb: CheckpointProof = serde_json::from_value(
                b.get(&format!("/api/v1/checkpoints/proof?from={lo}&to={lo}"))
                    .await?,
            )?;
            let va = verify_checkpoints(genesis, &pa).is_ok();
            let vb = verify_checkpoints(genesis, &pb).is_ok();
            let j = json!({
                "ok": false, "fork_height": lo,
                "evidence": [
                    {"node": first.0, "certified": va, "checkpoint": pa.new},
                    {"node": other.0, "certified": vb, "checkpoint": pb.new},
                ],
            });
            return Ok(Report::failed(
                j,
                format!(
                    "✗ FORK at height {lo}: {} and {} show different headers{}\n  {}: header {}\n  {}: header {}\n  (--json prints both signed checkpoints: the evidence)",
                    first.0,
                    other.0,
                    if va && vb { ", both certified by more than two thirds of the validators" } else { "" },
                    first.0,
                    hex::encode(pa.new.checkpoint.header_hash),
                    other.0,
                    hex::encode(pb.new.checkpoint.header_hash)
                ),
            ));
        }
    }
    let lines: Vec<String> = at_common
        .iter()
        .map(|(u, _, new, _)| format!("  {u}: block {} (log {} records)", new.height, new.log_size))
        .collect();
    Ok(Report::ok(
        json!({"ok": true, "common_height": common, "nodes": at_common.iter().map(|(u, _, n, _)| json!({"node": u, "height": n.height, "log_size": n.log_size, "header_hash": hex::encode(n.header_hash)})).collect::<Vec<_>>()}),
        format!(
            "✓ {} nodes agree: the same certified header at height {common}, and each history extends it\n{}",
            urls.len(),
            lines.join("\n")
        ),
    ))
}

/// A bank statement line.
#[derive(Debug, Clone)]
struct BankLine {
    line: u64,
    date: String,
    amount: Fen,
    reference: String,
}

/// `shanlian audit reconcile`: the charity's donations in a date range
/// (received by bank or e-CNY) against a bank statement CSV with columns
/// `date` (YYYY-MM-DD), `amount` and `reference` (the receipt number the
/// donor's transfer carried). Lists what is missing on either side and what
/// differs.
pub async fn reconcile(
    bank: &Path,
    charity: Address,
    from: &str,
    to: &str,
    nodes: &Nodes,
) -> Result<Report> {
    let day = |s: &str| -> Result<Timestamp> {
        let parts: Vec<u32> = s.split('-').filter_map(|p| p.parse().ok()).collect();
        let [y, m, d] = parts[..] else {
            bail!("{s:?}: a date is YYYY-MM-DD");
        };
        Ok(Timestamp::from_utc(y, m, d, 0))
    };
    let (t0, t1) = (day(from)?, Timestamp(day(to)?.0 + 86_400_000));
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(bank)
        .with_context(|| format!("{}", bank.display()))?;
    let headers = rdr.headers()?.clone();
    let col = |n: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(n));
    let (Some(cd), Some(ca), Some(cr)) = (col("date"), col("amount"), col("reference")) else {
        bail!(
            "{}: the statement needs columns date, amount, reference",
            bank.display()
        );
    };
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    for rec in rdr.records() {
        let rec = rec?;
        let line = rec.position().map_or(0, |p| p.line());
        let date = rec.get(cd).unwrap_or("").to_string();
        match (day(&date), crate::money::parse(rec.get(ca).unwrap_or(""))) {
            (Ok(t), Ok(amount)) if t >= t0 && t < t1 => lines.push(BankLine {
                line,
                date,
                amount,
                reference: rec.get(cr).unwrap_or("").to_string(),
            }),
            (Ok(_), Ok(_)) => {}
            (Err(e), _) => {
                bad.push(json!({"line": line, "column": "date", "reason": e.to_string()}))
            }
            (_, Err(e)) => {
                bad.push(json!({"line": line, "column": "amount", "reason": e.to_string()}))
            }
        }
    }
    // The charity's donations by bank or e-CNY in the range.
    let mut ledger: Vec<(String, Fen, Timestamp, String)> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = format!(
            "/api/v1/members/{}/records?limit=200{}",
            charity.to_hex(),
            after
                .as_ref()
                .map(|a| format!("&after={a}"))
                .unwrap_or_default()
        );
        let page = nodes.get(&path).await?;
        for r in page["items"].as_array().cloned().unwrap_or_default() {
            let time = Timestamp(r["time"]["ms"].as_u64().unwrap_or(0));
            if time < t0 || time >= t1 {
                continue;
            }
            let bytes = hex::decode(r["bytes"].as_str().unwrap_or(""))?;
            let rec = super::donor::decode_record(&bytes)?;
            if let Payload::RecordDonation(d) = &rec.signed.body.payload {
                if matches!(d.channel, Channel::Bank | Channel::DigitalRmb) {
                    ledger.push((d.receipt.0.clone(), d.amount, time, rec.id.to_hex()));
                }
            }
        }
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => break,
        }
    }
    let mut missing_on_ledger = Vec::new();
    let mut differ = Vec::new();
    let mut matched = std::collections::BTreeSet::new();
    for b in &lines {
        match ledger.iter().find(|(r, ..)| *r == b.reference) {
            Some((r, amount, _, id)) => {
                matched.insert(r.clone());
                if *amount != b.amount {
                    differ.push(json!({"reference": r, "bank": b.amount.0, "ledger": amount.0, "record": id, "line": b.line}));
                }
            }
            None => missing_on_ledger.push(json!({"line": b.line, "date": b.date, "amount": b.amount.0, "reference": b.reference})),
        }
    }
    let missing_in_bank: Vec<Value> = ledger
        .iter()
        .filter(|(r, ..)| !matched.contains(r))
        .map(|(r, a, t, id)| json!({"receipt": r, "amount": a.0, "time": t.to_string(), "record": id}))
        .collect();
    let ok = missing_on_ledger.is_empty()
        && missing_in_bank.is_empty()
        && differ.is_empty()
        && bad.is_empty();
    let mut text = format!(
        "{} {} to {}: {} bank lines, {} donations by bank or e-CNY on the ledger, {} matched",
        if ok { "✓" } else { "✗" },
        from,
        to,
        lines.len(),
        ledger.len(),
        matched.len()
    );
    for m in &missing_on_ledger {
        text += &format!(
            "\n  on the statement, not on the ledger: line {} {} {} ref {}",
            m["line"],
            m["date"].as_str().unwrap_or(""),
            Fen(m["amount"].as_u64().unwrap_or(0)),
            m["reference"].as_str().unwrap_or("")
        );
    }
    for m in &missing_in_bank {
        text += &format!(
            "\n  on the ledger, not on the statement: receipt {} {} ({})",
            m["receipt"].as_str().unwrap_or(""),
            Fen(m["amount"].as_u64().unwrap_or(0)),
            m["time"].as_str().unwrap_or("")
        );
    }
    for d in &differ {
        text += &format!(
            "\n  amounts differ for {}: bank {}, ledger {}",
            d["reference"].as_str().unwrap_or(""),
            Fen(d["bank"].as_u64().unwrap_or(0)),
            Fen(d["ledger"].as_u64().unwrap_or(0))
        );
    }
    for b in &bad {
        text += &format!(
            "\n  bad statement line {}: {}",
            b["line"],
            b["reason"].as_str().unwrap_or("")
        );
    }
    let j = json!({"ok": ok, "matched": matched.len(), "missing_on_ledger": missing_on_ledger, "missing_in_bank": missing_in_bank, "amounts_differ": differ, "bad_lines": bad});
    Ok(if ok {
        Report::ok(j, text)
    } else {
        Report::failed(j, text)
    })
}

/// The checkpoint of `height`, verified from genesis (for an attestation or
/// a witness signature).
pub async fn verified_checkpoint(
    nodes: &Nodes,
    genesis: &Genesis,
    height: u64,
) -> Result<shanlian_ledger::block::SignedCheckpoint> {
    let v = nodes
        .get(&format!(
            "/api/v1/checkpoints/proof?from={height}&to={height}"
        ))
        .await?;
    let p: CheckpointProof =
        serde_json::from_value(v).context("the explorer's checkpoint proof")?;
    verify_checkpoints(genesis, &p)
        .map_err(|e| anyhow::anyhow!("the checkpoint of block {height} does not verify: {e}"))?;
    Ok(p.new)
}

/// A witness co-signature on the checkpoint of `height`: the checkpoint with
/// this key's signature added (SPEC §7.4), written to `out`.
pub async fn witness(
    nodes: &Nodes,
    genesis: &Genesis,
    key: &shanlian_ledger::crypto::Keypair,
    height: u64,
    out: &Path,
) -> Result<Report> {
    let mut c = verified_checkpoint(nodes, genesis, height).await?;
    let signature = key.sign(
        shanlian_ledger::crypto::Domain::Witness,
        &genesis.hash(),
        &shanlian_ledger::codec::encode(&c.checkpoint),
    );
    c.witnesses.push(shanlian_ledger::block::WitnessSignature {
        witness: key.public(),
        signature,
    });
    std::fs::write(out, serde_json::to_string_pretty(&c)? + "\n")
        .with_context(|| format!("{}", out.display()))?;
    Ok(Report::ok(
        json!({"height": height, "header_hash": hex::encode(c.checkpoint.header_hash), "file": out.display().to_string()}),
        format!(
            "✓ co-signed the checkpoint of block {height} (log {} records, header {}) as a witness: {}",
            c.checkpoint.log_size,
            hex::encode(c.checkpoint.header_hash),
            out.display()
        ),
    ))
}

/// The store of a local chain, read by `export`.
pub fn open_store(dir: &Path) -> Result<Store> {
    Store::open(dir).with_context(|| {
        format!(
            "store {} (a node's store, stopped, or one made by `shanlian audit download`)",
            dir.display()
        )
    })
}

/// `LedgerReader` for the export.
pub fn reader(store: &Store) -> &dyn LedgerReader {
    store
}
