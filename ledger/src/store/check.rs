//! A store checking what it serves against the certified headers, and the
//! cheap check of its most recent blocks that a running node can do at
//! start and on demand (the full replay is [`crate::verify`]).
//!
//! A stored value that fails these checks is a [`StoreError::Corrupt`]
//! naming what failed, never an answer: a node must not serve a record
//! whose bytes were altered on disk, nor treat a block missing below its
//! tip as "not found".

use super::query::LedgerReader;
use super::{Store, StoreError};
use crate::block::{BlockData, Header};
use crate::keys as t;
use crate::merkle::{self, Blake3Hasher, MerkleHasher, NodeReader};
use crate::types::*;

/// What [`Store::check_recent`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentCheck {
    /// The committed tip.
    pub tip: u64,
    /// The lowest height checked (`tip + 1` when the store has no block).
    pub from: u64,
    /// Blocks and records checked.
    pub blocks: u64,
    pub records: u64,
}

fn corrupt(h: u64, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("block {h}: {what}"))
}

impl Store {
    /// The committed block at `h`, checked against its stored header: the
    /// block's header is that header and its records hash to the header's
    /// record root. `None` only above the tip; a block missing at or below
    /// the tip is an error.
    pub fn checked_block(&self, h: u64) -> Result<Option<BlockData>, StoreError> {
        let tip = self.tip()?.map_or(0, |t| t.height);
        if h == 0 || h > tip {
            return Ok(None);
        }
        let header = self
            .header(h)?
            .ok_or_else(|| corrupt(h, "its header is missing below the tip"))?;
        let block = self
            .block(h)?
            .ok_or_else(|| corrupt(h, "its body is missing below the tip"))?;
        check_body(h, &header, &block)?;
        Ok(Some(block))
    }

    /// Checks that the record read at `log_index` is the log's leaf there.
    pub(crate) fn check_leaf(&self, log_index: u64, id: &RecordId) -> Result<(), StoreError> {
        let stored = merkle::TileNodes::<Blake3Hasher, _>::new(self)
            .node(merkle::NodeId::new(0, log_index))
            .map_err(|e| StoreError::Corrupt(format!("log entry {log_index}: {e}")))?;
        if stored != Some(Blake3Hasher::hash_leaf(&id.0)) {
            return Err(StoreError::Corrupt(format!(
                "the stored bytes of log entry {log_index} are not the record the log holds there (altered or damaged on disk)"
            )));
        }
        Ok(())
    }

    /// Checks the tip and the `n` most recent blocks against each other
    /// and against their certificates: the tip entry matches the top
    /// header (hash, time, state hash, log size); every header links to
    /// the one before; every body is its header's block with the records
    /// of its record root; every certificate commits its header with more
    /// than two thirds of the validator set followed from genesis; every
    /// record is indexed where it is and is the log's leaf at its position;
    /// and the log root at the top header's size is the header's log root.
    /// Cost: proportional to the records in those blocks.
    pub fn check_recent(&self, n: u64) -> Result<RecentCheck, StoreError> {
        let genesis = self.genesis()?.ok_or(StoreError::NotInitialised)?;
        let tip = self.tip()?.ok_or(StoreError::NotInitialised)?;
        let from = tip.height.saturating_sub(n.saturating_sub(1)).max(1);
        let mut done = RecentCheck {
            tip: tip.height,
            from: tip.height + 1,
            blocks: 0,
            records: 0,
        };
        if tip.height == 0 || n == 0 {
            if tip.height == 0 && tip.header_hash != genesis.hash() {
                return Err(StoreError::Corrupt(
                    "the tip at height 0 is not the genesis".into(),
                ));
            }
            return Ok(done);
        }
        let top = self
            .header(tip.height)?
            .ok_or_else(|| corrupt(tip.height, "the tip's header is missing"))?;
        if top.hash() != tip.header_hash
            || top.state_hash != tip.state_hash
            || top.time != tip.time
            || top.log_size != tip.log_size
        {
            return Err(corrupt(
                tip.height,
                "the stored tip does not match the header at its height",
            ));
        }
        let root = self.log_root_at(top.log_size).map_err(|e| {
            corrupt(
                tip.height,
                format_args!("the log cannot be read at the tip: {e}"),
            )
        })?;
        if root != top.log_root {
            return Err(corrupt(
                tip.height,
                "the stored log's root is not the header's log root",
            ));
        }
        // Validator sets change rarely: follow them from genesis once and
        // again only where a header names another set.
        let mut set = self.validator_set_at(tip.height)?;
        let genesis_hash = genesis.hash();
        let mut upper: Option<Header> = None;
        for h in (from..=tip.height).rev() {
            let header = self
                .header(h)?
                .ok_or_else(|| corrupt(h, "its header is missing below the tip"))?;
            if header.height != h {
                return Err(corrupt(
                    h,
                    format_args!("its header says height {}", header.height),
                ));
            }
            if let Some(u) = &upper {
                if u.prev_hash != header.hash() {
                    return Err(corrupt(
                        h + 1,
                        "its previous-header hash is not the stored header below it",
                    ));
                }
            }
            if h == 1 && header.prev_hash != genesis_hash {
                return Err(corrupt(1, "it does not follow the genesis"));
            }
            if header.validator_set_hash != set.hash() {
                set = self.validator_set_at(h)?;
            }
            let cert = self
                .certificate(h)?
                .ok_or_else(|| corrupt(h, "its commit certificate is missing"))?;
            cert.verify(&genesis_hash, h, &header.hash(), &set)
                .map_err(|e| corrupt(h, format_args!("its commit certificate fails: {e}")))?;
            let block = self
                .block(h)?
                .ok_or_else(|| corrupt(h, "its body is missing below the tip"))?;
            let ids = check_body(h, &header, &block)?;
            let first = header.log_size - ids.len() as u64;
            let offsets = self.raw(&t::height_key(t::RECORD_OFFSETS, h))?;
            if offsets.as_deref() != Some(block.record_offsets().as_slice()) {
                return Err(corrupt(
                    h,
                    "its record offsets index does not match its body",
                ));
            }
            for (i, id) in ids.iter().enumerate() {
                let at = crate::state::Location {
                    height: h,
                    index: i as u32,
                };
                if self.location(id)? != Some(at) {
                    return Err(corrupt(
                        h,
                        format_args!("record {id} is not indexed at its place ({h}/{i})"),
                    ));
                }
                self.check_leaf(first + i as u64, id)?;
            }
            done.blocks += 1;
            done.records += ids.len() as u64;
            done.from = h;
            upper = Some(header);
        }
        Ok(done)
    }
}

/// Checks a stored body against its header; returns its record ids.
fn check_body(h: u64, header: &Header, block: &BlockData) -> Result<Vec<RecordId>, StoreError> {
    if block.header != *header {
        return Err(corrupt(h, "its body's header is not the stored header"));
    }
    let ids: Vec<RecordId> = block
        .records
        .iter()
        .map(|b| RecordId::of_bytes(b))
        .collect();
    let mut root = merkle::Frontier::<Blake3Hasher>::new();
    for id in &ids {
        root.push(&id.0)
            .map_err(|e| corrupt(h, format_args!("record root: {e}")))?;
    }
    if root.root() != header.record_root {
        return Err(corrupt(
            h,
            "its records do not match the header's record root (altered or damaged on disk)",
        ));
    }
    if header.log_size < ids.len() as u64 {
        return Err(corrupt(
            h,
            "its header's log size is below its record count",
        ));
    }
    Ok(ids)
}
