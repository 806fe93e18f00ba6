//! `vaultrs kv ...`: the key/value engine, version 1 or 2.
//!
//! Every subcommand first asks `GET sys/internal/ui/mounts/<path>` which mount holds the
//! path and whether it is version 2, as Vault's CLI does: a 404 there means version 1, any
//! other error stops the command. Version 2 paths are rewritten (`secret/foo` becomes
//! `secret/data/foo`, `secret/metadata/foo`, ...); `-mount=secret foo` names the mount
//! explicitly.

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use crate::api::Secret;
use crate::client::Client;
use crate::logical::{ensure_trailing_slash, print_secret, sanitize_path};
use crate::output::{self, header_for_map, pad_equal_signs, Format};
use crate::ui::Ui;
use crate::{ctx, data, Exit, HttpArgs};

/// The mount and secret path every kv subcommand takes.
#[derive(Debug, Args)]
pub struct KvPath {
    /// The path where the KV engine is mounted. With it, KEY is the path inside the mount;
    /// without it, KEY starts with the mount path (secret/foo).
    #[arg(long, value_name = "PATH")]
    pub mount: Option<String>,

    /// The secret's path, such as secret/app (or app with -mount=secret).
    #[arg(value_name = "KEY")]
    pub key: String,
}

/// Subcommands of `vaultrs kv`.
#[derive(Debug, Subcommand)]
pub enum KvCommand {
    /// Read a secret (the latest version, or the one given with -version).
    Get {
        /// The version to read (KV version 2).
        #[arg(long, value_name = "N")]
        version: Option<u64>,
        /// Print only this field of the secret's data.
        #[arg(long, value_name = "NAME")]
        field: Option<String>,
        #[command(flatten)]
        path: KvPath,
    },
    /// Write a secret, replacing its data (a new version on KV version 2).
    Put {
        /// Write only if the current version is N (0: only if the secret does not exist).
        #[arg(long, value_name = "N")]
        cas: Option<i64>,
        /// Print only this field of the response.
        #[arg(long, value_name = "NAME")]
        field: Option<String>,
        #[command(flatten)]
        path: KvPath,
        /// The data: key=value, key=@file, key=- (stdin), or - (a JSON object on stdin).
        #[arg(value_name = "K=V", required = true)]
        data: Vec<String>,
    },
    /// Merge data into the latest version of a secret (KV version 2).
    Patch {
        /// Patch only if the current version is N.
        #[arg(long, value_name = "N")]
        cas: Option<i64>,
        /// How to patch: "patch" sends a JSON merge patch; "rw" reads, merges and writes.
        #[arg(long, default_value = "patch", value_parser = ["patch", "rw"])]
        method: String,
        /// Print only this field of the response.
        #[arg(long, value_name = "NAME")]
        field: Option<String>,
        #[command(flatten)]
        path: KvPath,
        /// The data to merge: key=value, key=@file, key=-, or -.
        #[arg(value_name = "K=V", required = true)]
        data: Vec<String>,
    },
    /// Delete the latest version of a secret, or the versions given (a soft delete on
    /// version 2: undelete brings them back).
    Delete {
        /// Comma-separated versions to delete (KV version 2).
        #[arg(long, value_name = "N,...", value_delimiter = ',')]
        versions: Vec<u64>,
        #[command(flatten)]
        path: KvPath,
    },
    /// Restore soft-deleted versions of a secret (KV version 2).
    Undelete {
        /// Comma-separated versions to restore.
        #[arg(long, value_name = "N,...", value_delimiter = ',')]
        versions: Vec<u64>,
        #[command(flatten)]
        path: KvPath,
    },
    /// Permanently remove versions of a secret (KV version 2).
    Destroy {
        /// Comma-separated versions to destroy.
        #[arg(long, value_name = "N,...", value_delimiter = ',')]
        versions: Vec<u64>,
        #[command(flatten)]
        path: KvPath,
    },
    /// List the secrets under a path.
    List {
        #[command(flatten)]
        path: KvPath,
    },
    /// Write an older version's data as the newest version (KV version 2).
    Rollback {
        /// The version to roll back to.
        #[arg(long, value_name = "N", required = true)]
        version: u64,
        #[command(flatten)]
        path: KvPath,
    },
    /// Read and change a secret's metadata (KV version 2).
    #[command(subcommand)]
    Metadata(MetadataCommand),
}

/// Subcommands of `vaultrs kv metadata`.
#[derive(Debug, Subcommand)]
pub enum MetadataCommand {
    /// Print a secret's metadata and the state of each version.
    Get {
        #[command(flatten)]
        path: KvPath,
    },
    /// Change a secret's settings and custom metadata.
    Put {
        /// How many versions to keep (0: the mount's setting).
        #[arg(long, value_name = "N")]
        max_versions: Option<u64>,
        /// Require the -cas flag on every write of this secret.
        #[arg(long, value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new(),
              num_args = 0..=1, default_missing_value = "true", require_equals = true)]
        cas_required: Option<bool>,
        /// Delete versions this long after they were written, such as 3h (0s: never).
        #[arg(long, value_name = "DURATION")]
        delete_version_after: Option<String>,
        /// A key=value pair of custom metadata. Repeat for several.
        #[arg(long, value_name = "K=V")]
        custom_metadata: Vec<String>,
        #[command(flatten)]
        path: KvPath,
    },
    /// Delete a secret's metadata and every version of it.
    Delete {
        #[command(flatten)]
        path: KvPath,
    },
}

/// Where a kv path lives.
struct Target {
    mount_path: String,
    v2: bool,
    partial: String,
    mount_flag: bool,
}

impl Target {
    /// The API path: `<mount>/<prefix>/<rest>` on version 2, the path itself on version 1.
    fn full(&self, prefix: &str) -> String {
        if self.v2 {
            add_prefix_to_kv_path(&self.partial, &self.mount_path, prefix)
        } else if self.mount_flag {
            join(&[&self.mount_path, &self.partial])
        } else {
            self.partial.clone()
        }
    }
}

/// Go's `path.Join` for our purposes: non-empty parts joined by one slash, no trailing slash.
fn join(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|p| p.split('/'))
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Vault's `addPrefixToKVPath`: puts `prefix` between the mount and the rest of the path.
pub fn add_prefix_to_kv_path(path: &str, mount_path: &str, prefix: &str) -> String {
    if path == mount_path || path == mount_path.trim_end_matches('/') {
        return join(&[mount_path, prefix]);
    }
    let mut mount = mount_path.to_string();
    let mut suffix = path
        .strip_prefix(mount.as_str())
        .unwrap_or(path)
        .to_string();
    while suffix == path {
        // The mount path may carry namespace parts the path does not: drop them one by one.
        let Some((_, rest)) = mount.split_once('/') else {
            break;
        };
        if rest.is_empty() {
            break;
        }
        mount = rest.trim_end_matches('/').to_string();
        suffix = suffix
            .strip_prefix(mount.as_str())
            .unwrap_or(&suffix)
            .to_string();
    }
    join(&[&mount, prefix, &suffix])
}

/// The preflight: which mount holds `path`, and is it KV version 2?
fn preflight(client: &Client, path: &str) -> Result<(String, bool)> {
    let c = client.without_wrapping();
    let resp = c.send("GET", &format!("sys/internal/ui/mounts/{path}"), &[], None)?;
    if resp.status == 404 {
        return Ok((String::new(), false));
    }
    c.check(&resp)?;
    let secret = Secret::parse(&resp.body)?
        .ok_or_else(|| Exit::server("nil response from pre-flight request"))?;
    let mount_path = secret
        .get("path")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let version = secret
        .get("options")
        .and_then(|o| o.get("version"))
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or_default();
    Ok((mount_path, version == "2"))
}

fn resolve(client: &Client, p: &KvPath) -> Result<Target> {
    let key = sanitize_path(&p.key);
    match &p.mount {
        Some(m) if !m.is_empty() => {
            let (mut mount_path, v2) = preflight(client, &sanitize_path(m))?;
            if mount_path.is_empty() {
                // A server without the preflight endpoint: trust the flag.
                mount_path = ensure_trailing_slash(&sanitize_path(m));
            }
            let partial = if v2 { join(&[&mount_path, &key]) } else { key };
            Ok(Target {
                mount_path,
                v2,
                partial,
                mount_flag: true,
            })
        }
        _ => {
            let (mount_path, v2) = preflight(client, &key)?;
            Ok(Target {
                mount_path,
                v2,
                partial: key,
                mount_flag: false,
            })
        }
    }
}

/// Reads like Vault's `kvReadRequest`: a 404 with data or warnings is shown.
fn kv_read(client: &Client, path: &str, query: &[(String, String)]) -> Result<Option<Secret>> {
    client
        .read_with(path, query)
        .map_err(|e| ctx(e, format!("Error reading {path}")))
}

fn output_path(ui: &mut Ui, path: &str, title: &str) {
    ui.info(pad_equal_signs(title, path.len()));
    ui.info(path);
    ui.info("");
}

pub fn run(cmd: KvCommand, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    let client = Client::new(http, &ui.env)?;
    match cmd {
        KvCommand::Get {
            version,
            field,
            path,
        } => get(&client, ui, &path, version, field),
        KvCommand::Put {
            cas,
            field,
            path,
            data,
        } => put(&client, ui, &path, cas, field, &data),
        KvCommand::Patch {
            cas,
            method,
            field,
            path,
            data,
        } => patch(&client, ui, &path, cas, &method, field, &data),
        KvCommand::Delete { versions, path } => delete(&client, ui, &path, &versions),
        KvCommand::Undelete { versions, path } => {
            versions_op(&client, ui, &path, &versions, "undelete")
        }
        KvCommand::Destroy { versions, path } => {
            versions_op(&client, ui, &path, &versions, "destroy")
        }
        KvCommand::List { path } => list(&client, ui, &path),
        KvCommand::Rollback { version, path } => rollback(&client, ui, &path, version),
        KvCommand::Metadata(m) => metadata(&client, ui, m),
    }
}

fn get(
    client: &Client,
    ui: &mut Ui,
    p: &KvPath,
    version: Option<u64>,
    field: Option<String>,
) -> Result<u8> {
    let t = resolve(client, p)?;
    let full = t.full("data");
    let mut query = Vec::new();
    if t.v2 {
        if let Some(v) = version.filter(|v| *v > 0) {
            query.push(("version".to_string(), v.to_string()));
        }
    }
    let Some(secret) = kv_read(client, &full, &query)? else {
        return Err(Exit::server(format!("No value found at {full}")).into());
    };

    if let Some(f) = field {
        if !t.v2 {
            output::print_secret_field(ui, &secret, &f)?;
            return Ok(0);
        }
        match secret.get("data").filter(|d| !d.is_null()) {
            Some(inner) => {
                if f == "data" && inner.get("data").is_none() {
                    output::print_secret_field(ui, &secret, &f)?;
                } else {
                    output::print_map_field(ui, inner, &f)?;
                }
                return Ok(0);
            }
            None => return Err(Exit::server(format!("No data found at {full}")).into()),
        }
    }

    if secret.wrap_info.is_some() || ui.format != Format::Table {
        output::output_secret(ui, &secret)?;
        return Ok(0);
    }
    output::print_warnings(ui, secret.warnings.as_ref());
    if t.v2 {
        output_path(ui, &full, "Secret Path");
    }
    if let Some(Value::Object(meta)) = secret.get("metadata") {
        ui.info(header_for_map("Metadata", meta));
        output::output_data(ui, &Value::Object(meta.clone()))?;
        ui.info("");
    }
    let data = if t.v2 {
        match secret.get("data") {
            Some(Value::Object(d)) => Some(d.clone()),
            _ => None,
        }
    } else {
        secret.data.clone()
    };
    if let Some(d) = data {
        ui.info(header_for_map("Data", &d));
        output::output_data(ui, &Value::Object(d))?;
    }
    Ok(0)
}

/// Prints a kv write response as `vault kv put` does.
fn output_write(
    ui: &mut Ui,
    full: &str,
    secret: Option<Secret>,
    field: Option<String>,
) -> Result<u8> {
    let Some(secret) = secret else {
        if ui.format == Format::Table {
            ui.info(format!("Success! Data written to: {full}"));
        }
        return Ok(0);
    };
    if let Some(f) = field {
        output::print_secret_field(ui, &secret, &f)?;
        return Ok(0);
    }
    if secret.wrap_info.as_ref().is_some_and(|w| w.ttl != 0) || ui.format != Format::Table {
        output::output_secret(ui, &secret)?;
        return Ok(0);
    }
    output_path(ui, full, "Secret Path");
    let meta = secret.data.clone().unwrap_or_default();
    ui.info(header_for_map("Metadata", &meta));
    output::output_data(ui, &Value::Object(meta))?;
    Ok(0)
}

fn put(
    client: &Client,
    ui: &mut Ui,
    p: &KvPath,
    cas: Option<i64>,
    field: Option<String>,
    args: &[String],
) -> Result<u8> {
    let data = data::parse(ui, args)?;
    let t = resolve(client, p)?;
    let full = t.full("data");
    let body = if t.v2 {
        let mut options = Map::new();
        if let Some(c) = cas.filter(|c| *c > -1) {
            options.insert("cas".into(), json!(c));
        }
        json!({ "data": data, "options": options })
    } else {
        Value::Object(data)
    };
    let secret = client
        .write(&full, &body)
        .map_err(|e| ctx(e, format!("Error writing data to {full}")))?;
    output_write(ui, &full, secret, field)
}

fn patch(
    client: &Client,
    ui: &mut Ui,
    p: &KvPath,
    cas: Option<i64>,
    method: &str,
    field: Option<String>,
    args: &[String],
) -> Result<u8> {
    let data = data::parse(ui, args)?;
    let t = resolve(client, p)?;
    if !t.v2 {
        return Err(Exit::server("K/V engine mount must be version 2 for patch support").into());
    }
    let full = t.full("data");
    let secret = if method == "rw" {
        let current = kv_read(client, &full, &[])?;
        let Some(current) = current else {
            return Err(Exit::server(format!("No value found at {full}")).into());
        };
        let mut merged = match current.get("data") {
            Some(Value::Object(m)) => m.clone(),
            _ => return Err(Exit::server(format!("No value found at {full}")).into()),
        };
        let version = current
            .get("metadata")
            .and_then(|m| m.get("version"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        merged.extend(data);
        let body = json!({ "data": merged, "options": { "cas": cas.unwrap_or(version) } });
        client.write(&full, &body)
    } else {
        let mut options = Map::new();
        if let Some(c) = cas.filter(|c| *c > -1) {
            options.insert("cas".into(), json!(c));
        }
        client.patch(&full, &json!({ "data": data, "options": options }))
    };
    let secret = secret.map_err(|e| ctx(e, format!("Error writing data to {full}")))?;
    output_write(ui, &full, secret, field)
}

fn delete(client: &Client, ui: &mut Ui, p: &KvPath, versions: &[u64]) -> Result<u8> {
    let t = resolve(client, p)?;
    let (full, result) = if t.v2 && !versions.is_empty() {
        let full = t.full("delete");
        let r = client.write(&full, &json!({ "versions": versions }));
        (full, r)
    } else {
        let full = t.full("data");
        let r = client.delete(&full, &[]);
        (full, r)
    };
    let secret = result.map_err(|e| ctx(e, format!("Error deleting {full}")))?;
    match secret {
        Some(s) => output::output_secret(ui, &s)?,
        None => {
            if ui.format == Format::Table {
                ui.info(format!("Success! Data deleted (if it existed) at: {full}"));
            }
        }
    }
    Ok(0)
}

fn versions_op(client: &Client, ui: &mut Ui, p: &KvPath, versions: &[u64], op: &str) -> Result<u8> {
    if versions.is_empty() {
        return Err(Exit::local(format!(
            "No versions provided, use the \"-versions\" flag to specify the version to {op}."
        ))
        .into());
    }
    let t = resolve(client, p)?;
    if !t.v2 {
        let verb = if op == "undelete" {
            "Undelete"
        } else {
            "Destroy"
        };
        return Err(Exit::local(format!("{verb} not supported on KV Version 1")).into());
    }
    let full = t.full(op);
    let secret = client
        .write(&full, &json!({ "versions": versions }))
        .map_err(|e| ctx(e, format!("Error writing data to {full}")))?;
    match secret {
        Some(s) => output::output_secret(ui, &s)?,
        None => {
            if ui.format == Format::Table {
                ui.info(format!("Success! Data written to: {full}"));
            }
        }
    }
    Ok(0)
}

fn list(client: &Client, ui: &mut Ui, p: &KvPath) -> Result<u8> {
    let t = resolve(client, p)?;
    let path = if t.v2 {
        ensure_trailing_slash(&t.full("metadata"))
    } else {
        ensure_trailing_slash(&t.full(""))
    };
    let secret = client
        .list(&path)
        .map_err(|e| ctx(e, format!("Error listing {path}")))?;
    let has_keys = secret
        .as_ref()
        .and_then(|s| s.get("keys"))
        .is_some_and(|k| k.is_array());
    if ui.format != Format::Table && !has_keys {
        output::output_data(ui, &Value::Object(Map::new()))?;
        return Ok(2);
    }
    let Some(secret) = secret else {
        return Err(Exit::server(format!("No value found at {path}")).into());
    };
    if !has_keys {
        return Err(Exit::server(format!("No entries found at {path}")).into());
    }
    output::output_list(ui, &secret)?;
    Ok(0)
}

fn rollback(client: &Client, ui: &mut Ui, p: &KvPath, version: u64) -> Result<u8> {
    let t = resolve(client, p)?;
    if !t.v2 {
        return Err(Exit::local("Rollback not supported on KV Version 1").into());
    }
    let meta_path = t.full("metadata");
    let data_path = t.full("data");
    let Some(meta) = kv_read(client, &meta_path, &[])? else {
        return Err(Exit::server(format!("No value found at {data_path}")).into());
    };
    let current = meta
        .get("current_version")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let Some(versions) = meta.get("versions").and_then(Value::as_object) else {
        return Err(Exit::server(format!("No versions found at {data_path}")).into());
    };
    let Some(v) = versions.get(&version.to_string()) else {
        return Err(Exit::local(format!(
            "Version {version} does not exist at {data_path}; see vaultrs kv metadata get"
        ))
        .into());
    };
    if v.get("destroyed").and_then(Value::as_bool) == Some(true) {
        return Err(Exit::local(format!("Version {version} has been destroyed")).into());
    }
    if v.get("deletion_time")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
    {
        return Err(Exit::local(format!(
            "Version {version} has been deleted; undelete it first"
        ))
        .into());
    }
    let query = [("version".to_string(), version.to_string())];
    let Some(old) = kv_read(client, &data_path, &query)? else {
        return Err(Exit::server(format!("No value found at {data_path}")).into());
    };
    let old_data = old.get("data").cloned().unwrap_or(json!({}));
    let body = json!({ "data": old_data, "options": { "cas": current } });
    let secret = client
        .write(&data_path, &body)
        .map_err(|e| ctx(e, format!("Error writing data to {data_path}")))?;
    output_write(ui, &data_path, secret, None)
}

fn metadata(client: &Client, ui: &mut Ui, cmd: MetadataCommand) -> Result<u8> {
    match cmd {
        MetadataCommand::Get { path } => {
            let t = resolve(client, &path)?;
            if !t.v2 {
                return Err(Exit::local("Metadata not supported on KV Version 1").into());
            }
            let full = t.full("metadata");
            let Some(secret) = kv_read(client, &full, &[])? else {
                return Err(Exit::server(format!("No value found at {full}")).into());
            };
            if ui.format != Format::Table {
                output::output_secret(ui, &secret)?;
                return Ok(0);
            }
            let mut data = secret.data.clone().unwrap_or_default();
            let versions = data.remove("versions");
            output_path(ui, &full, "Metadata Path");
            ui.info(header_for_map("Metadata", &data));
            output::output_data(ui, &Value::Object(data))?;
            if let Some(Value::Object(vs)) = versions {
                let mut nums: Vec<(u64, &Value)> = vs
                    .iter()
                    .filter_map(|(k, v)| k.parse().ok().map(|n| (n, v)))
                    .collect();
                nums.sort_by_key(|(n, _)| *n);
                for (n, v) in nums {
                    if let Value::Object(m) = v {
                        ui.info("");
                        ui.info(header_for_map(&format!("Version {n}"), m));
                        output::output_data(ui, v)?;
                    }
                }
            }
            Ok(0)
        }
        MetadataCommand::Put {
            max_versions,
            cas_required,
            delete_version_after,
            custom_metadata,
            path,
        } => {
            let custom = data::parse_strings(ui, &custom_metadata)?;
            let t = resolve(client, &path)?;
            if !t.v2 {
                return Err(Exit::local("Metadata not supported on KV Version 1").into());
            }
            let full = t.full("metadata");
            let mut body = Map::new();
            if let Some(m) = max_versions {
                body.insert("max_versions".into(), json!(m));
            }
            if let Some(c) = cas_required {
                body.insert("cas_required".into(), json!(c));
            }
            if let Some(d) = delete_version_after {
                body.insert("delete_version_after".into(), json!(d));
            }
            if !custom.is_empty() {
                body.insert("custom_metadata".into(), Value::Object(custom));
            }
            let secret = client
                .write(&full, &Value::Object(body))
                .map_err(|e| ctx(e, format!("Error writing data to {full}")))?;
            match secret {
                Some(s) => print_secret(ui, &s, None)?,
                None => {
                    if ui.format == Format::Table {
                        ui.info(format!("Success! Data written to: {full}"));
                    }
                }
            }
            Ok(0)
        }
        MetadataCommand::Delete { path } => {
            let t = resolve(client, &path)?;
            if !t.v2 {
                return Err(Exit::local("Metadata not supported on KV Version 1").into());
            }
            let full = t.full("metadata");
            let secret = client
                .delete(&full, &[])
                .map_err(|e| ctx(e, format!("Error deleting {full}")))?;
            match secret {
                Some(s) => print_secret(ui, &s, None)?,
                None => {
                    if ui.format == Format::Table {
                        ui.info(format!("Success! Data deleted (if it existed) at: {full}"));
                    }
                }
            }
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_prefixes() {
        for (path, mount, prefix, want) in [
            ("secret/foo", "secret/", "data", "secret/data/foo"),
            (
                "secret/foo/bar",
                "secret/",
                "metadata",
                "secret/metadata/foo/bar",
            ),
            ("secret", "secret/", "data", "secret/data"),
            ("secret/", "secret/", "metadata", "secret/metadata"),
            ("team/kv/app", "team/kv/", "data", "team/kv/data/app"),
            ("kv/app", "ns1/kv/", "data", "kv/data/app"),
        ] {
            assert_eq!(
                add_prefix_to_kv_path(path, mount, prefix),
                want,
                "{path} {mount}"
            );
        }
    }
}
