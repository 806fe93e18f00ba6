//! Performance replication across real processes: a primary and its secondaries, each a
//! `vaultrs server` on loopback (dev or config mode), the secondaries' cluster traffic
//! crossing a TCP proxy that can refuse, black-hole or delay it
//! ([`crate::harness::proxy`]). After every step that changes data, the trees converge:
//! status (position, Merkle root) and a key-by-key comparison of the data directories
//! ([`cluster`]).

pub mod cluster;

mod acks;
mod activation;
mod faults;
mod fencing;
mod forwarding;
mod locality;
mod partition;
mod roles;
