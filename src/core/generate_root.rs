//! Root token generation from a quorum of unseal key shares (Vault's `generate-root`).
//!
//! One attempt at a time, held in memory only: a nonce, the one-time password (OTP) and a
//! [`ShareCollector`]. Each share is checked against the attempt's nonce; at the seal
//! configuration's threshold the shares are combined and the result verified against the
//! barrier's root key (never unsealing anything). A verified quorum mints a root token
//! (policy `root`, path `auth/token/root`) and hands it out once, encoded as
//! `base64-no-pad(token XOR otp)`, or with a `pgp_key` as base64 of the token encrypted to
//! that key (Vault's two strategies); the attempt ends there.
//!
//! Wrong shares end the try (progress back to 0) but keep the attempt, as Vault does; a
//! duplicate or malformed share is refused and keeps the progress. Sealing discards the
//! attempt. The OTP and the new token are never logged.
//!
//! The serving layers are thin: the unauthenticated raw `sys/generate-root/*` endpoints
//! (HTTP layer) and OpenBao's authenticated `sys/generate-root-token/*` twin (system
//! backend) both call the methods here.

use std::sync::{Arc, Mutex, MutexGuard};

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use vaultrs_storage::barrier::ShareCollector;
use zeroize::Zeroizing;

use super::tokens::SERVICE_TOKEN_PREFIX;
use super::Core;
use crate::error::{Error, Result};
use crate::pgp::PublicKey;

/// Random characters of a generated service token (after the prefix).
const TOKEN_RANDOM_LEN: usize = 24;

/// The OTP length the server expects: a whole root token, `hvs.` + 24 (Vault ≥ 1.10).
pub const OTP_LENGTH: usize = SERVICE_TOKEN_PREFIX.len() + TOKEN_RANDOM_LEN;

/// Where root generation stands: the fields of Vault's status object.
#[derive(Clone, Default)]
pub struct GenerateRootStatus {
    pub nonce: String,
    pub started: bool,
    pub progress: usize,
    pub required: usize,
    pub complete: bool,
    /// The new root token, encoded; set once, when the attempt completes.
    pub encoded_token: String,
    /// The server-generated OTP; set once, in the response that started the attempt.
    pub otp: String,
    /// The fingerprint of the attempt's PGP key, if it has one.
    pub pgp_fingerprint: String,
    pub otp_length: usize,
}

impl std::fmt::Debug for GenerateRootStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerateRootStatus")
            .field("nonce", &self.nonce)
            .field("started", &self.started)
            .field("progress", &self.progress)
            .field("required", &self.required)
            .field("complete", &self.complete)
            .field("encoded_token", &redacted(&self.encoded_token))
            .field("otp", &redacted(&self.otp))
            .field("pgp_fingerprint", &self.pgp_fingerprint)
            .field("otp_length", &self.otp_length)
            .finish()
    }
}

fn redacted(s: &str) -> &'static str {
    if s.is_empty() {
        ""
    } else {
        "[REDACTED]"
    }
}

impl GenerateRootStatus {
    /// Vault's status object: every key always present. `encoded_root_token` repeats
    /// `encoded_token` (the standard strategy fills both).
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("nonce".into(), self.nonce.clone().into());
        m.insert("started".into(), self.started.into());
        m.insert("progress".into(), self.progress.into());
        m.insert("required".into(), self.required.into());
        m.insert("complete".into(), self.complete.into());
        m.insert("encoded_token".into(), self.encoded_token.clone().into());
        m.insert(
            "encoded_root_token".into(),
            self.encoded_token.clone().into(),
        );
        m.insert(
            "pgp_fingerprint".into(),
            self.pgp_fingerprint.clone().into(),
        );
        m.insert("otp".into(), self.otp.clone().into());
        m.insert("otp_length".into(), self.otp_length.into());
        m
    }
}

/// How the new root token leaves the server.
enum Encoding {
    /// XORed with a one-time password.
    Otp(Zeroizing<String>),
    /// Encrypted to a PGP key.
    Pgp(Box<PublicKey>),
}

impl Encoding {
    fn fingerprint(&self) -> String {
        match self {
            Encoding::Otp(_) => String::new(),
            Encoding::Pgp(key) => key.fingerprint().to_owned(),
        }
    }

    fn encode(&self, token: &str) -> Result<String> {
        match self {
            Encoding::Otp(otp) => encode_token(token, otp),
            Encoding::Pgp(key) => {
                use base64::engine::general_purpose::STANDARD;
                Ok(STANDARD.encode(key.encrypt(token.as_bytes())?))
            }
        }
    }
}

/// The attempt in progress.
struct Attempt {
    nonce: String,
    encoding: Arc<Encoding>,
    shares: ShareCollector,
}

/// The core's generate-root state: at most one attempt.
#[derive(Default)]
pub(crate) struct GenerateRoot {
    attempt: Mutex<Option<Attempt>>,
}

impl GenerateRoot {
    fn slot(&self) -> MutexGuard<'_, Option<Attempt>> {
        self.attempt.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends the attempt, if any (cancel, seal). Its shares and OTP are wiped.
    pub(crate) fn discard(&self) {
        self.slot().take();
    }
}

/// Decodes a key share as given over HTTP: hex first, then standard base64, each within
/// key-length bounds (a base64 string that happens to be hex of the wrong length falls
/// through to base64).
pub fn decode_key(key: &str) -> Result<Zeroizing<Vec<u8>>> {
    let in_bounds = |k: &[u8]| (16..=64).contains(&k.len());
    let key = key.trim();
    if let Ok(k) = hex::decode(key) {
        let k = Zeroizing::new(k);
        if in_bounds(&k) {
            return Ok(k);
        }
    }
    match base64::engine::general_purpose::STANDARD.decode(key) {
        Ok(k) => {
            let k = Zeroizing::new(k);
            if in_bounds(&k) {
                return Ok(k);
            }
            Err(Error::invalid("'key' must be a valid hex or base64 string"))
        }
        Err(_) => Err(Error::invalid("'key' must be a valid hex or base64 string")),
    }
}

/// `base64-no-pad(token XOR otp)`; both must have the same length.
pub fn encode_token(token: &str, otp: &str) -> Result<String> {
    if token.len() != otp.len() {
        return Err(Error::Internal(format!(
            "root token length {} differs from the OTP length {}",
            token.len(),
            otp.len()
        )));
    }
    let xored: Zeroizing<Vec<u8>> =
        Zeroizing::new(token.bytes().zip(otp.bytes()).map(|(t, o)| t ^ o).collect());
    Ok(STANDARD_NO_PAD.encode(&*xored))
}

/// The inverse of [`encode_token`] (OpenBao's `sys/decode-token`).
pub fn decode_token(encoded: &str, otp: &str) -> Result<Zeroizing<String>> {
    let bytes = Zeroizing::new(
        STANDARD_NO_PAD
            .decode(encoded.trim())
            .map_err(|e| Error::invalid(format!("error decoding base64'd token: {e}")))?,
    );
    if bytes.len() != otp.len() {
        return Err(Error::invalid(format!(
            "length of byte slices is not equivalent: {} != {}",
            bytes.len(),
            otp.len()
        )));
    }
    let plain: Vec<u8> = bytes.iter().zip(otp.bytes()).map(|(t, o)| t ^ o).collect();
    String::from_utf8(plain)
        .map(Zeroizing::new)
        .map_err(|_| Error::invalid("the decoded token is not valid text; check the OTP"))
}

impl Core {
    /// The status of the attempt in progress (`GET .../attempt`). The OTP is never shown.
    pub async fn generate_root_status(&self) -> Result<GenerateRootStatus> {
        let config = self.quorum_config().await?;
        let slot = self.generate_root.slot();
        let mut status = GenerateRootStatus {
            required: config.secret_threshold,
            otp_length: OTP_LENGTH,
            ..GenerateRootStatus::default()
        };
        if let Some(attempt) = slot.as_ref() {
            status.started = true;
            status.nonce = attempt.nonce.clone();
            status.progress = attempt.shares.progress();
            status.pgp_fingerprint = attempt.encoding.fingerprint();
        }
        Ok(status)
    }

    /// Starts an attempt (`PUT .../attempt`). With a `pgp_key` the token will be encrypted
    /// to it; otherwise with the given OTP, or with one the server generates and returns in
    /// this response only.
    pub async fn generate_root_init(
        &self,
        otp: Option<&str>,
        pgp_key: Option<&str>,
    ) -> Result<GenerateRootStatus> {
        let given = otp.filter(|o| !o.is_empty());
        let pgp_key = pgp_key.filter(|k| !k.trim().is_empty());
        if given.is_some() && pgp_key.is_some() {
            return Err(Error::invalid(
                "only one of 'otp' and 'pgp_key' may be given",
            ));
        }
        let pgp_key = pgp_key.map(PublicKey::parse).transpose()?;
        if let Some(otp) = given {
            if otp.len() != OTP_LENGTH {
                return Err(Error::invalid(format!(
                    "OTP string is wrong length: it must be {OTP_LENGTH} characters"
                )));
            }
        }
        self.quorum_config().await?;
        let generated = given.is_none() && pgp_key.is_none();
        let encoding = match pgp_key {
            Some(key) => Encoding::Pgp(Box::new(key)),
            None => Encoding::Otp(Zeroizing::new(match given {
                Some(otp) => otp.to_owned(),
                None => crate::util::random_base62(OTP_LENGTH),
            })),
        };
        let shown_otp = match (&encoding, generated) {
            (Encoding::Otp(otp), true) => otp.as_str().to_owned(),
            _ => String::new(),
        };
        {
            let mut slot = self.generate_root.slot();
            if slot.is_some() {
                return Err(Error::invalid("root generation already in progress"));
            }
            *slot = Some(Attempt {
                nonce: crate::util::uuid(),
                encoding: Arc::new(encoding),
                shares: ShareCollector::new(),
            });
        }
        tracing::info!("root generation started");
        let mut status = self.generate_root_status().await?;
        status.otp = shown_otp;
        Ok(status)
    }

    /// Cancels the attempt in progress, if any (`DELETE .../attempt`).
    pub fn generate_root_cancel(&self) -> Result<()> {
        self.active()?;
        if self.generate_root.slot().take().is_some() {
            tracing::info!("root generation canceled");
        }
        Ok(())
    }

    /// Gives one key share (`PUT .../update`). Below the threshold: the progress. At the
    /// threshold: the combined key is verified, a root token minted and returned encoded
    /// with the OTP, and the attempt ends.
    pub async fn generate_root_update(
        &self,
        share: &[u8],
        nonce: &str,
    ) -> Result<GenerateRootStatus> {
        use vaultrs_storage::Error as StorageError;
        let config = self.quorum_config().await?;
        let active = self.active()?;
        let status = |progress: usize| GenerateRootStatus {
            nonce: nonce.to_owned(),
            started: true,
            progress,
            required: config.secret_threshold,
            complete: progress == config.secret_threshold,
            ..GenerateRootStatus::default()
        };
        let aborted = || Error::invalid("root generation aborted: invalid key");
        let (combined, encoding) = {
            let mut slot = self.generate_root.slot();
            let attempt = slot
                .as_mut()
                .ok_or_else(|| Error::invalid("no root generation in progress"))?;
            if !crate::util::ct_eq(nonce.as_bytes(), attempt.nonce.as_bytes()) {
                return Err(Error::invalid(format!(
                    "incorrect nonce supplied; nonce for this root generation operation is {:?}",
                    attempt.nonce
                )));
            }
            match attempt.shares.add(&config, share) {
                Ok(None) => {
                    return Ok(GenerateRootStatus {
                        pgp_fingerprint: attempt.encoding.fingerprint(),
                        ..status(attempt.shares.progress())
                    })
                }
                Ok(Some(key)) => (key, Arc::clone(&attempt.encoding)),
                Err(StorageError::DuplicateShare) => {
                    return Err(Error::invalid(
                        "given key has already been provided during this generation operation",
                    ))
                }
                Err(StorageError::InvalidRequest(m)) => return Err(Error::invalid(m)),
                Err(StorageError::InvalidUnsealKey) => {
                    tracing::warn!("root generation aborted: the key shares do not combine");
                    return Err(aborted());
                }
                Err(e) => return Err(e.into()),
            }
        };
        // The collector has reset itself: a wrong quorum leaves the attempt at progress 0.
        match self.barrier.verify_unseal_key(&combined).await {
            Ok(()) => {}
            Err(StorageError::InvalidUnsealKey) => {
                tracing::warn!("root generation aborted: the key shares are not this server's");
                return Err(aborted());
            }
            Err(e) => return Err(e.into()),
        }
        drop(combined);
        {
            // End the attempt before minting: the quorum yields one token, even if a
            // cancel and a new attempt raced with the verification above.
            let mut slot = self.generate_root.slot();
            match slot.as_ref() {
                Some(a) if a.nonce == nonce => *slot = None,
                _ => return Err(Error::invalid("root generation was canceled")),
            }
        }
        let token = Zeroizing::new(self.create_root_token_in(&active, None).await?);
        let encoded = encoding.encode(&token)?;
        tracing::info!("root generation complete: a new root token was created");
        Ok(GenerateRootStatus {
            encoded_token: encoded,
            pgp_fingerprint: encoding.fingerprint(),
            ..status(config.secret_threshold)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_encode_and_decode() {
        let token = "hvs.abcdefghijklmnopqrstuvwx";
        let otp = crate::util::random_base62(OTP_LENGTH);
        let encoded = encode_token(token, &otp).unwrap();
        assert!(!encoded.ends_with('='), "no padding: {encoded}");
        assert_eq!(decode_token(&encoded, &otp).unwrap().as_str(), token);
        assert!(encode_token(token, "short").is_err());
        assert!(decode_token(&encoded, "short").is_err());
        assert!(decode_token(&format!("{encoded}="), &otp).is_err());
    }

    #[test]
    fn keys_decode_hex_then_base64() {
        let raw = [7u8; 33];
        assert_eq!(&*decode_key(&hex::encode(raw)).unwrap(), &raw);
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        assert_eq!(&*decode_key(&b64).unwrap(), &raw);
        // Valid hex of an out-of-bounds length falls through to base64.
        assert_eq!(decode_key(&"ab".repeat(16)).unwrap().len(), 16);
        assert_eq!(decode_key(&"ab".repeat(12)).unwrap().len(), 18);
        assert!(decode_key("zz").is_err());
        assert!(decode_key("").is_err());
    }

    #[test]
    fn status_has_every_field() {
        let s = GenerateRootStatus {
            encoded_token: "x".into(),
            ..GenerateRootStatus::default()
        };
        let m = s.to_json();
        for k in [
            "nonce",
            "started",
            "progress",
            "required",
            "complete",
            "encoded_token",
            "encoded_root_token",
            "pgp_fingerprint",
            "otp",
            "otp_length",
        ] {
            assert!(m.contains_key(k), "{k}");
        }
        assert_eq!(m["encoded_root_token"], "x");
        assert!(!format!("{s:?}").contains("\"x\""));
    }
}
