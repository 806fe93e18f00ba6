//! The activation handshake, both halves, on top of the token, the ledger, the CA and the
//! bundle. No IO: the caller carries [`ActivationRequest`] and [`SealedBundle`] over HTTP
//! and persists the ledger.
//!
//! Primary: [`issue_secondary_token`] (`primary/secondary-token`), then
//! [`answer_activation`] when the secondary sends the token back. Both leave the ledger
//! unchanged when they fail; after success the caller persists the ledger, then answers.
//!
//! Secondary: [`SecondaryActivation::start`] reads the token (untrusted) and makes the
//! ephemeral key; [`SecondaryActivation::finish`] opens the primary's answer and checks it
//! belongs to this token and makes a working TLS client configuration.

use serde::{Deserialize, Serialize};

use super::bundle::{self, ActivationBundle, SealedBundle, SecondaryKeyPair};
use super::ca::{cluster_server_name, ClusterCa, SecondaryIdentity};
use super::error::ActivationError;
use super::id::SecondaryId;
use super::ledger::ActivationLedger;
use super::secret::SecretString;
use super::tls;
use super::token::{self, ActivationClaims, IssuedToken, JwtSigningKey, TokenParams};

/// What a secondary sends the primary to be activated (the body of the unwrap call).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ActivationRequest {
    /// The activation token (JWT).
    pub token: SecretString,
    /// The secondary's ephemeral X25519 public key, base64.
    pub secondary_public_key: String,
}

/// What the primary knows and holds, for issuing and answering.
#[derive(Debug, Clone, Copy)]
pub struct PrimaryActivation<'a> {
    pub cluster_id: &'a str,
    /// The primary's API address (the token's `addr`).
    pub api_addr: &'a str,
    /// The cluster address secondaries dial (`primary_cluster_addr` or `cluster_addr`).
    pub cluster_addr: &'a str,
    pub signing_key: &'a JwtSigningKey,
    pub ca: &'a ClusterCa,
    /// The dev root token id, given only when the primary runs in dev mode (the secondary
    /// uses it only when it runs in dev mode too).
    pub dev_root_token_id: Option<&'a str>,
}

/// The primary's answer: the sealed bundle to send, and who was activated (for status
/// and the audit trail; the serial is also in the ledger).
#[derive(Debug, Clone)]
pub struct Activated {
    pub sealed: SealedBundle,
    pub identity: SecondaryIdentity,
}

/// `primary/secondary-token id=...`: a token for `id`, recorded in `ledger`.
pub fn issue_secondary_token(
    primary: &PrimaryActivation<'_>,
    ledger: &mut ActivationLedger,
    id: &SecondaryId,
    ttl_secs: u64,
    now: u64,
) -> Result<IssuedToken, ActivationError> {
    let issued = token::issue(
        primary.signing_key,
        TokenParams {
            secondary_id: id,
            cluster_id: primary.cluster_id,
            api_addr: primary.api_addr,
            cluster_addr: primary.cluster_addr,
            ttl_secs,
        },
        now,
    )?;
    let mut next = ledger.clone();
    next.record_issued(&issued.claims, now)?;
    *ledger = next;
    Ok(issued)
}

/// The primary's half: checks the token (signature, type, cluster, time, then the ledger),
/// burns it, issues the secondary's client certificate and seals the bundle to the
/// secondary's key. On error nothing changed; on success persist `ledger`, then answer.
pub fn answer_activation(
    primary: &PrimaryActivation<'_>,
    ledger: &mut ActivationLedger,
    request: &ActivationRequest,
    now: u64,
) -> Result<Activated, ActivationError> {
    // A bad key must not cost the secondary its token: check it first.
    bundle::check_public_key(&request.secondary_public_key)?;
    let claims = token::verify(
        primary.signing_key,
        request.token.expose(),
        primary.cluster_id,
        now,
    )?;
    let mut next = ledger.clone();
    next.redeem(&claims)?;
    let id = &claims.secondary_id;
    let client_cert = primary.ca.issue_client_cert(id, now)?;
    next.record_certificate(id, &client_cert.serial, now)?;
    let identity = SecondaryIdentity {
        id: id.clone(),
        serial: client_cert.serial.clone(),
    };
    let bundle = ActivationBundle {
        cluster_id: primary.cluster_id.to_string(),
        secondary_id: id.clone(),
        primary_api_addr: primary.api_addr.to_string(),
        primary_cluster_addr: primary.cluster_addr.to_string(),
        server_name: cluster_server_name(primary.cluster_id)?,
        ca_cert_pem: primary.ca.cert_pem().to_string(),
        client_cert,
        dev_root_token_id: primary.dev_root_token_id.map(SecretString::new),
    };
    let sealed = bundle::seal(&bundle, &request.secondary_public_key, &claims.jti)?;
    *ledger = next;
    Ok(Activated { sealed, identity })
}

/// The secondary's half, between sending the token and receiving the bundle.
#[derive(Debug)]
pub struct SecondaryActivation {
    claims: ActivationClaims,
    keys: SecondaryKeyPair,
}

impl SecondaryActivation {
    /// Reads the token's claims (**unverified**) and makes the ephemeral key. Send the
    /// returned request to the primary's API address: `claims_untrusted().addr`, unless
    /// the operator gave `primary_api_addr`.
    pub fn start(token: &str) -> Result<(Self, ActivationRequest), ActivationError> {
        let claims = token::peek_claims(token)?;
        let keys = SecondaryKeyPair::generate();
        let request = ActivationRequest {
            token: SecretString::new(token),
            secondary_public_key: keys.public_key(),
        };
        Ok((SecondaryActivation { claims, keys }, request))
    }

    /// The token's claims, as the token says them: not verified (only the primary can).
    pub fn claims_untrusted(&self) -> &ActivationClaims {
        &self.claims
    }

    /// Opens the primary's answer, checks it is for this token's secondary and cluster,
    /// and that its certificate and key make a working TLS client configuration.
    pub fn finish(self, sealed: &SealedBundle) -> Result<ActivationBundle, ActivationError> {
        let bundle = self.keys.open(sealed, &self.claims.jti)?;
        if bundle.secondary_id != self.claims.secondary_id {
            return Err(ActivationError::BundleMismatch(format!(
                "issued to secondary {:?}, the token names {:?}",
                bundle.secondary_id.as_str(),
                self.claims.secondary_id.as_str()
            )));
        }
        if bundle.cluster_id != self.claims.cluster_id {
            return Err(ActivationError::BundleMismatch(format!(
                "from cluster {}, the token names {}",
                bundle.cluster_id, self.claims.cluster_id
            )));
        }
        tls::client_config(&bundle.ca_cert_pem, &bundle.client_cert)?;
        Ok(bundle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::error::PkiError;

    const NOW: u64 = 1_800_000_000;
    const CLUSTER: &str = "6a1b2c3d-0000-4000-8000-00000000c1c1";

    struct Primary {
        key: JwtSigningKey,
        ca: ClusterCa,
        ledger: ActivationLedger,
    }

    fn view<'a>(key: &'a JwtSigningKey, ca: &'a ClusterCa) -> PrimaryActivation<'a> {
        PrimaryActivation {
            cluster_id: CLUSTER,
            api_addr: "https://127.0.0.1:8200",
            cluster_addr: "https://127.0.0.1:8201",
            signing_key: key,
            ca,
            dev_root_token_id: Some("dev-root"),
        }
    }

    impl Primary {
        fn new() -> Self {
            Primary {
                key: JwtSigningKey::generate().unwrap(),
                ca: ClusterCa::generate(CLUSTER, NOW).unwrap(),
                ledger: ActivationLedger::new(),
            }
        }

        fn view(&self) -> PrimaryActivation<'_> {
            view(&self.key, &self.ca)
        }

        fn token(&mut self, id: &str) -> String {
            let view = view(&self.key, &self.ca);
            let id = SecondaryId::new(id).unwrap();
            issue_secondary_token(&view, &mut self.ledger, &id, 1800, NOW)
                .unwrap()
                .token
                .expose()
                .to_string()
        }

        fn answer(
            &mut self,
            request: &ActivationRequest,
            now: u64,
        ) -> Result<Activated, ActivationError> {
            let view = view(&self.key, &self.ca);
            answer_activation(&view, &mut self.ledger, request, now)
        }
    }

    #[test]
    fn activation_end_to_end() {
        let mut primary = Primary::new();
        let token = primary.token("dc2");
        let (secondary, request) = SecondaryActivation::start(&token).unwrap();
        assert_eq!(secondary.claims_untrusted().addr, "https://127.0.0.1:8200");
        assert_eq!(
            secondary.claims_untrusted().cluster_addr,
            "https://127.0.0.1:8201"
        );

        let activated = primary.answer(&request, NOW + 10).unwrap();
        assert_eq!(activated.identity.id.as_str(), "dc2");
        let bundle = secondary.finish(&activated.sealed).unwrap();
        assert_eq!(bundle.cluster_id, CLUSTER);
        assert_eq!(bundle.secondary_id.as_str(), "dc2");
        assert_eq!(bundle.ca_cert_pem, primary.ca.cert_pem());
        assert_eq!(
            bundle.dev_root_token_id.as_ref().unwrap().expose(),
            "dev-root"
        );
        assert_eq!(bundle.client_cert.serial, activated.identity.serial);

        // The certificate in the bundle is what the primary's listener accepts.
        let chain = [crate::replication::ca::parse_cert_pem(&bundle.client_cert.cert_pem).unwrap()];
        let who = primary
            .ca
            .verify_client(&chain, &primary.ledger.revoked_set(), NOW)
            .unwrap();
        assert_eq!(who, activated.identity);
        let record = primary.ledger.secondary(&who.id).unwrap();
        assert!(record.is_active());

        // Replay: refused, and nothing changes.
        let before = primary.ledger.clone();
        let (_, replay) = SecondaryActivation::start(&token).unwrap();
        assert_eq!(
            primary.answer(&replay, NOW + 20).unwrap_err(),
            ActivationError::AlreadyUsed
        );
        assert_eq!(primary.ledger, before);

        // Revoked: the certificate is refused, and a new token is refused while active...
        let id = SecondaryId::new("dc2").unwrap();
        assert!(primary.ledger.revoke(&id).unwrap());
        assert!(matches!(
            primary
                .ca
                .verify_client(&chain, &primary.ledger.revoked_set(), NOW),
            Err(PkiError::Revoked { .. })
        ));
        // ...and after a fresh activation the old certificate stays refused.
        let token = primary.token("dc2");
        let (secondary, request) = SecondaryActivation::start(&token).unwrap();
        let activated = primary.answer(&request, NOW + 30).unwrap();
        let fresh = secondary.finish(&activated.sealed).unwrap();
        let fresh_chain =
            [crate::replication::ca::parse_cert_pem(&fresh.client_cert.cert_pem).unwrap()];
        let revoked = primary.ledger.revoked_set();
        assert!(primary
            .ca
            .verify_client(&fresh_chain, &revoked, NOW)
            .is_ok());
        assert!(matches!(
            primary.ca.verify_client(&chain, &revoked, NOW),
            Err(PkiError::Revoked { .. })
        ));
    }

    #[test]
    fn refusals_name_the_step_and_change_nothing() {
        let mut primary = Primary::new();
        let token = primary.token("dc2");
        let before = primary.ledger.clone();
        let (_, request) = SecondaryActivation::start(&token).unwrap();

        let at = |p: &mut Primary, now: u64| p.answer(&request, now).unwrap_err();
        assert_eq!(
            at(&mut primary, NOW + 1800),
            ActivationError::Expired {
                expired_at: NOW + 1800
            }
        );
        assert_eq!(
            at(&mut primary, NOW - 6),
            ActivationError::NotYetValid {
                valid_from: NOW - 5
            }
        );
        // A bad public key is refused before the token is looked at (and not burned).
        let bad_key = ActivationRequest {
            secondary_public_key: "AAAA".into(),
            ..request.clone()
        };
        assert!(matches!(
            primary.answer(&bad_key, NOW),
            Err(ActivationError::InvalidPublicKey(_))
        ));
        // Another primary's token.
        let mut other = Primary::new();
        let foreign = other.token("dc2");
        let (_, foreign) = SecondaryActivation::start(&foreign).unwrap();
        assert_eq!(
            primary.answer(&foreign, NOW).unwrap_err(),
            ActivationError::BadSignature
        );
        assert_eq!(primary.ledger, before);

        // Still good after all that; complete once seen on the cluster channel.
        let done = primary.answer(&request, NOW).unwrap();
        assert!(primary
            .ledger
            .note_contact(&done.identity.id, &done.identity.serial));

        // A token for an id, revoked before use.
        let token = primary.token("dc3");
        primary
            .ledger
            .revoke(&SecondaryId::new("dc3").unwrap())
            .unwrap();
        let (_, request) = SecondaryActivation::start(&token).unwrap();
        assert_eq!(
            primary.answer(&request, NOW).unwrap_err(),
            ActivationError::Revoked("dc3".into())
        );
        // An active id gets no new token.
        let id = SecondaryId::new("dc2").unwrap();
        let view = primary.view();
        let mut ledger = primary.ledger.clone();
        assert_eq!(
            issue_secondary_token(&view, &mut ledger, &id, 1800, NOW).unwrap_err(),
            ActivationError::SecondaryActive("dc2".into())
        );
        assert_eq!(ledger, primary.ledger);
    }

    #[test]
    fn the_bundle_opens_only_for_its_own_request() {
        let mut primary = Primary::new();
        let t1 = primary.token("dc2");
        let t2 = primary.token("dc4");
        let (s1, r1) = SecondaryActivation::start(&t1).unwrap();
        let (s2, r2) = SecondaryActivation::start(&t2).unwrap();
        let a1 = primary.answer(&r1, NOW).unwrap();
        let a2 = primary.answer(&r2, NOW).unwrap();
        // Crossed answers do not open.
        assert_eq!(s1.finish(&a2.sealed).unwrap_err(), ActivationError::Decrypt);
        assert_eq!(s2.finish(&a1.sealed).unwrap_err(), ActivationError::Decrypt);

        // A token with a request whose key belongs to someone else: the bundle is sealed
        // to that key, and the secondary holding the token cannot open it.
        let t3 = primary.token("dc5");
        let (s3, mut r3) = SecondaryActivation::start(&t3).unwrap();
        r3.secondary_public_key = SecondaryKeyPair::generate().public_key();
        let a3 = primary.answer(&r3, NOW).unwrap();
        assert_eq!(s3.finish(&a3.sealed).unwrap_err(), ActivationError::Decrypt);
    }

    #[test]
    fn start_refuses_what_is_not_a_token() {
        for bad in ["", "abc", "a.b", "a.b.c", "....."] {
            assert!(
                matches!(
                    SecondaryActivation::start(bad),
                    Err(ActivationError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
    }
}
