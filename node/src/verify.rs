//! `shanlian-node verify`: the full replay verifier on a stopped node's
//! store, with progress on a terminal and a summary an operator can act on.

use crate::config::Config;
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::store::Store;
use shanlian_ledger::verify::{verify_store_with, VerifyError, VerifyOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The genesis and the store folder (which must exist) of the stopped node
/// configured by `config`.
pub(crate) fn stopped_node(config: &Path) -> Result<(Genesis, PathBuf), String> {
    let cfg = Config::load(config).map_err(|e| e.to_string())?;
    let genesis = cfg.read_genesis().map_err(|e| e.to_string())?;
    let dir = cfg.data_dir.join("store");
    if !dir.exists() {
        return Err(format!(
            "{}: no store (has this node run? the data folder is `data_dir` in {})",
            dir.display(),
            config.display()
        ));
    }
    Ok((genesis, dir))
}

/// Opens a stopped node's store, saying what to do when it is in use.
pub(crate) fn open_stopped(dir: &Path) -> Result<Store, String> {
    Store::open(dir).map_err(|e| {
        format!(
            "{}: {e} (is the node still running? stop it first: one process per store)",
            dir.display()
        )
    })
}

/// Verifies the store of the node configured by `config`; `Ok(true)` when
/// it verifies, `Ok(false)` when it does not (the reason printed), `Err`
/// when it cannot be checked at all.
pub fn run(config: &Path, single: bool, shallow: bool, json: bool) -> Result<bool, String> {
    let (genesis, dir) = stopped_node(config)?;
    let store = open_stopped(&dir)?;
    let tip = store
        .tip()
        .map_err(|e| e.to_string())?
        .map_or(0, |t| t.height);
    let tty = std::io::stderr().is_terminal() && !json;
    let started = Instant::now();
    let mut last = Instant::now();
    let opts = VerifyOptions {
        deep: !shallow,
        single_only: single,
    };
    let result = verify_store_with(&store, Some(&genesis), opts, |p| {
        if tty && last.elapsed().as_millis() >= 200 {
            last = Instant::now();
            let pct = (p.height * 100).checked_div(p.tip).unwrap_or(100);
            eprint!(
                "\r  block {} of {} ({pct}%), {} records",
                p.height, p.tip, p.records
            );
            let _ = std::io::stderr().flush();
        }
    });
    if tty {
        eprintln!();
    }
    let secs = started.elapsed().as_secs_f64();
    let out = match &result {
        Ok(r) => {
            let rate = r.records as f64 / secs.max(1e-9);
            if json {
                serde_json::json!({
                    "ok": true, "height": r.height, "records": r.records,
                    "header_hash": hex::encode(r.header_hash), "log_size": r.log_size,
                    "log_root": hex::encode(r.log_root), "state_hash": hex::encode(r.state_hash),
                    "seconds": secs, "records_per_s": rate.round(), "deep": !shallow, "single": single,
                })
                .to_string()
            } else {
                format!(
                    "✓ {} verifies: {} blocks, {} records replayed from genesis in {secs:.1} s ({rate:.0} records/s){}\n  tip {} · log size {} · log root {} · state hash {}",
                    dir.display(),
                    r.height,
                    r.records,
                    if shallow { "" } else { "; every stored state entry and index matches" },
                    hex::encode(r.header_hash),
                    r.log_size,
                    hex::encode(r.log_root),
                    hex::encode(r.state_hash)
                )
            }
        }
        Err(e) => {
            let remedy = remedy(e);
            if json {
                serde_json::json!({"ok": false, "tip": tip, "error": e.to_string(), "remedy": remedy})
                    .to_string()
            } else {
                format!(
                    "✗ {} does NOT verify (tip {tip}): {e}\n  what to do: {remedy}",
                    dir.display()
                )
            }
        }
    };
    println!("{out}");
    Ok(result.is_ok())
}

/// What an operator should do about a store that does not verify.
fn remedy(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::GenesisMismatch => {
            "this store belongs to another chain than the config's genesis: point `genesis` at the right file, or use another data folder"
        }
        VerifyError::NoGenesis => "the store is empty: start the node to sync it from peers",
        _ => {
            "the store on this disk is damaged or was altered. Do not run a validator on it: move the data folder aside and start the node with an empty one to sync from peers (or restore a backup and verify it)"
        }
    }
}
