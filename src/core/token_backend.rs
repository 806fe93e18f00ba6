//! The token store's endpoints (`auth/token/...`).

use serde_json::{Map, Value};

use super::token_create::{create, Endpoint};
use super::token_roles;
use super::tokens::TokenEntry;
use super::{Active, Auth, Caller, Core, Request, Response};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::fields;
use crate::logical::Operation;
use crate::util::rfc3339_secs;

/// The one spelling of an `auth/token/` request: `create/` is `create`, `roles/ci/` is
/// `roles/ci`; a role name (`roles/<name>`, `create/<name>`) must be spelled as Vault
/// spells names, or the request is refused before the ACL sees it.
pub(super) fn canonical_path(op: Operation, rel: &str) -> Result<Option<String>> {
    let trimmed = crate::logical::drop_trailing_slash(op, rel);
    let path = trimmed.as_deref().unwrap_or(rel);
    if let Some(name) = role_name(path) {
        token_roles::check_name(name)?;
    }
    Ok(trimmed)
}

/// The role a path names: `roles/<name>` or `create/<name>` (`None` for anything
/// else, and for the `roles/` folder).
fn role_name(path: &str) -> Option<&str> {
    ["roles/", "create/"]
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix))
        .filter(|name| !name.is_empty())
}

/// `Update` becomes `Create` for a role that does not exist yet (Vault's existence
/// check), so the ACL's `create` and `update` capabilities apply as in Vault.
pub(super) async fn operation_for_acl(active: &Active, rel: &str) -> Result<Operation> {
    match rel.strip_prefix("roles/").filter(|n| !n.is_empty()) {
        Some(name) if token_roles::check_name(name).is_ok() => {
            Ok(if active.tokens.roles().exists(name).await? {
                Operation::Update
            } else {
                Operation::Create
            })
        }
        _ => Ok(Operation::Update),
    }
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
        ("create", _) if write => create(core, active, caller, data, Endpoint::Create).await,
        ("create-orphan", _) if write => create(core, active, caller, data, Endpoint::Orphan).await,
        (path, _) if write && path.starts_with("create/") => {
            let name = &path["create/".len()..];
            create(core, active, caller, data, Endpoint::Role(name)).await
        }
        (path, _) if path == "roles" || path.starts_with("roles/") => {
            let name = path.strip_prefix("roles").unwrap_or_default();
            let name = name.strip_prefix('/').unwrap_or(name);
            let (_, max) = core.mount_ttls(active, "auth/token/");
            Ok(active
                .tokens
                .roles()
                .handle(op, name, data, max.as_secs())
                .await?
                .into())
        }
        ("lookup-self", Read) | ("lookup-self", Update) => Ok(lookup_response(
            &caller.entry,
            &caller.token,
            active.tokens.clock(),
        )),
        ("lookup", Read) | ("lookup", Update) => {
            let token = fields::non_empty(data, "token")
                .ok_or_else(|| Error::invalid("missing token ID"))?;
            let (_, entry) = active
                .tokens
                .lookup(&token)
                .await?
                .ok_or_else(|| Error::Forbidden("bad token".into()))?;
            Ok(lookup_response(&entry, &token, active.tokens.clock()))
        }
        ("lookup-accessor", _) if write => {
            let accessor = fields::non_empty(data, "accessor")
                .ok_or_else(|| Error::invalid("missing accessor"))?;
            let (_, entry) = active
                .tokens
                .lookup_accessor(&accessor)
                .await?
                .ok_or_else(|| Error::invalid("invalid accessor"))?;
            Ok(lookup_response(&entry, "", active.tokens.clock()))
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
            refuse_batch_revocation(&caller.entry)?;
            core.revoke_tree(active, &caller.hash).await?;
            Ok(Response::empty())
        }
        ("revoke", _) if write => {
            let token =
                fields::non_empty(data, "token").ok_or_else(|| Error::invalid("missing token"))?;
            if let Some((hash, entry)) = active.tokens.lookup(&token).await? {
                refuse_batch_revocation(&entry)?;
                core.revoke_tree(active, &hash).await?;
            }
            Ok(Response::empty())
        }
        ("revoke-orphan", _) if write => {
            let token =
                fields::non_empty(data, "token").ok_or_else(|| Error::invalid("missing token"))?;
            if let Some((hash, entry)) = active.tokens.lookup(&token).await? {
                refuse_batch_revocation(&entry)?;
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

/// A token created from a role is renewed under the role as it is now (Vault): the
/// role must still exist; its period is the token's, and its explicit max TTL caps the
/// token's (the smaller one counts, so a role edit never lifts a cap the token had).
async fn with_role_limits(active: &Active, entry: &TokenEntry) -> Result<TokenEntry> {
    let mut entry = entry.clone();
    let Some(name) = entry.role.clone() else {
        return Ok(entry);
    };
    let role = active.tokens.roles().get(&name).await?.ok_or_else(|| {
        Error::invalid(format!(
            "original token role {name:?} could not be found, not renewing"
        ))
    })?;
    if role.token_period > 0 {
        entry.period = role.token_period;
    }
    if role.token_explicit_max_ttl > 0
        && (entry.explicit_max_ttl == 0 || role.token_explicit_max_ttl < entry.explicit_max_ttl)
    {
        entry.explicit_max_ttl = role.token_explicit_max_ttl;
    }
    Ok(entry)
}

/// As Vault: a batch token lives out its TTL (it is stored nowhere to be revoked).
fn refuse_batch_revocation(entry: &TokenEntry) -> Result<()> {
    if entry.is_batch() {
        return Err(Error::invalid("batch tokens cannot be revoked"));
    }
    Ok(())
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
        token_type: entry.token_type,
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
    if entry.is_batch() {
        return Err(Error::invalid("batch tokens cannot be renewed"));
    }
    // Vault reads an increment of 0 as "none": renew by the token's own TTL.
    let increment = fields::duration(data, "increment")?.filter(|d| !d.is_zero());
    if entry.renewable && entry.expire_time.is_some() {
        core.check_renewal(active, entry).await?;
    }
    let entry = with_role_limits(active, entry).await?;
    let (_, mount_max) = core.mount_ttls(active, &entry.path);
    let (renewed, granted) = active
        .tokens
        .renew(hash, &entry, increment, mount_max)
        .await?;
    Ok(Response {
        auth: Some(auth_for(token, &renewed, granted)),
        ..Response::default()
    })
}

/// The `data` of a token lookup.
fn lookup_response(entry: &TokenEntry, token: &str, clock: &Clock) -> Response {
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
    data.insert("ttl".into(), entry.remaining_ttl(clock).into());
    data.insert("type".into(), entry.token_type.as_str().into());
    if let Some(role) = &entry.role {
        data.insert("role".into(), role.clone().into());
    }
    if entry.period > 0 {
        data.insert("period".into(), entry.period.into());
    }
    if let Some(last) = entry.last_renewal {
        data.insert("last_renewal_time".into(), last.into());
        data.insert("last_renewal".into(), rfc3339_secs(last).into());
    }
    Response::data(data)
}
