//! Evaluating requests against the merged policies of a token (Vault's `ACL`, OpenBao
//! `vault/policy/acl.go`).
//!
//! Rules are merged per identical path pattern (union of capabilities; a `deny` in any of
//! them wins), then, for a request path, exactly one merged rule governs it:
//!
//! 1. the exact rule for the path (for LIST also the path without its trailing `/`);
//! 2. otherwise the highest-priority matching glob or `+` rule, see [`Candidate::outranks`];
//! 3. otherwise, for LIST on a path ending in `/`, step 2 on the path without it.
//!
//! No match means deny. Lookups cost O(path length) for exact and prefix rules (a hash map
//! and a radix tree) plus O(total size of the `+` rules); nothing backtracks.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::parse::{
    merge_values, Capabilities, Matcher, ParameterMap, Permissions, Policy, Segment,
};
use super::radix::Radix;
use crate::logical::Operation;

/// The outcome of an ACL check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// The operation is allowed on the path.
    pub allowed: bool,
    /// The governing rule grants `sudo` (root-protected paths need it on top of `allowed`).
    /// Reported even when `allowed` is false, as Vault's `RootPrivs` is.
    pub sudo: bool,
}

impl Decision {
    const ROOT: Decision = Decision {
        allowed: true,
        sudo: true,
    };
}

/// The merged policies of one token.
#[derive(Default)]
pub struct Acl {
    /// Only [`Acl::root`] sets this; no policy, whatever its name, does.
    root: bool,
    exact: HashMap<String, Permissions>,
    /// Prefix (trailing `*`) rules: the index finds the longest matching prefix.
    prefix_index: Radix,
    prefixes: Vec<(String, Permissions)>,
    /// Rules with `+` segments.
    wildcards: Vec<WildcardRule>,
}

struct WildcardRule {
    /// The pattern without its trailing `*`.
    pattern: String,
    segments: Vec<Segment>,
    prefix: bool,
    /// Byte offset of the first `+` segment.
    first_wildcard: usize,
    wildcards: usize,
    perms: Permissions,
}

impl WildcardRule {
    fn new(pattern: &str, segments: &[Segment], prefix: bool, perms: Permissions) -> Self {
        let mut offset = 0;
        let mut first_wildcard = None;
        for (segment, text) in segments.iter().zip(pattern.split('/')) {
            if *segment == Segment::Any && first_wildcard.is_none() {
                first_wildcard = Some(offset);
            }
            offset += text.len() + 1;
        }
        WildcardRule {
            pattern: pattern.to_owned(),
            segments: segments.to_vec(),
            prefix,
            first_wildcard: first_wildcard.unwrap_or(pattern.len()),
            wildcards: segments.iter().filter(|s| **s == Segment::Any).count(),
            perms,
        }
    }

    fn matches(&self, parts: &[&str]) -> bool {
        let n = self.segments.len();
        if parts.len() < n || (!self.prefix && parts.len() != n) {
            return false;
        }
        self.segments
            .iter()
            .zip(parts)
            .enumerate()
            .all(|(i, (segment, part))| match segment {
                Segment::Any => true,
                Segment::Literal(lit) if self.prefix && i == n - 1 => {
                    part.starts_with(lit.as_str())
                }
                Segment::Literal(lit) => part == lit,
            })
    }

    /// Whether the rule could match something under `mount` (segments, no trailing `/`).
    fn reaches_under(&self, mount: &[&str]) -> bool {
        let n = self.segments.len();
        if n < mount.len() {
            return false;
        }
        self.segments
            .iter()
            .zip(mount)
            .enumerate()
            .all(|(i, (segment, part))| match segment {
                Segment::Any => true,
                Segment::Literal(lit) if self.prefix && i == n - 1 => {
                    part.starts_with(lit.as_str())
                }
                Segment::Literal(lit) => part == lit,
            })
    }
}

/// A matching non-exact rule, ranked by Vault's priority rules.
struct Candidate<'a> {
    first_wildcard: usize,
    prefix: bool,
    wildcards: usize,
    pattern: &'a str,
    perms: &'a Permissions,
}

impl Candidate<'_> {
    /// Vault's priority (`CheckAllowedFromNonExactPaths`), highest first:
    /// the first `+` or `*` comes later; not ending in `*`; fewer `+` segments; longer;
    /// lexicographically greater.
    fn outranks(&self, other: &Candidate<'_>) -> bool {
        self.first_wildcard
            .cmp(&other.first_wildcard)
            .then_with(|| other.prefix.cmp(&self.prefix))
            .then_with(|| other.wildcards.cmp(&self.wildcards))
            .then_with(|| self.pattern.len().cmp(&other.pattern.len()))
            .then_with(|| self.pattern.cmp(other.pattern))
            .is_gt()
    }
}

impl Acl {
    /// The ACL of a root token: everything is allowed, with sudo.
    pub fn root() -> Acl {
        Acl {
            root: true,
            ..Acl::default()
        }
    }

    /// Merges `policies`. Names play no part: a policy named `root` (in any case) is just
    /// its rules. Templated rules are skipped (vaultrs has no identity store).
    pub fn new(policies: &[Arc<Policy>]) -> Acl {
        let mut acl = Acl::default();
        let mut wildcard_index: HashMap<(String, bool), usize> = HashMap::new();
        for rule in policies.iter().flat_map(|p| p.rules()) {
            if rule.templated {
                continue;
            }
            let perms = &rule.permissions;
            match &rule.matcher {
                Matcher::Exact(path) => match acl.exact.get_mut(path) {
                    Some(existing) => merge(existing, perms),
                    None => {
                        acl.exact.insert(path.clone(), perms.clone());
                    }
                },
                Matcher::Prefix(path) => {
                    let slot = acl.prefix_index.slot(path.as_bytes());
                    match *slot {
                        Some(i) => merge(&mut acl.prefixes[i].1, perms),
                        None => {
                            *slot = Some(acl.prefixes.len());
                            acl.prefixes.push((path.clone(), perms.clone()));
                        }
                    }
                }
                Matcher::Segments {
                    pattern,
                    segments,
                    prefix,
                } => match wildcard_index.get(&(pattern.clone(), *prefix)) {
                    Some(&i) => merge(&mut acl.wildcards[i].perms, perms),
                    None => {
                        wildcard_index.insert((pattern.clone(), *prefix), acl.wildcards.len());
                        acl.wildcards.push(WildcardRule::new(
                            pattern,
                            segments,
                            *prefix,
                            perms.clone(),
                        ));
                    }
                },
            }
        }
        acl
    }

    /// Whether this is a root token's ACL.
    pub fn is_root(&self) -> bool {
        self.root
    }

    /// The capabilities on `path` as `sys/capabilities-self` reports them: sorted names,
    /// `["root"]` for root, `["deny"]` when denied or nothing matches. Uses LIST's lookup
    /// (trailing-`/` fallbacks), as Vault does.
    pub fn capabilities(&self, path: &str) -> Vec<&'static str> {
        if self.root {
            return vec!["root"];
        }
        match self.lookup(path, true) {
            Some(perms) => perms.capabilities.names(),
            None => vec!["deny"],
        }
    }

    /// Whether the capabilities allow `op` on `path`. Parameter and wrapping constraints are
    /// not checked: the request path uses [`Acl::authorize`].
    pub fn allowed(&self, op: Operation, path: &str) -> Decision {
        if self.root {
            return Decision::ROOT;
        }
        match self.lookup(&request_path(op, path), op == Operation::List) {
            Some(perms) => Decision {
                allowed: capability_allows(perms.capabilities, op),
                sudo: perms.capabilities.contains(Capabilities::SUDO),
            },
            None => Decision::default(),
        }
    }

    /// The full check of a request: capabilities, then the governing rule's parameter
    /// constraints on `data` and its wrapping-TTL bounds (`wrap_ttl` is the requested
    /// response-wrapping TTL, if any).
    pub fn authorize(
        &self,
        op: Operation,
        path: &str,
        data: &Map<String, Value>,
        wrap_ttl: Option<Duration>,
    ) -> Decision {
        if self.root {
            return Decision::ROOT;
        }
        let Some(perms) = self.lookup(&request_path(op, path), op == Operation::List) else {
            return Decision::default();
        };
        Decision {
            allowed: capability_allows(perms.capabilities, op)
                && wrapping_allows(perms, wrap_ttl)
                && parameters_allow(perms, op, data),
            sudo: perms.capabilities.contains(Capabilities::SUDO),
        }
    }

    /// Whether the parameter constraints (`required_parameters`, `denied_parameters`,
    /// `allowed_parameters`) of the rule governing `op` on `path` admit `data`. False when no
    /// rule matches. Only Read, Create, Update and Patch carry constrained parameters.
    pub fn check_parameters(&self, op: Operation, path: &str, data: &Map<String, Value>) -> bool {
        if self.root {
            return true;
        }
        self.lookup(&request_path(op, path), op == Operation::List)
            .is_some_and(|perms| parameters_allow(perms, op, data))
    }

    /// Whether the token can do anything at all under the mount `mount_path` (e.g.
    /// `secret/`): Vault's `hasMountAccess`, used to hide mounts and for the KV preflight.
    pub fn has_access_under(&self, mount_path: &str) -> bool {
        if self.root {
            return true;
        }
        let mount_path = mount_path.trim_start_matches('/');
        if self.capabilities(mount_path) != ["deny"] {
            return true;
        }
        let grants =
            |perms: &Permissions| !perms.capabilities.is_deny() && !perms.capabilities.is_empty();
        if self
            .exact
            .iter()
            .chain(self.prefixes.iter().map(|(k, v)| (k, v)))
            .any(|(path, perms)| path.starts_with(mount_path) && grants(perms))
        {
            return true;
        }
        let mount: Vec<&str> = mount_path.trim_end_matches('/').split('/').collect();
        self.wildcards
            .iter()
            .any(|rule| grants(&rule.perms) && rule.reaches_under(&mount))
    }

    /// The merged rule that governs `path`, if any.
    fn lookup(&self, path: &str, list: bool) -> Option<&Permissions> {
        let path = path.trim_start_matches('/');
        if let Some(perms) = self.exact.get(path) {
            return Some(perms);
        }
        let trimmed = if list { path.strip_suffix('/') } else { None };
        if let Some(perms) = trimmed.and_then(|t| self.exact.get(t)) {
            return Some(perms);
        }
        // LIST checks the path with its trailing `/` first: a rule matching it is always
        // more specific than one matching only the trimmed path (GHSA-xp3c-3jw3-4vcr).
        self.non_exact(path)
            .or_else(|| trimmed.and_then(|t| self.non_exact(t)))
    }

    /// The highest-priority matching prefix or `+` rule.
    fn non_exact(&self, path: &str) -> Option<&Permissions> {
        let mut best = self
            .prefix_index
            .longest_prefix(path.as_bytes())
            .map(|(len, i)| Candidate {
                first_wildcard: len,
                prefix: true,
                wildcards: 0,
                pattern: &self.prefixes[i].0,
                perms: &self.prefixes[i].1,
            });
        if self.wildcards.is_empty() {
            return best.map(|c| c.perms);
        }
        let parts: Vec<&str> = path.split('/').collect();
        for rule in &self.wildcards {
            if !rule.matches(&parts) {
                continue;
            }
            let candidate = Candidate {
                first_wildcard: rule.first_wildcard,
                prefix: rule.prefix,
                wildcards: rule.wildcards,
                pattern: &rule.pattern,
                perms: &rule.perms,
            };
            if best.as_ref().is_none_or(|b| candidate.outranks(b)) {
                best = Some(candidate);
            }
        }
        best.map(|c| c.perms)
    }
}

impl fmt::Debug for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acl")
            .field("root", &self.root)
            .field("exact_rules", &self.exact.len())
            .field("prefix_rules", &self.prefixes.len())
            .field("wildcard_rules", &self.wildcards.len())
            .finish()
    }
}

/// A LIST names a directory: like Vault's HTTP layer, add the trailing `/` a caller may have
/// left off, so that `secret/private` cannot dodge a `secret/private/*` deny.
fn request_path(op: Operation, path: &str) -> Cow<'_, str> {
    let path = path.trim_start_matches('/');
    if op == Operation::List && !path.is_empty() && !path.ends_with('/') {
        Cow::Owned(format!("{path}/"))
    } else {
        Cow::Borrowed(path)
    }
}

fn capability_allows(caps: Capabilities, op: Operation) -> bool {
    !caps.is_deny() && caps.contains(Capabilities::for_operation(op))
}

/// Vault's merge of two rules with the same pattern (`NewACL`).
fn merge(existing: &mut Permissions, new: &Permissions) {
    if existing.capabilities.is_deny() {
        return;
    }
    if new.capabilities.is_deny() {
        *existing = Permissions {
            capabilities: Capabilities::DENY,
            ..Permissions::default()
        };
        return;
    }
    existing.capabilities = existing.capabilities | new.capabilities;
    // The lesser of two bounds wins, for both.
    if let Some(max) = new.max_wrapping_ttl {
        if existing.max_wrapping_ttl.is_none_or(|e| max < e) {
            existing.max_wrapping_ttl = Some(max);
        }
    }
    if let Some(min) = new.min_wrapping_ttl {
        if existing.min_wrapping_ttl.is_none_or(|e| min < e) {
            existing.min_wrapping_ttl = Some(min);
        }
    }
    merge_parameters(&mut existing.allowed_parameters, &new.allowed_parameters);
    merge_parameters(&mut existing.denied_parameters, &new.denied_parameters);
    for required in &new.required_parameters {
        if !existing.required_parameters.contains(required) {
            existing.required_parameters.push(required.clone());
        }
    }
}

fn merge_parameters(existing: &mut Option<ParameterMap>, new: &Option<ParameterMap>) {
    let Some(new) = new.as_ref().filter(|m| !m.is_empty()) else {
        return;
    };
    match existing {
        None => *existing = Some(new.clone()),
        Some(map) => {
            for (key, values) in new {
                match map.get_mut(key) {
                    Some(current) => merge_values(current, values),
                    None => {
                        map.insert(key.clone(), values.clone());
                    }
                }
            }
        }
    }
}

fn wrapping_allows(perms: &Permissions, wrap_ttl: Option<Duration>) -> bool {
    if let Some(max) = perms.max_wrapping_ttl {
        if wrap_ttl.is_none_or(|t| t > max) {
            return false;
        }
    }
    if let Some(min) = perms.min_wrapping_ttl {
        if wrap_ttl.is_none_or(|t| t < min) {
            return false;
        }
    }
    // Merging can produce min > max even though each rule was checked on parse.
    !matches!(
        (perms.min_wrapping_ttl, perms.max_wrapping_ttl),
        (Some(min), Some(max)) if max < min
    )
}

/// Vault's parameter checks (`AllowOperation`): required, then denied, then allowed.
fn parameters_allow(perms: &Permissions, op: Operation, data: &Map<String, Value>) -> bool {
    if !matches!(
        op,
        Operation::Read | Operation::Create | Operation::Update | Operation::Patch
    ) {
        return true;
    }
    if perms
        .required_parameters
        .iter()
        .any(|p| !data.contains_key(&p.to_lowercase()))
    {
        return false;
    }
    if data.is_empty() {
        return true;
    }
    if let Some(denied) = perms.denied_parameters.as_ref().filter(|m| !m.is_empty()) {
        if denied.contains_key("*") {
            return false;
        }
        let hit = data.iter().any(|(key, value)| {
            denied
                .get(&key.to_lowercase())
                .is_some_and(|list| value_in_list(value, list))
        });
        if hit {
            return false;
        }
    }
    let Some(allowed) = perms.allowed_parameters.as_ref().filter(|m| !m.is_empty()) else {
        return true;
    };
    let allow_all = allowed.contains_key("*");
    if allow_all && allowed.len() == 1 {
        return true;
    }
    data.iter()
        .all(|(key, value)| match allowed.get(&key.to_lowercase()) {
            Some(list) => value_in_list(value, list),
            None => allow_all,
        })
}

/// An empty list admits any value; strings match with a leading/trailing `*` glob.
fn value_in_list(value: &Value, list: &[Value]) -> bool {
    list.is_empty()
        || list.iter().any(|item| match (item, value) {
            (Value::String(pattern), Value::String(s)) => globbed_match(pattern, s),
            (Value::Number(a), Value::Number(b)) => a == b || a.as_f64() == b.as_f64(),
            _ => item == value,
        })
}

/// Vault's `strutil.GlobbedStringsMatch`: `*x*` contains, `*x` suffix, `x*` prefix.
fn globbed_match(pattern: &str, value: &str) -> bool {
    if pattern.len() < 2 {
        return pattern == value;
    }
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(_), Some(_)) => value.contains(&pattern[1..pattern.len() - 1]),
        (Some(suffix), None) => value.ends_with(suffix),
        (None, Some(prefix)) => value.starts_with(prefix),
        (None, None) => pattern == value,
    }
}

#[cfg(test)]
mod tests;
