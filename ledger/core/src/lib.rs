//! # shanlian-core
//!
//! The verification core of Shanlian (善链): everything a light client
//! needs to check what a node or an explorer tells it, with no storage, no
//! threads and no networking. The donor's `shanlian verify`, the explorer's
//! proofs and the auditors' tools build on it; `shanlian-ledger` adds the
//! state machine, the store and the full-chain verifier on top. The web
//! page's JavaScript verifier is a second implementation of the same
//! docs/SPEC.md, checked against the same vectors.
//!
//! * [`types`], [`record`], [`values`]: what can be recorded and what the
//!   ledger stores, with types that make wrong states hard (money is
//!   [`types::Fen`], never a float).
//! * [`codec`], [`crypto`]: the one canonical byte encoding and the
//!   domain-separated Ed25519 signatures over it.
//! * [`genesis`]: the founding document and its hash.
//! * [`merkle`]: the RFC 9162 log, its proofs and their verifiers.
//! * [`block`]: headers, validator sets, vote sign-bytes, commit
//!   certificates and checkpoints.
//! * [`validators`]: following the validator set from genesis.
//! * [`bundle`]: receipt bundles and their verifier, the donor's unit of
//!   trust.
//! * [`keys`], [`writeset`]: the store's key families, the write set as a
//!   Merkle tree and the state hash.
//! * [`tracing`]: where money went, computed from trace rows, and trace
//!   proofs and their verifier.
//! * [`lottery`]: the split rule of lottery sales; [`draw`]: verifiable
//!   draws, their beacon and sampling.
//! * [`compliance`]: Charity Law art. 60 ratios and the elderly share.
//! * [`error`]: refusals (every rule's stable code) and block verdicts.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod block;
pub mod bundle;
pub mod codec;
pub mod compliance;
pub mod crypto;
pub mod draw;
pub mod error;
pub mod genesis;
pub mod hexser;
pub mod keys;
pub mod lottery;
pub mod merkle;
pub mod record;
pub mod tracing;
pub mod types;
pub mod validators;
pub mod values;
pub mod writeset;

pub use error::{BlockError, Refusal};
