//! The explorer a node serves on its public port (the `shanlian-explorer`
//! crate): its reads go to this node's store; its submissions to this
//! node's admission, then gossip, exactly as the local endpoint's.

use crate::app::{submit_logged, Admission, AdmitError};
use crate::pool::{Dropped, PoolStatus, SharedPool};
use async_trait::async_trait;
use shanlian_explorer::submit::{NotTaken, Pending, Submitter};
use shanlian_ledger::record::Record;
use shanlian_ledger::types::{Hash32, RecordId};
use tokio::sync::mpsc;

/// A node's admission and gossip, as the explorer submits through them.
pub struct NodeSubmitter {
    pub admissions: mpsc::Sender<Admission>,
    pub genesis_hash: Hash32,
    pub pool: SharedPool,
    pub gossip: Option<crate::gossip::Publisher>,
    /// Records answered 202 are written here first.
    pub pool_log: Option<std::sync::Arc<crate::pool_log::PoolLog>>,
}

fn not_taken(e: &AdmitError) -> NotTaken {
    let status = match e {
        AdmitError::Refused(_) => 400,
        AdmitError::Full(_) => 503,
        AdmitError::Fault(_) => 500,
        AdmitError::NotDurable(_) => 503,
    };
    NotTaken {
        status,
        code: e.code().into(),
        message: e.to_string(),
    }
}

#[async_trait]
impl Submitter for NodeSubmitter {
    async fn submit(&self, records: Vec<Record>) -> Result<Vec<Result<(), NotTaken>>, NotTaken> {
        let bytes: Vec<Vec<u8>> = records.iter().map(|r| r.bytes.clone()).collect();
        let results = submit_logged(
            &self.admissions,
            self.genesis_hash,
            records,
            self.pool_log.as_ref(),
        )
        .await
        .map_err(|_| NotTaken {
            status: 503,
            code: "node.stopping".into(),
            message: "the node is shutting down".into(),
        })?;
        let mut out = Vec::with_capacity(results.len());
        for (r, b) in results.into_iter().zip(bytes) {
            match r {
                Ok(()) => {
                    if let Some(g) = &self.gossip {
                        g.publish(b).await;
                    }
                    out.push(Ok(()));
                }
                Err(e) => out.push(Err(not_taken(&e))),
            }
        }
        Ok(out)
    }

    fn status(&self, id: &RecordId) -> Pending {
        match self.pool.lock().status(id) {
            PoolStatus::Pending => Pending::Pending,
            PoolStatus::Dropped(Dropped::Refused(r)) => Pending::Refused {
                code: r.code().into(),
                message: r.to_string(),
            },
            PoolStatus::Dropped(Dropped::Expired) => Pending::Expired,
            PoolStatus::Unknown => Pending::Unknown,
        }
    }
}
