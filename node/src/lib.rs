//! # shanlian-node
//!
//! A Shanlian node: it takes signed records from clients and peers, agrees
//! on blocks with the other validators through the Malachite BFT engine,
//! and commits them through `shanlian-ledger`, which holds every rule.
//!
//! Work in progress (issue #3): the consensus context and signing are here;
//! the engine loop, pool, gossip and operator commands follow.

pub mod app;
pub mod codec;
pub mod config;
pub mod ctx;
pub mod gossip;
pub mod http;
pub mod localnet;
pub mod node;
pub mod signing;
