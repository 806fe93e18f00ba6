//! `read`, `write`, `delete`, `list`, `patch` and `unwrap`: plain operations on any path.

use anyhow::Result;
use clap::Args;
use serde_json::{Map, Value};

use crate::api::Secret;
use crate::client::Client;
use crate::output::{self, Format};
use crate::ui::Ui;
use crate::{ctx, data, guard, Exit, HttpArgs};

/// Arguments of `vaultrs read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Print only this field of the response.
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,

    /// The path to read, such as secret/data/app or sys/mounts.
    pub path: String,

    /// Optional key=value pairs sent as query parameters.
    #[arg(value_name = "K=V")]
    pub data: Vec<String>,
}

/// Arguments of `vaultrs write` and `vaultrs patch`.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Send the request with no data, and answer yes to any confirmation.
    #[arg(short = 'f', long)]
    pub force: bool,

    /// Print only this field of the response.
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,

    /// The path to write to.
    pub path: String,

    /// The data: key=value, key=@file (read a file), key=- (read stdin), or - (a JSON
    /// object on stdin).
    #[arg(value_name = "K=V")]
    pub data: Vec<String>,
}

/// Arguments of `vaultrs delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The path to delete.
    pub path: String,

    /// Optional key=value pairs sent as query parameters.
    #[arg(value_name = "K=V")]
    pub data: Vec<String>,
}

/// Arguments of `vaultrs list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The path to list, such as secret/metadata/ or sys/policies/acl.
    pub path: String,
}

/// Arguments of `vaultrs unwrap`.
#[derive(Debug, Args)]
pub struct UnwrapArgs {
    /// Print only this field of the unwrapped response.
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,

    /// The wrapping token. Without it, the token the CLI authenticates with is unwrapped.
    pub token: Option<String>,
}

/// Removes leading and trailing slashes, as Vault's `sanitizePath`.
pub fn sanitize_path(p: &str) -> String {
    p.trim().trim_matches('/').to_string()
}

/// Ensures one trailing slash.
pub fn ensure_trailing_slash(p: &str) -> String {
    let p = p.trim();
    if p.is_empty() {
        return String::new();
    }
    format!("{}/", p.trim_end_matches('/'))
}

/// Query parameters from data arguments: string values, lists repeated.
fn query_from(map: Map<String, Value>) -> Vec<(String, String)> {
    let mut q = Vec::new();
    for (k, v) in map {
        match v {
            Value::Array(items) => {
                for i in items {
                    q.push((k.clone(), output::go_value(&i)));
                }
            }
            other => q.push((k, output::go_value(&other))),
        }
    }
    q
}

/// Prints a response the way `read` and `write` do: `-field`, or the whole response.
pub fn print_secret(ui: &mut Ui, secret: &Secret, field: Option<&str>) -> Result<()> {
    match field {
        Some(f) => output::print_secret_field(ui, secret, f),
        None => output::output_secret(ui, secret),
    }
}

pub fn read(a: ReadArgs, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    let path = sanitize_path(&a.path);
    let query = query_from(data::parse(ui, &a.data)?);
    let client = Client::new(http, &ui.env)?;
    let secret = client
        .read_with(&path, &query)
        .map_err(|e| ctx(e, format!("Error reading {path}")))?;
    let Some(secret) = secret else {
        return Err(Exit::server(format!("No value found at {path}")).into());
    };
    print_secret(ui, &secret, a.field.as_deref())?;
    Ok(0)
}

pub fn write(a: WriteArgs, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    write_or_patch(a, http, ui, false)
}

pub fn patch(a: WriteArgs, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    write_or_patch(a, http, ui, true)
}

fn write_or_patch(a: WriteArgs, http: &HttpArgs, ui: &mut Ui, patch: bool) -> Result<u8> {
    if a.data.is_empty() && !a.force {
        return Err(Exit::local("Must supply data or use -force").into());
    }
    let path = sanitize_path(&a.path);
    let body = Value::Object(data::parse(ui, &a.data)?);
    let client = Client::new(http, &ui.env)?;

    if !patch && guard::wipes_cluster(&path) {
        // Asks first; sends nothing unless the user (or -force) agreed.
        guard::confirm_wipe(ui, &client, &path, a.force, http.non_interactive)?;
    }

    let result = if patch {
        client.patch(&path, &body)
    } else {
        client.write(&path, &body)
    };
    let secret = result.map_err(|e| ctx(e, format!("Error writing data to {path}")))?;
    match secret {
        None => {
            if ui.format == Format::Table {
                ui.info(format!("Success! Data written to: {path}"));
            }
        }
        Some(s) => print_secret(ui, &s, a.field.as_deref())?,
    }
    if !patch && guard::wipes_cluster(&path) {
        guard::wait_for_secondary(ui, &client);
    }
    Ok(0)
}

pub fn delete(a: DeleteArgs, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    let path = sanitize_path(&a.path);
    let query = query_from(data::parse(ui, &a.data)?);
    let client = Client::new(http, &ui.env)?;
    let secret = client
        .delete(&path, &query)
        .map_err(|e| ctx(e, format!("Error deleting {path}")))?;
    match secret {
        Some(s) => output::output_secret(ui, &s)?,
        None => {
            if ui.format == Format::Table {
                ui.info(format!("Success! Data deleted (if it existed) at: {path}"));
            }
        }
    }
    Ok(0)
}

pub fn list(a: ListArgs, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    let path = ensure_trailing_slash(&sanitize_path(&a.path));
    let client = Client::new(http, &ui.env)?;
    let secret = client
        .list(&path)
        .map_err(|e| ctx(e, format!("Error listing {path}")))?;
    if let Some(s) = secret
        .as_ref()
        .filter(|s| s.wrap_info.as_ref().is_some_and(|w| w.ttl != 0))
    {
        output::output_secret(ui, s)?;
        return Ok(0);
    }
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
    if secret.data.is_none() {
        output::output_secret(ui, &secret)?;
        return Ok(0);
    }
    if !has_keys {
        return Err(Exit::server(format!("No entries found at {path}")).into());
    }
    output::output_list(ui, &secret)?;
    Ok(0)
}

pub fn unwrap(a: UnwrapArgs, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    let mut client = Client::new(http, &ui.env)?.without_wrapping();
    let body = match a.token {
        Some(t) => serde_json::json!({ "token": t }),
        None => {
            if client.token.is_none() {
                return Err(Exit::local(
                    "No wrapping token given and no token is configured (VAULT_TOKEN or ~/.vault-token)",
                )
                .into());
            }
            serde_json::json!({})
        }
    };
    client.wrap_ttl = None;
    let secret = client
        .write("sys/wrapping/unwrap", &body)
        .map_err(|e| ctx(e, "Error unwrapping"))?;
    let Some(secret) = secret else {
        return Err(Exit::server("Could not find wrapped response").into());
    };
    print_secret(ui, &secret, a.field.as_deref())?;
    Ok(0)
}
