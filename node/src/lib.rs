//! # shanlian-node
//!
//! A Shanlian node: it takes signed records from clients and peers, agrees
//! on blocks with the other validators through the Malachite BFT engine,
//! and commits them through `shanlian-ledger`, which holds every rule.
//!
//! - [`ctx`], [`signing`], [`codec`]: Malachite's `Context`, signer and
//!   verifier, and wire/WAL codecs over the ledger's sign-bytes;
//! - [`app`]: the application loop that answers the engine;
//! - [`pool`]: the bounded record pool; [`gossip`]: record gossip;
//! - [`node`]: starting engine and app, membership-driven peers;
//! - [`demo`]: realistic demo records for `localnet` and the benchmark;
//! - [`service`], [`http`], [`metrics`], [`config`], [`cli`], [`health`]:
//!   operating a node; [`localnet`] and [`bench`]: local networks on loopback.

pub mod app;
pub mod bench;
pub mod catchup;
pub mod cli;
pub mod codec;
pub mod config;
pub mod convert;
pub mod ctx;
pub mod demo;
pub mod explorer;
pub mod gossip;
pub mod health;
pub mod http;
pub mod localnet;
pub mod logging;
pub mod metrics;
pub mod node;
pub mod pool;
pub mod pool_log;
pub mod service;
pub mod signing;
pub mod verify;
