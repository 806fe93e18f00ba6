//! The CLI against a real dev server for the auth methods, audit devices and token leases:
//! `vaultrs auth enable|list|disable`, `vaultrs login -method=userpass|approle` (argument,
//! stdin, wrong password, -no-store, -token-only, -field), approle role ids and secret ids
//! through `read`/`write`/`list`, `vaultrs audit enable|list|disable` with the file device
//! and its HMACs, and `vaultrs lease lookup|renew|revoke` on login leases.

mod support;

mod approle;
mod audit;
mod leases;
mod userpass;
