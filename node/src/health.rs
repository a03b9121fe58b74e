//! Whether this node has found itself wrong. A node that finds its own
//! store or state at fault (a block the network certified fails its
//! checks, a stored value fails its check against the headers, the recent
//! blocks do not check) stops consensus — it never votes on the basis of a
//! broken store — and keeps answering `/health` with the reason and what
//! to do, until the operator stops it.

use malachitebft_app_channel::app::metrics::prometheus::metrics::gauge::Gauge;
use std::sync::Arc;
use tokio::sync::watch;

/// What an operator does about a node that found its own store wrong.
pub const REMEDY: &str = "stop this node; check its store with `shanlian-node verify --config <its config>`; move its data folder aside and start it with an empty one to sync from peers, or restore a backup that verifies";

/// Shared between the application loop, the HTTP endpoint and the
/// service (cheap to clone).
#[derive(Clone)]
pub struct Health {
    fault: Arc<watch::Sender<Option<String>>>,
    gauge: Gauge,
}

impl Health {
    /// `gauge` is set to 1 when a fault is recorded.
    pub fn new(gauge: Gauge) -> Health {
        Health {
            fault: Arc::new(watch::channel(None).0),
            gauge,
        }
    }

    /// Records that this node is at fault (the first reason is kept) and
    /// tells the application loop to stop. Returns whether it is the first.
    pub fn set_fault(&self, reason: impl Into<String>) -> bool {
        let reason = reason.into();
        let first = self.fault.send_if_modified(|f| {
            if f.is_none() {
                *f = Some(reason.clone());
                true
            } else {
                false
            }
        });
        if first {
            self.gauge.set(1);
            tracing::error!(%reason, remedy = REMEDY, "this node found its own store wrong: consensus stopped");
        }
        first
    }

    /// Why this node stopped, if it did.
    pub fn fault(&self) -> Option<String> {
        self.fault.borrow().clone()
    }

    /// Resolves with the reason once a fault is recorded.
    pub async fn faulted(&self) -> String {
        let mut rx = self.fault.subscribe();
        let reason = match rx.wait_for(Option::is_some).await {
            Ok(f) => f.clone(),
            Err(_) => None,
        };
        match reason {
            Some(r) => r,
            // The sender lives as long as `self`.
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_fault_is_kept_and_wakes_waiters() {
        let gauge = Gauge::default();
        let h = Health::new(gauge.clone());
        assert_eq!(h.fault(), None);
        let waiter = tokio::spawn({
            let h = h.clone();
            async move { h.faulted().await }
        });
        tokio::task::yield_now().await;
        assert!(h.set_fault("block 7 fails"));
        assert!(!h.set_fault("later"));
        assert_eq!(waiter.await.unwrap(), "block 7 fails");
        assert_eq!(h.fault().as_deref(), Some("block 7 fails"));
        assert_eq!(gauge.get(), 1);
        // A waiter arriving after the fault resolves at once.
        assert_eq!(h.faulted().await, "block 7 fails");
    }
}
