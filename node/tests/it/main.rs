//! Node integration tests: real Malachite engines on loopback ports.

mod consensus;
