//! The barrier across a restore of the store underneath it.
//!
//! A snapshot restored into a running server either belongs to this barrier (its
//! `core/keyring` opens with the root key held now: the same cluster, maybe from before a
//! rotation or a rekey) or to another one. The server checks which before it commits the
//! restore ([`Barrier::opens_keyring`]), as Vault checks a raft snapshot against its seal.
//!
//! During the swap nothing may encrypt or decrypt: a write in flight must not land in the
//! restored store. [`Barrier::suspend`] takes the keyring out (the barrier is sealed to
//! everyone) but hands it to the caller; [`Barrier::resume`] then opens the restored
//! keyring with the same root key, so no unseal keys are needed when the snapshot is this
//! barrier's own. Terms both keyrings hold keep their running encryption counters (the
//! restored counters are older; the nonce bound counts every encryption ever made under a
//! key), and the counters are saved at once into the restored store.

use std::sync::Arc;

use super::aead;
use super::keyring::Keyring;
use super::{Barrier, BOOTSTRAP_TERM, KEYRING_PATH};
use crate::error::{Error, Result};

/// The keyring of a barrier suspended for a restore; only [`Barrier::resume`] uses it.
/// Dropping it wipes the keys (the barrier stays sealed).
pub struct Suspended {
    ring: Arc<Keyring>,
}

impl std::fmt::Debug for Suspended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Suspended").finish_non_exhaustive()
    }
}

impl Barrier {
    /// Whether `sealed_keyring` (the ciphertext of a `core/keyring`, e.g. from a staged
    /// restore) opens with this barrier's root key. [`Error::Sealed`] when sealed.
    pub fn opens_keyring(&self, sealed_keyring: &[u8]) -> Result<bool> {
        let ring = self.unsealed()?;
        let Ok(frame) = aead::parse(KEYRING_PATH, sealed_keyring) else {
            return Ok(false);
        };
        Ok(frame.term == BOOTSTRAP_TERM && ring.root().open(KEYRING_PATH, &frame).is_some())
    }

    /// Seals the barrier for everyone but the caller, who keeps the keyring to
    /// [`resume`](Self::resume) with. The counters are not saved (the store is about to be
    /// replaced). [`Error::Sealed`] when already sealed.
    pub async fn suspend(&self) -> Result<Suspended> {
        let _admin = self.admin.lock().await;
        self.unseal_reset();
        let ring = self
            .keyring
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or(Error::Sealed)?;
        tracing::info!("barrier suspended");
        Ok(Suspended { ring })
    }

    /// Unseals again with the suspended root key over the store as it is now: opens its
    /// `core/keyring` (sharing the terms both hold, with their counters) and saves the
    /// counters into it. [`Error::Integrity`] when the root key does not open that keyring
    /// (the barrier stays sealed: unseal it with the store's own keys).
    pub async fn resume(&self, suspended: Suspended) -> Result<()> {
        let _admin = self.admin.lock().await;
        let old = suspended.ring;
        let ring = Arc::new(
            self.load_keyring(Arc::clone(old.root()), Some(&old))
                .await?,
        );
        let (usage, counts) = Self::sealed_usage(&ring)?;
        self.physical.put(super::KEYRING_USAGE_PATH, usage).await?;
        Self::mark_persisted(counts);
        let mut slot = self.keyring.write().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return Err(Error::InvalidRequest(
                "the barrier was unsealed meanwhile".into(),
            ));
        }
        *slot = Some(ring);
        tracing::info!("barrier resumed");
        Ok(())
    }
}
