//! # shanlian-ledger
//!
//! The core of Shanlian (善链), a transparency ledger for charity money and
//! welfare-lottery funds. This crate decides and verifies; it does no
//! networking. Node, explorer and client call it and never re-implement a
//! rule.
//!
//! * [`types`], [`record`]: what can be recorded, with types that make wrong
//!   states hard (money is [`types::Fen`], never a float).
//! * [`codec`], [`crypto`]: the one canonical byte encoding and the
//!   domain-separated Ed25519 signatures over it (docs/SPEC.md).
//! * [`merkle`]: the RFC 9162 log over all record ids, in tiles.
//! * [`block`]: headers, validator sets, vote sign-bytes, commit
//!   certificates and checkpoints.
//! * [`state`]: the deterministic state machine; [`lottery`] its split rule.
//! * [`store`]: the sled store, one atomic batch per block.
//! * [`chain`]: applying a whole block; [`verify`]: the full-chain verifier.
//! * [`trace`]: where did a donation go (FIFO over cumulative intervals).
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod block;
pub mod chain;
pub mod codec;
pub mod crypto;
pub mod error;
pub mod genesis;
pub mod journal;
pub mod lottery;
pub mod merkle;
pub mod record;
pub mod state;
pub mod store;
pub mod tables;
pub mod testkit;
pub mod trace;
pub mod types;
pub mod verify;

pub use error::{BlockError, Refusal};
