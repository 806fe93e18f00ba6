//! The expiration manager: every token with a TTL has a lease, and a lease that runs out
//! revokes its token (with its children and their cubbyholes).
//!
//! Lease records live under `local/leases/<lease id>` (local to the cluster), written in
//! the same commit as the token entry they describe ([`super::tokens::TokenStore`] owns
//! both), so a token and its lease never disagree on disk. A lease id is the token's
//! creation path and its keyed hash, as Vault forms it: `auth/userpass/login/bob/<hash>`,
//! `auth/token/create/<hash>`. That makes `revoke-prefix auth/userpass/` revoke every token
//! the userpass mount issued.
//!
//! In memory an [`ExpiryQueue`] orders the live leases by expiry time; one task per
//! unsealed core ([`run`]) sleeps until the earliest and revokes what is due. The queue is
//! rebuilt from the records on unseal, so leases survive restarts.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::Notify;

use super::{Active, Core, Request, Response};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::fields;
use crate::logical::Operation;
use crate::util::rfc3339_secs;

/// Format version of [`LeaseEntry`].
pub(super) const FORMAT_VERSION: u32 = 1;

/// The stored lease of one token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LeaseEntry {
    pub version: u32,
    pub lease_id: String,
    /// The hash the token is stored under.
    pub token_hash: String,
    pub issue_time: u64,
    pub expire_time: u64,
    pub last_renewal: Option<u64>,
    pub renewable: bool,
}

impl LeaseEntry {
    /// `sys/leases/lookup`'s `data`, its `ttl` by `clock`.
    fn to_data(&self, clock: &Clock) -> Map<String, Value> {
        let mut data = Map::new();
        data.insert("id".into(), self.lease_id.clone().into());
        data.insert("issue_time".into(), rfc3339_secs(self.issue_time).into());
        data.insert("expire_time".into(), rfc3339_secs(self.expire_time).into());
        data.insert(
            "last_renewal".into(),
            self.last_renewal
                .map_or(Value::Null, |t| rfc3339_secs(t).into()),
        );
        data.insert("renewable".into(), self.renewable.into());
        data.insert("ttl".into(), clock.secs_until(self.expire_time).into());
        data
    }
}

/// The lease id of a token created at `path` and stored under `hash`.
pub fn lease_id(path: &str, hash: &str) -> String {
    let path = path.trim_matches('/');
    if path.is_empty() {
        hash.to_owned()
    } else {
        format!("{path}/{hash}")
    }
}

/// Live leases ordered by expiry: token hash → expiry, and (expiry, hash) for the timer.
#[derive(Default)]
pub struct ExpiryQueue {
    inner: Mutex<QueueInner>,
    wake: Notify,
}

#[derive(Default)]
struct QueueInner {
    by_hash: HashMap<String, u64>,
    by_time: BTreeSet<(u64, String)>,
}

impl ExpiryQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// (Re)schedules the token `hash` to expire at `at` (unix seconds).
    pub fn schedule(&self, hash: &str, at: u64) {
        let mut q = self.lock();
        if let Some(old) = q.by_hash.insert(hash.to_owned(), at) {
            q.by_time.remove(&(old, hash.to_owned()));
        }
        let earliest = q.by_time.first().is_none_or(|(t, _)| at < *t);
        q.by_time.insert((at, hash.to_owned()));
        drop(q);
        if earliest {
            self.wake.notify_one();
        }
    }

    /// Forgets the lease of token `hash` (revoked).
    pub fn forget(&self, hash: &str) {
        let mut q = self.lock();
        if let Some(at) = q.by_hash.remove(hash) {
            q.by_time.remove(&(at, hash.to_owned()));
        }
    }

    /// The earliest expiry, if any.
    fn next(&self) -> Option<u64> {
        self.lock().by_time.first().map(|(t, _)| *t)
    }

    /// The tokens due at `now` (left in the queue until revoked).
    fn due(&self, now: u64) -> Vec<String> {
        self.lock()
            .by_time
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, h)| h.clone())
            .collect()
    }

    pub fn len(&self) -> usize {
        self.lock().by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Revokes expired tokens until the core seals: `stop` turns true, and the task ends
/// after the revocation it is in (never half way through one).
pub(super) async fn run(
    core: Weak<Core>,
    active: Weak<Active>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let Some((queue, clock)) = active
            .upgrade()
            .map(|a| (a.tokens.expiry(), a.tokens.clock().clone()))
        else {
            return;
        };
        // Taken before the clock is read: an advance of a manual clock from here on
        // wakes the wait below.
        let advanced = clock.watch();
        let now = clock.unix_now();
        match queue.next() {
            Some(at) if at <= now => {
                let (Some(core), Some(active)) = (core.upgrade(), active.upgrade()) else {
                    return;
                };
                for hash in queue.due(now) {
                    if *stop.borrow() {
                        return;
                    }
                    if let Err(e) = core.revoke_tree(&active, &hash).await {
                        // Leave it queued a little later: storage may come back.
                        tracing::warn!(error = %e, "could not revoke an expired token");
                        queue.schedule(&hash, now + 5);
                    }
                }
            }
            next => {
                let wait = next.map_or(Duration::from_secs(3600), |at| {
                    Duration::from_secs(at - now)
                });
                // Holding the queue (not the active state) while waiting.
                tokio::select! {
                    _ = tokio::time::timeout(wait, queue.wake.notified()) => {}
                    _ = advanced.wait() => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

/// Checks a lease id or prefix given by a client (it becomes a storage key).
fn checked_id(id: &str) -> Result<&str> {
    let id = id.trim_start_matches('/');
    if id.is_empty() {
        return Err(Error::invalid("missing lease_id"));
    }
    Ok(id)
}

/// `sys/leases/*` and the legacy `sys/renew`, `sys/revoke*` (relative to `sys/`).
/// `None`: not a lease endpoint.
pub(super) async fn handle(
    core: &Core,
    active: &Active,
    op: Operation,
    rel: &str,
    req: &Request,
) -> Option<Result<Response>> {
    let legacy = ["renew", "revoke", "revoke-prefix", "revoke-force"];
    let rel = match rel.strip_prefix("leases/") {
        Some(rel) => rel,
        None if legacy
            .iter()
            .any(|l| rel == *l || rel.strip_prefix(l).is_some_and(|r| r.starts_with('/'))) =>
        {
            rel
        }
        None => return None,
    };
    let (name, rest) = match rel.split_once('/') {
        Some((name, rest)) => (name, Some(rest)),
        None => (rel, None),
    };
    let write = matches!(op, Operation::Update | Operation::Create);
    let body_id = || fields::non_empty(&req.data, "lease_id");
    let id_from = |rest: Option<&str>| -> Result<String> {
        match rest.filter(|r| !r.is_empty()) {
            Some(r) => Ok(r.to_owned()),
            None => body_id().ok_or_else(|| Error::invalid("missing lease_id")),
        }
    };
    let tokens = &active.tokens;
    Some(match (name, op) {
        ("lookup", Operation::List) => {
            let prefix = rest.unwrap_or("");
            list(active, prefix).await
        }
        ("lookup", _) if write && rest.is_none_or(str::is_empty) => async {
            let id = body_id().ok_or_else(|| Error::invalid("missing lease_id"))?;
            let lease = tokens
                .lease(checked_id(&id)?)
                .await?
                .ok_or_else(|| Error::invalid("invalid lease"))?;
            Ok(Response::data(lease.to_data(tokens.clock())))
        }
        .await,
        ("renew", _) if write => async {
            let id = id_from(rest)?;
            match tokens.lease(checked_id(&id)?).await? {
                // Every lease here belongs to a token: Vault renews those through
                // auth/token/renew*, never through this endpoint.
                Some(_) => Err(Error::invalid(
                    "tokens cannot be renewed through this endpoint",
                )),
                None => Err(Error::invalid("lease not found")),
            }
        }
        .await,
        ("revoke", _) if write => async {
            let id = id_from(rest)?;
            if let Some(lease) = tokens.lease(checked_id(&id)?).await? {
                core.revoke_tree(active, &lease.token_hash).await?;
            }
            Ok(Response::empty())
        }
        .await,
        ("revoke-prefix" | "revoke-force", _) if write => async {
            let prefix = rest.filter(|r| !r.is_empty()).ok_or_else(|| {
                Error::invalid("missing prefix")
            })?;
            revoke_prefix(core, active, prefix, name == "revoke-force").await?;
            Ok(Response::empty())
        }
        .await,
        ("tidy", _) if write => async {
            let removed = tokens.tidy_leases().await?;
            tracing::info!(removed, "lease tidy finished");
            Ok(Response {
                warnings: vec!["Tidy operation successfully started. Any information from the operation will be printed to Vault's server logs.".into()],
                accepted: true,
                ..Response::default()
            })
        }
        .await,
        ("lookup" | "renew" | "revoke" | "revoke-prefix" | "revoke-force" | "tidy", _) => Err(
            Error::UnsupportedOperation(format!("unsupported operation on sys/leases/{rel}")),
        ),
        _ => Err(Error::UnsupportedPath(format!(
            "unsupported path sys/leases/{rel}"
        ))),
    })
}

/// `LIST sys/leases/lookup/<prefix>`: the lease ids and folders directly under `prefix`.
async fn list(active: &Active, prefix: &str) -> Result<Response> {
    let prefix = prefix.trim_start_matches('/');
    let prefix = if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_owned()
    } else {
        format!("{prefix}/")
    };
    Ok(crate::logical::Response::list(active.tokens.list_leases(&prefix).await?)?.into())
}

/// Revokes every lease under `prefix` (a path, with or without its trailing `/`).
/// `force` keeps going past failures (and reports none); otherwise the first failure
/// stops and is returned, leaving the leases not yet revoked in place.
pub(super) async fn revoke_prefix(
    core: &Core,
    active: &Active,
    prefix: &str,
    force: bool,
) -> Result<()> {
    let prefix = checked_id(prefix)?;
    let folder = format!("{}/", prefix.trim_end_matches('/'));
    for lease in active.tokens.leases_under(&folder).await? {
        if let Err(e) = core.revoke_tree(active, &lease.token_hash).await {
            if !force {
                return Err(e);
            }
            tracing::warn!(error = %e, "revoke-force: could not revoke a lease; removing it");
            active.tokens.drop_lease(&lease).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_orders_and_forgets() {
        let q = ExpiryQueue::default();
        q.schedule("a", 30);
        q.schedule("b", 10);
        q.schedule("c", 20);
        assert_eq!(q.next(), Some(10));
        assert_eq!(q.due(20), ["b", "c"]);
        q.schedule("b", 40); // renewed
        assert_eq!(q.due(20), ["c"]);
        q.forget("c");
        assert_eq!(q.next(), Some(30));
        assert_eq!(q.len(), 2);
        q.forget("missing");
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn lease_ids() {
        assert_eq!(
            lease_id("auth/userpass/login/bob", "h1"),
            "auth/userpass/login/bob/h1"
        );
        assert_eq!(lease_id("auth/token/create/", "h2"), "auth/token/create/h2");
        assert_eq!(lease_id("", "h3"), "h3");
    }
}
