//! The system backend (`sys/`): parse the path into an [`Endpoint`], then dispatch.
//!
//! The unauthenticated raw endpoints (`init`, `seal-status`, `unseal`, `health`, `leader`)
//! live in the HTTP layer; everything here runs through the request pipeline.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::mounts::{MountEntry, Route, Table};
use super::{Active, Caller, Core, Request, Response};
use crate::error::{Error, Result};
use crate::fields;
use crate::logical::{ttl_from_json, Operation};
use crate::util::rfc3339;

/// The `sys/` endpoints, parsed from the path relative to `sys/`.
#[derive(Debug, PartialEq, Eq)]
enum Endpoint {
    MountTable(Table),
    Mount(Table, String),
    Tune(Table, String),
    Policies,
    Policy(String),
    LegacyPolicies,
    LegacyPolicy(String),
    CapabilitiesSelf,
    Capabilities,
    CapabilitiesAccessor,
    KeyStatus,
    Rotate,
    Seal,
    Wrap,
    Rewrap,
    /// OpenBao's authenticated twin of the raw `sys/generate-root/attempt`.
    GenerateRootAttempt,
    GenerateRootUpdate,
    DecodeToken,
    Unknown,
}

fn parse_endpoint(rel: &str) -> Endpoint {
    let rel = rel.trim_end_matches('/');
    let mount = |table: Table, rest: &str| match rest.strip_suffix("/tune") {
        Some(path) => Endpoint::Tune(table, path.to_owned()),
        None => Endpoint::Mount(table, rest.to_owned()),
    };
    match rel {
        "mounts" => Endpoint::MountTable(Table::Mounts),
        "auth" => Endpoint::MountTable(Table::Auth),
        "policies/acl" => Endpoint::Policies,
        "policy" => Endpoint::LegacyPolicies,
        "capabilities-self" => Endpoint::CapabilitiesSelf,
        "capabilities" => Endpoint::Capabilities,
        "capabilities-accessor" => Endpoint::CapabilitiesAccessor,
        "key-status" => Endpoint::KeyStatus,
        "rotate" | "rotate/keyring" => Endpoint::Rotate,
        "seal" => Endpoint::Seal,
        "wrapping/wrap" => Endpoint::Wrap,
        "wrapping/rewrap" => Endpoint::Rewrap,
        "generate-root-token/attempt" => Endpoint::GenerateRootAttempt,
        "generate-root-token/update" => Endpoint::GenerateRootUpdate,
        "decode-token" => Endpoint::DecodeToken,
        _ => {
            if let Some(rest) = rel.strip_prefix("mounts/") {
                mount(Table::Mounts, rest)
            } else if let Some(rest) = rel.strip_prefix("auth/") {
                mount(Table::Auth, rest)
            } else if let Some(name) = rel.strip_prefix("policies/acl/") {
                Endpoint::Policy(name.to_owned())
            } else if let Some(name) = rel.strip_prefix("policy/") {
                Endpoint::LegacyPolicy(name.to_owned())
            } else {
                Endpoint::Unknown
            }
        }
    }
}

/// The one spelling of a `sys/` request (see [`crate::logical::Backend::canonical_path`]):
/// no trailing `/` but on LIST, policy names trimmed and lower-cased, and the lease
/// prefixes that revocation reads as folders written as folders (`.../auth/userpass/`).
pub(super) fn canonical_path(op: Operation, rel: &str) -> Result<Option<String>> {
    let trimmed = crate::logical::drop_trailing_slash(op, rel);
    let now = trimmed.as_deref().unwrap_or(rel);
    for head in ["policies/acl/", "policy/"] {
        if let Some(name) = now.strip_prefix(head).filter(|n| !n.is_empty()) {
            let canonical = crate::policy::Policy::normalize_name(name)?;
            return Ok((canonical != rel[head.len()..]).then(|| format!("{head}{canonical}")));
        }
    }
    for head in [
        "leases/revoke-prefix/",
        "leases/revoke-force/",
        "revoke-prefix/",
        "revoke-force/",
    ] {
        if let Some(prefix) = now.strip_prefix(head).filter(|p| !p.is_empty()) {
            let folder = format!("{head}{prefix}/");
            return Ok((folder != rel).then_some(folder));
        }
    }
    Ok(trimmed)
}

fn unsupported(op: Operation, path: &str) -> Error {
    Error::UnsupportedOperation(format!("unsupported operation {op:?} on sys/{path}"))
}

/// The endpoints served before (or without) the token check.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Unauthenticated<'a> {
    WrapLookup,
    Unwrap,
    /// The CLI's mount preflight, with the path asked about.
    UiMount(&'a str),
}

/// Which unauthenticated endpoint `path` is, if any.
pub(super) fn unauthenticated(path: &str) -> Option<Unauthenticated<'_>> {
    match path.trim_end_matches('/') {
        "sys/wrapping/lookup" => Some(Unauthenticated::WrapLookup),
        "sys/wrapping/unwrap" => Some(Unauthenticated::Unwrap),
        path => match path.strip_prefix("sys/internal/ui/mounts") {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                Some(Unauthenticated::UiMount(rest.trim_start_matches('/')))
            }
            _ => None,
        },
    }
}

/// Serves an endpoint found by [`unauthenticated`]: wrapping lookup/unwrap and the CLI's
/// mount preflight.
pub(super) async fn handle_unauthenticated(
    core: &Core,
    active: &Active,
    req: &Request,
    endpoint: Unauthenticated<'_>,
) -> Result<Response> {
    let body_token = req
        .data
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    match endpoint {
        Unauthenticated::WrapLookup => {
            let token = body_token
                .or_else(|| req.token.clone())
                .ok_or_else(|| Error::invalid("missing token"))?;
            core.wrap_lookup(active, &token).await
        }
        Unauthenticated::Unwrap => {
            match body_token {
                Some(token) => {
                    // Unwrapping someone's token by value needs a valid token of one's own,
                    // and is one use of it.
                    let mut caller = core.authenticate(active, req.token.as_deref()).await?;
                    core.authorize(
                        &caller,
                        Operation::Update,
                        "sys/wrapping/unwrap",
                        &req.data,
                        None,
                    )?;
                    let last_use = core.consume_use(active, &mut caller).await?;
                    let result = core.unwrap(active, &token).await;
                    core.finish_use(active, &caller, last_use).await?;
                    result
                }
                None => {
                    let token = req.token.clone().ok_or(Error::PermissionDenied)?;
                    core.unwrap(active, &token).await
                }
            }
        }
        Unauthenticated::UiMount(rest) => ui_mount(core, active, req, rest).await,
    }
}

/// `sys/internal/ui/mounts/:path`: the mount serving `path`, for callers with any access
/// under it (403 otherwise, so mounts cannot be enumerated).
async fn ui_mount(core: &Core, active: &Active, req: &Request, path: &str) -> Result<Response> {
    if path.is_empty() {
        return Err(Error::invalid("path not set"));
    }
    let mut caller = core
        .authenticate(active, req.token.as_deref())
        .await
        .map_err(|_| Error::PermissionDenied)?;
    // One use of the caller's token, answered or refused.
    let last_use = core.consume_use(active, &mut caller).await?;
    let route = active
        .router()
        .matching(path)
        .map(|(r, _)| r.clone())
        .filter(|route| caller.acl.has_access_under(&route.entry.route()));
    core.finish_use(active, &caller, last_use).await?;
    let route = route.ok_or(Error::PermissionDenied)?;
    let key = route.entry.route();
    let mut data = mount_json(&route.entry);
    data.insert("path".into(), Value::from(key));
    Ok(Response::data(data))
}

fn mount_json(entry: &MountEntry) -> Map<String, Value> {
    match entry.to_json() {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Serves an authenticated `sys/` request (ACL already checked).
pub(super) async fn handle(
    core: &Core,
    active: &Active,
    caller: &Caller,
    op: Operation,
    rel: &str,
    req: &Request,
) -> Result<Response> {
    use Operation::*;
    if let Some(result) = super::expiration::handle(core, active, op, rel, req).await {
        return result;
    }
    if let Some(result) = super::auditing::handle(core, active, op, rel, req).await {
        return result;
    }
    let endpoint = parse_endpoint(rel);
    let write = matches!(op, Create | Update);
    let mut resp = match (&endpoint, op) {
        (Endpoint::MountTable(table), Read) => list_mounts(active, *table),
        (Endpoint::Mount(table, path), Read) => read_mount(active, *table, path),
        (Endpoint::Mount(table, path), _) if write => {
            enable_mount(core, active, *table, path, &req.data).await
        }
        (Endpoint::Mount(table, path), Delete) => disable_mount(core, active, *table, path).await,
        (Endpoint::Tune(table, path), Read) => read_tune(core, active, *table, path),
        (Endpoint::Tune(table, path), _) if write => {
            tune_mount(core, active, *table, path, &req.data).await
        }
        (Endpoint::Policies, List | Read) => {
            let keys = active.policies.list().await?;
            let mut data = Map::new();
            data.insert("keys".into(), keys.into());
            Ok(Response::data(data))
        }
        (Endpoint::Policy(name), Read) => read_policy(active, name, "policy").await,
        (Endpoint::Policy(name) | Endpoint::LegacyPolicy(name), _) if write => {
            write_policy(active, name, &req.data).await
        }
        (Endpoint::Policy(name) | Endpoint::LegacyPolicy(name), Delete) => {
            active.policies.delete(name).await?;
            Ok(Response::empty())
        }
        (Endpoint::LegacyPolicies, Read | List) => {
            let keys = active.policies.list().await?;
            let mut data = Map::new();
            data.insert("policies".into(), keys.clone().into());
            data.insert("keys".into(), keys.into());
            Ok(Response::data(data))
        }
        (Endpoint::LegacyPolicy(name), Read) => read_policy(active, name, "rules").await,
        (Endpoint::CapabilitiesSelf, _) if write => capabilities(&caller.acl, &req.data),
        (Endpoint::Capabilities, _) if write => {
            let token = fields::string(&req.data, "token").unwrap_or_default();
            let other = core
                .authenticate(active, Some(&token))
                .await
                .map_err(|_| Error::invalid("invalid token"))?;
            capabilities(&other.acl, &req.data)
        }
        (Endpoint::CapabilitiesAccessor, _) if write => {
            let accessor = fields::string(&req.data, "accessor").unwrap_or_default();
            let (_, entry) = active
                .tokens
                .lookup_accessor(&accessor)
                .await?
                .ok_or_else(|| Error::invalid("invalid accessor"))?;
            let acl = if entry.is_root() {
                Arc::new(crate::policy::Acl::root())
            } else {
                active.policies.acl(&entry.policies).await?
            };
            capabilities(&acl, &req.data)
        }
        (Endpoint::KeyStatus, Read) => {
            let status = core.barrier.key_status()?;
            let mut data = Map::new();
            data.insert("term".into(), status.term.into());
            data.insert("install_time".into(), rfc3339(status.install_time).into());
            data.insert("encryptions".into(), status.encryptions.into());
            Ok(Response::data(data))
        }
        (Endpoint::Rotate, _) if write => {
            core.barrier.rotate().await?;
            Ok(Response::empty())
        }
        (Endpoint::Seal, _) if write => {
            core.seal().await;
            Ok(Response::empty())
        }
        (Endpoint::Wrap, _) if write => {
            if req.wrap_ttl.is_none() {
                return Err(Error::invalid(
                    "endpoint requires response wrapping to be used",
                ));
            }
            if req.data.is_empty() {
                return Err(Error::invalid("empty wrapping responses are not supported"));
            }
            Ok(Response::data(req.data.clone()))
        }
        (Endpoint::Rewrap, _) if write => {
            let token = fields::string(&req.data, "token")
                .ok_or_else(|| Error::invalid("missing token"))?;
            core.rewrap(active, &token).await
        }
        (Endpoint::GenerateRootAttempt, Read) => {
            Ok(Response::data(core.generate_root_status().await?.to_json()))
        }
        (Endpoint::GenerateRootAttempt, _) if write => {
            let otp = fields::string(&req.data, "otp");
            let pgp_key = fields::string(&req.data, "pgp_key");
            let status = core
                .generate_root_init(otp.as_deref(), pgp_key.as_deref())
                .await?;
            Ok(Response::data(status.to_json()))
        }
        (Endpoint::GenerateRootAttempt, Delete) => {
            core.generate_root_cancel()?;
            Ok(Response::empty())
        }
        (Endpoint::GenerateRootUpdate, _) if write => {
            let nonce = fields::string(&req.data, "nonce")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| Error::invalid("nonce is required"))?;
            let key = fields::string(&req.data, "key")
                .filter(|k| !k.is_empty())
                .map(zeroize::Zeroizing::new)
                .ok_or_else(|| Error::invalid("key is required"))?;
            let share = super::generate_root::decode_key(&key)?;
            let status = core.generate_root_update(&share, &nonce).await?;
            Ok(Response::data(status.to_json()))
        }
        (Endpoint::DecodeToken, _) if write => {
            let encoded = fields::string(&req.data, "encoded_token").unwrap_or_default();
            let otp = zeroize::Zeroizing::new(fields::string(&req.data, "otp").unwrap_or_default());
            if encoded.is_empty() || otp.is_empty() {
                return Err(Error::invalid("provided 'encoded_token' or 'otp' is empty"));
            }
            let token = super::generate_root::decode_token(&encoded, &otp)?;
            let mut data = Map::new();
            data.insert("token".into(), token.as_str().into());
            Ok(Response::data(data))
        }
        (Endpoint::Unknown, _) => Err(Error::UnsupportedPath(format!(
            "unsupported path sys/{rel}"
        ))),
        _ => Err(unsupported(op, rel)),
    }?;
    resp.inject_top_level = matches!(
        endpoint,
        Endpoint::MountTable(_)
            | Endpoint::Mount(..)
            | Endpoint::LegacyPolicies
            | Endpoint::LegacyPolicy(_)
            | Endpoint::CapabilitiesSelf
            | Endpoint::Capabilities
            | Endpoint::CapabilitiesAccessor
            | Endpoint::KeyStatus
            | Endpoint::Rotate
    );
    Ok(resp)
}

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
fn normalize_mount_path(path: &str) -> Result<String> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Err(Error::invalid("path cannot be empty"));
    }
    vaultrs_storage::key::validate_key(trimmed)
        .map_err(|_| Error::invalid(format!("invalid mount path {trimmed:?}")))?;
    Ok(format!("{trimmed}/"))
}

const PROTECTED: &[&str] = &["sys/", "cubbyhole/", "identity/", "audit/", "auth/"];
const SINGLETONS: &[&str] = &["cubbyhole", "system", "token", "identity"];

fn list_mounts(active: &Active, table: Table) -> Result<Response> {
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
fn find(active: &Active, table: Table, path: &str) -> Result<Option<Route>> {
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

fn read_mount(active: &Active, table: Table, path: &str) -> Result<Response> {
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

async fn enable_mount(
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

fn table_entries(active: &Active, table: Table) -> Vec<MountEntry> {
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

async fn disable_mount(core: &Core, active: &Active, table: Table, path: &str) -> Result<Response> {
    let path = normalize_mount_path(path)?;
    let key = format!("{}{path}", table.route_prefix());
    if protected(table, &path) || table == Table::Auth && path == "token/" {
        return Err(Error::invalid(format!("cannot unmount {path:?}")));
    }
    let _guard = active.table_lock.lock().await;
    let Some(route) = find(active, table, &path)? else {
        // Vault answers 204 for a path with no mount: existence is not leaked.
        return Ok(Response::empty());
    };
    let entries: Vec<MountEntry> = table_entries(active, table)
        .into_iter()
        .filter(|e| e.uuid != route.entry.uuid)
        .collect();
    if table == Table::Auth {
        // As Vault does: every token the method issued goes with it (force: a token that
        // cannot be revoked must not keep the mount alive).
        super::expiration::revoke_prefix(core, active, &key, true).await?;
    }
    core.store_table(table, &entries).await?;
    active.router_mut().remove(&key);
    // The data is unreachable now; remove it, cluster-local data included.
    for prefix in [
        route.entry.storage_prefix(),
        route.entry.local_storage_prefix(),
    ] {
        let view = crate::logical::StorageView::new(core.barrier.clone(), prefix);
        let keys = view.keys().await?;
        for chunk in keys.chunks(512) {
            let mut batch = crate::logical::ViewBatch::new();
            for k in chunk {
                batch.delete(k.clone());
            }
            view.commit(batch).await?;
        }
    }
    Ok(Response::empty())
}

fn read_tune(core: &Core, active: &Active, table: Table, path: &str) -> Result<Response> {
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

async fn tune_mount(
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

async fn read_policy(active: &Active, name: &str, field: &str) -> Result<Response> {
    let name = crate::policy::Policy::normalize_name(name)?;
    let policy = active.policies.get(&name).await?.ok_or(Error::NotFound)?;
    let mut data = Map::new();
    data.insert("name".into(), name.into());
    data.insert(field.into(), policy.text().to_owned().into());
    Ok(Response::data(data))
}

async fn write_policy(active: &Active, name: &str, data: &Map<String, Value>) -> Result<Response> {
    let text = fields::string(data, "policy")
        .or_else(|| fields::string(data, "rules"))
        .ok_or_else(|| Error::invalid("'policy' parameter not supplied or empty"))?;
    // Vault accepts the policy base64-encoded too.
    let text = match base64_decode(&text) {
        Some(decoded) if !text.contains('{') => decoded,
        _ => text,
    };
    active.policies.put(name, &text).await?;
    Ok(Response::empty())
}

fn base64_decode(s: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

fn capabilities(acl: &crate::policy::Acl, data: &Map<String, Value>) -> Result<Response> {
    let paths = match data.get("paths").or_else(|| data.get("path")) {
        Some(Value::String(s)) => s.split(',').map(|p| p.trim().to_owned()).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let paths: Vec<String> = paths.into_iter().filter(|p| !p.is_empty()).collect();
    if paths.is_empty() {
        return Err(Error::invalid("paths must be supplied"));
    }
    let mut out = Map::new();
    for path in &paths {
        let caps: Vec<Value> = acl
            .capabilities(path)
            .into_iter()
            .map(Value::from)
            .collect();
        if paths.len() == 1 {
            out.insert("capabilities".into(), Value::from(caps.clone()));
        }
        out.insert(path.clone(), Value::from(caps));
    }
    Ok(Response::data(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            parse_endpoint("mounts"),
            Endpoint::MountTable(Table::Mounts)
        );
        assert_eq!(
            parse_endpoint("mounts/a/b/tune"),
            Endpoint::Tune(Table::Mounts, "a/b".into())
        );
        assert_eq!(
            parse_endpoint("auth/userpass/"),
            Endpoint::Mount(Table::Auth, "userpass".into())
        );
        assert_eq!(
            parse_endpoint("policies/acl/x"),
            Endpoint::Policy("x".into())
        );
        assert_eq!(
            parse_endpoint("generate-root-token/attempt"),
            Endpoint::GenerateRootAttempt
        );
        assert_eq!(
            parse_endpoint("generate-root-token/update/"),
            Endpoint::GenerateRootUpdate
        );
        assert_eq!(parse_endpoint("generate-root/attempt"), Endpoint::Unknown);
        assert_eq!(parse_endpoint("nope"), Endpoint::Unknown);
    }

    #[test]
    fn mount_paths() {
        assert_eq!(normalize_mount_path("/secret/").unwrap(), "secret/");
        assert_eq!(normalize_mount_path("a/b").unwrap(), "a/b/");
        assert!(normalize_mount_path("").is_err());
        assert!(normalize_mount_path("a/../b").is_err());
    }
}
