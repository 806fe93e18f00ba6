//! The ciphertext framing, Vault's version 2 (OpenBao `barrier/aes_gcm.go` `encrypt`/`decrypt`):
//!
//! ```text
//! term (u32 BE) | version 0x02 | nonce (12 random bytes) | AES-256-GCM ciphertext | tag (16)
//! ```
//!
//! The additional authenticated data is the storage path, so a value moved to another key
//! fails to open. Version 1 (no AAD) is never written and never accepted.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce, Tag};
use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Length of the big-endian term prefix.
pub const TERM_LEN: usize = 4;
/// The framing version written and accepted: the storage path is the AAD.
pub const VERSION_2: u8 = 0x02;
/// AES-GCM nonce length.
pub const NONCE_LEN: usize = 12;
/// AES-GCM tag length.
pub const TAG_LEN: usize = 16;
/// Bytes before the ciphertext body.
pub const HEADER_LEN: usize = TERM_LEN + 1 + NONCE_LEN;
/// The shortest well-formed value (an empty plaintext).
pub const MIN_LEN: usize = HEADER_LEN + TAG_LEN;
/// AES-256 key length.
pub const KEY_LEN: usize = 32;

/// A 256-bit key and its expanded cipher. Both are wiped on drop (the key by `Zeroizing`,
/// the AES round keys by the `aes` crate's `zeroize` feature).
pub(crate) struct AeadKey {
    key: Zeroizing<[u8; KEY_LEN]>,
    cipher: Aes256Gcm,
}

impl AeadKey {
    pub(crate) fn new(key: Zeroizing<[u8; KEY_LEN]>) -> Self {
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key[..]));
        Self { key, cipher }
    }

    /// A fresh key from the OS random source.
    pub(crate) fn generate() -> Self {
        Self::new(random_key())
    }

    /// Takes a key from a slice; `None` unless it is exactly [`KEY_LEN`] bytes.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        let array: &[u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(Self::new(Zeroizing::new(*array)))
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.key
    }

    /// Seals `plaintext` for `path` under `term`.
    pub(crate) fn seal(&self, term: u32, path: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let mut out = Vec::with_capacity(MIN_LEN + plaintext.len());
        out.extend_from_slice(&term.to_be_bytes());
        out.push(VERSION_2);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .cipher
            .encrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                path.as_bytes(),
                &mut out[HEADER_LEN..],
            )
            // Only fails for plaintexts beyond GCM's 64 GiB limit.
            .map_err(|_| Error::InvalidRequest("value too large to encrypt".into()))?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Opens a parsed frame for `path`; `None` when authentication fails.
    pub(crate) fn open(&self, path: &str, frame: &Frame<'_>) -> Option<Zeroizing<Vec<u8>>> {
        let mut buf = Zeroizing::new(frame.body.to_vec());
        self.cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(frame.nonce),
                path.as_bytes(),
                &mut buf,
                Tag::from_slice(frame.tag),
            )
            .ok()?;
        Some(buf)
    }
}

impl std::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AeadKey([REDACTED])")
    }
}

/// A fresh 256-bit key from the OS random source.
pub(crate) fn random_key() -> Zeroizing<[u8; KEY_LEN]> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    OsRng.fill_bytes(&mut key[..]);
    key
}

/// A value split into its framing parts; only shape is checked, nothing is authenticated.
#[derive(Debug)]
pub(crate) struct Frame<'a> {
    pub term: u32,
    nonce: &'a [u8],
    body: &'a [u8],
    tag: &'a [u8],
}

/// Splits a stored value; too short or not version 2 is [`Error::Integrity`].
pub(crate) fn parse<'a>(path: &str, value: &'a [u8]) -> Result<Frame<'a>> {
    let integrity = || Error::Integrity {
        key: path.to_owned(),
    };
    if value.len() < MIN_LEN {
        return Err(integrity());
    }
    let (term, rest) = value.split_at(TERM_LEN);
    let (version, rest) = rest.split_at(1);
    if version != [VERSION_2] {
        return Err(integrity());
    }
    let (nonce, rest) = rest.split_at(NONCE_LEN);
    let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
    let term = u32::from_be_bytes(term.try_into().map_err(|_| integrity())?);
    Ok(Frame {
        term,
        nonce,
        body,
        tag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_layout() {
        let key = AeadKey::generate();
        let ct = key.seal(7, "a/b", b"hello").unwrap();
        assert_eq!(ct.len(), MIN_LEN + 5);
        assert_eq!(&ct[..4], &[0, 0, 0, 7]);
        assert_eq!(ct[4], VERSION_2);
        let frame = parse("a/b", &ct).unwrap();
        assert_eq!(frame.term, 7);
        assert_eq!(key.open("a/b", &frame).unwrap().as_slice(), b"hello");
        assert!(key.open("a/c", &frame).is_none());
        let other = AeadKey::generate();
        assert!(other.open("a/b", &frame).is_none());
    }

    #[test]
    fn empty_plaintext_and_short_values() {
        let key = AeadKey::generate();
        let ct = key.seal(1, "k", b"").unwrap();
        assert_eq!(ct.len(), MIN_LEN);
        let frame = parse("k", &ct).unwrap();
        assert!(key.open("k", &frame).unwrap().is_empty());
        for len in 0..MIN_LEN {
            assert!(matches!(
                parse("k", &ct[..len]),
                Err(Error::Integrity { .. })
            ));
        }
        let mut v1 = ct.clone();
        v1[4] = 0x01;
        assert!(matches!(parse("k", &v1), Err(Error::Integrity { .. })));
    }

    #[test]
    fn debug_is_redacted() {
        let key = AeadKey::new(Zeroizing::new([0xab; KEY_LEN]));
        let shown = format!("{key:?}");
        assert!(!shown.contains("ab") && !shown.contains("171"), "{shown}");
    }
}
