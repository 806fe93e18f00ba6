//! `vaultrs lease lookup|renew|revoke` (`sys/leases/*`).

use anyhow::Result;
use clap::Subcommand;
use serde_json::{json, Map, Value};

use crate::client::Client;
use crate::logical::sanitize_path;
use crate::output;
use crate::ui::Ui;
use crate::{ctx, Exit, HttpArgs};

/// Subcommands of `vaultrs lease`.
#[derive(Debug, Subcommand)]
pub enum LeaseCommand {
    /// Print a lease's properties.
    Lookup {
        /// The lease ID.
        #[arg(value_name = "ID")]
        lease_id: String,
    },
    /// Extend a lease.
    Renew {
        /// Ask for this much more time, such as 1h.
        #[arg(long, short = 'i', value_name = "DURATION")]
        increment: Option<String>,
        /// The lease ID.
        #[arg(value_name = "ID")]
        lease_id: String,
    },
    /// Revoke a lease, or every lease under a prefix with -prefix.
    Revoke {
        /// Treat the ID as a prefix and revoke every lease under it.
        #[arg(long)]
        prefix: bool,
        /// Remove the leases even when the engine fails to revoke them (needs -prefix).
        #[arg(long)]
        force: bool,
        /// The lease ID or prefix.
        #[arg(value_name = "ID")]
        lease_id: String,
    },
}

pub fn run(cmd: LeaseCommand, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    let client = Client::new(http, &ui.env)?;
    match cmd {
        LeaseCommand::Lookup { lease_id } => {
            let secret = client
                .write("sys/leases/lookup", &json!({ "lease_id": lease_id }))
                .map_err(|e| ctx(e, format!("Error looking up lease id {lease_id}")))?
                .ok_or_else(|| Exit::server(format!("No lease found with id {lease_id}")))?;
            output::output_secret(ui, &secret)?;
            Ok(0)
        }
        LeaseCommand::Renew {
            increment,
            lease_id,
        } => {
            let mut body = Map::new();
            body.insert("lease_id".into(), json!(lease_id));
            if let Some(i) = increment {
                body.insert("increment".into(), json!(i));
            }
            let secret = client
                .write("sys/leases/renew", &Value::Object(body))
                .map_err(|e| ctx(e, format!("Error renewing {lease_id}")))?
                .unwrap_or_default();
            output::output_secret(ui, &secret)?;
            Ok(0)
        }
        LeaseCommand::Revoke {
            prefix,
            force,
            lease_id,
        } => {
            if force && !prefix {
                return Err(
                    Exit::local("Specifying -force requires also specifying -prefix").into(),
                );
            }
            let p = sanitize_path(&lease_id);
            let result = if force {
                client.write(&format!("sys/leases/revoke-force/{p}"), &json!({}))
            } else if prefix {
                client.write(&format!("sys/leases/revoke-prefix/{p}"), &json!({}))
            } else {
                client.write("sys/leases/revoke", &json!({ "lease_id": lease_id }))
            };
            result.map_err(|e| ctx(e, format!("Error revoking {lease_id}")))?;
            if prefix {
                ui.info(format!(
                    "Success! Revoked any leases with prefix: {lease_id}"
                ));
            } else {
                ui.info(format!("Success! Revoked lease: {lease_id}"));
            }
            Ok(0)
        }
    }
}
