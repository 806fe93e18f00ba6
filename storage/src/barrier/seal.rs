//! Seal configuration, unseal share collection and the values `init`/`unseal` return.
//!
//! The unseal key is 32 bytes. With one share the share *is* the key (as Vault); otherwise
//! it is split with [`crate::shamir`] into 33-byte shares.

use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::aead::KEY_LEN;
use super::keyring::check_version;
use crate::error::{Error, Result};
use crate::shamir;

/// The seal configuration format written and accepted.
pub const SEAL_CONFIG_VERSION: u32 = 1;

/// How the unseal key is split. Stored in the clear at `core/seal-config`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealConfig {
    pub secret_shares: usize,
    pub secret_threshold: usize,
}

#[derive(Serialize, Deserialize)]
struct SealConfigDoc {
    version: u32,
    secret_shares: usize,
    secret_threshold: usize,
}

impl SealConfig {
    /// Checks Vault's bounds: `1 <= shares <= 255`, `1 <= threshold <= shares`, and a
    /// threshold of at least 2 when there is more than one share.
    pub fn new(secret_shares: usize, secret_threshold: usize) -> Result<Self> {
        let fail = |m: &str| Err(Error::InvalidRequest(m.to_owned()));
        if secret_shares < 1 {
            return fail("secret shares must be at least one");
        }
        if secret_shares > shamir::MAX_PARTS {
            return fail("secret shares must be at most 255");
        }
        if secret_threshold < 1 {
            return fail("secret threshold must be at least one");
        }
        if secret_threshold > secret_shares {
            return fail("secret threshold cannot be larger than secret shares");
        }
        if secret_shares > 1 && secret_threshold == 1 {
            return fail("secret threshold must be greater than one for multiple shares");
        }
        Ok(Self {
            secret_shares,
            secret_threshold,
        })
    }

    /// The length every share of this configuration has.
    pub fn share_len(&self) -> usize {
        if self.secret_shares == 1 {
            KEY_LEN
        } else {
            KEY_LEN + 1
        }
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(&SealConfigDoc {
            version: SEAL_CONFIG_VERSION,
            secret_shares: self.secret_shares,
            secret_threshold: self.secret_threshold,
        })
        .map_err(|e| Error::corrupt("seal configuration", e.to_string()))
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "seal configuration";
        check_version(WHAT, bytes, SEAL_CONFIG_VERSION)?;
        let doc: SealConfigDoc =
            serde_json::from_slice(bytes).map_err(|e| Error::corrupt(WHAT, e.to_string()))?;
        Self::new(doc.secret_shares, doc.secret_threshold)
            .map_err(|e| Error::corrupt(WHAT, e.to_string()))
    }

    /// Splits a 32-byte unseal key into this configuration's shares.
    pub(crate) fn split(&self, unseal_key: &[u8; KEY_LEN]) -> Result<Vec<Zeroizing<Vec<u8>>>> {
        if self.secret_shares == 1 {
            Ok(vec![Zeroizing::new(unseal_key.to_vec())])
        } else {
            shamir::split(unseal_key, self.secret_shares, self.secret_threshold)
        }
    }
}

/// What `init` hands out, once.
pub struct InitOutput {
    /// The unseal key shares (raw bytes; the HTTP layer encodes them).
    pub shares: Vec<Zeroizing<Vec<u8>>>,
    pub config: SealConfig,
}

impl std::fmt::Debug for InitOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitOutput")
            .field("shares", &format_args!("[REDACTED; {}]", self.shares.len()))
            .field("config", &self.config)
            .finish()
    }
}

/// Where an unseal attempt stands (the fields of Vault's seal-status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsealProgress {
    pub sealed: bool,
    /// `t`: shares needed (0 when not initialized).
    pub threshold: usize,
    /// `n`: shares made at init (0 when not initialized).
    pub shares: usize,
    /// Shares given so far in this attempt.
    pub progress: usize,
    /// Identifies the attempt in progress; empty when none is.
    pub nonce: String,
}

/// Collects distinct unseal shares until a configuration's threshold, then combines them
/// into the unseal key. Used by unseal, and reusable wherever shares must be gathered to
/// prove possession of the unseal key (generate-root) without unsealing.
#[derive(Default)]
pub struct ShareCollector {
    shares: Vec<Zeroizing<Vec<u8>>>,
    nonce: String,
}

impl std::fmt::Debug for ShareCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShareCollector")
            .field("progress", &self.shares.len())
            .field("nonce", &self.nonce)
            .finish()
    }
}

impl ShareCollector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Shares held in the current attempt.
    pub fn progress(&self) -> usize {
        self.shares.len()
    }

    /// The current attempt's nonce, empty when no attempt is in progress.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// Forgets every share (they are wiped) and ends the attempt.
    pub fn reset(&mut self) {
        self.shares.clear();
        self.nonce.clear();
    }

    /// Adds one share. Returns `Ok(None)` while below `config`'s threshold; once it is
    /// reached, returns the combined unseal key and resets (wrong shares combine into a
    /// wrong key: the caller must verify it).
    ///
    /// A share of the wrong length is [`Error::InvalidRequest`] and one already given is
    /// [`Error::DuplicateShare`]; both keep the progress.
    pub fn add(&mut self, config: &SealConfig, share: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let want = config.share_len();
        if share.len() != want {
            return Err(Error::InvalidRequest(format!(
                "unseal key share must be {want} bytes, got {}",
                share.len()
            )));
        }
        // Constant time over the share bytes; the count of held shares is public.
        let duplicate = self
            .shares
            .iter()
            .fold(subtle::Choice::from(0), |acc, held| {
                acc | held.as_slice().ct_eq(share)
            });
        if bool::from(duplicate) {
            return Err(Error::DuplicateShare);
        }
        if self.shares.is_empty() {
            self.nonce = new_nonce();
        }
        self.shares.push(Zeroizing::new(share.to_vec()));
        if self.shares.len() < config.secret_threshold {
            return Ok(None);
        }
        let shares = std::mem::take(&mut self.shares);
        self.reset();
        combine(config, &shares).map(Some)
    }
}

/// The unseal key from a threshold of shares. A combination that cannot even be computed
/// (two different shares with the same x-coordinate) is as wrong as a garbage key.
fn combine(config: &SealConfig, shares: &[Zeroizing<Vec<u8>>]) -> Result<Zeroizing<Vec<u8>>> {
    if config.secret_shares == 1 {
        return match shares {
            [only] => Ok(only.clone()),
            _ => Err(Error::InvalidUnsealKey),
        };
    }
    let parts: Vec<&[u8]> = shares.iter().map(|s| s.as_slice()).collect();
    shamir::combine(&parts).map_err(|_| Error::InvalidUnsealKey)
}

/// A random identifier in UUID v4 form.
fn new_nonce() -> String {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_json_and_versions() {
        let c = SealConfig::new(5, 3).unwrap();
        let bytes = c.encode().unwrap();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"version":1,"secret_shares":5,"secret_threshold":3}"#
        );
        assert_eq!(SealConfig::decode(&bytes).unwrap(), c);
        for bad in [
            &br#"{"version":2,"secret_shares":5,"secret_threshold":3}"#[..],
            br#"{"secret_shares":5,"secret_threshold":3}"#,
            br#"{"version":1,"secret_shares":5,"secret_threshold":9}"#,
            br#"[]"#,
        ] {
            assert!(matches!(
                SealConfig::decode(bad),
                Err(Error::Corrupt { .. })
            ));
        }
    }

    #[test]
    fn collector_threshold_duplicates_and_lengths() {
        let config = SealConfig::new(3, 2).unwrap();
        let key = [7u8; KEY_LEN];
        let shares = config.split(&key).unwrap();
        let mut c = ShareCollector::new();
        assert_eq!(c.nonce(), "");
        assert!(c.add(&config, &shares[0]).unwrap().is_none());
        let nonce = c.nonce().to_owned();
        assert_eq!(nonce.len(), 36);
        assert!(matches!(
            c.add(&config, &shares[0]),
            Err(Error::DuplicateShare)
        ));
        assert!(matches!(
            c.add(&config, &[1, 2, 3]),
            Err(Error::InvalidRequest(_))
        ));
        assert_eq!(c.progress(), 1);
        assert_eq!(c.nonce(), nonce);
        let combined = c.add(&config, &shares[2]).unwrap().unwrap();
        assert_eq!(combined.as_slice(), &key);
        assert_eq!(c.progress(), 0);
        assert_eq!(c.nonce(), "");
        assert!(format!("{c:?}").contains("progress"));
    }

    #[test]
    fn init_output_debug_is_redacted() {
        let out = InitOutput {
            shares: vec![Zeroizing::new(vec![0xde, 0xad, 0xbe, 0xef])],
            config: SealConfig::new(1, 1).unwrap(),
        };
        let shown = format!("{out:?}");
        assert!(!shown.contains("222") && !shown.contains("173"), "{shown}");
    }
}
