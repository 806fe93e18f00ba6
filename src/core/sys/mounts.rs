//! The mount endpoints of the system backend: `sys/mounts`, `sys/auth` (list, enable,
//! disable) and their `tune`.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::super::cleanup::{self, Pending};
use super::super::mounts::{MountEntry, Route, Table};
use super::super::{Active, Core, Response};
use super::mount_json;
use crate::error::{Error, Result};
use crate::fields;
use crate::logical::ttl_from_json;

fn bool_field(data: &Map<String, Value>, name: &str) -> Result<bool> {
    Ok(fields::boolean(data, name)?.unwrap_or(false))
}

/// A TTL in a mount config: seconds, a duration string, or ""/"system" (inherit = 0).
fn ttl_field(value: Option<&Value>, name: &str) -> Result<Option<u64>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s == "system" => Ok(Some(0)),
        Some(v) => ttl_from_json(v)
            .map(|d| Some(d.as_secs()))
            .ok_or_else(|| Error::invalid(format!("unable to parse {name}: {v}"))),
    }
}

/// Normalizes a mount path: trimmed of slashes, validated, with one trailing `/`.
pub(super) fn normalize_mount_path(path: &str) -> Result<String> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Err(Error::invalid("path cannot be empty"));
    }
    vaultrs_storage::key::validate_key(trimmed)
        .map_err(|_| Error::invalid(format!("invalid mount path {trimmed:?}")))?;
    Ok(format!("{trimmed}/"))
}

/// Secret-engine paths no request may mount, unmount, tune or move (prefixes).
pub(super) const PROTECTED: &[&str] = &["sys/", "cubbyhole/", "identity/", "audit/", "auth/"];
const SINGLETONS: &[&str] = &["cubbyhole", "system", "token", "identity"];

pub(super) fn list_mounts(active: &Active, table: Table) -> Result<Response> {
    let mut data = Map::new();
    for route in active.router().routes() {
        if route.entry.table == table {
            data.insert(route.entry.path.clone(), route.entry.to_json());
        }
    }
    Ok(Response::data(data))
}

/// The mount of `table` at `path`. The router serves both tables under one namespace
/// (`auth/userpass/` is an auth mount's route), so the entry's own table is checked:
/// `sys/mounts/auth/userpass` never reaches an auth method.
pub(super) fn find(active: &Active, table: Table, path: &str) -> Result<Option<Route>> {
    let path = normalize_mount_path(path)?;
    let key = format!("{}{path}", table.route_prefix());
    Ok(active
        .router()
        .get(&key)
        .filter(|route| route.entry.table == table)
        .cloned())
}

/// Whether `path` (normalized) is, or is under, a mount no request may unmount or tune
/// through `sys/mounts` (Vault's protected mounts, matched as prefixes).
fn protected(table: Table, path: &str) -> bool {
    table == Table::Mounts && PROTECTED.iter().any(|p| path.starts_with(p))
}

pub(super) fn read_mount(active: &Active, table: Table, path: &str) -> Result<Response> {
    match find(active, table, path)? {
        Some(route) => Ok(Response::data(mount_json(&route.entry))),
        None => Err(Error::invalid(format!(
            "No {} mount at {}",
            if table == Table::Mounts {
                "secret engine"
            } else {
                "auth"
            },
            normalize_mount_path(path)?
        ))),
    }
}

pub(super) async fn enable_mount(
    core: &Core,
    active: &Active,
    table: Table,
    path: &str,
    data: &Map<String, Value>,
) -> Result<Response> {
    let path = normalize_mount_path(path)?;
    let raw_type = match data.get("type") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        _ => return Err(Error::invalid("backend type must be specified as a string")),
    };
    let mut options = fields::string_map(data, "options")?.unwrap_or_default();
    let kind = match raw_type.as_str() {
        "kv-v1" => {
            options.insert("version".into(), "1".into());
            "kv".to_owned()
        }
        "kv-v2" => {
            options.insert("version".into(), "2".into());
            "kv".to_owned()
        }
        "generic" => "kv".to_owned(),
        other => other.to_owned(),
    };
    if SINGLETONS.contains(&kind.as_str()) {
        return Err(Error::invalid(format!(
            "mount type of {kind:?} is not mountable"
        )));
    }
    if protected(table, &path) {
        return Err(Error::invalid(format!("cannot mount {path:?}")));
    }
    if kind != "kv" && options.contains_key("version") {
        return Err(Error::invalid(format!(
            "secrets engine {kind:?} does not allow setting a version"
        )));
    }
    if kind == "kv" {
        let version = options
            .entry("version".into())
            .or_insert_with(|| "1".into());
        if version.is_empty() {
            *version = "1".into();
        }
    }
    let local = bool_field(data, "local")?;
    if !local && core.barrier().is_follower() {
        return Err(Error::invalid(
            "cannot add a non-local mount to a replication secondary",
        ));
    }
    let mut entry = MountEntry::new(
        table,
        &path,
        &kind,
        &fields::string(data, "description").unwrap_or_default(),
        local,
    );
    entry.seal_wrap = bool_field(data, "seal_wrap")?;
    entry.external_entropy_access = bool_field(data, "external_entropy_access")?;
    entry.options = (!options.is_empty()).then_some(options);
    if let Some(config) = data.get("config") {
        match config {
            Value::Null => {}
            Value::Object(config) => apply_config(&mut entry, config, table)?,
            _ => return Err(Error::invalid("config must be a map")),
        }
    }
    let handler = core.handler_for(&entry)?;

    let _guard = active.table_lock.lock().await;
    let key = entry.route();
    if let Some(existing) = active.router().conflict(&key) {
        return Err(Error::invalid(format!(
            "path is already in use at {existing}"
        )));
    }
    let mut entries = table_entries(active, table);
    entries.push(entry.clone());
    core.store_table(table, &entries).await?;
    active.router_mut().insert(Route {
        entry: Arc::new(entry),
        handler,
    });
    Ok(Response::empty())
}

pub(super) fn table_entries(active: &Active, table: Table) -> Vec<MountEntry> {
    active
        .router()
        .routes()
        .into_iter()
        .filter(|r| r.entry.table == table)
        .map(|r| (*r.entry).clone())
        .collect()
}

fn apply_config(entry: &mut MountEntry, config: &Map<String, Value>, table: Table) -> Result<()> {
    if let Some(ttl) = ttl_field(config.get("default_lease_ttl"), "default_lease_ttl")? {
        entry.config.default_lease_ttl = ttl;
    }
    if let Some(ttl) = ttl_field(config.get("max_lease_ttl"), "max_lease_ttl")? {
        entry.config.max_lease_ttl = ttl;
    }
    let (default, max) = (entry.config.default_lease_ttl, entry.config.max_lease_ttl);
    if default > 0 && max > 0 && default > max {
        return Err(Error::invalid(
            "backend max lease TTL cannot be less than backend default lease TTL",
        ));
    }
    if config.contains_key("force_no_cache") {
        entry.config.force_no_cache = bool_field(config, "force_no_cache")?;
    }
    if let Some(v) = fields::string(config, "listing_visibility") {
        if !matches!(v.as_str(), "" | "unauth" | "hidden") {
            return Err(Error::invalid(format!("invalid listing_visibility {v:?}")));
        }
        entry.config.listing_visibility = v;
    }
    if let Some(v) = fields::string(config, "token_type") {
        if table != Table::Auth {
            return Err(Error::invalid("token_type can only be set on auth mounts"));
        }
        if entry.kind == "token" {
            return Err(Error::invalid(
                "'token_type' cannot be set for 'token' or 'ns_token' auth mounts",
            ));
        }
        if !matches!(
            v.as_str(),
            "" | "default-service" | "default-batch" | "service" | "batch"
        ) {
            return Err(Error::invalid(format!("invalid token_type {v:?}")));
        }
        entry.config.token_type = v;
    }
    for (name, slot) in [
        (
            "audit_non_hmac_request_keys",
            &mut entry.config.audit_non_hmac_request_keys,
        ),
        (
            "audit_non_hmac_response_keys",
            &mut entry.config.audit_non_hmac_response_keys,
        ),
        (
            "passthrough_request_headers",
            &mut entry.config.passthrough_request_headers,
        ),
        (
            "allowed_response_headers",
            &mut entry.config.allowed_response_headers,
        ),
    ] {
        if let Some(list) = fields::string_list(config, name)? {
            *slot = list;
        }
    }
    Ok(())
}

/// Disables a mount (Vault's `unmount`/`disableCredential`). In order, under the table lock:
/// the route leaves the router and the requests in flight on it finish (so nothing writes
/// its data or issues a token through it any more); the leases under its path are revoked,
/// as Vault does first (for an auth method: every token it issued); the table without the
/// entry is committed with a [`Pending`] purge of the mount's data in one batch. The purge
/// itself runs after the lock is released, in bounded batches, and a restart finishes it
/// (see [`super::super::cleanup`]). A failure before the table commit puts the route back.
pub(super) async fn disable_mount(
    core: &Core,
    active: &Active,
    table: Table,
    path: &str,
) -> Result<Response> {
    let path = normalize_mount_path(path)?;
    let key = format!("{}{path}", table.route_prefix());
    if protected(table, &path) || table == Table::Auth && path == "token/" {
        return Err(Error::invalid(format!("cannot unmount {path:?}")));
    }
    let guard = active.table_lock.lock().await;
    let Some(route) = find(active, table, &path)? else {
        // Vault answers 204 for a path with no mount: existence is not leaked.
        return Ok(Response::empty());
    };
    if !route.entry.local && core.barrier().is_follower() {
        return Err(Error::invalid(
            "cannot unmount a non-local mount on a replication secondary",
        ));
    }
    let gate = active
        .router_mut()
        .remove(&key)
        .map(|(_, gate)| gate)
        .ok_or_else(|| Error::Internal(format!("route {key} vanished while disabling")))?;
    gate.retire().await;
    let pending = Pending::purge(
        &key,
        vec![
            route.entry.storage_prefix(),
            route.entry.local_storage_prefix(),
        ],
    );
    let committed = async {
        // Force: a token that cannot be revoked must not keep the mount alive.
        super::super::expiration::revoke_prefix(core, active, &key, true).await?;
        let entries: Vec<MountEntry> = table_entries(active, table)
            .into_iter()
            .filter(|e| e.uuid != route.entry.uuid)
            .collect();
        core.store_table_with(table, &entries, Some(pending.entry()?))
            .await
    }
    .await;
    if let Err(e) = committed {
        active.router_mut().insert(route);
        return Err(e);
    }
    drop(guard);
    crate::util::test_pause("disable-after-table").await;
    cleanup::finish(core, active, pending).await?;
    Ok(Response::empty())
}

pub(super) fn read_tune(
    core: &Core,
    active: &Active,
    table: Table,
    path: &str,
) -> Result<Response> {
    let route = find(active, table, path)?.ok_or_else(|| {
        Error::invalid(format!(
            "cannot fetch sysview for path {:?}",
            path.trim_matches('/')
        ))
    })?;
    let e = &route.entry;
    let info = e.info(core.config.default_lease_ttl, core.config.max_lease_ttl);
    let mut data = Map::new();
    data.insert("description".into(), e.description.clone().into());
    data.insert(
        "default_lease_ttl".into(),
        info.default_lease_ttl.as_secs().into(),
    );
    data.insert("max_lease_ttl".into(), info.max_lease_ttl.as_secs().into());
    data.insert("force_no_cache".into(), e.config.force_no_cache.into());
    if let Some(options) = &e.options {
        data.insert(
            "options".into(),
            serde_json::to_value(options).unwrap_or(Value::Null),
        );
    }
    if table == Table::Auth {
        let tt = if e.config.token_type.is_empty() {
            "default-service".to_owned()
        } else {
            e.config.token_type.clone()
        };
        data.insert("token_type".into(), tt.into());
    }
    if !e.config.listing_visibility.is_empty() {
        data.insert(
            "listing_visibility".into(),
            e.config.listing_visibility.clone().into(),
        );
    }
    Ok(Response::data(data))
}

pub(super) async fn tune_mount(
    core: &Core,
    active: &Active,
    table: Table,
    path: &str,
    data: &Map<String, Value>,
) -> Result<Response> {
    let norm = normalize_mount_path(path)?;
    if protected(table, &norm) {
        return Err(Error::invalid(format!("cannot tune {norm:?}")));
    }
    let _guard = active.table_lock.lock().await;
    let route = find(active, table, path)?.ok_or_else(|| {
        Error::invalid(format!(
            "tune of path {norm:?} failed: no mount entry found"
        ))
    })?;
    if !route.entry.local && core.barrier().is_follower() {
        return Err(Error::invalid(
            "cannot tune a non-local mount on a replication secondary",
        ));
    }
    let mut entry = (*route.entry).clone();
    apply_config(&mut entry, data, table)?;
    if let Some(description) = fields::string(data, "description") {
        entry.description = description;
    }
    if let Some(Value::Object(options)) = data.get("options") {
        let mut merged = entry.options.clone().unwrap_or_default();
        for (k, v) in options {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(Error::invalid(format!("option {k:?} must be a string"))),
            };
            if k == "version" {
                if entry.kind != "kv" {
                    return Err(Error::invalid(format!(
                        "secrets engine {:?} does not allow setting a version",
                        entry.kind
                    )));
                }
                let current = merged.get("version").map_or("1", String::as_str);
                if v != current {
                    if !(current == "1" && v == "2") {
                        return Err(Error::invalid(
                            "cannot downgrade mount from KV version 2 to KV version 1",
                        ));
                    }
                    let view = crate::logical::StorageView::new(
                        core.barrier.clone(),
                        entry.storage_prefix(),
                    );
                    if !view.keys().await?.is_empty() {
                        return Err(Error::invalid(
                            "upgrading a KV version 1 mount that holds data to version 2 is not supported yet",
                        ));
                    }
                }
            }
            merged.insert(k.clone(), v);
        }
        entry.options = Some(merged);
    }
    let handler = core.handler_for(&entry)?;
    let entries: Vec<MountEntry> = table_entries(active, table)
        .into_iter()
        .map(|e| {
            if e.uuid == entry.uuid {
                entry.clone()
            } else {
                e
            }
        })
        .collect();
    core.store_table(table, &entries).await?;
    active.router_mut().insert(Route {
        entry: Arc::new(entry),
        handler,
    });
    Ok(Response::empty())
}
