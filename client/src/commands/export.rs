//! `shanlian export`: the books of a local chain (a stopped node's store, or
//! one `shanlian audit download` made) as CSV or JSON Lines, for pandas,
//! Excel or DuckDB. Money is in integer fen; times are UTC (RFC 3339 and
//! milliseconds).

use crate::Report;
use anyhow::{Context, Result};
use serde_json::{json, Value};
use shanlian_ledger::record::{Payload, Record, WelfareRecipient};
use shanlian_ledger::store::query::LedgerReader;
use shanlian_ledger::store::Store;
use shanlian_ledger::tracing::What;
use shanlian_ledger::types::*;
use std::io::Write;
use std::path::Path;

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Table {
    Records,
    Donations,
    Flows,
    Allocations,
    Lottery,
}

/// How to write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

/// Rows as ordered (column, value) pairs.
type Row = Vec<(&'static str, Value)>;

struct Sink {
    format: Format,
    out: Box<dyn Write>,
    header: bool,
    rows: u64,
}

impl Sink {
    fn row(&mut self, row: Row) -> Result<()> {
        match self.format {
            Format::Jsonl => {
                let obj: serde_json::Map<String, Value> =
                    row.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                writeln!(self.out, "{}", Value::Object(obj))?;
            }
            Format::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(Vec::new());
                if !self.header {
                    w.write_record(row.iter().map(|(k, _)| *k))?;
                    self.header = true;
                }
                w.write_record(row.iter().map(|(_, v)| match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                }))?;
                self.out
                    .write_all(&w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
            }
        }
        self.rows += 1;
        Ok(())
    }
}

fn channel_name(c: &Channel) -> &'static str {
    match c {
        Channel::Bank => "bank",
        Channel::DigitalRmb => "digital-rmb",
        Channel::OnlinePlatform => "online",
        Channel::Cash => "cash",
        Channel::InKind { .. } => "in-kind",
    }
}

fn each_record(
    store: &Store,
    mut f: impl FnMut(u64, u32, Timestamp, &Record) -> Result<()>,
) -> Result<()> {
    let tip = store.tip()?.map_or(0, |t| t.height);
    let max = store
        .genesis()?
        .map_or(4096, |g| g.params.max_record_bytes as usize);
    for h in 1..=tip {
        let b = store
            .block(h)?
            .with_context(|| format!("block {h} missing"))?;
        for (i, bytes) in b.records.iter().enumerate() {
            let r =
                Record::from_bytes(bytes, max).map_err(|e| anyhow::anyhow!("block {h}: {e}"))?;
            f(h, i as u32, b.header.time, &r)?;
        }
    }
    Ok(())
}

/// Writes one table of a local chain to `out` (or standard output).
pub fn run(store: &Store, what: Table, format: Format, out: Option<&Path>) -> Result<Report> {
    let writer: Box<dyn Write> = match out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("{}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let mut sink = Sink {
        format,
        out: writer,
        header: false,
        rows: 0,
    };
    let signer = |r: &Record| -> Result<String> {
        Ok(store
            .key_owner(&r.signed.signer)?
            .map(|a| a.to_hex())
            .unwrap_or_default())
    };
    let genesis = store.genesis()?.context("the store holds no chain")?;
    match what {
        Table::Records => each_record(store, |h, i, t, r| {
            let (amount, label) = super::donor::describe(&r.signed.body.payload);
            sink.row(vec![
                ("height", json!(h)),
                ("index", json!(i)),
                ("id", json!(r.id.to_hex())),
                ("time", json!(t.to_string())),
                ("time_ms", json!(t.0)),
                ("kind", json!(r.signed.body.payload.kind())),
                ("signer", json!(signer(r)?)),
                ("amount_fen", json!(amount)),
                ("description", json!(label)),
                (
                    "payload",
                    json!(serde_json::to_string(&r.signed.body.payload)?),
                ),
            ])
        })?,
        Table::Donations => each_record(store, |h, _, t, r| {
            if let Payload::RecordDonation(d) = &r.signed.body.payload {
                let charity = signer(r)?;
                let refunded = Address::from_hex(&charity)
                    .ok()
                    .and_then(|a| store.donation(&a, &d.receipt).ok().flatten())
                    .map_or(0, |x| x.refunded.0);
                sink.row(vec![
                    ("record", json!(r.id.to_hex())),
                    ("height", json!(h)),
                    ("time", json!(t.to_string())),
                    ("charity", json!(charity)),
                    ("receipt", json!(d.receipt.0)),
                    ("fund", json!(d.fund.to_string())),
                    ("amount_fen", json!(d.amount.0)),
                    ("refunded_fen", json!(refunded)),
                    ("channel", json!(channel_name(&d.channel))),
                    ("donor_commitment", json!(d.donor.to_hex())),
                    ("restricted", json!(d.restricted)),
                    ("pledge", json!(d.pledge)),
                ])?;
            }
            Ok(())
        })?,
        Table::Flows => each_record(store, |_, _, _, r| {
            if let Payload::RecordDonation(d) = &r.signed.body.payload {
                let Some(a) = store.key_owner(&r.signed.signer)? else {
                    return Ok(());
                };
                let Some(don) = store.donation(&a, &d.receipt)? else {
                    return Ok(());
                };
                for s in store.follow(&don.fund, don.start, don.amount.0)? {
                    let (kind, record) = match &s.what {
                        What::Spent { outflow, .. } => ("spent", Some(outflow.to_hex())),
                        What::Refunded { refund } => ("refunded", Some(refund.to_hex())),
                        What::NotShownSpent => ("unspent", None),
                    };
                    sink.row(vec![
                        ("donation", json!(r.id.to_hex())),
                        ("receipt", json!(d.receipt.0)),
                        ("fund", json!(s.fund.to_string())),
                        ("depth", json!(s.depth)),
                        ("what", json!(kind)),
                        ("record", json!(record)),
                        ("amount_fen", json!(s.amount.0)),
                    ])?;
                }
            }
            Ok(())
        })?,
        Table::Allocations => each_record(store, |h, _, t, r| {
            if let Payload::AllocateWelfareFund(a) = &r.signed.body.payload {
                let (kind, to) = match &a.recipient {
                    WelfareRecipient::Project(p) => ("project", p.0.clone()),
                    WelfareRecipient::Programme(n) => ("programme", n.clone()),
                };
                sink.row(vec![
                    ("record", json!(r.id.to_hex())),
                    ("height", json!(h)),
                    ("time", json!(t.to_string())),
                    ("year", json!(t.utc_year())),
                    ("purpose", json!(format!("{:?}", a.purpose))),
                    ("amount_fen", json!(a.amount.0)),
                    ("recipient_kind", json!(kind)),
                    ("recipient", json!(to)),
                ])?;
            }
            Ok(())
        })?,
        Table::Lottery => each_record(store, |h, _, t, r| {
            if let Payload::RecordLotterySales(s) = &r.signed.body.payload {
                let split = genesis
                    .game(&s.game)
                    .map(|g| shanlian_ledger::lottery::split_sales(g, s.sales));
                sink.row(vec![
                    ("record", json!(r.id.to_hex())),
                    ("height", json!(h)),
                    ("time", json!(t.to_string())),
                    ("game", json!(s.game.0)),
                    ("period", json!(s.period)),
                    ("region", json!(s.region)),
                    ("sales_fen", json!(s.sales.0)),
                    ("prize_fen", json!(split.as_ref().map(|x| x.prize.0))),
                    (
                        "issuance_fee_fen",
                        json!(split.as_ref().map(|x| x.issuance_fee.0)),
                    ),
                    (
                        "welfare_central_fen",
                        json!(split.as_ref().map(|x| x.welfare_central.0)),
                    ),
                    (
                        "welfare_local_fen",
                        json!(split.as_ref().map(|x| x.welfare_local.0)),
                    ),
                ])?;
            }
            Ok(())
        })?,
    }
    sink.out.flush()?;
    let rows = sink.rows;
    Ok(Report::ok(
        json!({"rows": rows, "file": out.map(|p| p.display().to_string())}),
        match out {
            Some(p) => format!("wrote {rows} rows to {}", p.display()),
            None => String::new(),
        },
    ))
}
