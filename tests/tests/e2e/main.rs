//! End-to-end tests: real `shanlian-node` processes on loopback ports.
//! Each test builds its own network with `shanlian-node testnet`; networks
//! run one at a time.

mod client;
mod faults;
mod keys;
mod load;
mod membership;
mod net;
mod operator;
mod outsider;
