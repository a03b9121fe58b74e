//! End-to-end tests of Shanlian: see `tests/e2e`. They start real node
//! processes (the `shanlian-node-e2e` binary, which is `shanlian-node`) on
//! loopback ports, one network at a time.
