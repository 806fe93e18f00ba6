//! End-to-end HTTP API tests against real `vaultrs` servers: the envelope, bad input,
//! `sys/` (seal, health, keys, init/unseal, restart), mounts, KV v1/v2, cubbyhole,
//! policies and ACLs, tokens and response wrapping, metrics. Contracts: /work/shared/vault-api.md.

pub mod common;

mod approle_fields;
mod audit;
mod auth_methods;
mod authz;
mod bad_input;
mod batch_tokens;
mod disable;
mod durations;
mod envelope;
mod kv;
mod leases;
mod metrics;
mod mounts;
pub mod pgp_keys;
mod policies;
pub mod rekey;
mod remount;
mod replication;
mod snapshot;
mod sys;
mod token_roles;
mod tokens;
mod wrapping;
