//! Rekey: a new unseal key and a new Shamir split for the same root key.
//!
//! Rekeying never touches the root key or the keyring: only `core/root-key` (the root key,
//! sealed now by the new unseal key) and `core/seal-config` (the new split) change, and
//! both are committed in **one batch**, with the backup of PGP-encrypted shares beside
//! them. Until that batch is committed the old shares are the only ones that open the
//! root key; from the moment it is, only the new ones do. A crash cannot leave a mix.
//!
//! [`PendingRekey`] holds the new unseal key between the moment its shares are handed out
//! and the commit (for Vault's `require_verification`, that is until the new shares have
//! been given back); it is wiped on drop.
//!
//! The backup (`core/unseal-keys-backup`) is stored in the clear like Vault's, so that an
//! operator can still read it from the data directory while the server is sealed: what it
//! holds is already encrypted to the operators' PGP keys. A rekey without a backup deletes
//! the previous one, whose shares no longer open anything.

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::aead::AeadKey;
use super::{Barrier, SealConfig, BOOTSTRAP_TERM, ROOT_KEY_PATH, SEAL_CONFIG_PATH};
use crate::error::{Error, Result};
use crate::physical::{Batch, Seq};

/// Where the PGP-encrypted shares of the last rekey are kept when asked for (in the clear,
/// replicated, as Vault's `core/unseal-keys-backup`).
pub const UNSEAL_KEYS_BACKUP_PATH: &str = "core/unseal-keys-backup";

/// A new unseal key, and the split its shares were made with, not yet in effect.
pub struct PendingRekey {
    config: SealConfig,
    unseal_key: AeadKey,
}

impl std::fmt::Debug for PendingRekey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingRekey")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PendingRekey {
    /// A fresh unseal key split by `config`: the pending key and its shares (hand them out
    /// once; they are wiped on drop).
    pub fn generate(config: SealConfig) -> Result<(Self, Vec<Zeroizing<Vec<u8>>>)> {
        let unseal_key = AeadKey::generate();
        let shares = config.split(unseal_key.bytes())?;
        Ok((Self { config, unseal_key }, shares))
    }

    /// The new seal configuration.
    pub fn config(&self) -> SealConfig {
        self.config
    }

    /// Whether `combined` (shares of the new split, combined) is this unseal key; constant
    /// time over the key bytes.
    pub fn matches(&self, combined: &[u8]) -> bool {
        let key: &[u8] = self.unseal_key.bytes();
        combined.len() == key.len() && bool::from(key.ct_eq(combined))
    }
}

impl Barrier {
    /// Puts `pending` in effect: the root key is sealed by the new unseal key and written
    /// with the new seal configuration in one batch (and with `backup` at
    /// [`UNSEAL_KEYS_BACKUP_PATH`], or the old backup deleted). The root key and keyring in
    /// memory do not change, nor does the seal state.
    ///
    /// The caller proves the old key first ([`Barrier::verify_unseal_key`]). Errors:
    /// [`Error::Sealed`]; [`Error::NotInitialized`]; [`Error::Follower`] on a follower,
    /// whose unseal keys are its primary's (nothing is written).
    pub async fn rekey(&self, pending: &PendingRekey, backup: Option<Vec<u8>>) -> Result<Seq> {
        let _admin = self.admin.lock().await;
        let ring = self.unsealed()?;
        if self.is_follower() {
            return Err(Error::Follower(SEAL_CONFIG_PATH.to_owned()));
        }
        if self.seal_config().await?.is_none() {
            return Err(Error::NotInitialized);
        }
        let root = ring.root();
        let sealed_root = pending
            .unseal_key
            .seal(BOOTSTRAP_TERM, ROOT_KEY_PATH, root.bytes())?;
        let mut batch = Batch::new()
            .put(SEAL_CONFIG_PATH, pending.config.encode()?)
            .put(ROOT_KEY_PATH, sealed_root);
        batch = match backup {
            Some(doc) => batch.put(UNSEAL_KEYS_BACKUP_PATH, doc),
            None => batch.delete(UNSEAL_KEYS_BACKUP_PATH),
        };
        let seq = self.physical.commit(batch).await?;
        tracing::info!(
            shares = pending.config.secret_shares,
            threshold = pending.config.secret_threshold,
            "barrier rekeyed: new unseal key shares are in effect"
        );
        Ok(seq)
    }

    /// The stored backup of PGP-encrypted shares, if any (readable only while unsealed,
    /// as Vault's endpoint).
    pub async fn unseal_keys_backup(&self) -> Result<Option<Vec<u8>>> {
        self.unsealed()?;
        self.physical.get(UNSEAL_KEYS_BACKUP_PATH).await
    }

    /// Deletes the stored backup (nothing to delete is fine). Refused on a follower.
    pub async fn delete_unseal_keys_backup(&self) -> Result<()> {
        let _admin = self.admin.lock().await;
        self.unsealed()?;
        if self.is_follower() {
            return Err(Error::Follower(UNSEAL_KEYS_BACKUP_PATH.to_owned()));
        }
        self.physical
            .commit(Batch::new().delete(UNSEAL_KEYS_BACKUP_PATH))
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::physical::Physical;
    use crate::InmemBackend as InMemory;

    async fn unsealed(shares: usize, threshold: usize) -> (Arc<InMemory>, Barrier, Vec<Vec<u8>>) {
        let physical = Arc::new(InMemory::new());
        let barrier = Barrier::new(physical.clone());
        let out = barrier.init(shares, threshold).await.unwrap();
        let shares: Vec<Vec<u8>> = out.shares.iter().map(|s| s.to_vec()).collect();
        for s in shares.iter().take(threshold) {
            barrier.unseal(s).await.unwrap();
        }
        assert!(!barrier.is_sealed());
        (physical, barrier, shares)
    }

    async fn opens(physical: &Arc<InMemory>, shares: &[Vec<u8>]) -> bool {
        let fresh = Barrier::new(physical.clone());
        for s in shares {
            match fresh.unseal(s).await {
                Ok(p) if !p.sealed => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        false
    }

    #[tokio::test]
    async fn rekey_swaps_the_unseal_key_in_one_batch() {
        let (physical, barrier, old) = unsealed(3, 2).await;
        barrier.put("secret/x", b"kept").await.unwrap();
        let keyring_before = physical.get(super::super::KEYRING_PATH).await.unwrap();

        let (pending, new) = PendingRekey::generate(SealConfig::new(5, 3).unwrap()).unwrap();
        let new: Vec<Vec<u8>> = new.iter().map(|s| s.to_vec()).collect();
        // Not in effect before the commit.
        assert!(opens(&physical, &old[..2]).await);
        assert!(!opens(&physical, &new[..3]).await);

        let before = physical.last_seq();
        barrier.rekey(&pending, None).await.unwrap();
        assert_eq!(physical.last_seq(), before + 1, "a rekey is one batch");
        assert!(!opens(&physical, &old[..2]).await, "old shares still open");
        assert!(!opens(&physical, &old).await);
        assert!(opens(&physical, &new[2..5]).await, "new shares do not open");
        assert_eq!(
            barrier.seal_config().await.unwrap(),
            Some(SealConfig::new(5, 3).unwrap())
        );
        // The keyring (and so the root key) is untouched; data still reads.
        assert_eq!(
            physical.get(super::super::KEYRING_PATH).await.unwrap(),
            keyring_before
        );
        assert_eq!(
            barrier.get("secret/x").await.unwrap().as_deref(),
            Some(&b"kept"[..])
        );
    }

    #[tokio::test]
    async fn pending_keys_match_only_their_own_shares() {
        let config = SealConfig::new(3, 2).unwrap();
        let (pending, shares) = PendingRekey::generate(config).unwrap();
        let combined =
            crate::shamir::combine(&[shares[0].as_slice(), shares[2].as_slice()]).unwrap();
        assert!(pending.matches(&combined));
        let (other, _) = PendingRekey::generate(config).unwrap();
        assert!(!other.matches(&combined));
        assert!(!pending.matches(&combined[..31]));
        assert!(!format!("{pending:?}").contains("unseal_key"));
    }

    #[tokio::test]
    async fn backups_are_committed_with_the_rekey_and_replaced_by_the_next() {
        let (physical, barrier, _) = unsealed(1, 1).await;
        assert_eq!(barrier.unseal_keys_backup().await.unwrap(), None);
        let (pending, _) = PendingRekey::generate(SealConfig::new(1, 1).unwrap()).unwrap();
        barrier
            .rekey(&pending, Some(b"{\"nonce\":\"n\"}".to_vec()))
            .await
            .unwrap();
        assert_eq!(
            barrier.unseal_keys_backup().await.unwrap().as_deref(),
            Some(&b"{\"nonce\":\"n\"}"[..])
        );
        // The plaintext API cannot touch it.
        assert!(barrier.get(UNSEAL_KEYS_BACKUP_PATH).await.is_err());
        assert!(barrier.put(UNSEAL_KEYS_BACKUP_PATH, b"x").await.is_err());
        let (pending, _) = PendingRekey::generate(SealConfig::new(1, 1).unwrap()).unwrap();
        barrier.rekey(&pending, None).await.unwrap();
        assert_eq!(physical.get(UNSEAL_KEYS_BACKUP_PATH).await.unwrap(), None);
        barrier.delete_unseal_keys_backup().await.unwrap();
    }

    #[tokio::test]
    async fn sealed_and_follower_barriers_refuse() {
        let (physical, barrier, old) = unsealed(3, 2).await;
        let (pending, _) = PendingRekey::generate(SealConfig::new(3, 2).unwrap()).unwrap();
        barrier.set_follower(Some(|k: &str| k.starts_with("local/")));
        let config_before = physical.get(SEAL_CONFIG_PATH).await.unwrap();
        assert!(matches!(
            barrier.rekey(&pending, None).await,
            Err(Error::Follower(_))
        ));
        assert!(matches!(
            barrier.delete_unseal_keys_backup().await,
            Err(Error::Follower(_))
        ));
        assert_eq!(physical.get(SEAL_CONFIG_PATH).await.unwrap(), config_before);
        assert!(opens(&physical, &old[..2]).await);
        barrier.set_follower(None);
        barrier.seal().await;
        assert!(matches!(
            barrier.rekey(&pending, None).await,
            Err(Error::Sealed)
        ));
    }
}
