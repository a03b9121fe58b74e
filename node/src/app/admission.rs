//! Pool admission: records from clients (HTTP) and peers (gossip) have their
//! signatures checked on all cores first, off the application loop; the
//! loop then applies the ledger's record-level rules (SPEC §8.2 rules 1–10)
//! at the node's clock and takes them into the bounded pool.

use super::{now, App};
use shanlian_ledger::chain;
use shanlian_ledger::record::Record;
use shanlian_ledger::types::{Hash32, RecordId};
use shanlian_ledger::Refusal;

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
    /// Taken into the pool, but not written to this node's disk: a crash
    /// could lose it, so it is not answered as pending.
    #[error("taken into this node's pool but not written to its disk ({0}); resubmit it (always safe), here or to another node")]
    NotDurable(String),
}

impl AdmitError {
    /// The stable code clients see: the ledger rule's code, or `pool.full`.
    pub fn code(&self) -> &'static str {
        match self {
            AdmitError::Refused(r) => r.code(),
            AdmitError::Full(_) => "pool.full",
            AdmitError::Fault(_) => "node.fault",
            AdmitError::NotDurable(_) => "node.disk",
        }
    }
}

/// A request to admit records into the pool, answered by the app loop
/// with one result per record, in order.
pub struct Admission {
    /// Each record, and whether its signature was already checked
    /// (see [`submit`]).
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

/// [`submit`], then the records taken are written to the pool log (when
/// there is one) before the answer: what a client is told is pending
/// survives a crash of this node.
pub async fn submit_logged(
    admissions: &tokio::sync::mpsc::Sender<Admission>,
    genesis_hash: Hash32,
    records: Vec<Record>,
    log: Option<&std::sync::Arc<crate::pool_log::PoolLog>>,
) -> Result<Vec<Result<(), AdmitError>>, Stopping> {
    let Some(log) = log else {
        return submit(admissions, genesis_hash, records).await;
    };
    let bytes: Vec<Vec<u8>> = records.iter().map(|r| r.bytes.clone()).collect();
    let mut results = submit(admissions, genesis_hash, records).await?;
    let taken: Vec<Vec<u8>> = results
        .iter()
        .zip(bytes)
        .filter(|(r, _)| r.is_ok())
        .map(|(_, b)| b)
        .collect();
    if taken.is_empty() {
        return Ok(results);
    }
    let log = log.clone();
    let written = tokio::task::spawn_blocking(move || log.append(taken.iter().map(Vec::as_slice)))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    if let Err(why) = written {
        tracing::error!(%why, "pool log: records not written; answered node.disk");
        for r in results.iter_mut().filter(|r| r.is_ok()) {
            *r = Err(AdmitError::NotDurable(why.clone()));
        }
    }
    Ok(results)
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

    /// One record: see [`admit`]. The block under check (applied to the
    /// state, not committed) may hold it.
    fn admit(&mut self, record: Record, signature_ok: bool) -> Result<(), AdmitError> {
        let open: &[RecordId] = self
            .open
            .as_ref()
            .map_or(&[], |(_, tr)| tr.record_ids.as_slice());
        let how = admit(
            &mut self.state,
            &self.pool,
            open,
            record,
            signature_ok,
            now(),
        )?;
        if how == Admitted::FromOpenBlock {
            self.metrics.pending_from_open_block.inc();
        }
        Ok(())
    }
}

/// Admits one record into the pool: duplicates of a pooled record are
/// taken silently; otherwise the ledger's record-level rules (SPEC §8.2
/// rules 1–10) at `now`, then the bounded pool.
///
/// `open` are the records of a block applied to `state` but not committed
/// (being checked): the state then counts them as seen, but they are only
/// pending — that block may not be the one decided. Such a record is taken
/// into the pool like any pending one (it leaves the pool when committed),
/// never refused as "already committed".
pub fn admit(
    state: &mut shanlian_ledger::state::State,
    pool: &crate::pool::SharedPool,
    open: &[RecordId],
    record: Record,
    signature_ok: bool,
    now: shanlian_ledger::types::Timestamp,
) -> Result<Admitted, AdmitError> {
    if pool.lock().contains(&record.id) {
        return Ok(Admitted::AlreadyPooled);
    }
    let how = match state.admit_checked(&record, now, signature_ok) {
        Ok(()) => Admitted::New,
        // Same id, same bytes: its signature was checked with that block.
        Err(shanlian_ledger::ApplyError::Refused(Refusal::Duplicate(id))) if open.contains(&id) => {
            Admitted::FromOpenBlock
        }
        Err(shanlian_ledger::ApplyError::Refused(r)) => return Err(AdmitError::Refused(r)),
        Err(shanlian_ledger::ApplyError::Fault(f)) => return Err(AdmitError::Fault(f)),
    };
    pool.lock().insert(record)?;
    Ok(how)
}

/// How [`admit`] took a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// Into the pool.
    New,
    /// It was in the pool already.
    AlreadyPooled,
    /// Into the pool, although the block under check holds it.
    FromOpenBlock,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{Pool, SharedPool};
    use shanlian_ledger::testkit::{payloads as p, DevNet};
    use shanlian_ledger::types::FundRef;

    /// A record in a block being checked (applied, not committed) is
    /// pending: admitted again, it is taken into the pool, not refused as
    /// already committed. Once committed, it is refused as a duplicate.
    #[test]
    fn a_record_in_the_block_under_check_is_pending_not_refused() {
        let mut net = DevNet::new().unwrap();
        net.commit_all(&[]).unwrap();
        let fund = FundRef::General(net.address("charity-federation"));
        let r = net.receipt();
        let d = net.sign("charity-federation", p::donation(r, fund, 1_000, 1));
        let pool = SharedPool::new(Pool::new(100, 1 << 20));
        let now = net.clock;

        // A block holding it, applied to the state and not committed.
        let (_, tr) = net.propose(std::slice::from_ref(&d)).unwrap();
        assert_eq!(tr.record_ids, vec![d.id]);
        let state = &mut net.state;
        // Without knowing the open block, the state's answer is a refusal.
        assert!(matches!(
            admit(state, &pool, &[], d.clone(), true, now),
            Err(AdmitError::Refused(Refusal::Duplicate(_)))
        ));
        assert_eq!(
            admit(state, &pool, &tr.record_ids, d.clone(), true, now).unwrap(),
            Admitted::FromOpenBlock
        );
        assert!(pool.lock().contains(&d.id));
        assert_eq!(
            admit(state, &pool, &tr.record_ids, d.clone(), true, now).unwrap(),
            Admitted::AlreadyPooled
        );
        // From gossip, unchecked: the same bytes, checked with the block.
        let pool2 = SharedPool::new(Pool::new(100, 1 << 20));
        assert_eq!(
            admit(state, &pool2, &tr.record_ids, d.clone(), false, now).unwrap(),
            Admitted::FromOpenBlock
        );
        assert!(pool2.lock().contains(&d.id));
        state.rollback_block();

        // Committed: a duplicate.
        net.commit_all(std::slice::from_ref(&d)).unwrap();
        let mut state = net.state.clone();
        let empty = SharedPool::new(Pool::new(100, 1 << 20));
        assert!(matches!(
            admit(&mut state, &empty, &[], d, true, now),
            Err(AdmitError::Refused(Refusal::Duplicate(_)))
        ));
    }
}
