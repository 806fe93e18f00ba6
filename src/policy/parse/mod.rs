//! Parsing Vault's ACL policy language (HCL, or its JSON form) into a [`Policy`].
//!
//! The accepted shape follows OpenBao's `vault/policy/policy.go` (`ParseACLPolicy`,
//! `parsePaths`): top-level `path "<pattern>" { ... }` blocks (and an ignored `name`), each
//! with `capabilities`, the legacy `policy` shorthand and the parameter and wrapping
//! constraints. Everything is validated up front so that evaluation can never fail.
//!
//! The HCL is read by a small HCL1 parser of our own (the `hcl1` module below): Vault parses policies
//! with HCL1, whose syntax HCL2 parsers reject in places (several attributes on one line,
//! quoted keys in `key { ... }` objects).
//!
//! Bounds (reliability item I5): texts over [`MAX_POLICY_BYTES`] and policies with more
//! than [`MAX_PATH_RULES`] rules are refused before any per-rule work; nesting is capped at
//! 32 levels (HCL) and serde_json's 128 (JSON); the only glob is a trailing `*`, so matching
//! needs no backtracking.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::BitOr;
use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::logical::Operation;

/// Largest policy text accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 1 << 20;
/// Most `path` rules one policy may hold.
pub const MAX_PATH_RULES: usize = 10_000;
/// Longest policy name accepted, in bytes (after trimming).
pub const MAX_NAME_BYTES: usize = 256;

/// The built-in policy that only a root token carries; it can be neither written nor
/// deleted, and a policy *named* `root` never grants anything by its name.
pub const ROOT_POLICY_NAME: &str = "root";
/// The built-in policy attached to every token unless asked otherwise.
pub const DEFAULT_POLICY_NAME: &str = "default";
/// The fixed policy of response-wrapping tokens.
pub const RESPONSE_WRAPPING_POLICY_NAME: &str = "response-wrapping";

/// A set of capabilities, as a bitmap.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Capabilities(u16);

impl Capabilities {
    pub const NONE: Self = Self(0);
    pub const DENY: Self = Self(1 << 0);
    pub const CREATE: Self = Self(1 << 1);
    pub const READ: Self = Self(1 << 2);
    pub const UPDATE: Self = Self(1 << 3);
    pub const DELETE: Self = Self(1 << 4);
    pub const LIST: Self = Self(1 << 5);
    pub const SUDO: Self = Self(1 << 6);
    pub const PATCH: Self = Self(1 << 7);
    /// OpenBao's `scan`; accepted and reported, no vaultrs operation needs it.
    pub const SCAN: Self = Self(1 << 8);
    /// Vault ≥ 1.16 `subscribe`; accepted and reported, no vaultrs operation needs it.
    pub const SUBSCRIBE: Self = Self(1 << 9);
    /// Vault ≥ 1.20 `recover`; accepted and reported, no vaultrs operation needs it.
    pub const RECOVER: Self = Self(1 << 10);

    /// Every name, sorted as `sys/capabilities*` reports them (Vault sorts the strings).
    const NAMES: [(&'static str, Capabilities); 11] = [
        ("create", Self::CREATE),
        ("delete", Self::DELETE),
        ("deny", Self::DENY),
        ("list", Self::LIST),
        ("patch", Self::PATCH),
        ("read", Self::READ),
        ("recover", Self::RECOVER),
        ("scan", Self::SCAN),
        ("subscribe", Self::SUBSCRIBE),
        ("sudo", Self::SUDO),
        ("update", Self::UPDATE),
    ];

    /// The capability a policy spells `name` (case-sensitive, as in Vault).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    }

    /// The capability an operation needs.
    pub fn for_operation(op: Operation) -> Self {
        match op {
            Operation::Read => Self::READ,
            Operation::Create => Self::CREATE,
            Operation::Update => Self::UPDATE,
            Operation::Patch => Self::PATCH,
            Operation::Delete => Self::DELETE,
            Operation::List => Self::LIST,
        }
    }

    pub fn contains(self, other: Self) -> bool {
        other.0 != 0 && self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether this set is an explicit `deny` (which wipes everything else).
    pub fn is_deny(self) -> bool {
        self.0 & Self::DENY.0 != 0
    }

    /// The names, sorted; `["deny"]` for an explicit deny or an empty set (as Vault's
    /// `ACL.Capabilities` reports them).
    pub fn names(self) -> Vec<&'static str> {
        if self.is_deny() || self.is_empty() {
            return vec!["deny"];
        }
        Self::NAMES
            .iter()
            .filter(|(_, c)| self.contains(*c))
            .map(|(n, _)| *n)
            .collect()
    }
}

impl BitOr for Capabilities {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Self::NAMES
            .iter()
            .filter(|(_, c)| self.contains(*c))
            .map(|(n, _)| *n)
            .collect();
        f.debug_tuple("Capabilities").field(&names).finish()
    }
}

/// Parameter name (lower-cased) → the values allowed or denied; an empty list means any
/// value. Values are JSON; strings may use a leading and/or trailing `*` glob.
pub type ParameterMap = BTreeMap<String, Vec<Value>>;

/// What one rule (or the merge of same-path rules) grants.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Permissions {
    pub capabilities: Capabilities,
    /// `None` when the policy does not restrict parameters.
    pub allowed_parameters: Option<ParameterMap>,
    pub denied_parameters: Option<ParameterMap>,
    /// Parameters every request must carry (Read/Create/Update/Patch).
    pub required_parameters: Vec<String>,
    /// Requests must be response-wrapped with at least this TTL.
    pub min_wrapping_ttl: Option<Duration>,
    /// Requests must be response-wrapped with at most this TTL.
    pub max_wrapping_ttl: Option<Duration>,
}

/// One `+` wildcard or a literal segment of a segment-wildcard pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    Any,
    Literal(String),
}

/// How a rule's path matches request paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Matcher {
    /// The path exactly.
    Exact(String),
    /// Any path starting with this (the pattern without its trailing `*`).
    Prefix(String),
    /// `/`-separated segments where `+` matches exactly one segment; with `prefix`, the
    /// last segment is a prefix of the request's segment and more segments may follow.
    Segments {
        /// The pattern without a trailing `*` (used for priority).
        pattern: String,
        segments: Vec<Segment>,
        prefix: bool,
    },
}

/// One `path "..." { ... }` block.
#[derive(Clone, Debug, PartialEq)]
pub struct PathRule {
    /// The path as written, without a leading `/` and keeping a trailing `*`.
    pub path: String,
    pub permissions: Permissions,
    /// Whether the path uses identity templating (`{{identity.entity.id}}`). vaultrs has no
    /// identity store, so templated rules are kept (for reads) but never match.
    pub templated: bool,
    pub(crate) matcher: Matcher,
}

/// A parsed ACL policy: its normalized name, its raw text and its rules.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    name: String,
    raw: String,
    rules: Vec<PathRule>,
}

impl Policy {
    /// Parses `text` (HCL, or JSON when it starts with `{`) as policy `name` (normalized
    /// with [`Policy::normalize_name`]). Errors are `InvalidRequest`s starting with
    /// `failed to parse policy: `.
    pub fn parse(name: &str, text: &str) -> Result<Policy> {
        let name = Self::normalize_name(name)?;
        if text.len() > MAX_POLICY_BYTES {
            return Err(fail(format!(
                "policy is {} bytes, more than the limit of {MAX_POLICY_BYTES}",
                text.len()
            )));
        }
        let raw_rules = if text.trim_start().starts_with('{') {
            rules_from_json(text)?
        } else {
            rules_from_hcl(text)?
        };
        let rules = raw_rules
            .into_iter()
            .map(|(path, body)| parse_rule(path, &body).map_err(fail))
            .collect::<Result<Vec<_>>>()?;
        Ok(Policy {
            name,
            raw: text.to_owned(),
            rules,
        })
    }

    /// Vault's name normalization: trimmed and lower-cased. Refuses empty names, names
    /// over [`MAX_NAME_BYTES`], names with `/` or control characters, and `.`/`..`.
    pub fn normalize_name(name: &str) -> Result<String> {
        let name = name.trim().to_lowercase();
        if name.is_empty() {
            return Err(Error::invalid("policy name must be provided"));
        }
        if name.len() > MAX_NAME_BYTES {
            return Err(Error::invalid(format!(
                "policy name is longer than {MAX_NAME_BYTES} bytes"
            )));
        }
        if name.contains('/') || name == "." || name == ".." {
            return Err(Error::invalid(format!("invalid policy name {name:?}")));
        }
        if name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "policy name must not contain control characters",
            ));
        }
        Ok(name)
    }

    /// Whether `name` denotes the built-in `root` policy once normalized (`ROOT`, ` Root `).
    /// Use it to refuse writing, deleting or assigning `root` (HCSEC-2025-13).
    pub fn is_root_name(name: &str) -> bool {
        name.trim().to_lowercase() == ROOT_POLICY_NAME
    }

    /// The built-in `default` policy.
    pub fn default_policy() -> Policy {
        Self::parse(DEFAULT_POLICY_NAME, super::DEFAULT_POLICY)
            .expect("the built-in default policy parses")
    }

    /// The built-in `response-wrapping` policy.
    pub fn response_wrapping_policy() -> Policy {
        Self::parse(
            RESPONSE_WRAPPING_POLICY_NAME,
            super::RESPONSE_WRAPPING_POLICY,
        )
        .expect("the built-in response-wrapping policy parses")
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The text as it was written (what `sys/policies/acl/:name` returns).
    pub fn text(&self) -> &str {
        &self.raw
    }

    pub fn rules(&self) -> &[PathRule] {
        &self.rules
    }

    /// Whether any rule uses identity templating.
    pub fn is_templated(&self) -> bool {
        self.rules.iter().any(|r| r.templated)
    }
}

fn fail(msg: impl fmt::Display) -> Error {
    Error::invalid(format!("failed to parse policy: {msg}"))
}

fn too_many_rules() -> Error {
    fail(format!("more than {MAX_PATH_RULES} path rules"))
}

/// `{"path": {"<p>": {...}, ...}}` or `{"path": [{"<p>": {...}}, ...]}`; a rule body may
/// also be a list of bodies (HCL1's JSON decoding allows both).
fn rules_from_json(text: &str) -> Result<Vec<(String, Value)>> {
    let root = serde_json::from_str::<strict_json::Unique>(text)
        .map_err(fail)?
        .0;
    let Value::Object(root) = root else {
        return Err(fail("does not contain a root object"));
    };
    let mut out = Vec::new();
    for (key, value) in root {
        match key.as_str() {
            "name" => {}
            "path" => {
                let groups = match value {
                    Value::Object(m) => vec![m],
                    Value::Array(items) => items
                        .into_iter()
                        .map(|v| match v {
                            Value::Object(m) => Ok(m),
                            _ => Err(fail("\"path\" must be an object")),
                        })
                        .collect::<Result<_>>()?,
                    _ => return Err(fail("\"path\" must be an object")),
                };
                for group in groups {
                    for (path, body) in group {
                        let bodies = match body {
                            Value::Array(items) => items,
                            other => vec![other],
                        };
                        for body in bodies {
                            if out.len() == MAX_PATH_RULES {
                                return Err(too_many_rules());
                            }
                            out.push((path.clone(), body));
                        }
                    }
                }
            }
            other => return Err(fail(format!("invalid key {other:?}"))),
        }
    }
    Ok(out)
}

/// HCL: `path "<p>" { ... }` items, or the `path = { "<p>" = { ... } }` object form.
fn rules_from_hcl(text: &str) -> Result<Vec<(String, Value)>> {
    let items = hcl1::parse(text).map_err(fail)?;
    let mut out = Vec::new();
    for item in items {
        let mut keys = item.keys.into_iter();
        let first = keys.next().unwrap_or_default();
        let label = keys.next();
        if keys.next().is_some() {
            return Err(fail(format!("{first:?}: too many labels")));
        }
        match (first.as_str(), label) {
            ("name", None) => {}
            ("path", Some(path)) => {
                if out.len() == MAX_PATH_RULES {
                    return Err(too_many_rules());
                }
                out.push((path, item.value));
            }
            ("path", None) => {
                let Value::Object(paths) = item.value else {
                    return Err(fail("\"path\" must be an object"));
                };
                for (path, body) in paths {
                    if out.len() == MAX_PATH_RULES {
                        return Err(too_many_rules());
                    }
                    out.push((path, body));
                }
            }
            (other, _) => return Err(fail(format!("invalid key {other:?}"))),
        }
    }
    Ok(out)
}

/// One rule body → [`PathRule`]; errors name the path.
fn parse_rule(written: String, body: &Value) -> Result<PathRule, String> {
    let p = |msg: String| format!("path {written:?}: {msg}");
    let Value::Object(body) = body else {
        return Err(p("expected an object".into()));
    };

    let mut caps = Capabilities::NONE;
    let mut perms = Permissions::default();
    for (key, value) in body {
        match key.as_str() {
            "comment" => {}
            "policy" => {
                let Value::String(old) = value else {
                    return Err(p("\"policy\" must be a string".into()));
                };
                caps = caps
                    | match old.as_str() {
                        "deny" => Capabilities::DENY,
                        "read" => Capabilities::READ | Capabilities::LIST,
                        "write" => write_capabilities(),
                        "sudo" => write_capabilities() | Capabilities::SUDO,
                        other => return Err(p(format!("invalid policy {other:?}"))),
                    };
            }
            "capabilities" => {
                for name in string_list(value).map_err(|e| p(format!("capabilities: {e}")))? {
                    caps = caps
                        | Capabilities::from_name(&name)
                            .ok_or_else(|| p(format!("invalid capability {name:?}")))?;
                }
            }
            "allowed_parameters" => {
                perms.allowed_parameters =
                    Some(parameter_map(value).map_err(|e| p(format!("allowed_parameters: {e}")))?)
            }
            "denied_parameters" => {
                perms.denied_parameters =
                    Some(parameter_map(value).map_err(|e| p(format!("denied_parameters: {e}")))?)
            }
            "required_parameters" => {
                perms.required_parameters =
                    string_list(value).map_err(|e| p(format!("required_parameters: {e}")))?
            }
            "min_wrapping_ttl" => {
                perms.min_wrapping_ttl =
                    wrapping_ttl(value).map_err(|e| p(format!("min_wrapping_ttl: {e}")))?
            }
            "max_wrapping_ttl" => {
                perms.max_wrapping_ttl =
                    wrapping_ttl(value).map_err(|e| p(format!("max_wrapping_ttl: {e}")))?
            }
            // Constraints vaultrs cannot enforce: refusing them fails closed, where
            // ignoring them would grant more than the author meant.
            "control_group"
            | "mfa_methods"
            | "expiration"
            | "pagination_limit"
            | "list_scan_response_keys_filter_path" => {
                return Err(p(format!("{key:?} is not supported by this server")))
            }
            other => return Err(p(format!("invalid key {other:?}"))),
        }
    }
    if let (Some(min), Some(max)) = (perms.min_wrapping_ttl, perms.max_wrapping_ttl) {
        if max < min {
            return Err(p(
                "max_wrapping_ttl cannot be less than min_wrapping_ttl".into()
            ));
        }
    }
    if caps.is_deny() {
        // `deny` wipes every other capability and constraint of the rule.
        perms = Permissions {
            capabilities: Capabilities::DENY,
            ..Permissions::default()
        };
    } else {
        perms.capabilities = caps;
    }

    let path = written.strip_prefix('/').unwrap_or(&written).to_owned();
    let templated = check_templates(&path).map_err(&p)?;
    let matcher = matcher_for(&path).map_err(&p)?;
    Ok(PathRule {
        path,
        permissions: perms,
        templated,
        matcher,
    })
}

fn write_capabilities() -> Capabilities {
    Capabilities::CREATE
        | Capabilities::READ
        | Capabilities::UPDATE
        | Capabilities::DELETE
        | Capabilities::LIST
}

/// Validates the globs of a path (leading `/` already stripped) and builds its matcher.
fn matcher_for(path: &str) -> Result<Matcher, String> {
    if path.contains("+*") {
        return Err("invalid use of wildcards ('+*' is forbidden)".into());
    }
    let (body, glob) = match path.strip_suffix('*') {
        Some(body) => (body, true),
        None => (path, false),
    };
    if body.contains('*') {
        return Err("invalid use of wildcards ('*' is only allowed at the end)".into());
    }
    if body.split('/').any(|s| s == "+") {
        let segments = body
            .split('/')
            .map(|s| match s {
                "+" => Segment::Any,
                lit => Segment::Literal(lit.to_owned()),
            })
            .collect();
        return Ok(Matcher::Segments {
            pattern: body.to_owned(),
            segments,
            prefix: glob,
        });
    }
    Ok(if glob {
        Matcher::Prefix(body.to_owned())
    } else {
        Matcher::Exact(body.to_owned())
    })
}

/// Whether `path` holds identity templates; refuses unbalanced or empty `{{ }}`.
fn check_templates(path: &str) -> Result<bool, String> {
    let mut rest = path;
    let mut templated = false;
    while let Some(open) = rest.find("{{") {
        if rest[..open].contains("}}") {
            return Err("unbalanced template braces".into());
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err("unbalanced template braces".into());
        };
        let inner = after[..close].trim();
        if inner.is_empty() || inner.contains("{{") {
            return Err("invalid template".into());
        }
        templated = true;
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return Err("unbalanced template braces".into());
    }
    Ok(templated)
}

fn string_list(value: &Value) -> Result<Vec<String>, String> {
    let Value::Array(items) = value else {
        return Err("must be a list of strings".into());
    };
    items
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err("must be a list of strings".to_owned()),
        })
        .collect()
}

/// `{"name" = [values...]}`, keys lower-cased; keys colliding after lower-casing are merged
/// (an empty list, meaning any value, wins).
fn parameter_map(value: &Value) -> Result<ParameterMap, String> {
    let Value::Object(map) = value else {
        return Err("must be a map of parameter names to lists of values".into());
    };
    let mut out = ParameterMap::new();
    for (key, values) in map {
        let Value::Array(values) = values else {
            return Err(format!("{key:?} must be a list of values"));
        };
        let key = key.to_lowercase();
        match out.get_mut(&key) {
            Some(existing) => merge_values(existing, values),
            None => {
                out.insert(key, values.clone());
            }
        }
    }
    Ok(out)
}

/// Merges `values` into the existing list `into` (Vault: an empty list on either side
/// means any value, and wins).
pub(crate) fn merge_values(into: &mut Vec<Value>, values: &[Value]) {
    if into.is_empty() || values.is_empty() {
        into.clear();
    } else {
        into.extend(values.iter().cloned());
    }
}

/// Seconds as a number, or a duration string; zero means unset.
fn wrapping_ttl(value: &Value) -> Result<Option<Duration>, String> {
    let ttl = match value {
        Value::Number(_) | Value::String(_) => crate::logical::ttl_from_json(value)
            .ok_or_else(|| format!("invalid duration {value}: must be a non-negative duration"))?,
        _ => return Err("must be a duration".into()),
    };
    Ok((!ttl.is_zero()).then_some(ttl))
}

mod hcl1;
mod strict_json;
#[cfg(test)]
mod tests;
