//! Moving a KV v2 mount's data from layout 0 (plaintext paths in storage keys) to layout 1
//! (hashed segments; see the module doc of [`super`]). Pure functions over a mount's
//! entries: the core reads the view, asks [`v2_layout_of`], and commits what
//! [`migrate_v2_layout0`] returns in place of every old key, in one atomic batch.

use std::collections::BTreeMap;

use super::layout::{
    folder_records, is_layout0_key, new_salt, FolderRecord, CONFIG_KEY, MAX_DEPTH, PREFIX, SALT_KEY,
};
use super::KeyMeta;
use crate::engines::kv::support::valid_key;
use crate::error::{Error, Result};

/// The layout KV v2 writes today.
pub const V2_LAYOUT: u32 = 1;

/// The layout of one KV v2 mount's data, from every key under the mount's view:
/// - `1` when the view holds the salt (`kv2/salt`), or no layout-0 data at all (a mount
///   that never stored a secret, or only its `kv2/config`, which both layouts share): the
///   engine serves it as it is;
/// - `0` when it holds layout-0 data (`kv2/meta/…`, `kv2/ver/…`) and no salt: the core
///   must migrate it with [`migrate_v2_layout0`] before the engine serves it (until then
///   the engine refuses its requests rather than hide its data).
pub fn v2_layout_of(keys: &[String]) -> u32 {
    let salt = format!("{PREFIX}{SALT_KEY}");
    if keys.contains(&salt) || !keys.iter().any(|k| is_layout0_key(k)) {
        1
    } else {
        0
    }
}

fn corrupt(what: &str) -> Error {
    // Never the path: it is what layout 1 keeps out of sight.
    Error::Internal(format!("kv v2 migration: {what}"))
}

/// Converts one KV v2 mount's data from layout 0 to layout 1. `entries`: every (key,
/// plaintext value) under the mount's view in layout 0. Returns the complete set of (key,
/// plaintext value) in layout 1 (the caller deletes every old key and writes these, in one
/// atomic batch).
///
/// It creates the mount's salt. `kv2/config` and keys outside `kv2/` are kept as they
/// are; every secret's metadata gets its path and moves to its hashed key with the data of
/// the versions it lists, and every folder above a secret gets its record. Version data
/// that no metadata lists was unreachable in layout 0 and is dropped. Refused (nothing to
/// commit): data already holding a salt, an unknown `kv2/` key, undecodable metadata, or a
/// path layout 1 cannot store (more than [`MAX_DEPTH`] segments).
pub fn migrate_v2_layout0(entries: Vec<(String, Vec<u8>)>) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::with_capacity(entries.len() + 1);
    let mut metas: BTreeMap<String, KeyMeta> = BTreeMap::new();
    let mut versions: BTreeMap<String, BTreeMap<u64, Vec<u8>>> = BTreeMap::new();
    for (key, value) in entries {
        let Some(rest) = key.strip_prefix(PREFIX) else {
            out.push((key, value));
            continue;
        };
        if rest == SALT_KEY {
            return Err(corrupt("the mount already holds a salt (layout 1)"));
        }
        if rest == CONFIG_KEY {
            out.push((key, value));
        } else if let Some(path) = rest.strip_prefix("meta/") {
            let meta: KeyMeta =
                serde_json::from_slice(&value).map_err(|_| corrupt("undecodable metadata"))?;
            metas.insert(path.to_owned(), meta);
        } else if let Some(version_path) = rest.strip_prefix("ver/") {
            let (path, n) = version_path
                .rsplit_once('/')
                .and_then(|(p, n)| Some((p, n.parse::<u64>().ok()?)))
                .ok_or_else(|| corrupt("a version key without a version number"))?;
            versions
                .entry(path.to_owned())
                .or_default()
                .insert(n, value);
        } else {
            return Err(corrupt("an unknown key under kv2/"));
        }
    }

    let (hasher, salt) = new_salt()?;
    out.push((format!("{PREFIX}{SALT_KEY}"), salt));
    let mut folders: BTreeMap<String, FolderRecord> = BTreeMap::new();
    let mut dropped = 0usize;
    for (path, mut meta) in metas {
        if !valid_key(&path) {
            return Err(corrupt("a secret path that is not a valid key"));
        }
        if path.split('/').count() > MAX_DEPTH {
            return Err(corrupt(&format!(
                "a secret path has more than {MAX_DEPTH} segments"
            )));
        }
        let hashed = hasher.hash_path(&path);
        folders.extend(folder_records(&path, &hashed));
        for (n, data) in versions.remove(&path).unwrap_or_default() {
            if meta.versions.contains_key(&n) {
                out.push((format!("{PREFIX}{}", hashed.version_key(n)), data));
            } else {
                dropped += 1;
            }
        }
        meta.path = path;
        let value = serde_json::to_vec(&meta).map_err(|e| Error::Internal(e.to_string()))?;
        out.push((format!("{PREFIX}{}", hashed.meta_key()), value));
    }
    dropped += versions.values().map(BTreeMap::len).sum::<usize>();
    if dropped > 0 {
        tracing::warn!(
            dropped,
            "kv v2 migration: dropped version data no metadata listed"
        );
    }
    for (key, record) in folders {
        let value = serde_json::to_vec(&record).map_err(|e| Error::Internal(e.to_string()))?;
        out.push((format!("{PREFIX}{key}"), value));
    }
    Ok(out)
}

#[cfg(test)]
pub(super) mod tests;
