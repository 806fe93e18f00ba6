//! PGP encryption of key shares and root tokens, as Vault's `pgpkeys` helper does it.
//!
//! Callers give OpenPGP public keys the way Vault's API takes them: each one base64 of the
//! key's binary form (an ASCII-armored key, base64-encoded, is accepted too). A key share
//! or token is encrypted to one key as a binary OpenPGP message (SEIPD v1, AES-256, no
//! compression: what `gpg --decrypt` and Vault's `EncryptShares` produce and read), to the
//! newest valid subkey that may encrypt, else to the primary key if it can. A key is
//! identified by its fingerprint in lowercase hex. `keybase:<user>` names are refused:
//! fetching them needs the network, and Vault's server never fetched them either.
//!
//! Uses rPGP (the `pgp` crate): pure Rust (RustCrypto), no OpenSSL, maintained, and
//! builds with this crate's toolchain.

use base64::Engine as _;
use pgp::composed::{Deserializable, MessageBuilder, SignedPublicKey, SignedPublicSubKey};
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::packet::{Signature, SignatureType};
use pgp::types::{KeyDetails, Timestamp};
use rand::rngs::OsRng;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A parsed OpenPGP public key (certificate).
pub struct PublicKey {
    cert: SignedPublicKey,
    fingerprint: String,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

/// Parses every key of a request's `pgp_keys` (see [`PublicKey::parse`]).
pub fn parse_keys(keys: &[String]) -> Result<Vec<PublicKey>> {
    keys.iter().map(|k| PublicKey::parse(k)).collect()
}

/// Vault's `EncryptShares`: share `i` (as its hex text, which is what `gpg --decrypt`
/// then prints) encrypted to key `i`. Returns the ciphertexts in order.
pub fn encrypt_shares(shares: &[Zeroizing<Vec<u8>>], keys: &[PublicKey]) -> Result<Vec<Vec<u8>>> {
    if shares.len() != keys.len() {
        return Err(Error::Internal(format!(
            "{} shares for {} PGP keys",
            shares.len(),
            keys.len()
        )));
    }
    shares
        .iter()
        .zip(keys)
        .map(|(share, key)| key.encrypt(Zeroizing::new(hex::encode(&share[..])).as_bytes()))
        .collect()
}

impl PublicKey {
    /// Parses one base64-encoded public key; a bad key is a 400 with Vault's wording.
    pub fn parse(encoded: &str) -> Result<Self> {
        let encoded = encoded.trim();
        if encoded.starts_with("keybase:") {
            return Err(Error::invalid(
                "keybase: PGP keys are not supported: give the public key itself, \
                 base64-encoded from its binary form",
            ));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| Error::invalid(format!("error decoding given PGP key: {e}")))?;
        let parse_error = |e: pgp::errors::Error| {
            Error::invalid(format!("error parsing given PGP key: {}", first_line(&e)))
        };
        let (cert, _) = SignedPublicKey::from_reader_single(&bytes[..]).map_err(parse_error)?;
        cert.verify_bindings().map_err(parse_error)?;
        let fingerprint = format!("{:x}", cert.fingerprint());
        let key = Self { cert, fingerprint };
        if key.recipient().is_none() {
            return Err(Error::invalid(format!(
                "error parsing given PGP key: key {} has no valid key that can encrypt",
                key.fingerprint
            )));
        }
        // Prove it now: shares are encrypted after they take effect (init, rekey), when a
        // failure could no longer be undone.
        key.encrypt(b"vaultrs key check")?;
        Ok(key)
    }

    /// The primary key's fingerprint, lowercase hex (Vault's `pgp_fingerprints`).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The key to encrypt to: the newest usable encryption subkey, else the primary.
    fn recipient(&self) -> Option<Recipient<'_>> {
        let now = Timestamp::now();
        let newest = self
            .cert
            .public_subkeys
            .iter()
            .filter(|sub| subkey_can_encrypt(sub, now))
            .max_by_key(|sub| sub.key.created_at().as_secs());
        if let Some(sub) = newest {
            return Some(Recipient::Subkey(sub));
        }
        let primary = &self.cert.primary_key;
        primary
            .algorithm()
            .can_encrypt()
            .then_some(Recipient::Primary(&self.cert))
    }

    /// `plaintext` as a binary OpenPGP message to this key.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let recipient = self
            .recipient()
            .ok_or_else(|| Error::invalid("the PGP key has no key that can encrypt"))?;
        let mut builder = MessageBuilder::from_bytes("", plaintext.to_vec())
            .seipd_v1(OsRng, SymmetricKeyAlgorithm::AES256);
        let added = match recipient {
            Recipient::Subkey(sub) => builder.encrypt_to_key(OsRng, sub).map(drop),
            Recipient::Primary(cert) => builder.encrypt_to_key(OsRng, cert).map(drop),
        };
        let encrypt_error = |e: pgp::errors::Error| {
            Error::invalid(format!(
                "error encrypting to PGP key {}: {}",
                self.fingerprint,
                first_line(&e)
            ))
        };
        added.map_err(encrypt_error)?;
        builder.to_vec(OsRng).map_err(encrypt_error)
    }
}

enum Recipient<'a> {
    Subkey(&'a SignedPublicSubKey),
    Primary(&'a SignedPublicKey),
}

/// A subkey that may encrypt now: an encryption algorithm, not revoked, and a newest
/// binding signature that allows encryption (or states no flags at all, as Go's reader
/// allows) and has not expired.
fn subkey_can_encrypt(sub: &SignedPublicSubKey, now: Timestamp) -> bool {
    if !sub.key.algorithm().can_encrypt() {
        return false;
    }
    let is = |s: &Signature, t: SignatureType| s.typ() == Some(t);
    if sub
        .signatures
        .iter()
        .any(|s| is(s, SignatureType::SubkeyRevocation))
    {
        return false;
    }
    let Some(binding) = sub
        .signatures
        .iter()
        .filter(|s| is(s, SignatureType::SubkeyBinding))
        .max_by_key(|s| s.created().map_or(0, Timestamp::as_secs))
    else {
        return false;
    };
    let flags = binding.key_flags();
    let any_flag = flags.certify()
        || flags.sign()
        || flags.encrypt_comms()
        || flags.encrypt_storage()
        || flags.authentication();
    if any_flag && !(flags.encrypt_comms() || flags.encrypt_storage()) {
        return false;
    }
    match binding.key_expiration_time() {
        Some(valid_for) if valid_for.as_secs() != 0 => {
            let created = u64::from(sub.key.created_at().as_secs());
            created.saturating_add(u64::from(valid_for.as_secs())) > u64::from(now.as_secs())
        }
        _ => true,
    }
}

/// The first line of a library error (its messages can run long; they never hold secrets).
fn first_line(e: &pgp::errors::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgp::composed::{
        EncryptionCaps, KeyType, Message, SecretKeyParamsBuilder, SignedSecretKey,
        SubkeyParamsBuilder,
    };
    use pgp::crypto::ecc_curve::ECCCurve;
    use pgp::ser::Serialize;

    fn keypair() -> SignedSecretKey {
        let mut sub = SubkeyParamsBuilder::default();
        sub.key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
            .can_encrypt(EncryptionCaps::All);
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id("test <test@example.com>".into())
            .subkeys(vec![sub.build().unwrap()]);
        params.build().unwrap().generate(OsRng).unwrap()
    }

    fn public_b64(secret: &SignedSecretKey) -> String {
        let public = SignedPublicKey::from(secret.clone());
        let mut bytes = Vec::new();
        public.to_writer(&mut bytes).unwrap();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn encrypts_to_the_key_and_names_it_by_fingerprint() {
        let secret = keypair();
        let key = PublicKey::parse(&public_b64(&secret)).unwrap();
        assert_eq!(key.fingerprint(), format!("{:x}", secret.fingerprint()));
        assert_eq!(key.fingerprint().len(), 40);
        let ct = key.encrypt(b"abcdef0123").unwrap();
        let mut msg = Message::from_bytes(&ct[..])
            .unwrap()
            .decrypt(&"".into(), &secret)
            .unwrap();
        assert_eq!(msg.as_data_vec().unwrap(), b"abcdef0123");
        assert!(!format!("{key:?}").contains("cert"));
    }

    #[test]
    fn bad_keys_are_refused_clearly() {
        let err = |k: &str| PublicKey::parse(k).unwrap_err().to_string();
        assert!(err("keybase:jefferai").contains("keybase"));
        assert!(err("not base64!").starts_with("error decoding given PGP key"));
        assert!(err("AAAA").starts_with("error parsing given PGP key"));
        let keys = parse_keys(&["@@".to_owned()]);
        assert!(keys.is_err());
    }
}
