//! The system backend (`sys/`): parse the path into an [`Endpoint`], then dispatch.
//!
//! The unauthenticated raw endpoints (`init`, `seal-status`, `unseal`, `health`, `leader`,
//! `generate-root`, `rekey`) live in the HTTP layer; everything here runs through the
//! request pipeline.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::mounts::{MountEntry, Table};
use super::{Active, Caller, Core, Request, Response};
use crate::error::{Error, Result};
use crate::fields;
use crate::logical::Operation;
use crate::util::rfc3339;
use mounts::{disable_mount, enable_mount, list_mounts, read_mount, read_tune, tune_mount};

mod mounts;
pub(super) mod remount;

/// The `sys/` endpoints, parsed from the path relative to `sys/`.
#[derive(Debug, PartialEq, Eq)]
enum Endpoint {
    MountTable(Table),
    Mount(Table, String),
    Tune(Table, String),
    Policies,
    Policy(String),
    LegacyPolicies,
    LegacyPolicy(String),
    CapabilitiesSelf,
    Capabilities,
    CapabilitiesAccessor,
    KeyStatus,
    Rotate,
    Seal,
    Wrap,
    Rewrap,
    /// OpenBao's authenticated twin of the raw `sys/generate-root/attempt`.
    GenerateRootAttempt,
    GenerateRootUpdate,
    DecodeToken,
    /// The PGP-encrypted shares a rekey backed up (Vault's `sys/rekey/backup`).
    RekeyBackup,
    /// The recovery-key twin, which a Shamir seal never has.
    RekeyRecoveryBackup,
    Unknown,
}

fn parse_endpoint(rel: &str) -> Endpoint {
    let rel = rel.trim_end_matches('/');
    let mount = |table: Table, rest: &str| match rest.strip_suffix("/tune") {
        Some(path) => Endpoint::Tune(table, path.to_owned()),
        None => Endpoint::Mount(table, rest.to_owned()),
    };
    match rel {
        "mounts" => Endpoint::MountTable(Table::Mounts),
        "auth" => Endpoint::MountTable(Table::Auth),
        "policies/acl" => Endpoint::Policies,
        "policy" => Endpoint::LegacyPolicies,
        "capabilities-self" => Endpoint::CapabilitiesSelf,
        "capabilities" => Endpoint::Capabilities,
        "capabilities-accessor" => Endpoint::CapabilitiesAccessor,
        "key-status" => Endpoint::KeyStatus,
        "rotate" | "rotate/keyring" => Endpoint::Rotate,
        "seal" => Endpoint::Seal,
        "wrapping/wrap" => Endpoint::Wrap,
        "wrapping/rewrap" => Endpoint::Rewrap,
        "generate-root-token/attempt" => Endpoint::GenerateRootAttempt,
        "generate-root-token/update" => Endpoint::GenerateRootUpdate,
        "decode-token" => Endpoint::DecodeToken,
        "rekey/backup" => Endpoint::RekeyBackup,
        "rekey/recovery-key-backup" => Endpoint::RekeyRecoveryBackup,
        _ => {
            if let Some(rest) = rel.strip_prefix("mounts/") {
                mount(Table::Mounts, rest)
            } else if let Some(rest) = rel.strip_prefix("auth/") {
                mount(Table::Auth, rest)
            } else if let Some(name) = rel.strip_prefix("policies/acl/") {
                Endpoint::Policy(name.to_owned())
            } else if let Some(name) = rel.strip_prefix("policy/") {
                Endpoint::LegacyPolicy(name.to_owned())
            } else {
                Endpoint::Unknown
            }
        }
    }
}

/// The one spelling of a `sys/` request (see [`crate::logical::Backend::canonical_path`]):
/// no trailing `/` but on LIST, policy names trimmed and lower-cased, and the lease
/// prefixes that revocation reads as folders written as folders (`.../auth/userpass/`).
pub(super) fn canonical_path(op: Operation, rel: &str) -> Result<Option<String>> {
    let trimmed = crate::logical::drop_trailing_slash(op, rel);
    let now = trimmed.as_deref().unwrap_or(rel);
    for head in ["policies/acl/", "policy/"] {
        if let Some(name) = now.strip_prefix(head).filter(|n| !n.is_empty()) {
            let canonical = crate::policy::Policy::normalize_name(name)?;
            return Ok((canonical != rel[head.len()..]).then(|| format!("{head}{canonical}")));
        }
    }
    for head in [
        "leases/revoke-prefix/",
        "leases/revoke-force/",
        "revoke-prefix/",
        "revoke-force/",
    ] {
        if let Some(prefix) = now.strip_prefix(head).filter(|p| !p.is_empty()) {
            let folder = format!("{head}{prefix}/");
            return Ok((folder != rel).then_some(folder));
        }
    }
    Ok(trimmed)
}

fn unsupported(op: Operation, path: &str) -> Error {
    Error::UnsupportedOperation(format!("unsupported operation {op:?} on sys/{path}"))
}

/// The endpoints served before (or without) the token check.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Unauthenticated<'a> {
    WrapLookup,
    Unwrap,
    /// The CLI's mount preflight, with the path asked about.
    UiMount(&'a str),
    /// `sys/replication/status` (both kinds) and `sys/replication/{performance,dr}/status`.
    ReplicationStatus(ReplicationKind),
}

/// Which replication status is asked for.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(super) enum ReplicationKind {
    Both,
    Performance,
    Dr,
}

/// Which unauthenticated endpoint `path` is, if any.
pub(super) fn unauthenticated(path: &str) -> Option<Unauthenticated<'_>> {
    match path.trim_end_matches('/') {
        "sys/wrapping/lookup" => Some(Unauthenticated::WrapLookup),
        "sys/wrapping/unwrap" => Some(Unauthenticated::Unwrap),
        "sys/replication/status" => Some(Unauthenticated::ReplicationStatus(ReplicationKind::Both)),
        "sys/replication/performance/status" => Some(Unauthenticated::ReplicationStatus(
            ReplicationKind::Performance,
        )),
        "sys/replication/dr/status" => {
            Some(Unauthenticated::ReplicationStatus(ReplicationKind::Dr))
        }
        path => match path.strip_prefix("sys/internal/ui/mounts") {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                Some(Unauthenticated::UiMount(rest.trim_start_matches('/')))
            }
            _ => None,
        },
    }
}

/// Serves an endpoint found by [`unauthenticated`]: wrapping lookup/unwrap and the CLI's
/// mount preflight.
pub(super) async fn handle_unauthenticated(
    core: &Core,
    active: &Active,
    req: &Request,
    endpoint: Unauthenticated<'_>,
) -> Result<Response> {
    let body_token = req
        .data
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    match endpoint {
        Unauthenticated::WrapLookup => {
            let token = body_token
                .or_else(|| req.token.clone())
                .ok_or_else(|| Error::invalid("missing token"))?;
            core.wrap_lookup(active, &token).await
        }
        Unauthenticated::Unwrap => {
            // A replication activation token (a JWT) is unwrapped by the primary that
            // signed it: it answers with the activation bundle.
            if let Some(jwt) = body_token
                .as_deref()
                .or(req.token.as_deref())
                .filter(|t| crate::replication::token::looks_like_jwt(t))
            {
                let key = req.data.get("secondary_public_key").and_then(Value::as_str);
                return core.answer_activation(active, jwt, key).await;
            }
            match body_token {
                Some(token) => {
                    // Unwrapping someone's token by value needs a valid token of one's own,
                    // and is one use of it.
                    let mut caller = core.authenticate(active, req.token.as_deref()).await?;
                    core.authorize(
                        &caller,
                        Operation::Update,
                        "sys/wrapping/unwrap",
                        &req.data,
                        None,
                    )?;
                    let last_use = core.consume_use(active, &mut caller).await?;
                    let result = core.unwrap(active, &token).await;
                    core.finish_use(active, &caller, last_use).await?;
                    result
                }
                None => {
                    let token = req.token.clone().ok_or(Error::PermissionDenied)?;
                    core.unwrap(active, &token).await
                }
            }
        }
        Unauthenticated::UiMount(rest) => ui_mount(core, active, req, rest).await,
        Unauthenticated::ReplicationStatus(kind) => {
            if req.operation != Operation::Read {
                return Err(unsupported(
                    req.operation,
                    req.path.trim_start_matches("sys/"),
                ));
            }
            // DR replication is not offered: its mode is always disabled.
            let dr = serde_json::json!({ "mode": "disabled" });
            let data = match kind {
                ReplicationKind::Both => serde_json::json!({
                    "dr": dr,
                    "performance": core.performance_status(active),
                }),
                ReplicationKind::Performance => core.performance_status(active),
                ReplicationKind::Dr => dr,
            };
            match data {
                Value::Object(map) => Ok(Response::data(map)),
                _ => Err(Error::Internal(
                    "replication status is not an object".into(),
                )),
            }
        }
    }
}

/// `sys/internal/ui/mounts/:path`: the mount serving `path`, for callers with any access
/// under it (403 otherwise, so mounts cannot be enumerated).
async fn ui_mount(core: &Core, active: &Active, req: &Request, path: &str) -> Result<Response> {
    if path.is_empty() {
        return Err(Error::invalid("path not set"));
    }
    let mut caller = core
        .authenticate(active, req.token.as_deref())
        .await
        .map_err(|_| Error::PermissionDenied)?;
    // One use of the caller's token, answered or refused.
    let last_use = core.consume_use(active, &mut caller).await?;
    let route = active
        .router()
        .matching(path)
        .map(|(r, _)| r.clone())
        .filter(|route| caller.acl.has_access_under(&route.entry.route()));
    core.finish_use(active, &caller, last_use).await?;
    let route = route.ok_or(Error::PermissionDenied)?;
    let key = route.entry.route();
    let mut data = mount_json(&route.entry);
    data.insert("path".into(), Value::from(key));
    Ok(Response::data(data))
}

fn mount_json(entry: &MountEntry) -> Map<String, Value> {
    match entry.to_json() {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Serves an authenticated `sys/` request (ACL already checked).
pub(super) async fn handle(
    core: &Core,
    active: &Active,
    caller: &Caller,
    op: Operation,
    rel: &str,
    req: &Request,
) -> Result<Response> {
    use Operation::*;
    if let Some(result) = super::expiration::handle(core, active, op, rel, req).await {
        return result;
    }
    if let Some(result) = super::auditing::handle(core, active, op, rel, req).await {
        return result;
    }
    if let Some(result) = remount::handle(core, active, op, rel, &req.data).await {
        return result;
    }
    if let Some(result) = super::snapshot::handle(op, rel) {
        return result;
    }
    if let Some(result) = super::replication::endpoints::handle(core, active, op, rel, req).await {
        return result;
    }
    if let Some(result) = super::metrics::handle(core, op, rel, req) {
        return result;
    }
    let endpoint = parse_endpoint(rel);
    let write = matches!(op, Create | Update);
    let mut resp = match (&endpoint, op) {
        (Endpoint::MountTable(table), Read) => list_mounts(active, *table),
        (Endpoint::Mount(table, path), Read) => read_mount(active, *table, path),
        (Endpoint::Mount(table, path), _) if write => {
            enable_mount(core, active, *table, path, &req.data).await
        }
        (Endpoint::Mount(table, path), Delete) => disable_mount(core, active, *table, path).await,
        (Endpoint::Tune(table, path), Read) => read_tune(core, active, *table, path),
        (Endpoint::Tune(table, path), _) if write => {
            tune_mount(core, active, *table, path, &req.data).await
        }
        (Endpoint::Policies, List | Read) => {
            let keys = active.policies.list().await?;
            let mut data = Map::new();
            data.insert("keys".into(), keys.into());
            Ok(Response::data(data))
        }
        (Endpoint::Policy(name), Read) => read_policy(active, name, "policy").await,
        (Endpoint::Policy(name) | Endpoint::LegacyPolicy(name), _) if write => {
            write_policy(active, name, &req.data).await
        }
        (Endpoint::Policy(name) | Endpoint::LegacyPolicy(name), Delete) => {
            active.policies.delete(name).await?;
            Ok(Response::empty())
        }
        (Endpoint::LegacyPolicies, Read | List) => {
            let keys = active.policies.list().await?;
            let mut data = Map::new();
            data.insert("policies".into(), keys.clone().into());
            data.insert("keys".into(), keys.into());
            Ok(Response::data(data))
        }
        (Endpoint::LegacyPolicy(name), Read) => read_policy(active, name, "rules").await,
        (Endpoint::CapabilitiesSelf, _) if write => capabilities(&caller.acl, &req.data),
        (Endpoint::Capabilities, _) if write => {
            let token = fields::string(&req.data, "token").unwrap_or_default();
            let other = core
                .authenticate(active, Some(&token))
                .await
                .map_err(|_| Error::invalid("invalid token"))?;
            capabilities(&other.acl, &req.data)
        }
        (Endpoint::CapabilitiesAccessor, _) if write => {
            let accessor = fields::string(&req.data, "accessor").unwrap_or_default();
            let (_, entry) = active
                .tokens
                .lookup_accessor(&accessor)
                .await?
                .ok_or_else(|| Error::invalid("invalid accessor"))?;
            let acl = if entry.is_root() {
                Arc::new(crate::policy::Acl::root())
            } else {
                active.policies.acl(&entry.policies).await?
            };
            capabilities(&acl, &req.data)
        }
        (Endpoint::KeyStatus, Read) => {
            let status = core.barrier.key_status()?;
            let mut data = Map::new();
            data.insert("term".into(), status.term.into());
            data.insert("install_time".into(), rfc3339(status.install_time).into());
            data.insert("encryptions".into(), status.encryptions.into());
            Ok(Response::data(data))
        }
        (Endpoint::Rotate, _) if write => {
            core.barrier.rotate().await?;
            Ok(Response::empty())
        }
        (Endpoint::Seal, _) if write => {
            core.seal().await;
            Ok(Response::empty())
        }
        (Endpoint::Wrap, _) if write => {
            if req.wrap_ttl.is_none() {
                return Err(Error::invalid(
                    "endpoint requires response wrapping to be used",
                ));
            }
            // Vault wraps whatever came, an empty body or `{}` too: it unwraps to `data: {}`.
            Ok(Response::data(req.data.clone()))
        }
        (Endpoint::Rewrap, _) if write => {
            let token = fields::string(&req.data, "token")
                .ok_or_else(|| Error::invalid("missing token"))?;
            core.rewrap(active, &token).await
        }
        (Endpoint::GenerateRootAttempt, Read) => {
            Ok(Response::data(core.generate_root_status().await?.to_json()))
        }
        (Endpoint::GenerateRootAttempt, _) if write => {
            let otp = fields::string(&req.data, "otp");
            let pgp_key = fields::string(&req.data, "pgp_key");
            let status = core
                .generate_root_init(otp.as_deref(), pgp_key.as_deref())
                .await?;
            Ok(Response::data(status.to_json()))
        }
        (Endpoint::GenerateRootAttempt, Delete) => {
            core.generate_root_cancel()?;
            Ok(Response::empty())
        }
        (Endpoint::GenerateRootUpdate, _) if write => {
            let nonce = fields::string(&req.data, "nonce")
                .filter(|n| !n.is_empty())
                .ok_or_else(|| Error::invalid("nonce is required"))?;
            let key = fields::string(&req.data, "key")
                .filter(|k| !k.is_empty())
                .map(zeroize::Zeroizing::new)
                .ok_or_else(|| Error::invalid("key is required"))?;
            let share = super::generate_root::decode_key(&key)?;
            let status = core.generate_root_update(&share, &nonce).await?;
            Ok(Response::data(status.to_json()))
        }
        (Endpoint::DecodeToken, _) if write => {
            let encoded = fields::string(&req.data, "encoded_token").unwrap_or_default();
            let otp = zeroize::Zeroizing::new(fields::string(&req.data, "otp").unwrap_or_default());
            if encoded.is_empty() || otp.is_empty() {
                return Err(Error::invalid("provided 'encoded_token' or 'otp' is empty"));
            }
            let token = super::generate_root::decode_token(&encoded, &otp)?;
            let mut data = Map::new();
            data.insert("token".into(), token.as_str().into());
            Ok(Response::data(data))
        }
        (Endpoint::RekeyBackup, Read) => Ok(Response::data(core.rekey_backup().await?)),
        (Endpoint::RekeyBackup, Delete) => {
            core.rekey_backup_delete().await?;
            Ok(Response::empty())
        }
        (Endpoint::RekeyRecoveryBackup, Read) => Err(Error::invalid("no backed-up keys found")),
        (Endpoint::RekeyRecoveryBackup, Delete) => Ok(Response::empty()),
        (Endpoint::Unknown, _) => Err(Error::UnsupportedPath(format!(
            "unsupported path sys/{rel}"
        ))),
        _ => Err(unsupported(op, rel)),
    }?;
    resp.inject_top_level = matches!(
        endpoint,
        Endpoint::MountTable(_)
            | Endpoint::Mount(..)
            | Endpoint::LegacyPolicies
            | Endpoint::LegacyPolicy(_)
            | Endpoint::CapabilitiesSelf
            | Endpoint::Capabilities
            | Endpoint::CapabilitiesAccessor
            | Endpoint::KeyStatus
            | Endpoint::Rotate
            | Endpoint::RekeyBackup
            | Endpoint::RekeyRecoveryBackup
    );
    Ok(resp)
}

async fn read_policy(active: &Active, name: &str, field: &str) -> Result<Response> {
    let name = crate::policy::Policy::normalize_name(name)?;
    let policy = active.policies.get(&name).await?.ok_or(Error::NotFound)?;
    let mut data = Map::new();
    data.insert("name".into(), name.into());
    data.insert(field.into(), policy.text().to_owned().into());
    Ok(Response::data(data))
}

async fn write_policy(active: &Active, name: &str, data: &Map<String, Value>) -> Result<Response> {
    let text = fields::string(data, "policy")
        .or_else(|| fields::string(data, "rules"))
        .ok_or_else(|| Error::invalid("'policy' parameter not supplied or empty"))?;
    // Vault accepts the policy base64-encoded too.
    let text = match base64_decode(&text) {
        Some(decoded) if !text.contains('{') => decoded,
        _ => text,
    };
    active.policies.put(name, &text).await?;
    Ok(Response::empty())
}

fn base64_decode(s: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

fn capabilities(acl: &crate::policy::Acl, data: &Map<String, Value>) -> Result<Response> {
    let paths = match data.get("paths").or_else(|| data.get("path")) {
        Some(Value::String(s)) => s.split(',').map(|p| p.trim().to_owned()).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let paths: Vec<String> = paths.into_iter().filter(|p| !p.is_empty()).collect();
    if paths.is_empty() {
        return Err(Error::invalid("paths must be supplied"));
    }
    let mut out = Map::new();
    for path in &paths {
        let caps: Vec<Value> = acl
            .capabilities(path)
            .into_iter()
            .map(Value::from)
            .collect();
        if paths.len() == 1 {
            out.insert("capabilities".into(), Value::from(caps.clone()));
        }
        out.insert(path.clone(), Value::from(caps));
    }
    Ok(Response::data(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            parse_endpoint("mounts"),
            Endpoint::MountTable(Table::Mounts)
        );
        assert_eq!(
            parse_endpoint("mounts/a/b/tune"),
            Endpoint::Tune(Table::Mounts, "a/b".into())
        );
        assert_eq!(
            parse_endpoint("auth/userpass/"),
            Endpoint::Mount(Table::Auth, "userpass".into())
        );
        assert_eq!(
            parse_endpoint("policies/acl/x"),
            Endpoint::Policy("x".into())
        );
        assert_eq!(
            parse_endpoint("generate-root-token/attempt"),
            Endpoint::GenerateRootAttempt
        );
        assert_eq!(
            parse_endpoint("generate-root-token/update/"),
            Endpoint::GenerateRootUpdate
        );
        assert_eq!(parse_endpoint("generate-root/attempt"), Endpoint::Unknown);
        assert_eq!(parse_endpoint("rekey/backup"), Endpoint::RekeyBackup);
        assert_eq!(parse_endpoint("rekey/init"), Endpoint::Unknown);
        assert_eq!(parse_endpoint("nope"), Endpoint::Unknown);
    }

    #[test]
    fn mount_paths() {
        use super::mounts::normalize_mount_path;
        assert_eq!(normalize_mount_path("/secret/").unwrap(), "secret/");
        assert_eq!(normalize_mount_path("a/b").unwrap(), "a/b/");
        assert!(normalize_mount_path("").is_err());
        assert!(normalize_mount_path("a/../b").is_err());
    }
}
