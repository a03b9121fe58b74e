//! The ledger's integration tests, in one binary to keep link times down.

mod bundles;
mod crash;
mod props;
mod rules;
mod spec;
mod store;
mod tamper;
mod vectors;
