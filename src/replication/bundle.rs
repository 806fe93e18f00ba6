//! The activation bundle: what a secondary needs to join (the cluster CA, its client
//! certificate and key, where and who the primary is), sealed by the primary to the
//! secondary's ephemeral X25519 key, so it is safe on plain HTTP.
//!
//! Sealing (an ECIES-style construction from audited parts, nothing hand-rolled):
//! 1. the primary makes an ephemeral X25519 key `e` and computes `DH(e, S)` with the
//!    secondary's public key `S` (refusing low-order keys: the shared secret must be
//!    contributory);
//! 2. HKDF-SHA256 over that secret, with `info` = [`HKDF_INFO`] ‖ `E` ‖ `S` (both public
//!    keys bound in), gives a 32-byte AES key and a 12-byte nonce — both fresh for every
//!    `e`, which is never reused;
//! 3. AES-256-GCM encrypts the bundle's JSON with the activation token's `jti` as
//!    additional data, so a bundle opens only for the token it answered.
//!
//! The envelope ([`SealedBundle`]) is JSON with base64 fields. The secondary opens it with
//! its [`SecondaryKeyPair`], which is consumed (one use).

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use x25519_dalek::{EphemeralSecret, PublicKey, SharedSecret};
use zeroize::Zeroizing;

use super::ca::IssuedCert;
use super::error::ActivationError;
use super::id::SecondaryId;
use super::secret::SecretString;

/// The envelope format version.
pub const SEALED_BUNDLE_VERSION: u32 = 1;
/// HKDF domain separation (followed by the two public keys).
pub const HKDF_INFO: &[u8] = b"vaultrs replication activation bundle v1";
/// Largest ciphertext accepted (a bundle is a few KiB).
const MAX_CIPHERTEXT: usize = 256 * 1024;

/// What the primary hands a secondary at activation. Secret fields are [`SecretString`]s,
/// so `Debug` shows no key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationBundle {
    /// The primary's cluster id (the secondary takes it as its own).
    pub cluster_id: String,
    pub secondary_id: SecondaryId,
    /// The primary's API address (forwarded writes, status).
    pub primary_api_addr: String,
    /// The primary's cluster address (its mutual-TLS listener).
    pub primary_cluster_addr: String,
    /// The name to verify the primary's server certificate against.
    pub server_name: String,
    /// The cluster CA certificate, the secondary's only trust anchor on the cluster channel.
    pub ca_cert_pem: String,
    /// The secondary's client certificate and its private key.
    pub client_cert: IssuedCert,
    /// The primary's dev root token id, when both sides run in dev mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev_root_token_id: Option<SecretString>,
}

/// The sealed bundle, as it travels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedBundle {
    pub version: u32,
    /// The primary's ephemeral X25519 public key, base64.
    pub ephemeral_public_key: String,
    /// AES-256-GCM ciphertext with its tag, base64.
    pub ciphertext: String,
}

/// A secondary's ephemeral X25519 key pair for one activation.
pub struct SecondaryKeyPair {
    secret: EphemeralSecret,
    public: PublicKey,
}

impl fmt::Debug for SecondaryKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecondaryKeyPair")
            .field("public", &self.public_key())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl SecondaryKeyPair {
    pub fn generate() -> Self {
        let secret = EphemeralSecret::random_from_rng(rand::rngs::OsRng);
        let public = PublicKey::from(&secret);
        SecondaryKeyPair { secret, public }
    }

    /// The public key, base64, as the secondary sends it.
    pub fn public_key(&self) -> String {
        B64.encode(self.public.as_bytes())
    }

    /// Opens a bundle sealed to this key for the token whose one-time id is `jti`.
    pub fn open(
        self,
        sealed: &SealedBundle,
        jti: &str,
    ) -> Result<ActivationBundle, ActivationError> {
        let malformed = |why: &str| ActivationError::MalformedBundle(why.to_string());
        if sealed.version != SEALED_BUNDLE_VERSION {
            return Err(malformed("unknown envelope version"));
        }
        if sealed.ciphertext.len() > MAX_CIPHERTEXT * 4 / 3 + 4 {
            return Err(malformed("ciphertext too large"));
        }
        let theirs = decode_public_key(&sealed.ephemeral_public_key)
            .map_err(|_| malformed("bad ephemeral public key"))?;
        let ciphertext = B64
            .decode(&sealed.ciphertext)
            .map_err(|_| malformed("ciphertext is not base64"))?;
        let ours = self.public;
        let shared = self.secret.diffie_hellman(&theirs);
        if !shared.was_contributory() {
            return Err(malformed("bad ephemeral public key"));
        }
        let (cipher, nonce) = derive(&shared, &theirs, &ours);
        let plaintext = cipher
            .decrypt(
                Nonce::from_slice(&nonce[..]),
                Payload {
                    msg: &ciphertext,
                    aad: jti.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| ActivationError::Decrypt)?;
        serde_json::from_slice(&plaintext)
            .map_err(|_| ActivationError::BundleMismatch("the bundle is not a bundle".into()))
    }
}

/// Checks a secondary's public key (base64, 32 bytes, not of low order) before anything
/// is done for it.
pub fn check_public_key(b64: &str) -> Result<PublicKey, ActivationError> {
    let key = decode_public_key(b64)?;
    let probe = EphemeralSecret::random_from_rng(rand::rngs::OsRng);
    if !probe.diffie_hellman(&key).was_contributory() {
        return Err(ActivationError::InvalidPublicKey(
            "the key is of low order".into(),
        ));
    }
    Ok(key)
}

fn decode_public_key(b64: &str) -> Result<PublicKey, ActivationError> {
    let bad = |why: &str| ActivationError::InvalidPublicKey(why.to_string());
    if b64.len() > 64 {
        return Err(bad("too long"));
    }
    let bytes = B64.decode(b64.trim()).map_err(|_| bad("not base64"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| bad("an X25519 public key is 32 bytes"))?;
    Ok(PublicKey::from(bytes))
}

/// Seals `bundle` to the secondary's public key (base64) for the token `jti`.
pub fn seal(
    bundle: &ActivationBundle,
    secondary_public_key: &str,
    jti: &str,
) -> Result<SealedBundle, ActivationError> {
    let theirs = check_public_key(secondary_public_key)?;
    let secret = EphemeralSecret::random_from_rng(rand::rngs::OsRng);
    let ours = PublicKey::from(&secret);
    let shared = secret.diffie_hellman(&theirs);
    if !shared.was_contributory() {
        return Err(ActivationError::InvalidPublicKey(
            "the key is of low order".into(),
        ));
    }
    let (cipher, nonce) = derive(&shared, &ours, &theirs);
    let mut plaintext = Zeroizing::new(Vec::with_capacity(16 * 1024));
    serde_json::to_writer(&mut *plaintext, bundle)
        .map_err(|e| ActivationError::Internal(format!("encoding the bundle: {e}")))?;
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce[..]),
            Payload {
                msg: &plaintext,
                aad: jti.as_bytes(),
            },
        )
        .map_err(|_| ActivationError::Internal("sealing the bundle failed".into()))?;
    Ok(SealedBundle {
        version: SEALED_BUNDLE_VERSION,
        ephemeral_public_key: B64.encode(ours.as_bytes()),
        ciphertext: B64.encode(ciphertext),
    })
}

/// The AES-256-GCM cipher and nonce for one (primary ephemeral, secondary) key pair.
fn derive(
    shared: &SharedSecret,
    primary_ephemeral: &PublicKey,
    secondary: &PublicKey,
) -> (Aes256Gcm, Zeroizing<[u8; 12]>) {
    let hk = Hkdf::<Sha256>::new(None, shared.as_bytes());
    let mut info = Vec::with_capacity(HKDF_INFO.len() + 64);
    info.extend_from_slice(HKDF_INFO);
    info.extend_from_slice(primary_ephemeral.as_bytes());
    info.extend_from_slice(secondary.as_bytes());
    let mut okm = Zeroizing::new([0u8; 44]);
    // 44 bytes is far below HKDF-SHA256's 8160-byte limit: this cannot fail.
    let _ = hk.expand(&info, &mut okm[..]);
    let cipher = Aes256Gcm::new(aes_gcm::Key::<Aes256Gcm>::from_slice(&okm[..32]));
    let mut nonce = Zeroizing::new([0u8; 12]);
    nonce.copy_from_slice(&okm[32..]);
    (cipher, nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> ActivationBundle {
        ActivationBundle {
            cluster_id: "c1".into(),
            secondary_id: SecondaryId::new("dc2").unwrap(),
            primary_api_addr: "https://127.0.0.1:8200".into(),
            primary_cluster_addr: "https://127.0.0.1:8201".into(),
            server_name: "c1.replication.vaultrs.invalid".into(),
            ca_cert_pem: "-----BEGIN CERTIFICATE-----\nca\n".into(),
            client_cert: IssuedCert {
                cert_pem: "cert".into(),
                key_pem: SecretString::new("-----BEGIN PRIVATE KEY-----\nsecret-key\n"),
                serial: "01".into(),
                not_after: 42,
            },
            dev_root_token_id: Some(SecretString::new("root-token-id")),
        }
    }

    #[test]
    fn round_trip() {
        let keys = SecondaryKeyPair::generate();
        let sealed = seal(&bundle(), &keys.public_key(), "jti-1").unwrap();
        // The envelope is JSON and shows nothing of the bundle.
        let json = serde_json::to_string(&sealed).unwrap();
        // (Only markers long enough not to turn up by chance in base64 ciphertext: "c1"
        // did, one run in a few.)
        for secret in ["secret-key", "root-token-id"] {
            assert!(!json.contains(secret), "{secret} visible in the envelope");
        }
        let sealed: SealedBundle = serde_json::from_str(&json).unwrap();
        assert_eq!(keys.open(&sealed, "jti-1").unwrap(), bundle());
    }

    #[test]
    fn debug_shows_no_secret() {
        let text = format!("{:?} {:?}", bundle(), SecondaryKeyPair::generate());
        assert!(!text.contains("secret-key"));
        assert!(!text.contains("root-token-id"));
    }

    #[test]
    fn wrong_key_fails() {
        let keys = SecondaryKeyPair::generate();
        let other = SecondaryKeyPair::generate();
        let sealed = seal(&bundle(), &keys.public_key(), "jti-1").unwrap();
        assert_eq!(other.open(&sealed, "jti-1"), Err(ActivationError::Decrypt));
    }

    #[test]
    fn another_jti_fails() {
        let keys = SecondaryKeyPair::generate();
        let sealed = seal(&bundle(), &keys.public_key(), "jti-1").unwrap();
        assert_eq!(keys.open(&sealed, "jti-2"), Err(ActivationError::Decrypt));
    }

    #[test]
    fn tampering_fails() {
        let pair = || SecondaryKeyPair::generate();
        // Flip each of a spread of ciphertext bytes (and the tag at the end).
        let keys = pair();
        let public = keys.public_key();
        let sealed = seal(&bundle(), &public, "jti").unwrap();
        let raw = B64.decode(&sealed.ciphertext).unwrap();
        drop(keys);
        for i in [0, 1, raw.len() / 2, raw.len() - 17, raw.len() - 1] {
            let keys = pair();
            let mut sealed = seal(&bundle(), &keys.public_key(), "jti").unwrap();
            let mut ct = B64.decode(&sealed.ciphertext).unwrap();
            ct[i] ^= 0x01;
            sealed.ciphertext = B64.encode(&ct);
            assert_eq!(
                keys.open(&sealed, "jti"),
                Err(ActivationError::Decrypt),
                "byte {i}"
            );
        }
        // Truncated.
        let keys = pair();
        let mut sealed = seal(&bundle(), &keys.public_key(), "jti").unwrap();
        let ct = B64.decode(&sealed.ciphertext).unwrap();
        sealed.ciphertext = B64.encode(&ct[..ct.len() - 1]);
        assert_eq!(keys.open(&sealed, "jti"), Err(ActivationError::Decrypt));
        // Another primary ephemeral key (a man in the middle re-keying the envelope).
        let keys = pair();
        let mut sealed = seal(&bundle(), &keys.public_key(), "jti").unwrap();
        sealed.ephemeral_public_key = pair().public_key();
        assert_eq!(keys.open(&sealed, "jti"), Err(ActivationError::Decrypt));
        // Malformed envelopes are named as such.
        let keys = pair();
        let mut sealed = seal(&bundle(), &keys.public_key(), "jti").unwrap();
        sealed.version = 2;
        assert!(matches!(
            keys.open(&sealed, "jti"),
            Err(ActivationError::MalformedBundle(_))
        ));
        let keys = pair();
        let mut sealed = seal(&bundle(), &keys.public_key(), "jti").unwrap();
        sealed.ciphertext = "***".into();
        assert!(matches!(
            keys.open(&sealed, "jti"),
            Err(ActivationError::MalformedBundle(_))
        ));
    }

    #[test]
    fn bad_public_keys_are_refused() {
        let zero = B64.encode([0u8; 32]);
        let one = B64.encode({
            let mut b = [0u8; 32];
            b[0] = 1;
            b
        });
        for bad in [zero.as_str(), one.as_str(), "", "not base64!", "AAAA"] {
            assert!(
                matches!(
                    seal(&bundle(), bad, "jti"),
                    Err(ActivationError::InvalidPublicKey(_))
                ),
                "{bad:?} accepted"
            );
        }
    }
}
