//! The cluster listener: where secondaries reach a primary (bootstrap, the stream,
//! forwarded writes), over mutual TLS with the primary's own cluster CA.
//!
//! The socket is bound at start (dev: the API port + 1, or any free port when the API
//! port was 0; config: `cluster_addr`, else the first listener's port + 1, or any free
//! port when that listener's was 0), but it serves
//! only while the core is an unsealed primary: it follows [`Core::cluster_tls`], and
//! each configuration change (enable, promote, seal, demote) restarts the server with
//! the new certificate, or stops it. Outside those times a connection is accepted by
//! the kernel and closed unanswered.

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

/// Where the cluster listener binds by default: one port above the API listener's bound
/// address `bound` (Vault's default cluster port), or port 0 (any free port) when the
/// listener was asked for port 0 (`requested`, as configured): the port above one the
/// system chose may well be taken. Port 0 too when `bound`'s port is the last one.
pub fn next_port(requested: &str, bound: &SocketAddr) -> SocketAddr {
    let requested_port = requested
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse::<u16>().ok());
    let mut next = *bound;
    next.set_port(match (requested_port, bound.port()) {
        (Some(0), _) | (_, 0 | u16::MAX) => 0,
        (_, p) => p + 1,
    });
    next
}

/// Serves the cluster routes on `socket` while the core is a primary, until the task is
/// aborted.
pub fn spawn(core: Arc<Core>, socket: std::net::TcpListener) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut configs = core.cluster_tls();
        loop {
            let current = configs.borrow_and_update().clone();
            let Some(config) = current else {
                if configs.changed().await.is_err() {
                    return;
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
        assert_eq!(next_port("127.0.0.1:8200", &a).port(), 8201);
        assert_eq!(next_port("localhost:8200", &a).port(), 8201);
        let z: SocketAddr = "127.0.0.1:0".parse().unwrap();
        assert_eq!(next_port("127.0.0.1:0", &z).port(), 0);
        // The system chose the API port: the one above it is not ours to assume.
        let chosen: SocketAddr = "127.0.0.1:41499".parse().unwrap();
        assert_eq!(next_port("127.0.0.1:0", &chosen).port(), 0);
        assert_eq!(
            next_port("[::1]:0", &"[::1]:41499".parse().unwrap()).port(),
            0
        );
        let last: SocketAddr = "127.0.0.1:65535".parse().unwrap();
        assert_eq!(next_port("127.0.0.1:65535", &last).port(), 0);
    }
}
