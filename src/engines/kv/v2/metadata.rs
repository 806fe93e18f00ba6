//! The `metadata/` endpoints of KV v2 (list, read, write, patch, delete) and the
//! validation of custom metadata.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::layout::{check_depth, Store};
use super::{
    custom_metadata_json, max_versions_field, time_json, Config, KeyMeta, CAS_CONFIG_WARNING,
};
use crate::engines::kv::support::{
    check_write_key, go_duration, list_prefix, now_nanos, obj, rfc3339_nano, signed_duration_secs,
};
use crate::error::{Error, Result};
use crate::logical::{Request, Response, ViewBatch};

const MAX_CUSTOM_METADATA_KEYS: usize = 64;
const MAX_CUSTOM_METADATA_KEY_LEN: usize = 128;
const MAX_CUSTOM_METADATA_VALUE_LEN: usize = 512;
pub(super) const CUSTOM_METADATA_PREFIX: &str = "custom_metadata validation failed";

pub(super) async fn metadata_list(store: &Store<'_>, path: &str) -> Result<Response> {
    let Some(prefix) = list_prefix(path) else {
        return Err(Error::NotFound);
    };
    Response::list(store.list(&prefix).await?)
}

pub(super) async fn metadata_read(store: &Store<'_>, path: &str) -> Result<Response> {
    let meta = store.meta_of(path).await?.ok_or(Error::NotFound)?;
    let versions: Map<String, Value> = meta
        .versions
        .iter()
        .map(|(n, vm)| {
            (
                n.to_string(),
                json!({
                    "created_time": rfc3339_nano(vm.created_time),
                    "deletion_time": time_json(vm.deletion_time),
                    "destroyed": vm.destroyed,
                }),
            )
        })
        .collect();
    let dva = i64::try_from(meta.delete_version_after).unwrap_or(i64::MAX);
    Ok(Response::data(obj(json!({
        "cas_required": meta.cas_required,
        "created_time": rfc3339_nano(meta.created_time),
        "current_version": meta.current_version,
        "custom_metadata": custom_metadata_json(&meta),
        "delete_version_after": go_duration(dva),
        "max_versions": meta.max_versions,
        "oldest_version": meta.oldest_version,
        "updated_time": rfc3339_nano(meta.updated_time),
        "versions": versions,
    }))))
}

/// A custom metadata value as Vault's weak decoding turns it into a string; `None` for
/// values that have no string form.
fn custom_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn validate_custom_metadata(m: &BTreeMap<String, String>) -> Result<()> {
    if m.len() > MAX_CUSTOM_METADATA_KEYS {
        return Err(Error::invalid(format!(
            "{CUSTOM_METADATA_PREFIX}: payload must contain at most {MAX_CUSTOM_METADATA_KEYS} \
             keys, provided {}",
            m.len()
        )));
    }
    let printable = |s: &str| !s.chars().any(char::is_control);
    let mut errs = Vec::new();
    for (k, v) in m {
        if k.is_empty() || k.len() > MAX_CUSTOM_METADATA_KEY_LEN {
            errs.push(format!(
                "{CUSTOM_METADATA_PREFIX}: length of key {k:?} is {} but must be 0 < len(key) \
                 <= {MAX_CUSTOM_METADATA_KEY_LEN}",
                k.len()
            ));
        }
        if v.is_empty() || v.len() > MAX_CUSTOM_METADATA_VALUE_LEN {
            errs.push(format!(
                "{CUSTOM_METADATA_PREFIX}: length of value for key {k:?} is {} but must be 0 < \
                 len(value) <= {MAX_CUSTOM_METADATA_VALUE_LEN}",
                v.len()
            ));
        }
        if !printable(k) {
            errs.push(format!(
                "{CUSTOM_METADATA_PREFIX}: key {k:?} contains unprintable characters"
            ));
        }
        if !printable(v) {
            errs.push(format!(
                "{CUSTOM_METADATA_PREFIX}: value for key {k:?} contains unprintable characters"
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(errs.join("; ")))
    }
}

/// The `custom_metadata` object of a request, if present.
fn custom_metadata_param(req: &Request) -> Result<Option<&Map<String, Value>>> {
    match req.data.get("custom_metadata") {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(Value::Null) => Ok(None),
        Some(_) => Err(Error::invalid(format!(
            "{CUSTOM_METADATA_PREFIX}: custom_metadata must be a map of strings"
        ))),
    }
}

fn to_custom_map(raw: &Map<String, Value>) -> Result<BTreeMap<String, String>> {
    raw.iter()
        .map(|(k, v)| {
            custom_value(v).map(|s| (k.clone(), s)).ok_or_else(|| {
                Error::invalid(format!(
                    "{CUSTOM_METADATA_PREFIX}: value for key {k:?} must be a string"
                ))
            })
        })
        .collect()
}

/// `delete_version_after` of a key: a non-negative duration.
fn key_dva_param(data: &Map<String, Value>) -> Result<Option<u64>> {
    match signed_duration_secs(data, "delete_version_after")? {
        None => Ok(None),
        Some(d) => u64::try_from(d)
            .map(Some)
            .map_err(|_| Error::invalid("delete_version_after cannot be negative")),
    }
}

fn cas_warning(config: &Config, cas_required: Option<bool>) -> Vec<String> {
    if config.cas_required && cas_required == Some(false) {
        vec![CAS_CONFIG_WARNING.to_owned()]
    } else {
        Vec::new()
    }
}

fn with_warnings(warnings: Vec<String>) -> Response {
    Response {
        warnings,
        ..Response::default()
    }
}

pub(super) async fn metadata_write(
    store: &Store<'_>,
    path: &str,
    req: &Request,
) -> Result<Response> {
    check_write_key(path)?;
    check_depth(path)?;
    let max_versions = max_versions_field(req)?;
    let cas_required = req.bool_field("cas_required")?;
    let dva = key_dva_param(&req.data)?;
    let custom = match custom_metadata_param(req)? {
        Some(raw) => {
            let m = to_custom_map(raw)?;
            validate_custom_metadata(&m)?;
            Some(m)
        }
        // An explicit null clears it, like an empty map.
        None if req.data.contains_key("custom_metadata") => Some(BTreeMap::new()),
        None => None,
    };
    if max_versions.is_none() && cas_required.is_none() && dva.is_none() && custom.is_none() {
        return Ok(Response::empty());
    }
    let secret = store.locate_for_write(path).await?;
    let mut batch = ViewBatch::new();
    let (_guards, meta) = store.lock_for_upsert(&secret, &mut batch).await?;
    let config = store.config().await?;
    let mut meta = match meta {
        Some(m) => m,
        None => {
            let now = now_nanos();
            KeyMeta {
                created_time: now,
                updated_time: now,
                ..KeyMeta::default()
            }
        }
    };
    if let Some(m) = max_versions {
        meta.max_versions = m;
    }
    if let Some(b) = cas_required {
        meta.cas_required = b;
    }
    if let Some(d) = dva {
        meta.delete_version_after = d;
    }
    if let Some(c) = custom {
        meta.custom_metadata = (!c.is_empty()).then_some(c);
    }
    Store::put_meta(&mut batch, &secret, &mut meta)?;
    store.view.commit(batch).await?;
    Ok(with_warnings(cas_warning(&config, cas_required)))
}

pub(super) async fn metadata_patch(
    store: &Store<'_>,
    path: &str,
    req: &Request,
) -> Result<Response> {
    // Null means "back to the default" for every patchable field.
    let max_versions = match req.data.get("max_versions") {
        Some(Value::Null) => Some(0),
        _ => max_versions_field(req)?,
    };
    let cas_required = match req.data.get("cas_required") {
        Some(Value::Null) => Some(false),
        _ => req.bool_field("cas_required")?,
    };
    let dva = match req.data.get("delete_version_after") {
        Some(Value::Null) => Some(0),
        _ => key_dva_param(&req.data)?,
    };
    let custom_patch = custom_metadata_param(req)?;
    if let Some(raw) = custom_patch {
        let non_null: Map<String, Value> = raw
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        validate_custom_metadata(&to_custom_map(&non_null)?)?;
    }
    let secret = store.locate(path).ok_or(Error::NotFound)?;
    let _guard = store.lock(path).await;
    let mut meta = store.meta(&secret).await?.ok_or(Error::NotFound)?;
    let config = store.config().await?;
    if let Some(m) = max_versions {
        meta.max_versions = m;
    }
    if let Some(b) = cas_required {
        meta.cas_required = b;
    }
    if let Some(d) = dva {
        meta.delete_version_after = d;
    }
    match (custom_patch, req.data.get("custom_metadata")) {
        (Some(raw), _) => {
            let mut merged = meta.custom_metadata.take().unwrap_or_default();
            for (k, v) in raw {
                if v.is_null() {
                    merged.remove(k);
                } else if let Some(s) = custom_value(v) {
                    merged.insert(k.clone(), s);
                }
            }
            validate_custom_metadata(&merged)?;
            meta.custom_metadata = (!merged.is_empty()).then_some(merged);
        }
        (None, Some(Value::Null)) => meta.custom_metadata = None,
        _ => {}
    }
    store.save_meta(&secret, &mut meta).await?;
    Ok(with_warnings(cas_warning(&config, cas_required)))
}

/// Removes every version and the metadata, and the records of the folders left empty.
pub(super) async fn metadata_delete(store: &Store<'_>, path: &str) -> Result<Response> {
    let Some(secret) = store.locate(path) else {
        return Ok(Response::empty());
    };
    let (_guards, meta) = store.lock_for_removal(&secret).await?;
    let Some(meta) = meta else {
        return Ok(Response::empty());
    };
    let mut batch = ViewBatch::new();
    for n in meta.versions.keys() {
        batch.delete(secret.hashed.version_key(*n));
    }
    batch.delete(secret.hashed.meta_key());
    store.prune_folders(&secret, &mut batch).await?;
    store.view.commit(batch).await?;
    Ok(Response::empty())
}
