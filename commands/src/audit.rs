//! `vaultrs audit enable|disable|list`: audit devices (`sys/audit`).

use anyhow::Result;
use clap::Subcommand;
use serde_json::{json, Value};

use crate::client::Client;
use crate::logical::{ensure_trailing_slash, sanitize_path};
use crate::output::{self, go_value, table, Format};
use crate::ui::Ui;
use crate::{ctx, data, HttpArgs};

/// Subcommands of `vaultrs audit`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Enable an audit device, such as: vaultrs audit enable file file_path=/var/log/audit.log
    Enable {
        /// The path to enable the device at (by default its type).
        #[arg(long, value_name = "PATH")]
        path: Option<String>,
        /// A human-friendly description of the device.
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
        /// Keep this device on this cluster only: it is not replicated to performance
        /// secondaries.
        #[arg(long)]
        local: bool,
        /// The type of device: file, socket or syslog.
        #[arg(value_name = "TYPE")]
        kind: String,
        /// The device's options as key=value, such as file_path=/tmp/audit.log.
        #[arg(value_name = "K=V")]
        options: Vec<String>,
    },
    /// Disable the audit device at a path.
    Disable {
        /// The device's path, such as file/.
        path: String,
    },
    /// List the enabled audit devices.
    List {
        /// Show replication (local or replicated) and options too.
        #[arg(long)]
        detailed: bool,
    },
}

pub fn run(cmd: AuditCommand, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    let client = Client::new(http, &ui.env)?;
    match cmd {
        AuditCommand::Enable {
            path,
            description,
            local,
            kind,
            options,
        } => {
            let opts = data::parse_strings(ui, &options)?;
            let p = ensure_trailing_slash(&sanitize_path(path.as_deref().unwrap_or(&kind)));
            client
                .write(
                    &format!("sys/audit/{}", p.trim_end_matches('/')),
                    &json!({
                        "type": kind,
                        "description": description.unwrap_or_default(),
                        "options": opts,
                        "local": local,
                    }),
                )
                .map_err(|e| ctx(e, "Error enabling audit device"))?;
            ui.info(format!("Success! Enabled the {kind} audit device at: {p}"));
            Ok(0)
        }
        AuditCommand::Disable { path } => {
            let p = ensure_trailing_slash(&sanitize_path(&path));
            client
                .delete(&format!("sys/audit/{}", p.trim_end_matches('/')), &[])
                .map_err(|e| ctx(e, "Error disabling audit device"))?;
            ui.info(format!(
                "Success! Disabled audit device (if it was enabled) at: {p}"
            ));
            Ok(0)
        }
        AuditCommand::List { detailed } => {
            let secret = client
                .read("sys/audit")
                .map_err(|e| ctx(e, "Error listing audits"))?
                .unwrap_or_default();
            let devices: serde_json::Map<String, Value> = secret
                .data
                .unwrap_or_default()
                .into_iter()
                .filter(|(_, v)| v.is_object())
                .collect();
            if ui.format != Format::Table {
                output::output_data(ui, &Value::Object(devices))?;
                return Ok(0);
            }
            if devices.is_empty() {
                // Vault prints this on standard output, with exit code 2.
                ui.info("No audit devices are enabled.");
                return Ok(2);
            }
            let s = |v: &Value, k: &str| v.get(k).map(go_value).unwrap_or_default();
            let mut paths: Vec<&String> = devices.keys().collect();
            paths.sort();
            let text = if detailed {
                let rows = paths
                    .iter()
                    .map(|p| {
                        let d = &devices[*p];
                        let local = d.get("local").and_then(Value::as_bool) == Some(true);
                        vec![
                            (*p).clone(),
                            s(d, "type"),
                            s(d, "description"),
                            if local { "local" } else { "replicated" }.to_string(),
                            options_column(d.get("options")),
                        ]
                    })
                    .collect();
                table(
                    &["Path", "Type", "Description", "Replication", "Options"],
                    rows,
                )
            } else {
                let rows = paths
                    .iter()
                    .map(|p| {
                        let d = &devices[*p];
                        vec![(*p).clone(), s(d, "type"), s(d, "description")]
                    })
                    .collect();
                table(&["Path", "Type", "Description"], rows)
            };
            ui.info(text);
            Ok(0)
        }
    }
}

/// The Options column of `audit list -detailed`: `k=v` pairs, sorted, space-separated (as
/// Vault prints them).
fn options_column(options: Option<&Value>) -> String {
    let Some(Value::Object(map)) = options else {
        return String::new();
    };
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}={}", go_value(v)))
        .collect();
    pairs.sort();
    pairs.join(" ")
}
