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

/// A byte-wise radix tree mapping prefixes to indices, for longest-prefix lookups in
/// O(key length). Iterative throughout, so deep trees (long chains of nested prefixes)
/// cannot overflow the stack.
#[derive(Default)]
struct Radix {
    root: RadixNode,
}

#[derive(Default)]
struct RadixNode {
    value: Option<usize>,
    /// Sorted by the first byte of the (non-empty) label.
    edges: Vec<(Box<[u8]>, RadixNode)>,
}

impl Radix {
    /// The value slot for `key`, creating the nodes it needs.
    fn slot(&mut self, mut key: &[u8]) -> &mut Option<usize> {
        let mut node = &mut self.root;
        loop {
            let Some(&first) = key.first() else {
                return &mut node.value;
            };
            match node
                .edges
                .binary_search_by(|(label, _)| label[0].cmp(&first))
            {
                Err(i) => {
                    node.edges.insert(i, (key.into(), RadixNode::default()));
                    return &mut node.edges[i].1.value;
                }
                Ok(i) => {
                    let (label, child) = &mut node.edges[i];
                    let common = label.iter().zip(key).take_while(|(a, b)| a == b).count();
                    if common < label.len() {
                        let tail: Box<[u8]> = label[common..].into();
                        let head: Box<[u8]> = label[..common].into();
                        let old = std::mem::take(child);
                        *child = RadixNode {
                            value: None,
                            edges: vec![(tail, old)],
                        };
                        *label = head;
                    }
                    key = &key[common..];
                    node = &mut node.edges[i].1;
                }
            }
        }
    }

    /// The longest stored key that is a prefix of `key`: (its length, its value).
    fn longest_prefix(&self, key: &[u8]) -> Option<(usize, usize)> {
        let mut node = &self.root;
        let mut consumed = 0;
        let mut best = node.value.map(|v| (0, v));
        while let Some(&first) = key.get(consumed) {
            let Ok(i) = node
                .edges
                .binary_search_by(|(label, _)| label[0].cmp(&first))
            else {
                break;
            };
            let (label, child) = &node.edges[i];
            if !key[consumed..].starts_with(label) {
                break;
            }
            consumed += label.len();
            node = child;
            if let Some(v) = node.value {
                best = Some((consumed, v));
            }
        }
        best
    }
}

impl Drop for Radix {
    fn drop(&mut self) {
        let mut stack = std::mem::take(&mut self.root.edges);
        while let Some((_, mut node)) = stack.pop() {
            stack.append(&mut node.edges);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use Operation::*;

    fn acl(policies: &[(&str, &str)]) -> Acl {
        let parsed: Vec<Arc<Policy>> = policies
            .iter()
            .map(|(name, text)| Arc::new(Policy::parse(name, text).unwrap()))
            .collect();
        Acl::new(&parsed)
    }

    /// Each case: policies, then (operation, path, allowed) checks.
    type Case<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a [(Operation, &'a str, bool)],
    );

    fn run(cases: &[Case<'_>]) {
        for (what, policies, checks) in cases {
            let acl = acl(policies);
            for (op, path, want) in *checks {
                let got = acl.allowed(*op, path).allowed;
                assert_eq!(
                    got,
                    *want,
                    "{what}: {op:?} {path:?} → {:?}",
                    acl.capabilities(path)
                );
            }
        }
    }

    #[test]
    fn exact_beats_glob() {
        run(&[
            (
                "exact narrows",
                &[(
                    "p",
                    r#"path "secret/*" { capabilities = ["read"] }
                           path "secret/foo" { capabilities = ["update"] }"#,
                )],
                &[
                    (Read, "secret/foo", false),
                    (Update, "secret/foo", true),
                    (Read, "secret/bar", true),
                    (Read, "secret/foo/x", true),
                    (Update, "secret/bar", false),
                ],
            ),
            (
                "no glob",
                &[("p", r#"path "secret/foo" { capabilities = ["read"] }"#)],
                &[
                    (Read, "secret/foo", true),
                    (Read, "secret/foo/", false),
                    (Read, "secret/fo", false),
                    (Read, "secret/foox", false),
                    (Read, "/secret/foo", true),
                ],
            ),
            (
                "prefix glob is a string prefix",
                &[("p", r#"path "secret/zip-*" { capabilities = ["read"] }"#)],
                &[
                    (Read, "secret/zip-zap/x", true),
                    (Read, "secret/zip-", true),
                    (Read, "secret/zip", false),
                ],
            ),
            (
                "longest prefix wins",
                &[(
                    "p",
                    r#"path "secret/*" { capabilities = ["read"] }
                           path "secret/a/*" { capabilities = ["update"] }
                           path "secret/a/b*" { capabilities = ["delete"] }"#,
                )],
                &[
                    (Read, "secret/x", true),
                    (Read, "secret/a/x", false),
                    (Update, "secret/a/x", true),
                    (Delete, "secret/a/bc", true),
                    (Update, "secret/a/bc", false),
                ],
            ),
            (
                "star matches everything",
                &[("p", r#"path "*" { capabilities = ["read"] }"#)],
                &[
                    (Read, "anything/at/all", true),
                    (Read, "", true),
                    (Update, "x", false),
                ],
            ),
        ]);
    }

    #[test]
    fn plus_matches_one_segment() {
        run(&[
            (
                "plus with glob",
                &[("p", r#"path "secret/+/team/*" { capabilities = ["read"] }"#)],
                &[
                    (Read, "secret/a/team/x", true),
                    (Read, "secret/a/team/x/y", true),
                    (Read, "secret/a/team/", true),
                    (Read, "secret/a/team", false),
                    (Read, "secret/a/b/team/x", false),
                    (Read, "secret/team/x", false),
                    (Read, "other/a/team/x", false),
                ],
            ),
            (
                "plus exact length",
                &[(
                    "p",
                    r#"path "secret/+/config" { capabilities = ["read"] }
                           path "+/meta" { capabilities = ["list"] }"#,
                )],
                &[
                    (Read, "secret/x/config", true),
                    (Read, "secret/x/config/y", false),
                    (Read, "secret/x/y/config", false),
                    (Read, "secret/config", false),
                    (List, "kv/meta", true),
                    (List, "kv/meta/", true),
                    (List, "a/b/meta", false),
                ],
            ),
            (
                "plus then prefix in the last segment",
                &[("p", r#"path "secret/+/ab*" { capabilities = ["read"] }"#)],
                &[
                    (Read, "secret/x/abc", true),
                    (Read, "secret/x/ab/c", true),
                    (Read, "secret/x/a", false),
                ],
            ),
            (
                "partial plus is literal",
                &[("p", r#"path "secret/a+b" { capabilities = ["read"] }"#)],
                &[(Read, "secret/a+b", true), (Read, "secret/axb", false)],
            ),
        ]);
    }

    #[test]
    fn same_path_across_policies_unions_and_deny_wins() {
        let union = [
            ("a", r#"path "secret/foo" { capabilities = ["read"] }"#),
            ("b", r#"path "secret/foo" { capabilities = ["update"] }"#),
            ("c", r#"path "secret/+/x" { capabilities = ["list"] }"#),
            ("d", r#"path "secret/+/x" { capabilities = ["read"] }"#),
            ("e", r#"path "kv/*" { capabilities = ["create"] }"#),
            ("f", r#"path "kv/*" { capabilities = ["delete"] }"#),
        ];
        let deny_last = [
            (
                "a",
                r#"path "secret/foo" { capabilities = ["read", "update", "sudo"] }"#,
            ),
            ("b", r#"path "secret/foo" { capabilities = ["deny"] }"#),
            ("c", r#"path "kv/*" { capabilities = ["read"] }"#),
            ("d", r#"path "kv/*" { capabilities = ["deny"] }"#),
            ("e", r#"path "x/+" { capabilities = ["read"] }"#),
            ("f", r#"path "x/+" { policy = "deny" }"#),
        ];
        let deny_first: Vec<_> = deny_last.iter().rev().cloned().collect();
        run(&[
            (
                "union",
                &union,
                &[
                    (Read, "secret/foo", true),
                    (Update, "secret/foo", true),
                    (Delete, "secret/foo", false),
                    (List, "secret/a/x", true),
                    (Read, "secret/a/x", true),
                    (Create, "kv/a", true),
                    (Delete, "kv/a", true),
                    (Read, "kv/a", false),
                ],
            ),
            (
                "deny last",
                &deny_last,
                &[
                    (Read, "secret/foo", false),
                    (Update, "secret/foo", false),
                    (Read, "kv/a", false),
                    (Read, "x/y", false),
                ],
            ),
            (
                "deny first",
                &deny_first,
                &[
                    (Read, "secret/foo", false),
                    (Read, "kv/a", false),
                    (Read, "x/y", false),
                ],
            ),
        ]);
        let acl = acl(&union);
        assert_eq!(acl.capabilities("secret/foo"), ["read", "update"]);
        let denied = super::tests::acl(&deny_last);
        assert_eq!(denied.capabilities("secret/foo"), ["deny"]);
        assert!(!denied.allowed(Read, "secret/foo").sudo);
        // Union only across identical patterns: a broader glob does not add to an exact rule.
        let acl = super::tests::acl(&[
            (
                "a",
                r#"path "secret/*" { capabilities = ["list", "read"] }"#,
            ),
            ("b", r#"path "secret/foo" { capabilities = ["update"] }"#),
        ]);
        assert_eq!(acl.capabilities("secret/foo"), ["update"]);
    }

    #[test]
    fn more_specific_rule_overrides_broader_glob() {
        run(&[
            (
                "broad deny, specific allow",
                &[
                    ("p", r#"path "secret/*" { capabilities = ["deny"] }"#),
                    (
                        "q",
                        r#"path "secret/public/*" { capabilities = ["read", "list"] }
                           path "secret/one" { capabilities = ["read"] }
                           path "secret/+/shared" { capabilities = ["read"] }"#,
                    ),
                ],
                &[
                    (Read, "secret/public/x", true),
                    (List, "secret/public/", true),
                    (Read, "secret/one", true),
                    (Read, "secret/private", false),
                    (Read, "secret/two", false),
                    (Read, "secret/a/shared", true),
                ],
            ),
            (
                "broad allow, specific deny",
                &[(
                    "p",
                    r#"path "secret/data/*" { capabilities = ["create", "read", "update", "patch", "delete", "list"] }
                           path "secret/data/locked" { capabilities = ["deny"] }
                           path "secret/data/vault/*" { capabilities = ["deny"] }
                           path "secret/data/+/hidden" { capabilities = ["deny"] }"#,
                )],
                &[
                    (Read, "secret/data/x", true),
                    (Patch, "secret/data/x", true),
                    (Read, "secret/data/locked", false),
                    (Update, "secret/data/locked", false),
                    (Read, "secret/data/locked/child", true),
                    (Read, "secret/data/vault/k", false),
                    (Delete, "secret/data/vault/k", false),
                    (Read, "secret/data/a/hidden", false),
                    (Read, "secret/data/a/shown", true),
                ],
            ),
        ]);
    }

    /// Vault's priority order between matching non-exact patterns, each pair tried in both
    /// insertion orders: (winner, loser, path).
    #[test]
    fn wildcard_priority() {
        let table = [
            ("secret/+/bar", "secret/*", "secret/foo/bar"), // a prefix loses to a non-prefix at the same position
            ("foo/a*", "foo/+", "foo/ab"),                  // later first wildcard wins
            ("foo/bar/+/baz", "foo/+/bar/baz", "foo/bar/bar/baz"),
            ("foo/+/bar", "foo/+/ba*", "foo/x/bar"),
            ("foo/+", "foo/*", "foo/x"),
            ("foo/+/bar/baz", "foo/+/+/baz", "foo/x/bar/baz"), // fewer wildcards wins
            ("foo/+/bar/ba*", "foo/+/bar/b*", "foo/x/bar/baz"), // longer wins
            ("foo/+/+", "foo/+/b*", "foo/x/bar"), // first at the same place, prefix loses
            // Vault's rules taken literally: a glob at the same position as the first `+`
            // beats the `+` pattern, however specific the rest of it is.
            ("kv/*", "kv/+/private/*", "kv/a/private/x"),
            ("foo/x/*", "foo/+/*", "foo/x/y"),
        ];
        for (winner, loser, path) in table {
            let w = format!(r#"path "{winner}" {{ capabilities = ["read"] }}"#);
            let l = format!(r#"path "{loser}" {{ capabilities = ["deny"] }}"#);
            for policies in [
                [("w", w.as_str()), ("l", l.as_str())],
                [("l", l.as_str()), ("w", w.as_str())],
            ] {
                let acl = acl(&policies);
                assert!(
                    acl.allowed(Read, path).allowed,
                    "{winner} should beat {loser} on {path}"
                );
            }
            // And the loser alone matches, so the test means something.
            assert!(
                acl(&[("l", &l.replace("deny", "read"))])
                    .allowed(Read, path)
                    .allowed,
                "{loser} ~ {path}"
            );
        }
    }

    /// GHSA-xp3c-3jw3-4vcr: LIST must not escape a more specific deny.
    #[test]
    fn list_does_not_bypass_deny() {
        run(&[
            (
                "glob deny below a glob list",
                &[(
                    "p",
                    r#"path "secret/*" { capabilities = ["read", "list"] }
                           path "secret/private/*" { capabilities = ["deny"] }"#,
                )],
                &[
                    (List, "secret/", true),
                    (List, "secret/other/", true),
                    (List, "secret/private/", false),
                    (List, "secret/private", false),
                    (List, "/secret/private", false),
                    (List, "secret/private/sub/", false),
                    (Read, "secret/private", true),
                ],
            ),
            (
                "exact deny with trailing slash",
                &[(
                    "p",
                    r#"path "secret/metadata/*" { capabilities = ["list"] }
                           path "secret/metadata/team/" { capabilities = ["deny"] }"#,
                )],
                &[
                    (List, "secret/metadata/team/", false),
                    (List, "secret/metadata/team", false),
                    (List, "secret/metadata/other/", true),
                ],
            ),
            (
                "plus deny",
                &[(
                    "p",
                    r#"path "kv/+/*" { capabilities = ["list"] }
                           path "kv/+/private/*" { capabilities = ["deny"] }"#,
                )],
                &[
                    (List, "kv/a/private/", false),
                    (List, "kv/a/private", false),
                    (List, "kv/a/public/", true),
                ],
            ),
            (
                "exact list rule covers the folder",
                &[(
                    "p",
                    r#"path "secret/metadata/foo" { capabilities = ["list"] }"#,
                )],
                &[
                    (List, "secret/metadata/foo/", true),
                    (List, "secret/metadata/foo", true),
                    (Read, "secret/metadata/foo/", false),
                    (List, "secret/metadata/foo/bar/", false),
                ],
            ),
            (
                "trimmed glob fallback",
                &[("p", r#"path "secret/+" { capabilities = ["list"] }"#)],
                &[
                    (List, "secret/foo/", true),
                    (List, "secret/foo/bar/", false),
                ],
            ),
        ]);
    }

    #[test]
    fn sudo_is_reported() {
        let acl = acl(&[(
            "p",
            r#"path "sys/mounts" { capabilities = ["sudo", "read"] }
               path "sys/audit/*" { capabilities = ["sudo"] }
               path "sys/policy" { capabilities = ["read"] }"#,
        )]);
        let table = [
            (
                Read,
                "sys/mounts",
                Decision {
                    allowed: true,
                    sudo: true,
                },
            ),
            (
                Update,
                "sys/mounts",
                Decision {
                    allowed: false,
                    sudo: true,
                },
            ),
            (
                Update,
                "sys/audit/file",
                Decision {
                    allowed: false,
                    sudo: true,
                },
            ),
            (
                Read,
                "sys/policy",
                Decision {
                    allowed: true,
                    sudo: false,
                },
            ),
            (
                Read,
                "sys/other",
                Decision {
                    allowed: false,
                    sudo: false,
                },
            ),
        ];
        for (op, path, want) in table {
            assert_eq!(acl.allowed(op, path), want, "{op:?} {path}");
        }
        assert_eq!(acl.capabilities("sys/mounts"), ["read", "sudo"]);
        assert_eq!(
            Acl::root().allowed(Delete, "sys/anything"),
            Decision {
                allowed: true,
                sudo: true
            }
        );
    }

    #[test]
    fn capabilities_report() {
        let acl = acl(&[(
            "p",
            r#"path "a" { capabilities = ["update", "sudo", "read", "patch", "list", "delete", "create"] }
               path "b" { capabilities = [] }
               path "c" { capabilities = ["deny"] }
               path "d/*" { capabilities = ["list"] }"#,
        )]);
        let table: [(&str, &[&str]); 7] = [
            (
                "a",
                &[
                    "create", "delete", "list", "patch", "read", "sudo", "update",
                ],
            ),
            (
                "/a",
                &[
                    "create", "delete", "list", "patch", "read", "sudo", "update",
                ],
            ),
            (
                "a/",
                &[
                    "create", "delete", "list", "patch", "read", "sudo", "update",
                ],
            ),
            ("b", &["deny"]),
            ("c", &["deny"]),
            ("d/x", &["list"]),
            ("nothing", &["deny"]),
        ];
        for (path, want) in table {
            assert_eq!(acl.capabilities(path), want, "{path}");
        }
        assert_eq!(Acl::root().capabilities("anything"), ["root"]);
        assert_eq!(Acl::new(&[]).capabilities("anything"), ["deny"]);
    }

    /// HCSEC-2025-13: the name `root`, in any case, grants nothing by itself.
    #[test]
    fn policy_named_root_is_not_root() {
        for name in ["root", "ROOT", " Root "] {
            let acl = acl(&[
                (name, ""),
                (name, r#"path "secret/one" { capabilities = ["read"] }"#),
            ]);
            assert!(!acl.is_root(), "{name}");
            assert_eq!(acl.capabilities("sys/mounts"), ["deny"], "{name}");
            assert_eq!(
                acl.allowed(Read, "sys/mounts"),
                Decision::default(),
                "{name}"
            );
            assert!(!acl.allowed(Read, "secret/two").allowed, "{name}");
            assert!(acl.allowed(Read, "secret/one").allowed, "{name}");
            assert!(!acl.has_access_under("sys/"), "{name}");
        }
        assert!(Acl::root().is_root());
    }

    #[test]
    fn default_policy() {
        let acl = Acl::new(&[Arc::new(Policy::default_policy())]);
        let table = [
            (Read, "auth/token/lookup-self", true),
            (Update, "auth/token/renew-self", true),
            (Update, "auth/token/revoke-self", true),
            (Update, "sys/capabilities-self", true),
            (Create, "cubbyhole/foo", true),
            (Read, "cubbyhole/foo", true),
            (List, "cubbyhole/", true),
            (Patch, "cubbyhole/foo", false),
            (Update, "sys/wrapping/wrap", true),
            (Update, "sys/wrapping/unwrap", true),
            (Update, "sys/leases/lookup", true),
            (Read, "sys/internal/ui/resultant-acl", true),
            (Update, "sys/tools/hash/sha2-256", true),
            (Read, "identity/oidc/provider/p/authorize", true),
            (Read, "secret/foo", false),
            (Update, "auth/token/lookup-self", false),
            (Read, "auth/token/lookup", false),
            (Read, "sys/mounts", false),
            // Templated rules never match without an identity store.
            (Read, "identity/entity/id/{{identity.entity.id}}", false),
        ];
        for (op, path, want) in table {
            assert_eq!(acl.allowed(op, path).allowed, want, "{op:?} {path}");
            assert!(!acl.allowed(op, path).sudo);
        }
        let wrapping = Acl::new(&[Arc::new(Policy::response_wrapping_policy())]);
        assert!(wrapping.allowed(Read, "cubbyhole/response").allowed);
        assert!(!wrapping.allowed(Read, "cubbyhole/other").allowed);
    }

    #[test]
    fn json_policy_evaluates() {
        run(&[(
            "json",
            &[(
                "p",
                r#"{"path": {"secret/*": {"capabilities": ["read"]}, "secret/x": {"policy": "deny"}}}"#,
            )],
            &[
                (Read, "secret/a", true),
                (Update, "secret/a", false),
                (Read, "secret/x", false),
            ],
        )]);
    }

    #[test]
    fn parameter_constraints() {
        let acl = acl(&[(
            "p",
            r#"path "secret/foo" {
                capabilities = ["create", "update", "read", "list"]
                allowed_parameters = {
                    "ttl" = ["1h", "2h"]
                    "name" = []
                    "env" = ["prod-*", "*-test", "*mid*"]
                    "admin" = []
                    "count" = [1, 2]
                }
                denied_parameters = { "admin" = [true] }
                required_parameters = ["name"]
            }
            path "secret/open" {
                capabilities = ["update"]
                allowed_parameters = { "*" = [] }
                denied_parameters = { "secret" = [] }
            }
            path "secret/closed" {
                capabilities = ["update"]
                denied_parameters = { "*" = [] }
            }"#,
        )]);
        let table = [
            (Update, "secret/foo", json!({"name": "n"}), true),
            (Update, "secret/foo", json!({}), false), // name is required
            (
                Update,
                "secret/foo",
                json!({"name": "n", "ttl": "1h"}),
                true,
            ),
            (
                Update,
                "secret/foo",
                json!({"name": "n", "TTL": "2h"}),
                true,
            ),
            (
                Update,
                "secret/foo",
                json!({"name": "n", "ttl": "3h"}),
                false,
            ),
            (
                Update,
                "secret/foo",
                json!({"name": "n", "other": 1}),
                false,
            ),
            (
                Update,
                "secret/foo",
                json!({"name": "n", "env": "prod-eu"}),
                true,
            ),
            (
                Update,
                "secret/foo",
                json!({"name": "n", "env": "unit-test"}),
                true,
            ),
            (
                Update,
                "secret/foo",
                json!({"name": "n", "env": "a-mid-b"}),
                true,
            ),
            (
                Update,
                "secret/foo",
                json!({"name": "n", "env": "dev"}),
                false,
            ),
            (
                Update,
                "secret/foo",
                json!({"name": "n", "admin": false}),
                true,
            ),
            (
                Update,
                "secret/foo",
                json!({"name": "n", "admin": true}),
                false,
            ),
            (
                Update,
                "secret/foo",
                json!({"name": "n", "count": 2.0}),
                true,
            ),
            (
                Update,
                "secret/foo",
                json!({"name": "n", "count": 3}),
                false,
            ),
            (List, "secret/foo", json!({"other": 1}), true), // not checked for LIST
            (Update, "secret/open", json!({"anything": 1}), true),
            (Update, "secret/open", json!({"secret": 1}), false),
            (Update, "secret/closed", json!({}), true),
            (Update, "secret/closed", json!({"a": 1}), false),
            (Update, "secret/none", json!({}), false),
        ];
        for (op, path, data, want) in table {
            let Value::Object(data) = data else {
                unreachable!()
            };
            assert_eq!(
                acl.authorize(op, path, &data, None).allowed,
                want,
                "{op:?} {path} {data:?}"
            );
            assert_eq!(
                acl.check_parameters(op, path, &data),
                want,
                "{op:?} {path} {data:?}"
            );
        }
        assert!(
            Acl::root()
                .authorize(Update, "x", &Map::new(), None)
                .allowed
        );
    }

    #[test]
    fn parameters_merge_across_policies() {
        let acl = acl(&[
            (
                "a",
                r#"path "p" { capabilities = ["update"] allowed_parameters = { "x" = ["1"] } }"#,
            ),
            (
                "b",
                r#"path "p" { capabilities = ["update"] allowed_parameters = { "x" = ["2"], "y" = [] } }"#,
            ),
            (
                "c",
                r#"path "q" { capabilities = ["update"] allowed_parameters = { "x" = ["1"] } }"#,
            ),
            (
                "d",
                r#"path "q" { capabilities = ["update"] allowed_parameters = { "x" = [] } }"#,
            ),
        ]);
        let table = [
            ("p", json!({"x": "1"}), true),
            ("p", json!({"x": "2", "y": "z"}), true),
            ("p", json!({"x": "3"}), false),
            ("p", json!({"z": "1"}), false),
            ("q", json!({"x": "anything"}), true),
        ];
        for (path, data, want) in table {
            let Value::Object(data) = data else {
                unreachable!()
            };
            assert_eq!(
                acl.authorize(Update, path, &data, None).allowed,
                want,
                "{path} {data:?}"
            );
        }
    }

    #[test]
    fn wrapping_ttl_bounds() {
        let acl = acl(&[
            (
                "a",
                r#"path "w" { capabilities = ["read"] min_wrapping_ttl = "1m" max_wrapping_ttl = "1h" }"#,
            ),
            (
                "b",
                r#"path "w" { capabilities = ["read"] max_wrapping_ttl = "30m" }"#,
            ),
        ]);
        let empty = Map::new();
        let table = [
            (None, false),
            (Some(Duration::from_secs(30)), false),
            (Some(Duration::from_secs(600)), true),
            (Some(Duration::from_secs(1800)), true),
            (Some(Duration::from_secs(2400)), false), // the lesser max (30m) wins
        ];
        for (ttl, want) in table {
            assert_eq!(
                acl.authorize(Read, "w", &empty, ttl).allowed,
                want,
                "{ttl:?}"
            );
        }
        assert!(acl.allowed(Read, "w").allowed);
    }

    #[test]
    fn access_under_mounts() {
        let table: [(&str, &str, bool); 9] = [
            (
                r#"path "secret/data/foo" { capabilities = ["read"] }"#,
                "secret/",
                true,
            ),
            (
                r#"path "secret/data/*" { capabilities = ["list"] }"#,
                "secret/",
                true,
            ),
            (
                r#"path "secret/*" { capabilities = ["read"] }"#,
                "secret/",
                true,
            ),
            (
                r#"path "+/data/*" { capabilities = ["read"] }"#,
                "secret/",
                true,
            ),
            (
                r#"path "kv/+/x" { capabilities = ["read"] }"#,
                "kv/a/",
                true,
            ),
            (
                r#"path "secret/data/foo" { capabilities = ["deny"] }"#,
                "secret/",
                false,
            ),
            (
                r#"path "secret/data/foo" { capabilities = [] }"#,
                "secret/",
                false,
            ),
            (
                r#"path "other/*" { capabilities = ["read"] }"#,
                "secret/",
                false,
            ),
            (
                r#"path "kv/b/+" { capabilities = ["read"] }"#,
                "kv/a/",
                false,
            ),
        ];
        for (policy, mount, want) in table {
            assert_eq!(
                acl(&[("p", policy)]).has_access_under(mount),
                want,
                "{policy} {mount}"
            );
        }
        assert!(Acl::root().has_access_under("anything/"));
    }

    /// Pathological rule sets stay cheap: 10k rules per policy, long paths, deep prefix chains.
    #[test]
    fn pathological_rule_sets() {
        let mut prefix_chain = String::new();
        for i in 1..=1300 {
            prefix_chain.push_str(&format!(
                "path \"{}*\" {{ capabilities = [\"read\"] }}\n",
                "a".repeat(i)
            ));
        }
        let mut plus_rules = String::new();
        for i in 0..10_000 {
            plus_rules.push_str(&format!(
                "path \"s/+/{i}/+/+/x*\" {{ capabilities = [\"list\"] }}\n"
            ));
        }
        let long = format!("{}/", "seg".repeat(15));
        let mut exact_rules = String::new();
        for i in 0..10_000 {
            exact_rules.push_str(&format!(
                "path \"e/{long}{i}\" {{ capabilities = [\"update\"] }}\n"
            ));
        }
        let acl = acl(&[
            ("chain", &prefix_chain),
            ("plus", &plus_rules),
            ("exact", &exact_rules),
        ]);
        let deep_path = "a".repeat(100_000);
        let long_path = format!("s/{}", "x/".repeat(50_000));
        for _ in 0..20 {
            assert!(acl.allowed(Read, &deep_path).allowed);
            assert!(acl.allowed(List, "s/q/9999/r/t/xyz").allowed);
            assert!(!acl.allowed(List, &long_path).allowed);
            assert!(acl.allowed(Update, &format!("e/{long}9999")).allowed);
            assert_eq!(acl.capabilities("b"), ["deny"]);
        }

        // A prefix index 100k levels deep (built directly: inserting such a chain costs
        // quadratic time) answers and drops without deep recursion.
        let depth = 100_000;
        let mut node = RadixNode {
            value: Some(depth),
            edges: Vec::new(),
        };
        for d in (0..depth).rev() {
            node = RadixNode {
                value: Some(d),
                edges: vec![(Box::from(&b"k"[..]), node)],
            };
        }
        let radix = Radix { root: node };
        let key = "k".repeat(depth);
        assert_eq!(
            radix.longest_prefix(format!("{key}zz").as_bytes()),
            Some((depth, depth))
        );
        assert_eq!(radix.longest_prefix(b"kkk"), Some((3, 3)));
        assert_eq!(radix.longest_prefix(b"x"), Some((0, 0)));
        drop(radix);
    }

    #[test]
    fn radix_longest_prefix() {
        let mut radix = Radix::default();
        let keys = [
            "secret/",
            "secret/a",
            "secret/abc",
            "sys/",
            "s",
            "",
            "secret/ab/",
        ];
        for (i, key) in keys.iter().enumerate() {
            *radix.slot(key.as_bytes()) = Some(i);
        }
        let table: [(&str, Option<(usize, usize)>); 9] = [
            ("secret/abcd", Some((10, 2))),
            ("secret/ab", Some((8, 1))),
            ("secret/ab/x", Some((10, 6))),
            ("secret/", Some((7, 0))),
            ("secret", Some((1, 4))),
            ("sys/x", Some((4, 3))),
            ("sy", Some((1, 4))),
            ("x", Some((0, 5))),
            ("", Some((0, 5))),
        ];
        for (path, want) in table {
            assert_eq!(radix.longest_prefix(path.as_bytes()), want, "{path}");
        }
        // Re-inserting finds the same slot.
        assert_eq!(*radix.slot(b"secret/a"), Some(1));
    }
}
