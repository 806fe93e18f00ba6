//! What the compatibility tests share: `vault_client` clients for a test server, the
//! status and messages of an API error, and a sample KV secret.

use serde::{Deserialize, Serialize};
use vault_client::client::{VaultClient, VaultClientSettingsBuilder};
use vault_client::error::ClientError;

use crate::harness::TestServer;

/// A client for `server` using `token` (the environment is not consulted for either).
pub(super) fn client(server: &TestServer, token: &str) -> VaultClient {
    client_at(&server.addr, token)
}

pub(super) fn client_at(addr: &str, token: &str) -> VaultClient {
    VaultClient::new(
        VaultClientSettingsBuilder::default()
            .address(addr)
            .token(token)
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build()
            .unwrap(),
    )
    .unwrap()
}

pub(super) fn root(server: &TestServer) -> VaultClient {
    client(server, "root")
}

/// The HTTP status and error messages of an API error; panics on anything else.
pub(super) fn api_error<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (u16, Vec<String>) {
    match result {
        Err(ClientError::APIError { code, errors }) => (code, errors),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(super) struct App {
    pub(super) user: String,
    pub(super) password: String,
}

pub(super) fn app(password: &str) -> App {
    App {
        user: "admin".into(),
        password: password.into(),
    }
}

pub(super) fn is_rfc3339(s: &str) -> bool {
    // 2024-01-02T03:04:05[.nnn]Z
    s.len() >= 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T' && s.ends_with('Z')
}
