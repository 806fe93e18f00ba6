//! Token creation: `auth/token/create` and `auth/token/create-orphan`. The caller's
//! rights decide the new token's policies, parent and TTLs.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::token_backend::auth_for;
use super::tokens::{NewToken, TokenType};
use super::ttl::TtlLimits;
use super::{Active, Caller, Core, Response};
use crate::error::{Error, Result};
use crate::fields;
use crate::logical::Operation;
use crate::policy::Policy;

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
    orphan_endpoint: bool,
) -> Result<Response> {
    let parent = &caller.entry;
    if parent.is_batch() {
        return Err(Error::invalid("batch tokens cannot create more tokens"));
    }
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
    let token_type = match fields::string(data, "type").as_deref() {
        None | Some("" | "service") => TokenType::Service,
        Some("batch") => TokenType::Batch,
        Some(_) => return Err(Error::invalid("invalid 'token_type' value")),
    };
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
    let mut renewable = fields::boolean(data, "renewable")?.unwrap_or(true);
    if token_type == TokenType::Batch {
        for (set, name) in [
            (!explicit_max.is_zero(), "explicit_max_ttl"),
            (num_uses != 0, "num_uses"),
            (!period.is_zero(), "period"),
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
    if !period.is_zero() && !sudo {
        return Err(Error::invalid(
            "root or sudo privileges required to create periodic token",
        ));
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
        explicit_max: explicit_max.as_secs(),
        period: period.as_secs(),
    };
    // Only root may hold a token that never expires, and only under a root parent that
    // never expires either.
    let never_expires = requested == 0
        && period.is_zero()
        && is_root
        && parent_root
        && parent.expire_time.is_none();
    let mut ttl = if never_expires {
        // Still bound by an explicit max TTL, within the mount's max like any TTL (so no
        // renewal ever takes back what was granted).
        match explicit_max.as_secs() {
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
        let left = parent_expiry.saturating_sub(crate::util::unix_now_ceil());
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
            path: if orphan_endpoint {
                "auth/token/create-orphan".into()
            } else {
                "auth/token/create".into()
            },
            ttl: Duration::from_secs(ttl),
            explicit_max_ttl: explicit_max,
            max_ttl,
            period,
            role: None,
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
