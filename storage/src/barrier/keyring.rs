//! The keyring: the data-encryption keys by term, and the root key that seals the keyring
//! itself (OpenBao `barrier/keyring.go`).
//!
//! A [`Keyring`] is immutable; rotation builds a new one that shares the existing [`Term`]s
//! (copy-on-write, like Vault's `AddKey`), so per-term encryption counters carry over.
//! Terms only increase, and every term ever installed stays for decryption.
//!
//! Persisted form (JSON, encrypted under the root key at `core/keyring`):
//!
//! ```json
//! {"version":1,"active_term":2,
//!  "terms":[{"term":1,"key":"<64 hex>","install_time":1700000000,"encryptions":0}, ...]}
//! ```
//!
//! The keyring is replicated, so it must stay byte-identical wherever it is: it changes
//! only when a term is added. The per-term encryption counters, which every cluster counts
//! for itself, live in a usage document of their own (`{"version":1,"terms":{"1":42}}`,
//! at the local key `local/core/keyring-usage`); `encryptions` in the keyring is always
//! written 0 and, in keyrings written before the split, read as a floor.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::aead::{AeadKey, KEY_LEN};
use crate::error::{Error, Result};

/// The keyring format written and accepted.
pub const KEYRING_VERSION: u32 = 1;

const WHAT: &str = "keyring";

/// One data-encryption key.
pub(crate) struct Term {
    pub number: u32,
    pub key: AeadKey,
    /// Unix seconds.
    pub install_time: u64,
    /// Encryptions made under this term (loaded, then counted in memory).
    pub encryptions: AtomicU64,
    /// The count last written to storage, to skip pointless writes.
    pub persisted: AtomicU64,
}

impl Term {
    fn new(number: u32, key: AeadKey, install_time: u64, encryptions: u64) -> Self {
        Self {
            number,
            key,
            install_time,
            encryptions: AtomicU64::new(encryptions),
            persisted: AtomicU64::new(encryptions),
        }
    }

    pub fn install_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.install_time)
    }

    pub fn encryptions(&self) -> u64 {
        self.encryptions.load(Ordering::Relaxed)
    }

    pub fn is_dirty(&self) -> bool {
        self.encryptions() != self.persisted.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Term")
            .field("number", &self.number)
            .field("key", &"[REDACTED]")
            .field("install_time", &self.install_time)
            .field("encryptions", &self.encryptions())
            .finish()
    }
}

/// The per-term counts an encoded keyring records.
pub(crate) type RecordedCounts = Vec<(Arc<Term>, u64)>;

/// The root key and every term; one of them active for new writes.
pub(crate) struct Keyring {
    root: Arc<AeadKey>,
    terms: BTreeMap<u32, Arc<Term>>,
    /// Also in `terms`.
    active: Arc<Term>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("root", &"[REDACTED]")
            .field("active", &self.active.number)
            .field("terms", &self.terms.values().collect::<Vec<_>>())
            .finish()
    }
}

/// Unix seconds now (0 if the clock is before 1970).
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Keyring {
    /// A new keyring with term 1.
    pub fn new(root: Arc<AeadKey>) -> Self {
        let term = Arc::new(Term::new(1, AeadKey::generate(), now_secs(), 0));
        Self {
            root,
            terms: BTreeMap::from([(1, Arc::clone(&term))]),
            active: term,
        }
    }

    pub fn root(&self) -> &Arc<AeadKey> {
        &self.root
    }

    pub fn active(&self) -> &Arc<Term> {
        &self.active
    }

    pub fn term(&self, number: u32) -> Option<&Arc<Term>> {
        self.terms.get(&number)
    }

    pub fn terms(&self) -> impl Iterator<Item = &Arc<Term>> {
        self.terms.values()
    }

    pub fn max_term(&self) -> u32 {
        self.terms
            .keys()
            .next_back()
            .copied()
            .unwrap_or(self.active.number)
    }

    /// A copy with a fresh key under the next term, made active (Vault's `AddKey`).
    pub fn with_new_term(&self) -> Result<Self> {
        let next = self
            .max_term()
            .checked_add(1)
            .ok_or_else(|| Error::InvalidRequest("keyring term numbers are exhausted".into()))?;
        let term = Arc::new(Term::new(next, AeadKey::generate(), now_secs(), 0));
        let mut terms = self.terms.clone();
        terms.insert(next, Arc::clone(&term));
        Ok(Self {
            root: Arc::clone(&self.root),
            terms,
            active: term,
        })
    }

    /// The persisted JSON: the terms and their keys, never the counters (see the module
    /// docs), so the bytes depend only on the terms.
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = KeyringDoc {
            version: KEYRING_VERSION,
            active_term: self.active.number,
            terms: self
                .terms
                .values()
                .map(|t| TermDoc {
                    term: t.number,
                    key: hex::encode(t.key.bytes()),
                    install_time: t.install_time,
                    encryptions: 0,
                })
                .collect(),
        };
        // Sized up front so the buffer never reallocates and leaves key copies behind.
        let mut out = Zeroizing::new(Vec::with_capacity(128 + 192 * self.terms.len()));
        serde_json::to_writer(&mut *out, &doc).map_err(|e| Error::corrupt(WHAT, e.to_string()))?;
        Ok(out)
    }

    /// The usage document: every term's encryption count. Returns the bytes and the counts
    /// they record, so the caller can mark them persisted once the write has committed.
    pub fn encode_usage(&self) -> Result<(Vec<u8>, RecordedCounts)> {
        let mut counts = Vec::with_capacity(self.terms.len());
        let doc = UsageDoc {
            version: USAGE_VERSION,
            terms: self
                .terms
                .values()
                .map(|t| {
                    let n = t.encryptions();
                    counts.push((Arc::clone(t), n));
                    (t.number, n)
                })
                .collect(),
        };
        let bytes = serde_json::to_vec(&doc).map_err(|e| Error::corrupt(USAGE, e.to_string()))?;
        Ok((bytes, counts))
    }

    /// Raises the counters to a stored usage document's (never lowers them: this process
    /// may have counted more).
    pub fn apply_usage(&self, bytes: &[u8]) -> Result<()> {
        check_version(USAGE, bytes, USAGE_VERSION)?;
        let doc: UsageDoc =
            serde_json::from_slice(bytes).map_err(|e| Error::corrupt(USAGE, e.to_string()))?;
        for (number, count) in doc.terms {
            if let Some(term) = self.terms.get(&number) {
                term.encryptions.fetch_max(count, Ordering::Relaxed);
                term.persisted.fetch_max(count, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// Decodes the persisted JSON. Terms that `previous` already holds with the same key
    /// are shared (their counters keep running, raised to the stored count if that is
    /// higher), so a reload does not reset what this process has counted.
    pub fn decode(bytes: &[u8], root: Arc<AeadKey>, previous: Option<&Keyring>) -> Result<Self> {
        check_version(WHAT, bytes, KEYRING_VERSION)?;
        let doc: KeyringDoc =
            serde_json::from_slice(bytes).map_err(|e| Error::corrupt(WHAT, e.to_string()))?;
        let mut terms = BTreeMap::new();
        for t in &doc.terms {
            if t.term == 0 {
                return Err(Error::corrupt(WHAT, "term 0 is reserved"));
            }
            let mut key = Zeroizing::new([0u8; KEY_LEN]);
            hex::decode_to_slice(&t.key, &mut key[..])
                .map_err(|_| Error::corrupt(WHAT, format!("malformed key for term {}", t.term)))?;
            let reused = previous
                .and_then(|p| p.term(t.term))
                .filter(|old| bool::from(old.key.bytes().ct_eq(&*key)));
            let term = match reused {
                Some(old) => {
                    old.encryptions.fetch_max(t.encryptions, Ordering::Relaxed);
                    old.persisted.fetch_max(t.encryptions, Ordering::Relaxed);
                    Arc::clone(old)
                }
                None => Arc::new(Term::new(
                    t.term,
                    AeadKey::new(key),
                    t.install_time,
                    t.encryptions,
                )),
            };
            if terms.insert(t.term, term).is_some() {
                return Err(Error::corrupt(
                    WHAT,
                    format!("term {} appears twice", t.term),
                ));
            }
        }
        let active = terms.get(&doc.active_term).cloned().ok_or_else(|| {
            Error::corrupt(
                WHAT,
                format!("active term {} is not in the keyring", doc.active_term),
            )
        })?;
        Ok(Self {
            root,
            terms,
            active,
        })
    }
}

/// The usage document format written and accepted.
pub const USAGE_VERSION: u32 = 1;

const USAGE: &str = "keyring usage";

#[derive(Serialize, Deserialize)]
struct UsageDoc {
    version: u32,
    /// Term number → encryptions under it.
    terms: BTreeMap<u32, u64>,
}

#[derive(Serialize, Deserialize)]
struct KeyringDoc {
    version: u32,
    active_term: u32,
    terms: Vec<TermDoc>,
}

#[derive(Serialize, Deserialize)]
struct TermDoc {
    term: u32,
    /// Hex; wiped when the document is dropped.
    key: String,
    install_time: u64,
    encryptions: u64,
}

impl Drop for TermDoc {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

/// Refuses a persisted document whose `"version"` is not `expected` with
/// [`Error::Corrupt`], before looking at anything else in it.
pub(crate) fn check_version(what: &str, bytes: &[u8], expected: u32) -> Result<()> {
    #[derive(Deserialize)]
    struct Probe {
        version: Option<u64>,
    }
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|e| Error::corrupt(what, e.to_string()))?;
    match probe.version {
        Some(v) if v == u64::from(expected) => Ok(()),
        Some(v) => Err(Error::corrupt(
            what,
            format!("unsupported format version {v}"),
        )),
        None => Err(Error::corrupt(what, "missing format version")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> Arc<AeadKey> {
        Arc::new(AeadKey::generate())
    }

    #[test]
    fn encode_decode_round_trip() {
        let ring = Keyring::new(root()).with_new_term().unwrap();
        let bytes = ring.encode().unwrap();
        ring.active().encryptions.store(9, Ordering::Relaxed);
        // The counters never change the keyring's bytes.
        assert_eq!(*ring.encode().unwrap(), *bytes);
        let (usage, counts) = ring.encode_usage().unwrap();
        assert_eq!(counts.len(), 2);
        let back = Keyring::decode(&bytes, Arc::clone(ring.root()), None).unwrap();
        assert_eq!(back.active().encryptions(), 0);
        back.apply_usage(&usage).unwrap();
        assert_eq!(back.active().number, 2);
        assert_eq!(back.active().encryptions(), 9);
        // Applying an older usage never lowers a count.
        let (old, _) = Keyring::decode(&bytes, Arc::clone(ring.root()), None)
            .unwrap()
            .encode_usage()
            .unwrap();
        back.apply_usage(&old).unwrap();
        assert_eq!(back.active().encryptions(), 9);
        assert_eq!(
            back.term(1).unwrap().key.bytes(),
            ring.term(1).unwrap().key.bytes()
        );
        assert_eq!(
            back.term(2).unwrap().key.bytes(),
            ring.term(2).unwrap().key.bytes()
        );
    }

    #[test]
    fn rotation_is_copy_on_write() {
        let ring = Keyring::new(root());
        let next = ring.with_new_term().unwrap();
        assert_eq!(ring.active().number, 1);
        assert_eq!(next.active().number, 2);
        assert!(Arc::ptr_eq(ring.term(1).unwrap(), next.term(1).unwrap()));
        assert!(ring.term(2).is_none());
    }

    #[test]
    fn decode_shares_known_terms_and_keeps_higher_counts() {
        let ring = Keyring::new(root());
        let bytes = ring.encode().unwrap();
        ring.active().encryptions.store(50, Ordering::Relaxed);
        let back = Keyring::decode(&bytes, Arc::clone(ring.root()), Some(&ring)).unwrap();
        assert!(Arc::ptr_eq(back.active(), ring.active()));
        assert_eq!(back.active().encryptions(), 50);
    }

    #[test]
    fn unknown_version_and_malformed_documents_are_corrupt() {
        let cases: [&[u8]; 7] = [
            br#"{"version":2,"active_term":1,"terms":[]}"#,
            br#"{"active_term":1,"terms":[]}"#,
            br#"not json"#,
            br#"{"version":1,"active_term":1,"terms":[]}"#,
            br#"{"version":1,"active_term":1,"terms":[{"term":1,"key":"zz","install_time":0,"encryptions":0}]}"#,
            br#"{"version":1,"active_term":0,"terms":[{"term":0,"key":"0000000000000000000000000000000000000000000000000000000000000000","install_time":0,"encryptions":0}]}"#,
            br#"{"version":1,"active_term":1,"terms":[{"term":1,"key":"0000000000000000000000000000000000000000000000000000000000000000","install_time":0,"encryptions":0},{"term":1,"key":"0000000000000000000000000000000000000000000000000000000000000000","install_time":0,"encryptions":0}]}"#,
        ];
        for case in cases {
            assert!(
                matches!(
                    Keyring::decode(case, root(), None),
                    Err(Error::Corrupt { .. })
                ),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
    }

    #[test]
    fn debug_is_redacted() {
        let ring = Keyring::new(root());
        let shown = format!("{ring:?}");
        let key_hex = hex::encode(ring.active().key.bytes());
        let root_hex = hex::encode(ring.root().bytes());
        assert!(!shown.contains(&key_hex) && !shown.contains(&root_hex));
        assert!(!shown.contains(&format!("{:?}", ring.active().key.bytes())));
        assert!(shown.contains("REDACTED"));
    }
}
