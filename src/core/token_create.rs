//! Token creation: `auth/token/create`, `auth/token/create-orphan` and
//! `auth/token/create/<role>`. The caller's rights (and a role's, when one is named)
//! decide the new token's type, policies, parent and TTLs.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::token_backend::auth_for;
use super::token_roles::TokenRole;
use super::tokens::{NewToken, TokenEntry, TokenType};
use super::ttl::TtlLimits;
use super::{Active, Caller, Core, Response};
use crate::error::{Error, Result};
use crate::fields;
use crate::logical::Operation;
use crate::policy::Policy;

/// Which create endpoint was called.
#[derive(Clone, Copy, Debug)]
pub(super) enum Endpoint<'a> {
    Create,
    Orphan,
    /// `create/<role>` (the name is canonical: checked before the ACL ran).
    Role(&'a str),
}

/// Policies no token may be given (Vault's `nonAssignablePolicies`).
const NON_ASSIGNABLE: &[&str] = &["response-wrapping", "control-group"];

fn sorted_policies(mut policies: Vec<String>) -> Vec<String> {
    policies.sort();
    policies.dedup();
    policies
}

pub(super) async fn create(
    core: &Core,
    active: &Active,
    caller: &Caller,
    data: &Map<String, Value>,
    endpoint: Endpoint<'_>,
) -> Result<Response> {
    let parent = &caller.entry;
    if parent.is_batch() {
        return Err(Error::invalid("batch tokens cannot create more tokens"));
    }
    let role = match endpoint {
        Endpoint::Role(name) => Some(
            active
                .tokens
                .roles()
                .get(name)
                .await?
                .ok_or_else(|| Error::invalid(format!("unknown role {name}")))?,
        ),
        _ => None,
    };
    let role = role.as_ref();
    let path = match endpoint {
        Endpoint::Create => "auth/token/create".to_owned(),
        Endpoint::Orphan => "auth/token/create-orphan".to_owned(),
        Endpoint::Role(name) => format!("auth/token/create/{name}"),
    };
    let parent_root = parent.is_root();
    // Sudo on the path called, as Vault checks it (for create-orphan: on
    // auth/token/create, which is what grants it).
    let sudo_path = match endpoint {
        Endpoint::Role(_) => path.as_str(),
        _ => "auth/token/create",
    };
    let sudo = parent_root || caller.acl.allowed(Operation::Update, sudo_path).sudo;
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
    let orphan = match role {
        // A role decides; `no_parent` is not looked at (Vault).
        Some(role) => role.orphan,
        None => {
            let no_parent = fields::boolean(data, "no_parent")?.unwrap_or(false);
            let orphan_endpoint = matches!(endpoint, Endpoint::Orphan);
            if no_parent && !orphan_endpoint && !sudo {
                return Err(Error::invalid(
                    "root or sudo privileges required to create orphan token",
                ));
            }
            orphan_endpoint || no_parent
        }
    };
    let token_type = token_type(data, role)?;
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
    if fields::non_empty(data, "entity_alias").is_some() {
        return Err(Error::invalid(match role {
            None => "'entity_alias' is only allowed in combination with token role",
            Some(_) => "entity_alias is not supported by this server: it has no identity store",
        }));
    }

    let no_default = fields::boolean(data, "no_default_policy")?.unwrap_or(false);
    let policies = match role.filter(|r| r.has_policy_rules()) {
        Some(role) => {
            let requested = requested_policies(data)?.unwrap_or_default();
            role.policies_for(&requested, no_default, &parent.policies)?
        }
        None => own_policies(data, parent, sudo, no_default)?,
    };
    let is_root = policies.iter().any(|p| p == "root");
    if is_root && !parent_root {
        return Err(Error::invalid(
            "root tokens may only be created by a root token",
        ));
    }
    if let Some(bad) = policies
        .iter()
        .find(|p| NON_ASSIGNABLE.contains(&p.as_str()))
    {
        return Err(Error::invalid(format!("cannot assign policy {bad:?}")));
    }
    let mut warnings = Vec::new();
    for name in &policies {
        if name != "root" && active.policies.get(name).await?.is_none() {
            warnings.push(format!("Policy {name:?} does not exist"));
        }
    }

    let mut explicit_max = fields::duration(data, "explicit_max_ttl")?
        .unwrap_or_default()
        .as_secs();
    let mut period = fields::duration(data, "period")?
        .unwrap_or_default()
        .as_secs();
    let mut renewable = fields::boolean(data, "renewable")?.unwrap_or(true);
    if token_type == TokenType::Batch {
        for (set, name) in [
            (explicit_max != 0, "explicit_max_ttl"),
            (num_uses != 0, "num_uses"),
            (period != 0, "period"),
        ] {
            if set {
                return Err(Error::invalid(format!(
                    "batch tokens cannot have {name:?} set"
                )));
            }
        }
        if is_root {
            return Err(Error::invalid("batch tokens cannot be root tokens"));
        }
        if id.is_some() {
            return Err(Error::invalid("batch tokens cannot have a custom ID"));
        }
        renewable = false;
    }
    if period != 0 && !sudo {
        return Err(Error::invalid(
            "root or sudo privileges required to create periodic token",
        ));
    }
    let mut num_uses = num_uses;
    let mut path = path;
    if let Some(role) = role {
        renewable &= role.renewable;
        // 0 is unlimited: the role's limit applies when it is the lower one.
        if role.token_num_uses > 0 && (num_uses == 0 || role.token_num_uses < num_uses) {
            num_uses = role.token_num_uses;
        }
        if !role.path_suffix.is_empty() {
            path = format!("{path}/{}", role.path_suffix);
        }
        if token_type != TokenType::Batch {
            for (from_role, ours, what) in [
                (
                    role.token_explicit_max_ttl,
                    &mut explicit_max,
                    "Explicit max TTL",
                ),
                (role.token_period, &mut period, "Period"),
            ] {
                if from_role == 0 {
                    continue;
                }
                if *ours != 0 {
                    *ours = (*ours).min(from_role);
                    warnings.push(format!(
                        "{what} specified both during creation call and in role; using the lesser value of {} seconds",
                        *ours
                    ));
                } else {
                    *ours = from_role;
                }
            }
        }
    }

    let requested = match fields::duration(data, "ttl")? {
        Some(t) => t,
        None => fields::duration(data, "lease")?.unwrap_or_default(),
    }
    .as_secs();
    // The token store's own mount (`sys/auth/token/tune`) sets the defaults and caps.
    let (default_ttl, max_ttl) = core.mount_ttls(active, "auth/token/");
    let limits = TtlLimits {
        mount_default: default_ttl.as_secs(),
        mount_max: max_ttl.as_secs(),
        backend_max: 0,
        explicit_max,
        period,
    };
    // Only root may hold a token that never expires, and only under a root parent that
    // never expires either.
    let never_expires =
        requested == 0 && period == 0 && is_root && parent_root && parent.expire_time.is_none();
    let mut ttl = if never_expires {
        // Still bound by an explicit max TTL, within the mount's max like any TTL (so no
        // renewal ever takes back what was granted).
        match explicit_max {
            0 => 0,
            _ => limits.max(),
        }
    } else {
        let granted = limits.at_issue(requested);
        warnings.extend(granted.warnings);
        granted.ttl
    };
    // A child never outlives its parent.
    if let (Some(parent_expiry), false) = (parent.expire_time, orphan) {
        // Counted from the same rounded-up instant the store counts the child's TTL from.
        let left = parent_expiry.saturating_sub(active.tokens.clock().unix_now_ceil());
        if ttl == 0 || ttl > left {
            ttl = left.max(1);
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
            token_type,
            id,
            policies,
            meta,
            display_name,
            num_uses,
            parent: (!orphan).then(|| caller.hash.clone()),
            path,
            role: role.map(|r| r.name.clone()),
            ttl: Duration::from_secs(ttl),
            explicit_max_ttl: Duration::from_secs(explicit_max),
            max_ttl,
            period: Duration::from_secs(period),
            renewable,
            wrapping: None,
        })
        .await?;
    Ok(Response {
        auth: Some(auth_for(&token, &entry, entry.ttl)),
        warnings,
        ..Response::default()
    })
}

/// The new token's type: the request's `type`, unless a role fixes it or gives the
/// default (Vault: `service`/`batch` force, `default-*` only fill in).
fn token_type(data: &Map<String, Value>, role: Option<&TokenRole>) -> Result<TokenType> {
    let asked = fields::string(data, "type").unwrap_or_default();
    let kind = match role.map(|r| r.token_type.as_str()) {
        Some("service") => "service",
        Some("batch") => "batch",
        Some("default-batch") if asked.is_empty() => "batch",
        _ => asked.as_str(),
    };
    match kind {
        "" | "service" => Ok(TokenType::Service),
        "batch" => Ok(TokenType::Batch),
        _ => Err(Error::invalid("invalid 'token_type' value")),
    }
}

/// The requested `policies`, refusing spellings of `root` other than `root`.
fn requested_policies(data: &Map<String, Value>) -> Result<Option<Vec<String>>> {
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
    Ok(requested)
}

/// Policies without a role's rules: the parent's by default; a parent without root or
/// sudo grants only what it holds.
fn own_policies(
    data: &Map<String, Value>,
    parent: &TokenEntry,
    sudo: bool,
    no_default: bool,
) -> Result<Vec<String>> {
    let parent_root = parent.is_root();
    let requested = requested_policies(data)?;
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
    let is_root = policies.iter().any(|p| p == "root");
    if !no_default
        && !is_root
        && (parent_has_default || sudo)
        && !policies.iter().any(|p| p == "default")
    {
        policies.push("default".into());
    }
    Ok(sorted_policies(policies))
}
