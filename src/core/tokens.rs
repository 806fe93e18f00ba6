//! The token store: service tokens kept under a keyed hash, with accessors and a
//! parent → child index so revoking a parent revokes its children.
//!
//! Storage (all local to the cluster, under `sys/token/`):
//! - `salt`: 32 random bytes, the HMAC key for token and accessor hashes;
//! - `id/<hmac(token)>`: the [`TokenEntry`] (the token itself is never stored);
//! - `accessor/<hmac(accessor)>`: `{accessor, token_hash}`;
//! - `parent/<parent hash>/<child hash>`: child markers.
//!
//! A lookup is a storage fetch keyed by a digest of the presented token, so no
//! byte-by-byte comparison with a stored secret ever happens.

use std::collections::BTreeMap;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::logical::{StorageView, ViewBatch};
use crate::util::{random_base62, unix_now};

/// Prefix of generated service tokens (Vault ≥ 1.10).
pub const SERVICE_TOKEN_PREFIX: &str = "hvs.";
const FORMAT_VERSION: u32 = 1;
/// Deepest parent chain walked when revoking (guards against a corrupted index cycle).
const MAX_TREE_DEPTH: usize = 1024;

/// What is stored for one token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenEntry {
    pub version: u32,
    pub accessor: String,
    pub policies: Vec<String>,
    pub meta: Option<BTreeMap<String, String>>,
    pub display_name: String,
    /// Uses left; 0 means unlimited.
    pub num_uses: i64,
    /// Hash of the parent token, if any.
    pub parent: Option<String>,
    pub path: String,
    pub creation_time: u64,
    /// TTL at creation, seconds (0: never expires).
    pub ttl: u64,
    pub explicit_max_ttl: u64,
    pub period: u64,
    pub renewable: bool,
    /// Unix seconds; `None` never expires.
    pub expire_time: Option<u64>,
    pub last_renewal: Option<u64>,
    /// Set on response-wrapping tokens: the wrapped request's path.
    #[serde(default)]
    pub wrapping: Option<WrapInfo>,
}

/// What a response-wrapping token remembers about what it wraps.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WrapInfo {
    pub creation_path: String,
    pub creation_time: String,
    pub creation_ttl: u64,
    #[serde(default)]
    pub wrapped_accessor: String,
}

impl TokenEntry {
    pub fn is_root(&self) -> bool {
        self.policies.iter().any(|p| p == "root")
    }

    pub fn orphan(&self) -> bool {
        self.parent.is_none()
    }

    /// Seconds left before expiry (0 for tokens that never expire).
    pub fn remaining_ttl(&self, now: u64) -> u64 {
        self.expire_time.map_or(0, |e| e.saturating_sub(now))
    }

    pub fn expired(&self, now: u64) -> bool {
        self.expire_time.is_some_and(|e| e <= now)
    }
}

/// Parameters of a new token, already checked against the caller's rights.
#[derive(Clone, Debug, Default)]
pub struct NewToken {
    /// A caller-chosen token id (root/sudo only), stored as given.
    pub id: Option<String>,
    pub policies: Vec<String>,
    pub meta: Option<BTreeMap<String, String>>,
    pub display_name: String,
    pub num_uses: i64,
    pub parent: Option<String>,
    pub path: String,
    pub ttl: Duration,
    pub explicit_max_ttl: Duration,
    pub period: Duration,
    pub renewable: bool,
    pub wrapping: Option<WrapInfo>,
}

#[derive(Serialize, Deserialize)]
struct AccessorEntry {
    accessor: String,
    token_hash: String,
}

/// What spending one use of a token left.
#[derive(Debug)]
pub enum TokenUse {
    /// The token has no use limit.
    Unlimited,
    /// Uses remain; the entry as it is now.
    Counted(TokenEntry),
    /// This was the last use: revoke the token once the request has run.
    Last(TokenEntry),
}

const USE_LOCK_STRIPES: usize = 64;

fn stripe_of(hash: &str) -> usize {
    // The hash is hex of an HMAC: its first bytes are uniformly spread.
    usize::from_str_radix(hash.get(..4).unwrap_or("0"), 16).unwrap_or(0) % USE_LOCK_STRIPES
}

/// The token store over its (local) storage view.
pub struct TokenStore {
    view: StorageView,
    salt: Zeroizing<Vec<u8>>,
    use_locks: Vec<tokio::sync::Mutex<()>>,
}

impl TokenStore {
    /// Loads the store, creating its salt on first use.
    pub async fn load(view: StorageView) -> Result<Self> {
        let salt = match view.get("salt").await? {
            Some(salt) if salt.len() == 32 => salt,
            Some(_) => return Err(Error::Internal("token salt has the wrong length".into())),
            None => {
                let mut salt = vec![0u8; 32];
                rand::Rng::fill(&mut rand::thread_rng(), &mut salt[..]);
                view.put("salt", &salt).await?;
                salt
            }
        };
        Ok(Self {
            view,
            salt: Zeroizing::new(salt),
            use_locks: (0..USE_LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        })
    }

    /// The keyed hash a token (or accessor) is stored under.
    pub fn hash(&self, secret: &str) -> String {
        // HMAC accepts keys of any length; 32 bytes here.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.salt)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(secret.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Creates a token; returns the token and its entry.
    pub async fn create(&self, new: NewToken) -> Result<(String, TokenEntry)> {
        let token = match new.id {
            Some(id) => {
                if id.is_empty() || id.len() > 512 || id.contains(char::is_whitespace) {
                    return Err(Error::invalid("invalid token id"));
                }
                if self
                    .view
                    .get(&format!("id/{}", self.hash(&id)))
                    .await?
                    .is_some()
                {
                    return Err(Error::invalid("cannot create a token with a duplicate ID"));
                }
                id
            }
            None => format!("{SERVICE_TOKEN_PREFIX}{}", random_base62(24)),
        };
        let now = unix_now();
        let mut ttl = new.ttl.as_secs();
        if new.period.as_secs() > 0 {
            ttl = new.period.as_secs();
        }
        let max = new.explicit_max_ttl.as_secs();
        if max > 0 && (ttl == 0 || ttl > max) {
            ttl = max;
        }
        let entry = TokenEntry {
            version: FORMAT_VERSION,
            accessor: random_base62(24),
            policies: new.policies,
            meta: new.meta,
            display_name: new.display_name,
            num_uses: new.num_uses,
            parent: new.parent,
            path: new.path,
            creation_time: now,
            ttl,
            explicit_max_ttl: max,
            period: new.period.as_secs(),
            renewable: new.renewable,
            expire_time: (ttl > 0).then_some(now + ttl),
            last_renewal: None,
            wrapping: new.wrapping,
        };
        let hash = self.hash(&token);
        let mut batch = ViewBatch::new();
        batch.put_json(format!("id/{hash}"), &entry)?;
        batch.put_json(
            format!("accessor/{}", self.hash(&entry.accessor)),
            &AccessorEntry {
                accessor: entry.accessor.clone(),
                token_hash: hash.clone(),
            },
        )?;
        if let Some(parent) = &entry.parent {
            batch.put(format!("parent/{parent}/{hash}"), Vec::new());
        }
        self.view.commit(batch).await?;
        Ok((token, entry))
    }

    /// The live entry of `token` (expired tokens are revoked and reported absent).
    pub async fn lookup(&self, token: &str) -> Result<Option<(String, TokenEntry)>> {
        if token.is_empty() || token.len() > 1024 {
            return Ok(None);
        }
        let hash = self.hash(token);
        Ok(self.lookup_hash(&hash).await?.map(|e| (hash, e)))
    }

    /// The live entry stored under `hash`.
    pub async fn lookup_hash(&self, hash: &str) -> Result<Option<TokenEntry>> {
        let Some(entry) = self
            .view
            .get_json::<TokenEntry>(&format!("id/{hash}"))
            .await?
        else {
            return Ok(None);
        };
        if entry.expired(unix_now()) {
            self.revoke_tree(hash).await?;
            return Ok(None);
        }
        if entry.num_uses < 0 {
            // Its last use is running; it is revoked when that request ends.
            return Ok(None);
        }
        Ok(Some(entry))
    }

    /// The token hash and entry an accessor points to.
    pub async fn lookup_accessor(&self, accessor: &str) -> Result<Option<(String, TokenEntry)>> {
        if accessor.is_empty() || accessor.len() > 256 {
            return Ok(None);
        }
        let key = format!("accessor/{}", self.hash(accessor));
        let Some(index) = self.view.get_json::<AccessorEntry>(&key).await? else {
            return Ok(None);
        };
        Ok(self
            .lookup_hash(&index.token_hash)
            .await?
            .map(|e| (index.token_hash, e)))
    }

    /// Counts one use of a token. A limited-use token's entry is re-read and decremented
    /// under a per-token lock, so concurrent requests cannot spend the same use twice. On the
    /// last use the entry is marked spent (`num_uses = -1`, which no lookup accepts) and
    /// [`TokenUse::Last`] tells the caller to revoke it once the request has run.
    pub async fn use_token(&self, hash: &str, entry: &TokenEntry) -> Result<TokenUse> {
        if entry.num_uses == 0 {
            return Ok(TokenUse::Unlimited);
        }
        let stripe = &self.use_locks[stripe_of(hash)];
        let _guard = stripe.lock().await;
        let key = format!("id/{hash}");
        let Some(mut current) = self.view.get_json::<TokenEntry>(&key).await? else {
            return Err(Error::PermissionDenied);
        };
        if current.num_uses <= 0 {
            return Err(Error::PermissionDenied);
        }
        let last = current.num_uses == 1;
        current.num_uses = if last { -1 } else { current.num_uses - 1 };
        self.view.put_json(&key, &current).await?;
        if last {
            current.num_uses = 0;
            Ok(TokenUse::Last(current))
        } else {
            Ok(TokenUse::Counted(current))
        }
    }

    /// Every accessor.
    pub async fn accessors(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for key in self.view.list("accessor/").await? {
            if let Some(entry) = self
                .view
                .get_json::<AccessorEntry>(&format!("accessor/{key}"))
                .await?
            {
                out.push(entry.accessor);
            }
        }
        out.sort();
        Ok(out)
    }

    async fn children(&self, hash: &str) -> Result<Vec<String>> {
        Ok(self
            .view
            .list(&format!("parent/{hash}/"))
            .await?
            .into_iter()
            .filter(|c| !c.ends_with('/'))
            .collect())
    }

    /// Revokes a token and all its descendants in one commit; returns their hashes.
    pub async fn revoke_tree(&self, hash: &str) -> Result<Vec<String>> {
        let mut revoked = Vec::new();
        let mut stack = vec![(hash.to_owned(), 0usize)];
        let mut batch = ViewBatch::new();
        while let Some((current, depth)) = stack.pop() {
            if depth > MAX_TREE_DEPTH || revoked.contains(&current) {
                continue;
            }
            for child in self.children(&current).await? {
                batch.delete(format!("parent/{current}/{child}"));
                stack.push((child, depth + 1));
            }
            self.delete_entry(&current, &mut batch).await?;
            revoked.push(current);
        }
        if !batch.is_empty() {
            self.view.commit(batch).await?;
        }
        Ok(revoked)
    }

    /// Revokes only this token; its children become orphans.
    pub async fn revoke_orphan(&self, hash: &str) -> Result<Vec<String>> {
        let mut batch = ViewBatch::new();
        for child in self.children(hash).await? {
            batch.delete(format!("parent/{hash}/{child}"));
            if let Some(mut entry) = self
                .view
                .get_json::<TokenEntry>(&format!("id/{child}"))
                .await?
            {
                entry.parent = None;
                batch.put_json(format!("id/{child}"), &entry)?;
            }
        }
        self.delete_entry(hash, &mut batch).await?;
        self.view.commit(batch).await?;
        Ok(vec![hash.to_owned()])
    }

    async fn delete_entry(&self, hash: &str, batch: &mut ViewBatch) -> Result<()> {
        if let Some(entry) = self
            .view
            .get_json::<TokenEntry>(&format!("id/{hash}"))
            .await?
        {
            batch.delete(format!("accessor/{}", self.hash(&entry.accessor)));
            if let Some(parent) = &entry.parent {
                batch.delete(format!("parent/{parent}/{hash}"));
            }
        }
        batch.delete(format!("id/{hash}"));
        Ok(())
    }

    /// Renews a token by `increment` (or its original TTL), capped by its explicit max TTL
    /// and `max_ttl`. Returns the updated entry.
    pub async fn renew(
        &self,
        hash: &str,
        entry: &TokenEntry,
        increment: Option<Duration>,
        max_ttl: Duration,
    ) -> Result<TokenEntry> {
        if entry.expire_time.is_none() {
            return Ok(entry.clone());
        }
        if !entry.renewable {
            return Err(Error::invalid("lease is not renewable"));
        }
        let now = unix_now();
        let mut ttl = if entry.period > 0 {
            entry.period
        } else {
            increment.map_or(entry.ttl, |d| d.as_secs()).max(1)
        };
        ttl = ttl.min(max_ttl.as_secs().max(1));
        let mut expire = now + ttl;
        if entry.explicit_max_ttl > 0 {
            expire = expire.min(entry.creation_time + entry.explicit_max_ttl);
        }
        let mut next = entry.clone();
        next.expire_time = Some(expire);
        next.last_renewal = Some(now);
        self.view.put_json(&format!("id/{hash}"), &next).await?;
        Ok(next)
    }
}
