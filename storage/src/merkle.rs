//! The Merkle index: bucketed hashes of `(key, SHA-256(ciphertext))` for the keys a filter
//! accepts, so two clusters can find the keys on which they differ by exchanging a few
//! hashes instead of the whole tree.
//!
//! # Structure
//!
//! - Every accepted key falls into one of [`BUCKETS`] buckets, chosen by
//!   [`MerkleIndex::bucket_of`]: the first two bytes of SHA-256(key), big-endian, modulo
//!   [`BUCKETS`] (4096 divides 65536, so the spread is uniform).
//! - A bucket holds its `(key, value hash)` pairs sorted by key, where the value hash is
//!   [`value_hash`] = SHA-256 of the stored ciphertext. Plaintext never reaches the index.
//! - A bucket's hash ([`hash_bucket`]) is SHA-256 over a domain tag, the pair count, then for
//!   each pair in key order: the key's length (u64, little endian), the key's bytes and the
//!   32-byte value hash. The length prefix makes the framing unambiguous: `("ab", h1), ("c",
//!   h2)` can never hash like `("a", ..), ("bc", ..)`. An empty bucket therefore has a fixed,
//!   well-defined hash (tag plus a zero count), see [`empty_bucket_hash`].
//! - The root hash is SHA-256 over another domain tag, the bucket count and all bucket
//!   hashes in bucket order.
//!
//! Bucket hashes and the root are cached. A change only marks its bucket dirty; the next
//! [`MerkleIndex::root`] or [`MerkleIndex::bucket_hashes`] rehashes the dirty buckets (cost:
//! their sizes) and then the root (4096 hashes), never the whole key set. That is why those
//! two methods take `&mut self`: the caching is plain state, not interior mutability, so an
//! index shared between tasks lives behind a lock and refreshing takes the write side.
//! [`MerkleIndex::cached_root`] answers from `&self` when nothing is pending (status pages).
//!
//! # How replication uses it
//!
//! The primary keeps an index over its replicated keys, built once with
//! [`MerkleIndex::rebuild`] (a walk of the tree) and then kept current by
//! [`MerkleIndex::apply_in`] on every batch of the change feed; its position is
//! `(log id, seq)` like the feed's, so batches of another log (after a wipe or restore)
//! are refused rather than applied; the secondary does the same over
//! its own storage. When a secondary asks for a sequence number the primary's log no longer
//! holds, the two run a diff:
//!
//! 1. the secondary fetches the primary's [`MerkleIndex::bucket_hashes`] and compares them
//!    with its own with [`diff_buckets`] (usually few buckets differ);
//! 2. for each differing bucket it fetches the primary's key list ([`MerkleIndex::bucket`])
//!    and compares it with its own with [`diff_keys`];
//! 3. it fetches the keys that differ (or deletes those the primary no longer has), then
//!    returns to streaming. Transferred bytes grow with the difference, not with the tree.
//!
//! Input that came from the network (bucket hash lists, key lists) is untrusted: the diff
//! functions validate lengths and tolerate unsorted or duplicated entries, and never panic.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result, ResyncReason};
use crate::physical::{Committed, Physical, Seq};
use crate::position::{LogId, Position};

/// Number of buckets in every index; both sides of a diff must agree on it.
pub const BUCKETS: usize = 4096;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// Decides which keys the index covers (replication passes "replicated keys only").
pub type KeyFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

const BUCKET_DOMAIN: &[u8] = b"vaultrs/merkle/bucket/v1\0";
const ROOT_DOMAIN: &[u8] = b"vaultrs/merkle/root/v1\0";

/// What [`Physical::get_many`] answers.
type Values = Vec<Option<Vec<u8>>>;

/// Keys [`MerkleIndex::rebuild`] reads and hashes at a time.
pub const REBUILD_CHUNK: usize = 1024;

/// The hash the index records for a stored value: SHA-256 of its ciphertext.
pub fn value_hash(ciphertext: &[u8]) -> Hash {
    Sha256::digest(ciphertext).into()
}

fn hash_pairs<'a>(count: usize, pairs: impl Iterator<Item = (&'a str, &'a Hash)>) -> Hash {
    let mut h = Sha256::new();
    h.update(BUCKET_DOMAIN);
    h.update((count as u64).to_le_bytes());
    for (key, value) in pairs {
        h.update((key.len() as u64).to_le_bytes());
        h.update(key.as_bytes());
        h.update(value);
    }
    h.finalize().into()
}

/// The hash of a bucket holding exactly `pairs`, in the order given.
///
/// [`MerkleIndex::bucket`] returns pairs sorted by key without duplicates; hashing such a
/// list reproduces the index's bucket hash, so a secondary can check a key list it fetched
/// against the bucket hash it fetched before (an unsorted or tampered list will not match).
pub fn hash_bucket(pairs: &[(String, Hash)]) -> Hash {
    hash_pairs(pairs.len(), pairs.iter().map(|(k, v)| (k.as_str(), v)))
}

/// The fixed hash of a bucket with no keys.
pub fn empty_bucket_hash() -> Hash {
    static EMPTY: OnceLock<Hash> = OnceLock::new();
    *EMPTY.get_or_init(|| hash_pairs(0, std::iter::empty()))
}

fn hash_root(bucket_hashes: &[Hash]) -> Hash {
    let mut h = Sha256::new();
    h.update(ROOT_DOMAIN);
    h.update((bucket_hashes.len() as u64).to_le_bytes());
    for bucket in bucket_hashes {
        h.update(bucket);
    }
    h.finalize().into()
}

/// The buckets whose hashes differ between `ours` and `theirs`.
///
/// Both lists must hold exactly [`BUCKETS`] hashes (they may come from the network);
/// anything else is [`Error::InvalidRequest`]. Returns the differing bucket indexes,
/// ascending.
pub fn diff_buckets(ours: &[Hash], theirs: &[Hash]) -> Result<Vec<usize>> {
    if ours.len() != BUCKETS || theirs.len() != BUCKETS {
        return Err(Error::InvalidRequest(format!(
            "merkle bucket hash lists must have {BUCKETS} entries (got {} and {})",
            ours.len(),
            theirs.len()
        )));
    }
    Ok(ours
        .iter()
        .zip(theirs)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, _)| i)
        .collect())
}

/// The keys on which two key lists differ: present on one side only, or with different
/// value hashes. Sorted, without duplicates.
///
/// Inputs may be unsorted and untrusted. A key listed twice with the same hash counts once;
/// a key listed twice with different hashes on the same side is contradictory and is always
/// reported, so the caller re-fetches it and converges.
pub fn diff_keys(ours: &[(String, Hash)], theirs: &[(String, Hash)]) -> Vec<String> {
    // `None` marks a key listed with conflicting hashes.
    fn collapse(list: &[(String, Hash)]) -> BTreeMap<&str, Option<&Hash>> {
        let mut map: BTreeMap<&str, Option<&Hash>> = BTreeMap::new();
        for (key, hash) in list {
            map.entry(key.as_str())
                .and_modify(|seen| {
                    if *seen != Some(hash) {
                        *seen = None;
                    }
                })
                .or_insert(Some(hash));
        }
        map
    }
    let ours = collapse(ours);
    let theirs = collapse(theirs);
    let mut out: BTreeSet<&str> = BTreeSet::new();
    for (key, hash) in &ours {
        match (hash, theirs.get(key)) {
            (Some(a), Some(Some(b))) if a == b => {}
            _ => {
                out.insert(key);
            }
        }
    }
    out.extend(theirs.keys().filter(|k| !ours.contains_key(*k)));
    out.into_iter().map(str::to_owned).collect()
}

/// Bucketed `(key, SHA-256(ciphertext))` hashes over the keys a [`KeyFilter`] accepts.
///
/// See the [module docs](self) for the hash layout and how replication diffs two indexes.
#[derive(Clone)]
pub struct MerkleIndex {
    filter: KeyFilter,
    /// `BUCKETS` maps of key to value hash.
    buckets: Vec<BTreeMap<String, Hash>>,
    /// Cached bucket hashes; stale for buckets flagged in `dirty`.
    hashes: Vec<Hash>,
    dirty: Vec<bool>,
    /// The buckets flagged in `dirty`, each once.
    dirty_list: Vec<usize>,
    /// Cached root; `None` while any bucket is dirty or before the first computation.
    root: Option<Hash>,
    len: usize,
    /// The log the index follows (`None` until it knows one).
    log_id: Option<LogId>,
    applied_seq: Seq,
}

impl fmt::Debug for MerkleIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerkleIndex")
            .field("len", &self.len)
            .field("log_id", &self.log_id)
            .field("applied_seq", &self.applied_seq)
            .field("dirty_buckets", &self.dirty_list.len())
            .field("root", &self.cached_root().map(hex::encode))
            .finish()
    }
}

impl MerkleIndex {
    /// An empty index over the keys `filter` accepts, at sequence 0.
    pub fn new(filter: KeyFilter) -> Self {
        Self {
            filter,
            buckets: vec![BTreeMap::new(); BUCKETS],
            hashes: vec![empty_bucket_hash(); BUCKETS],
            dirty: vec![false; BUCKETS],
            dirty_list: Vec::new(),
            root: None,
            len: 0,
            log_id: None,
            applied_seq: 0,
        }
    }

    /// Builds the index from every key of `physical` that `filter` accepts.
    ///
    /// The position is read *before* the walk, so a batch committed during the walk is
    /// (re)delivered by the change feed with a higher sequence and [`apply`](Self::apply)
    /// brings its keys to their final state. A key that vanishes between `keys()` and the
    /// read is skipped (its delete is such a batch).
    ///
    /// Cost: one listing of the keys, then the values in chunks of [`REBUILD_CHUNK`] with
    /// [`Physical::get_many`] (the file backend reads a chunk in one blocking call); the
    /// next chunk is read while the current one is hashed.
    pub async fn rebuild(physical: &dyn Physical, filter: KeyFilter) -> Result<Self> {
        let position = physical.position();
        let mut keys = physical.keys().await?;
        keys.retain(|k| filter(k));
        let mut index = Self::new(filter);
        // The chunk read last, hashed while the next one is read.
        let mut read: Option<(&[String], Values)> = None;
        for chunk in keys.chunks(REBUILD_CHUNK) {
            let values = match read.take() {
                None => physical.get_many(chunk).await?,
                Some((keys, values)) => {
                    let hash = async { index.insert_all(keys, values) };
                    tokio::join!(physical.get_many(chunk), hash).0?
                }
            };
            read = Some((chunk, values));
        }
        if let Some((keys, values)) = read {
            index.insert_all(keys, values);
        }
        index.log_id = Some(position.log_id);
        index.applied_seq = position.seq;
        Ok(index)
    }

    fn insert_all(&mut self, keys: &[String], values: Values) {
        for (key, value) in keys.iter().zip(values) {
            if let Some(value) = value {
                self.insert(key, &value);
            }
        }
    }

    /// Whether the filter lets `key` into the index.
    pub fn accepts(&self, key: &str) -> bool {
        (self.filter)(key)
    }

    /// The bucket `key` belongs to: the first two bytes of SHA-256(key), big-endian, modulo
    /// [`BUCKETS`].
    pub fn bucket_of(key: &str) -> usize {
        let digest = Sha256::digest(key.as_bytes());
        usize::from(u16::from_be_bytes([digest[0], digest[1]])) % BUCKETS
    }

    /// Records that `key` now holds `ciphertext`. A no-op for keys the filter rejects.
    pub fn insert(&mut self, key: &str, ciphertext: &[u8]) {
        if !self.accepts(key) {
            return;
        }
        let hash = value_hash(ciphertext);
        let b = Self::bucket_of(key);
        match self.buckets[b].insert(key.to_owned(), hash) {
            Some(old) if old == hash => return,
            Some(_) => {}
            None => self.len += 1,
        }
        self.mark_dirty(b);
    }

    /// Records that `key` is gone. A no-op for keys the filter rejects or the index lacks.
    pub fn remove(&mut self, key: &str) {
        if !self.accepts(key) {
            return;
        }
        let b = Self::bucket_of(key);
        if self.buckets[b].remove(key).is_some() {
            self.len -= 1;
            self.mark_dirty(b);
        }
    }

    /// Applies a committed batch from the change feed, its changes in order (`Some` = put,
    /// `None` = delete), and records its sequence number.
    ///
    /// A batch whose sequence is not above [`applied_seq`](Self::applied_seq) was already
    /// applied (re-delivery) and is ignored. Gaps are accepted: a filtered stream skips
    /// batches that touched no accepted key. Returns whether the batch was applied.
    pub fn apply(&mut self, batch: &Committed) -> bool {
        if batch.seq <= self.applied_seq {
            return false;
        }
        for change in batch.changes.iter() {
            match &change.value {
                Some(value) => self.insert(&change.key, value),
                None => self.remove(&change.key),
            }
        }
        self.applied_seq = batch.seq;
        true
    }

    /// Like [`apply`](Self::apply), for a batch of log `log_id` (a subscription's
    /// [`log_id`](crate::Subscription::log_id)): an index that follows another log refuses it
    /// with [`Error::Resync`] (rebuild it, or diff and [`set_position`](Self::set_position));
    /// an index that follows no log yet adopts this one.
    pub fn apply_in(&mut self, log_id: LogId, batch: &Committed) -> Result<bool> {
        match self.log_id {
            Some(current) if current != log_id => Err(Error::resync(ResyncReason::OtherLog {
                asked: log_id,
                current,
            })),
            _ => {
                self.log_id = Some(log_id);
                Ok(self.apply(batch))
            }
        }
    }

    /// The sequence number of the last batch applied (or the physical's `last_seq()` at
    /// [`rebuild`](Self::rebuild), 0 for [`new`](Self::new)).
    pub fn applied_seq(&self) -> Seq {
        self.applied_seq
    }

    /// The log the index follows and the last sequence applied; `None` for an index that
    /// follows no log yet ([`new`](Self::new)).
    pub fn position(&self) -> Option<Position> {
        self.log_id.map(|id| Position::new(id, self.applied_seq))
    }

    /// Sets the position, for a caller that changed the index by
    /// [`insert`](Self::insert)/[`remove`](Self::remove) (a Merkle sync) up to `position`,
    /// or moved it to a new log (after a wipe or restore): later batches are compared
    /// against it. Within the same log a sequence never goes backwards:
    /// [`Error::InvalidRequest`].
    pub fn set_position(&mut self, position: Position) -> Result<()> {
        if self.log_id == Some(position.log_id) && position.seq < self.applied_seq {
            return Err(Error::InvalidRequest(format!(
                "merkle index position would go back from {} to {} in log {}",
                self.applied_seq, position.seq, position.log_id
            )));
        }
        self.log_id = Some(position.log_id);
        self.applied_seq = position.seq;
        Ok(())
    }

    /// The root hash, rehashing dirty buckets first.
    pub fn root(&mut self) -> Hash {
        self.refresh();
        match self.root {
            Some(root) => root,
            None => {
                let root = hash_root(&self.hashes);
                self.root = Some(root);
                root
            }
        }
    }

    /// The root hash if it is up to date (no change since the last [`root`](Self::root)
    /// or [`bucket_hashes`](Self::bucket_hashes)), without recomputing anything.
    pub fn cached_root(&self) -> Option<Hash> {
        if self.dirty_list.is_empty() {
            self.root
        } else {
            None
        }
    }

    /// All [`BUCKETS`] bucket hashes in bucket order, rehashing dirty buckets first.
    pub fn bucket_hashes(&mut self) -> Vec<Hash> {
        self.refresh();
        self.hashes.clone()
    }

    /// The `(key, value hash)` pairs of bucket `i`, sorted by key. An index at or above
    /// [`BUCKETS`] (possible from a network request) holds no keys and yields an empty list.
    pub fn bucket(&self, i: usize) -> Vec<(String, Hash)> {
        self.buckets
            .get(i)
            .map(|b| b.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }

    /// The value hash recorded for `key`, if the index holds it.
    pub fn get(&self, key: &str) -> Option<Hash> {
        self.buckets[Self::bucket_of(key)].get(key).copied()
    }

    /// Number of keys in the index.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn mark_dirty(&mut self, b: usize) {
        if !self.dirty[b] {
            self.dirty[b] = true;
            self.dirty_list.push(b);
        }
        self.root = None;
    }

    /// Rehashes the dirty buckets; leaves the root to be recomputed if any were dirty.
    fn refresh(&mut self) {
        for b in std::mem::take(&mut self.dirty_list) {
            let bucket = &self.buckets[b];
            self.hashes[b] = hash_pairs(bucket.len(), bucket.iter().map(|(k, v)| (k.as_str(), v)));
            self.dirty[b] = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> KeyFilter {
        Arc::new(|_: &str| true)
    }

    #[test]
    fn merkle_empty_index_has_fixed_hashes() {
        let mut a = MerkleIndex::new(all());
        let mut b = MerkleIndex::new(Arc::new(|k: &str| k.starts_with("x")));
        assert!(a.is_empty());
        assert_eq!(a.len(), 0);
        let hashes = a.bucket_hashes();
        assert_eq!(hashes.len(), BUCKETS);
        assert!(hashes.iter().all(|h| *h == empty_bucket_hash()));
        assert_ne!(empty_bucket_hash(), [0u8; 32]);
        assert_eq!(empty_bucket_hash(), hash_bucket(&[]));
        assert_eq!(a.root(), b.root());
        assert_eq!(a.root(), hash_root(&vec![empty_bucket_hash(); BUCKETS]));
    }

    #[test]
    fn merkle_bucket_of_is_sha256_prefix() {
        for key in ["a", "secret/foo", "sys/policy/default", "ü/ñ"] {
            let d = Sha256::digest(key.as_bytes());
            let expect = (usize::from(d[0]) << 8 | usize::from(d[1])) % BUCKETS;
            assert_eq!(MerkleIndex::bucket_of(key), expect);
            assert!(MerkleIndex::bucket_of(key) < BUCKETS);
        }
        // Spread: 20k keys touch most of the 4096 buckets.
        let used: BTreeSet<usize> = (0..20_000)
            .map(|i| MerkleIndex::bucket_of(&format!("k/{i}")))
            .collect();
        assert!(used.len() > 4000, "only {} buckets used", used.len());
    }

    #[test]
    fn merkle_framing_is_length_prefixed() {
        let h1 = [b'x'; 32];
        let h2 = [7u8; 32];
        let mut h1_shift = [b'x'; 32];
        h1_shift[0] = b'b';
        let left = vec![("ab".to_owned(), h1), ("c".to_owned(), h2)];
        let right = vec![("a".to_owned(), h1_shift), ("xc".to_owned(), h2)];
        // Naive concatenation cannot tell them apart ...
        let concat = |pairs: &[(String, Hash)]| -> Vec<u8> {
            pairs
                .iter()
                .flat_map(|(k, v)| k.bytes().chain(v.iter().copied()))
                .collect()
        };
        assert_eq!(concat(&left), concat(&right));
        // ... the framed bucket hash does.
        assert_ne!(hash_bucket(&left), hash_bucket(&right));
        // Single pairs whose key/hash boundary shifts.
        assert_ne!(
            hash_bucket(&[("ab".to_owned(), h1)]),
            hash_bucket(&[("a".to_owned(), h1)])
        );
    }

    #[test]
    fn merkle_only_dirty_buckets_are_rehashed() {
        let mut idx = MerkleIndex::new(all());
        let empty_root = idx.root();
        idx.insert("secret/a", b"one");
        idx.insert("secret/b", b"two");
        let b_a = MerkleIndex::bucket_of("secret/a");
        let b_b = MerkleIndex::bucket_of("secret/b");
        let mut expect: Vec<usize> = vec![b_a, b_b];
        expect.dedup();
        assert_eq!(idx.dirty_list, expect);
        assert_eq!(idx.cached_root(), None);
        let root = idx.root();
        assert_ne!(root, empty_root);
        assert!(idx.dirty_list.is_empty());
        assert_eq!(idx.cached_root(), Some(root));
        assert_eq!(
            idx.hashes[b_a],
            hash_bucket(&idx.bucket(b_a)),
            "cached bucket hash is the hash of the bucket's sorted pairs"
        );

        // Same value again: nothing dirty, root unchanged.
        idx.insert("secret/a", b"one");
        assert!(idx.dirty_list.is_empty());
        assert_eq!(idx.cached_root(), Some(root));
        // Removing an absent key changes nothing either.
        idx.remove("secret/zzz");
        assert!(idx.dirty_list.is_empty());

        // Changing a value dirties exactly its bucket.
        idx.insert("secret/a", b"uno");
        assert_eq!(idx.dirty_list, vec![b_a]);
        assert_ne!(idx.root(), root);
        idx.insert("secret/a", b"one");
        assert_eq!(idx.root(), root);

        idx.remove("secret/a");
        idx.remove("secret/b");
        assert_eq!(idx.len(), 0);
        assert_eq!(idx.root(), empty_root);
    }

    #[test]
    fn merkle_apply_tracks_seq_and_ignores_stale() {
        use crate::physical::Change;
        let mut idx = MerkleIndex::new(all());
        let put = |seq, key: &str, v: &[u8]| Committed {
            seq,
            changes: Arc::from(vec![Change {
                key: key.into(),
                value: Some(v.to_vec()),
            }]),
        };
        assert!(idx.apply(&put(1, "a", b"1")));
        assert!(idx.apply(&put(3, "b", b"2")));
        assert_eq!(idx.applied_seq(), 3);
        let root = idx.root();
        assert!(!idx.apply(&put(3, "c", b"3")));
        assert!(!idx.apply(&put(2, "a", b"x")));
        assert_eq!(idx.root(), root);
        assert_eq!(idx.len(), 2);
        // Positions: never backwards within a log; a new log starts anywhere.
        let (one, two) = (LogId::random(), LogId::random());
        idx.set_position(Position::new(one, 3)).unwrap();
        assert!(matches!(
            idx.set_position(Position::new(one, 2)),
            Err(Error::InvalidRequest(_))
        ));
        assert!(matches!(
            idx.apply_in(two, &put(4, "c", b"3")),
            Err(Error::Resync {
                reason: ResyncReason::OtherLog { .. }
            })
        ));
        assert_eq!(idx.position(), Some(Position::new(one, 3)));
        idx.set_position(Position::new(two, 0)).unwrap();
        assert!(idx.apply_in(two, &put(1, "c", b"3")).unwrap());
        assert_eq!(idx.position(), Some(Position::new(two, 1)));
        assert_eq!(idx.len(), 3);
    }

    #[test]
    fn merkle_bucket_out_of_range_is_empty() {
        let mut idx = MerkleIndex::new(all());
        idx.insert("k", b"v");
        assert!(idx.bucket(BUCKETS).is_empty());
        assert!(idx.bucket(usize::MAX).is_empty());
        assert_eq!(idx.bucket(MerkleIndex::bucket_of("k")).len(), 1);
        assert_eq!(idx.get("k"), Some(value_hash(b"v")));
        assert_eq!(value_hash(b"v"), <[u8; 32]>::from(Sha256::digest(b"v")));
    }

    #[test]
    fn merkle_debug_shows_hex_root() {
        let mut idx = MerkleIndex::new(all());
        let root = idx.root();
        let dbg = format!("{idx:?}");
        assert!(dbg.contains(&hex::encode(root)), "{dbg}");
    }
}
