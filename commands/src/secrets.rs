//! `vaultrs secrets enable|disable|list|tune|move`: secrets engine mounts (`sys/mounts`).

use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use crate::api::{mounts_from, MountOutput};
use crate::client::Client;
use crate::logical::{ensure_trailing_slash, sanitize_path};
use crate::output::{self, table, to_go_json, to_yaml, Format};
use crate::ui::Ui;
use crate::{ctx, data, progress, Exit, HttpArgs};

/// Settings shared by `enable` and `tune`.
#[derive(Debug, Args, Default)]
pub struct TuneArgs {
    /// Default time-to-live of leases from this mount, such as 1h ("system" to inherit).
    #[arg(long, value_name = "DURATION")]
    pub default_lease_ttl: Option<String>,

    /// Maximum time-to-live of leases from this mount ("system" to inherit).
    #[arg(long, value_name = "DURATION")]
    pub max_lease_ttl: Option<String>,

    /// A human-friendly description of the mount.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,

    /// An engine option as key=value. Repeat for several.
    #[arg(long = "options", value_name = "K=V")]
    pub options: Vec<String>,

    /// The engine's version, where it has several (for kv: 1 or 2).
    #[arg(long, value_name = "N")]
    pub version: Option<u32>,
}

/// Subcommands of `vaultrs secrets`.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Enable a secrets engine at a path (by default the engine's type, such as kv/).
    Enable {
        /// The path to mount the engine at.
        #[arg(long, value_name = "PATH")]
        path: Option<String>,

        /// Keep this mount on this cluster only: it is not replicated to performance
        /// secondaries.
        #[arg(long)]
        local: bool,

        /// Wrap the engine's storage in an extra layer of encryption (seal wrapping).
        #[arg(long)]
        seal_wrap: bool,

        /// Give the engine access to the seal's entropy source.
        #[arg(long)]
        external_entropy_access: bool,

        /// Never cache the engine's data, whatever the server's cache settings.
        #[arg(long)]
        force_no_cache: bool,

        #[command(flatten)]
        tune: TuneArgs,

        /// The type of engine, such as kv, kv-v2 or transit.
        #[arg(value_name = "TYPE")]
        kind: String,
    },
    /// Disable the secrets engine at a path, deleting all its data.
    Disable {
        /// The mount path, such as kv/.
        path: String,
    },
    /// List the enabled secrets engines.
    List {
        /// Show TTLs, replication (local or replicated), options and more for each mount.
        #[arg(long)]
        detailed: bool,
    },
    /// Change the settings of a mounted secrets engine.
    Tune {
        #[command(flatten)]
        tune: TuneArgs,

        /// The mount path.
        path: String,
    },
    /// Move a secrets engine to a new path, keeping its data and configuration. Every
    /// lease issued under the old path is revoked.
    Move {
        /// The current mount path.
        source: String,
        /// The new mount path.
        destination: String,
    },
}

/// The `config` and `options` objects of an enable or tune request.
fn config_and_options(ui: &mut Ui, t: &TuneArgs) -> Result<(Map<String, Value>, Value)> {
    let mut config = Map::new();
    if let Some(v) = &t.default_lease_ttl {
        config.insert("default_lease_ttl".into(), json!(v));
    }
    if let Some(v) = &t.max_lease_ttl {
        config.insert("max_lease_ttl".into(), json!(v));
    }
    let mut options = data::parse_strings(ui, &t.options)?;
    if let Some(v) = t.version {
        options.insert("version".into(), json!(v.to_string()));
    }
    let options = if options.is_empty() {
        Value::Null
    } else {
        Value::Object(options)
    };
    Ok((config, options))
}

pub fn run(cmd: SecretsCommand, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    let client = Client::new(http, &ui.env)?;
    match cmd {
        SecretsCommand::Enable {
            path,
            local,
            seal_wrap,
            external_entropy_access,
            force_no_cache,
            tune,
            kind,
        } => {
            let (mut config, options) = config_and_options(ui, &tune)?;
            config.insert("force_no_cache".into(), json!(force_no_cache));
            let mount = ensure_trailing_slash(&sanitize_path(path.as_deref().unwrap_or(&kind)));
            let body = json!({
                "type": kind,
                "description": tune.description.clone().unwrap_or_default(),
                "config": config,
                "local": local,
                "seal_wrap": seal_wrap,
                "external_entropy_access": external_entropy_access,
                "options": options,
            });
            client
                .write(
                    &format!("sys/mounts/{}", mount.trim_end_matches('/')),
                    &body,
                )
                .map_err(|e| ctx(e, "Error enabling"))?;
            ui.info(format!(
                "Success! Enabled the {kind} secrets engine at: {mount}"
            ));
            Ok(0)
        }
        SecretsCommand::Disable { path } => {
            let mount = ensure_trailing_slash(&sanitize_path(&path));
            client
                .delete(&format!("sys/mounts/{}", mount.trim_end_matches('/')), &[])
                .map_err(|e| ctx(e, format!("Error disabling secrets engine at {mount}")))?;
            ui.info(format!(
                "Success! Disabled the secrets engine (if it existed) at: {mount}"
            ));
            Ok(0)
        }
        SecretsCommand::List { detailed } => {
            let secret = client
                .read("sys/mounts")
                .map_err(|e| ctx(e, "Error listing secrets engines"))?
                .unwrap_or_default();
            let mounts = mounts_from(&secret);
            print_mounts(ui, &mounts, detailed, MountKind::Secrets)?;
            Ok(0)
        }
        SecretsCommand::Tune { tune, path } => {
            let (mut body, options) = config_and_options(ui, &tune)?;
            if let Some(d) = &tune.description {
                body.insert("description".into(), json!(d));
            }
            if !options.is_null() {
                body.insert("options".into(), options);
            }
            let mount = ensure_trailing_slash(&sanitize_path(&path));
            client
                .write(
                    &format!("sys/mounts/{}/tune", mount.trim_end_matches('/')),
                    &Value::Object(body),
                )
                .map_err(|e| ctx(e, "Error tuning secrets engine"))?;
            ui.info(format!("Success! Tuned the secrets engine at: {mount}"));
            Ok(0)
        }
        SecretsCommand::Move {
            source,
            destination,
        } => remount(&client, ui, &source, &destination, "secrets engine"),
    }
}

/// `sys/remount`, following the migration until it finishes (with a spinner in a terminal).
pub fn remount(client: &Client, ui: &mut Ui, from: &str, to: &str, what: &str) -> Result<u8> {
    let from = ensure_trailing_slash(&sanitize_path(from));
    let to = ensure_trailing_slash(&sanitize_path(to));
    let resp = client
        .write("sys/remount", &json!({ "from": from, "to": to }))
        .map_err(|e| ctx(e, format!("Error moving {what} {from} to {to}")))?;
    let id = resp
        .as_ref()
        .and_then(|s| s.get("migration_id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let Some(id) = id else {
        ui.info(format!("Success! Moved {what} {from} to: {to}"));
        return Ok(0);
    };
    ui.info(format!(
        "Started moving {what} {from} to {to}, with migration ID {id}"
    ));
    let pb = progress::spinner(ui, format!("Moving {from} to {to}"));
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let status = client
            .read(&format!("sys/remount/status/{id}"))
            .map_err(|e| ctx(e, format!("Error checking the migration status of {id}")))?;
        let Some(status) = status else {
            // Statuses live in the server's memory: a restart or seal forgets them.
            pb.finish_and_clear();
            return Err(Exit::server(format!(
                "Error checking the migration status of {id}: the server no longer knows \
                 this migration (was it restarted or sealed?); check where {from} is mounted"
            ))
            .into());
        };
        let state = status
            .get("migration_info")
            .and_then(|i| i.get("status"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match state.as_str() {
            "success" => break,
            "failure" => {
                pb.finish_and_clear();
                return Err(Exit::server(format!(
                    "Failure! Error encountered moving {what} {from} to {to}, with migration ID {id}"
                ))
                .into());
            }
            _ if Instant::now() > deadline => {
                pb.finish_and_clear();
                return Err(Exit::server(format!(
                    "The move of {from} to {to} (migration ID {id}) has not finished; check \
                     vaultrs read sys/remount/status/{id}"
                ))
                .into());
            }
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    pb.finish_and_clear();
    ui.info(format!(
        "Success! Finished moving {what} {from} to {to}, with migration ID {id}"
    ));
    Ok(0)
}

/// Which mount table a listing shows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    Secrets,
    Auth,
}

fn ttl_cell(kind: &str, ttl: i64) -> String {
    match (kind, ttl) {
        ("system" | "cubbyhole", _) => String::new(),
        (_, 0) => "system".into(),
        (_, t) => t.to_string(),
    }
}

/// Prints `secrets list` / `auth list`: a table, or the mount map keyed by path.
pub fn print_mounts(
    ui: &mut Ui,
    mounts: &std::collections::BTreeMap<String, MountOutput>,
    detailed: bool,
    kind: MountKind,
) -> Result<()> {
    match ui.format {
        Format::Json => {
            let s = to_go_json(mounts)?;
            ui.info(s);
            return Ok(());
        }
        Format::Yaml => {
            let s = to_yaml(mounts)?;
            ui.info(s);
            return Ok(());
        }
        Format::Table => {}
    }
    let opts = |m: &MountOutput| match &m.options {
        None => "map[]".to_string(),
        Some(o) => output::go_value(&serde_json::to_value(o).unwrap_or_default()),
    };
    let text = if !detailed {
        let header: &[&str] = match kind {
            MountKind::Secrets => &["Path", "Type", "Accessor", "Description"],
            MountKind::Auth => &["Path", "Type", "Accessor", "Description", "Version"],
        };
        let rows = mounts
            .iter()
            .map(|(p, m)| {
                let mut r = vec![
                    p.clone(),
                    m.kind.clone(),
                    m.accessor.clone(),
                    m.description.clone(),
                ];
                if kind == MountKind::Auth {
                    r.push(m.plugin_version.clone());
                }
                r
            })
            .collect();
        table(header, rows)
    } else {
        let mut header = vec!["Path", "Plugin", "Accessor", "Default TTL", "Max TTL"];
        if kind == MountKind::Auth {
            header.push("Token Type");
        }
        header.extend([
            "Force No Cache",
            "Replication",
            "Seal Wrap",
            "External Entropy Access",
            "Options",
            "Description",
            "UUID",
            "Version",
            "Running Version",
            "Running SHA256",
            "Deprecation Status",
        ]);
        let rows = mounts
            .iter()
            .map(|(p, m)| {
                let mut r = vec![
                    p.clone(),
                    if m.kind == "plugin" && !m.config.plugin_name.is_empty() {
                        m.config.plugin_name.clone()
                    } else {
                        m.kind.clone()
                    },
                    m.accessor.clone(),
                    ttl_cell(&m.kind, m.config.default_lease_ttl),
                    ttl_cell(&m.kind, m.config.max_lease_ttl),
                ];
                if kind == MountKind::Auth {
                    r.push(m.config.token_type.clone());
                }
                r.extend([
                    m.config.force_no_cache.to_string(),
                    if m.local { "local" } else { "replicated" }.to_string(),
                    m.seal_wrap.to_string(),
                    m.external_entropy_access.to_string(),
                    opts(m),
                    m.description.clone(),
                    m.uuid.clone(),
                    m.plugin_version.clone(),
                    m.running_plugin_version.clone(),
                    m.running_sha256.clone(),
                    m.deprecation_status.clone(),
                ]);
                r
            })
            .collect();
        table(&header, rows)
    };
    ui.info(text);
    Ok(())
}
