//! `shanlian-node convert-store`: moves a stopped node's store from sled
//! (data folders created before fjall) to fjall (docs/OPERATING.md, "The
//! store's engine"). The copy is verified from genesis before the folders
//! are swapped; the old store is kept beside the new one.

use shanlian_ledger::store::Store;
use shanlian_ledger::verify::{verify_store_with, VerifyOptions};
use std::path::Path;
use std::time::Instant;

/// Converts the store of the node configured by `config`.
pub fn run(config: &Path) -> Result<(), String> {
    let (genesis, dir) = crate::verify::stopped_node(config)?;
    let data = dir
        .parent()
        .ok_or_else(|| format!("{}: no parent folder", dir.display()))?;
    if !Store::is_sled(&dir) {
        println!(
            "{} is already a fjall store: nothing to convert",
            dir.display()
        );
        return Ok(());
    }
    let kept = data.join("store.sled");
    if kept.exists() {
        return Err(format!(
            "{} exists (the old store of an earlier conversion?): move it away first",
            kept.display()
        ));
    }
    // Our own scratch name: what an interrupted conversion left is ours to remove.
    let new = data.join("store.converting");
    if new.exists() {
        std::fs::remove_dir_all(&new)
            .map_err(|e| format!("{}: cannot remove: {e}", new.display()))?;
    }
    let started = Instant::now();
    {
        let src = crate::verify::open_stopped(&dir)?;
        let dst = Store::open(&new).map_err(|e| format!("{}: {e}", new.display()))?;
        let entries = src.copy_into(&dst).map_err(|e| e.to_string())?;
        let aux = copy_aux(&src, &dst).map_err(|e| e.to_string())?;
        eprintln!(
            "copied {entries} entries (and {aux} undecided proposals) in {:.1} s; verifying the copy from genesis",
            started.elapsed().as_secs_f64()
        );
        let opts = VerifyOptions {
            deep: true,
            single_only: false,
        };
        let report = verify_store_with(&dst, Some(&genesis), opts, |_| {}).map_err(|e| {
            format!(
                "the copy does not verify ({e}); {} is unchanged, {} holds the copy",
                dir.display(),
                new.display()
            )
        })?;
        let tip = src
            .tip()
            .map_err(|e| e.to_string())?
            .map_or(0, |t| t.height);
        if report.height != tip {
            return Err(format!(
                "the copy verifies to height {} but the store's tip is {tip}; {} is unchanged",
                report.height,
                dir.display()
            ));
        }
        println!(
            "✓ converted to fjall: {} blocks, {} records, {entries} entries; the copy verifies from genesis ({:.1} s in all)",
            report.height,
            report.records,
            started.elapsed().as_secs_f64()
        );
    }
    std::fs::rename(&dir, &kept).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::rename(&new, &dir).map_err(|e| {
        format!(
            "{}: {e}; the old store is at {}, the converted one at {}",
            new.display(),
            kept.display(),
            new.display()
        )
    })?;
    println!(
        "  the sled store is kept at {}: delete it once the node runs on the new one",
        kept.display()
    );
    Ok(())
}

/// Copies the node's own trees (its undecided proposals, which keep it
/// from proposing a different block for a height and round it proposed
/// before); returns how many entries.
fn copy_aux(src: &Store, dst: &Store) -> Result<usize, shanlian_ledger::store::StoreError> {
    let from = src.aux_tree(crate::app::CONSENSUS_TREE)?;
    let to = dst.aux_tree(crate::app::CONSENSUS_TREE)?;
    let entries = from.entries()?;
    for (k, v) in &entries {
        to.insert(k, v)?;
    }
    to.flush()?;
    Ok(entries.len())
}
