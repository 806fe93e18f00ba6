//! Token roles: `auth/token/roles/<name>`, and what `auth/token/create/<name>` takes from
//! them (Vault's `tsRoleEntry`).
//!
//! A role lets a token create tokens it could not create on its own terms: with
//! `allowed_policies` (or `allowed_policies_glob`) the new token's policies need only be
//! allowed by the role, not held by the parent; `disallowed_policies` (and the glob form)
//! refuse policies whatever else allows them. A role also fixes the token's type,
//! orphan-ness, renewability, period, explicit max TTL, use limit and a path suffix (so
//! `sys/leases/revoke-prefix/auth/token/create/<role>/` revokes what it issued).
//!
//! Roles are configuration, not tokens: they are replicated, stored at
//! [`crate::locality::TOKEN_ROLES_PREFIX`]`<name>`, read from storage on every use (no
//! cache, so nothing to invalidate when replication changes one underneath).
//!
//! Role names are Vault's (`\w` characters, `-` and `.`, starting and ending with a `\w`
//! character) and case-sensitive as in Vault: `ADMIN` is another role than `admin`. Any
//! other spelling is refused before the ACL runs ([`check_name`], called by the token
//! store's `canonical_path`), so a name the ACL checks is exactly the name stored.
//! Identity is not implemented: `allowed_entity_aliases` is refused, as are
//! `token_bound_cidrs`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::fields::{self, Data};
use crate::logical::{Operation, StorageView};

const FORMAT_VERSION: u32 = 1;
/// The longest role name accepted: a storage key segment's limit.
pub const MAX_NAME_LEN: usize = 240;

/// One token role, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRole {
    pub version: u32,
    pub name: String,
    pub allowed_policies: Vec<String>,
    pub disallowed_policies: Vec<String>,
    pub allowed_policies_glob: Vec<String>,
    pub disallowed_policies_glob: Vec<String>,
    pub orphan: bool,
    pub renewable: bool,
    pub path_suffix: String,
    /// The legacy `period` as last given (reads echo it); `token_period` is what counts.
    pub period: u64,
    pub token_period: u64,
    /// The legacy `explicit_max_ttl` as last given; `token_explicit_max_ttl` counts.
    pub explicit_max_ttl: u64,
    pub token_explicit_max_ttl: u64,
    /// `default-service`, `default-batch`, `service` or `batch`.
    pub token_type: String,
    pub token_no_default_policy: bool,
    pub token_num_uses: i64,
}

/// Whether `name` is a role name as Vault spells them (`\w([\w.-]*\w)?`, ASCII).
pub fn check_name(name: &str) -> Result<()> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = name.as_bytes();
    let ok = match bytes {
        [] => false,
        [only] => word(*only),
        [first, middle @ .., last] => {
            word(*first) && word(*last) && middle.iter().all(|&b| word(b) || b == b'-' || b == b'.')
        }
    };
    if !ok {
        return Err(Error::invalid(
            "invalid role name: letters, digits, '_', '-' and '.', starting and ending with a letter, digit or '_'",
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::invalid(format!(
            "role name is too long: at most {MAX_NAME_LEN} bytes"
        )));
    }
    Ok(())
}

/// Vault's `SanitizePolicies`: trimmed, lower-cased, no empties, `default` added when
/// asked for; `root` alone stands for itself. Sorted and unique.
pub fn sanitize_policies(policies: &[String], add_default: bool) -> Vec<String> {
    let mut out: Vec<String> = policies
        .iter()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    if out.iter().any(|p| p == "root") {
        return vec!["root".into()];
    }
    if add_default && !out.iter().any(|p| p == "default") {
        out.push("default".into());
    }
    out.sort();
    out.dedup();
    out
}

/// Vault's `RemoveDuplicates(list, lowercase=true)`: trimmed, lower-cased, sorted, unique.
fn dedup_lower(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = list
        .iter()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Glob matching as Vault's policy globs (`*` matches any run of characters, anywhere
/// and as often as it appears; nothing else is special).
pub fn glob_match(pattern: &str, subject: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == subject;
    };
    let Some(mut rest) = subject.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

fn glob_any(patterns: &[String], subject: &str) -> bool {
    patterns.iter().any(|p| glob_match(p, subject))
}

impl TokenRole {
    pub fn has_policy_rules(&self) -> bool {
        !(self.allowed_policies.is_empty()
            && self.disallowed_policies.is_empty()
            && self.allowed_policies_glob.is_empty()
            && self.disallowed_policies_glob.is_empty())
    }

    /// Applies a create or update request. On create, absent fields take Vault's
    /// defaults; on update they keep their values. Returns Vault's warnings. Nothing is
    /// changed when an error is returned.
    pub fn update_from(
        &mut self,
        data: &Data,
        creating: bool,
        system_max: u64,
    ) -> Result<Vec<String>> {
        let mut next = self.clone();
        let mut warnings = Vec::new();
        next.version = FORMAT_VERSION;
        if let Some(v) = fields::boolean(data, "orphan")? {
            next.orphan = v;
        } else if creating {
            next.orphan = false;
        }
        if let Some(v) = fields::boolean(data, "renewable")? {
            next.renewable = v;
        } else if creating {
            next.renewable = true;
        }
        if let Some(suffix) = fields::string(data, "path_suffix") {
            check_path_suffix(&suffix)?;
            next.path_suffix = suffix;
        }
        if let Some(list) = fields::string_list(data, "allowed_policies")? {
            next.allowed_policies = sanitize_policies(&list, false);
        }
        if let Some(list) = fields::string_list(data, "disallowed_policies")? {
            next.disallowed_policies = dedup_lower(&list);
        }
        if let Some(list) = fields::string_list(data, "allowed_policies_glob")? {
            next.allowed_policies_glob = sanitize_policies(&list, false);
        }
        if let Some(list) = fields::string_list(data, "disallowed_policies_glob")? {
            next.disallowed_policies_glob = dedup_lower(&list);
        }
        match data.get("token_type") {
            None => {}
            Some(Value::Null) => return Err(Error::invalid("Invalid 'token_type' value: null")),
            Some(_) => {
                let kind = fields::string(data, "token_type").unwrap_or_default();
                match kind.as_str() {
                    "service" | "batch" | "default-service" | "default-batch" => {
                        next.token_type = kind
                    }
                    other => {
                        return Err(Error::invalid(format!(
                            "invalid 'token_type' value {other:?}"
                        )))
                    }
                }
            }
        }
        if next.token_type.is_empty() {
            next.token_type = "default-service".into();
        }
        if let Some(v) = fields::boolean(data, "token_no_default_policy")? {
            next.token_no_default_policy = v;
        }
        if let Some(v) = fields::integer(data, "token_num_uses")? {
            if v < 0 {
                return Err(Error::invalid("'token_num_uses' cannot be negative"));
            }
            next.token_num_uses = v;
        }
        // `token_*` names win over the legacy ones; the legacy value is echoed by reads
        // only while it is the one that was set.
        match (
            fields::duration(data, "token_period")?,
            fields::duration(data, "period")?,
        ) {
            (Some(p), legacy) => {
                if legacy.is_some() {
                    warnings.push("Both 'token_period' and deprecated 'period' value supplied, ignoring the deprecated value".into());
                }
                next.token_period = p.as_secs();
                next.period = 0;
            }
            (None, Some(p)) => {
                next.period = p.as_secs();
                next.token_period = p.as_secs();
            }
            (None, None) => {}
        }
        match (
            fields::duration(data, "token_explicit_max_ttl")?,
            fields::duration(data, "explicit_max_ttl")?,
        ) {
            (Some(m), legacy) => {
                if legacy.is_some() {
                    warnings.push("Both 'token_explicit_max_ttl' and deprecated 'explicit_max_ttl' value supplied, ignoring the deprecated value".into());
                }
                next.token_explicit_max_ttl = m.as_secs();
                next.explicit_max_ttl = 0;
            }
            (None, Some(m)) => {
                next.explicit_max_ttl = m.as_secs();
                next.token_explicit_max_ttl = m.as_secs();
            }
            (None, None) => {}
        }
        if next.token_explicit_max_ttl > system_max {
            warnings.push(format!(
                "Given explicit max TTL of {} is greater than system/mount allowed value of {system_max} seconds; tokens created against this role are capped at {system_max} seconds",
                next.token_explicit_max_ttl
            ));
        }
        for name in ["token_bound_cidrs", "bound_cidrs"] {
            if fields::string_list(data, name)?.is_some_and(|l| !l.is_empty()) {
                return Err(Error::invalid(format!(
                    "{name} is not supported by this server: tokens cannot be bound to addresses"
                )));
            }
        }
        if fields::string_list(data, "allowed_entity_aliases")?.is_some_and(|l| !l.is_empty()) {
            return Err(Error::invalid(
                "allowed_entity_aliases is not supported by this server: it has no identity store, so tokens cannot be tied to entity aliases",
            ));
        }
        if next.token_type == "batch" {
            let refuse = |what: &str| {
                Err(Error::invalid(format!(
                    "'token_type' cannot be 'batch' when role is set to generate {what}"
                )))
            };
            if !next.orphan {
                return refuse("non-orphan tokens");
            }
            if next.token_period != 0 {
                return refuse("periodic tokens");
            }
            if next.renewable {
                return refuse("renewable tokens");
            }
            if next.token_explicit_max_ttl != 0 {
                return refuse("tokens with an explicit max TTL");
            }
        }
        *self = next;
        Ok(warnings)
    }

    /// A read's `data`, with Vault's keys.
    pub fn to_data(&self) -> Map<String, Value> {
        let mut d = Map::new();
        d.insert("name".into(), self.name.clone().into());
        d.insert(
            "allowed_policies".into(),
            self.allowed_policies.clone().into(),
        );
        d.insert(
            "disallowed_policies".into(),
            self.disallowed_policies.clone().into(),
        );
        d.insert(
            "allowed_policies_glob".into(),
            self.allowed_policies_glob.clone().into(),
        );
        d.insert(
            "disallowed_policies_glob".into(),
            self.disallowed_policies_glob.clone().into(),
        );
        d.insert("allowed_entity_aliases".into(), Value::Null);
        d.insert("orphan".into(), self.orphan.into());
        d.insert("renewable".into(), self.renewable.into());
        d.insert("path_suffix".into(), self.path_suffix.clone().into());
        d.insert("period".into(), self.period.into());
        d.insert("token_period".into(), self.token_period.into());
        d.insert("explicit_max_ttl".into(), self.explicit_max_ttl.into());
        d.insert(
            "token_explicit_max_ttl".into(),
            self.token_explicit_max_ttl.into(),
        );
        d.insert("token_type".into(), self.token_type.clone().into());
        d.insert(
            "token_no_default_policy".into(),
            self.token_no_default_policy.into(),
        );
        if self.token_num_uses > 0 {
            d.insert("token_num_uses".into(), self.token_num_uses.into());
        }
        d
    }

    /// The policies of a token created against this role with policy rules (Vault's
    /// rules): the requested ones (or the role's allowed ones, or the parent's), each
    /// allowed by the role and none disallowed; `default` added unless the request, the
    /// role or a disallowed rule says otherwise.
    pub fn policies_for(
        &self,
        requested: &[String],
        no_default_policy: bool,
        parent: &[String],
    ) -> Result<Vec<String>> {
        let add_default = !no_default_policy
            && !self.token_no_default_policy
            && !self.disallowed_policies.iter().any(|p| p == "default")
            && !glob_any(&self.disallowed_policies_glob, "default");
        let mut policies = if requested.is_empty() {
            Vec::new()
        } else {
            sanitize_policies(requested, add_default)
        };
        if !self.allowed_policies.is_empty() || !self.allowed_policies_glob.is_empty() {
            let allowed = sanitize_policies(&self.allowed_policies, add_default);
            if policies.is_empty() {
                policies = allowed;
            } else if policies
                .iter()
                .any(|p| !allowed.contains(p) && !glob_any(&self.allowed_policies_glob, p))
            {
                return Err(Error::invalid(format!(
                    "token policies ({}) must be subset of the role's allowed policies ({}) or glob policies ({})",
                    go_quoted(&policies),
                    go_quoted(&allowed),
                    go_quoted(&self.allowed_policies_glob),
                )));
            }
        } else if policies.is_empty() {
            policies = sanitize_policies(parent, add_default);
        }
        if let Some(bad) = policies.iter().find(|p| {
            self.disallowed_policies.contains(p) || glob_any(&self.disallowed_policies_glob, p)
        }) {
            return Err(Error::invalid(format!(
                "token policy {bad:?} is disallowed by this role"
            )));
        }
        if no_default_policy {
            policies.retain(|p| p != "default");
        }
        Ok(policies)
    }
}

/// A list as Go's `%q` prints it: `["a" "b"]`.
fn go_quoted(list: &[String]) -> String {
    let items: Vec<String> = list.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", items.join(" "))
}

/// Vault's check of a role's `path_suffix` (`\w[\w-.]+\w`, without parent references),
/// here on the whole suffix: it becomes part of token paths and lease ids.
fn check_path_suffix(suffix: &str) -> Result<()> {
    if suffix.is_empty() {
        return Ok(());
    }
    if suffix.contains("..") {
        return Err(Error::invalid(
            "error registering path suffix: path cannot contain parent references",
        ));
    }
    if suffix.len() < 3 || check_name(suffix).is_err() {
        return Err(Error::invalid(
            "given role path suffix contains invalid characters; must match \\w[\\w-.]+\\w",
        ));
    }
    Ok(())
}

/// The stored roles (replicated).
pub struct RoleStore {
    view: StorageView,
}

impl RoleStore {
    pub fn new(view: StorageView) -> Self {
        Self { view }
    }

    pub async fn get(&self, name: &str) -> Result<Option<TokenRole>> {
        check_name(name)?;
        let role: Option<TokenRole> = self.view.get_json(name).await?;
        Ok(role.map(|mut r| {
            if r.token_type.is_empty() {
                r.token_type = "default-service".into();
            }
            r
        }))
    }

    async fn put(&self, role: &TokenRole) -> Result<()> {
        check_name(&role.name)?;
        self.view.put_json(&role.name, role).await
    }

    async fn delete(&self, name: &str) -> Result<()> {
        check_name(name)?;
        self.view.delete(name).await
    }

    async fn list(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .view
            .list("")
            .await?
            .into_iter()
            .filter(|n| !n.ends_with('/'))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Whether the role exists (`create` vs `update` for the ACL).
    pub async fn exists(&self, name: &str) -> Result<bool> {
        Ok(self.get(name).await?.is_some())
    }

    /// Serves `roles/` (list) and `roles/<name>` (read, create/update, delete).
    /// `system_max` is the token store's max TTL, for Vault's explicit-max warning.
    pub async fn handle(
        &self,
        op: Operation,
        name: &str,
        data: &Data,
        system_max: u64,
    ) -> Result<crate::logical::Response> {
        use crate::logical::Response;
        if name.is_empty() {
            return match op {
                Operation::List => Response::list(self.list().await?),
                _ => Err(Error::UnsupportedOperation(
                    "unsupported operation on auth/token/roles".into(),
                )),
            };
        }
        match op {
            Operation::Read => match self.get(name).await? {
                Some(role) => Ok(Response::data(role.to_data())),
                None => Err(Error::NotFound),
            },
            Operation::Create | Operation::Update => {
                let current = self.get(name).await?;
                let creating = current.is_none();
                let mut role = current.unwrap_or_else(|| TokenRole {
                    name: name.to_owned(),
                    ..TokenRole::default()
                });
                let warnings = role.update_from(data, creating, system_max)?;
                self.put(&role).await?;
                Ok(Response {
                    warnings,
                    ..Response::default()
                })
            }
            Operation::Delete => {
                self.delete(name).await?;
                Ok(Response::empty())
            }
            Operation::List | Operation::Patch => Err(Error::UnsupportedOperation(format!(
                "unsupported operation on auth/token/roles/{name}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(v: Value) -> Data {
        v.as_object().cloned().unwrap()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names() {
        for ok in ["a", "admin", "A_b-c.d", "9", "x.y", "a--b", "a..b"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "-a", "a-", ".a", "a.", "a/b", "a b", " admin", "admin ", "ádmin", "a%2F", "a\0",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"a".repeat(MAX_NAME_LEN)).is_ok());
        assert!(check_name(&"a".repeat(MAX_NAME_LEN + 1)).is_err());
    }

    #[test]
    fn globs() {
        for (p, s, want) in [
            ("*", "anything", true),
            ("dev-*", "dev-web", true),
            ("dev-*", "prod-web", false),
            ("*-ro", "db-ro", true),
            ("*-ro", "db-rw", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxcyyb", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("ab*ba", "aba", false),
            ("", "", true),
            ("", "x", false),
        ] {
            assert_eq!(glob_match(p, s), want, "{p} {s}");
        }
    }

    #[test]
    fn fields_defaults_and_batch_rules() {
        let mut role = TokenRole {
            name: "r".into(),
            ..TokenRole::default()
        };
        role.update_from(
            &data(json!({"allowed_policies": "B, a,a,root2", "period": "1h"})),
            true,
            768 * 3600,
        )
        .unwrap();
        assert_eq!(role.allowed_policies, ["a", "b", "root2"]);
        assert!(role.renewable && !role.orphan);
        assert_eq!((role.period, role.token_period), (3600, 3600));
        assert_eq!(role.token_type, "default-service");
        // The new name wins and clears the legacy echo, with Vault's warning.
        let warnings = role
            .update_from(
                &data(json!({"token_period": 60, "period": 7})),
                false,
                768 * 3600,
            )
            .unwrap();
        assert_eq!((role.period, role.token_period), (0, 60));
        assert_eq!(warnings.len(), 1);
        // Updates keep what is absent.
        role.update_from(&data(json!({"orphan": true})), false, 768 * 3600)
            .unwrap();
        assert!(role.renewable && role.orphan);
        assert_eq!(role.allowed_policies, ["a", "b", "root2"]);

        let before = role.clone();
        for (bad, message) in [
            (json!({"token_type": "batch"}), "periodic tokens"),
            (
                json!({"token_type": "batch", "token_period": 0}),
                "renewable tokens",
            ),
            (
                json!({"token_type": "batch", "token_period": 0, "renewable": false, "orphan": false}),
                "non-orphan tokens",
            ),
            (
                json!({"token_type": "batch", "token_period": 0, "renewable": false, "explicit_max_ttl": 5}),
                "explicit max TTL",
            ),
            (json!({"token_type": "default"}), "invalid 'token_type'"),
            (json!({"token_type": null}), "null"),
            (json!({"path_suffix": "a/b"}), "invalid characters"),
            (json!({"path_suffix": "v1"}), "invalid characters"),
            (json!({"path_suffix": "a..b"}), "parent references"),
            (json!({"allowed_entity_aliases": ["x"]}), "identity store"),
            (json!({"token_bound_cidrs": "10.0.0.0/8"}), "bound"),
            (json!({"token_num_uses": -1}), "negative"),
        ] {
            let err = role
                .update_from(&data(bad.clone()), false, 100)
                .unwrap_err();
            assert!(err.to_string().contains(message), "{bad}: {err}");
            assert_eq!(role, before, "{bad}");
        }
        role.update_from(
            &data(
                json!({"token_type": "batch", "token_period": 0, "renewable": false,
                         "allowed_entity_aliases": [], "path_suffix": "v-1"}),
            ),
            false,
            100,
        )
        .unwrap();
        assert_eq!(role.token_type, "batch");
        assert_eq!(role.path_suffix, "v-1");
    }

    #[test]
    fn policy_rules() {
        let role = |v: Value| {
            let mut r = TokenRole::default();
            r.update_from(&data(v), true, 1000).unwrap();
            r
        };
        let parent = strings(&["default", "p"]);
        let allow = role(json!({"allowed_policies": ["web", "db"]}));
        // Nothing asked: the allowed set (plus default); a subset: fine; more: refused.
        assert_eq!(
            allow.policies_for(&[], false, &parent).unwrap(),
            ["db", "default", "web"]
        );
        assert_eq!(
            allow
                .policies_for(&strings(&["WEB"]), false, &parent)
                .unwrap(),
            ["default", "web"]
        );
        assert!(allow
            .policies_for(&strings(&["admin"]), false, &parent)
            .is_err());
        assert_eq!(
            allow
                .policies_for(&strings(&["web"]), true, &parent)
                .unwrap(),
            ["web"]
        );
        let glob = role(json!({"allowed_policies_glob": ["dev-*"]}));
        assert_eq!(
            glob.policies_for(&strings(&["dev-a"]), false, &parent)
                .unwrap(),
            ["default", "dev-a"]
        );
        assert!(glob
            .policies_for(&strings(&["prod-a"]), false, &parent)
            .is_err());
        let deny = role(json!({"disallowed_policies": ["admin", "default"]}));
        // As Vault: `default` inherited from the parent is disallowed like any other.
        assert!(deny.policies_for(&[], false, &parent).is_err());
        assert_eq!(
            deny.policies_for(&[], false, &strings(&["p"])).unwrap(),
            ["p"]
        );
        assert!(deny
            .policies_for(&strings(&["admin"]), false, &parent)
            .is_err());
        let deny_glob = role(json!({"disallowed_policies_glob": ["adm*"]}));
        assert!(deny_glob
            .policies_for(&strings(&["Administrators"]), false, &parent)
            .is_err());
        // root alone stands for itself, and must be allowed like any other.
        assert!(allow
            .policies_for(&strings(&["root"]), false, &parent)
            .is_err());
        let no_default =
            role(json!({"allowed_policies": ["web"], "token_no_default_policy": true}));
        assert_eq!(
            no_default.policies_for(&[], false, &parent).unwrap(),
            ["web"]
        );
    }
}
