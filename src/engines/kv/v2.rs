//! KV version 2: versioned secrets with metadata, soft delete, undelete, destroy,
//! check-and-set and a per-mount configuration (Vault's `versioned kv` backend).
//!
//! Storage layout 1, under the mount's view (`layout.rs`). No key holds a plaintext path
//! segment: someone holding the data directory cannot tell that `prod/stripe` exists.
//! - `kv2/salt` — the mount's 32 random bytes (hex, JSON), created by its first write;
//!   its presence marks the mount's data as layout 1.
//! - `kv2/config` — [`Config`] as JSON.
//! - `kv2/m/<h1>/…/<hn>` — [`KeyMeta`] as JSON: the secret's plaintext path, its
//!   versions with timestamps and flags, current and oldest version, per-key settings,
//!   custom metadata.
//! - `kv2/v/<h1>/…/<hn>/<n>` — version `n`'s data, the JSON object as written.
//! - `kv2/f/<h1>/…/<hk>` — a folder record, `{"name": <segment k>}`, kept exactly while
//!   some secret lies below that folder.
//!
//! `hi` is segment `i` of the path hashed on its own, so folders stay folders:
//! HMAC-SHA256 keyed with the salt over (the raw hash of segment `i - 1`, zeros for the
//! first) ‖ segment, truncated to 128 bits, 32 hex characters. The chaining hashes a name
//! differently in every folder (`prod/db` and `staging/db` share no hash). 128 bits keep
//! the keys short (a path may have [`MAX_DEPTH`] segments) and are plenty: only siblings
//! can collide, with odds near n²/2¹²⁹ for n siblings, and no one can search for a
//! collision without the salt. Even so, a read checks the path stored in the metadata
//! and refuses an entry that belongs to another path.
//!
//! `LIST metadata/<folder>/` lists `kv2/m/<hashed folder>/`: a secret's name comes from
//! its metadata, a sub-folder's from its record, so a list costs one storage list and one
//! read per entry of that folder, whatever the rest of the mount holds. A folder is listed
//! only while the metadata tree has something below it (storage folders exist only with
//! keys under them), so a record left over could never show an empty folder; a record
//! missing (a replica copying keys one by one) is made up for by naming the folder from
//! a secret below it.
//!
//! Every change of a request is one atomic [`ViewBatch`] (a new version's data, the pruned
//! versions, the metadata and new or emptied folder records together), committed after
//! all checks passed, so a refused request changes nothing (but a mount's first valid
//! write stores the salt before it runs). Read-modify-write cycles hold a striped per-key
//! lock; a change that may create or remove a secret also holds the locks of every
//! folder above it (taken in stripe order), so no folder becomes empty or non-empty
//! while another request decides on its record. The engine caches each mount's salt:
//! once cached, a request reads no more storage than layout 0 did, and
//! [`Backend::invalidate`] of `kv2/salt` (replication rewriting it underneath) drops it.
//!
//! Layout 0 (plaintext paths: `kv2/meta/<path>`, `kv2/ver/<path>/<n>`) is converted by
//! [`migrate_v2_layout0`] (`migrate.rs`); [`v2_layout_of`] tells the two apart. The
//! engine refuses to serve a mount still in layout 0 rather than hide its data.
//! Timestamps are stored as nanoseconds since the epoch and shown as RFC3339Nano (UTC).
//! The `metadata/` endpoints live in `metadata.rs`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::support::{
    check_write_key, go_duration, merge_patch, now_nanos, obj, rfc3339_nano, signed_duration_secs,
};
use crate::error::{Error, Result};
use crate::logical::{Backend, Ctx, Operation, Request, Response, ViewBatch};

mod layout;
mod metadata;
mod migrate;

pub use layout::MAX_DEPTH;
pub use migrate::{migrate_v2_layout0, v2_layout_of, V2_LAYOUT};

use layout::{check_depth, Salts, Secret, Store, CONFIG_KEY, PREFIX, SALT_KEY};
#[cfg(test)]
use metadata::CUSTOM_METADATA_PREFIX;
use metadata::{metadata_delete, metadata_list, metadata_patch, metadata_read, metadata_write};

/// Versions kept per key when neither the key nor the mount says otherwise.
pub const DEFAULT_MAX_VERSIONS: u32 = 10;

const CAS_REQUIRED: &str = "check-and-set parameter required for this call";
const CAS_MISMATCH: &str = "check-and-set parameter did not match the current version";
const CAS_PARSE: &str = "error parsing check-and-set parameter";
const CAS_CONFIG_WARNING: &str =
    "\"cas_required\" set to false, but is mandated by backend config. This value will be ignored.";

/// The versioned key/value engine. It caches the salt of the mounts it serves (the core
/// builds one engine a mount; one engine serving several works too), so a request reads no
/// more storage than it would without hashed paths.
#[derive(Default)]
pub struct KvV2 {
    salts: Salts,
}

impl KvV2 {
    pub fn new() -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for KvV2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvV2").finish_non_exhaustive()
    }
}

/// The mount-wide settings (`config`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Config {
    /// 0: the default (10).
    max_versions: u32,
    cas_required: bool,
    /// Seconds; 0 unset, negative disables `delete_version_after` on every key.
    delete_version_after: i64,
}

/// One version's bookkeeping.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct VersionMeta {
    created_time: u64,
    /// When the version is (or will be) soft-deleted; deleted once it is in the past.
    deletion_time: Option<u64>,
    destroyed: bool,
}

impl VersionMeta {
    fn is_deleted(&self, now: u64) -> bool {
        self.deletion_time.is_some_and(|t| t <= now)
    }
}

/// A secret's metadata and version index.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct KeyMeta {
    /// The secret's own path, in plaintext (its storage key only has hashes).
    path: String,
    current_version: u64,
    oldest_version: u64,
    created_time: u64,
    updated_time: u64,
    /// 0: the mount's setting.
    max_versions: u32,
    cas_required: bool,
    /// Seconds; 0 unset.
    delete_version_after: u64,
    custom_metadata: Option<BTreeMap<String, String>>,
    versions: BTreeMap<u64, VersionMeta>,
}

fn custom_metadata_json(meta: &KeyMeta) -> Value {
    match &meta.custom_metadata {
        Some(m) if !m.is_empty() => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        ),
        _ => Value::Null,
    }
}

fn time_json(t: Option<u64>) -> Value {
    Value::String(t.map(rfc3339_nano).unwrap_or_default())
}

/// `{created_time, custom_metadata, deletion_time, destroyed, version}` of one version.
/// Built field by field (not with `json!`, which would copy every value once more): it
/// runs on every read.
fn version_json(meta: &KeyMeta, version: u64, vm: &VersionMeta) -> Value {
    let mut m = Map::new();
    m.insert(
        "created_time".into(),
        Value::String(rfc3339_nano(vm.created_time)),
    );
    m.insert("custom_metadata".into(), custom_metadata_json(meta));
    m.insert("deletion_time".into(), time_json(vm.deletion_time));
    m.insert("destroyed".into(), Value::Bool(vm.destroyed));
    m.insert("version".into(), Value::from(version));
    Value::Object(m)
}

/// The body of a version read: `{<name>: null, metadata: <version_json>}`; the caller
/// fills `<name>` when the version is live.
fn version_body(name: &str, meta: &KeyMeta, version: u64, vm: &VersionMeta) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert(name.into(), Value::Null);
    body.insert("metadata".into(), version_json(meta, version, vm));
    body
}

fn not_found_with(data: Map<String, Value>) -> Response {
    Response {
        data: Some(data),
        not_found_with_data: true,
        ..Response::default()
    }
}

/// Vault's answer to paths a v2 mount does not serve: 404 carrying a warning.
fn invalid_path(req: &Request) -> Response {
    let warning = match req.path.as_str() {
        "metadata" | "data" | "delete" | "undelete" | "destroy" => {
            "Non-listing operations on the root of a K/V v2 mount are not supported.".to_owned()
        }
        _ => {
            let verb = match req.operation {
                Operation::Create | Operation::Update => "put",
                Operation::Patch => "patch",
                Operation::Read => "get",
                Operation::List => "list",
                Operation::Delete => "delete",
            };
            format!(
                "Invalid path for a versioned K/V secrets engine. See the API docs for the \
                 appropriate API endpoints to use. If using the Vault CLI, use 'vault kv {verb}' \
                 for this operation."
            )
        }
    };
    Response {
        warnings: vec![warning],
        not_found_with_data: true,
        ..Response::default()
    }
}

fn unsupported() -> Error {
    Error::UnsupportedOperation("unsupported operation".into())
}

/// Splits `data/foo/bar` into (`data`, `foo/bar`).
fn split(path: &str) -> (&str, Option<&str>) {
    match path.split_once('/') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    }
}

#[async_trait]
impl Backend for KvV2 {
    async fn handle(&self, ctx: &Ctx, req: &Request) -> Result<Response> {
        let store = Store::open(ctx, &self.salts).await?;
        let op = req.operation;
        match split(&req.path) {
            ("config", None) => match op {
                Operation::Read => config_read(&store).await,
                Operation::Create | Operation::Update => config_write(&store, req).await,
                _ => Err(unsupported()),
            },
            ("data", Some(p)) => match op {
                Operation::Read => data_read(&store, p, req).await,
                Operation::Create | Operation::Update => data_write(&store, p, req).await,
                Operation::Patch => data_patch(&store, p, req).await,
                Operation::Delete => data_delete(&store, p).await,
                Operation::List => Err(unsupported()),
            },
            ("metadata", rest) => match (op, rest) {
                (Operation::List, rest) => metadata_list(&store, rest.unwrap_or("")).await,
                (_, None) => Ok(invalid_path(req)),
                (Operation::Read, Some(p)) => metadata_read(&store, p).await,
                (Operation::Create | Operation::Update, Some(p)) => {
                    metadata_write(&store, p, req).await
                }
                (Operation::Patch, Some(p)) => metadata_patch(&store, p, req).await,
                (Operation::Delete, Some(p)) => metadata_delete(&store, p).await,
            },
            ("delete", Some(p)) => match op {
                Operation::Create | Operation::Update => versions_delete(&store, p, req).await,
                _ => Err(unsupported()),
            },
            ("undelete", Some(p)) => match op {
                Operation::Create | Operation::Update => versions_undelete(&store, p, req).await,
                _ => Err(unsupported()),
            },
            ("destroy", Some(p)) => match op {
                Operation::Create | Operation::Update => versions_destroy(&store, p, req).await,
                _ => Err(unsupported()),
            },
            ("subkeys", Some(p)) => match op {
                Operation::Read => subkeys_read(&store, p, req).await,
                _ => Err(unsupported()),
            },
            _ => Ok(invalid_path(req)),
        }
    }

    async fn exists(&self, ctx: &Ctx, req: &Request) -> Result<Option<bool>> {
        match split(&req.path) {
            ("data" | "metadata", Some(p)) => {
                let store = Store::open(ctx, &self.salts).await?;
                Ok(Some(store.has_meta(p).await?))
            }
            _ => Ok(None),
        }
    }

    /// Drops the cached salts when the salt (or a folder above it) changed underneath.
    fn invalidate(&self, key: &str) {
        if format!("{PREFIX}{SALT_KEY}").starts_with(key) {
            self.salts.clear();
        }
    }
}

// ---- config ---------------------------------------------------------------------------

async fn config_read(store: &Store<'_>) -> Result<Response> {
    let c = store.config().await?;
    Ok(Response::data(obj(json!({
        "cas_required": c.cas_required,
        "delete_version_after": go_duration(c.delete_version_after),
        "max_versions": c.max_versions,
    }))))
}

fn max_versions_field(req: &Request) -> Result<Option<u32>> {
    match req.int_field("max_versions")? {
        None => Ok(None),
        Some(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| Error::invalid("max_versions must be a non-negative integer")),
    }
}

async fn config_write(store: &Store<'_>, req: &Request) -> Result<Response> {
    let max_versions = max_versions_field(req)?;
    let cas_required = req.bool_field("cas_required")?;
    let dva = signed_duration_secs(&req.data, "delete_version_after")?;
    if max_versions.is_none() && cas_required.is_none() && dva.is_none() {
        return Ok(Response::empty());
    }
    let _guard = store.lock(CONFIG_KEY).await;
    let mut c = store.config().await?;
    if let Some(m) = max_versions {
        c.max_versions = m;
    }
    if let Some(b) = cas_required {
        c.cas_required = b;
    }
    if let Some(d) = dva {
        // Negative disables delete_version_after everywhere; Vault stores it as -1s.
        c.delete_version_after = if d < 0 { -1 } else { d };
    }
    store.view.put_json(CONFIG_KEY, &c).await?;
    Ok(Response::empty())
}

// ---- data -----------------------------------------------------------------------------

/// The `version` parameter: `None` (or ≤ 0) means the current version.
fn version_param(req: &Request) -> Result<Option<u64>> {
    Ok(req
        .int_field("version")?
        .and_then(|v| u64::try_from(v).ok())
        .filter(|v| *v > 0))
}

/// The version to read and its bookkeeping, or a plain 404.
fn pick_version<'m>(meta: &'m KeyMeta, req: &Request) -> Result<(u64, &'m VersionMeta)> {
    let n = version_param(req)?.unwrap_or(meta.current_version);
    meta.versions
        .get(&n)
        .map(|vm| (n, vm))
        .ok_or(Error::NotFound)
}

async fn data_read(store: &Store<'_>, path: &str, req: &Request) -> Result<Response> {
    version_param(req)?;
    let secret = store.locate(path).ok_or(Error::NotFound)?;
    let _guard = store.lock(path).await;
    let meta = store.meta(&secret).await?.ok_or(Error::NotFound)?;
    let (n, vm) = pick_version(&meta, req)?;
    let mut body = version_body("data", &meta, n, vm);
    if vm.destroyed || vm.is_deleted(now_nanos()) {
        return Ok(not_found_with(body));
    }
    body.insert(
        "data".into(),
        Value::Object(store.version_data(&secret, n).await?),
    );
    Ok(Response::data(body))
}

/// `options.cas` as Vault's weak decoding reads it: `Ok(None)` when absent.
fn cas_param(req: &Request) -> Result<Option<i64>> {
    let options = match req.data.get("options") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(Error::invalid("options must be a JSON object")),
    };
    let Some(raw) = options.get("cas") else {
        return Ok(None);
    };
    let cas = match raw {
        Value::Null => Some(0),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9e18)
                .map(|f| f.trunc() as i64)
        }),
        Value::String(s) if s.trim().is_empty() => Some(0),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    cas.map(Some).ok_or_else(|| Error::invalid(CAS_PARSE))
}

fn check_cas(cas: Option<i64>, config: &Config, meta: &KeyMeta) -> Result<()> {
    match cas {
        Some(c) if u64::try_from(c).ok() == Some(meta.current_version) => Ok(()),
        Some(_) => Err(Error::invalid(CAS_MISMATCH)),
        None if config.cas_required || meta.cas_required => Err(Error::invalid(CAS_REQUIRED)),
        None => Ok(()),
    }
}

/// The `data` object of a write or patch.
fn data_param(req: &Request) -> Result<&Map<String, Value>> {
    match req.data.get("data") {
        None | Some(Value::Null) => Err(Error::invalid("no data provided")),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(Error::invalid("data must be a JSON object")),
    }
}

/// When a version created (or undeleted) at `from` gets soft-deleted: after the smaller
/// non-zero `delete_version_after` of the mount and the key; never if the mount disables it.
fn deletion_time(from: u64, config: &Config, meta: &KeyMeta) -> Option<u64> {
    if config.delete_version_after < 0 {
        return None;
    }
    let mount = config.delete_version_after.unsigned_abs();
    let key = meta.delete_version_after;
    let secs = match (mount, key) {
        (0, 0) => return None,
        (0, k) => k,
        (m, 0) => m,
        (m, k) => m.min(k),
    };
    Some(from.saturating_add(secs.saturating_mul(1_000_000_000)))
}

/// Adds a version created `now` to `meta` and returns the versions pruned by
/// `max_versions` (the key's, else the mount's, else 10).
fn add_version(meta: &mut KeyMeta, now: u64, config: &Config) -> Vec<u64> {
    let deletion = deletion_time(now, config, meta);
    meta.current_version += 1;
    meta.versions.insert(
        meta.current_version,
        VersionMeta {
            created_time: now,
            deletion_time: deletion,
            destroyed: false,
        },
    );
    meta.updated_time = now;
    if meta.created_time == 0 {
        meta.created_time = now;
    }
    let max = match (meta.max_versions, config.max_versions) {
        (0, 0) => DEFAULT_MAX_VERSIONS,
        (0, c) => c,
        (k, _) => k,
    };
    let mut pruned = Vec::new();
    if meta.current_version - meta.oldest_version >= u64::from(max) {
        let last_to_delete = meta.current_version - u64::from(max);
        pruned = meta
            .versions
            .range(..=last_to_delete)
            .map(|(n, _)| *n)
            .collect();
        for n in &pruned {
            meta.versions.remove(n);
        }
        meta.oldest_version = last_to_delete + 1;
    }
    pruned
}

/// Stores `data` as a new version of `secret` with its metadata, in one batch with what
/// `batch` holds already (the records of new folders).
async fn commit_new_version(
    store: &Store<'_>,
    secret: &Secret<'_>,
    mut meta: KeyMeta,
    config: &Config,
    data: &Map<String, Value>,
    mut batch: ViewBatch,
) -> Result<Response> {
    let now = now_nanos();
    let pruned = add_version(&mut meta, now, config);
    let n = meta.current_version;
    batch.put_json(secret.hashed.version_key(n), data)?;
    for old in pruned {
        batch.delete(secret.hashed.version_key(old));
    }
    Store::put_meta(&mut batch, secret, &mut meta)?;
    store.view.commit(batch).await?;
    let vm = meta.versions.get(&n).cloned().unwrap_or_default();
    Ok(Response::data(obj(version_json(&meta, n, &vm))))
}

async fn data_write(store: &Store<'_>, path: &str, req: &Request) -> Result<Response> {
    check_write_key(path)?;
    check_depth(path)?;
    let data = data_param(req)?;
    let cas = cas_param(req)?;
    let secret = store.locate_for_write(path).await?;
    let mut batch = ViewBatch::new();
    let (_guards, meta) = store.lock_for_upsert(&secret, &mut batch).await?;
    let config = store.config().await?;
    let meta = meta.unwrap_or_default();
    check_cas(cas, &config, &meta)?;
    commit_new_version(store, &secret, meta, &config, data, batch).await
}

async fn data_patch(store: &Store<'_>, path: &str, req: &Request) -> Result<Response> {
    let patch = data_param(req)?;
    let cas = cas_param(req)?;
    let secret = store.locate(path).ok_or(Error::NotFound)?;
    let _guard = store.lock(path).await;
    let meta = store.meta(&secret).await?.ok_or(Error::NotFound)?;
    let config = store.config().await?;
    check_cas(cas, &config, &meta)?;
    let n = meta.current_version;
    let vm = meta.versions.get(&n).ok_or(Error::NotFound)?;
    if vm.destroyed || vm.is_deleted(now_nanos()) {
        return Ok(not_found_with(obj(version_json(&meta, n, vm))));
    }
    let mut merged = Value::Object(store.version_data(&secret, n).await?);
    merge_patch(&mut merged, &Value::Object(patch.clone()));
    let merged = obj(merged);
    commit_new_version(store, &secret, meta, &config, &merged, ViewBatch::new()).await
}

async fn data_delete(store: &Store<'_>, path: &str) -> Result<Response> {
    let Some(secret) = store.locate(path) else {
        return Ok(Response::empty());
    };
    let _guard = store.lock(path).await;
    let Some(mut meta) = store.meta(&secret).await? else {
        return Ok(Response::empty());
    };
    let now = now_nanos();
    let current = meta.current_version;
    match meta.versions.get_mut(&current) {
        Some(vm) if !vm.destroyed && !vm.is_deleted(now) => vm.deletion_time = Some(now),
        _ => return Ok(Response::empty()),
    }
    store.save_meta(&secret, &mut meta).await?;
    Ok(Response::empty())
}

// ---- delete / undelete / destroy ------------------------------------------------------

fn parse_version_number(v: &Value) -> Result<i64> {
    let bad = || Error::invalid(format!("invalid version number {v}"));
    match v {
        Value::Number(n) => n.as_i64().ok_or_else(bad),
        Value::String(s) => s.trim().parse().map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// `"1, 2,3"` → [1, 2, 3].
fn comma_versions(s: &str) -> Result<Vec<i64>> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| parse_version_number(&Value::String(p.to_owned())))
        .collect()
}

/// `versions`: a list of numbers or numeric strings, a comma-separated string, or one
/// number. Versions that cannot exist (≤ 0) are dropped.
fn versions_param(req: &Request, none_message: &str) -> Result<Vec<u64>> {
    let raw: Vec<i64> = match req.data.get("versions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => out.extend(comma_versions(s)?),
                    other => out.push(parse_version_number(other)?),
                }
            }
            out
        }
        Some(Value::String(s)) => comma_versions(s)?,
        Some(v @ Value::Number(_)) => vec![parse_version_number(v)?],
        Some(_) => return Err(Error::invalid("versions must be a list of version numbers")),
    };
    if raw.is_empty() {
        return Err(Error::invalid(none_message));
    }
    Ok(raw
        .into_iter()
        .filter_map(|v| u64::try_from(v).ok())
        .collect())
}

async fn versions_delete(store: &Store<'_>, path: &str, req: &Request) -> Result<Response> {
    let versions = versions_param(req, "No version number provided")?;
    let Some(secret) = store.locate(path) else {
        return Ok(Response::empty());
    };
    let _guard = store.lock(path).await;
    let Some(mut meta) = store.meta(&secret).await? else {
        return Ok(Response::empty());
    };
    let now = now_nanos();
    let mut changed = false;
    for n in versions {
        if let Some(vm) = meta.versions.get_mut(&n) {
            if !vm.destroyed && !vm.is_deleted(now) {
                vm.deletion_time = Some(now);
                changed = true;
            }
        }
    }
    if changed {
        store.save_meta(&secret, &mut meta).await?;
    }
    Ok(Response::empty())
}

async fn versions_undelete(store: &Store<'_>, path: &str, req: &Request) -> Result<Response> {
    let versions = versions_param(req, "No version number provided")?;
    let Some(secret) = store.locate(path) else {
        return Ok(Response::empty());
    };
    let _guard = store.lock(path).await;
    let Some(mut meta) = store.meta(&secret).await? else {
        return Ok(Response::empty());
    };
    let config = store.config().await?;
    let now = now_nanos();
    let restored = deletion_time(now, &config, &meta);
    let mut changed = false;
    for n in versions {
        if let Some(vm) = meta.versions.get_mut(&n) {
            if !vm.destroyed {
                vm.deletion_time = restored;
                changed = true;
            }
        }
    }
    if changed {
        store.save_meta(&secret, &mut meta).await?;
    }
    Ok(Response::empty())
}

async fn versions_destroy(store: &Store<'_>, path: &str, req: &Request) -> Result<Response> {
    let versions = versions_param(req, "no version number provided")?;
    let Some(secret) = store.locate(path) else {
        return Ok(Response::empty());
    };
    let _guard = store.lock(path).await;
    let Some(mut meta) = store.meta(&secret).await? else {
        return Ok(Response::empty());
    };
    let mut batch = ViewBatch::new();
    for n in versions {
        if let Some(vm) = meta.versions.get_mut(&n) {
            if !vm.destroyed {
                vm.destroyed = true;
                batch.delete(secret.hashed.version_key(n));
            }
        }
    }
    if batch.is_empty() {
        return Ok(Response::empty());
    }
    Store::put_meta(&mut batch, &secret, &mut meta)?;
    store.view.commit(batch).await?;
    Ok(Response::empty())
}

// ---- subkeys --------------------------------------------------------------------------

/// Replaces every leaf (non-object or empty object) with null, keeping nesting up to
/// `max_depth` levels (0: no limit), like Vault's `removeValues`.
fn strip_values(map: &mut Map<String, Value>, depth: i64, max_depth: i64) {
    for v in map.values_mut() {
        let next = depth + 1;
        match v {
            Value::Object(inner) if !inner.is_empty() && (max_depth == 0 || next <= max_depth) => {
                strip_values(inner, next, max_depth);
            }
            _ => *v = Value::Null,
        }
    }
}

async fn subkeys_read(store: &Store<'_>, path: &str, req: &Request) -> Result<Response> {
    version_param(req)?;
    let depth = req.int_field("depth")?.unwrap_or(0);
    let secret = store.locate(path).ok_or(Error::NotFound)?;
    let _guard = store.lock(path).await;
    let meta = store.meta(&secret).await?.ok_or(Error::NotFound)?;
    let (n, vm) = pick_version(&meta, req)?;
    let mut body = version_body("subkeys", &meta, n, vm);
    if vm.destroyed || vm.is_deleted(now_nanos()) {
        return Ok(not_found_with(body));
    }
    let mut data = store.version_data(&secret, n).await?;
    strip_values(&mut data, 1, depth);
    body.insert("subkeys".into(), Value::Object(data));
    Ok(Response::data(body))
}

#[cfg(test)]
mod tests;
