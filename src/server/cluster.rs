//! The cluster listener: where secondaries reach a primary (bootstrap, the stream,
//! forwarded writes), over mutual TLS with the primary's own cluster CA.
//!
//! The socket is bound at start (dev: the API port + 1, or any free port when the API
//! port was; config: `cluster_addr`, else the first listener's port + 1), but it serves
//! only while the core is an unsealed primary: it follows [`Core::cluster_tls`], and
//! each configuration change (enable, promote, seal, demote) restarts the server with
//! the new certificate, or stops it. Outside those times a connection is accepted and
//! closed at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::core::Core;
use crate::error::{Error, Result};
use crate::replication::acceptor::ClusterAcceptor;

/// The address the cluster listener binds for `cluster_addr` (`https://host:port`,
/// `host:port`).
pub fn bind_address(cluster_addr: &str) -> Result<String> {
    let rest = cluster_addr
        .strip_prefix("https://")
        .or_else(|| cluster_addr.strip_prefix("http://"))
        .unwrap_or(cluster_addr);
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains('/') {
        return Err(Error::invalid(format!(
            "cluster_addr {cluster_addr:?} is not an address (https://host:port)"
        )));
    }
    Ok(rest.to_owned())
}

/// The address one port above `addr`'s (Vault's default cluster port), or port 0 when
/// `addr`'s port is 0 or the last one.
pub fn next_port(addr: &SocketAddr) -> SocketAddr {
    let mut next = *addr;
    next.set_port(match addr.port() {
        0 | u16::MAX => 0,
        p => p + 1,
    });
    next
}

/// The cluster listener's socket when no `cluster_addr` is configured: the API port + 1
/// (Vault's default), or any free port of the same host when that one is taken (tests
/// and tools start many servers on arbitrary ports; the address in use is logged and
/// advertised, never guessed).
pub fn bind_default(api: &SocketAddr) -> Result<std::net::TcpListener> {
    let preferred = next_port(api);
    let socket = match std::net::TcpListener::bind(preferred) {
        Ok(s) => s,
        Err(e) if preferred.port() != 0 => {
            let mut any = preferred;
            any.set_port(0);
            tracing::debug!(%preferred, error = %e, "cluster port taken; using a free one");
            std::net::TcpListener::bind(any).map_err(|e| {
                Error::invalid(format!(
                    "cannot bind a cluster listener on {}: {e}",
                    any.ip()
                ))
            })?
        }
        Err(e) => {
            return Err(Error::invalid(format!(
                "cannot bind a cluster listener on {preferred}: {e}"
            )))
        }
    };
    socket
        .set_nonblocking(true)
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(socket)
}

/// Serves the cluster routes on `socket` while the core is a primary, until the task is
/// aborted.
pub fn spawn(core: Arc<Core>, socket: std::net::TcpListener) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut configs = core.cluster_tls();
        loop {
            let current = configs.borrow_and_update().clone();
            let Some(config) = current else {
                // Not a primary now: connections are closed at once, so a secondary
                // learns it without waiting out a handshake timeout.
                let refusing = match socket.try_clone().map(tokio::net::TcpListener::from_std) {
                    Ok(Ok(l)) => l,
                    _ => {
                        tracing::error!("the cluster listener's socket cannot be shared");
                        return;
                    }
                };
                loop {
                    tokio::select! {
                        accepted = refusing.accept() => drop(accepted),
                        changed = configs.changed() => {
                            if changed.is_err() {
                                return;
                            }
                            break;
                        }
                    }
                }
                continue;
            };
            let listener = match socket.try_clone() {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(error = %e, "the cluster listener's socket");
                    return;
                }
            };
            let handle = axum_server::Handle::new();
            let app = crate::http::cluster::listener_router(core.clone());
            let server = axum_server::from_tcp(listener)
                .acceptor(ClusterAcceptor::new((*config).clone()))
                .handle(handle.clone())
                .serve(app.into_make_service());
            tokio::pin!(server);
            tokio::select! {
                outcome = &mut server => {
                    if let Err(e) = outcome {
                        tracing::error!(error = %e, "the cluster listener stopped");
                    }
                    return;
                }
                changed = configs.changed() => {
                    handle.graceful_shutdown(Some(Duration::from_secs(1)));
                    let _ = server.await;
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            bind_address("https://127.0.0.1:8201").unwrap(),
            "127.0.0.1:8201"
        );
        assert_eq!(bind_address("10.0.0.1:8201/").unwrap(), "10.0.0.1:8201");
        assert!(bind_address("https://").is_err());
        assert!(bind_address("https://h:1/x").is_err());
        let a: SocketAddr = "127.0.0.1:8200".parse().unwrap();
        assert_eq!(next_port(&a).port(), 8201);
        let z: SocketAddr = "127.0.0.1:0".parse().unwrap();
        assert_eq!(next_port(&z).port(), 0);
    }
}
