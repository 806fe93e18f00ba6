//! The activation token: a JWT the primary signs for one secondary
//! (`primary/secondary-token id=X`), which the secondary hands back once to be activated.
//!
//! Vault signs these with ES512; jsonwebtoken has no ES512, and only vaultrs reads these
//! tokens, so vaultrs signs with **EdDSA (Ed25519)**. The primary's key is generated once
//! ([`JwtSigningKey::generate`]) and persisted by the caller ([`JwtSigningKeyState`]).
//!
//! Claims ([`ActivationClaims`]): `secondary_id`, `cluster_id` (the primary's), `addr` (the
//! primary's API address), `cluster_addr`, `iat`, `nbf` (`iat` − 5 s, as Vault), `exp`,
//! a random one-time `jti`, and `type` = [`TOKEN_TYPE`].
//!
//! Verification ([`verify`]) is the issuer's: signature (EdDSA only), type, cluster id,
//! then `nbf`/`exp` against the `now` the caller passes (never the clock in here). The
//! single-use and revocation state is the ledger's (`ledger.rs`). A secondary, which holds
//! no key, may only [`peek_claims`]: unverified, for finding the primary.
//!
//! jsonwebtoken 12 signs through a process-wide crypto provider; vaultrs installs one
//! backed by ring (which rustls already uses) that knows EdDSA and nothing else.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::signature::{Ed25519KeyPair, KeyPair as _, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::error::ActivationError;
use super::id::SecondaryId;
use super::secret::SecretString;

/// The `type` claim of an activation token.
pub const TOKEN_TYPE: &str = "replication-activation";
/// Vault's default `secondary-token` TTL.
pub const DEFAULT_TTL_SECS: u64 = 30 * 60;
/// The longest TTL accepted.
pub const MAX_TTL_SECS: u64 = 30 * 24 * 60 * 60;
/// `nbf` is this much before `iat` (as Vault), for clocks that disagree a little.
pub const NBF_SKEW_SECS: u64 = 5;
/// Tokens longer than this are refused before any decoding.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The claims of an activation token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationClaims {
    pub secondary_id: SecondaryId,
    /// The primary's cluster id.
    pub cluster_id: String,
    /// The primary's API address (where the secondary sends the token back).
    pub addr: String,
    /// The primary's cluster address (its mutual-TLS listener).
    pub cluster_addr: String,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    /// The one-time id (hex); the ledger burns it on use.
    pub jti: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl fmt::Debug for ActivationClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActivationClaims")
            .field("secondary_id", &self.secondary_id)
            .field("cluster_id", &self.cluster_id)
            .field("addr", &self.addr)
            .field("cluster_addr", &self.cluster_addr)
            .field("iat", &self.iat)
            .field("nbf", &self.nbf)
            .field("exp", &self.exp)
            .field("jti", &"<redacted>")
            .field("kind", &self.kind)
            .finish()
    }
}

/// The primary's activation-token key (Ed25519).
pub struct JwtSigningKey {
    pkcs8: Zeroizing<Vec<u8>>,
    public: Vec<u8>,
}

impl fmt::Debug for JwtSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSigningKey")
            .field("public_key", &B64.encode(&self.public))
            .field("private_key", &"<redacted>")
            .finish()
    }
}

/// The persisted form of a [`JwtSigningKey`] (base64 in JSON). Secret: store it only
/// through the barrier, under a local key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JwtSigningKeyState {
    /// Format version (1).
    pub version: u32,
    /// `EdDSA`.
    pub algorithm: String,
    /// PKCS#8 v2 document, base64.
    pub private_key: SecretString,
}

impl JwtSigningKey {
    pub fn generate() -> Result<Self, ActivationError> {
        let doc = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .map_err(|_| ActivationError::Internal("generating the token key failed".into()))?;
        Self::from_pkcs8(Zeroizing::new(doc.as_ref().to_vec()))
    }

    fn from_pkcs8(pkcs8: Zeroizing<Vec<u8>>) -> Result<Self, ActivationError> {
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| {
            ActivationError::Internal("the activation token key does not load".into())
        })?;
        let public = pair.public_key().as_ref().to_vec();
        Ok(JwtSigningKey { pkcs8, public })
    }

    pub fn from_state(state: &JwtSigningKeyState) -> Result<Self, ActivationError> {
        if state.version != 1 || state.algorithm != "EdDSA" {
            return Err(ActivationError::Internal(format!(
                "unknown activation token key format (version {}, {})",
                state.version, state.algorithm
            )));
        }
        let pkcs8 = B64
            .decode(state.private_key.expose())
            .map(Zeroizing::new)
            .map_err(|_| {
                ActivationError::Internal("the activation token key is not base64".into())
            })?;
        Self::from_pkcs8(pkcs8)
    }

    pub fn state(&self) -> JwtSigningKeyState {
        JwtSigningKeyState {
            version: 1,
            algorithm: "EdDSA".into(),
            private_key: SecretString::new(B64.encode(&*self.pkcs8)),
        }
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }
}

/// What goes into a new token.
#[derive(Debug, Clone)]
pub struct TokenParams<'a> {
    pub secondary_id: &'a SecondaryId,
    pub cluster_id: &'a str,
    pub api_addr: &'a str,
    pub cluster_addr: &'a str,
    /// Seconds from `now` to `exp`: 1..=[`MAX_TTL_SECS`].
    pub ttl_secs: u64,
}

/// A freshly signed token and its claims (the caller records `claims.jti` in the ledger).
#[derive(Debug)]
pub struct IssuedToken {
    pub token: SecretString,
    pub claims: ActivationClaims,
}

/// Whether `token` has a JWT's shape (three dot-separated parts) rather than a Vault
/// token's (`hvs.`, `hvb.`, legacy `s.`): the unwrap endpoint tells activations so.
pub fn looks_like_jwt(token: &str) -> bool {
    token.len() <= MAX_TOKEN_LEN
        && token.split('.').count() == 3
        && !["hvs.", "hvb.", "hvr.", "s.", "b.", "r."]
            .iter()
            .any(|p| token.starts_with(p))
        && token.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
        })
}

/// Signs a new activation token at time `now` (unix seconds).
pub fn issue(
    key: &JwtSigningKey,
    params: TokenParams<'_>,
    now: u64,
) -> Result<IssuedToken, ActivationError> {
    if params.ttl_secs == 0 || params.ttl_secs > MAX_TTL_SECS {
        return Err(ActivationError::InvalidRequest(format!(
            "ttl must be between 1 second and {} days",
            MAX_TTL_SECS / 86_400
        )));
    }
    let exp = now
        .checked_add(params.ttl_secs)
        .ok_or_else(|| ActivationError::InvalidRequest("ttl overflows the clock".into()))?;
    let claims = ActivationClaims {
        secondary_id: params.secondary_id.clone(),
        cluster_id: params.cluster_id.to_string(),
        addr: params.api_addr.to_string(),
        cluster_addr: params.cluster_addr.to_string(),
        iat: now,
        nbf: now.saturating_sub(NBF_SKEW_SECS),
        exp,
        jti: crate::util::random_hex(16),
        kind: TOKEN_TYPE.to_string(),
    };
    install_provider();
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims,
        &EncodingKey::from_ed_der(&key.pkcs8),
    )
    .map_err(|e| ActivationError::Internal(format!("signing the activation token: {e}")))?;
    Ok(IssuedToken {
        token: SecretString::new(token),
        claims,
    })
}

/// The issuer's check of a token at time `now`: EdDSA signature under `key`, `type`,
/// `cluster_id`, `nbf` and `exp`. Single use and revocation are the ledger's.
pub fn verify(
    key: &JwtSigningKey,
    token: &str,
    cluster_id: &str,
    now: u64,
) -> Result<ActivationClaims, ActivationError> {
    check_shape(token)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    // Time is checked below against the caller's clock, not jsonwebtoken's.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    install_provider();
    let data = jsonwebtoken::decode::<ActivationClaims>(
        token,
        &DecodingKey::from_ed_der(&key.public),
        &validation,
    )
    .map_err(decode_error)?;
    let claims = data.claims;
    if claims.kind != TOKEN_TYPE {
        return Err(ActivationError::WrongType);
    }
    if claims.cluster_id != cluster_id {
        return Err(ActivationError::WrongCluster {
            token: claims.cluster_id,
            ours: cluster_id.to_string(),
        });
    }
    if now < claims.nbf {
        return Err(ActivationError::NotYetValid {
            valid_from: claims.nbf,
        });
    }
    if now >= claims.exp {
        return Err(ActivationError::Expired {
            expired_at: claims.exp,
        });
    }
    Ok(claims)
}

/// The claims of a token **without verifying anything**: not the signature, not the
/// time, not the type. Untrusted input, for a secondary to learn where its primary is
/// (`addr`, `cluster_addr`) and which ids to expect before it contacts it; the primary's
/// [`verify`] is what decides.
pub fn peek_claims(token: &str) -> Result<ActivationClaims, ActivationError> {
    check_shape(token)?;
    let claims: ActivationClaims =
        jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(decode_error)?;
    if claims.kind != TOKEN_TYPE {
        return Err(ActivationError::WrongType);
    }
    Ok(claims)
}

fn check_shape(token: &str) -> Result<(), ActivationError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(ActivationError::Malformed("token is too long".into()));
    }
    if token.split('.').count() != 3 {
        return Err(ActivationError::Malformed(
            "not a JWT (expected three dot-separated parts)".into(),
        ));
    }
    Ok(())
}

fn decode_error(e: jsonwebtoken::errors::Error) -> ActivationError {
    let malformed = |why: &str| ActivationError::Malformed(why.to_string());
    match e.kind() {
        ErrorKind::InvalidSignature => ActivationError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            malformed("the signing algorithm is not EdDSA")
        }
        ErrorKind::Base64(_) => malformed("a part is not base64url"),
        ErrorKind::Json(_) => malformed("the header or claims are not the expected JSON"),
        ErrorKind::Utf8(_) => malformed("a part is not UTF-8"),
        ErrorKind::InvalidToken => malformed("not a JWT"),
        ErrorKind::InvalidEddsaKey | ErrorKind::InvalidKeyFormat => {
            ActivationError::Internal("the activation token key is unusable".into())
        }
        _ => malformed("the token does not decode"),
    }
}

/// Installs the ring-backed provider below unless one is installed already (any provider
/// that knows EdDSA reads and writes the same tokens).
fn install_provider() {
    if CryptoProvider::try_get_default().is_none() {
        // Losing a race to another installer is fine: one provider is then in place.
        let _ = RING_EDDSA.install_default();
    }
}

static RING_EDDSA: CryptoProvider = CryptoProvider {
    signer_factory: ring_signer,
    verifier_factory: ring_verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

fn ring_signer(
    alg: &Algorithm,
    key: &EncodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    if *alg != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let pair =
        Ed25519KeyPair::from_pkcs8(key.as_bytes()).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(RingEdSigner(pair)))
}

fn ring_verifier(
    alg: &Algorithm,
    key: &DecodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    if *alg != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let public = key.try_get_as_bytes()?;
    if public.len() != 32 {
        return Err(ErrorKind::InvalidEddsaKey.into());
    }
    Ok(Box::new(RingEdVerifier(public.to_vec())))
}

struct RingEdSigner(Ed25519KeyPair);

impl Signer<Vec<u8>> for RingEdSigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.0.sign(msg).as_ref().to_vec())
    }
}

impl JwtSigner for RingEdSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct RingEdVerifier(Vec<u8>);

impl Verifier<Vec<u8>> for RingEdVerifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(msg, sig)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for RingEdVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn params(id: &SecondaryId) -> TokenParams<'_> {
        TokenParams {
            secondary_id: id,
            cluster_id: "c1",
            api_addr: "https://10.0.0.1:8200",
            cluster_addr: "https://10.0.0.1:8201",
            ttl_secs: 600,
        }
    }

    fn b64url(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn issue_then_verify() {
        let key = JwtSigningKey::generate().unwrap();
        let id = SecondaryId::new("dc2").unwrap();
        let issued = issue(&key, params(&id), NOW).unwrap();
        let c = &issued.claims;
        assert_eq!((c.iat, c.nbf, c.exp), (NOW, NOW - 5, NOW + 600));
        assert_eq!(c.jti.len(), 32);
        let token = issued.token.expose();
        let verified = verify(&key, token, "c1", NOW).unwrap();
        assert_eq!(&verified, c);
        // The header says EdDSA.
        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        // Two tokens never share a jti.
        let again = issue(&key, params(&id), NOW).unwrap();
        assert_ne!(again.claims.jti, c.jti);
        // Debug of claims and key hides the secrets.
        assert!(!format!("{c:?}").contains(&c.jti));
        assert!(!format!("{issued:?}").contains(token));
        assert!(format!("{key:?}").contains("<redacted>"));
    }

    #[test]
    fn time_is_the_callers() {
        let key = JwtSigningKey::generate().unwrap();
        let id = SecondaryId::new("dc2").unwrap();
        let token = issue(&key, params(&id), NOW).unwrap().token;
        let t = token.expose();
        assert!(verify(&key, t, "c1", NOW - 5).is_ok());
        assert_eq!(
            verify(&key, t, "c1", NOW - 6),
            Err(ActivationError::NotYetValid {
                valid_from: NOW - 5
            })
        );
        assert!(verify(&key, t, "c1", NOW + 599).is_ok());
        assert_eq!(
            verify(&key, t, "c1", NOW + 600),
            Err(ActivationError::Expired {
                expired_at: NOW + 600
            })
        );
        // A clock at zero (before the epoch maps to 0) does not panic.
        assert!(matches!(
            verify(&key, t, "c1", 0),
            Err(ActivationError::NotYetValid { .. })
        ));
    }

    #[test]
    fn forged_altered_and_foreign_tokens_are_refused() {
        let key = JwtSigningKey::generate().unwrap();
        let other = JwtSigningKey::generate().unwrap();
        let id = SecondaryId::new("dc2").unwrap();
        let token = issue(&key, params(&id), NOW).unwrap().token;
        let t = token.expose();
        assert_eq!(
            verify(&other, t, "c1", NOW),
            Err(ActivationError::BadSignature)
        );
        assert_eq!(
            verify(&key, t, "c2", NOW),
            Err(ActivationError::WrongCluster {
                token: "c1".into(),
                ours: "c2".into()
            })
        );

        // Claims rewritten (a longer expiry), signature kept.
        let parts: Vec<&str> = t.split('.').collect();
        let mut claims = peek_claims(t).unwrap();
        claims.exp += 86_400;
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64url(&serde_json::to_vec(&claims).unwrap()),
            parts[2]
        );
        assert_eq!(
            verify(&key, &forged, "c1", NOW),
            Err(ActivationError::BadSignature)
        );

        // "alg": "none" and HS256 are refused before any key is used.
        for alg in ["none", "HS256"] {
            let header = b64url(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes());
            let forged = format!("{header}.{}.", parts[1]);
            assert!(
                matches!(
                    verify(&key, &forged, "c1", NOW),
                    Err(ActivationError::Malformed(_))
                ),
                "{alg}"
            );
        }

        // Signed by this key but not an activation token.
        let mut value = serde_json::to_value(peek_claims(t).unwrap()).unwrap();
        value["type"] = "wrapping".into();
        install_provider();
        let wrong = jsonwebtoken::encode(
            &Header::new(Algorithm::EdDSA),
            &value,
            &EncodingKey::from_ed_der(&key.pkcs8),
        )
        .unwrap();
        assert_eq!(
            verify(&key, &wrong, "c1", NOW),
            Err(ActivationError::WrongType)
        );
        assert_eq!(peek_claims(&wrong), Err(ActivationError::WrongType));

        // A claim of the wrong JSON type (CVE-2026-25537's shape) is malformed, not skipped.
        value["type"] = TOKEN_TYPE.into();
        value["exp"] = "never".into();
        let typed = jsonwebtoken::encode(
            &Header::new(Algorithm::EdDSA),
            &value,
            &EncodingKey::from_ed_der(&key.pkcs8),
        )
        .unwrap();
        assert!(matches!(
            verify(&key, &typed, "c1", NOW),
            Err(ActivationError::Malformed(_))
        ));
    }

    #[test]
    fn garbage_is_malformed_and_never_panics() {
        let key = JwtSigningKey::generate().unwrap();
        let long = "a.".repeat(5000);
        let cases = [
            "",
            "...",
            "a.b.c",
            "e30.e30.",
            "eyJhbGciOiJFZERTQSJ9.e30.AAAA",
            "\u{0}.\u{0}.\u{0}",
            long.as_str(),
        ];
        for bad in cases {
            let got = verify(&key, bad, "c1", NOW);
            assert!(
                matches!(
                    got,
                    Err(ActivationError::Malformed(_)) | Err(ActivationError::BadSignature)
                ),
                "{bad:?}: {got:?}"
            );
            assert!(peek_claims(bad).is_err());
        }
    }

    #[test]
    fn ttl_bounds() {
        let key = JwtSigningKey::generate().unwrap();
        let id = SecondaryId::new("dc2").unwrap();
        for ttl in [0, MAX_TTL_SECS + 1] {
            let p = TokenParams {
                ttl_secs: ttl,
                ..params(&id)
            };
            assert!(matches!(
                issue(&key, p, NOW),
                Err(ActivationError::InvalidRequest(_))
            ));
        }
        let p = TokenParams {
            ttl_secs: 10,
            ..params(&id)
        };
        assert!(matches!(
            issue(&key, p, u64::MAX - 5),
            Err(ActivationError::InvalidRequest(_))
        ));
    }

    #[test]
    fn key_state_round_trips() {
        let key = JwtSigningKey::generate().unwrap();
        let json = serde_json::to_string(&key.state()).unwrap();
        let back = JwtSigningKey::from_state(&serde_json::from_str(&json).unwrap()).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        let id = SecondaryId::new("dc2").unwrap();
        let token = issue(&back, params(&id), NOW).unwrap().token;
        assert!(verify(&key, token.expose(), "c1", NOW).is_ok());
        assert!(!format!("{:?}", key.state()).contains(key.state().private_key.expose()));

        let mut bad = key.state();
        bad.private_key = SecretString::new("!!!");
        assert!(matches!(
            JwtSigningKey::from_state(&bad),
            Err(ActivationError::Internal(_))
        ));
        let mut bad = key.state();
        bad.algorithm = "ES512".into();
        assert!(JwtSigningKey::from_state(&bad).is_err());
    }
}
