//! Logins: an auth method checks the credentials, the core turns what it grants into a
//! token (Vault's `RegisterAuth`).

use std::sync::Arc;
use std::time::Duration;

use super::mounts::Resolved;
use super::request::{Auth, Request, Response};
use super::tokens::{NewToken, TokenType};
use super::ttl::TtlLimits;
use super::{token_backend, Active, Core};
use crate::error::{Error, Result};
use crate::logical::Backend;

impl Core {
    /// A login: no token and no ACL; the auth method checks the credentials, and what it
    /// grants becomes a token with a lease.
    pub(super) async fn login(
        &self,
        active: &Active,
        mount: &Resolved,
        backend: &Arc<dyn Backend>,
        req: &Request,
    ) -> Result<Response> {
        let ctx = self.engine_ctx(mount, "");
        let lreq = crate::logical::Request::new(req.operation, mount.relative.as_str())
            .with_data(req.data.clone())
            .with_remote_addr(req.remote_addr.map(|a| a.ip()));
        let mut answer = backend.handle(&ctx, &lreq).await?;
        let grant = answer.auth.take();
        let mut response: Response = answer.into();
        if let Some(grant) = grant {
            let (auth, warnings) = self
                .issue_login_token(active, mount, &req.path, grant)
                .await?;
            response.auth = Some(auth);
            response.warnings.extend(warnings);
        }
        self.maybe_wrap(active, response, req).await
    }

    /// Turns what an auth method granted into a token (Vault's `RegisterAuth`), with
    /// Vault's warnings when a TTL had to be capped.
    pub(super) async fn issue_login_token(
        &self,
        active: &Active,
        mount: &Resolved,
        path: &str,
        grant: crate::logical::LoginAuth,
    ) -> Result<(Auth, Vec<String>)> {
        let info = &mount.facts.info;
        let mut policies = crate::engines::token_params::normalize_policies(grant.policies);
        if policies.iter().any(|p| p == "root") {
            return Err(Error::invalid("auth methods cannot create root tokens"));
        }
        if !grant.no_default_policy && !policies.iter().any(|p| p == "default") {
            policies.push("default".into());
            policies.sort();
        }
        let limits = TtlLimits {
            mount_default: info.default_lease_ttl.as_secs(),
            mount_max: info.max_lease_ttl.as_secs(),
            backend_max: grant.max_ttl.as_secs(),
            explicit_max: grant.explicit_max_ttl.as_secs(),
            period: grant.period.as_secs(),
        };
        let granted = limits.at_issue(grant.ttl.as_secs());
        // What renewals may never pass: the method's max within the mount's.
        let max = TtlLimits {
            explicit_max: 0,
            period: 0,
            ..limits
        }
        .max();
        let token_type = login_token_type(&mount.route.entry.config.token_type, &grant.token_type);
        let batch = token_type == TokenType::Batch;
        let source = info.path.trim_end_matches('/');
        let display_name = if grant.display_name.is_empty() {
            source.to_owned()
        } else {
            format!("{source}-{}", grant.display_name)
        };
        let (token, entry) = active
            .tokens
            .create(if batch {
                // A batch token lives its TTL and no more: what only a stored token can
                // have (uses, a period, renewals) goes, as in Vault.
                NewToken {
                    token_type,
                    policies,
                    meta: (!grant.metadata.is_empty()).then_some(grant.metadata),
                    display_name,
                    path: path.trim_end_matches('/').to_owned(),
                    ttl: Duration::from_secs(granted.ttl),
                    ..NewToken::default()
                }
            } else {
                NewToken {
                    policies,
                    meta: (!grant.metadata.is_empty()).then_some(grant.metadata),
                    display_name,
                    num_uses: grant.num_uses,
                    parent: None,
                    path: path.trim_end_matches('/').to_owned(),
                    ttl: Duration::from_secs(granted.ttl),
                    explicit_max_ttl: grant.explicit_max_ttl,
                    period: grant.period,
                    renewable: grant.renewable,
                    max_ttl: Duration::from_secs(max),
                    ..NewToken::default()
                }
            })
            .await?;
        Ok((
            token_backend::auth_for(&token, &entry, entry.ttl),
            granted.warnings,
        ))
    }
}

/// The type of a login's token: the mount's tuned `token_type` forces `service` or
/// `batch`; its `default-*` settings decide only for a method that leaves it to them
/// (Vault's router).
fn login_token_type(mount: &str, method: &str) -> TokenType {
    match (mount, method) {
        ("service", _) => TokenType::Service,
        ("batch", _) => TokenType::Batch,
        ("default-batch", "" | "default" | "default-batch" | "batch") => TokenType::Batch,
        ("default-batch", _) => TokenType::Service,
        (_, "batch" | "default-batch") => TokenType::Batch,
        _ => TokenType::Service,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mount_has_the_last_word_on_token_types() {
        use TokenType::{Batch, Service};
        for (mount, method, want) in [
            ("", "", Service),
            ("", "batch", Batch),
            ("default-service", "default", Service),
            ("default-service", "default-batch", Batch),
            ("default-batch", "", Batch),
            ("default-batch", "service", Service),
            ("default-batch", "default-service", Service),
            ("service", "batch", Service),
            ("batch", "service", Batch),
        ] {
            assert_eq!(login_token_type(mount, method), want, "{mount} {method}");
        }
    }
}
