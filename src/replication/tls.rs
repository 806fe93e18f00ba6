//! TLS configurations of the cluster channel: mutual TLS 1.3, trusting only the cluster CA.
//!
//! - The primary's listener: [`server_config`] presents the primary's server certificate
//!   and **requires** a client certificate that chains to the cluster CA, has `clientAuth`
//!   usage, names a secondary ([`super::ca::identify`]) and is not revoked. Revocation is a
//!   shared, live [`Revocations`] handle: `revoke-secondary` updates it and the very next
//!   handshake is refused (connections already open are the caller's to close: see
//!   [`Revocations::check`]). Session resumption is off: a resumed session would skip
//!   the certificate check and let a revoked secondary back in on an old ticket.
//! - A secondary: [`client_config`] trusts only the cluster CA (no system roots) and
//!   presents the secondary's client certificate. Dial the primary with
//!   [`super::ca::cluster_server_name`] as the server name (or the host of its cluster
//!   address, which the server certificate also names).
//!
//! **How the caller learns which secondary is on a connection:** the handshake succeeds
//! only for a verified, unrevoked secondary certificate, so after it the peer's leaf
//! certificate is trustworthy: [`peer_identity`] reads the [`SecondaryIdentity`] from any
//! rustls connection (`tokio_rustls::server::TlsStream::get_ref().1`), and on an axum
//! listener [`super::acceptor::ClusterAcceptor`] puts it into every request's extensions.

use std::sync::{Arc, RwLock};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertificateError, ClientConfig, CommonState, DigitallySignedStruct, DistinguishedName,
    RootCertStore, ServerConfig, SignatureScheme,
};

use super::ca::{identify, parse_cert_pem, IssuedCert, RevokedSet, SecondaryIdentity};
use super::error::PkiError;

/// The crypto the cluster channel uses: the crate's rustls provider (ring), TLS 1.3 only.
pub(crate) fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A verifier of client chains to the CA `ca` (webpki: signatures, validity, `clientAuth`).
pub(crate) fn webpki_client_verifier(
    ca: &CertificateDer<'static>,
) -> Result<Arc<dyn ClientCertVerifier>, PkiError> {
    let mut roots = RootCertStore::empty();
    roots
        .add(ca.clone())
        .map_err(|e| PkiError::InvalidState(format!("the cluster CA certificate: {e}")))?;
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), crypto_provider())
        .build()
        .map_err(|e| PkiError::Tls(e.to_string()))
}

/// The live set of revoked secondaries the listener consults at each handshake. Cheap to
/// clone (shared); the caller replaces it from the activation ledger after every change.
#[derive(Clone, Debug, Default)]
pub struct Revocations(Arc<RwLock<RevokedSet>>);

impl Revocations {
    pub fn new(set: RevokedSet) -> Self {
        Revocations(Arc::new(RwLock::new(set)))
    }

    /// Installs a new set (e.g. `ledger.revoked_set()` after `revoke-secondary`).
    pub fn replace(&self, set: RevokedSet) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = set;
    }

    /// A copy of the current set.
    pub fn snapshot(&self) -> RevokedSet {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether `identity` is revoked now. A handshake checks this once; a long-lived
    /// stream should check it again at every heartbeat and hang up when it fails, so a
    /// revoked secondary is cut off within one heartbeat.
    pub fn check(&self, identity: &SecondaryIdentity) -> Result<(), PkiError> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .check(identity.clone())
            .map(|_| ())
    }
}

/// The listener's client verifier: webpki against the cluster CA, then the secondary's
/// identity and the revocation set.
#[derive(Debug)]
pub struct ClusterClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    revocations: Revocations,
}

impl ClusterClientVerifier {
    pub fn new(ca_cert_pem: &str, revocations: Revocations) -> Result<Self, PkiError> {
        Ok(ClusterClientVerifier {
            inner: webpki_client_verifier(&parse_cert_pem(ca_cert_pem)?)?,
            revocations,
        })
    }
}

impl ClientCertVerifier for ClusterClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let identity = identify(end_entity).map_err(|e| {
            tracing::warn!("cluster listener: refused a client certificate: {e}");
            rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
        })?;
        if let Err(e) = self.revocations.check(&identity) {
            tracing::warn!("cluster listener: {e} (serial {})", identity.serial);
            return Err(rustls::Error::InvalidCertificate(CertificateError::Revoked));
        }
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The primary's cluster-listener configuration (TLS 1.3, client certificates required).
/// Set `alpn_protocols` on the result if the listener speaks HTTP/2.
pub fn server_config(
    ca_cert_pem: &str,
    server: &IssuedCert,
    revocations: Revocations,
) -> Result<ServerConfig, PkiError> {
    let verifier = ClusterClientVerifier::new(ca_cert_pem, revocations)?;
    let mut config = ServerConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| PkiError::Tls(e.to_string()))?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(
            vec![parse_cert_pem(&server.cert_pem)?],
            private_key(&server.key_pem)?,
        )
        .map_err(|e| PkiError::Tls(e.to_string()))?;
    // No session resumption: a resumed session skips the client certificate check, so a
    // secondary revoked after its first handshake could come back on a ticket.
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(config)
}

/// A secondary's configuration for dialling the primary's cluster listener: trusts only
/// `ca_cert_pem`, presents `client`.
pub fn client_config(ca_cert_pem: &str, client: &IssuedCert) -> Result<ClientConfig, PkiError> {
    let mut roots = RootCertStore::empty();
    roots
        .add(parse_cert_pem(ca_cert_pem)?)
        .map_err(|e| PkiError::InvalidState(format!("the cluster CA certificate: {e}")))?;
    let mut config = ClientConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| PkiError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![parse_cert_pem(&client.cert_pem)?],
            private_key(&client.key_pem)?,
        )
        .map_err(|e| PkiError::Tls(e.to_string()))?;
    // The primary offers no resumption (see `server_config`); do not ask for it.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

/// The server name a secondary verifies the primary against.
pub fn server_name(cluster_id: &str) -> Result<ServerName<'static>, PkiError> {
    let name = super::ca::cluster_server_name(cluster_id)?;
    ServerName::try_from(name).map_err(|e| PkiError::InvalidState(e.to_string()))
}

/// The secondary on the other end of a completed server-side handshake. Only meaningful on
/// a connection accepted with [`server_config`], whose verifier has checked the chain.
pub fn peer_identity(conn: &CommonState) -> Result<SecondaryIdentity, PkiError> {
    let leaf = conn
        .peer_certificates()
        .and_then(|certs| certs.first())
        .ok_or(PkiError::NoClientCertificate)?;
    identify(leaf)
}

fn private_key(pem: &super::secret::SecretString) -> Result<PrivateKeyDer<'static>, PkiError> {
    use rustls::pki_types::pem::PemObject;
    PrivateKeyDer::from_pem_slice(pem.expose().as_bytes())
        .map_err(|_| PkiError::InvalidState("a private key PEM does not parse".into()))
}
