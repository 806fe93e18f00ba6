//! The vaultrs server library. See README.md's Architecture section for the codemap.

pub mod audit;
pub mod clock;
pub mod config;
pub mod core;
pub mod departure;
pub mod engines;
pub mod error;
pub mod fields;
pub mod http;
pub mod locality;
pub mod logical;
pub mod metrics;
pub mod pgp;
pub mod policy;
pub mod replication;
pub mod server;
pub mod util;

pub use error::{Error, Result};
pub use vaultrs_storage as storage;
