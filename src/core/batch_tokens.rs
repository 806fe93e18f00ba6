//! Batch tokens: self-contained, sealed, never stored.
//!
//! A batch token is `hvb.` followed by the base64url (no padding) of a barrier
//! ciphertext: what the token grants (policies, metadata, path, parent, role, issue and
//! expiry times), sealed with AES-256-GCM under the keyring's active term with the
//! associated data [`SEAL_KEY`]. Nothing about it is written anywhere: validating one
//! is opening it. The keyring is replicated (`core/keyring`), so a batch token issued on
//! a primary opens on its secondaries once replication has shipped the term it was
//! sealed under; key rotation keeps old terms, so rotating does not invalidate it.
//!
//! The plaintext starts with [`MAGIC`], and the associated data is a name no storage key
//! uses, so neither a stored value nor anything sealed for another purpose opens as a
//! token. Opening one is an authenticated decryption: a token that was altered, cut,
//! or made up fails, in the time an AES-GCM tag check takes.
//!
//! As in Vault, a batch token cannot be renewed or revoked, has no accessor and no
//! cubbyhole, creates no children and has no use limit; it expires with its TTL, and a
//! batch token with a parent stops working when the parent goes (a parent is a service
//! token of this cluster, so only orphan batch tokens work across clusters).

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use vaultrs_storage::Barrier;

use super::tokens::{TokenEntry, TokenType};
use crate::error::{Error, Result};

/// Prefix of batch tokens (Vault ≥ 1.10).
pub const BATCH_TOKEN_PREFIX: &str = "hvb.";
/// The associated data batch tokens are sealed with: a replicated-path name that no
/// storage key ever takes (the barrier binds every stored value to its own key).
pub const SEAL_KEY: &str = "sys/token/batch-token-seal";
/// The first bytes of every batch token's plaintext.
const MAGIC: &[u8] = b"vaultrs batch token\0";
const FORMAT_VERSION: u32 = 1;
/// The longest batch token accepted or issued (it travels in a header).
pub const MAX_BATCH_TOKEN_LEN: usize = 16 * 1024;

/// What a batch token carries.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    v: u32,
    policies: Vec<String>,
    #[serde(default)]
    meta: Option<BTreeMap<String, String>>,
    display_name: String,
    /// The keyed hash of the parent (service) token, if any.
    #[serde(default)]
    parent: Option<String>,
    path: String,
    #[serde(default)]
    role: Option<String>,
    creation_time: u64,
    ttl: u64,
    expire_time: u64,
}

/// Whether `token` is spelled as a batch token.
pub fn is_batch_token(token: &str) -> bool {
    token.starts_with(BATCH_TOKEN_PREFIX)
}

/// Seals and opens batch tokens with the barrier's keyring.
pub struct BatchTokens {
    barrier: Arc<Barrier>,
}

impl BatchTokens {
    pub fn new(barrier: Arc<Barrier>) -> Self {
        Self { barrier }
    }

    /// The token for `entry` (a batch entry with an expiry).
    pub fn seal(&self, entry: &TokenEntry) -> Result<String> {
        let expire_time = entry
            .expire_time
            .ok_or_else(|| Error::invalid("batch tokens must have a TTL"))?;
        let claims = Claims {
            v: FORMAT_VERSION,
            policies: entry.policies.clone(),
            meta: entry.meta.clone(),
            display_name: entry.display_name.clone(),
            parent: entry.parent.clone(),
            path: entry.path.clone(),
            role: entry.role.clone(),
            creation_time: entry.creation_time,
            ttl: entry.ttl,
            expire_time,
        };
        let mut plain = zeroize::Zeroizing::new(MAGIC.to_vec());
        serde_json::to_writer(&mut *plain, &claims)
            .map_err(|e| Error::Internal(format!("encoding a batch token: {e}")))?;
        let sealed = self.barrier.encrypt(SEAL_KEY, &plain)?;
        let token = format!("{BATCH_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed));
        if token.len() > MAX_BATCH_TOKEN_LEN {
            return Err(Error::invalid(format!(
                "the token's policies and metadata make a batch token longer than {MAX_BATCH_TOKEN_LEN} bytes"
            )));
        }
        Ok(token)
    }

    /// The entry `token` carries, if it is an authentic batch token (expired or not:
    /// the caller checks the time). `None` for anything else.
    pub fn open(&self, token: &str) -> Result<Option<TokenEntry>> {
        let Some(encoded) = token.strip_prefix(BATCH_TOKEN_PREFIX) else {
            return Ok(None);
        };
        if token.len() > MAX_BATCH_TOKEN_LEN {
            return Ok(None);
        }
        let Ok(sealed) = URL_SAFE_NO_PAD.decode(encoded) else {
            return Ok(None);
        };
        let plain = match self.barrier.decrypt(SEAL_KEY, &sealed) {
            Ok(plain) => zeroize::Zeroizing::new(plain),
            Err(vaultrs_storage::Error::Sealed) => return Err(Error::Sealed),
            // Tampered, truncated, made up, or sealed under a term this cluster does not
            // hold (yet): not a token.
            Err(_) => return Ok(None),
        };
        let Some(json) = plain.strip_prefix(MAGIC) else {
            return Ok(None);
        };
        let Ok(claims) = serde_json::from_slice::<Claims>(json) else {
            return Ok(None);
        };
        if claims.v != FORMAT_VERSION {
            return Ok(None);
        }
        Ok(Some(TokenEntry {
            version: super::tokens::FORMAT_VERSION,
            token_type: TokenType::Batch,
            accessor: String::new(),
            policies: claims.policies,
            meta: claims.meta,
            display_name: claims.display_name,
            num_uses: 0,
            parent: claims.parent,
            path: claims.path,
            role: claims.role,
            creation_time: claims.creation_time,
            ttl: claims.ttl,
            explicit_max_ttl: 0,
            period: 0,
            renewable: false,
            expire_time: Some(claims.expire_time),
            last_renewal: None,
            max_ttl: 0,
            wrapping: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logical::test_support::unsealed_barrier;

    fn entry(now: u64) -> TokenEntry {
        TokenEntry {
            version: super::super::tokens::FORMAT_VERSION,
            token_type: TokenType::Batch,
            accessor: String::new(),
            policies: vec!["default".into(), "web".into()],
            meta: Some([("k".to_owned(), "v".to_owned())].into()),
            display_name: "token".into(),
            num_uses: 0,
            parent: None,
            path: "auth/token/create".into(),
            role: Some("ci".into()),
            creation_time: now,
            ttl: 60,
            explicit_max_ttl: 0,
            period: 0,
            renewable: false,
            expire_time: Some(now + 60),
            last_renewal: None,
            max_ttl: 0,
            wrapping: None,
        }
    }

    #[tokio::test]
    async fn sealed_tokens_open_and_expire_on_their_clock() {
        let batch = BatchTokens::new(unsealed_barrier().await);
        let now = 1_800_000_000;
        let token = batch.seal(&entry(now)).unwrap();
        assert!(is_batch_token(&token));
        assert!(token[4..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let opened = batch.open(&token).unwrap().unwrap();
        assert_eq!(opened.policies, ["default", "web"]);
        assert_eq!(opened.role.as_deref(), Some("ci"));
        assert_eq!(opened.token_type, TokenType::Batch);
        assert!(opened.accessor.is_empty() && !opened.renewable);
        // Expiry is a comparison with whatever clock the caller reads.
        assert!(!opened.expired(now + 59));
        assert!(opened.expired(now + 60));
        // Two tokens for the same grant differ (a fresh nonce each).
        assert_ne!(batch.seal(&entry(now)).unwrap(), token);
    }

    #[tokio::test]
    async fn nothing_else_opens() {
        let barrier = unsealed_barrier().await;
        let batch = BatchTokens::new(barrier.clone());
        let token = batch.seal(&entry(1)).unwrap();
        let body = &token[4..];
        // Every single-character change fails authentication.
        for i in (0..body.len()).step_by(7) {
            let mut bytes = body.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = format!("hvb.{}", String::from_utf8(bytes).unwrap());
            assert!(batch.open(&altered).unwrap().is_none(), "byte {i}");
        }
        for bad in [
            "hvb.",
            "hvb.%%%",
            "hvs.abc",
            &token[..token.len() - 3],
            &format!("hvb.{}", "A".repeat(MAX_BATCH_TOKEN_LEN)),
        ] {
            assert!(batch.open(bad).unwrap().is_none(), "{bad:.40}");
        }
        // A value sealed for a storage key does not open as a token, nor does a value
        // sealed with the token's associated data but without the magic.
        let stored = barrier.encrypt("sys/policy/x", b"{}").unwrap();
        assert!(batch
            .open(&format!("hvb.{}", URL_SAFE_NO_PAD.encode(stored)))
            .unwrap()
            .is_none());
        let plain = barrier.encrypt(SEAL_KEY, br#"{"v":1}"#).unwrap();
        assert!(batch
            .open(&format!("hvb.{}", URL_SAFE_NO_PAD.encode(plain)))
            .unwrap()
            .is_none());
        // Another cluster's keyring does not open it.
        let other = BatchTokens::new(unsealed_barrier().await);
        assert!(other.open(&token).unwrap().is_none());
    }

    #[tokio::test]
    async fn tokens_survive_key_rotation() {
        let barrier = unsealed_barrier().await;
        let batch = BatchTokens::new(barrier.clone());
        let token = batch.seal(&entry(1)).unwrap();
        barrier.rotate().await.unwrap();
        assert!(batch.open(&token).unwrap().is_some());
    }
}
