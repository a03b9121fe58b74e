//! `shanlian import donations|disbursements|sales FILE.csv`: a charity's (or
//! the lottery centre's) books in bulk, through the batch endpoint.
//!
//! Every bad row is reported with its line, column and reason while the good
//! ones go through. A re-run skips what is already on the ledger: each row
//! has a key (its `key` column, else the receipt number of a donation, the
//! game/period/region of a sales report, or the row's own text), and a
//! journal beside the file (`FILE.csv.journal`) remembers the record each
//! key was signed into; the ledger refuses a second donation with the same
//! receipt and a second sales report for the same period and region.
//!
//! Columns (a header row names them; order is free; `#` starts a comment
//! line):
//!
//! * donations: `receipt`, `amount` (yuan `123.45` or `12345fen`), `fund`
//!   (`general` or `project:<id>`), `channel` (`bank`, `digital-rmb`,
//!   `online`, `cash`), and either `donor_commitment` (hex) or
//!   `donor_identity` (a salt is drawn and written to `--salts-out` for the
//!   donor's receipt); optional `restricted` (`true`/`false`), `pledge`,
//!   `key`.
//! * disbursements: `fund`, `amount`, `category` (`charitable-activity`,
//!   `management`, `fundraising`), `recipient` (an organisation's name) or
//!   `recipient_identity` (a person, committed with a drawn salt), optional
//!   `recipient_uscc`, `purpose`, `evidence` (`kind=path-or-hash;…`, files
//!   hashed locally with blake3, never uploaded), `milestone`, `key`.
//! * sales: `game`, `period`, `region`, `amount`, optional `key`.

use crate::api::Nodes;
use crate::Report;
use anyhow::{bail, Context, Result};
use serde_json::json;
use shanlian_ledger::crypto::{commitment, document_hash, Keypair};
use shanlian_ledger::record::*;
use shanlian_ledger::types::*;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Donations,
    Disbursements,
    Sales,
}

/// A row that could not become a record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BadRow {
    pub line: u64,
    pub column: String,
    pub reason: String,
}

/// A good row: its key and payload, and the salt drawn for it, if any.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub key: String,
    pub payload: Payload,
    pub salt: Option<[u8; 32]>,
}

pub fn salt() -> [u8; 32] {
    use rand_core::RngCore;
    let mut s = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut s);
    s
}

pub fn parse_fund(s: &str, me: Address) -> Result<FundRef, String> {
    match s.trim() {
        "" | "general" => Ok(FundRef::General(me)),
        p => p
            .strip_prefix("project:")
            .filter(|id| !id.is_empty())
            .map(|id| FundRef::Project(ProjectId(id.to_string())))
            .ok_or_else(|| "a fund is `general` or `project:<id>`".to_string()),
    }
}

pub fn parse_channel(s: &str) -> Result<Channel, String> {
    Ok(match s.trim().to_ascii_lowercase().as_str() {
        "bank" | "银行" => Channel::Bank,
        "digital-rmb" | "e-cny" | "数字人民币" => Channel::DigitalRmb,
        "online" | "online-platform" | "网络平台" => Channel::OnlinePlatform,
        "cash" | "现金" => Channel::Cash,
        _ => return Err("a channel is bank, digital-rmb, online or cash".into()),
    })
}

pub fn parse_category(s: &str) -> Result<SpendingCategory, String> {
    Ok(match s.trim().to_ascii_lowercase().as_str() {
        "charitable-activity" | "charitable" | "activity" => SpendingCategory::CharitableActivity,
        "management" => SpendingCategory::Management,
        "fundraising" => SpendingCategory::Fundraising,
        _ => return Err("a category is charitable-activity, management or fundraising".into()),
    })
}

pub fn parse_evidence_kind(s: &str) -> Result<EvidenceKind, String> {
    Ok(match s.trim().to_ascii_lowercase().as_str() {
        "invoice" => EvidenceKind::Invoice,
        "contract" => EvidenceKind::Contract,
        "photo" => EvidenceKind::Photo,
        "bank-slip" | "bankslip" => EvidenceKind::BankSlip,
        "report" => EvidenceKind::Report,
        "other" => EvidenceKind::Other,
        _ => {
            return Err(
                "an evidence kind is invoice, contract, photo, bank-slip, report or other".into(),
            )
        }
    })
}

/// One evidence item: `kind=path` (the file is hashed here) or
/// `kind=<64 hex>` (a hash made elsewhere).
pub fn parse_evidence(item: &str, base: &Path) -> Result<Evidence, String> {
    let (kind, what) = item
        .split_once('=')
        .ok_or_else(|| format!("evidence {item:?}: write kind=file"))?;
    let kind = parse_evidence_kind(kind)?;
    let what = what.trim();
    let hash = match Hash32::try_from(hex::decode(what).unwrap_or_default().as_slice()) {
        Ok(h) => h,
        Err(_) => {
            let path = base.join(what);
            let doc =
                std::fs::read(&path).map_err(|e| format!("evidence {}: {e}", path.display()))?;
            document_hash(&doc)
        }
    };
    Ok(Evidence { kind, hash })
}

/// Reads a CSV into good rows and bad ones.
pub fn read(kind: Kind, path: &Path, me: Address) -> Result<(Vec<Row>, Vec<BadRow>)> {
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .flexible(false)
        .from_path(path)
        .with_context(|| format!("{}", path.display()))?;
    let headers = rdr
        .headers()
        .with_context(|| format!("{}: the header row", path.display()))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let required: &[&str] = match kind {
        Kind::Donations => &["receipt", "amount", "channel"],
        Kind::Disbursements => &["fund", "amount", "category", "purpose"],
        Kind::Sales => &["game", "period", "region", "amount"],
    };
    for r in required {
        if col(r).is_none() {
            bail!(
                "{}: no `{r}` column (the header row has: {})",
                path.display(),
                headers.iter().collect::<Vec<_>>().join(", ")
            );
        }
    }
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                bad.push(BadRow {
                    line,
                    column: String::new(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line());
        let get = |name: &str| col(name).and_then(|i| rec.get(i)).unwrap_or("").to_string();
        let fail = |column: &str, reason: String| BadRow {
            line,
            column: column.into(),
            reason,
        };
        let amount = match crate::money::parse(&get("amount")) {
            Ok(a) => a,
            Err(e) => {
                bad.push(fail("amount", e.to_string()));
                continue;
            }
        };
        let row_key = get("key");
        let parsed: Result<Row, BadRow> = (|| match kind {
            Kind::Donations => {
                let receipt = get("receipt");
                if receipt.is_empty() {
                    return Err(fail(
                        "receipt",
                        "a donation needs its e-receipt number".into(),
                    ));
                }
                let fund = parse_fund(&get("fund"), me).map_err(|e| fail("fund", e))?;
                let channel = parse_channel(&get("channel")).map_err(|e| fail("channel", e))?;
                let (donor, salt) = match (get("donor_commitment"), get("donor_identity")) {
                    (c, _) if !c.is_empty() => {
                        let mut h = [0u8; 32];
                        hex::decode_to_slice(&c, &mut h)
                            .map_err(|_| fail("donor_commitment", "a commitment is 64 hex digits".into()))?;
                        (Commitment(h), None)
                    }
                    (_, id) if !id.is_empty() => {
                        let s = salt();
                        (commitment(&id, &s), Some(s))
                    }
                    _ => {
                        return Err(fail(
                            "donor_identity",
                            "give donor_identity (committed here with a fresh salt) or donor_commitment".into(),
                        ))
                    }
                };
                let restricted = match get("restricted").to_ascii_lowercase().as_str() {
                    "" | "false" | "no" | "0" => false,
                    "true" | "yes" | "1" => true,
                    other => return Err(fail("restricted", format!("{other:?}: true or false"))),
                };
                let pledge = Some(get("pledge")).filter(|p| !p.is_empty());
                Ok(Row {
                    line,
                    key: if row_key.is_empty() {
                        format!("receipt:{receipt}")
                    } else {
                        row_key.clone()
                    },
                    payload: Payload::RecordDonation(RecordDonation {
                        receipt: ReceiptNo(receipt),
                        donor,
                        amount,
                        channel,
                        fund,
                        restricted,
                        pledge,
                    }),
                    salt,
                })
            }
            Kind::Disbursements => {
                let fund = parse_fund(&get("fund"), me).map_err(|e| fail("fund", e))?;
                let category = parse_category(&get("category")).map_err(|e| fail("category", e))?;
                let (recipient, salt) = match (get("recipient"), get("recipient_identity")) {
                    (name, _) if !name.is_empty() => {
                        let uscc = Some(get("recipient_uscc"))
                            .filter(|u| !u.is_empty())
                            .map(Uscc);
                        (Recipient::Organisation { name, uscc }, None)
                    }
                    (_, id) if !id.is_empty() => {
                        let s = salt();
                        (Recipient::Person(commitment(&id, &s)), Some(s))
                    }
                    _ => {
                        return Err(fail(
                            "recipient",
                            "give recipient (an organisation) or recipient_identity (a person)"
                                .into(),
                        ))
                    }
                };
                let mut evidence = Vec::new();
                for item in get("evidence").split(';').filter(|s| !s.trim().is_empty()) {
                    evidence.push(parse_evidence(item, &base).map_err(|e| fail("evidence", e))?);
                }
                let purpose = get("purpose");
                let milestone = Some(get("milestone")).filter(|m| !m.is_empty());
                let key = if row_key.is_empty() {
                    format!(
                        "row:{}",
                        hex::encode(document_hash(rec.as_slice().as_bytes()))
                    )
                } else {
                    row_key.clone()
                };
                Ok(Row {
                    line,
                    key,
                    payload: Payload::RecordDisbursement(RecordDisbursement {
                        fund,
                        amount,
                        category,
                        recipient,
                        purpose,
                        evidence,
                        milestone,
                    }),
                    salt,
                })
            }
            Kind::Sales => {
                let (game, period, region) = (get("game"), get("period"), get("region"));
                for (c, v) in [("game", &game), ("period", &period), ("region", &region)] {
                    if v.is_empty() {
                        return Err(fail(c, format!("a sales report needs its {c}")));
                    }
                }
                Ok(Row {
                    line,
                    key: if row_key.is_empty() {
                        format!("sales:{game}/{period}/{region}")
                    } else {
                        row_key.clone()
                    },
                    payload: Payload::RecordLotterySales(RecordLotterySales {
                        game: GameId(game),
                        period,
                        region,
                        sales: amount,
                    }),
                    salt: None,
                })
            }
        })();
        match parsed {
            Ok(r) => rows.push(r),
            Err(b) => bad.push(b),
        }
    }
    // The same key twice in one file: the later rows are refused.
    let mut seen = HashMap::new();
    let mut kept = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(first) = seen.insert(r.key.clone(), r.line) {
            bad.push(BadRow {
                line: r.line,
                column: "key".into(),
                reason: format!("the same {} as line {first}", r.key),
            });
            seen.insert(r.key.clone(), first);
        } else {
            kept.push(r);
        }
    }
    bad.sort_by_key(|b| b.line);
    Ok((kept, bad))
}

/// The journal: key → the record signed for it (its bytes, hex), one JSON
/// object per line, appended as rows are signed.
pub fn journal_path(csv: &Path) -> PathBuf {
    let mut p = csv.as_os_str().to_owned();
    p.push(".journal");
    PathBuf::from(p)
}

fn load_journal(path: &Path) -> Result<HashMap<String, Vec<u8>>> {
    let mut out = HashMap::new();
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(out);
    };
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{} line {}: damaged journal", path.display(), i + 1))?;
        if let (Some(k), Some(b)) = (v["key"].as_str(), v["record"].as_str()) {
            out.insert(k.to_string(), hex::decode(b).unwrap_or_default());
        }
    }
    Ok(out)
}

/// Codes meaning "this row is already on the ledger".
const ALREADY: [&str; 3] = [
    "record.duplicate",
    "donation.duplicate_receipt",
    "lottery.duplicate_sales",
];

/// Imports a file; returns the summary.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    kind: Kind,
    path: &Path,
    nodes: &Nodes,
    key: &Keypair,
    genesis_hash: &Hash32,
    batch: usize,
    salts_out: Option<&Path>,
    progress: bool,
) -> Result<Report> {
    let me = Address::of_key(&key.public());
    let (rows, bad) = read(kind, path, me)?;
    let jpath = journal_path(path);
    let journal = load_journal(&jpath)?;
    let mut jfile = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&jpath)
        .with_context(|| format!("journal {}", jpath.display()))?;
    // Salts drawn for donors and recipients, for their receipts.
    let mut salts = Vec::new();
    // Sign every row not in the journal; reuse the journal's bytes otherwise.
    let expires = Duration::from_secs(3_000);
    let mut records: Vec<(usize, Record)> = Vec::with_capacity(rows.len());
    let mut fresh = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        match journal
            .get(&r.key)
            .and_then(|b| Record::from_bytes(b, 1 << 20).ok())
        {
            Some(rec) => records.push((i, rec)),
            None => fresh.push(i),
        }
    }
    {
        use rayon::prelude::*;
        let signed: Vec<(usize, Record)> = fresh
            .par_iter()
            .map(|&i| {
                (
                    i,
                    super::submit::sign(key, genesis_hash, rows[i].payload.clone(), expires),
                )
            })
            .collect();
        for (i, rec) in &signed {
            writeln!(
                jfile,
                "{}",
                json!({"key": rows[*i].key, "record": hex::encode(&rec.bytes)})
            )?;
            if let Some(s) = rows[*i].salt {
                salts.push((rows[*i].key.clone(), hex::encode(s)));
            }
        }
        jfile.flush()?;
        records.extend(signed);
    }
    records.sort_by_key(|(i, _)| *i);
    if let (Some(out), false) = (salts_out, salts.is_empty()) {
        let mut w = csv::Writer::from_path(out).with_context(|| format!("{}", out.display()))?;
        w.write_record(["key", "salt"])?;
        for (k, s) in &salts {
            w.write_record([k, s])?;
        }
        w.flush()?;
    }
    let bar = if progress {
        let b = indicatif::ProgressBar::new(records.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg} [{bar:40}] {pos}/{len} rows ({per_sec}, {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_message("submitting");
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut accepted: Vec<RecordId> = Vec::new();
    let mut accepted_lines: Vec<(RecordId, u64)> = Vec::new();
    let mut already = 0usize;
    let mut refused: Vec<BadRow> = Vec::new();
    let mut to_send: Vec<(usize, Record)> = records;
    let mut resigned = 0usize;
    // Batches in flight at once: the next batches are on the wire (and being
    // admitted) while this one's answer is read.
    const IN_FLIGHT: usize = 3;
    let submit = |chunk: &[(usize, Record)]| {
        let bytes: Vec<Vec<u8>> = chunk.iter().map(|(_, r)| r.bytes.clone()).collect();
        let nodes = nodes.clone();
        tokio::spawn(async move {
            loop {
                match nodes.submit_batch(&bytes).await {
                    Err(e)
                        if e.downcast_ref::<crate::api::Refused>()
                            .is_some_and(|r| r.code == "pool.full") =>
                    {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    other => return other,
                }
            }
        })
    };
    while !to_send.is_empty() {
        let mut retry = Vec::new();
        let chunks: Vec<&[(usize, Record)]> = to_send.chunks(batch.max(1)).collect();
        let mut inflight = std::collections::VecDeque::new();
        let mut next = 0;
        for &chunk in &chunks {
            while inflight.len() < IN_FLIGHT && next < chunks.len() {
                inflight.push_back(submit(chunks[next]));
                next += 1;
            }
            let answer = match inflight.pop_front() {
                Some(task) => task.await.context("a batch submission failed")??,
                None => bail!("no batch in flight"),
            };
            let mut failed = vec![None; chunk.len()];
            for (i, code, message) in answer.refused {
                if let Some(f) = failed.get_mut(i) {
                    *f = Some((code, message));
                }
            }
            for ((i, rec), f) in chunk.iter().zip(failed) {
                match f {
                    None => {
                        accepted.push(rec.id);
                        accepted_lines.push((rec.id, rows[*i].line));
                    }
                    Some((code, _)) if ALREADY.contains(&code.as_str()) => already += 1,
                    Some((code, _)) if code == "pool.full" => retry.push((*i, rec.clone())),
                    Some((code, _)) if code == "time.expired" => {
                        // Signed by an earlier run that did not finish: if it
                        // never committed, sign it afresh.
                        let st = nodes
                            .get(&format!("/api/v1/records/{}/status", rec.id.to_hex()))
                            .await
                            .ok();
                        if st.as_ref().and_then(|v| v["status"].as_str()) == Some("committed") {
                            already += 1;
                        } else {
                            let again = super::submit::sign(
                                key,
                                genesis_hash,
                                rows[*i].payload.clone(),
                                expires,
                            );
                            writeln!(
                                jfile,
                                "{}",
                                json!({"key": rows[*i].key, "record": hex::encode(&again.bytes)})
                            )?;
                            resigned += 1;
                            retry.push((*i, again));
                        }
                    }
                    Some((code, message)) => refused.push(BadRow {
                        line: rows[*i].line,
                        column: String::new(),
                        reason: format!("{code}: {message}"),
                    }),
                }
            }
            bar.inc(chunk.len() as u64);
        }
        jfile.flush()?;
        if !retry.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        to_send = retry;
    }
    let submitted_in = started.elapsed();
    // Wait for every accepted record to commit.
    bar.set_message("committing");
    bar.set_length(accepted.len() as u64);
    bar.set_position(0);
    let mut committed = 0usize;
    let line_of: HashMap<RecordId, u64> = accepted_lines.iter().copied().collect();
    let mut pending: Vec<RecordId> = accepted.clone();
    let deadline = Instant::now() + Duration::from_secs(600);
    while !pending.is_empty() {
        // The pool is taken oldest first: wait for the newest record, then
        // check them all once.
        if let Some(last) = pending.last().copied() {
            loop {
                let st = nodes
                    .get(&format!("/api/v1/records/{}/status", last.to_hex()))
                    .await
                    .ok();
                match st.as_ref().and_then(|v| v["status"].as_str()) {
                    Some("pending") | Some("unknown") | None => {}
                    _ => break,
                }
                if Instant::now() > deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let mut still = Vec::new();
        let statuses = statuses(nodes, &pending).await;
        for (id, st) in pending.iter().zip(statuses) {
            let v = st.unwrap_or_default();
            let status = v["status"].as_str().unwrap_or("").to_string();
            match status.as_str() {
                "committed" => committed += 1,
                "refused" | "expired" => refused.push(BadRow {
                    line: line_of.get(id).copied().unwrap_or(0),
                    column: String::new(),
                    reason: match status.as_str() {
                        "refused" => format!(
                            "refused when a block checked it: {}: {}",
                            v["code"].as_str().unwrap_or(""),
                            v["message"].as_str().unwrap_or("")
                        ),
                        _ => "expired before a block took it (re-run to sign it again)".into(),
                    },
                }),
                _ => still.push(*id),
            }
        }
        bar.set_position(committed as u64);
        if still.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "{} records were not committed within 10 minutes; re-run to resume",
                still.len()
            );
        }
        pending = still;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    let rate = committed as f64 / elapsed.as_secs_f64().max(1e-9);
    let mut all_bad = bad.clone();
    all_bad.extend(refused.iter().cloned());
    let j = json!({
        "file": path.display().to_string(),
        "rows": rows.len() + bad.len(),
        "bad_rows": all_bad,
        "submitted": accepted.len(),
        "already_on_ledger": already,
        "signed_again": resigned,
        "committed": committed,
        "seconds": elapsed.as_secs_f64(),
        "submit_seconds": submitted_in.as_secs_f64(),
        "committed_per_s": rate,
        "journal": jpath.display().to_string(),
    });
    let mut text = format!(
        "{}: {} rows — {} committed, {} already on the ledger, {} bad\n  {} records/s committed ({:.1} s)",
        path.display(),
        rows.len() + bad.len(),
        committed,
        already,
        all_bad.len(),
        rate.round(),
        elapsed.as_secs_f64()
    );
    for b in all_bad.iter().take(50) {
        text += &format!(
            "\n  line {}{}: {}",
            b.line,
            if b.column.is_empty() {
                String::new()
            } else {
                format!(", column {}", b.column)
            },
            b.reason
        );
    }
    if all_bad.len() > 50 {
        text += &format!(
            "\n  … and {} more (--json lists them all)",
            all_bad.len() - 50
        );
    }
    Ok(if all_bad.is_empty() {
        Report::ok(j, text)
    } else {
        Report::failed(j, text)
    })
}

/// The status of each record, asked in batches (unknown where no explorer
/// answered: they are asked again on the next round).
async fn statuses(nodes: &Nodes, ids: &[RecordId]) -> Vec<Option<serde_json::Value>> {
    match nodes.statuses(ids).await {
        Ok(v) => v.into_iter().map(Some).collect(),
        Err(_) => vec![None; ids.len()],
    }
}
