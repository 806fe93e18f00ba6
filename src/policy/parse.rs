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

/// JSON whose objects never repeat a key. serde_json keeps the last of repeated keys, so
/// `{"secret/x": {deny}, "secret/x": {read}}` would silently drop the deny; a policy that
/// repeats a key is refused instead, as the HCL reader refuses a repeated object key.
mod strict_json {
    use std::fmt;

    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_json::{Map, Value};

    /// A JSON value parsed with every object's keys checked for repeats.
    pub(super) struct Unique(pub Value);

    impl<'de> Deserialize<'de> for Unique {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(UniqueVisitor).map(Unique)
        }
    }

    struct UniqueVisitor;

    impl<'de> Visitor<'de> for UniqueVisitor {
        type Value = Value;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }

        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }

        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(v.into())
        }

        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(v.into())
        }

        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
        }

        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_owned()))
        }

        fn visit_string<E>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }

        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }

        fn visit_none<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut out = Vec::new();
            while let Some(Unique(v)) = seq.next_element()? {
                out.push(v);
            }
            Ok(Value::Array(out))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut out = Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(de::Error::custom(format!("duplicate key {key:?}")));
                }
                let Unique(value) = map.next_value()?;
                out.insert(key, value);
            }
            Ok(Value::Object(out))
        }
    }
}

/// A parser for the HCL1 subset that policies use (Vault reads them with hashicorp/hcl v1,
/// whose syntax differs from HCL2's: several `key = value` on one line, commas between
/// items, quoted keys in `key { ... }` objects). Items are `key ["label"...] = value` or
/// `key ["label"...] { ... }`; values are strings, numbers, booleans, lists and objects;
/// comments are `#`, `//` and `/* */`. Nothing is evaluated. Nesting is capped at
/// [`hcl1::MAX_DEPTH`], so the recursion is bounded.
mod hcl1 {
    use serde_json::{Map, Number, Value};

    pub(super) const MAX_DEPTH: usize = 32;

    pub(super) struct Item {
        pub keys: Vec<String>,
        pub value: Value,
    }

    /// The top-level items, in order (repeated keys are kept).
    pub(super) fn parse(text: &str) -> Result<Vec<Item>, String> {
        let mut parser = Parser { text, pos: 0 };
        parser.items(false, 0).map_err(|msg| {
            let before = text.get(..parser.pos).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {msg}")
        })
    }

    struct Parser<'a> {
        text: &'a str,
        /// Always on a character boundary.
        pos: usize,
    }

    fn is_ident_start(c: u8) -> bool {
        c.is_ascii_alphabetic() || c == b'_'
    }

    impl<'a> Parser<'a> {
        fn rest(&self) -> &'a str {
            &self.text[self.pos..]
        }

        fn peek(&self) -> Option<u8> {
            self.text.as_bytes().get(self.pos).copied()
        }

        /// Skips whitespace and comments.
        fn skip(&mut self) -> Result<(), String> {
            loop {
                let rest = self.rest();
                let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
                self.pos += rest.len() - trimmed.len();
                if trimmed.starts_with('#') || trimmed.starts_with("//") {
                    self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
                } else if let Some(body) = trimmed.strip_prefix("/*") {
                    let end = body.find("*/").ok_or("unterminated comment")?;
                    self.pos += end + 4;
                } else {
                    return Ok(());
                }
            }
        }

        /// Items up to the end of input, or up to and including `}` when `in_object`.
        fn items(&mut self, in_object: bool, depth: usize) -> Result<Vec<Item>, String> {
            let mut items = Vec::new();
            loop {
                self.skip()?;
                match self.peek() {
                    None if in_object => return Err("unexpected end of input, expected '}'".into()),
                    None => return Ok(items),
                    Some(b'}') if in_object => {
                        self.pos += 1;
                        return Ok(items);
                    }
                    _ => {}
                }
                items.push(self.item(depth)?);
                self.skip()?;
                if self.peek() == Some(b',') {
                    self.pos += 1;
                }
            }
        }

        fn item(&mut self, depth: usize) -> Result<Item, String> {
            let mut keys = vec![self.key()?];
            loop {
                self.skip()?;
                match self.peek() {
                    Some(b'=') if keys.len() == 1 => {
                        self.pos += 1;
                        let value = self.value(depth)?;
                        return Ok(Item { keys, value });
                    }
                    Some(b'{') => {
                        self.pos += 1;
                        let value = self.object(depth + 1)?;
                        return Ok(Item { keys, value });
                    }
                    Some(c) if c == b'"' || is_ident_start(c) => keys.push(self.key()?),
                    _ if keys.len() > 1 => return Err("expected '{' after the labels".into()),
                    _ => return Err("expected '=' or '{'".into()),
                }
            }
        }

        fn key(&mut self) -> Result<String, String> {
            match self.peek() {
                Some(b'"') => self.string(),
                Some(c) if is_ident_start(c) => Ok(self.ident().to_owned()),
                _ => Err("expected a key".into()),
            }
        }

        fn ident(&mut self) -> &'a str {
            let rest = self.rest();
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
                .unwrap_or(rest.len());
            self.pos += len;
            &rest[..len]
        }

        fn value(&mut self, depth: usize) -> Result<Value, String> {
            self.skip()?;
            match self.peek() {
                Some(b'{') => {
                    self.pos += 1;
                    self.object(depth + 1)
                }
                Some(b'[') => {
                    self.pos += 1;
                    self.list(depth + 1)
                }
                Some(b'"') => self.string().map(Value::String),
                Some(b'<') if self.rest().starts_with("<<") => {
                    Err("heredocs are not supported in policies".into())
                }
                Some(c) if c == b'-' || c.is_ascii_digit() => self.number(),
                Some(c) if is_ident_start(c) => match self.ident() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    other => Err(format!(
                        "unexpected {other:?}: only literal values are allowed"
                    )),
                },
                Some(_) => {
                    let c = self.rest().chars().next().unwrap_or_default();
                    Err(format!("unexpected character {c:?}"))
                }
                None => Err("unexpected end of input, expected a value".into()),
            }
        }

        /// After `{`: the items up to `}` as an object; `a "b" { }` nests as `a = { b = { } }`.
        fn object(&mut self, depth: usize) -> Result<Value, String> {
            if depth > MAX_DEPTH {
                return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
            }
            let mut map = Map::new();
            for item in self.items(true, depth)? {
                let mut keys = item.keys;
                let mut value = item.value;
                while keys.len() > 1 {
                    let inner = keys.pop().unwrap_or_default();
                    value = Value::Object(Map::from_iter([(inner, value)]));
                }
                let key = keys.pop().unwrap_or_default();
                if map.contains_key(&key) {
                    return Err(format!("duplicate key {key:?}"));
                }
                map.insert(key, value);
            }
            Ok(Value::Object(map))
        }

        /// After `[`: values separated by commas (a trailing comma is fine) up to `]`.
        fn list(&mut self, depth: usize) -> Result<Value, String> {
            if depth > MAX_DEPTH {
                return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
            }
            let mut values = Vec::new();
            loop {
                self.skip()?;
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Value::Array(values));
                }
                values.push(self.value(depth)?);
                self.skip()?;
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {}
                    _ => return Err("expected ',' or ']' in a list".into()),
                }
            }
        }

        /// A double-quoted string with Go-style escapes; it may not span lines.
        fn string(&mut self) -> Result<String, String> {
            let body = &self.rest()[1..];
            let mut out = String::new();
            let mut chars = body.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        self.pos += 1 + i + 1;
                        return Ok(out);
                    }
                    '\n' => break,
                    '\\' => {
                        let escaped = match chars.next().map(|(_, e)| e) {
                            Some('n') => '\n',
                            Some('t') => '\t',
                            Some('r') => '\r',
                            Some('"') => '"',
                            Some('\\') => '\\',
                            Some('\'') => '\'',
                            Some('a') => '\u{7}',
                            Some('b') => '\u{8}',
                            Some('f') => '\u{c}',
                            Some('v') => '\u{b}',
                            Some(u @ ('u' | 'U')) => {
                                let len = if u == 'u' { 4 } else { 8 };
                                let hex: String =
                                    chars.by_ref().take(len).map(|(_, h)| h).collect();
                                u32::from_str_radix(&hex, 16)
                                    .ok()
                                    .filter(|_| hex.len() == len)
                                    .and_then(char::from_u32)
                                    .ok_or("invalid unicode escape in string")?
                            }
                            Some(other) => {
                                return Err(format!("invalid escape \\{other} in string"))
                            }
                            None => break,
                        };
                        out.push(escaped);
                    }
                    c => out.push(c),
                }
            }
            Err("unterminated string".into())
        }

        fn number(&mut self) -> Result<Value, String> {
            let rest = self.rest();
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')))
                .unwrap_or(rest.len());
            let token = &rest[..len];
            let value = match token.parse::<i64>() {
                Ok(i) => Value::Number(i.into()),
                Err(_) => token
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .and_then(Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| format!("invalid number {token:?}"))?,
            };
            self.pos += len;
            Ok(value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn caps(names: &[&str]) -> Capabilities {
        names
            .iter()
            .map(|n| Capabilities::from_name(n).unwrap())
            .fold(Capabilities::NONE, |a, b| a | b)
    }

    fn only_rule(text: &str) -> PathRule {
        let policy = Policy::parse("p", text).unwrap();
        assert_eq!(policy.rules().len(), 1, "{text}");
        policy.rules()[0].clone()
    }

    #[test]
    fn parses_vault_hcl() {
        let text = r#"
            # comment
            path "secret/data/*" { capabilities = ["create", "read", "update", "patch", "delete", "list"] }
            path "secret/+/team/*" { capabilities = ["read"] }
            path "sys/mounts" { capabilities = ["sudo", "read"] }
            path "/secret/data/locked" { capabilities = ["deny"] }
        "#;
        let policy = Policy::parse(" My-Policy ", text).unwrap();
        assert_eq!(policy.name(), "my-policy");
        assert_eq!(policy.text(), text);
        let got: Vec<(&str, Capabilities, &Matcher)> = policy
            .rules()
            .iter()
            .map(|r| (r.path.as_str(), r.permissions.capabilities, &r.matcher))
            .collect();
        let team = Matcher::Segments {
            pattern: "secret/+/team/".into(),
            segments: vec![
                Segment::Literal("secret".into()),
                Segment::Any,
                Segment::Literal("team".into()),
                Segment::Literal("".into()),
            ],
            prefix: true,
        };
        assert_eq!(
            got,
            vec![
                (
                    "secret/data/*",
                    caps(&["create", "read", "update", "patch", "delete", "list"]),
                    &Matcher::Prefix("secret/data/".into())
                ),
                ("secret/+/team/*", caps(&["read"]), &team),
                (
                    "sys/mounts",
                    caps(&["sudo", "read"]),
                    &Matcher::Exact("sys/mounts".into())
                ),
                (
                    "secret/data/locked",
                    Capabilities::DENY,
                    &Matcher::Exact("secret/data/locked".into())
                ),
            ]
        );
    }

    #[test]
    fn json_and_hcl1_object_forms() {
        let table = [
            r#"{"path": {"secret/*": {"capabilities": ["read"]}}}"#,
            r#"  {"name": "x", "path": [{"secret/*": {"capabilities": ["read"]}}]}"#,
            r#"{"path": {"secret/*": [{"capabilities": ["read"]}]}}"#,
            r#"path = { "secret/*" = { capabilities = ["read"] } }"#,
            "name = \"x\"\npath \"secret/*\" {\n  capabilities = [\"read\",]\n}\n",
        ];
        for text in table {
            let rule = only_rule(text);
            assert_eq!(rule.matcher, Matcher::Prefix("secret/".into()), "{text}");
            assert_eq!(rule.permissions.capabilities, Capabilities::READ, "{text}");
        }
    }

    #[test]
    fn legacy_policy_shorthand() {
        let table: [(&str, &[&str]); 4] = [
            ("read", &["read", "list"]),
            ("write", &["create", "read", "update", "delete", "list"]),
            (
                "sudo",
                &["create", "read", "update", "delete", "list", "sudo"],
            ),
            ("deny", &["deny"]),
        ];
        for (old, want) in table {
            let rule = only_rule(&format!("path \"a\" {{ policy = \"{old}\" }}"));
            assert_eq!(rule.permissions.capabilities, caps(want), "{old}");
        }
        // `policy` and `capabilities` add up.
        let rule = only_rule(r#"path "a" { policy = "read" capabilities = ["patch"] }"#);
        assert_eq!(
            rule.permissions.capabilities,
            caps(&["read", "list", "patch"])
        );
    }

    #[test]
    fn hcl1_syntax() {
        let text = "// leading comment\n\
            /* block\n comment */ path \"secret/a\" { policy = \"read\" capabilities = [\"patch\",] },\n\
            path \"secret/\\u00e9\\\\x\" {\n\
              capabilities = [\n  # inside a list\n  \"update\"\n]\n\
              allowed_parameters {\n    \"Quoted-Key\" = [\"v\", 1.5, -2, true]\n  }\n\
              min_wrapping_ttl = 30, max_wrapping_ttl = \"1m\"\n\
            } # trailing";
        let policy = Policy::parse("p", text).unwrap();
        let rules = policy.rules();
        assert_eq!(rules.len(), 2);
        assert_eq!(
            rules[0].permissions.capabilities,
            caps(&["read", "list", "patch"])
        );
        assert_eq!(rules[1].path, "secret/\u{e9}\\x");
        let p = &rules[1].permissions;
        assert_eq!(p.capabilities, Capabilities::UPDATE);
        assert_eq!(
            p.allowed_parameters,
            Some(ParameterMap::from([(
                "quoted-key".into(),
                vec![json!("v"), json!(1.5), json!(-2), json!(true)]
            )]))
        );
        assert_eq!(p.min_wrapping_ttl, Some(Duration::from_secs(30)));
        assert_eq!(p.max_wrapping_ttl, Some(Duration::from_secs(60)));
    }

    #[test]
    fn deny_wipes_the_rest_of_its_rule() {
        let rule = only_rule(
            r#"path "a" {
                capabilities = ["read", "deny", "sudo"]
                allowed_parameters = { "x" = [] }
                required_parameters = ["y"]
            }"#,
        );
        assert_eq!(
            rule.permissions,
            Permissions {
                capabilities: Capabilities::DENY,
                ..Permissions::default()
            }
        );
    }

    #[test]
    fn parameter_and_wrapping_constraints() {
        let rule = only_rule(
            r#"path "secret/foo" {
                capabilities = ["create"]
                allowed_parameters = {
                    "TTL" = ["1h", 2]
                    "name" = []
                }
                denied_parameters = { admin = [true] }
                required_parameters = ["name"]
                min_wrapping_ttl = 60
                max_wrapping_ttl = "1h"
            }"#,
        );
        let p = rule.permissions;
        assert_eq!(
            p.allowed_parameters,
            Some(ParameterMap::from([
                ("ttl".into(), vec![json!("1h"), json!(2)]),
                ("name".into(), vec![]),
            ]))
        );
        assert_eq!(
            p.denied_parameters,
            Some(ParameterMap::from([("admin".into(), vec![json!(true)])]))
        );
        assert_eq!(p.required_parameters, vec!["name".to_owned()]);
        assert_eq!(p.min_wrapping_ttl, Some(Duration::from_secs(60)));
        assert_eq!(p.max_wrapping_ttl, Some(Duration::from_secs(3600)));

        // Block form of a parameter map, and zero meaning unset.
        let rule = only_rule(
            "path \"a\" {\n allowed_parameters {\n  foo = [\"x\"]\n }\n min_wrapping_ttl = 0\n}",
        );
        assert_eq!(
            rule.permissions.allowed_parameters,
            Some(ParameterMap::from([("foo".into(), vec![json!("x")])]))
        );
        assert_eq!(rule.permissions.min_wrapping_ttl, None);
    }

    #[test]
    fn templated_paths_are_flagged() {
        let policy = Policy::parse(
            "t",
            r#"path "identity/entity/id/{{identity.entity.id}}" { capabilities = ["read"] }
               path "secret/plain" { capabilities = ["read"] }"#,
        )
        .unwrap();
        assert!(policy.is_templated());
        assert!(policy.rules()[0].templated);
        assert!(!policy.rules()[1].templated);
    }

    #[test]
    fn json_policies_never_repeat_a_key() {
        for text in [
            r#"{"path":{"secret/data/x":{"capabilities":["deny"]},"secret/data/x":{"capabilities":["read"]}}}"#,
            r#"{"path":{"a":{"capabilities":["read"]}},"path":{"b":{"capabilities":["read"]}}}"#,
            r#"{"path":{"a":{"capabilities":["deny"],"capabilities":["read"]}}}"#,
            r#"{"path":{"a":{"allowed_parameters":{"k":[],"k":["v"]},"capabilities":["update"]}}}"#,
        ] {
            let err = Policy::parse("p", text).unwrap_err().to_string();
            assert!(err.contains("duplicate key"), "{text}: {err}");
        }
        // The same path twice as HCL blocks is two rules; the ACL merges them (deny wins).
        let hcl = "path \"secret/data/x\" { capabilities = [\"deny\"] }\n\
                   path \"secret/data/x\" { capabilities = [\"read\"] }";
        assert_eq!(Policy::parse("p", hcl).unwrap().rules().len(), 2);
    }

    #[test]
    fn rejects_bad_policies_without_panicking() {
        let deep = format!(
            "path \"a\" {{ capabilities = {}\"read\"{} }}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let deep_object = format!(
            "path \"a\" {{ x = {}{} }}",
            "{a=".repeat(50_000),
            "}".repeat(50_000)
        );
        let deep_json = format!(
            "{{\"path\": {}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let huge = format!(
            "path \"a\" {{ capabilities = [\"read\"] }}\n#{}",
            "x".repeat(MAX_POLICY_BYTES)
        );
        let many = "path \"a\" { capabilities = [\"read\"] }\n".repeat(MAX_PATH_RULES + 1);
        let table: Vec<(&str, String, &str)> = vec![
            (
                "invalid hcl",
                r#"path "a" { capabilities = ["read""#.into(),
                "failed to parse policy",
            ),
            (
                "unknown capability",
                r#"path "a" { capabilities = ["read", "fly"] }"#.into(),
                r#"invalid capability "fly""#,
            ),
            (
                "capability case",
                r#"path "a" { capabilities = ["READ"] }"#.into(),
                r#"invalid capability "READ""#,
            ),
            (
                "star in the middle",
                r#"path "secret/*/foo" { capabilities = ["read"] }"#.into(),
                "only allowed at the end",
            ),
            (
                "double star",
                r#"path "secret/**" { capabilities = ["read"] }"#.into(),
                "only allowed at the end",
            ),
            (
                "plus star",
                r#"path "secret/+*" { capabilities = ["read"] }"#.into(),
                "'+*' is forbidden",
            ),
            (
                "unknown top-level key",
                r#"policy "a" { capabilities = ["read"] }"#.into(),
                r#"invalid key "policy""#,
            ),
            (
                "unknown top-level attribute",
                r#"foo = 1"#.into(),
                r#"invalid key "foo""#,
            ),
            (
                "unknown rule key",
                r#"path "a" { capabilities = ["read"] bogus = 1 }"#.into(),
                r#"invalid key "bogus""#,
            ),
            (
                "duplicate rule key",
                "path \"a\" {\n capabilities = [\"read\"]\n capabilities = [\"list\"]\n}".into(),
                "duplicate key",
            ),
            (
                "two labels",
                r#"path "a" "b" { capabilities = ["read"] }"#.into(),
                "too many labels",
            ),
            (
                "labels with =",
                r#"path "a" = { capabilities = ["read"] }"#.into(),
                "expected '{' after the labels",
            ),
            (
                "no label",
                r#"path { capabilities = ["read"] }"#.into(),
                "expected an object",
            ),
            (
                "control group",
                r#"path "a" { control_group = { ttl = "1h" } }"#.into(),
                "not supported",
            ),
            (
                "mfa",
                r#"path "a" { mfa_methods = ["x"] }"#.into(),
                "not supported",
            ),
            (
                "interpolation is literal",
                r#"path "a" { capabilities = ["${var.x}"] }"#.into(),
                r#"invalid capability "${var.x}""#,
            ),
            (
                "heredoc",
                "path \"a\" { comment = <<EOT\nx\nEOT\n}".into(),
                "heredocs are not supported",
            ),
            (
                "unterminated string",
                "path \"a {}".into(),
                "unterminated string",
            ),
            (
                "newline in string",
                "path \"a\n\" {}".into(),
                "line 1, column 6: unterminated string",
            ),
            ("bad escape", r#"path "a\q" {}"#.into(), "invalid escape"),
            (
                "unterminated comment",
                "/* x".into(),
                "unterminated comment",
            ),
            (
                "unclosed block",
                "path \"a\" { capabilities = []".into(),
                "expected '}'",
            ),
            ("stray close", "}".into(), "expected a key"),
            (
                "bad number",
                r#"path "a" { min_wrapping_ttl = 1h }"#.into(),
                "invalid number",
            ),
            (
                "missing value",
                r#"path "a" { capabilities = }"#.into(),
                "unexpected character",
            ),
            (
                "bad list",
                r#"path "a" { capabilities = ["read" "list"] }"#.into(),
                "expected ',' or ']'",
            ),
            (
                "variable",
                r#"path "a" { capabilities = read }"#.into(),
                "only literal values",
            ),
            (
                "function",
                r#"path "a" { capabilities = upper("read") }"#.into(),
                "only literal values",
            ),
            (
                "capabilities not a list",
                r#"path "a" { capabilities = "read" }"#.into(),
                "list of strings",
            ),
            (
                "capability not a string",
                r#"path "a" { capabilities = [1] }"#.into(),
                "list of strings",
            ),
            (
                "bad legacy policy",
                r#"path "a" { policy = "all" }"#.into(),
                r#"invalid policy "all""#,
            ),
            (
                "parameter values not a list",
                r#"path "a" { allowed_parameters = { x = "y" } }"#.into(),
                "must be a list of values",
            ),
            (
                "bad duration",
                r#"path "a" { max_wrapping_ttl = "soon" }"#.into(),
                "invalid duration",
            ),
            (
                "negative duration",
                r#"path "a" { max_wrapping_ttl = -5 }"#.into(),
                "non-negative",
            ),
            (
                "min above max",
                r#"path "a" { min_wrapping_ttl = "2h" max_wrapping_ttl = "1h" }"#.into(),
                "cannot be less than",
            ),
            (
                "unbalanced template",
                r#"path "a/{{identity.entity.id" { capabilities = ["read"] }"#.into(),
                "unbalanced",
            ),
            (
                "stray template close",
                r#"path "a/}}" { capabilities = ["read"] }"#.into(),
                "unbalanced",
            ),
            (
                "json not an object",
                r#"{"path": "a"}"#.into(),
                "must be an object",
            ),
            (
                "json invalid key",
                r#"{"paths": {}}"#.into(),
                r#"invalid key "paths""#,
            ),
            (
                "json syntax",
                r#"{"path": {"#.into(),
                "failed to parse policy",
            ),
            (
                "json body not an object",
                r#"{"path": {"a": 1}}"#.into(),
                "expected an object",
            ),
            ("deep nesting", deep, "nesting deeper than 32 levels"),
            (
                "deep object nesting",
                deep_object,
                "nesting deeper than 32 levels",
            ),
            ("deep json nesting", deep_json, "recursion limit"),
            ("oversized", huge, "more than the limit"),
            ("too many rules", many, "more than 10000 path rules"),
        ];
        for (what, text, want) in table {
            match Policy::parse("p", &text) {
                Ok(p) => panic!("{what}: parsed {:?}", p.rules()),
                Err(Error::InvalidRequest(msg)) => {
                    assert!(msg.starts_with("failed to parse policy: "), "{what}: {msg}");
                    assert!(msg.contains(want), "{what}: {msg:.300}");
                }
                Err(e) => panic!("{what}: {e:?}"),
            }
        }
    }

    #[test]
    fn accepts_edge_cases() {
        let table: [(&str, Matcher); 6] = [
            // An empty policy grants nothing but is valid.
            ("", Matcher::Exact(String::new())),
            (
                "path \"*\" { capabilities = [] }",
                Matcher::Prefix(String::new()),
            ),
            // `+` inside a segment is literal.
            ("path \"a+b/c\" {}", Matcher::Exact("a+b/c".into())),
            (
                "path \"secret/zip-*\" {}",
                Matcher::Prefix("secret/zip-".into()),
            ),
            ("path \"/x\" {}", Matcher::Exact("x".into())),
            (
                "path \"+\" {}",
                Matcher::Segments {
                    pattern: "+".into(),
                    segments: vec![Segment::Any],
                    prefix: false,
                },
            ),
        ];
        for (text, want) in table {
            let policy = Policy::parse("p", text).unwrap();
            if text.is_empty() {
                assert!(policy.rules().is_empty());
            } else {
                assert_eq!(policy.rules()[0].matcher, want, "{text}");
            }
        }
        // Exactly the limit is fine.
        let many = "path \"a\" { capabilities = [\"read\"] }\n".repeat(MAX_PATH_RULES);
        assert_eq!(
            Policy::parse("p", &many).unwrap().rules().len(),
            MAX_PATH_RULES
        );
        // Newer capability names are accepted.
        let rule = only_rule(r#"path "a" { capabilities = ["subscribe", "recover", "scan"] }"#);
        assert_eq!(
            rule.permissions.capabilities.names(),
            ["recover", "scan", "subscribe"]
        );
    }

    #[test]
    fn policy_names() {
        let table: [(&str, Option<&str>); 12] = [
            ("admin", Some("admin")),
            (" Admin\t", Some("admin")),
            ("ROOT", Some("root")),
            (" Root ", Some("root")),
            ("dev.team-1_x@corp", Some("dev.team-1_x@corp")),
            ("", None),
            ("   ", None),
            ("a/b", None),
            ("..", None),
            (".", None),
            ("a\u{0}b", None),
            ("x\ny", None),
        ];
        for (name, want) in table {
            match (Policy::normalize_name(name), want) {
                (Ok(got), Some(want)) => assert_eq!(got, want, "{name:?}"),
                (Err(Error::InvalidRequest(_)), None) => {}
                (got, want) => panic!("{name:?}: got {got:?}, want {want:?}"),
            }
        }
        assert!(Policy::normalize_name(&"a".repeat(MAX_NAME_BYTES)).is_ok());
        assert!(Policy::normalize_name(&"a".repeat(MAX_NAME_BYTES + 1)).is_err());
        for name in ["root", "ROOT", " Root\n"] {
            assert!(Policy::is_root_name(name), "{name:?}");
        }
        for name in ["roots", "r00t", "default"] {
            assert!(!Policy::is_root_name(name), "{name:?}");
        }
        assert!(Policy::parse("a/b", "").is_err());
    }

    #[test]
    fn builtin_policies_parse() {
        let default = Policy::default_policy();
        assert_eq!(default.name(), "default");
        assert_eq!(default.text(), crate::policy::DEFAULT_POLICY);
        assert!(default.is_templated());
        assert_eq!(Policy::response_wrapping_policy().rules().len(), 2);
    }

    #[test]
    fn capability_names_are_sorted() {
        let all = caps(&[
            "update", "sudo", "read", "patch", "list", "delete", "create",
        ]);
        assert_eq!(
            all.names(),
            ["create", "delete", "list", "patch", "read", "sudo", "update"]
        );
        assert_eq!(Capabilities::NONE.names(), ["deny"]);
        assert_eq!((Capabilities::DENY | Capabilities::READ).names(), ["deny"]);
    }
}
