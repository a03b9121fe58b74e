//! The ledger's integration tests, in one binary to keep link times down.

mod bundles;
mod crash;
mod draws;
mod fuzz;
mod props;
mod rules;
mod spec;
mod spec_rows;
mod store;
mod tamper;
mod traces;
mod vectors;
