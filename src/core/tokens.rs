//! The token store: service tokens kept under a keyed hash, with accessors and a
//! parent → child index so revoking a parent revokes its children.
//!
//! Storage (all local to the cluster, under `local/token/`):
//! - `salt`: 32 random bytes, the HMAC key for token and accessor hashes;
//! - `id/<hmac(token)>`: the [`TokenEntry`] (the token itself is never stored);
//! - `accessor/<hmac(accessor)>`: `{accessor, token_hash}`;
//! - `parent/<parent hash>/<child hash>`: child markers.
//!
//! A lookup is a storage fetch keyed by a digest of the presented token, so no
//! byte-by-byte comparison with a stored secret ever happens.
//!
//! Decoded entries are kept in a bounded in-memory cache keyed by the same digest
//! ([`EntryCache`]), so a request does not decrypt and decode its token again. Expiry is
//! still checked against the clock on every lookup. Every change to an `id/` entry goes
//! through [`TokenStore::commit_tokens`], which drops the touched entries from the cache
//! before the storage commit and again after it, and keeps lookups that raced with the
//! change from putting what they read back in: a revoked, renewed or used token is never
//! served from the cache in its old state.
//!
//! Batch tokens (`hvb.`) are never stored: they are sealed and opened by
//! [`BatchTokens`], and a lookup of one is an authenticated decryption.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::batch_tokens::{is_batch_token, BatchTokens};
use super::expiration::{lease_id, ExpiryQueue, LeaseEntry};
use super::token_roles::RoleStore;
use super::ttl::TtlLimits;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::logical::{StorageView, ViewBatch};
use crate::util::random_base62;
use cache::EntryCache;
use vaultrs_storage::Barrier;

/// Prefix of generated service tokens (Vault ≥ 1.10).
pub const SERVICE_TOKEN_PREFIX: &str = "hvs.";
pub(super) const FORMAT_VERSION: u32 = 1;
/// Deepest parent chain walked when revoking (guards against a corrupted index cycle).
const MAX_TREE_DEPTH: usize = 1024;

/// The kind of a token: stored (`service`) or self-contained (`batch`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    #[default]
    Service,
    Batch,
}

impl TokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Service => "service",
            TokenType::Batch => "batch",
        }
    }
}

/// What is stored for one token (a batch token carries the same, sealed).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenEntry {
    pub version: u32,
    /// Stored entries are always service tokens.
    #[serde(default)]
    pub token_type: TokenType,
    /// Empty for batch tokens.
    pub accessor: String,
    pub policies: Vec<String>,
    pub meta: Option<BTreeMap<String, String>>,
    pub display_name: String,
    /// Uses left; 0 means unlimited.
    pub num_uses: i64,
    /// Hash of the parent token, if any.
    pub parent: Option<String>,
    pub path: String,
    /// The token role it was created from (`auth/token/create/<role>`).
    #[serde(default)]
    pub role: Option<String>,
    pub creation_time: u64,
    /// TTL at creation, seconds (0: never expires).
    pub ttl: u64,
    pub explicit_max_ttl: u64,
    pub period: u64,
    pub renewable: bool,
    /// Unix seconds; `None` never expires.
    pub expire_time: Option<u64>,
    pub last_renewal: Option<u64>,
    /// Seconds after creation that renewals never go past (0: the system max). Periodic
    /// tokens are bounded by `explicit_max_ttl` only.
    #[serde(default)]
    pub max_ttl: u64,
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

    /// Seconds left before expiry by `clock` (0 for tokens that never expire).
    pub fn remaining_ttl(&self, clock: &Clock) -> u64 {
        self.expire_time.map_or(0, |at| clock.secs_until(at))
    }

    pub fn expired(&self, now: u64) -> bool {
        self.expire_time.is_some_and(|e| e <= now)
    }

    pub fn is_batch(&self) -> bool {
        self.token_type == TokenType::Batch
    }
}

/// Parameters of a new token, already checked against the caller's rights.
#[derive(Clone, Debug, Default)]
pub struct NewToken {
    /// A batch token is sealed and returned, never stored.
    pub token_type: TokenType,
    /// A caller-chosen token id (root/sudo only), stored as given.
    pub id: Option<String>,
    pub policies: Vec<String>,
    pub meta: Option<BTreeMap<String, String>>,
    pub display_name: String,
    pub num_uses: i64,
    pub parent: Option<String>,
    pub path: String,
    pub role: Option<String>,
    pub ttl: Duration,
    pub explicit_max_ttl: Duration,
    pub period: Duration,
    pub renewable: bool,
    /// How long renewals may keep the token alive, from its creation (zero: the
    /// renewing caller's system max).
    pub max_ttl: Duration,
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
    /// Lease records (`local/leases/`), committed together with the entries.
    leases: StorageView,
    expiry: Arc<ExpiryQueue>,
    /// The HMAC keyed with the salt (cloned per hash).
    mac: Hmac<Sha256>,
    use_locks: Vec<tokio::sync::Mutex<()>>,
    cache: Arc<EntryCache>,
    batch: BatchTokens,
    /// Token roles (replicated, unlike everything else here).
    roles: RoleStore,
    /// The hash of every stored token, so an unknown token is refused from memory: an
    /// unknown token and a real one cost the same (no storage read tells them apart).
    known: std::sync::RwLock<std::collections::HashSet<[u8; 32]>>,
    /// What TTLs and expiry are measured against.
    clock: Clock,
    /// Tokens whose revocation has started: no child may be created under them. A token
    /// enters under its stripe lock, which child creation holds from its check of the
    /// parent to the commit of the child, so a revocation either sees the child in its
    /// listing of the parent's children or the child is refused.
    revoking: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// The raw bytes of a hex token hash (`None` for anything else).
fn hash_bytes(hash: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hash, &mut out).ok()?;
    Some(out)
}

impl TokenStore {
    /// Loads the store over `barrier` (its local views, `local/token/` and
    /// `local/leases/`, and the replicated roles), creating its salt on first use, and
    /// queues every lease.
    pub async fn load(barrier: Arc<Barrier>, clock: Clock) -> Result<Self> {
        let view = StorageView::new(barrier.clone(), crate::locality::TOKENS_PREFIX);
        let leases = StorageView::new(barrier.clone(), crate::locality::LEASES_PREFIX);
        let expiry = Arc::new(ExpiryQueue::default());
        for key in leases.keys().await? {
            if let Some(lease) = leases.get_json::<LeaseEntry>(&key).await? {
                expiry.schedule(&lease.token_hash, lease.expire_time);
            }
        }
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
        let mut known = std::collections::HashSet::new();
        for key in view.list("id/").await? {
            if let Some(h) = hash_bytes(&key) {
                known.insert(h);
            }
        }
        let salt = Zeroizing::new(salt);
        // HMAC accepts keys of any length; 32 bytes here.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(&salt)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        Ok(Self {
            view,
            leases,
            expiry,
            mac,
            use_locks: (0..USE_LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            cache: Arc::new(EntryCache::new()),
            roles: RoleStore::new(StorageView::new(
                barrier.clone(),
                crate::locality::TOKEN_ROLES_PREFIX,
            )),
            batch: BatchTokens::new(barrier),
            known: std::sync::RwLock::new(known),
            clock,
            revoking: std::sync::Mutex::new(Default::default()),
        })
    }

    /// The clock TTLs and expiry are measured against.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The token roles.
    pub fn roles(&self) -> &RoleStore {
        &self.roles
    }

    /// The keyed hash a token (or accessor) is stored under.
    pub fn hash(&self, secret: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(secret.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Commits `batch`, which changes the stored entries of `hashes` (and nothing else
    /// under `id/`), keeping the entry cache from serving them in their old state.
    ///
    /// The commit runs in its own task, which holds the change open until the commit has
    /// finished: if the request is dropped halfway (its client went away), a commit already
    /// handed to storage may still land, and no lookup may cache what it read before that.
    async fn commit_tokens(
        &self,
        hashes: Vec<String>,
        batch: ViewBatch,
        leases: ViewBatch,
    ) -> Result<()> {
        let change = self.cache.begin_change(hashes);
        let view = self.view.clone();
        let lease_view = self.leases.clone();
        tokio::spawn(async move {
            let result =
                StorageView::commit_views(vec![(&view, batch), (&lease_view, leases)]).await;
            drop(change);
            result
        })
        .await
        .map_err(|e| Error::Internal(format!("token store commit: {e}")))?
    }

    fn is_known(&self, hash: &str) -> bool {
        hash_bytes(hash).is_some_and(|h| {
            self.known
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .contains(&h)
        })
    }

    fn set_known(&self, hashes: &[String], known: bool) {
        let mut set = self.known.write().unwrap_or_else(|p| p.into_inner());
        for h in hashes.iter().filter_map(|h| hash_bytes(h)) {
            if known {
                set.insert(h);
            } else {
                set.remove(&h);
            }
        }
    }

    /// How many tokens are stored (batch tokens never are).
    pub fn count(&self) -> usize {
        self.known.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The expiry queue of this store's leases.
    pub fn expiry(&self) -> Arc<ExpiryQueue> {
        self.expiry.clone()
    }

    /// Adds the lease record of `entry` (when it expires) to `leases`; the expiry to
    /// queue once the batch is committed.
    fn put_lease(leases: &mut ViewBatch, hash: &str, entry: &TokenEntry) -> Result<Option<u64>> {
        let Some(expire_time) = entry.expire_time else {
            return Ok(None);
        };
        let lease = LeaseEntry {
            version: super::expiration::FORMAT_VERSION,
            lease_id: lease_id(&entry.path, hash),
            token_hash: hash.to_owned(),
            issue_time: entry.creation_time,
            expire_time,
            last_renewal: entry.last_renewal,
            renewable: entry.renewable,
        };
        leases.put_json(lease.lease_id.clone(), &lease)?;
        Ok(Some(expire_time))
    }

    /// After a commit that removed these tokens: they are unknown and off the expiry queue.
    fn forget_tokens(&self, hashes: &[String]) {
        self.set_known(hashes, false);
        for hash in hashes {
            self.expiry.forget(hash);
        }
    }

    /// The lease `id`, if it exists.
    pub async fn lease(&self, id: &str) -> Result<Option<LeaseEntry>> {
        self.leases.get_json(id).await
    }

    /// Lease ids and folders directly under `prefix` (empty or ending in `/`).
    pub async fn list_leases(&self, prefix: &str) -> Result<Vec<String>> {
        self.leases.list(prefix).await
    }

    /// Every lease under `folder` (ending in `/`), recursively.
    pub async fn leases_under(&self, folder: &str) -> Result<Vec<LeaseEntry>> {
        let view = self.leases.sub(folder);
        let mut out = Vec::new();
        for key in view.keys().await? {
            if let Some(lease) = view.get_json::<LeaseEntry>(&key).await? {
                out.push(lease);
            }
        }
        Ok(out)
    }

    /// Removes a lease record whose token could not be revoked (`revoke-force`).
    pub async fn drop_lease(&self, lease: &LeaseEntry) -> Result<()> {
        let mut batch = ViewBatch::new();
        batch.delete(lease.lease_id.clone());
        self.leases.commit(batch).await?;
        self.expiry.forget(&lease.token_hash);
        Ok(())
    }

    /// Removes lease records whose token is gone; returns how many.
    pub async fn tidy_leases(&self) -> Result<usize> {
        let mut removed = 0;
        for lease in self.leases_under("").await? {
            let live = self
                .view
                .get(&format!("id/{}", lease.token_hash))
                .await?
                .is_some();
            if !live {
                self.drop_lease(&lease).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Creates a token; returns the token and its entry.
    pub async fn create(&self, new: NewToken) -> Result<(String, TokenEntry)> {
        if new.token_type == TokenType::Batch {
            return self.create_batch(new).await;
        }
        let token = match new.id {
            Some(id) => {
                if id.is_empty() || id.len() > 512 || id.contains(char::is_whitespace) {
                    return Err(Error::invalid("invalid token id"));
                }
                if is_batch_token(&id) {
                    return Err(Error::invalid(
                        "custom token ID cannot have the 'hvb.' prefix",
                    ));
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
        let now = self.clock.unix_now();
        // The caller decided the TTL (`super::ttl`); an explicit max still bounds it.
        let mut ttl = new.ttl.min(crate::logical::MAX_TTL).as_secs();
        let max = new.explicit_max_ttl.as_secs();
        if max > 0 && (ttl == 0 || ttl > max) {
            ttl = max;
        }
        let entry = TokenEntry {
            version: FORMAT_VERSION,
            token_type: TokenType::Service,
            accessor: random_base62(24),
            policies: new.policies,
            meta: new.meta,
            display_name: new.display_name,
            num_uses: new.num_uses,
            parent: new.parent,
            path: new.path,
            role: new.role,
            creation_time: now,
            ttl,
            explicit_max_ttl: max,
            period: new.period.as_secs(),
            renewable: new.renewable,
            // Rounded up: a token lives at least its whole TTL.
            expire_time: (ttl > 0).then_some(self.clock.unix_now_ceil().saturating_add(ttl)),
            last_renewal: None,
            max_ttl: new.max_ttl.as_secs(),
            wrapping: new.wrapping,
        };
        let hash = self.hash(&token);
        // A child is recorded only while its parent is live and not being revoked, checked
        // under the parent's lock (see `revoking`).
        let _parent_lock = match &entry.parent {
            Some(parent) => {
                let guard = self.use_locks[stripe_of(parent)].lock().await;
                if self.is_revoking(parent) || !self.is_live_in_storage(parent).await? {
                    return Err(Error::PermissionDenied);
                }
                Some(guard)
            }
            None => None,
        };
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
        let mut leases = ViewBatch::new();
        let expiry = Self::put_lease(&mut leases, &hash, &entry)?;
        self.commit_tokens(vec![hash.clone()], batch, leases)
            .await?;
        self.set_known(std::slice::from_ref(&hash), true);
        if let Some(at) = expiry {
            self.expiry.schedule(&hash, at);
        }
        Ok((token, entry))
    }

    /// The live entry of `token` (expired tokens are revoked and reported absent).
    pub async fn lookup(&self, token: &str) -> Result<Option<(String, TokenEntry)>> {
        Ok(self
            .lookup_shared(token)
            .await?
            .map(|(hash, entry)| (hash, TokenEntry::clone(&entry))))
    }

    /// [`TokenStore::lookup`] without copying the entry out of the cache.
    pub async fn lookup_shared(&self, token: &str) -> Result<Option<(String, Arc<TokenEntry>)>> {
        if is_batch_token(token) {
            return self.lookup_batch(token).await;
        }
        if token.is_empty() || token.len() > 1024 {
            return Ok(None);
        }
        let hash = self.hash(token);
        Ok(self.lookup_hash_shared(&hash).await?.map(|e| (hash, e)))
    }

    /// Seals a batch token: nothing is stored, no accessor, no lease. A parent must be
    /// live now; the token stops working when its parent goes.
    async fn create_batch(&self, new: NewToken) -> Result<(String, TokenEntry)> {
        if new.id.is_some() {
            return Err(Error::invalid("batch tokens cannot have a custom ID"));
        }
        let ttl = new.ttl.min(crate::logical::MAX_TTL).as_secs();
        if ttl == 0 {
            return Err(Error::invalid("batch tokens must have a TTL"));
        }
        if let Some(parent) = &new.parent {
            if self.lookup_hash_shared(parent).await?.is_none() {
                return Err(Error::PermissionDenied);
            }
        }
        let entry = TokenEntry {
            version: FORMAT_VERSION,
            token_type: TokenType::Batch,
            accessor: String::new(),
            policies: new.policies,
            meta: new.meta,
            display_name: new.display_name,
            num_uses: 0,
            parent: new.parent,
            path: new.path,
            role: new.role,
            creation_time: self.clock.unix_now(),
            ttl,
            explicit_max_ttl: 0,
            period: 0,
            renewable: false,
            expire_time: Some(self.clock.unix_now_ceil().saturating_add(ttl)),
            last_renewal: None,
            max_ttl: 0,
            wrapping: None,
        };
        let token = self.batch.seal(&entry)?;
        Ok((token, entry))
    }

    /// A batch token's entry while it is valid: authentic, not expired, its parent (if
    /// any) live. Its hash is only a name for it in this request (nothing is stored
    /// under it).
    async fn lookup_batch(&self, token: &str) -> Result<Option<(String, Arc<TokenEntry>)>> {
        let Some(entry) = self.batch.open(token)? else {
            return Ok(None);
        };
        if entry.expired(self.clock.unix_now()) {
            return Ok(None);
        }
        if let Some(parent) = &entry.parent {
            if self.lookup_hash_shared(parent).await?.is_none() {
                return Ok(None);
            }
        }
        Ok(Some((self.hash(token), Arc::new(entry))))
    }

    /// The live entry stored under `hash`.
    pub async fn lookup_hash(&self, hash: &str) -> Result<Option<TokenEntry>> {
        Ok(self
            .lookup_hash_shared(hash)
            .await?
            .map(|e| TokenEntry::clone(&e)))
    }

    async fn lookup_hash_shared(&self, hash: &str) -> Result<Option<Arc<TokenEntry>>> {
        if !self.is_known(hash) {
            // The same cache probe a real token makes, then no storage read at all.
            let _ = self.cache.get(hash);
            return Ok(None);
        }
        let entry = match self.cache.get(hash) {
            Ok(entry) => entry,
            Err(ticket) => {
                let Some(entry) = self
                    .view
                    .get_json::<TokenEntry>(&format!("id/{hash}"))
                    .await?
                else {
                    return Ok(None);
                };
                let entry = Arc::new(entry);
                self.cache.fill(hash, ticket, &entry);
                entry
            }
        };
        if entry.expired(self.clock.unix_now()) {
            // The expiration manager revokes it (with its children and cubbyhole) within
            // a second; until then it is simply not valid.
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
        let mut batch = ViewBatch::new();
        batch.put_json(key, &current)?;
        self.commit_tokens(vec![hash.to_owned()], batch, ViewBatch::new())
            .await?;
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

    /// Renews a token by `increment` (or its original TTL; a periodic token by its
    /// period) within `limits` (see [`TtlLimits::renewal`]): the token's own max TTL
    /// (`max_ttl`, fixed at issue) and `mount_max_ttl`, the issuing mount's max as it is
    /// now (lowering it caps later renewals), and its explicit max TTL. Returns the
    /// updated entry and the seconds granted from now.
    pub async fn renew(
        &self,
        hash: &str,
        entry: &TokenEntry,
        increment: Option<Duration>,
        mount_max_ttl: Duration,
    ) -> Result<(TokenEntry, u64)> {
        let Some(current) = entry.expire_time else {
            return Ok((entry.clone(), 0));
        };
        if entry.is_batch() {
            return Err(Error::invalid("batch tokens cannot be renewed"));
        }
        if !entry.renewable {
            return Err(Error::invalid("lease is not renewable"));
        }
        let now = self.clock.unix_now();
        // Whole seconds, rounded up: a renewal never grants less than it says.
        let base = self.clock.unix_now_ceil();
        let limits = TtlLimits {
            mount_default: entry.ttl,
            mount_max: mount_max_ttl.as_secs(),
            backend_max: entry.max_ttl,
            explicit_max: entry.explicit_max_ttl,
            period: entry.period,
        };
        let increment = increment.map_or(0, |d| d.as_secs());
        let expire = limits.renewal(increment, entry.ttl, entry.creation_time, current, base);
        let mut next = entry.clone();
        next.expire_time = Some(expire);
        next.last_renewal = Some(now);
        let mut batch = ViewBatch::new();
        batch.put_json(format!("id/{hash}"), &next)?;
        let mut leases = ViewBatch::new();
        let expiry = Self::put_lease(&mut leases, hash, &next)?;
        self.commit_tokens(vec![hash.to_owned()], batch, leases)
            .await?;
        if let Some(at) = expiry {
            self.expiry.schedule(hash, at);
        }
        Ok((next, expire.saturating_sub(base)))
    }
}

mod cache;
mod revoke;
#[cfg(test)]
mod tests;
