//! Who is asking and what they may do: the token becomes a [`Caller`] with its ACL, the
//! operation the ACL judges (create vs update), the ACL and sudo check, and the spending
//! of a limited token's uses.

use std::sync::Arc;
use std::time::Duration;

use super::mounts::{Handler, Resolved};
use super::tokens::{TokenEntry, TokenUse};
use super::{needs_sudo, Active, Caller, Core, Request};
use crate::error::{Error, Result};
use crate::logical::{Backend, Operation};
use crate::policy::Acl;

impl Core {
    pub(super) async fn authenticate(
        &self,
        active: &Active,
        token: Option<&str>,
    ) -> Result<Caller> {
        let token = token.ok_or(Error::PermissionDenied)?;
        let (hash, entry) = active
            .tokens
            .lookup_shared(token)
            .await?
            .ok_or(Error::PermissionDenied)?;
        let acl = Self::acl_of(active, &entry).await?;
        Ok(Caller {
            token: token.to_owned(),
            hash,
            limited: entry.num_uses > 0,
            entry,
            acl,
        })
    }

    /// The ACL of a token entry: rootness comes from the token, policies from the store.
    pub(super) async fn acl_of(active: &Active, entry: &TokenEntry) -> Result<Arc<Acl>> {
        if entry.is_root() {
            static ROOT: std::sync::LazyLock<Arc<Acl>> =
                std::sync::LazyLock::new(|| Arc::new(Acl::root()));
            return Ok(ROOT.clone());
        }
        active.policies.acl(&entry.policies).await
    }

    /// `Update` becomes `Create` when the engine says the target does not exist yet. The
    /// engine looks where the request itself will run (a cubbyhole: the caller's own).
    pub(super) async fn operation_for_acl(
        &self,
        active: &Active,
        token_hash: &str,
        mount: Option<&Resolved>,
        req: &Request,
    ) -> Result<Operation> {
        if req.operation != Operation::Update {
            return Ok(req.operation);
        }
        let Some(mount) = mount else {
            return Ok(req.operation);
        };
        let backend: &Arc<dyn Backend> = match &mount.route.handler {
            Handler::Engine(b) | Handler::PerToken(b) => b,
            Handler::Token => {
                return super::token_backend::operation_for_acl(active, &mount.relative).await
            }
            Handler::System => return Ok(req.operation),
        };
        let ctx = self.engine_ctx(mount, token_hash);
        // Existence depends on the path alone: no copy of the request's data.
        let lreq = crate::logical::Request::new(Operation::Update, mount.relative.as_str());
        Ok(match backend.exists(&ctx, &lreq).await {
            Ok(Some(false)) => Operation::Create,
            _ => Operation::Update,
        })
    }

    /// For a missing or unknown token: the checks a real token without permission goes
    /// through (create-vs-update, an ACL of the `default` policy), whose answers are
    /// thrown away, so that "no such token" and "not allowed" take about the same time
    /// (RELIABILITY I7).
    pub(super) async fn decoy_authorization(
        &self,
        active: &Active,
        mount: Option<&Resolved>,
        req: &Request,
    ) {
        const DECOY_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
        let operation = self
            .operation_for_acl(active, DECOY_HASH, mount, req)
            .await
            .unwrap_or(req.operation);
        static DEFAULT: std::sync::LazyLock<Vec<String>> =
            std::sync::LazyLock::new(|| vec!["default".to_owned()]);
        if let Ok(acl) = active.policies.acl(&DEFAULT).await {
            let decision = acl.authorize(operation, &req.path, &req.data, req.wrap_ttl);
            // The same short-circuit `authorize` takes.
            std::hint::black_box(!decision.allowed || needs_sudo(&req.path));
        }
    }

    pub(super) fn authorize(
        &self,
        caller: &Caller,
        operation: Operation,
        path: &str,
        data: &serde_json::Map<String, serde_json::Value>,
        wrap_ttl: Option<Duration>,
    ) -> Result<()> {
        let decision = caller.acl.authorize(operation, path, data, wrap_ttl);
        if !decision.allowed || (needs_sudo(path) && !decision.sudo) {
            return Err(Error::PermissionDenied);
        }
        Ok(())
    }

    /// Spends one use of a limited-use token and updates the caller's view of it; true when
    /// this was the last use.
    pub(super) async fn consume_use(&self, active: &Active, caller: &mut Caller) -> Result<bool> {
        match active.tokens.use_token(&caller.hash, &caller.entry).await? {
            TokenUse::Unlimited => Ok(false),
            TokenUse::Counted(entry) => {
                caller.entry = Arc::new(entry);
                Ok(false)
            }
            TokenUse::Last(entry) => {
                caller.entry = Arc::new(entry);
                Ok(true)
            }
        }
    }
}
