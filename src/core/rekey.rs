//! Rekey: new unseal key shares from a quorum of the current ones (Vault's `sys/rekey/*`).
//!
//! One attempt at a time, in memory only: its nonce, the new split (shares, threshold,
//! optional PGP keys and backup, optional verification) and the current shares given so
//! far. At the current threshold the shares are combined and checked against the root key
//! (never unsealing anything); then a new unseal key is made and split
//! ([`PendingRekey`]), and either committed at once ([`Barrier::rekey`]: new seal
//! configuration and root-key envelope in one batch) or, with `require_verification`, held
//! until a threshold of the *new* shares is given back to `sys/rekey/verify`. The old
//! shares stay valid until that commit, across crashes too; after it only the new ones
//! open the root key. The root key and the keyring never change.
//!
//! Wrong shares end the try (progress back to 0) but keep the attempt, as Vault does; a
//! duplicate or malformed share is refused and keeps the progress. Cancelling or sealing
//! discards the attempt, and with it any new shares not yet verified. Shares are never
//! logged; the held ones are wiped when dropped.
//!
//! [`Barrier::rekey`]: vaultrs_storage::Barrier::rekey

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};
use vaultrs_storage::barrier::{PendingRekey, SealConfig, ShareCollector};
use vaultrs_storage::Error as StorageError;
use zeroize::Zeroizing;

use super::seal_keys::{self, check_count};
use super::Core;
use crate::error::{Error, Result};
use crate::pgp::{self, PublicKey};

/// What `PUT sys/rekey/init` asks for.
#[derive(Debug, Default)]
pub struct RekeyRequest {
    pub secret_shares: i64,
    pub secret_threshold: i64,
    pub pgp_keys: Vec<String>,
    pub backup: bool,
    pub require_verification: bool,
}

/// Vault's rekey status object (`sys/rekey/init`, and `sys/rekey/update` below the
/// threshold).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RekeyStatus {
    pub nonce: String,
    pub started: bool,
    /// The new threshold and shares (0 when nothing is started).
    pub t: usize,
    pub n: usize,
    pub progress: usize,
    /// The current threshold: shares needed to authorize the rekey.
    pub required: usize,
    pub pgp_fingerprints: Option<Vec<String>>,
    pub backup: bool,
    pub verification_required: bool,
    pub verification_nonce: String,
}

impl RekeyStatus {
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("nonce".into(), self.nonce.clone().into());
        m.insert("started".into(), self.started.into());
        m.insert("t".into(), self.t.into());
        m.insert("n".into(), self.n.into());
        m.insert("progress".into(), self.progress.into());
        m.insert("required".into(), self.required.into());
        m.insert(
            "pgp_fingerprints".into(),
            fingerprints_json(&self.pgp_fingerprints),
        );
        m.insert("backup".into(), self.backup.into());
        m.insert(
            "verification_required".into(),
            self.verification_required.into(),
        );
        if !self.verification_nonce.is_empty() {
            m.insert(
                "verification_nonce".into(),
                self.verification_nonce.clone().into(),
            );
        }
        m
    }
}

fn fingerprints_json(fps: &Option<Vec<String>>) -> Value {
    match fps {
        Some(fps) => fps.clone().into(),
        None => Value::Null,
    }
}

/// The new shares, handed out once when the current quorum is complete.
pub struct RekeyKeys {
    pub nonce: String,
    /// Raw shares, or with PGP keys the encrypted messages.
    pub keys: Vec<Zeroizing<Vec<u8>>>,
    pub pgp_fingerprints: Option<Vec<String>>,
    pub backup: bool,
    pub verification_required: bool,
    pub verification_nonce: String,
}

impl std::fmt::Debug for RekeyKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RekeyKeys")
            .field("nonce", &self.nonce)
            .field("keys", &format_args!("[REDACTED; {}]", self.keys.len()))
            .field("verification_required", &self.verification_required)
            .finish_non_exhaustive()
    }
}

impl RekeyKeys {
    /// Vault's update response: `keys` (hex) and `keys_base64`, `complete: true`.
    pub fn to_json(&self) -> Map<String, Value> {
        let hex: Vec<Value> = self
            .keys
            .iter()
            .map(|k| hex::encode(&k[..]).into())
            .collect();
        let b64: Vec<Value> = self
            .keys
            .iter()
            .map(|k| STANDARD.encode(&k[..]).into())
            .collect();
        let mut m = Map::new();
        m.insert("nonce".into(), self.nonce.clone().into());
        m.insert("complete".into(), true.into());
        m.insert("keys".into(), hex.into());
        m.insert("keys_base64".into(), b64.into());
        m.insert(
            "pgp_fingerprints".into(),
            fingerprints_json(&self.pgp_fingerprints),
        );
        m.insert("backup".into(), self.backup.into());
        m.insert(
            "verification_required".into(),
            self.verification_required.into(),
        );
        if !self.verification_nonce.is_empty() {
            m.insert(
                "verification_nonce".into(),
                self.verification_nonce.clone().into(),
            );
        }
        m
    }
}

/// What one `sys/rekey/update` did.
#[derive(Debug)]
pub enum RekeyUpdate {
    Progress(RekeyStatus),
    Complete(RekeyKeys),
}

/// Vault's verification status object (`sys/rekey/verify`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyStatus {
    pub nonce: String,
    pub started: bool,
    pub t: usize,
    pub n: usize,
    pub progress: usize,
}

impl VerifyStatus {
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("nonce".into(), self.nonce.clone().into());
        m.insert("started".into(), self.started.into());
        m.insert("t".into(), self.t.into());
        m.insert("n".into(), self.n.into());
        m.insert("progress".into(), self.progress.into());
        m
    }
}

/// What one `sys/rekey/verify` update did.
#[derive(Debug)]
pub enum VerifyUpdate {
    Progress(VerifyStatus),
    /// The new shares are in effect; the verification nonce.
    Complete(String),
}

/// New shares handed out and waiting for a threshold of them to come back.
struct Verification {
    nonce: String,
    pending: PendingRekey,
    shares: ShareCollector,
    backup: Option<Vec<u8>>,
}

/// The attempt in progress.
struct Attempt {
    nonce: String,
    config: SealConfig,
    pgp: Vec<PublicKey>,
    backup: bool,
    require_verification: bool,
    /// Current shares given so far.
    shares: ShareCollector,
    verification: Option<Verification>,
}

impl Attempt {
    fn fingerprints(&self) -> Option<Vec<String>> {
        (!self.pgp.is_empty()).then(|| {
            self.pgp
                .iter()
                .map(|k| k.fingerprint().to_owned())
                .collect()
        })
    }

    fn status(&self, required: usize) -> RekeyStatus {
        let fingerprints = self.fingerprints();
        RekeyStatus {
            nonce: self.nonce.clone(),
            started: true,
            t: self.config.secret_threshold,
            n: self.config.secret_shares,
            progress: self.shares.progress(),
            required,
            backup: fingerprints.is_some() && self.backup,
            pgp_fingerprints: fingerprints,
            verification_required: self.require_verification,
            verification_nonce: self
                .verification
                .as_ref()
                .map(|v| v.nonce.clone())
                .unwrap_or_default(),
        }
    }

    fn verify_status(&self) -> VerifyStatus {
        let v = self.verification.as_ref();
        VerifyStatus {
            nonce: v.map(|v| v.nonce.clone()).unwrap_or_default(),
            started: v.is_some(),
            t: self.config.secret_threshold,
            n: self.config.secret_shares,
            progress: v.map_or(0, |v| v.shares.progress()),
        }
    }

    /// The backup document Vault stores: `{"Nonce", "Keys": {fingerprint: [hex, ...]}}`.
    fn backup_doc(&self, encrypted: &[Zeroizing<Vec<u8>>]) -> Result<Option<Vec<u8>>> {
        if !self.backup || self.pgp.is_empty() {
            return Ok(None);
        }
        let mut keys: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (key, share) in self.pgp.iter().zip(encrypted) {
            keys.entry(key.fingerprint())
                .or_default()
                .push(hex::encode(&share[..]));
        }
        let doc = serde_json::json!({ "Nonce": self.nonce, "Keys": keys });
        serde_json::to_vec(&doc)
            .map(Some)
            .map_err(|e| Error::Internal(format!("encoding the key backup: {e}")))
    }
}

/// The core's rekey state: at most one attempt. Operations on it are serialized (an
/// async lock, held across the verification and the commit).
#[derive(Default)]
pub(crate) struct Rekey {
    attempt: tokio::sync::Mutex<Option<Attempt>>,
}

impl Rekey {
    /// Ends the attempt, if any (seal). Its shares and any unverified new key are wiped.
    pub(crate) async fn discard(&self) {
        self.attempt.lock().await.take();
    }
}

fn duplicate(what: &str) -> Error {
    Error::invalid(format!(
        "given key has already been provided during this {what} operation"
    ))
}

impl Core {
    /// `GET sys/rekey/init`.
    pub async fn rekey_status(&self) -> Result<RekeyStatus> {
        let config = self.quorum_config().await?;
        let slot = self.rekey.attempt.lock().await;
        Ok(match slot.as_ref() {
            Some(attempt) => attempt.status(config.secret_threshold),
            None => RekeyStatus {
                required: config.secret_threshold,
                ..RekeyStatus::default()
            },
        })
    }

    /// `PUT sys/rekey/init`: starts an attempt.
    pub async fn rekey_init(&self, req: RekeyRequest) -> Result<RekeyStatus> {
        if req.backup && req.pgp_keys.is_empty() {
            return Err(Error::invalid(
                "cannot request a backup of the new keys without providing PGP keys for encryption",
            ));
        }
        if !req.pgp_keys.is_empty() && i64::try_from(req.pgp_keys.len()) != Ok(req.secret_shares) {
            return Err(Error::invalid("incorrect number of PGP keys for rekey"));
        }
        let config = seal_keys::validate_split(req.secret_shares, req.secret_threshold)
            .map_err(|e| Error::invalid(format!("invalid rekey seal configuration: {e}")))?;
        let pgp = pgp::parse_keys(&req.pgp_keys)?;
        check_count(
            &pgp,
            config.secret_shares,
            "incorrect number of PGP keys for rekey",
        )?;
        let current = self.quorum_config().await?;
        if self.barrier.is_follower() {
            return Err(Error::invalid(
                "cannot rekey a replication secondary: it unseals with its primary's keys; \
                 rekey the primary",
            ));
        }
        let mut slot = self.rekey.attempt.lock().await;
        if slot.is_some() {
            return Err(Error::invalid("rekey already in progress"));
        }
        let attempt = Attempt {
            nonce: crate::util::uuid(),
            config,
            pgp,
            backup: req.backup,
            require_verification: req.require_verification,
            shares: ShareCollector::new(),
            verification: None,
        };
        tracing::info!(
            shares = config.secret_shares,
            threshold = config.secret_threshold,
            verification_required = req.require_verification,
            "rekey started"
        );
        let status = attempt.status(current.secret_threshold);
        *slot = Some(attempt);
        Ok(status)
    }

    /// `DELETE sys/rekey/init`: ends the attempt in progress, if any. The current shares
    /// stay valid (also when new ones were handed out but not verified).
    pub async fn rekey_cancel(&self) -> Result<()> {
        self.active()?;
        if self.rekey.attempt.lock().await.take().is_some() {
            tracing::info!("rekey canceled");
        }
        Ok(())
    }

    /// `PUT sys/rekey/update`: one current share. At the current threshold the quorum is
    /// checked, the new shares made and (without verification) put in effect.
    pub async fn rekey_update(&self, share: &[u8], nonce: &str) -> Result<RekeyUpdate> {
        let current = self.quorum_config().await?;
        let mut slot = self.rekey.attempt.lock().await;
        let attempt = slot
            .as_mut()
            .ok_or_else(|| Error::invalid("no barrier rekey in progress"))?;
        if let Some(v) = &attempt.verification {
            return Err(Error::invalid(format!(
                "rekey operation already finished; verification must be performed; nonce for the verification operation is {:?}",
                v.nonce
            )));
        }
        if !crate::util::ct_eq(nonce.as_bytes(), attempt.nonce.as_bytes()) {
            return Err(Error::invalid(format!(
                "incorrect nonce supplied; nonce for this rekey operation is {:?}",
                attempt.nonce
            )));
        }
        let combined = match attempt.shares.add(&current, share) {
            Ok(None) => {
                return Ok(RekeyUpdate::Progress(
                    attempt.status(current.secret_threshold),
                ))
            }
            Ok(Some(key)) => key,
            Err(StorageError::DuplicateShare) => return Err(duplicate("rekey")),
            Err(StorageError::InvalidRequest(m)) => return Err(Error::invalid(m)),
            Err(StorageError::InvalidUnsealKey) => return Err(wrong_quorum()),
            Err(e) => return Err(e.into()),
        };
        // The collector has reset itself: a wrong quorum leaves the attempt at progress 0.
        match self.barrier.verify_unseal_key(&combined).await {
            Ok(()) => {}
            Err(StorageError::InvalidUnsealKey) => return Err(wrong_quorum()),
            Err(e) => return Err(e.into()),
        }
        drop(combined);
        let (pending, shares) = PendingRekey::generate(attempt.config)?;
        let keys = seal_keys::deliver(shares, &attempt.pgp)?;
        let backup = attempt.backup_doc(&keys)?;
        let mut result = RekeyKeys {
            nonce: attempt.nonce.clone(),
            keys,
            pgp_fingerprints: attempt.fingerprints(),
            backup: backup.is_some(),
            verification_required: attempt.require_verification,
            verification_nonce: String::new(),
        };
        if attempt.require_verification {
            let nonce = crate::util::uuid();
            result.verification_nonce = nonce.clone();
            attempt.verification = Some(Verification {
                nonce,
                pending,
                shares: ShareCollector::new(),
                backup,
            });
            tracing::info!("rekey: new shares handed out; they take effect once verified");
            return Ok(RekeyUpdate::Complete(result));
        }
        self.barrier.rekey(&pending, backup).await?;
        *slot = None;
        Ok(RekeyUpdate::Complete(result))
    }

    /// `GET sys/rekey/verify`.
    pub async fn rekey_verify_status(&self) -> Result<VerifyStatus> {
        self.quorum_config().await?;
        let slot = self.rekey.attempt.lock().await;
        slot.as_ref()
            .map(Attempt::verify_status)
            .ok_or_else(|| Error::invalid("no rekey configuration found"))
    }

    /// `DELETE sys/rekey/verify`: starts the verification over (progress 0, a new nonce);
    /// the new shares stay the same.
    pub async fn rekey_verify_restart(&self) -> Result<VerifyStatus> {
        self.quorum_config().await?;
        let mut slot = self.rekey.attempt.lock().await;
        if let Some(v) = slot.as_mut().and_then(|a| a.verification.as_mut()) {
            v.shares.reset();
            v.nonce = crate::util::uuid();
        }
        slot.as_ref()
            .map(Attempt::verify_status)
            .ok_or_else(|| Error::invalid("no rekey configuration found"))
    }

    /// `PUT sys/rekey/verify`: one *new* share. At the new threshold, if they combine into
    /// the new unseal key, it is put in effect.
    pub async fn rekey_verify(&self, share: &[u8], nonce: &str) -> Result<VerifyUpdate> {
        self.quorum_config().await?;
        let mut slot = self.rekey.attempt.lock().await;
        let attempt = slot
            .as_mut()
            .ok_or_else(|| Error::invalid("no rekey in progress"))?;
        let config = attempt.config;
        let v = attempt
            .verification
            .as_mut()
            .ok_or_else(|| Error::invalid("no rekey verification in progress"))?;
        if !crate::util::ct_eq(nonce.as_bytes(), v.nonce.as_bytes()) {
            return Err(Error::invalid(format!(
                "incorrect nonce supplied; nonce for this verify operation is {:?}",
                v.nonce
            )));
        }
        let failed = |v: &mut Verification| {
            // As Vault: a failed verification starts over under a new nonce.
            v.shares.reset();
            v.nonce = crate::util::uuid();
            Error::invalid("rekey verification failed; incorrect key shares supplied")
        };
        let combined = match v.shares.add(&config, share) {
            Ok(None) => return Ok(VerifyUpdate::Progress(attempt.verify_status())),
            Ok(Some(key)) => key,
            Err(StorageError::DuplicateShare) => return Err(duplicate("verify")),
            Err(StorageError::InvalidRequest(m)) => return Err(Error::invalid(m)),
            Err(StorageError::InvalidUnsealKey) => return Err(failed(v)),
            Err(e) => return Err(e.into()),
        };
        if !v.pending.matches(&combined) {
            tracing::warn!("rekey verification failed: the shares are not the new ones");
            return Err(failed(v));
        }
        drop(combined);
        self.barrier.rekey(&v.pending, v.backup.take()).await?;
        let nonce = v.nonce.clone();
        *slot = None;
        Ok(VerifyUpdate::Complete(nonce))
    }

    /// `GET sys/rekey/backup`: the stored PGP-encrypted shares of the last rekey, as
    /// Vault answers them (`nonce`, `keys` hex and `keys_base64` by fingerprint).
    pub async fn rekey_backup(&self) -> Result<Map<String, Value>> {
        self.active()?;
        let stored = self
            .barrier
            .unseal_keys_backup()
            .await?
            .ok_or_else(|| Error::invalid("no backed-up keys found"))?;
        let doc: StoredBackup = serde_json::from_slice(&stored)
            .map_err(|e| Error::Internal(format!("decoding the key backup: {e}")))?;
        let mut b64: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (fp, keys) in &doc.keys {
            for key in keys {
                let raw = hex::decode(key)
                    .map_err(|e| Error::Internal(format!("decoding the key backup: {e}")))?;
                b64.entry(fp).or_default().push(STANDARD.encode(raw));
            }
        }
        let mut m = Map::new();
        m.insert("nonce".into(), doc.nonce.clone().into());
        m.insert("keys".into(), serde_json::json!(doc.keys));
        m.insert("keys_base64".into(), serde_json::json!(b64));
        Ok(m)
    }

    /// `DELETE sys/rekey/backup`.
    pub async fn rekey_backup_delete(&self) -> Result<()> {
        self.active()?;
        let _serial = self.rekey.attempt.lock().await;
        self.barrier.delete_unseal_keys_backup().await?;
        Ok(())
    }
}

fn wrong_quorum() -> Error {
    tracing::warn!("rekey: the key shares given do not open the root key");
    Error::invalid("root key verification failed: invalid key")
}

/// The stored backup document (Vault's `RekeyBackup`).
#[derive(serde::Deserialize)]
struct StoredBackup {
    #[serde(rename = "Nonce")]
    nonce: String,
    #[serde(rename = "Keys")]
    keys: BTreeMap<String, Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_shapes() {
        let idle = RekeyStatus {
            required: 3,
            ..RekeyStatus::default()
        }
        .to_json();
        let keys: Vec<&str> = idle.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "backup",
                "n",
                "nonce",
                "pgp_fingerprints",
                "progress",
                "required",
                "started",
                "t",
                "verification_required"
            ]
        );
        assert_eq!(idle["pgp_fingerprints"], Value::Null);
        let v = RekeyStatus {
            verification_nonce: "x".into(),
            pgp_fingerprints: Some(vec!["ab".into()]),
            ..RekeyStatus::default()
        }
        .to_json();
        assert_eq!(v["verification_nonce"], "x");
        assert_eq!(v["pgp_fingerprints"], serde_json::json!(["ab"]));
    }

    #[test]
    fn keys_render_hex_and_base64_and_debug_hides_them() {
        let keys = RekeyKeys {
            nonce: "n".into(),
            keys: vec![Zeroizing::new(vec![0xde, 0xad])],
            pgp_fingerprints: None,
            backup: false,
            verification_required: false,
            verification_nonce: String::new(),
        };
        let m = keys.to_json();
        assert_eq!(m["keys"], serde_json::json!(["dead"]));
        assert_eq!(m["keys_base64"], serde_json::json!(["3q0="]));
        assert_eq!(m["complete"], true);
        assert!(!m.contains_key("verification_nonce"));
        let shown = format!("{keys:?}");
        assert!(!shown.contains("dead") && !shown.contains("222"), "{shown}");
    }
}
