//! Pool admission: records from clients (HTTP) and peers (gossip) have their
//! signatures checked on all cores first, off the application loop; the
//! loop then applies the ledger's record-level rules (SPEC §8.2 rules 1–10)
//! at the node's clock and takes them into the bounded pool.

use super::{now, App};
use shanlian_ledger::chain;
use shanlian_ledger::record::Record;
use shanlian_ledger::types::Hash32;

/// Why a record was not taken into the pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    #[error("refused: {0}")]
    Refused(shanlian_ledger::Refusal),
    #[error(transparent)]
    Full(#[from] crate::pool::PoolFull),
    /// This node's state is broken: no verdict on the record.
    #[error("this node cannot check records: {0}")]
    Fault(shanlian_ledger::Fault),
}

impl AdmitError {
    /// The stable code clients see: the ledger rule's code, or `pool.full`.
    pub fn code(&self) -> &'static str {
        match self {
            AdmitError::Refused(r) => r.code(),
            AdmitError::Full(_) => "pool.full",
            AdmitError::Fault(_) => "node.fault",
        }
    }
}

/// A request to admit records into the pool, answered by the app loop
/// with one result per record, in order.
pub struct Admission {
    /// Each record, and whether its signature was already checked
    /// strictly (see [`submit`]).
    pub records: Vec<(Record, bool)>,
    pub reply: Option<tokio::sync::oneshot::Sender<Vec<Result<(), AdmitError>>>>,
}

/// The node is stopping: its application loop no longer takes records.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the node is shutting down")]
pub struct Stopping;

/// Submits records for admission: their signatures are checked on all
/// cores first (off the application loop, which then only applies the
/// record-level rules), then the loop admits them in order.
pub async fn submit(
    admissions: &tokio::sync::mpsc::Sender<Admission>,
    genesis_hash: Hash32,
    records: Vec<Record>,
) -> Result<Vec<Result<(), AdmitError>>, Stopping> {
    let (records, checked) = tokio::task::spawn_blocking(move || {
        let checked = chain::verify_record_signatures(&genesis_hash, &records);
        (records, checked)
    })
    .await
    .map_err(|_| Stopping)?;
    let (reply, rx) = tokio::sync::oneshot::channel();
    admissions
        .send(Admission {
            records: records.into_iter().zip(checked).collect(),
            reply: Some(reply),
        })
        .await
        .map_err(|_| Stopping)?;
    rx.await.map_err(|_| Stopping)
}

impl App {
    /// Admits a batch and answers it; updates the pool gauges.
    pub(super) fn admit_batch(&mut self, a: Admission) {
        let results: Vec<_> = a
            .records
            .into_iter()
            .map(|(r, ok)| self.admit(r, ok))
            .collect();
        let pool = self.pool.lock();
        self.metrics.pool_records.set(pool.len() as i64);
        self.metrics.pool_bytes.set(pool.bytes() as i64);
        drop(pool);
        if let Some(reply) = a.reply {
            let _ = reply.send(results);
        }
    }

    /// One record: see [`admit`].
    fn admit(&mut self, record: Record, signature_ok: bool) -> Result<(), AdmitError> {
        admit(&mut self.state, &self.pool, record, signature_ok, now())
    }
}

/// Admits one record into the pool: duplicates of a pooled record are
/// taken silently; otherwise the ledger's record-level rules (SPEC §8.2
/// rules 1–10) at `now`, then the bounded pool.
pub fn admit(
    state: &mut shanlian_ledger::state::State,
    pool: &crate::pool::SharedPool,
    record: Record,
    signature_ok: bool,
    now: shanlian_ledger::types::Timestamp,
) -> Result<(), AdmitError> {
    if pool.lock().contains(&record.id) {
        return Ok(());
    }
    state
        .admit_checked(&record, now, signature_ok)
        .map_err(|e| match e {
            shanlian_ledger::ApplyError::Refused(r) => AdmitError::Refused(r),
            shanlian_ledger::ApplyError::Fault(f) => AdmitError::Fault(f),
        })?;
    pool.lock().insert(record)?;
    Ok(())
}
