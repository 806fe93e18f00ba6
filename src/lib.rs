//! The vaultrs server library. The server core (HTTP API, mounts, tokens, policies) is
//! built on [`vaultrs_storage`]; see README.md's Architecture section.

pub use vaultrs_storage as storage;
