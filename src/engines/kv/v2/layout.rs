//! Layout 1 of KV v2 storage, as the module doc of [`super`] describes it: the keys, the
//! keyed hash of path segments, the mount's salt and the engine's cache of it, folder
//! records, and [`Store`], the engine's handle on one mount's storage.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;
use tokio::sync::MutexGuard;

use super::{Config, KeyMeta};
use crate::engines::kv::support::{lock_key, lock_keys, valid_key};
use crate::error::{Error, Result};
use crate::logical::{Ctx, StorageView, ViewBatch};

/// Everything KV v2 stores sits under this folder of the mount's view.
pub(super) const PREFIX: &str = "kv2/";
pub(super) const CONFIG_KEY: &str = "config";
/// The mount's HMAC key; its presence marks the mount's data as layout 1.
pub(super) const SALT_KEY: &str = "salt";
/// Secrets' metadata: `m/<h1>/…/<hn>`.
const META: &str = "m/";
/// Version data: `v/<h1>/…/<hn>/<version>`.
const VERSIONS: &str = "v/";
/// Folder records: `f/<h1>/…/<hk>`.
const FOLDERS: &str = "f/";

/// Bytes of HMAC-SHA256 kept per segment: 128 bits, 32 hex characters.
const HASH_LEN: usize = 16;
/// A hashed segment and the `/` after it, in the hashed path's text.
const SEGMENT_STRIDE: usize = 2 * HASH_LEN + 1;

/// Most segments a secret path may have. Each costs 33 bytes of storage key; 100 of them
/// (3,300 bytes), with the view prefix and a version number, stay well inside the storage
/// layer's 4,096-byte keys.
pub const MAX_DEPTH: usize = 100;

/// Checks the depth of a path about to be written, in Vault's words for bad paths.
pub(super) fn check_depth(path: &str) -> Result<()> {
    if path.split('/').count() > MAX_DEPTH {
        return Err(Error::invalid(format!(
            "invalid path: more than {MAX_DEPTH} segments"
        )));
    }
    Ok(())
}

// ---- hashing --------------------------------------------------------------------------

/// The keyed hash of path segments: HMAC-SHA256 under the mount's salt, keyed once.
#[derive(Clone)]
pub(super) struct SegmentHasher(Hmac<Sha256>);

impl SegmentHasher {
    fn new(salt: &[u8; 32]) -> Self {
        // HMAC takes keys of any length, so this cannot fail.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(salt)
            .unwrap_or_else(|_| unreachable!("HMAC accepts 32-byte keys"));
        Self(mac)
    }

    /// One segment's hash. Chained: the parent's hash (zeros at the root) goes first, so
    /// the same name in two folders hashes differently, and the fixed length keeps the
    /// input unambiguous.
    fn segment(&self, parent: &[u8; HASH_LEN], segment: &str) -> [u8; HASH_LEN] {
        let mut mac = self.0.clone();
        mac.update(parent);
        mac.update(segment.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; HASH_LEN];
        out.copy_from_slice(&full[..HASH_LEN]);
        out
    }

    /// `path`'s hashed form, segment by segment.
    pub(super) fn hash_path(&self, path: &str) -> HashedPath {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(path.split('/').count() * SEGMENT_STRIDE);
        let mut parent = [0u8; HASH_LEN];
        for segment in path.split('/') {
            if !text.is_empty() {
                text.push('/');
            }
            parent = self.segment(&parent, segment);
            for b in parent {
                text.push(char::from(HEX[usize::from(b >> 4)]));
                text.push(char::from(HEX[usize::from(b & 0x0f)]));
            }
        }
        HashedPath(text)
    }
}

/// A path in hashed form, `h1/…/hn`, every `hi` 32 lowercase hex characters; empty for the
/// mount's root folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct HashedPath(String);

impl HashedPath {
    fn root() -> Self {
        Self(String::new())
    }

    pub(super) fn as_str(&self) -> &str {
        &self.0
    }

    /// Number of segments.
    fn depth(&self) -> usize {
        (self.0.len() + 1) / SEGMENT_STRIDE
    }

    /// The first `k` segments (`""` for none).
    fn ancestor(&self, k: usize) -> &str {
        match k {
            0 => "",
            k => &self.0[..(k * SEGMENT_STRIDE - 1).min(self.0.len())],
        }
    }

    /// The last segment's hash (`""` for the root).
    fn last(&self) -> &str {
        &self.0[self.0.len().saturating_sub(SEGMENT_STRIDE - 1)..]
    }

    pub(super) fn meta_key(&self) -> String {
        join(META, &self.0)
    }

    pub(super) fn version_key(&self, version: u64) -> String {
        format!("{VERSIONS}{}/{version}", self.0)
    }
}

fn join(area: &str, hashed: &str) -> String {
    let mut key = String::with_capacity(area.len() + hashed.len());
    key.push_str(area);
    key.push_str(hashed);
    key
}

/// The folder of the metadata tree holding what sits in the folder `hashed`.
fn meta_dir(hashed: &str) -> String {
    if hashed.is_empty() {
        META.to_owned()
    } else {
        format!("{META}{hashed}/")
    }
}

/// The record of the folder `hashed` (non-empty).
fn folder_key(hashed: &str) -> String {
    join(FOLDERS, hashed)
}

/// A folder's plaintext name (its last segment), kept while something is stored below it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct FolderRecord {
    pub(super) name: String,
}

/// What listing reads of a secret's metadata: its path.
#[derive(Deserialize)]
struct MetaPath {
    #[serde(default)]
    path: String,
}

/// The records of every folder above `path` (hashed as `hashed`), outermost first.
pub(super) fn folder_records(path: &str, hashed: &HashedPath) -> Vec<(String, FolderRecord)> {
    path.split('/')
        .take(hashed.depth().saturating_sub(1))
        .enumerate()
        .map(|(i, name)| {
            (
                folder_key(hashed.ancestor(i + 1)),
                FolderRecord { name: name.into() },
            )
        })
        .collect()
}

// ---- the salt -------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
struct SaltEntry {
    /// 32 random bytes, hex encoded.
    key: String,
}

/// A fresh salt: its hasher and the stored entry.
pub(super) fn new_salt() -> Result<(SegmentHasher, Vec<u8>)> {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let entry = serde_json::to_vec(&SaltEntry {
        key: hex::encode(key),
    })
    .map_err(|e| Error::Internal(e.to_string()))?;
    Ok((SegmentHasher::new(&key), entry))
}

async fn read_salt(view: &StorageView) -> Result<Option<SegmentHasher>> {
    let Some(entry) = view.get_json::<SaltEntry>(SALT_KEY).await? else {
        return Ok(None);
    };
    let mut key = [0u8; 32];
    hex::decode_to_slice(&entry.key, &mut key)
        .map_err(|_| Error::Internal("kv: malformed salt in storage".into()))?;
    Ok(Some(SegmentHasher::new(&key)))
}

/// Whether `key` (relative to the mount's view) is layout-0 data.
pub(super) fn is_layout0_key(key: &str) -> bool {
    key.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.starts_with("meta/") || rest.starts_with("ver/"))
}

/// Refuses a mount without a salt that holds layout-0 data: serving it would hide that
/// data, and writing would give it a salt, after which it would never be migrated.
async fn refuse_layout0(view: &StorageView) -> Result<()> {
    let top = view.list("").await?;
    if top.iter().any(|c| c == "meta/" || c == "ver/") {
        return Err(Error::Internal(
            "kv: this KV v2 mount's storage is in layout 0 and must be migrated first".into(),
        ));
    }
    Ok(())
}

/// The hasher of every mount this engine serves, by view prefix. `generation` moves on at
/// every [`Salts::clear`], so a salt read before a clear is never cached after it.
#[derive(Default)]
pub(super) struct Salts(RwLock<(u64, HashMap<String, Arc<SegmentHasher>>)>);

impl Salts {
    fn get(&self, prefix: &str) -> Option<Arc<SegmentHasher>> {
        let guard = self.0.read().unwrap_or_else(|p| p.into_inner());
        guard.1.get(prefix).cloned()
    }

    fn generation(&self) -> u64 {
        self.0.read().unwrap_or_else(|p| p.into_inner()).0
    }

    fn put(&self, generation: u64, prefix: &str, hasher: &Arc<SegmentHasher>) {
        let mut guard = self.0.write().unwrap_or_else(|p| p.into_inner());
        if guard.0 == generation {
            guard.1.insert(prefix.to_owned(), hasher.clone());
        }
    }

    /// Forgets every cached salt.
    pub(super) fn clear(&self) {
        let mut guard = self.0.write().unwrap_or_else(|p| p.into_inner());
        guard.0 += 1;
        guard.1.clear();
    }
}

// ---- the store ------------------------------------------------------------------------

/// One lock guard of [`lock_key`]/[`lock_keys`].
pub(super) type Guard = MutexGuard<'static, ()>;

/// Where one secret lives: its path and its hashed path.
pub(super) struct Secret<'p> {
    pub(super) path: &'p str,
    pub(super) hashed: HashedPath,
}

/// The engine's storage for one mount (everything under `kv2/`), its salt, and the lock
/// namespace.
pub(super) struct Store<'e> {
    pub(super) view: StorageView,
    /// `None`: the mount has no salt yet, so it stores no secret.
    hasher: Option<Arc<SegmentHasher>>,
    salts: &'e Salts,
}

impl<'e> Store<'e> {
    /// The store of `ctx`'s mount. Once the salt is cached, this reads no storage.
    pub(super) async fn open(ctx: &Ctx, salts: &'e Salts) -> Result<Self> {
        let view = ctx.storage.sub(PREFIX);
        let hasher = match salts.get(view.prefix()) {
            Some(h) => Some(h),
            None => {
                let generation = salts.generation();
                match read_salt(&view).await? {
                    Some(h) => {
                        let h = Arc::new(h);
                        salts.put(generation, view.prefix(), &h);
                        Some(h)
                    }
                    None => {
                        refuse_layout0(&view).await?;
                        None
                    }
                }
            }
        };
        Ok(Self {
            view,
            hasher,
            salts,
        })
    }

    /// Where `path` lives, for a write: creates the mount's salt if it has none (the
    /// mount's first write). Call it holding no lock.
    pub(super) async fn locate_for_write<'p>(&self, path: &'p str) -> Result<Secret<'p>> {
        let hasher = match &self.hasher {
            Some(h) => h.clone(),
            None => {
                let generation = self.salts.generation();
                let _guard = lock_key(self.view.prefix(), SALT_KEY).await;
                let h = match read_salt(&self.view).await? {
                    Some(h) => h,
                    None => {
                        refuse_layout0(&self.view).await?;
                        let (h, entry) = new_salt()?;
                        self.view.put(SALT_KEY, &entry).await?;
                        h
                    }
                };
                let h = Arc::new(h);
                self.salts.put(generation, self.view.prefix(), &h);
                h
            }
        };
        Ok(Secret {
            path,
            hashed: hasher.hash_path(path),
        })
    }

    /// Where `path` lives; `None` when it cannot be stored (an invalid path, or a mount
    /// without a salt).
    pub(super) fn locate<'p>(&self, path: &'p str) -> Option<Secret<'p>> {
        let hasher = self.hasher.as_ref()?;
        if !valid_key(path) || path.split('/').count() > MAX_DEPTH {
            return None;
        }
        Some(Secret {
            path,
            hashed: hasher.hash_path(path),
        })
    }

    /// The lock of one secret (or of `config`), for a read-modify-write that neither
    /// creates nor removes a secret.
    pub(super) async fn lock(&self, key: &str) -> Guard {
        lock_key(self.view.prefix(), key).await
    }

    /// The locks of a change that may create or remove the secret `path`: its own and
    /// those of every folder above it (`a/`, `a/b/`, …). Every such change holds the lock
    /// of each folder it may add or remove a record for, so the emptiness of a folder
    /// cannot change while one is held.
    async fn lock_tree(&self, path: &str) -> Vec<Guard> {
        let folders = path
            .match_indices('/')
            .map(|(i, _)| &path[..=i])
            .chain([path]);
        lock_keys(self.view.prefix(), folders).await
    }

    pub(super) async fn config(&self) -> Result<Config> {
        Ok(self.view.get_json(CONFIG_KEY).await?.unwrap_or_default())
    }

    /// The metadata of `secret`, if it exists.
    pub(super) async fn meta(&self, secret: &Secret<'_>) -> Result<Option<KeyMeta>> {
        let meta: Option<KeyMeta> = self.view.get_json(&secret.hashed.meta_key()).await?;
        match meta {
            Some(m) if m.path != secret.path => Err(Error::Internal(
                "kv: stored metadata belongs to another path".into(),
            )),
            other => Ok(other),
        }
    }

    /// The metadata of `path`; `None` also for paths that cannot exist.
    pub(super) async fn meta_of(&self, path: &str) -> Result<Option<KeyMeta>> {
        match self.locate(path) {
            Some(secret) => self.meta(&secret).await,
            None => Ok(None),
        }
    }

    /// Whether `path` has metadata (exists as a secret), without decrypting it.
    pub(super) async fn has_meta(&self, path: &str) -> Result<bool> {
        match self.locate(path) {
            Some(secret) => self.view.contains(&secret.hashed.meta_key()).await,
            None => Ok(false),
        }
    }

    pub(super) async fn version_data(
        &self,
        secret: &Secret<'_>,
        version: u64,
    ) -> Result<Map<String, Value>> {
        self.view
            .get_json(&secret.hashed.version_key(version))
            .await?
            .ok_or_else(|| Error::Internal("could not find version data".into()))
    }

    /// Adds `meta` as `secret`'s metadata to `batch`.
    pub(super) fn put_meta(
        batch: &mut ViewBatch,
        secret: &Secret<'_>,
        meta: &mut KeyMeta,
    ) -> Result<()> {
        secret.path.clone_into(&mut meta.path);
        batch.put_json(secret.hashed.meta_key(), meta)?;
        Ok(())
    }

    /// Stores `meta` as `secret`'s metadata.
    pub(super) async fn save_meta(&self, secret: &Secret<'_>, meta: &mut KeyMeta) -> Result<()> {
        let mut batch = ViewBatch::new();
        Self::put_meta(&mut batch, secret, meta)?;
        self.view.commit(batch).await
    }

    /// Locks `secret` for a write that may create it and reads its metadata. An existing
    /// secret takes just its own lock. A new one takes [`Store::lock_tree`]'s, and `batch`
    /// gets the records of its folders that do not exist yet.
    pub(super) async fn lock_for_upsert(
        &self,
        secret: &Secret<'_>,
        batch: &mut ViewBatch,
    ) -> Result<(Vec<Guard>, Option<KeyMeta>)> {
        let guard = self.lock(secret.path).await;
        if let Some(meta) = self.meta(secret).await? {
            return Ok((vec![guard], Some(meta)));
        }
        drop(guard);
        let guards = self.lock_tree(secret.path).await;
        let meta = self.meta(secret).await?;
        if meta.is_none() {
            self.add_folders(secret, batch).await?;
        }
        Ok((guards, meta))
    }

    /// Locks `secret` for its removal (see [`Store::lock_tree`]) and reads its metadata.
    pub(super) async fn lock_for_removal(
        &self,
        secret: &Secret<'_>,
    ) -> Result<(Vec<Guard>, Option<KeyMeta>)> {
        let guards = self.lock_tree(secret.path).await;
        let meta = self.meta(secret).await?;
        Ok((guards, meta))
    }

    /// Adds to `batch` the records of `secret`'s folders that do not exist yet. A folder
    /// has a record while something is stored below it, so a folder with a record has
    /// records above it too: the walk goes up and stops at the first one found.
    async fn add_folders(&self, secret: &Secret<'_>, batch: &mut ViewBatch) -> Result<()> {
        for (key, record) in folder_records(secret.path, &secret.hashed)
            .into_iter()
            .rev()
        {
            if self.view.get(&key).await?.is_some() {
                break;
            }
            batch.put_json(key, &record)?;
        }
        Ok(())
    }

    /// Adds to `batch` the removal of the folder records that removing `secret`'s
    /// metadata leaves without anything below them: going up from its folder while the
    /// folder holds nothing but what is being removed.
    pub(super) async fn prune_folders(
        &self,
        secret: &Secret<'_>,
        batch: &mut ViewBatch,
    ) -> Result<()> {
        let hashed = &secret.hashed;
        // The entry that disappears from the folder's listing: the secret, then a folder.
        let mut leaving = hashed.last().to_owned();
        for k in (1..hashed.depth()).rev() {
            let folder = hashed.ancestor(k);
            let entries = self.view.list(&meta_dir(folder)).await?;
            if entries.iter().any(|e| *e != leaving) {
                break;
            }
            batch.delete(folder_key(folder));
            leaving = format!(
                "{}/",
                &folder[folder.len().saturating_sub(SEGMENT_STRIDE - 1)..]
            );
        }
        Ok(())
    }

    /// The names in `folder` (`""` for the root, otherwise ending in `/`): secrets as
    /// they are, sub-folders with a trailing `/`, sorted. One storage list and one read per
    /// entry of that folder, whatever lies elsewhere.
    pub(super) async fn list(&self, folder: &str) -> Result<Vec<String>> {
        let Some(hasher) = &self.hasher else {
            return Ok(Vec::new());
        };
        let hashed = match folder.strip_suffix('/') {
            Some(f) if f.split('/').count() < MAX_DEPTH => hasher.hash_path(f),
            Some(_) => return Ok(Vec::new()),
            None => HashedPath::root(),
        };
        let dir = meta_dir(hashed.as_str());
        let entries = self.view.list(&dir).await?;
        let mut names = Vec::with_capacity(entries.len());
        for entry in entries {
            let name = match entry.strip_suffix('/') {
                Some(sub) => {
                    let record = format!("{}{sub}", folder_key(&dir[META.len()..]));
                    match self.view.get_json::<FolderRecord>(&record).await? {
                        Some(r) => Some(format!("{}/", r.name)),
                        None => self
                            .name_from_below(&format!("{dir}{entry}"), hashed.depth())
                            .await?
                            .map(|n| format!("{n}/")),
                    }
                }
                None => {
                    let meta: Option<MetaPath> =
                        self.view.get_json(&format!("{dir}{entry}")).await?;
                    meta.and_then(|m| m.path.rsplit('/').next().map(str::to_owned))
                }
            };
            // An entry without a name (damaged) is left out rather than shown as "".
            names.extend(name.filter(|n| !n.is_empty() && n != "/"));
        }
        names.sort();
        Ok(names)
    }

    /// The name of the folder at `dir` (a folder of the metadata tree, at depth
    /// `index + 1`) when its record is missing: read from the path of a secret below it.
    /// Atomic commits never leave a folder without its record, but a replica that copies
    /// keys one by one may, for a while.
    async fn name_from_below(&self, dir: &str, index: usize) -> Result<Option<String>> {
        tracing::warn!(folder = %dir, "kv: folder record missing; naming it from below");
        let mut dir = dir.to_owned();
        for _ in 0..MAX_DEPTH {
            let entries = self.view.list(&dir).await?;
            if let Some(leaf) = entries.iter().find(|e| !e.ends_with('/')) {
                let meta: Option<MetaPath> = self.view.get_json(&format!("{dir}{leaf}")).await?;
                return Ok(meta.and_then(|m| m.path.split('/').nth(index).map(str::to_owned)));
            }
            match entries.first() {
                Some(sub) => dir.push_str(sub),
                None => return Ok(None),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_paths() {
        let h = SegmentHasher::new(&[7; 32]);
        let p = h.hash_path("prod/db/primary");
        assert_eq!(p.depth(), 3);
        assert_eq!(p.as_str().len(), 3 * SEGMENT_STRIDE - 1);
        assert!(p
            .as_str()
            .split('/')
            .all(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())));
        // Segment by segment: a folder's hash is a prefix of its children's.
        assert_eq!(p.ancestor(2), h.hash_path("prod/db").as_str());
        assert_eq!(p.ancestor(1), h.hash_path("prod").as_str());
        assert_eq!(p.ancestor(0), "");
        assert_eq!(p.ancestor(3), p.as_str());
        assert_eq!(p.last(), &p.as_str()[2 * SEGMENT_STRIDE..]);
        // Chained: the same name in another folder hashes differently.
        let q = h.hash_path("staging/db/primary");
        assert_ne!(p.last(), q.last());
        // Keyed: another salt, other hashes.
        assert_ne!(
            SegmentHasher::new(&[8; 32]).hash_path("prod"),
            h.hash_path("prod")
        );
        assert_eq!(h.hash_path("prod"), h.hash_path("prod"));
        assert_eq!(p.meta_key(), format!("m/{}", p.as_str()));
        assert_eq!(p.version_key(3), format!("v/{}/3", p.as_str()));
        let records = folder_records("prod/db/primary", &p);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].0, format!("f/{}", p.ancestor(1)));
        assert_eq!(records[0].1.name, "prod");
        assert_eq!(records[1].0, format!("f/{}", p.ancestor(2)));
        assert_eq!(records[1].1.name, "db");
        assert!(folder_records("top", &h.hash_path("top")).is_empty());
    }

    #[test]
    fn depth_limit() {
        let ok = vec!["a"; MAX_DEPTH].join("/");
        assert!(check_depth(&ok).is_ok());
        assert!(matches!(
            check_depth(&format!("{ok}/a")),
            Err(Error::InvalidRequest(_))
        ));
        // The deepest path with the longest segments still makes a storable key.
        let deepest = vec!["x".repeat(240); MAX_DEPTH].join("/");
        let key = format!(
            "logical/{}/{PREFIX}{}",
            "u".repeat(36),
            SegmentHasher::new(&[1; 32])
                .hash_path(&deepest)
                .version_key(u64::MAX)
        );
        assert!(
            key.len() <= vaultrs_storage::key::MAX_KEY_LEN,
            "{}",
            key.len()
        );
        assert!(vaultrs_storage::key::validate_key(&key).is_ok());
    }

    #[test]
    fn layout0_keys() {
        assert!(is_layout0_key("kv2/meta/a"));
        assert!(is_layout0_key("kv2/ver/a/1"));
        assert!(!is_layout0_key("kv2/config"));
        assert!(!is_layout0_key("kv2/salt"));
        assert!(!is_layout0_key("kv2/m/abc"));
        assert!(!is_layout0_key("meta/a"));
    }
}
