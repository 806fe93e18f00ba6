//! End-to-end tests: real `vaultrs` server processes on loopback ports, driven over HTTP
//! by raw requests and by third-party clients. One test binary, one harness.

mod harness;

pub mod api;
mod cli;
mod cli_auth;
mod cli_tokens;
mod clock;
mod compat_vaultrs;
mod generate_root;
mod groundwork;
mod rekey_cli;
mod replication;
mod server;
mod upgrade;
