//! The token store's endpoints (`auth/token/...`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::tokens::{NewToken, TokenEntry};
use super::{Active, Auth, Caller, Core, Request, Response};
use crate::error::{Error, Result};
use crate::fields;
use crate::logical::Operation;
use crate::policy::Policy;
use crate::util::rfc3339_secs;

/// The one spelling of an `auth/token/` request: `create/` is `create`.
pub(super) fn canonical_path(op: Operation, rel: &str) -> Option<String> {
    crate::logical::drop_trailing_slash(op, rel)
}

/// Serves `auth/token/<rel>` for an authenticated caller.
pub(super) async fn handle(
    core: &Core,
    active: &Active,
    caller: &Caller,
    op: Operation,
    rel: &str,
    req: &Request,
) -> Result<Response> {
    use Operation::*;
    let write = matches!(op, Create | Update);
    let data = &req.data;
    match (rel.trim_end_matches('/'), op) {
        ("create", _) if write => create(core, active, caller, data, false).await,
        ("create-orphan", _) if write => create(core, active, caller, data, true).await,
        ("lookup-self", Read) | ("lookup-self", Update) => {
            Ok(lookup_response(&caller.entry, &caller.token))
        }
        ("lookup", Read) | ("lookup", Update) => {
            let token = fields::non_empty(data, "token")
                .ok_or_else(|| Error::invalid("missing token ID"))?;
            let (_, entry) = active
                .tokens
                .lookup(&token)
                .await?
                .ok_or_else(|| Error::Forbidden("bad token".into()))?;
            Ok(lookup_response(&entry, &token))
        }
        ("lookup-accessor", _) if write => {
            let accessor = fields::non_empty(data, "accessor")
                .ok_or_else(|| Error::invalid("missing accessor"))?;
            let (_, entry) = active
                .tokens
                .lookup_accessor(&accessor)
                .await?
                .ok_or_else(|| Error::invalid("invalid accessor"))?;
            Ok(lookup_response(&entry, ""))
        }
        ("renew-self", _) if write => {
            renew(
                core,
                active,
                &caller.hash,
                &caller.entry,
                &caller.token,
                data,
            )
            .await
        }
        ("renew", _) if write => {
            let token =
                fields::non_empty(data, "token").ok_or_else(|| Error::invalid("missing token"))?;
            let (hash, entry) = active
                .tokens
                .lookup(&token)
                .await?
                .ok_or_else(|| Error::invalid("invalid token"))?;
            renew(core, active, &hash, &entry, &token, data).await
        }
        ("renew-accessor", _) if write => {
            let accessor = fields::non_empty(data, "accessor")
                .ok_or_else(|| Error::invalid("missing accessor"))?;
            let (hash, entry) = active
                .tokens
                .lookup_accessor(&accessor)
                .await?
                .ok_or_else(|| Error::invalid("invalid accessor"))?;
            let mut resp = renew(core, active, &hash, &entry, "", data).await?;
            if let Some(auth) = resp.auth.as_mut() {
                auth.client_token.clear();
            }
            Ok(resp)
        }
        ("revoke-self", _) if write => {
            core.revoke_tree(active, &caller.hash).await?;
            Ok(Response::empty())
        }
        ("revoke", _) if write => {
            let token =
                fields::non_empty(data, "token").ok_or_else(|| Error::invalid("missing token"))?;
            if let Some((hash, _)) = active.tokens.lookup(&token).await? {
                core.revoke_tree(active, &hash).await?;
            }
            Ok(Response::empty())
        }
        ("revoke-orphan", _) if write => {
            let token =
                fields::non_empty(data, "token").ok_or_else(|| Error::invalid("missing token"))?;
            if let Some((hash, _)) = active.tokens.lookup(&token).await? {
                let revoked = active.tokens.revoke_orphan(&hash).await?;
                core.purge_cubbyholes(active, &revoked).await;
            }
            Ok(Response::empty())
        }
        ("revoke-accessor", _) if write => {
            let accessor = fields::non_empty(data, "accessor")
                .ok_or_else(|| Error::invalid("missing accessor"))?;
            if let Some((hash, _)) = active.tokens.lookup_accessor(&accessor).await? {
                core.revoke_tree(active, &hash).await?;
            }
            Ok(Response::empty())
        }
        ("accessors", List | Read) => {
            Ok(crate::logical::Response::list(active.tokens.accessors().await?)?.into())
        }
        ("roles", List) => Err(Error::NotFound),
        ("tidy", _) if write => {
            // Expired tokens are revoked by the expiration manager; what is left to tidy
            // is lease records whose token is gone.
            let removed = active.tokens.tidy_leases().await?;
            tracing::info!(removed, "token tidy finished");
            Ok(Response {
                warnings: vec!["Tidy operation successfully started. Any information from the operation will be printed to Vault's server logs.".into()],
                accepted: true,
                ..Response::default()
            })
        }
        (
            "create" | "create-orphan" | "lookup-self" | "lookup" | "lookup-accessor"
            | "renew-self" | "renew" | "renew-accessor" | "revoke-self" | "revoke"
            | "revoke-orphan" | "revoke-accessor" | "accessors" | "roles" | "tidy",
            _,
        ) => Err(Error::UnsupportedOperation(format!(
            "unsupported operation on auth/token/{rel}"
        ))),
        _ => Err(Error::UnsupportedPath(format!(
            "unsupported path auth/token/{rel}"
        ))),
    }
}

fn sorted_policies(mut policies: Vec<String>) -> Vec<String> {
    policies.sort();
    policies.dedup();
    policies
}

async fn create(
    core: &Core,
    active: &Active,
    caller: &Caller,
    data: &Map<String, Value>,
    orphan_endpoint: bool,
) -> Result<Response> {
    let parent = &caller.entry;
    let parent_root = parent.is_root();
    let sudo = parent_root
        || caller
            .acl
            .allowed(Operation::Update, "auth/token/create")
            .sudo;
    // `caller.limited`, not the entry: on its last use the entry no longer shows a limit.
    if caller.limited {
        return Err(Error::invalid(
            "restricted use token cannot generate child tokens",
        ));
    }
    let id = fields::non_empty(data, "id");
    if id.is_some() && !sudo {
        return Err(Error::invalid(
            "root or sudo privileges required to specify token id",
        ));
    }
    let no_parent = fields::boolean(data, "no_parent")?.unwrap_or(false);
    if no_parent && !orphan_endpoint && !sudo {
        return Err(Error::invalid(
            "root or sudo privileges required to create orphan token",
        ));
    }
    let orphan = orphan_endpoint || no_parent;
    if let Some(kind) = fields::non_empty(data, "type") {
        if kind != "service" {
            return Err(Error::invalid(format!("unsupported token type {kind:?}")));
        }
    }
    let num_uses = match data.get("num_uses") {
        None | Some(Value::Null) => 0,
        Some(v) => {
            let n = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| Error::invalid("num_uses must be an integer"))?;
            if n < 0 {
                return Err(Error::invalid("number of uses cannot be negative"));
            }
            n
        }
    };

    // Policies: default to the parent's; a non-root parent grants only a subset.
    let requested = fields::string_list(data, "policies")?;
    if let Some(list) = &requested {
        // Only the exact name `root` names the root policy; `ROOT`, ` Root ` and the like
        // are refused rather than quietly turned into it.
        if let Some(bad) = list
            .iter()
            .find(|p| *p != "root" && Policy::is_root_name(p))
        {
            return Err(Error::invalid(format!(
                "policy name {bad:?} is reserved: only \"root\" names the root policy"
            )));
        }
    }
    let mut policies: Vec<String> = match &requested {
        Some(list) => list
            .iter()
            .map(|p| Policy::normalize_name(p))
            .collect::<Result<_>>()?,
        None => parent
            .policies
            .iter()
            .filter(|p| *p != "default")
            .cloned()
            .collect(),
    };
    policies.retain(|p| !p.is_empty());
    // `default` is a policy like any other: a parent without it (`no_default_policy`)
    // cannot hand it on, explicitly or implicitly, unless it has sudo.
    let parent_has_default = parent.policies.iter().any(|p| p == "default");
    if !parent_root && !sudo {
        if let Some(bad) = policies.iter().find(|p| !parent.policies.contains(p)) {
            return Err(Error::invalid(format!(
                "child policies must be subset of parent: {bad:?} is not held by the parent"
            )));
        }
    }
    if policies.iter().any(|p| p == "root") && !parent_root {
        return Err(Error::invalid(
            "root tokens may only be created by a root token",
        ));
    }
    let no_default = fields::boolean(data, "no_default_policy")?.unwrap_or(false);
    let is_root = policies.iter().any(|p| p == "root");
    if !no_default
        && !is_root
        && (parent_has_default || sudo)
        && !policies.iter().any(|p| p == "default")
    {
        policies.push("default".into());
    }
    let mut warnings = Vec::new();
    for name in &policies {
        if name != "root" && active.policies.get(name).await?.is_none() {
            warnings.push(format!("Policy {name:?} does not exist"));
        }
    }
    let policies = sorted_policies(policies);

    let explicit_max = fields::duration(data, "explicit_max_ttl")?.unwrap_or_default();
    let period = fields::duration(data, "period")?.unwrap_or_default();
    if !period.is_zero() && !sudo {
        return Err(Error::invalid(
            "root or sudo privileges required to create periodic token",
        ));
    }
    let mut ttl = match fields::duration(data, "ttl")? {
        Some(t) => t,
        None => fields::duration(data, "lease")?.unwrap_or_default(),
    };
    // The token store's own mount (`sys/auth/token/tune`) sets the defaults and caps.
    let (default_ttl, max_ttl) = core.mount_ttls(active, "auth/token/");
    if ttl.is_zero() && period.is_zero() {
        // Only root may hold a token that never expires, and only under a root parent
        // that never expires either.
        if !(is_root && parent_root && parent.expire_time.is_none()) {
            ttl = default_ttl;
        }
    }
    if !ttl.is_zero() {
        ttl = ttl.min(max_ttl);
    }
    // A child never outlives its parent.
    if let (Some(parent_expiry), false) = (parent.expire_time, orphan) {
        // Counted from the same rounded-up instant the store counts the child's TTL from.
        let left = Duration::from_secs(parent_expiry.saturating_sub(crate::util::unix_now_ceil()));
        if ttl.is_zero() || ttl > left {
            ttl = left.max(Duration::from_secs(1));
        }
    }
    let meta = match data.get("meta") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(
            map.iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(Error::invalid("meta values must be strings")),
                })
                .collect::<Result<BTreeMap<_, _>>>()?,
        ),
        Some(_) => return Err(Error::invalid("meta must be a map of strings")),
    };
    let display_name = match fields::non_empty(data, "display_name") {
        Some(name) => format!("token-{}", name.trim()),
        None => "token".to_owned(),
    };
    let (token, entry) = active
        .tokens
        .create(NewToken {
            id,
            policies,
            meta,
            display_name,
            num_uses,
            parent: (!orphan).then(|| caller.hash.clone()),
            path: if orphan_endpoint {
                "auth/token/create-orphan".into()
            } else {
                "auth/token/create".into()
            },
            ttl,
            explicit_max_ttl: explicit_max,
            max_ttl,
            period,
            renewable: fields::boolean(data, "renewable")?.unwrap_or(true),
            wrapping: None,
        })
        .await?;
    Ok(Response {
        auth: Some(auth_for(&token, &entry, entry.ttl)),
        warnings,
        ..Response::default()
    })
}

/// The `auth` block for `token`, granted `lease_duration` seconds: exactly what was
/// granted (a new token's TTL, a renewal's increment as capped), not a reading of the
/// clock, as Vault answers (`lease_duration` 3600 for `ttl=1h`, whenever the answer is
/// built).
pub(super) fn auth_for(token: &str, entry: &TokenEntry, lease_duration: u64) -> Auth {
    let metadata = entry.meta.as_ref().map(|m| {
        m.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect()
    });
    Auth {
        client_token: token.to_owned(),
        accessor: entry.accessor.clone(),
        policies: entry.policies.clone(),
        token_policies: entry.policies.clone(),
        metadata,
        lease_duration,
        renewable: entry.renewable && entry.expire_time.is_some(),
        orphan: entry.orphan(),
        num_uses: entry.num_uses,
    }
}

async fn renew(
    core: &Core,
    active: &Active,
    hash: &str,
    entry: &TokenEntry,
    token: &str,
    data: &Map<String, Value>,
) -> Result<Response> {
    // Vault reads an increment of 0 as "none": renew by the token's own TTL.
    let increment = fields::duration(data, "increment")?.filter(|d| !d.is_zero());
    if entry.renewable && entry.expire_time.is_some() {
        core.check_renewal(active, entry).await?;
    }
    let (_, mount_max) = core.mount_ttls(active, &entry.path);
    let (renewed, granted) = active
        .tokens
        .renew(hash, entry, increment, mount_max)
        .await?;
    Ok(Response {
        auth: Some(auth_for(token, &renewed, granted)),
        ..Response::default()
    })
}

/// The `data` of a token lookup.
fn lookup_response(entry: &TokenEntry, token: &str) -> Response {
    let mut data = Map::new();
    data.insert("accessor".into(), entry.accessor.clone().into());
    data.insert("creation_time".into(), entry.creation_time.into());
    data.insert("creation_ttl".into(), entry.ttl.into());
    data.insert("display_name".into(), entry.display_name.clone().into());
    data.insert("entity_id".into(), "".into());
    data.insert(
        "expire_time".into(),
        entry
            .expire_time
            .map_or(Value::Null, |e| rfc3339_secs(e).into()),
    );
    data.insert("explicit_max_ttl".into(), entry.explicit_max_ttl.into());
    data.insert("id".into(), token.into());
    data.insert(
        "issue_time".into(),
        rfc3339_secs(entry.creation_time).into(),
    );
    data.insert(
        "meta".into(),
        entry.meta.as_ref().map_or(Value::Null, |m| {
            serde_json::to_value(m).unwrap_or(Value::Null)
        }),
    );
    data.insert("num_uses".into(), entry.num_uses.into());
    data.insert("orphan".into(), entry.orphan().into());
    data.insert("path".into(), entry.path.clone().into());
    data.insert("policies".into(), entry.policies.clone().into());
    data.insert(
        "renewable".into(),
        (entry.renewable && entry.expire_time.is_some()).into(),
    );
    data.insert("ttl".into(), entry.remaining_ttl().into());
    data.insert("type".into(), "service".into());
    if entry.period > 0 {
        data.insert("period".into(), entry.period.into());
    }
    if let Some(last) = entry.last_renewal {
        data.insert("last_renewal_time".into(), last.into());
        data.insert("last_renewal".into(), rfc3339_secs(last).into());
    }
    Response::data(data)
}
