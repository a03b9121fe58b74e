//! How the explorer hands signed records to the node that serves it. The
//! node implements [`Submitter`] with its own admission (the ledger's rules
//! against its committed state and pool) and gossip; the explorer only
//! decodes, forwards and reports.

use async_trait::async_trait;
use shanlian_ledger::record::Record;
use shanlian_ledger::types::RecordId;

/// Why a submitted record was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotTaken {
    /// 400 for a refusal (the record is wrong), 503 when the node cannot
    /// take it now (pool full, shutting down), 500 for a node fault.
    pub status: u16,
    /// The ledger's refusal code (`signer.role`, …) or the node's.
    pub code: String,
    pub message: String,
}

/// What a node knows of a record it has not committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// Held in the pool, waiting for a block.
    Pending,
    /// Dropped: a block's check refused it.
    Refused { code: String, message: String },
    /// Dropped: it expired before a block took it.
    Expired,
    /// This node has not seen it.
    Unknown,
}

/// A node's admission, as the explorer uses it.
#[async_trait]
pub trait Submitter: Send + Sync {
    /// Admits records (already decoded and size-checked); one result per
    /// record, in order. `Err` when the node cannot answer at all.
    async fn submit(&self, records: Vec<Record>) -> Result<Vec<Result<(), NotTaken>>, NotTaken>;
    /// What became of a record that is not committed.
    fn status(&self, id: &RecordId) -> Pending;
}
