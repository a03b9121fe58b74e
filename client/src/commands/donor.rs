//! What a donor runs: `verify` (a receipt, offline, against the genesis),
//! `trace` (where the money went, proven), `check-evidence` (does this
//! document match what the charity recorded).

use crate::api::Nodes;
use crate::receipt::ReceiptFile;
use crate::Report;
use anyhow::{bail, Context, Result};
use serde_json::json;
use shanlian_ledger::bundle::{self, CheckpointProof};
use shanlian_ledger::crypto::commitment;
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::record::{Payload, Record};
use shanlian_ledger::tracing::{self, Direction, TraceProof, What};
use shanlian_ledger::types::*;
use std::path::Path;

/// `shanlian verify`: the receipt's bundle against the genesis (signature,
/// inclusion, certificate, validator-set evidence), the donor's own
/// commitment, and, given a newer checkpoint (from the explorers or a
/// saved checkpoint proof), consistency.
pub async fn verify(
    receipt: &Path,
    genesis: &Genesis,
    identity: Option<&str>,
    nodes: Option<&Nodes>,
    checkpoint: Option<&Path>,
) -> Result<Report> {
    let file = ReceiptFile::read(receipt)?;
    let mut steps = Vec::new();
    let gh = hex::encode(genesis.hash());
    if !file.genesis_hash.is_empty() && file.genesis_hash != gh {
        return Ok(Report::failed(
            json!({"ok": false, "step": "genesis", "code": "receipt.other_genesis",
                "message": format!("the receipt belongs to genesis {}, not {gh}", file.genesis_hash)}),
            format!(
                "✗ this receipt belongs to another chain (genesis {}, the genesis file given is {gh})",
                file.genesis_hash
            ),
        ));
    }
    let b = file.bundle()?;
    let proved = match bundle::verify(genesis, &b) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Report::failed(
                json!({"ok": false, "step": e.at, "code": e.code(), "message": e.to_string()}),
                format!(
                    "✗ the receipt does NOT verify: at {} — {} ({})",
                    e.at,
                    e.kind,
                    e.code()
                ),
            ))
        }
    };
    let set = format!(
        "record signature by {} ✓",
        proved
            .signer
            .as_ref()
            .map(|m| format!("{} ({})", m.name, m.address))
            .unwrap_or_else(|| "an unknown key".into())
    );
    steps.push(set);
    steps.push(format!(
        "inclusion: leaf {} of the log of {} records under the header of block {} ✓",
        proved.log_index, b.block.checkpoint.header.log_size, proved.height
    ));
    steps.push(format!(
        "certificate of block {}: more than two thirds of the validators followed from genesis ({} governance records) ✓",
        proved.height,
        b.validators.iter().map(|s| s.records.len()).sum::<usize>()
    ));
    let mut donor_ok = None;
    if let Some(identity) = identity {
        let Payload::RecordDonation(d) = &proved.record.body.payload else {
            bail!("--identity: the receipt's record is not a donation");
        };
        let Some(secret) = &file.donor_secret else {
            bail!("--identity: the receipt file holds no salt (a bare bundle): the charity's receipt file has it");
        };
        let mut salt = [0u8; 32];
        hex::decode_to_slice(&secret.salt, &mut salt).context("the receipt's salt")?;
        let ok = commitment(identity, &salt) == d.donor;
        donor_ok = Some(ok);
        steps.push(if ok {
            "donor: the donation's commitment opens to your identity ✓".into()
        } else {
            "✗ donor: the donation's commitment does NOT open to that identity".into()
        });
    }
    // A newer checkpoint: the receipt's history must be a prefix of it.
    let mut consistency = None;
    let newer: Option<CheckpointProof> = match (checkpoint, nodes) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("checkpoint proof {}", path.display()))?;
            Some(
                serde_json::from_str(&text)
                    .with_context(|| format!("checkpoint proof {}", path.display()))?,
            )
        }
        (None, Some(nodes)) => {
            let h = proved.checkpoint.height;
            let v = nodes
                .get(&format!("/api/v1/checkpoints/proof?from={h}"))
                .await?;
            Some(serde_json::from_value(v).context("the explorer's checkpoint proof")?)
        }
        _ => None,
    };
    if let Some(p) = newer {
        match bundle::verify_checkpoints(genesis, &p) {
            Ok((old, new)) if old == proved.checkpoint => {
                steps.push(format!(
                    "consistency: the network's checkpoint of block {} extends the receipt's history (log {} → {}) ✓",
                    new.height, old.log_size, new.log_size
                ));
                consistency =
                    Some(json!({"ok": true, "height": new.height, "log_size": new.log_size}));
            }
            Ok((old, _)) => {
                let msg = format!(
                    "FORK: the network's certified block {} is not the one in the receipt (header {} ≠ {})",
                    old.height,
                    hex::encode(old.header_hash),
                    hex::encode(proved.checkpoint.header_hash)
                );
                return Ok(Report::failed(
                    json!({"ok": false, "step": "consistency", "code": "receipt.fork", "message": msg}),
                    format!("✗ {msg}"),
                ));
            }
            Err(e) => {
                return Ok(Report::failed(
                    json!({"ok": false, "step": format!("checkpoint.{}", e.at), "code": e.code(), "message": e.to_string()}),
                    format!(
                        "✗ the newer checkpoint does NOT verify: at {} — {}",
                        e.at, e.kind
                    ),
                ))
            }
        }
    }
    let ok = donor_ok != Some(false);
    let (amount, label) = describe(&proved.record.body.payload);
    let text = format!(
        "{}\n{} committed in block {} at {} (record {})\n{}",
        if ok {
            "✓ the receipt verifies"
        } else {
            "✗ the receipt verifies, but not for you"
        },
        label,
        proved.height,
        proved.time,
        proved.id,
        steps
            .iter()
            .map(|s| format!("  {s}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let j = json!({
        "ok": ok,
        "record": proved.id.to_hex(),
        "kind": proved.record.body.payload.kind(),
        "amount": amount,
        "height": proved.height,
        "time": proved.time.to_string(),
        "log_index": proved.log_index,
        "signer": proved.signer.as_ref().map(|m| json!({"address": m.address.to_hex(), "name": m.name})),
        "checkpoint": proved.checkpoint.height,
        "donor_commitment_opens": donor_ok,
        "consistency": consistency,
        "steps": steps,
    });
    Ok(if ok {
        Report::ok(j, text)
    } else {
        Report::failed(j, text)
    })
}

/// A payload's amount and a line saying what it is.
pub fn describe(p: &Payload) -> (Option<u64>, String) {
    match p {
        Payload::RecordDonation(d) => (
            Some(d.amount.0),
            format!(
                "donation {} of {} (receipt {})",
                d.amount,
                fund_name(&d.fund),
                d.receipt
            ),
        ),
        Payload::RecordDisbursement(d) => (
            Some(d.amount.0),
            format!(
                "disbursement of {} ({:?}) from {}: {}",
                d.amount,
                d.category,
                fund_name(&d.fund),
                d.purpose
            ),
        ),
        Payload::TransferGrant(g) => (
            Some(g.amount.0),
            format!(
                "grant of {} from {} to project {}: {}",
                g.amount,
                fund_name(&g.from),
                g.to,
                g.purpose
            ),
        ),
        Payload::AllocateWelfareFund(a) => (
            Some(a.amount.0),
            format!(
                "welfare allocation of {} ({:?}) to {:?}",
                a.amount, a.purpose, a.recipient
            ),
        ),
        Payload::RecordLotterySales(s) => (
            Some(s.sales.0),
            format!(
                "lottery sales of {}: {} period {} region {}",
                s.sales, s.game, s.period, s.region
            ),
        ),
        other => (None, other.kind().to_string()),
    }
}

pub fn fund_name(f: &FundRef) -> String {
    match f {
        FundRef::General(a) => format!("the general fund of {a}"),
        FundRef::Project(p) => format!("project {p}"),
        FundRef::WelfarePool => "the welfare pool".into(),
    }
}

/// `shanlian trace`: where a donation's (any inflow's) money went — or, with
/// `--reverse`, what an outflow drew on — verified here from the trace
/// proof against the genesis.
pub async fn trace(
    id: &RecordId,
    reverse: bool,
    nodes: &Nodes,
    genesis: &Genesis,
) -> Result<Report> {
    let dir = if reverse { "reverse" } else { "forward" };
    let v = nodes
        .get(&format!(
            "/api/v1/records/{}/trace?direction={dir}",
            id.to_hex()
        ))
        .await?;
    let proof = TraceProof::from_json(&v).context("the explorer's trace proof")?;
    let proved = match tracing::verify(genesis, &proof) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Report::failed(
                json!({"ok": false, "step": e.at, "code": e.code(), "message": e.to_string()}),
                format!(
                    "✗ the trace proof does NOT verify: at {} — {}",
                    e.at, e.kind
                ),
            ))
        }
    };
    let mut lines = Vec::new();
    let name = |id: &RecordId| {
        proved
            .records
            .get(id)
            .map(|r| describe(&r.record.body.payload).1)
            .unwrap_or_else(|| id.to_hex())
    };
    if proof.direction == Direction::Forward {
        lines.push(format!(
            "✓ where {} of {} went — proven as of block {} (every row in a certified block's write set, every outflow in the log):",
            proved.amount,
            fund_name(&proved.fund),
            proved.as_of.height
        ));
        for s in &proved.steps {
            let pad = "  ".repeat(s.depth as usize + 1);
            let what = match &s.what {
                What::Spent { outflow, .. } => {
                    let mut t = format!("spent: {}", name(outflow));
                    if let Some(r) = proved.records.get(outflow) {
                        t += &format!(" [block {}, {}]", r.height, r.time);
                        if let Payload::RecordDisbursement(d) = &r.record.body.payload {
                            for e in &d.evidence {
                                t += &format!("\n{pad}    evidence {:?}: {}", e.kind, hex::encode(e.hash));
                            }
                        }
                    }
                    t
                }
                What::Refunded { refund } => format!("refunded to the donor (record {refund})"),
                What::NotShownSpent => format!(
                    "not spent as of block {} (still in {}, unless spent by a later outflow the proof does not show)",
                    proved.as_of.height,
                    fund_name(&s.fund)
                ),
            };
            lines.push(format!("{pad}{} {what}", s.amount));
        }
    } else {
        lines.push(format!(
            "✓ what {} from {} drew on — proven:",
            proved.amount,
            fund_name(&proved.fund)
        ));
        for s in &proved.sources {
            lines.push(format!(
                "  {} from {:?} {}",
                s.amount, s.source_kind, s.record
            ));
        }
    }
    let j = json!({
        "ok": true,
        "direction": dir,
        "subject": proved.subject.to_hex(),
        "fund": proved.fund,
        "amount": proved.amount.0,
        "as_of": proved.as_of.height,
        "steps": proved.steps,
        "sources": proved.sources,
        "records": proved.records.iter().map(|(id, r)| json!({
            "id": id.to_hex(), "height": r.height, "time": r.time.to_string(),
            "payload": r.record.body.payload,
        })).collect::<Vec<_>>(),
    });
    Ok(Report::ok(j, lines.join("\n")))
}

/// `shanlian check-evidence FILE --record ID`: whether the document's
/// blake3 is one of the evidence hashes the (verified) record carries.
pub async fn check_evidence(
    file: &Path,
    id: &RecordId,
    nodes: &Nodes,
    genesis: &Genesis,
) -> Result<Report> {
    let doc = std::fs::read(file).with_context(|| format!("{}", file.display()))?;
    let hash = shanlian_ledger::crypto::document_hash(&doc);
    let v = nodes
        .get(&format!("/api/v1/records/{}/bundle", id.to_hex()))
        .await?;
    let b = bundle::ReceiptBundle::from_json(&v).context("the explorer's bundle")?;
    let proved = match bundle::verify(genesis, &b) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Report::failed(
                json!({"ok": false, "step": e.at, "code": e.code(), "message": e.to_string()}),
                format!(
                    "✗ the record's bundle does NOT verify: at {} — {}",
                    e.at, e.kind
                ),
            ))
        }
    };
    if proved.id != *id {
        bail!(
            "the explorer sent the bundle of another record ({})",
            proved.id
        );
    }
    let hashes: Vec<(String, Hash32)> = match &proved.record.body.payload {
        Payload::RecordDisbursement(d) => d
            .evidence
            .iter()
            .map(|e| (format!("{:?}", e.kind), e.hash))
            .collect(),
        Payload::RecordDonation(d) => match &d.channel {
            Channel::InKind {
                valuation_evidence, ..
            } => vec![("in-kind valuation".into(), *valuation_evidence)],
            _ => Vec::new(),
        },
        Payload::CloseProject(c) => vec![("final report".into(), c.final_report)],
        Payload::AuditAttestation(a) => vec![("audit report".into(), a.report)],
        other => bail!("a {} record carries no evidence hash", other.kind()),
    };
    let found = hashes.iter().find(|(_, h)| *h == hash);
    let j = json!({
        "ok": found.is_some(),
        "file_hash": hex::encode(hash),
        "record": id.to_hex(),
        "matches": found.map(|(k, _)| k.clone()),
        "evidence": hashes.iter().map(|(k, h)| json!({"kind": k, "hash": hex::encode(h)})).collect::<Vec<_>>(),
    });
    Ok(match found {
        Some((kind, _)) => Report::ok(
            j,
            format!(
                "✓ {} is the {kind} evidence of record {id} (blake3 {}), committed in block {}",
                file.display(),
                hex::encode(hash),
                proved.height
            ),
        ),
        None => Report::failed(
            j,
            format!(
                "✗ {} (blake3 {}) matches none of the {} evidence hashes of record {id}",
                file.display(),
                hex::encode(hash),
                hashes.len()
            ),
        ),
    })
}

/// A record id, or the record of a receipt file.
pub fn record_of(arg: &str) -> Result<RecordId> {
    if let Ok(id) = RecordId::from_hex(arg) {
        return Ok(id);
    }
    let f = ReceiptFile::read(Path::new(arg))?;
    RecordId::from_hex(&f.record).context("the receipt's record id")
}

/// Decodes a record's canonical bytes.
pub fn decode_record(bytes: &[u8]) -> Result<Record> {
    Record::from_bytes(bytes, 1 << 20).map_err(|e| anyhow::anyhow!("{e}"))
}
