//! Real loopback handshakes on the cluster channel: an axum-server listener with
//! [`ClusterAcceptor`] and reqwest clients built from [`tls::client_config`].

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Extension, Router};

use super::acceptor::ClusterAcceptor;
use super::ca::{ClusterCa, IssuedCert, RevokedSet, SecondaryIdentity};
use super::id::SecondaryId;
use super::tls::{self, Revocations};

const NOW_SLACK: u64 = 60;
const CLUSTER: &str = "9d8c7b6a-5f4e-4d3c-8b2a-1908f7e6d5c4";

fn now() -> u64 {
    // The handshake checks validity against the real clock (rustls'), so the
    // certificates here are issued at the real time.
    crate::util::unix_now().saturating_sub(NOW_SLACK)
}

struct Listener {
    addr: SocketAddr,
    handle: axum_server::Handle,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// A cluster listener answering `GET /who` with the secondary's id and serial.
async fn listen(ca: &ClusterCa, server: &IssuedCert, revocations: Revocations) -> Listener {
    let config = tls::server_config(ca.cert_pem(), server, revocations).unwrap();
    let app = Router::new().route(
        "/who",
        get(|Extension(who): Extension<SecondaryIdentity>| async move {
            format!("{}:{}", who.id, who.serial)
        }),
    );
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp(std_listener)
        .acceptor(ClusterAcceptor::new(config))
        .handle(handle.clone());
    tokio::spawn(async move { server.serve(app.into_make_service()).await });
    Listener { addr, handle }
}

/// One request on a fresh client (no pooled connection carries over).
async fn who(
    config: rustls::ClientConfig,
    url: &str,
    resolve: Option<(&str, SocketAddr)>,
) -> Result<String, String> {
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(std::time::Duration::from_secs(10));
    if let Some((name, addr)) = resolve {
        builder = builder.resolve(name, addr);
    }
    let client = builder.build().map_err(|e| format!("{e:?}"))?;
    let response = client.get(url).send().await.map_err(|e| format!("{e:?}"))?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()));
    }
    response.text().await.map_err(|e| format!("{e:?}"))
}

struct Cluster {
    ca: ClusterCa,
    server: IssuedCert,
    client: IssuedCert,
}

fn cluster() -> Cluster {
    let ca = ClusterCa::generate(CLUSTER, now()).unwrap();
    let server = ca
        .issue_server_cert(&["https://127.0.0.1:8201"], now())
        .unwrap();
    let client = ca
        .issue_client_cert(&SecondaryId::new("dc2").unwrap(), now())
        .unwrap();
    Cluster { ca, server, client }
}

#[tokio::test]
async fn the_issued_secondary_is_accepted_and_identified() {
    let c = cluster();
    let listener = listen(&c.ca, &c.server, Revocations::default()).await;
    let config = tls::client_config(c.ca.cert_pem(), &c.client).unwrap();
    let url = format!("https://127.0.0.1:{}/who", listener.addr.port());
    assert_eq!(
        who(config.clone(), &url, None).await.unwrap(),
        format!("dc2:{}", c.client.serial)
    );
    // The fixed cluster name verifies too, whatever address is dialled.
    let name = super::ca::cluster_server_name(CLUSTER).unwrap();
    let url = format!("https://{name}:{}/who", listener.addr.port());
    assert_eq!(
        who(config, &url, Some((&name, listener.addr)))
            .await
            .unwrap(),
        format!("dc2:{}", c.client.serial)
    );
}

#[tokio::test]
async fn strangers_and_anonymous_clients_are_refused() {
    let c = cluster();
    let listener = listen(&c.ca, &c.server, Revocations::default()).await;
    let url = format!("https://127.0.0.1:{}/who", listener.addr.port());

    // A client certificate from another CA (even for the same id and cluster id).
    let other = ClusterCa::generate(CLUSTER, now()).unwrap();
    let stranger = other
        .issue_client_cert(&SecondaryId::new("dc2").unwrap(), now())
        .unwrap();
    let config = tls::client_config(c.ca.cert_pem(), &stranger).unwrap();
    let err = who(config, &url, None).await.unwrap_err();
    assert!(err.contains("UnknownCA"), "{err}");

    // No client certificate at all.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(c.ca.cert_der().clone()).unwrap();
    let anonymous = rustls::ClientConfig::builder_with_provider(tls::crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let err = who(anonymous, &url, None).await.unwrap_err();
    assert!(err.contains("CertificateRequired"), "{err}");

    // The primary's own server certificate used as a client certificate.
    let config = tls::client_config(c.ca.cert_pem(), &c.server).unwrap();
    assert!(who(config, &url, None).await.is_err());

    // The issued secondary still gets in.
    let config = tls::client_config(c.ca.cert_pem(), &c.client).unwrap();
    assert!(who(config, &url, None).await.is_ok());
}

#[tokio::test]
async fn a_revoked_secondary_is_refused_at_the_next_handshake() {
    let c = cluster();
    let revocations = Revocations::default();
    let listener = listen(&c.ca, &c.server, revocations.clone()).await;
    let url = format!("https://127.0.0.1:{}/who", listener.addr.port());
    let mut config = tls::client_config(c.ca.cert_pem(), &c.client).unwrap();
    // A client that would resume its session (ours does not): the listener must still
    // check the certificate on the next connection.
    config.resumption = rustls::client::Resumption::default();
    assert!(who(config.clone(), &url, None).await.is_ok());

    let mut by_id = RevokedSet::default();
    by_id.revoke_id(SecondaryId::new("dc2").unwrap());
    revocations.replace(by_id);
    let err = who(config.clone(), &url, None).await.unwrap_err();
    assert!(err.contains("CertificateRevoked"), "{err}");

    let mut by_serial = RevokedSet::default();
    by_serial.revoke_serial(&c.client.serial);
    revocations.replace(by_serial);
    assert!(who(config.clone(), &url, None).await.is_err());

    // A new certificate for the same id (a re-activation) is not caught by the serial.
    let fresh =
        c.ca.issue_client_cert(&SecondaryId::new("dc2").unwrap(), now())
            .unwrap();
    let fresh_config = tls::client_config(c.ca.cert_pem(), &fresh).unwrap();
    assert_eq!(
        who(fresh_config, &url, None).await.unwrap(),
        format!("dc2:{}", fresh.serial)
    );

    revocations.replace(RevokedSet::default());
    assert!(who(config, &url, None).await.is_ok());
}

#[tokio::test]
async fn a_secondary_trusts_only_its_cluster_ca() {
    let c = cluster();
    // A listener whose server certificate comes from another CA (an impostor primary),
    // even though it accepts the secondary's certificate.
    let impostor = ClusterCa::generate(CLUSTER, now()).unwrap();
    let impostor_server = impostor.issue_server_cert(&["127.0.0.1"], now()).unwrap();
    let config =
        tls::server_config(c.ca.cert_pem(), &impostor_server, Revocations::default()).unwrap();
    let app = Router::new().route("/who", get(|| async { "impostor" }));
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp(std_listener)
        .acceptor(ClusterAcceptor::new(config))
        .handle(handle.clone());
    tokio::spawn(async move { server.serve(app.into_make_service()).await });
    let _guard = Listener { addr, handle };

    let client = tls::client_config(c.ca.cert_pem(), &c.client).unwrap();
    let err = who(
        client,
        &format!("https://127.0.0.1:{}/who", addr.port()),
        None,
    )
    .await
    .unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");

    // And a real primary's certificate for another name is refused too.
    let listener = listen(&c.ca, &c.server, Revocations::default()).await;
    let client = tls::client_config(c.ca.cert_pem(), &c.client).unwrap();
    let url = format!("https://elsewhere.example:{}/who", listener.addr.port());
    let err = who(client, &url, Some(("elsewhere.example", listener.addr)))
        .await
        .unwrap_err();
    assert!(err.contains("NotValidForName"), "{err}");
}
