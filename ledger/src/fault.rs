//! Faults: failures that are not verdicts. A storage read that fails, a
//! stored value that does not decode, a state that breaks its own
//! invariants — none of these says anything about the record or block being
//! checked, so none may become a [`Refusal`] or an invalid block: a
//! validator must never vote against a valid block because its own disk is
//! broken, and a client must never be told its valid record was refused.
//! Faults propagate as faults; the node stops (or retries) with a clear
//! error.

use shanlian_core::error::{BlockError, Refusal};

/// This node's storage or state is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// The store failed to read or write, or held bytes that do not decode.
    #[error("storage fault: {0}")]
    Storage(String),
    /// The in-memory state broke one of its own invariants (a bug, or a
    /// store that was corrupted on disk).
    #[error("state invariant broken: {0}")]
    Invariant(String),
}

impl From<crate::store::StoreError> for Fault {
    fn from(e: crate::store::StoreError) -> Self {
        Fault::Storage(e.to_string())
    }
}

/// Why applying a record did not succeed: the record was refused by a rule
/// (nothing changed), or a fault stopped the check (no verdict).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl ApplyError {
    /// The refusal's code, or `node.fault` for a fault (no verdict).
    pub fn code(&self) -> &'static str {
        match self {
            ApplyError::Refused(r) => r.code(),
            ApplyError::Fault(_) => "node.fault",
        }
    }

    /// The refusal, if this is one.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            ApplyError::Refused(r) => Some(r),
            ApplyError::Fault(_) => None,
        }
    }
}

/// Why a block could not be built, checked or committed: it is invalid (a
/// verdict), or a fault stopped the work (no verdict).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Invalid(#[from] BlockError),
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<crate::store::StoreError> for ChainError {
    fn from(e: crate::store::StoreError) -> Self {
        ChainError::Fault(e.into())
    }
}
