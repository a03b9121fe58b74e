//! Verifiable draws (SPEC §15) for the lottery centre, auditors and
//! entrants: build an entry set from a CSV, keep seeds in owner-only files,
//! recompute a draw from what the chain certifies, and let an entrant check
//! "was my entry in, and did I win" with its own salt.

use crate::api::Nodes;
use crate::Report;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use shanlian_ledger::bundle::{self, ReceiptBundle};
use shanlian_ledger::draw;
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::merkle::{self, Blake3Hasher, MerkleHasher};
use shanlian_ledger::record::*;
use shanlian_ledger::types::*;
use std::path::Path;

fn hex32(v: &Value, what: &str) -> Result<Hash32> {
    let s = v
        .as_str()
        .ok_or_else(|| anyhow!("{what}: expected 64 hex digits"))?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).with_context(|| format!("{what}: expected 64 hex digits"))?;
    Ok(out)
}

fn parse_hex32(s: &str, what: &str) -> Result<Hash32> {
    hex32(&json!(s.trim()), what)
}

// --- Entry sets --------------------------------------------------------------------------------

/// The public disclosure of an entry set: its root, size and every entry's
/// commitment (never the entries).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EntrySet {
    pub format: String,
    /// The root, hex.
    pub entries_root: String,
    pub entries: u64,
    /// Each entry's salted commitment, hex, in entry order.
    pub commitments: Vec<String>,
}

impl EntrySet {
    pub const FORMAT: &'static str = "shanlian-draw-entries/v1";

    pub fn read(path: &Path) -> Result<EntrySet> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let set: EntrySet = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an entry-set file", path.display()))?;
        if set.format != Self::FORMAT {
            bail!(
                "{}: format {:?}, expected {:?}",
                path.display(),
                set.format,
                Self::FORMAT
            );
        }
        Ok(set)
    }

    /// The root, checked against the commitments (what a draw commits to).
    pub fn root(&self) -> Result<Hash32> {
        let root = parse_hex32(&self.entries_root, "entries_root")?;
        if draw::entry_root(&self.commitments()?) != root {
            bail!("the entry set's commitments do not have its stated root: rebuild it with `shanlian lottery draw-entries`");
        }
        Ok(root)
    }

    fn commitments(&self) -> Result<Vec<Commitment>> {
        self.commitments
            .iter()
            .enumerate()
            .map(|(i, c)| Ok(Commitment(parse_hex32(c, &format!("commitment {i}"))?)))
            .collect()
    }
}

/// `shanlian lottery draw-entries FILE.csv --out DIR`: one entry per row
/// (column `entry`: a ticket serial or an entrant's identity). Writes
/// `DIR/entries.json` (public: root, size, commitments) and `DIR/proofs.csv`
/// (private, owner-only: each entry with its salt, index and inclusion path,
/// to hand to its entrant).
pub fn build_entries(csv_path: &Path, out: &Path) -> Result<Report> {
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_path(csv_path)
        .with_context(|| format!("cannot read {}", csv_path.display()))?;
    let headers = rdr.headers()?.clone();
    let col = headers.iter().position(|h| h == "entry").ok_or_else(|| {
        anyhow!(
            "{}: no `entry` column (the header row names it)",
            csv_path.display()
        )
    })?;
    let mut entries = Vec::new();
    let mut bad = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for rec in rdr.records() {
        let rec = rec.with_context(|| format!("{}", csv_path.display()))?;
        let line = rec.position().map_or(0, |p| p.line());
        let e = rec.get(col).unwrap_or("").to_string();
        if e.is_empty() {
            bad.push(json!({"line": line, "column": "entry", "reason": "empty"}));
        } else if !seen.insert(e.clone()) {
            bad.push(json!({"line": line, "column": "entry", "reason": "a second entry with the same text"}));
        } else {
            entries.push(e);
        }
    }
    if !bad.is_empty() {
        let text = bad
            .iter()
            .map(|b| {
                format!(
                    "  line {}: {} — {}",
                    b["line"],
                    b["column"].as_str().unwrap_or(""),
                    b["reason"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        return Ok(Report::failed(
            json!({"ok": false, "bad_rows": bad}),
            format!("✗ {} bad rows; nothing written:\n{text}", bad.len()),
        ));
    }
    if entries.is_empty() {
        bail!("{}: no entries", csv_path.display());
    }
    let salts: Vec<[u8; 32]> = entries.iter().map(|_| super::import::salt()).collect();
    let commits: Vec<Commitment> = entries
        .iter()
        .zip(&salts)
        .map(|(e, s)| draw::entry_commitment(e, s))
        .collect();
    let leaves = draw::entry_leaves(&commits);
    let root = merkle::root_of_leaves::<Blake3Hasher>(&leaves);
    let set = EntrySet {
        format: EntrySet::FORMAT.into(),
        entries_root: hex::encode(root),
        entries: commits.len() as u64,
        commitments: commits.iter().map(|c| hex::encode(c.0)).collect(),
    };
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let public = out.join("entries.json");
    let private = out.join("proofs.csv");
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["index", "entry", "salt", "path"])?;
    for (i, (e, s)) in entries.iter().zip(&salts).enumerate() {
        let path = merkle::path_in_leaves::<Blake3Hasher>(&leaves, i as u64)
            .map_err(|e| anyhow!("inclusion path of entry {i}: {e}"))?;
        let path: Vec<String> = path.iter().map(hex::encode).collect();
        w.write_record([i.to_string(), e.clone(), hex::encode(s), path.join(";")])?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow!("{e}"))?;
    shanlian_ledger::keyfile::write_new(&private, &bytes)
        .with_context(|| format!("cannot write {}", private.display()))?;
    let text = serde_json::to_string_pretty(&set)? + "\n";
    if public.exists() {
        bail!("{} exists; choose another --out", public.display());
    }
    std::fs::write(&public, text).with_context(|| format!("cannot write {}", public.display()))?;
    Ok(Report::ok(
        json!({"ok": true, "entries_root": hex::encode(root), "entries": set.entries,
            "public": public.display().to_string(), "private": private.display().to_string()}),
        format!(
            "{} entries, root {}\n  public (disclose when you wish; anyone checks it against the root): {}\n  private, owner-only (hand each entrant its own line: entry, salt, index, path): {}",
            set.entries,
            hex::encode(root),
            public.display(),
            private.display()
        ),
    ))
}

// --- Seeds -------------------------------------------------------------------------------------

/// Draws a random seed and writes it, hex, to a new owner-only file.
pub fn new_seed(path: &Path) -> Result<Hash32> {
    let seed = super::import::salt();
    shanlian_ledger::keyfile::write_new(path, format!("{}\n", hex::encode(seed)).as_bytes())
        .with_context(|| format!("cannot write the seed file {}", path.display()))?;
    Ok(seed)
}

pub fn read_seed(path: &Path) -> Result<Hash32> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the seed file {}", path.display()))?;
    parse_hex32(&text, &format!("the seed file {}", path.display()))
}

// --- Verification ------------------------------------------------------------------------------

/// A record's bundle from the explorer, verified against genesis.
async fn certified(nodes: &Nodes, genesis: &Genesis, id: &str) -> Result<bundle::Proved> {
    let v = nodes.get(&format!("/api/v1/records/{id}/bundle")).await?;
    let b = ReceiptBundle::from_json(&v).with_context(|| format!("the bundle of record {id}"))?;
    let p = bundle::verify(genesis, &b)
        .map_err(|e| anyhow!("the bundle of record {id} does not verify: {e}"))?;
    if p.id.to_hex() != id {
        bail!("the explorer sent the bundle of another record than {id}");
    }
    Ok(p)
}

/// What a draw is, as the chain certifies it.
pub struct CertifiedDraw {
    pub view: Value,
    pub open: OpenDraw,
    /// (member, commitment, revealed seed) — commitments from certified records.
    pub seeds: Vec<(Address, Hash32, Option<Hash32>)>,
    /// The beacon block's certified header hash, once decided.
    pub block_hash: Option<Hash32>,
    /// The certified SettleDraw's winners, once settled.
    pub settled: Option<Vec<u64>>,
}

/// Fetches a draw and certifies every part the outcome depends on: the
/// OpenDraw and each seed commitment by their bundles, the beacon block's
/// header by a checkpoint proof from genesis, the settlement by its bundle.
/// Revealed seeds prove themselves against their commitments.
pub async fn fetch_certified(nodes: &Nodes, genesis: &Genesis, id: &str) -> Result<CertifiedDraw> {
    let view = nodes.get(&format!("/api/v1/lottery/draws/{id}")).await?;
    let seeds_v = view["seeds"]
        .as_array()
        .ok_or_else(|| anyhow!("the explorer's draw has no seeds"))?;
    let mut open = None;
    let mut seeds = Vec::new();
    for (i, s) in seeds_v.iter().enumerate() {
        let rid = s["record"].as_str().unwrap_or("");
        let p = certified(nodes, genesis, rid).await?;
        let member = Address::of_key(&p.record.signer);
        let member = p.signer.as_ref().map(|m| m.address).unwrap_or(member);
        let commitment = match (&p.record.body.payload, i) {
            (Payload::OpenDraw(o), 0) if o.draw.0 == id => {
                let c = o.seed_commitment;
                open = Some(o.clone());
                c
            }
            (Payload::CommitDrawSeed(c), i) if i > 0 && c.draw.0 == id => c.seed_commitment,
            _ => bail!("record {rid} is not seed {i} of draw {id}"),
        };
        if hex32(&s["commitment"], "commitment")? != commitment {
            bail!(
                "the explorer shows seed {i} of draw {id} with another commitment than its record"
            );
        }
        let seed = match &s["seed"] {
            Value::Null => None,
            v => {
                let seed = hex32(v, "seed")?;
                if draw::seed_commitment(id, &seed) != commitment {
                    bail!("the seed shown for committer {i} does not match its commitment");
                }
                Some(seed)
            }
        };
        seeds.push((member, commitment, seed));
    }
    let open = open.ok_or_else(|| anyhow!("draw {id}: no OpenDraw record"))?;
    let beacon_height = open.closes + 1;
    let block_hash = if view["beacon_block"].is_null() {
        None
    } else {
        let c = super::audit::verified_checkpoint(nodes, genesis, beacon_height).await?;
        Some(c.header.hash())
    };
    let settled = match view["outcome"]["record"].as_str() {
        None => None,
        Some(rid) => {
            let p = certified(nodes, genesis, rid).await?;
            match &p.record.body.payload {
                Payload::SettleDraw(s) if s.draw.0 == id => Some(s.winners.clone()),
                _ => bail!("record {rid} does not settle draw {id}"),
            }
        }
    };
    Ok(CertifiedDraw {
        view,
        open,
        seeds,
        block_hash,
        settled,
    })
}

/// The outcome recomputed from certified parts (SPEC §15.3).
pub fn outcome(d: &CertifiedDraw, block_hash: Hash32) -> (Hash32, Vec<u64>) {
    draw::outcome(&draw::BeaconInput {
        draw: &d.open.draw.0,
        entries_root: d.open.entries_root,
        entries: d.open.entries,
        winners: d.open.winners,
        block_hash,
        revealed: d
            .seeds
            .iter()
            .filter_map(|(m, _, s)| s.map(|s| (*m, s)))
            .collect(),
    })
}

/// `shanlian lottery verify-draw ID [--entries entries.json]`.
pub async fn verify_draw(
    nodes: &Nodes,
    genesis: &Genesis,
    id: &str,
    entries: Option<&Path>,
) -> Result<Report> {
    let d = fetch_certified(nodes, genesis, id).await?;
    let mut lines = vec![format!(
        "draw {id}: {} — {} entries, {} winners, root {}",
        d.open.title,
        d.open.entries,
        d.open.winners,
        hex::encode(d.open.entries_root)
    )];
    let mut problems = Vec::new();
    lines.push(format!(
        "  opening and {} seed commitment(s) certified from genesis ✓",
        d.seeds.len()
    ));
    let revealed = d.seeds.iter().filter(|s| s.2.is_some()).count();
    lines.push(format!(
        "  {revealed} of {} seeds revealed, each matching its commitment ✓",
        d.seeds.len()
    ));
    let mut j = json!({"draw": id, "entries": d.open.entries, "winners_count": d.open.winners,
        "entries_root": hex::encode(d.open.entries_root), "revealed": revealed, "committed": d.seeds.len()});
    if let Some(path) = entries {
        let set = EntrySet::read(path)?;
        let commits = set.commitments()?;
        let root = draw::entry_root(&commits);
        if commits.len() as u64 != d.open.entries || root != d.open.entries_root {
            problems.push(format!(
                "the entry set {} ({} entries, root {}) is not the one the draw committed to",
                path.display(),
                commits.len(),
                hex::encode(root)
            ));
        } else {
            lines.push(format!(
                "  the disclosed entry set ({} entries) has the committed root: every entry is in ✓",
                commits.len()
            ));
        }
        j["entry_set_checked"] = json!(true);
    }
    match (d.block_hash, &d.settled) {
        (Some(b), Some(stated)) => {
            let (beacon, winners) = outcome(&d, b);
            lines.push(format!(
                "  beacon block {} certified from genesis ✓; beacon {}",
                d.open.closes + 1,
                hex::encode(beacon)
            ));
            if *stated == winners {
                lines.push(format!(
                    "  winners recomputed here: {winners:?} — the settled outcome ✓"
                ));
            } else {
                problems.push(format!(
                    "the settled winners {stated:?} are not the recomputed {winners:?} (a seed hidden by the explorer?)"
                ));
            }
            let withheld: Vec<String> = d
                .seeds
                .iter()
                .filter(|s| s.2.is_none())
                .map(|s| s.0.to_hex())
                .collect();
            if !withheld.is_empty() {
                lines.push(format!(
                    "  withheld (left out, on the record): {}",
                    withheld.join(", ")
                ));
            }
            j["beacon"] = json!(hex::encode(beacon));
            j["winners"] = json!(winners);
            j["withheld"] = json!(withheld);
            j["status"] = json!("settled");
        }
        (b, _) => {
            lines.push(format!(
                "  not settled yet (status {}){}",
                d.view["status"].as_str().unwrap_or("?"),
                if b.is_some() {
                    "; the beacon block is decided"
                } else {
                    ""
                }
            ));
            j["status"] = d.view["status"].clone();
        }
    }
    let ok = problems.is_empty();
    j["ok"] = json!(ok);
    j["problems"] = json!(problems);
    for p in &problems {
        lines.push(format!("  ✗ {p}"));
    }
    let text = lines.join("\n");
    Ok(if ok {
        Report::ok(j, text)
    } else {
        Report::failed(j, text)
    })
}

/// `shanlian lottery check-entry ID --entry E --salt S --index I --path P`:
/// an entrant's own check, against the certified opening and outcome.
pub async fn check_entry(
    nodes: &Nodes,
    genesis: &Genesis,
    id: &str,
    entry: &str,
    salt: &str,
    index: u64,
    path: &str,
) -> Result<Report> {
    let salt = parse_hex32(salt, "--salt")?;
    let path: Vec<Hash32> = path
        .split(';')
        .filter(|s| !s.trim().is_empty())
        .enumerate()
        .map(|(i, h)| parse_hex32(h, &format!("--path element {i}")))
        .collect::<Result<_>>()?;
    let d = fetch_certified(nodes, genesis, id).await?;
    let c = draw::entry_commitment(entry, &salt);
    let included = merkle::verify_inclusion::<Blake3Hasher>(
        &Blake3Hasher::hash_leaf(&c.0),
        index,
        d.open.entries,
        &path,
        &d.open.entries_root,
    );
    if let Err(e) = included {
        return Ok(Report::failed(
            json!({"ok": false, "included": false, "reason": e.to_string()}),
            format!("✗ this entry is NOT entry {index} of draw {id}'s committed set ({e})"),
        ));
    }
    let mut j = json!({"ok": true, "included": true, "index": index});
    let mut text = format!(
        "✓ your entry is entry {index} of draw {id}'s committed set ({} entries)",
        d.open.entries
    );
    match (d.block_hash, &d.settled) {
        (Some(b), Some(stated)) => {
            let (_, winners) = outcome(&d, b);
            if *stated != winners {
                bail!("the settled outcome of draw {id} does not recompute: run `shanlian lottery verify-draw {id}`");
            }
            let place = winners.iter().position(|w| *w == index);
            j["won"] = json!(place.is_some());
            j["place"] = json!(place.map(|p| p + 1));
            text += &match place {
                Some(p) => format!("\n🎉 and it WON: winner {} of {} (recomputed from the certified chain)", p + 1, winners.len()),
                None => format!("\n  it did not win (winners: entries {winners:?}, recomputed from the certified chain)"),
            };
        }
        _ => {
            j["won"] = Value::Null;
            text += &format!(
                "\n  the draw is not settled yet (status {})",
                d.view["status"].as_str().unwrap_or("?")
            );
        }
    }
    Ok(Report::ok(j, text))
}

/// The draw's view, for commands that act on it (reveal, settle).
pub async fn status(nodes: &Nodes, id: &str) -> Result<Value> {
    nodes.get(&format!("/api/v1/lottery/draws/{id}")).await
}
