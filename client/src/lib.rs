//! # shanlian-client
//!
//! `shanlian`, the command line for every user of a Shanlian network:
//!
//! * charities and the bureau sign and submit every kind of record, one at a
//!   time ([`commands::submit`]) or imported in bulk from CSV
//!   ([`commands::import`]);
//! * donors verify their receipt offline against the genesis file, see
//!   where their money went, and check a document against an evidence hash
//!   ([`commands::donor`]);
//! * auditors replay and check a whole chain, compare nodes, reconcile a
//!   bank statement, sign attestations and export the books
//!   ([`commands::audit`], [`commands::export`]).
//!
//! It talks to nodes through their explorers ([`api`]) and trusts nothing
//! they say: what matters is verified with the ledger's light-client core.
//! `verify` needs neither a node nor a store.

#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod cli;
pub mod commands;
pub mod money;
pub mod profile;
pub mod receipt;

/// What a command found: JSON for `--json`, text for people, and whether
/// it succeeded (the exit status).
#[derive(Debug, Clone)]
pub struct Report {
    pub json: serde_json::Value,
    pub text: String,
    pub ok: bool,
}

impl Report {
    pub fn ok(json: serde_json::Value, text: impl Into<String>) -> Report {
        Report {
            json,
            text: text.into(),
            ok: true,
        }
    }
    pub fn failed(json: serde_json::Value, text: impl Into<String>) -> Report {
        Report {
            json,
            text: text.into(),
            ok: false,
        }
    }
}
