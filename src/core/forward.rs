//! Forwarding: a secondary sends a write of replicated data to its primary.
//!
//! On the secondary the request runs through the whole pipeline (token, ACL against the
//! replicated policies, audit, use count) until its handler's commit is refused by the
//! follower barrier ([`Error::Follower`]): nothing was written. The core then hands the
//! request, with the caller's token entry, to its [`Forwarder`] (the replication client,
//! over the mutual-TLS cluster channel). The primary runs it as that caller — checking
//! the ACL again with the same policies — and answers with the response and the position
//! of its log that holds the change. The secondary answers once it has applied that
//! position, so the client reads its own write there.
//!
//! Tokens are local: a forwarded request never carries or creates one, and an answer
//! with an `auth` block is never forwarded back.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use vaultrs_storage::Position;

use super::mounts::Handler;
use super::tokens::TokenEntry;
use super::{Active, Caller, Core, Request, Response};
use crate::error::{Error, Result};
use crate::logical::Operation;

/// How long a secondary waits for a forwarded change to come back before it answers
/// with a warning.
pub const FORWARD_WAIT: Duration = Duration::from_secs(10);

/// A request forwarded to the primary.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Forwarded {
    /// The request's operation (`read`, `create`, `update`, ...).
    pub operation: String,
    pub path: String,
    pub data: Map<String, Value>,
    /// The caller's token entry on the secondary (its policies decide).
    pub entry: TokenEntry,
    pub request_id: String,
}

/// The primary's answer: a response without an `auth` block.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ForwardedAnswer {
    pub data: Option<Map<String, Value>>,
    pub warnings: Vec<String>,
    pub lease_id: String,
    pub lease_duration: u64,
    pub renewable: bool,
    pub not_found_with_data: bool,
    pub inject_top_level: bool,
    pub raw_body: Option<Value>,
    pub accepted: bool,
}

impl ForwardedAnswer {
    fn of(r: Response) -> Result<Self> {
        if r.auth.is_some() || r.wrap_info.is_some() {
            return Err(Error::Internal(
                "a forwarded request created a token on the primary".into(),
            ));
        }
        Ok(Self {
            data: r.data,
            warnings: r.warnings,
            lease_id: r.lease_id,
            lease_duration: r.lease_duration,
            renewable: r.renewable,
            not_found_with_data: r.not_found_with_data,
            inject_top_level: r.inject_top_level,
            raw_body: r.raw_body,
            accepted: r.accepted,
        })
    }

    pub fn into_response(self) -> Response {
        Response {
            data: self.data,
            warnings: self.warnings,
            lease_id: self.lease_id,
            lease_duration: self.lease_duration,
            renewable: self.renewable,
            not_found_with_data: self.not_found_with_data,
            inject_top_level: self.inject_top_level,
            raw_body: self.raw_body,
            accepted: self.accepted,
            ..Response::default()
        }
    }
}

/// Sends forwarded requests to the primary and waits until their change is applied
/// here (the replication client implements it).
#[async_trait::async_trait]
pub trait Forwarder: Send + Sync {
    async fn forward(&self, request: Forwarded) -> Result<Response>;
}

fn operation_name(op: Operation) -> &'static str {
    op.as_str()
}

fn parse_operation(name: &str) -> Result<Operation> {
    Ok(match name {
        "read" => Operation::Read,
        "create" => Operation::Create,
        "update" => Operation::Update,
        "patch" => Operation::Patch,
        "delete" => Operation::Delete,
        "list" => Operation::List,
        other => return Err(Error::invalid(format!("unknown operation {other:?}"))),
    })
}

impl Core {
    /// Installs (or removes) the forwarder of a secondary.
    pub fn set_forwarder(&self, forwarder: Option<Arc<dyn Forwarder>>) {
        *self.forwarder.write().unwrap_or_else(|p| p.into_inner()) = forwarder;
    }

    /// On a secondary: `req`, refused locally as a write of replicated data, runs on the
    /// primary; answered once applied here. Without a forwarder the refusal stands.
    pub(super) async fn forward(&self, caller: &Caller, req: &Request) -> Result<Response> {
        let forwarder = self
            .forwarder
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(Error::Follower)?;
        let mut response = forwarder
            .forward(Forwarded {
                operation: operation_name(req.operation).to_owned(),
                path: req.path.clone(),
                data: req.data.clone(),
                entry: (*caller.entry).clone(),
                request_id: req.id.clone(),
            })
            .await?;
        // The replica applied the primary's change; the follower makes it visible.
        let local = vaultrs_storage::Physical::last_seq(self.storage.file.as_ref());
        if self.wait_applied(local, FORWARD_WAIT).await.is_err() {
            response.warnings.push(
                "the write was applied on the primary, but not yet here: reads on this \
                 cluster may not show it for a moment"
                    .into(),
            );
        }
        Ok(response)
    }

    /// On a primary: a request a secondary forwarded, run as the caller whose token
    /// entry it carries (the ACL of its policies, checked again here). The answer and
    /// the position of this log that holds its change.
    pub async fn handle_forwarded(&self, fwd: Forwarded) -> Result<(ForwardedAnswer, Position)> {
        let active = self.active()?;
        if self.barrier.is_follower() {
            // Not a primary (any more): the secondary retries with its next primary.
            return Err(Error::Follower);
        }
        let operation = parse_operation(&fwd.operation)?;
        let req = Request {
            operation,
            path: fwd.path,
            data: fwd.data,
            token: None,
            wrap_ttl: None,
            id: fwd.request_id,
            remote_addr: None,
        };
        // The primary's audit devices record it like any request (and refuse it when none
        // can: a forwarded write is not a way around failing-closed audit).
        let answer = if active.audit.is_empty() {
            self.run_forwarded(&active, fwd.entry, &req, None).await
        } else {
            let mut trail = super::auditing::Trail::new(&req, self.metrics.clone());
            let result = self
                .run_forwarded(&active, fwd.entry, &req, Some(&mut trail))
                .await;
            trail.finish(&active.audit, result).await
        }?;
        let answer = ForwardedAnswer::of(answer)?;
        Ok((answer, self.storage.feed.position()))
    }

    async fn run_forwarded(
        &self,
        active: &Active,
        entry: TokenEntry,
        req: &Request,
        mut trail: Option<&mut super::auditing::Trail>,
    ) -> Result<Response> {
        let resolved = active.router().resolve(&req.path);
        let (req, mount) = self.canonical(req, resolved)?;
        if let Some(t) = trail.as_deref_mut() {
            t.path(&req.path);
            if let Some(m) = &mount {
                t.mount(m);
            }
        }
        let mount = mount.ok_or_else(|| super::no_route(&req.path))?;
        // Cubbyholes are per token and local. (Token-store writes that reach here are of
        // replicated data, roles; a token is never created by a forwarded request.)
        if matches!(mount.route.handler, Handler::PerToken(_)) {
            return Err(Error::invalid("cubbyhole requests are never forwarded"));
        }
        let acl = Self::acl_of(active, &entry).await?;
        let caller = Caller {
            token: String::new(),
            hash: String::new(),
            entry: Arc::new(entry),
            acl,
            limited: false,
        };
        let operation = self
            .operation_for_acl(active, "", Some(&mount), &req)
            .await?;
        let authorized = self.authorize(&caller, operation, &req.path, &req.data, None);
        if let Some(t) = trail.as_deref_mut() {
            t.operation(operation);
            t.caller(&caller, authorized.is_ok());
        }
        authorized?;
        let _in_flight = mount
            .facts
            .gate
            .enter()
            .await
            .ok_or_else(|| super::no_route(&req.path))?;
        if let Some(t) = trail {
            t.log_request(&active.audit).await?;
        }
        self.dispatch(active, &caller, &mount, operation, &req)
            .await
    }
}
