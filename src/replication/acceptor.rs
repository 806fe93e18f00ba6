//! The cluster listener's acceptor for axum-server: mutual TLS with the cluster CA, then the
//! verified secondary goes into every request's extensions.
//!
//! ```ignore
//! let config = tls::server_config(ca.cert_pem(), &server_cert, revocations.clone())?;
//! axum_server::from_tcp(listener)
//!     .acceptor(ClusterAcceptor::new(config))
//!     .serve(router.into_make_service())
//!     .await?;
//! // in a handler:
//! async fn stream(Extension(who): Extension<SecondaryIdentity>) -> ... { who.id ... }
//! ```
//!
//! A connection whose handshake fails (no certificate, another CA, a revoked secondary)
//! never reaches the router. The identity is read once per connection, after the handshake.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::Request;
use axum_server::accept::Accept;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;

use super::ca::SecondaryIdentity;
use super::tls::peer_identity;

/// An axum-server acceptor: rustls with [`super::tls::server_config`], then
/// [`WithSecondary`] around the connection's service.
#[derive(Clone, Debug)]
pub struct ClusterAcceptor {
    inner: RustlsAcceptor,
}

impl ClusterAcceptor {
    pub fn new(config: ServerConfig) -> Self {
        ClusterAcceptor {
            inner: RustlsAcceptor::new(RustlsConfig::from_config(Arc::new(config))),
        }
    }

    /// The rustls acceptor inside, e.g. to set its handshake timeout first.
    pub fn from_rustls(inner: RustlsAcceptor) -> Self {
        ClusterAcceptor { inner }
    }
}

impl<I, S> Accept<I, S> for ClusterAcceptor
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Send + 'static,
{
    type Stream = TlsStream<I>;
    type Service = WithSecondary<S>;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let handshake = self.inner.accept(stream, service);
        Box::pin(async move {
            let (tls, service) = handshake.await?;
            let identity = peer_identity(tls.get_ref().1)
                .map_err(|e| io::Error::new(io::ErrorKind::PermissionDenied, e.to_string()))?;
            Ok((
                tls,
                WithSecondary {
                    inner: service,
                    identity,
                },
            ))
        })
    }
}

/// A service that adds the connection's [`SecondaryIdentity`] to each request's
/// extensions (read it with `axum::Extension<SecondaryIdentity>`).
#[derive(Clone, Debug)]
pub struct WithSecondary<S> {
    inner: S,
    identity: SecondaryIdentity,
}

impl<S, B> tower_service::Service<Request<B>> for WithSecondary<S>
where
    S: tower_service::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        req.extensions_mut().insert(self.identity.clone());
        self.inner.call(req)
    }
}
