//! The encryption barrier: plaintext above, ciphertext below.
//!
//! Every value handed to the [`Physical`] layer is sealed with AES-256-GCM under the
//! keyring's active term, with the storage key as additional authenticated data (framing in
//! [`aead`]). The keyring is sealed by the root key, the root key by the unseal key, and the
//! unseal key is split with Shamir:
//!
//! | key                | content                                              | sealed by  |
//! |--------------------|------------------------------------------------------|------------|
//! | `core/seal-config` | `{"version":1,"secret_shares":N,"secret_threshold":T}` | nothing    |
//! | `core/root-key`    | the 32-byte root key                                  | unseal key (term 0) |
//! | `core/keyring`     | the keyring JSON (see [`keyring`])                    | root key (term 0)   |
//!
//! | `local/core/keyring-usage` | the keyring's encryption counters ([`keyring`]) | root key (term 0) |
//! | `core/unseal-keys-backup` | PGP-encrypted shares of the last rekey, if asked for ([`rekey`]) | nothing |
//!
//! These keys are the barrier's own: the plaintext API refuses them. A rekey
//! ([`Barrier::rekey`]) rewrites `core/seal-config` and `core/root-key` in one batch. `init` writes the
//! first three in one batch, so a crash leaves a store either uninitialized or fully
//! initialized. The first three are replicated (a secondary unseals with its primary's
//! keys), and `core/keyring` changes only when a term is added; the counters, which each
//! cluster keeps for itself, sit under `local/`, never replicated.
//!
//! Across a restore of the store underneath, the barrier is suspended and resumed with the
//! same root key ([`restore`]).
//!
//! A *follower* barrier (a replication secondary) never writes the replicated keys: it
//! does not rotate, automatically or on request; the primary's rotations arrive with its
//! data and [`Barrier::reload_keyring`] picks them up.
//!
//! Locking: the keyring is an `Arc` swapped under a std `RwLock` that is never held across
//! an `.await`; operations that write `core/keyring` (init, rotate, reload, persisting the
//! counters) are serialized by an async mutex so none can overwrite a newer keyring.

mod aead;
mod keyring;
mod rekey;
mod restore;
mod seal;

use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::SystemTime;

use zeroize::Zeroize;

pub use aead::{HEADER_LEN, KEY_LEN, MIN_LEN, NONCE_LEN, TAG_LEN, TERM_LEN, VERSION_2};
pub use keyring::KEYRING_VERSION;
pub use rekey::{PendingRekey, UNSEAL_KEYS_BACKUP_PATH};
pub use restore::Suspended;
pub use seal::{InitOutput, SealConfig, ShareCollector, UnsealProgress, SEAL_CONFIG_VERSION};

use aead::AeadKey;
use keyring::{Keyring, Term};

use crate::error::{Error, Result};
use crate::physical::{Batch, Change, Physical, Seq};

/// The seal configuration, stored in the clear.
pub const SEAL_CONFIG_PATH: &str = "core/seal-config";
/// The root key, sealed by the unseal key.
pub const ROOT_KEY_PATH: &str = "core/root-key";
/// The keyring, sealed by the root key.
pub const KEYRING_PATH: &str = "core/keyring";
/// The keyring's encryption counters, sealed by the root key; local to the cluster.
pub const KEYRING_USAGE_PATH: &str = "local/core/keyring-usage";
/// Keys only the barrier itself reads and writes, all written by `init` (the rekey backup,
/// [`UNSEAL_KEYS_BACKUP_PATH`], is reserved too but exists only when asked for).
pub const RESERVED_KEYS: [&str; 4] = [
    SEAL_CONFIG_PATH,
    ROOT_KEY_PATH,
    KEYRING_PATH,
    KEYRING_USAGE_PATH,
];

/// Encryptions under one term before it is rotated automatically: Vault's
/// `AbsoluteOperationMaximum`, about 0.9 · 2^32 (the random-nonce GCM bound).
pub const ROTATION_LIMIT: u64 = 3_865_470_566;

/// The term that seals `core/root-key` and `core/keyring` (never a keyring term).
const BOOTSTRAP_TERM: u32 = 0;

/// The active term, as `sys/key-status` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyStatus {
    pub term: u32,
    pub install_time: SystemTime,
    /// Encryptions made under this term so far.
    pub encryptions: u64,
}

impl KeyStatus {
    fn of(term: &Term) -> Self {
        Self {
            term: term.number,
            install_time: term.install_time(),
            encryptions: term.encryptions(),
        }
    }
}

/// True for the keys the barrier keeps for itself.
pub fn is_reserved(key: &str) -> bool {
    RESERVED_KEYS.contains(&key) || key == UNSEAL_KEYS_BACKUP_PATH
}

fn check_not_reserved(key: &str) -> Result<()> {
    if is_reserved(key) {
        return Err(Error::InvalidRequest(format!(
            "{key} is reserved for the barrier"
        )));
    }
    Ok(())
}

/// Which keys a follower barrier may still write itself (the cluster-local ones).
pub type LocalRule = fn(&str) -> bool;

/// The encryption barrier over a [`Physical`] store.
pub struct Barrier {
    physical: Arc<dyn Physical>,
    /// `None` while sealed.
    keyring: RwLock<Option<Arc<Keyring>>>,
    unseal: Mutex<ShareCollector>,
    /// Serializes writers of `core/keyring` (and init).
    admin: tokio::sync::Mutex<()>,
    rotation_limit: u64,
    /// On a follower: the keys it may still write (the cluster-local ones). It never
    /// writes the replicated keyring (see the module docs).
    follower: RwLock<Option<LocalRule>>,
}

impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Barrier")
            .field("sealed", &self.is_sealed())
            .field("rotation_limit", &self.rotation_limit)
            .finish_non_exhaustive()
    }
}

impl Barrier {
    /// A sealed barrier over `physical`.
    pub fn new(physical: Arc<dyn Physical>) -> Self {
        Self {
            physical,
            keyring: RwLock::new(None),
            unseal: Mutex::new(ShareCollector::new()),
            admin: tokio::sync::Mutex::new(()),
            rotation_limit: ROTATION_LIMIT,
            follower: RwLock::new(None),
        }
    }

    /// Makes this barrier a follower whose own writes are limited to the keys `local`
    /// accepts (`None`: a writer again). A follower commits nothing else (a batch with any
    /// other key is refused whole with [`Error::Follower`]), never rotates (automatically
    /// or on request), and so never rewrites the replicated keyring: its replicated keys
    /// are written below the barrier, by replication's applier.
    pub fn set_follower(&self, local: Option<LocalRule>) {
        *self.follower.write().unwrap_or_else(|p| p.into_inner()) = local;
    }

    /// Whether this barrier is a follower.
    pub fn is_follower(&self) -> bool {
        self.follower_rule().is_some()
    }

    fn follower_rule(&self) -> Option<LocalRule> {
        *self.follower.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Rotates automatically once the active term has made `max_encryptions` encryptions
    /// (default [`ROTATION_LIMIT`]; at least 1).
    pub fn with_rotation_limit(mut self, max_encryptions: u64) -> Self {
        self.rotation_limit = max_encryptions.max(1);
        self
    }

    /// The store below (ciphertext only).
    pub fn physical(&self) -> &Arc<dyn Physical> {
        &self.physical
    }

    // ---- state ----------------------------------------------------------------------

    fn current(&self) -> Option<Arc<Keyring>> {
        self.keyring
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn unsealed(&self) -> Result<Arc<Keyring>> {
        self.current().ok_or(Error::Sealed)
    }

    /// Replaces `old` by `new` if `old` is still the installed keyring.
    fn swap(&self, old: &Arc<Keyring>, new: Arc<Keyring>) -> bool {
        let mut slot = self.keyring.write().unwrap_or_else(|p| p.into_inner());
        match slot.as_ref() {
            Some(cur) if Arc::ptr_eq(cur, old) => {
                *slot = Some(new);
                true
            }
            _ => false,
        }
    }

    fn collector(&self) -> MutexGuard<'_, ShareCollector> {
        self.unseal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True when no key material is in memory.
    pub fn is_sealed(&self) -> bool {
        self.keyring
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }

    // ---- init / unseal / seal ---------------------------------------------------------

    /// The seal configuration, `None` before `init`.
    pub async fn seal_config(&self) -> Result<Option<SealConfig>> {
        match self.physical.get(SEAL_CONFIG_PATH).await? {
            Some(bytes) => SealConfig::decode(&bytes).map(Some),
            None => Ok(None),
        }
    }

    pub async fn is_initialized(&self) -> Result<bool> {
        Ok(self.seal_config().await?.is_some())
    }

    /// Creates the unseal key, root key and keyring (term 1), writes them in one batch and
    /// returns the unseal key shares. The barrier stays sealed.
    pub async fn init(&self, shares: usize, threshold: usize) -> Result<InitOutput> {
        let config = SealConfig::new(shares, threshold)?;
        let _admin = self.admin.lock().await;
        if self.seal_config().await?.is_some() {
            return Err(Error::AlreadyInitialized);
        }
        let unseal_key = AeadKey::generate();
        let root = Arc::new(AeadKey::generate());
        let keyring = Keyring::new(Arc::clone(&root));
        let keyring_json = keyring.encode()?;
        let (usage, _) = Self::sealed_usage(&keyring)?;
        let batch = Batch::new()
            .put(SEAL_CONFIG_PATH, config.encode()?)
            .put(
                ROOT_KEY_PATH,
                unseal_key.seal(BOOTSTRAP_TERM, ROOT_KEY_PATH, root.bytes())?,
            )
            .put(
                KEYRING_PATH,
                root.seal(BOOTSTRAP_TERM, KEYRING_PATH, &keyring_json)?,
            )
            .put(KEYRING_USAGE_PATH, usage);
        // Split before committing: an initialized store nobody holds shares for is lost.
        let shares = config.split(unseal_key.bytes())?;
        self.physical.commit(batch).await?;
        tracing::info!(
            shares = config.secret_shares,
            threshold = config.secret_threshold,
            "barrier initialized"
        );
        Ok(InitOutput { shares, config })
    }

    fn progress(&self, config: Option<&SealConfig>) -> UnsealProgress {
        let sealed = self.is_sealed();
        let collector = self.collector();
        let (progress, nonce) = if sealed {
            (collector.progress(), collector.nonce().to_owned())
        } else {
            (0, String::new())
        };
        UnsealProgress {
            sealed,
            threshold: config.map_or(0, |c| c.secret_threshold),
            shares: config.map_or(0, |c| c.secret_shares),
            progress,
            nonce,
        }
    }

    /// Where the current unseal attempt stands (seal-status). Threshold and shares are 0
    /// before `init`.
    pub async fn unseal_progress(&self) -> Result<UnsealProgress> {
        let config = self.seal_config().await?;
        Ok(self.progress(config.as_ref()))
    }

    /// Gives one unseal share. Below the threshold the share is kept and the progress
    /// returned; at the threshold the shares are combined and the root key opened.
    ///
    /// Errors: [`Error::NotInitialized`]; [`Error::InvalidRequest`] for a share of the
    /// wrong length and [`Error::DuplicateShare`] for one already given (both keep the
    /// progress); [`Error::InvalidUnsealKey`] when the combined key does not open the root
    /// key (the attempt is over, progress 0). Already unsealed: the status, share ignored.
    pub async fn unseal(&self, share: &[u8]) -> Result<UnsealProgress> {
        let config = self.seal_config().await?.ok_or(Error::NotInitialized)?;
        if !self.is_sealed() {
            return Ok(self.progress(Some(&config)));
        }
        let unseal_key = {
            let mut collector = self.collector();
            match collector.add(&config, share)? {
                Some(key) => key,
                None => {
                    drop(collector);
                    return Ok(self.progress(Some(&config)));
                }
            }
        };
        let root = self.open_root_key(&unseal_key).await?;
        let keyring = Arc::new(self.load_keyring(root, None).await?);
        {
            let mut slot = self.keyring.write().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                *slot = Some(keyring);
            }
        }
        tracing::info!("barrier unsealed");
        Ok(self.progress(Some(&config)))
    }

    /// Unseals with the root key itself: a replication secondary, handed its primary's
    /// root key at activation, opens the replicated keyring with it (later unseals use the
    /// primary's unseal keys, as `core/root-key` replicates too). Already unsealed:
    /// nothing changes. [`Error::InvalidUnsealKey`] when the key does not open the keyring.
    pub async fn unseal_with_root_key(&self, root_key: &[u8]) -> Result<()> {
        if !self.is_sealed() {
            return Ok(());
        }
        let root = AeadKey::from_slice(root_key)
            .map(Arc::new)
            .ok_or(Error::InvalidUnsealKey)?;
        let keyring = match self.load_keyring(root, None).await {
            Err(Error::Integrity { .. }) => return Err(Error::InvalidUnsealKey),
            other => Arc::new(other?),
        };
        let mut slot = self.keyring.write().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(keyring);
        }
        tracing::info!("barrier unsealed with the root key");
        Ok(())
    }

    /// The root key (unsealed only): what a replication primary hands an activated
    /// secondary over the mutual-TLS cluster channel, so it can open the replicated
    /// keyring. Never logged, never stored in the clear.
    pub fn root_key(&self) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let ring = self.unsealed()?;
        Ok(zeroize::Zeroizing::new(ring.root().bytes().to_vec()))
    }

    /// Abandons the current unseal attempt.
    pub fn unseal_reset(&self) {
        self.collector().reset();
    }

    /// Checks a combined unseal key against `core/root-key` without changing any state:
    /// `Ok` when it opens the root key, [`Error::InvalidUnsealKey`] when it does not.
    pub async fn verify_unseal_key(&self, unseal_key: &[u8]) -> Result<()> {
        if self.seal_config().await?.is_none() {
            return Err(Error::NotInitialized);
        }
        self.open_root_key(unseal_key).await.map(drop)
    }

    /// Drops all key material and ends any unseal attempt; later reads and writes fail
    /// with [`Error::Sealed`]. The encryption counters are saved first (best effort).
    pub async fn seal(&self) {
        self.unseal_reset();
        // Never wait for a rotation or reload in flight: sealing must not be held up.
        match self.admin.try_lock() {
            Ok(_admin) => {
                if let Err(e) = self.persist_counts().await {
                    tracing::warn!(error = %e, "could not save keyring encryption counts before sealing");
                }
            }
            Err(_) => tracing::debug!("keyring busy; encryption counts not saved before sealing"),
        }
        let dropped = self
            .keyring
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        // The keys are wiped when the last holder lets go (normally right here).
        drop(dropped);
        tracing::info!("barrier sealed");
    }

    async fn open_root_key(&self, unseal_key: &[u8]) -> Result<Arc<AeadKey>> {
        let unseal = AeadKey::from_slice(unseal_key).ok_or(Error::InvalidUnsealKey)?;
        let stored = self
            .physical
            .get(ROOT_KEY_PATH)
            .await?
            .ok_or_else(|| Error::corrupt("root key", "missing"))?;
        let frame = aead::parse(ROOT_KEY_PATH, &stored)?;
        if frame.term != BOOTSTRAP_TERM {
            return Err(Error::Integrity {
                key: ROOT_KEY_PATH.to_owned(),
            });
        }
        let root = unseal
            .open(ROOT_KEY_PATH, &frame)
            .ok_or(Error::InvalidUnsealKey)?;
        AeadKey::from_slice(&root)
            .map(Arc::new)
            .ok_or_else(|| Error::corrupt("root key", "not 32 bytes"))
    }

    async fn load_keyring(
        &self,
        root: Arc<AeadKey>,
        previous: Option<&Keyring>,
    ) -> Result<Keyring> {
        let stored = self
            .physical
            .get(KEYRING_PATH)
            .await?
            .ok_or_else(|| Error::corrupt("keyring", "missing"))?;
        let integrity = || Error::Integrity {
            key: KEYRING_PATH.to_owned(),
        };
        let frame = aead::parse(KEYRING_PATH, &stored)?;
        if frame.term != BOOTSTRAP_TERM {
            return Err(integrity());
        }
        let plain = root.open(KEYRING_PATH, &frame).ok_or_else(integrity)?;
        let ring = Keyring::decode(&plain, Arc::clone(&root), previous)?;
        if let Some(stored) = self.physical.get(KEYRING_USAGE_PATH).await? {
            let frame = aead::parse(KEYRING_USAGE_PATH, &stored)?;
            let usage = root
                .open(KEYRING_USAGE_PATH, &frame)
                .filter(|_| frame.term == BOOTSTRAP_TERM)
                .ok_or_else(|| Error::Integrity {
                    key: KEYRING_USAGE_PATH.to_owned(),
                })?;
            ring.apply_usage(&usage)?;
        }
        Ok(ring)
    }

    /// The usage document of `ring`, sealed for [`KEYRING_USAGE_PATH`], and the counts it
    /// records.
    fn sealed_usage(ring: &Keyring) -> Result<(Vec<u8>, keyring::RecordedCounts)> {
        let (json, counts) = ring.encode_usage()?;
        let sealed = ring
            .root()
            .seal(BOOTSTRAP_TERM, KEYRING_USAGE_PATH, &json)?;
        Ok((sealed, counts))
    }

    fn mark_persisted(counts: keyring::RecordedCounts) {
        for (term, count) in counts {
            term.persisted
                .fetch_max(count, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Writes `ring` to `core/keyring`, and its counters beside it, in one commit. Hold
    /// `admin`.
    async fn write_keyring(&self, ring: &Keyring) -> Result<Seq> {
        let json = ring.encode()?;
        let sealed = ring.root().seal(BOOTSTRAP_TERM, KEYRING_PATH, &json)?;
        let (usage, counts) = Self::sealed_usage(ring)?;
        let seq = self
            .physical
            .commit(
                Batch::new()
                    .put(KEYRING_PATH, sealed)
                    .put(KEYRING_USAGE_PATH, usage),
            )
            .await?;
        Self::mark_persisted(counts);
        Ok(seq)
    }

    /// Saves the counters if they moved (to the local usage key: the keyring itself is
    /// never rewritten for them). Hold `admin`.
    async fn persist_counts(&self) -> Result<()> {
        let Some(ring) = self.current() else {
            return Ok(());
        };
        if !ring.terms().any(|t| t.is_dirty()) {
            return Ok(());
        }
        let (usage, counts) = Self::sealed_usage(&ring)?;
        self.physical.put(KEYRING_USAGE_PATH, usage).await?;
        Self::mark_persisted(counts);
        Ok(())
    }

    // ---- keyring ----------------------------------------------------------------------

    /// Installs a new term (the next number) for all new writes; old terms keep
    /// decrypting. The keyring is persisted before the new term is used.
    pub async fn rotate(&self) -> Result<KeyStatus> {
        self.rotate_if(|_| true).await
    }

    async fn rotate_if(&self, needed: impl Fn(&Term) -> bool) -> Result<KeyStatus> {
        let _admin = self.admin.lock().await;
        let old = self.unsealed()?;
        if self.is_follower() {
            return Err(Error::Follower(KEYRING_PATH.to_owned()));
        }
        if !needed(old.active()) {
            return Ok(KeyStatus::of(old.active()));
        }
        let new = old.with_new_term()?;
        self.write_keyring(&new).await?;
        let status = KeyStatus::of(new.active());
        if self.swap(&old, Arc::new(new)) {
            tracing::info!(term = status.term, "barrier key rotated");
            Ok(status)
        } else {
            // Sealed (or sealed and unsealed) meanwhile; the new term is stored anyway.
            self.key_status()
        }
    }

    fn rotation_due(&self, ring: &Keyring) -> bool {
        ring.active().encryptions() >= self.rotation_limit && !self.is_follower()
    }

    /// Rotates if the active term has reached the rotation limit.
    async fn auto_rotate(&self) -> Result<()> {
        let limit = self.rotation_limit;
        self.rotate_if(|t| t.encryptions() >= limit).await.map(drop)
    }

    /// The active term.
    pub fn key_status(&self) -> Result<KeyStatus> {
        Ok(KeyStatus::of(self.unsealed()?.active()))
    }

    /// Re-reads `core/keyring` (after replication changed it underneath). Counters of
    /// terms already held keep running.
    pub async fn reload_keyring(&self) -> Result<()> {
        let _admin = self.admin.lock().await;
        let old = self.unsealed()?;
        let new = self
            .load_keyring(Arc::clone(old.root()), Some(&old))
            .await?;
        if self.swap(&old, Arc::new(new)) {
            Ok(())
        } else {
            Err(Error::Sealed)
        }
    }

    // ---- plaintext API ------------------------------------------------------------------

    fn seal_with(ring: &Keyring, key: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        let term = ring.active();
        let sealed = term.key.seal(term.number, key, plaintext)?;
        term.encryptions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(sealed)
    }

    fn open_with(ring: &Keyring, key: &str, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let frame = aead::parse(key, ciphertext)?;
        let term = ring.term(frame.term).ok_or_else(|| Error::UnknownTerm {
            key: key.to_owned(),
            term: frame.term,
        })?;
        let mut plain = term.key.open(key, &frame).ok_or_else(|| Error::Integrity {
            key: key.to_owned(),
        })?;
        Ok(std::mem::take(&mut *plain))
    }

    /// Seals `plaintext` for storage at `key` under the active term. (Automatic rotation
    /// happens on [`Barrier::commit`]; this only counts the encryption.)
    pub fn encrypt(&self, key: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        let ring = self.unsealed()?;
        check_not_reserved(key)?;
        Self::seal_with(&ring, key, plaintext)
    }

    /// Opens a value stored at `key`: [`Error::Integrity`] unless it is an authentic
    /// ciphertext for exactly this key, [`Error::UnknownTerm`] for a term not held.
    pub fn decrypt(&self, key: &str, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let ring = self.unsealed()?;
        check_not_reserved(key)?;
        Self::open_with(&ring, key, ciphertext)
    }

    /// The plaintext at `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.unsealed()?;
        check_not_reserved(key)?;
        let Some(ciphertext) = self.physical.get(key).await? else {
            return Ok(None);
        };
        // Re-checked: a seal during the read wins.
        let ring = self.unsealed()?;
        Self::open_with(&ring, key, &ciphertext).map(Some)
    }

    /// Whether `key` holds a value, without opening it: for existence checks, which need
    /// no plaintext (a reader of the value still authenticates it).
    pub async fn contains(&self, key: &str) -> Result<bool> {
        self.unsealed()?;
        check_not_reserved(key)?;
        Ok(self.physical.get(key).await?.is_some())
    }

    /// The direct children of `prefix` (Vault list semantics), without the reserved keys.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.unsealed()?;
        let mut entries = self.physical.list(prefix).await?;
        entries.retain(|child| !is_reserved(&format!("{prefix}{child}")));
        Ok(entries)
    }

    pub async fn put(&self, key: &str, value: &[u8]) -> Result<Seq> {
        self.commit(Batch::new().put(key, value)).await
    }

    pub async fn delete(&self, key: &str) -> Result<Seq> {
        self.commit(Batch::new().delete(key)).await
    }

    /// Commits a batch of plaintext changes atomically: every value is sealed under the
    /// active term with its own key as AAD. The plaintext buffers are wiped.
    pub async fn commit(&self, batch: Batch) -> Result<Seq> {
        let mut ring = self.unsealed()?;
        batch.validate()?;
        let writable = self.follower_rule();
        for change in &batch.changes {
            check_not_reserved(&change.key)?;
            if writable.is_some_and(|local| !local(&change.key)) {
                return Err(Error::Follower(change.key.clone()));
            }
        }
        if self.rotation_due(&ring) {
            self.auto_rotate().await?;
            ring = self.unsealed()?;
        }
        let mut sealed = Batch {
            changes: Vec::with_capacity(batch.changes.len()),
        };
        for change in batch.changes {
            let value = match change.value {
                Some(mut plaintext) => {
                    let result = Self::seal_with(&ring, &change.key, &plaintext);
                    plaintext.zeroize();
                    Some(result?)
                }
                None => None,
            };
            sealed.changes.push(Change {
                key: change.key,
                value,
            });
        }
        // Once handed to storage, a batch commits and everything the layers below do
        // after it (the change feed's publish, the cache's update) runs to completion, even
        // when the caller is dropped halfway (its client went away).
        let physical = Arc::clone(&self.physical);
        let seq = tokio::spawn(async move { physical.commit(sealed).await })
            .await
            .map_err(|e| Error::io("committing", std::io::Error::other(e.to_string())))??;
        if self.rotation_due(&ring) {
            // The write is done; a failed rotation is retried before the next one.
            if let Err(e) = self.auto_rotate().await {
                tracing::warn!(error = %e, "automatic key rotation failed");
            }
        }
        Ok(seq)
    }
}
