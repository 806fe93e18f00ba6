//! The cluster CA: the private PKI of the cluster channel (mutual TLS between a primary and
//! its secondaries).
//!
//! A primary generates its CA once, at `primary/enable` ([`ClusterCa::generate`]), and the
//! caller persists [`ClusterCa::state`] under `local/replication/...` through the barrier
//! (the CA never leaves its cluster except as the public certificate in an activation
//! bundle). From it come:
//!
//! - the primary's **server** certificate for its cluster listener
//!   ([`ClusterCa::issue_server_cert`]): `serverAuth` only, with a SAN for the host of each
//!   cluster address plus the fixed name [`cluster_server_name`], so a secondary can verify
//!   the primary whatever address (or TCP load balancer) it dials;
//! - one **client** certificate per secondary ([`ClusterCa::issue_client_cert`]):
//!   `clientAuth` only, the subject's common name is the secondary id, the organization
//!   marks it as a secondary's, and a random 128-bit serial tells two certificates of the
//!   same id apart. Certificates are long-lived (10 years); revocation is by id or serial
//!   ([`RevokedSet`]), checked at every handshake (see `tls.rs`).
//!
//! All keys are ECDSA P-256, which every rustls/webpki build verifies. Times come in as
//! unix seconds (`now`), never from the clock here.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber, PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::{CertificateDer, DnsName, UnixTime};
use serde::{Deserialize, Serialize};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::error::PkiError;
use super::id::SecondaryId;
use super::secret::SecretString;
use super::tls;

/// The organization every secondary client certificate carries.
pub const SECONDARY_ORGANIZATION: &str = "vaultrs replication secondary";

/// How far certificates are backdated, for hosts whose clocks run a little behind.
const BACKDATE: Duration = Duration::from_secs(60 * 60);
/// Lifetime of the CA.
const CA_LIFETIME: Duration = Duration::from_secs(20 * 365 * 24 * 60 * 60);
/// Lifetime of server and client certificates (revocation, not expiry, ends a secondary).
const LEAF_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// The persisted form of a [`ClusterCa`]: PEM in JSON. The key is secret: the caller
/// stores this only through the barrier, under a local key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterCaState {
    /// Format version (1).
    pub version: u32,
    pub cluster_id: String,
    pub cert_pem: String,
    pub key_pem: SecretString,
}

/// A certificate this CA issued and its private key, as PEM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCert {
    pub cert_pem: String,
    pub key_pem: SecretString,
    /// The serial number, lowercase hex.
    pub serial: String,
    /// Unix time the certificate stops being valid.
    pub not_after: u64,
}

/// Who a verified client certificate belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SecondaryIdentity {
    pub id: SecondaryId,
    /// The certificate's serial number, lowercase hex.
    pub serial: String,
}

/// Secondary ids and certificate serials the primary refuses. The caller keeps it (the
/// activation ledger derives it: `ActivationLedger::revoked_set`) and hands it to
/// [`ClusterCa::verify_client`] or the cluster listener's `Revocations`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedSet {
    pub ids: BTreeSet<SecondaryId>,
    pub serials: BTreeSet<String>,
}

impl RevokedSet {
    pub fn revoke_id(&mut self, id: SecondaryId) {
        self.ids.insert(id);
    }

    pub fn revoke_serial(&mut self, serial: &str) {
        self.serials.insert(serial.to_ascii_lowercase());
    }

    /// Whether this identity's id or serial is revoked.
    pub fn is_revoked(&self, identity: &SecondaryIdentity) -> bool {
        self.ids.contains(&identity.id) || self.serials.contains(&identity.serial)
    }

    /// `Ok` with the identity unless it is revoked.
    pub fn check(&self, identity: SecondaryIdentity) -> Result<SecondaryIdentity, PkiError> {
        if self.is_revoked(&identity) {
            return Err(PkiError::Revoked {
                id: identity.id.to_string(),
            });
        }
        Ok(identity)
    }
}

/// The cluster CA with its signing key loaded.
pub struct ClusterCa {
    cluster_id: String,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    key_pem: SecretString,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for ClusterCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterCa")
            .field("cluster_id", &self.cluster_id)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl ClusterCa {
    /// A new CA for `cluster_id` (a UUID in practice: it must be usable as a DNS label,
    /// 1-63 characters of letters, digits and `-`).
    pub fn generate(cluster_id: &str, now: u64) -> Result<Self, PkiError> {
        cluster_server_name(cluster_id)?;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(generate_err)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        // A random tag in the name: a certificate from another CA (an older one of this
        // cluster, another cluster's) then fails as "unknown issuer", not as a bad signature.
        params.distinguished_name.push(
            DnType::CommonName,
            format!("vaultrs replication CA {}", crate::util::random_hex(4)),
        );
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, cluster_id);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        set_validity(&mut params, now, CA_LIFETIME)?;
        params.serial_number = Some(random_serial().0);
        let cert = params.self_signed(&key).map_err(generate_err)?;
        let state = ClusterCaState {
            version: 1,
            cluster_id: cluster_id.to_string(),
            cert_pem: cert.pem(),
            key_pem: SecretString::new(key.serialize_pem()),
        };
        Self::from_state(&state)
    }

    /// Loads a persisted CA, checking that the key belongs to the certificate.
    pub fn from_state(state: &ClusterCaState) -> Result<Self, PkiError> {
        if state.version != 1 {
            return Err(PkiError::InvalidState(format!(
                "unknown cluster CA format version {}",
                state.version
            )));
        }
        cluster_server_name(&state.cluster_id)?;
        let cert_der = parse_cert_pem(&state.cert_pem)?;
        let key = KeyPair::from_pem(state.key_pem.expose())
            .map_err(|_| PkiError::InvalidState("the cluster CA key does not load".into()))?;
        let (_, parsed) = X509Certificate::from_der(&cert_der).map_err(|_| {
            PkiError::InvalidState("the cluster CA certificate does not parse".into())
        })?;
        if parsed.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(PkiError::InvalidState(
                "the cluster CA key does not match its certificate".into(),
            ));
        }
        if !parsed.is_ca() {
            return Err(PkiError::InvalidState(
                "the cluster CA certificate is not a CA".into(),
            ));
        }
        let issuer = Issuer::from_ca_cert_der(&cert_der, key)
            .map_err(|e| PkiError::InvalidState(format!("the cluster CA does not load: {e}")))?;
        Ok(ClusterCa {
            cluster_id: state.cluster_id.clone(),
            cert_pem: state.cert_pem.clone(),
            cert_der,
            key_pem: state.key_pem.clone(),
            issuer,
        })
    }

    /// What the caller persists.
    pub fn state(&self) -> ClusterCaState {
        ClusterCaState {
            version: 1,
            cluster_id: self.cluster_id.clone(),
            cert_pem: self.cert_pem.clone(),
            key_pem: self.key_pem.clone(),
        }
    }

    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// The CA certificate (public), as secondaries receive it.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// The primary's cluster-listener certificate, for the hosts of `cluster_addrs`
    /// (`https://127.0.0.1:8201`, `host:8201`, `[::1]:8201`, a bare host or IP) plus
    /// [`cluster_server_name`]. Issue one at each start, or persist it; either works.
    pub fn issue_server_cert(
        &self,
        cluster_addrs: &[&str],
        now: u64,
    ) -> Result<IssuedCert, PkiError> {
        let mut sans = vec![dns_san(&cluster_server_name(&self.cluster_id)?)?];
        for addr in cluster_addrs {
            let san = match address_host(addr)? {
                Host::Ip(ip) => SanType::IpAddress(ip),
                Host::Dns(name) => dns_san(&name)?,
            };
            if !sans.contains(&san) {
                sans.push(san);
            }
        }
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "vaultrs replication primary");
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, self.cluster_id.as_str());
        params.subject_alt_names = sans;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue_leaf(params, now)
    }

    /// A client certificate for secondary `id`.
    pub fn issue_client_cert(&self, id: &SecondaryId, now: u64) -> Result<IssuedCert, PkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, id.as_str());
        params
            .distinguished_name
            .push(DnType::OrganizationName, SECONDARY_ORGANIZATION);
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, self.cluster_id.as_str());
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue_leaf(params, now)
    }

    fn issue_leaf(&self, mut params: CertificateParams, now: u64) -> Result<IssuedCert, PkiError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(generate_err)?;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        let not_after = set_validity(&mut params, now, LEAF_LIFETIME)?;
        let (serial, serial_hex) = random_serial();
        params.serial_number = Some(serial);
        let cert = params.signed_by(&key, &self.issuer).map_err(generate_err)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: SecretString::new(key.serialize_pem()),
            serial: serial_hex,
            not_after,
        })
    }

    /// The revocation check for a presented client chain (leaf first): verifies it against
    /// this CA at time `now`, reads the secondary it was issued to, and refuses it when
    /// the id or serial is in `revoked`. (The cluster listener does the same at every
    /// handshake; this is for callers that hold a chain some other way.)
    pub fn verify_client(
        &self,
        chain: &[CertificateDer<'_>],
        revoked: &RevokedSet,
        now: u64,
    ) -> Result<SecondaryIdentity, PkiError> {
        let (leaf, intermediates) = chain.split_first().ok_or(PkiError::NoClientCertificate)?;
        let verifier = tls::webpki_client_verifier(&self.cert_der)?;
        let when = UnixTime::since_unix_epoch(Duration::from_secs(now));
        verifier
            .verify_client_cert(leaf, intermediates, when)
            .map_err(|e| PkiError::Untrusted(e.to_string()))?;
        revoked.check(identify(leaf)?)
    }
}

/// The secondary a client certificate names, **without verifying it**: use it only on a
/// certificate the TLS layer (or [`ClusterCa::verify_client`]) has verified. Refuses a
/// certificate that is not a secondary's (no `clientAuth`, not our organization, a bad id).
pub fn identify(cert: &CertificateDer<'_>) -> Result<SecondaryIdentity, PkiError> {
    let not = |why: &str| PkiError::NotASecondary(why.to_string());
    let (_, parsed) =
        X509Certificate::from_der(cert).map_err(|_| not("the certificate does not parse"))?;
    let client_auth = parsed
        .extended_key_usage()
        .map_err(|_| not("bad extended key usage"))?
        .is_some_and(|eku| eku.value.client_auth);
    if !client_auth || parsed.is_ca() {
        return Err(not("not a client certificate"));
    }
    let subject = parsed.subject();
    let organization = single_attr(subject.iter_organization(), "organization")?;
    if organization != SECONDARY_ORGANIZATION {
        return Err(not("not issued to a replication secondary"));
    }
    let id = single_attr(subject.iter_common_name(), "common name")?;
    let id = SecondaryId::new(id).map_err(|_| not("the common name is not a secondary id"))?;
    Ok(SecondaryIdentity {
        id,
        serial: hex::encode(parsed.raw_serial()),
    })
}

fn single_attr<'a>(
    mut attrs: impl Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'a>>,
    what: &str,
) -> Result<&'a str, PkiError> {
    let not = || PkiError::NotASecondary(format!("expected exactly one {what}"));
    let first = attrs.next().ok_or_else(not)?;
    if attrs.next().is_some() {
        return Err(not());
    }
    first.as_str().map_err(|_| not())
}

/// The DNS name every primary server certificate of this cluster carries, whatever its
/// addresses: `<cluster-id>.replication.vaultrs.invalid` (`.invalid` never resolves, so
/// it can only be matched, not dialled). A secondary verifies the primary against it.
pub fn cluster_server_name(cluster_id: &str) -> Result<String, PkiError> {
    let label_ok = !cluster_id.is_empty()
        && cluster_id.len() <= 63
        && cluster_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !cluster_id.starts_with('-')
        && !cluster_id.ends_with('-');
    if !label_ok {
        return Err(PkiError::InvalidState(format!(
            "cluster id {cluster_id:?} is not usable in a certificate name"
        )));
    }
    Ok(format!(
        "{}.replication.vaultrs.invalid",
        cluster_id.to_ascii_lowercase()
    ))
}

/// The host part of a cluster address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    Ip(IpAddr),
    Dns(String),
}

/// Parses the host out of `https://host:port`, `host:port`, `[v6]:port`, `host` or an IP.
pub(crate) fn address_host(addr: &str) -> Result<Host, PkiError> {
    let bad = |reason: &str| PkiError::InvalidAddress {
        addr: addr.to_string(),
        reason: reason.to_string(),
    };
    let mut rest = addr.trim();
    for scheme in ["https://", "http://", "tcp://"] {
        if let Some(r) = rest.strip_prefix(scheme) {
            rest = r;
            break;
        }
    }
    let rest = rest.split('/').next().unwrap_or_default();
    if rest.is_empty() {
        return Err(bad("no host"));
    }
    if rest.contains('@') {
        return Err(bad("user information is not allowed"));
    }
    let host = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        if !after.is_empty() {
            check_port(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| bad("junk after ']'"))?,
            )
            .map_err(&bad)?;
        }
        host
    } else if rest.parse::<IpAddr>().is_ok() {
        rest
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => {
                check_port(port).map_err(&bad)?;
                host
            }
            None => rest,
        }
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        if ip.is_unspecified() {
            return Err(bad(
                "an unspecified address (0.0.0.0 or ::) cannot be dialled; give the address secondaries reach",
            ));
        }
        return Ok(Host::Ip(ip));
    }
    let name = host.to_ascii_lowercase();
    DnsName::try_from(name.as_str()).map_err(|_| bad("not a valid DNS name or IP address"))?;
    Ok(Host::Dns(name))
}

fn check_port(port: &str) -> Result<(), &'static str> {
    match port.parse::<u16>() {
        Ok(p) if p != 0 => Ok(()),
        _ => Err("bad port"),
    }
}

fn dns_san(name: &str) -> Result<SanType, PkiError> {
    let ia5 = name
        .to_string()
        .try_into()
        .map_err(|_| PkiError::Generate(format!("{name:?} is not an IA5 string")))?;
    Ok(SanType::DnsName(ia5))
}

/// Sets `not_before` (backdated) and `not_after`; returns `not_after` in unix seconds.
fn set_validity(
    params: &mut CertificateParams,
    now: u64,
    lifetime: Duration,
) -> Result<u64, PkiError> {
    let from = now.saturating_sub(BACKDATE.as_secs());
    let until = now
        .checked_add(lifetime.as_secs())
        .ok_or(PkiError::Clock(now))?;
    params.not_before = datetime(from, now)?;
    params.not_after = datetime(until, now)?;
    Ok(until)
}

fn datetime(secs: u64, now: u64) -> Result<time::OffsetDateTime, PkiError> {
    let secs = i64::try_from(secs).map_err(|_| PkiError::Clock(now))?;
    time::OffsetDateTime::from_unix_timestamp(secs).map_err(|_| PkiError::Clock(now))
}

/// 128 random bits, positive and without a leading zero byte (so the DER integer is the
/// bytes as they are, and the hex reads back the same from the certificate).
fn random_serial() -> (SerialNumber, String) {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f).max(1);
    (SerialNumber::from_slice(&bytes), hex::encode(bytes))
}

fn generate_err(e: rcgen::Error) -> PkiError {
    PkiError::Generate(e.to_string())
}

/// One certificate from PEM.
pub(crate) fn parse_cert_pem(pem: &str) -> Result<CertificateDer<'static>, PkiError> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| PkiError::InvalidState("a certificate PEM does not parse".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;
    const CLUSTER: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

    fn der(pem: &str) -> CertificateDer<'static> {
        parse_cert_pem(pem).unwrap()
    }

    #[test]
    fn addresses_give_hosts() {
        let ip = |s: &str| Host::Ip(s.parse().unwrap());
        let dns = |s: &str| Host::Dns(s.to_string());
        let cases = [
            ("https://127.0.0.1:8201", ip("127.0.0.1")),
            ("127.0.0.1:8201", ip("127.0.0.1")),
            ("10.1.2.3", ip("10.1.2.3")),
            ("[::1]:8201", ip("::1")),
            ("https://[fd00::5]:8201/", ip("fd00::5")),
            ("::1", ip("::1")),
            ("vault-a.example.com:8201", dns("vault-a.example.com")),
            ("https://Vault.Example.com:8201", dns("vault.example.com")),
            ("localhost", dns("localhost")),
        ];
        for (addr, want) in cases {
            assert_eq!(address_host(addr).unwrap(), want, "{addr}");
        }
        for bad in [
            "",
            "https://",
            "0.0.0.0:8201",
            "[::]:8201",
            "host:notaport",
            "host:0",
            "host:70000",
            "[::1",
            "[::1]x",
            "bad_name!:8201",
            "user@host:8201",
        ] {
            assert!(
                matches!(address_host(bad), Err(PkiError::InvalidAddress { .. })),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn ca_state_round_trips_and_is_checked() {
        let ca = ClusterCa::generate(CLUSTER, NOW).unwrap();
        let json = serde_json::to_string(&ca.state()).unwrap();
        let state: ClusterCaState = serde_json::from_str(&json).unwrap();
        let again = ClusterCa::from_state(&state).unwrap();
        assert_eq!(again.cert_pem(), ca.cert_pem());
        // A certificate issued after the reload chains to the same CA.
        let id = SecondaryId::new("dc2").unwrap();
        let cert = again.issue_client_cert(&id, NOW).unwrap();
        let who = ca
            .verify_client(&[der(&cert.cert_pem)], &RevokedSet::default(), NOW)
            .unwrap();
        assert_eq!(who.id, id);
        // Debug never shows the key.
        assert!(!format!("{ca:?}").contains("PRIVATE"));
        assert!(!format!("{:?}", ca.state()).contains("PRIVATE"));
        assert!(!format!("{cert:?}").contains("PRIVATE"));

        // Another CA's key with this certificate is refused.
        let other = ClusterCa::generate(CLUSTER, NOW).unwrap();
        let mut mixed = ca.state();
        mixed.key_pem = other.state().key_pem;
        assert!(matches!(
            ClusterCa::from_state(&mixed),
            Err(PkiError::InvalidState(_))
        ));
        let mut garbage = ca.state();
        garbage.cert_pem = "not a pem".into();
        assert!(ClusterCa::from_state(&garbage).is_err());
        let mut future = ca.state();
        future.version = 2;
        assert!(ClusterCa::from_state(&future).is_err());
        assert!(ClusterCa::generate("bad id!", NOW).is_err());
    }

    #[test]
    fn client_certificates_name_their_secondary_and_serial() {
        let ca = ClusterCa::generate(CLUSTER, NOW).unwrap();
        let id = SecondaryId::new("us-east").unwrap();
        let a = ca.issue_client_cert(&id, NOW).unwrap();
        let b = ca.issue_client_cert(&id, NOW).unwrap();
        assert_ne!(a.serial, b.serial);
        assert_eq!(a.serial.len(), 32);
        let who = identify(&der(&a.cert_pem)).unwrap();
        assert_eq!(
            who,
            SecondaryIdentity {
                id: id.clone(),
                serial: a.serial.clone()
            }
        );
        assert_eq!(a.not_after, NOW + LEAF_LIFETIME.as_secs());

        // The server certificate and the CA are not secondaries.
        let server = ca.issue_server_cert(&["127.0.0.1:8201"], NOW).unwrap();
        assert!(matches!(
            identify(&der(&server.cert_pem)),
            Err(PkiError::NotASecondary(_))
        ));
        assert!(matches!(
            identify(ca.cert_der()),
            Err(PkiError::NotASecondary(_))
        ));
        assert!(matches!(
            identify(&CertificateDer::from(vec![1, 2, 3])),
            Err(PkiError::NotASecondary(_))
        ));
    }

    #[test]
    fn verify_client_refuses_strangers_revoked_and_expired() {
        let ca = ClusterCa::generate(CLUSTER, NOW).unwrap();
        let stranger_ca = ClusterCa::generate(CLUSTER, NOW).unwrap();
        let id = SecondaryId::new("dc2").unwrap();
        let good = der(&ca.issue_client_cert(&id, NOW).unwrap().cert_pem);
        let stranger = der(&stranger_ca.issue_client_cert(&id, NOW).unwrap().cert_pem);
        let none = RevokedSet::default();

        assert_eq!(
            ca.verify_client(std::slice::from_ref(&good), &none, NOW)
                .unwrap()
                .id,
            id
        );
        assert!(matches!(
            ca.verify_client(&[stranger], &none, NOW),
            Err(PkiError::Untrusted(_))
        ));
        assert!(matches!(
            ca.verify_client(&[], &none, NOW),
            Err(PkiError::NoClientCertificate)
        ));
        // The server certificate chains to the CA but is no client.
        let server = der(&ca.issue_server_cert(&["h:1"], NOW).unwrap().cert_pem);
        assert!(ca.verify_client(&[server], &none, NOW).is_err());

        let mut by_id = RevokedSet::default();
        by_id.revoke_id(id.clone());
        assert_eq!(
            ca.verify_client(std::slice::from_ref(&good), &by_id, NOW),
            Err(PkiError::Revoked { id: "dc2".into() })
        );
        let serial = identify(&good).unwrap().serial;
        let mut by_serial = RevokedSet::default();
        by_serial.revoke_serial(&serial.to_ascii_uppercase());
        assert!(matches!(
            ca.verify_client(std::slice::from_ref(&good), &by_serial, NOW),
            Err(PkiError::Revoked { .. })
        ));
        // Another certificate of the same id is not caught by the serial.
        let fresh = der(&ca.issue_client_cert(&id, NOW).unwrap().cert_pem);
        assert!(ca.verify_client(&[fresh], &by_serial, NOW).is_ok());

        let later = NOW + LEAF_LIFETIME.as_secs() + 1;
        assert!(matches!(
            ca.verify_client(std::slice::from_ref(&good), &none, later),
            Err(PkiError::Untrusted(_))
        ));
        // Backdated an hour for clocks that run behind, not more.
        assert!(ca
            .verify_client(std::slice::from_ref(&good), &none, NOW - 3000)
            .is_ok());
        assert!(ca.verify_client(&[good], &none, NOW - 7200).is_err());
    }

    #[test]
    fn server_certificate_names() {
        let ca = ClusterCa::generate(CLUSTER, NOW).unwrap();
        let cert = ca
            .issue_server_cert(
                &[
                    "https://127.0.0.1:8201",
                    "primary.example:8201",
                    "127.0.0.1",
                ],
                NOW,
            )
            .unwrap();
        let d = der(&cert.cert_pem);
        let (_, parsed) = X509Certificate::from_der(&d).unwrap();
        let sans = parsed.subject_alternative_name().unwrap().unwrap();
        use x509_parser::extensions::GeneralName;
        let mut dns = Vec::new();
        let mut ips = Vec::new();
        for name in &sans.value.general_names {
            match name {
                GeneralName::DNSName(n) => dns.push(n.to_string()),
                GeneralName::IPAddress(ip) => ips.push(ip.to_vec()),
                other => panic!("unexpected SAN {other:?}"),
            }
        }
        // The repeated 127.0.0.1 appears once.
        assert_eq!(
            dns,
            vec![
                cluster_server_name(CLUSTER).unwrap(),
                "primary.example".to_string()
            ]
        );
        assert_eq!(ips, vec![vec![127u8, 0, 0, 1]]);
        let eku = parsed.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && !eku.client_auth);
        assert!(ca.issue_server_cert(&["0.0.0.0:8201"], NOW).is_err());
    }
}
