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
    let kept = data.join(KEPT);
    if kept.exists() {
        return Err(format!(
            "{} exists (the old store of an earlier conversion?): move it away first",
            kept.display()
        ));
    }
    let new = data.join(SCRATCH);
    let started = Instant::now();
    {
        // The source first: its lock keeps a second conversion (and the
        // node) out before anything is removed.
        let src = crate::verify::open_stopped(&dir)?;
        // Our own scratch folder: what an interrupted conversion left.
        if new.exists() {
            std::fs::remove_dir_all(&new)
                .map_err(|e| format!("{}: cannot remove: {e}", new.display()))?;
        }
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
    swap(data, &dir, &kept, &new)?;
    println!(
        "  the sled store is kept at {}: delete it once the node runs on the new one",
        kept.display()
    );
    Ok(())
}

/// Where the old store is kept after a conversion.
pub const KEPT: &str = "store.sled";
/// Where the copy is built.
pub const SCRATCH: &str = "store.converting";

/// Puts the copy `new` in place of `dir`, keeping `dir` as `kept`, and
/// makes the renames durable. If the copy cannot be moved into place, the
/// old store is moved back; if even that fails, the node refuses to start
/// until an operator puts a store in place ([`crate::node::StartError`]).
fn swap(data: &Path, dir: &Path, kept: &Path, new: &Path) -> Result<(), String> {
    std::fs::rename(dir, kept).map_err(|e| format!("{}: {e}", dir.display()))?;
    if let Err(e) = std::fs::rename(new, dir) {
        let back = std::fs::rename(kept, dir);
        return Err(match back {
            Ok(()) => format!(
                "{}: {e}; the store is unchanged, the copy is at {}",
                new.display(),
                new.display()
            ),
            Err(b) => format!(
                "{}: {e}; moving the old store back failed too ({b}): it is at {}, the copy at {}",
                new.display(),
                kept.display(),
                new.display()
            ),
        });
    }
    std::fs::File::open(data)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("{}: {e}", data.display()))
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
