//! # shanlian-ledger
//!
//! The core of Shanlian (善链), a transparency ledger for charity money and
//! welfare-lottery funds. This crate decides and verifies; it does no
//! networking. Node, explorer and client call it and never re-implement a
//! rule.
//!
//! What a light client needs (records, bytes, signatures, genesis, Merkle
//! proofs, headers, certificates, checkpoints, receipt bundles) is the
//! storage-free [`shanlian_core`], re-exported here module by module. This
//! crate adds:
//!
//! * [`state`]: the deterministic state machine, its files laid out like
//!   SPEC §8–§10;
//! * [`chain`]: applying a whole block (propose, check, commit);
//! * [`store`]: the store, one atomic batch per block, over a key-value
//!   backend (sled on disk, or memory for tests);
//! * [`verify`]: the full-chain verifier, and [`audit`]: the auditor's
//!   compliance checks over a verified store;
//! * [`proofs`]: receipt bundles and their extensions, built from a store;
//! * [`trace`]: where did a donation go, and its trace proof;
//! * [`demo`]: a year of realistic records, for the demo network;
//! * [`fault`]: failures that are not verdicts;
//! * [`keyfile`]: private key files kept as a validator's should be.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub use shanlian_core::{
    block, bundle, codec, compliance, crypto, draw, error, genesis, keys, lottery, merkle, record,
    tracing, types, validators, values, writeset,
};

pub mod audit;
pub mod chain;
pub mod demo;
pub mod fault;
pub mod journal;
pub mod keyfile;
pub mod proofs;
pub mod state;
pub mod store;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod trace;
pub mod verify;

pub use fault::{ApplyError, ChainError, Fault};
pub use shanlian_core::error::{BlockError, Refusal};
