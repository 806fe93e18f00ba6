//! The token settings every auth method's roles and users share (Vault's `tokenutil`):
//! `token_policies`, `token_ttl`, `token_max_ttl`, `token_explicit_max_ttl`,
//! `token_period`, `token_num_uses`, `token_no_default_policy`, `token_type`,
//! `token_bound_cidrs`, with the legacy aliases `policies`, `ttl`, `max_ttl`, `period`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::fields::{self, Data};
use crate::logical::LoginAuth;

/// The token settings of one user or role, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenParams {
    pub token_policies: Vec<String>,
    /// Seconds; 0: the mount's default.
    pub token_ttl: u64,
    /// Seconds; 0: the mount's max.
    pub token_max_ttl: u64,
    pub token_explicit_max_ttl: u64,
    pub token_period: u64,
    pub token_num_uses: i64,
    pub token_no_default_policy: bool,
    /// `""`, `default`, `service`, `batch`, `default-service` or `default-batch`.
    pub token_type: String,
    /// The policies were last set through the legacy `policies` field: reads echo it
    /// then, as Vault does (and only then).
    #[serde(default)]
    pub legacy_policies: bool,
}

/// The field names this module reads, for engines that reject unknown fields.
pub const FIELDS: &[&str] = &[
    "token_policies",
    "policies",
    "token_ttl",
    "ttl",
    "token_max_ttl",
    "max_ttl",
    "token_explicit_max_ttl",
    "token_period",
    "period",
    "token_num_uses",
    "token_no_default_policy",
    "token_type",
    "token_bound_cidrs",
    "bound_cidrs",
];

fn secs(data: &Data, names: &[&str]) -> Result<Option<u64>> {
    for name in names {
        if let Some(d) = fields::duration(data, name)? {
            return Ok(Some(d.as_secs()));
        }
    }
    Ok(None)
}

/// Policy names as Vault stores them: trimmed, lower-cased, unique, sorted, no empties.
pub fn normalize_policies(policies: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = policies
        .into_iter()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

impl TokenParams {
    /// Applies the fields present in `data` (new names win over legacy aliases) and checks
    /// the result. Absent fields keep their current value.
    pub fn update_from(&mut self, data: &Data) -> Result<()> {
        let mut next = self.clone();
        let policies = match fields::string_list(data, "token_policies")? {
            Some(p) => Some((p, false)),
            None => fields::string_list(data, "policies")?.map(|p| (p, true)),
        };
        if let Some((p, legacy)) = policies {
            next.token_policies = normalize_policies(p);
            next.legacy_policies = legacy;
        }
        if let Some(v) = secs(data, &["token_ttl", "ttl"])? {
            next.token_ttl = v;
        }
        if let Some(v) = secs(data, &["token_max_ttl", "max_ttl"])? {
            next.token_max_ttl = v;
        }
        if let Some(v) = secs(data, &["token_explicit_max_ttl"])? {
            next.token_explicit_max_ttl = v;
        }
        if let Some(v) = secs(data, &["token_period", "period"])? {
            next.token_period = v;
        }
        if let Some(v) = fields::integer(data, "token_num_uses")? {
            if v < 0 {
                return Err(Error::invalid("token_num_uses cannot be negative"));
            }
            next.token_num_uses = v;
        }
        if let Some(v) = fields::boolean(data, "token_no_default_policy")? {
            next.token_no_default_policy = v;
        }
        if let Some(v) = fields::string(data, "token_type") {
            match v.as_str() {
                "" | "default" | "service" | "batch" | "default-service" | "default-batch" => {
                    next.token_type = v
                }
                other => {
                    return Err(Error::invalid(format!(
                        "invalid 'token_type' value {other:?}"
                    )))
                }
            }
        }
        if matches!(next.token_type.as_str(), "batch" | "default-batch") {
            if next.token_period != 0 {
                return Err(Error::invalid(
                    "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens",
                ));
            }
            if next.token_num_uses != 0 {
                return Err(Error::invalid(
                    "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count",
                ));
            }
        }
        for name in ["token_bound_cidrs", "bound_cidrs"] {
            if fields::string_list(data, name)?.is_some_and(|l| !l.is_empty()) {
                return Err(Error::invalid(format!(
                    "{name} is not supported by this server: tokens cannot be bound to addresses"
                )));
            }
        }
        if next.token_max_ttl > 0 && next.token_ttl > next.token_max_ttl {
            return Err(Error::invalid(
                "\"token_ttl\" should not be greater than \"token_max_ttl\"",
            ));
        }
        *self = next;
        Ok(())
    }

    /// Adds the fields to a read response, as Vault shows them (legacy aliases included).
    pub fn write_fields(&self, out: &mut Map<String, Value>) {
        out.insert("token_policies".into(), self.token_policies.clone().into());
        if self.legacy_policies && !self.token_policies.is_empty() {
            out.insert("policies".into(), self.token_policies.clone().into());
        }
        out.insert("token_ttl".into(), self.token_ttl.into());
        out.insert("token_max_ttl".into(), self.token_max_ttl.into());
        out.insert(
            "token_explicit_max_ttl".into(),
            self.token_explicit_max_ttl.into(),
        );
        out.insert("token_period".into(), self.token_period.into());
        out.insert("token_num_uses".into(), self.token_num_uses.into());
        out.insert(
            "token_no_default_policy".into(),
            self.token_no_default_policy.into(),
        );
        let token_type = if self.token_type.is_empty() {
            "default"
        } else {
            &self.token_type
        };
        out.insert("token_type".into(), token_type.into());
        out.insert("token_bound_cidrs".into(), Value::Array(Vec::new()));
    }

    /// What a login with these settings grants.
    pub fn login_auth(
        &self,
        display_name: impl Into<String>,
        metadata: BTreeMap<String, String>,
    ) -> LoginAuth {
        LoginAuth {
            policies: self.token_policies.clone(),
            no_default_policy: self.token_no_default_policy,
            metadata,
            display_name: display_name.into(),
            ttl: Duration::from_secs(self.token_ttl),
            max_ttl: Duration::from_secs(self.token_max_ttl),
            explicit_max_ttl: Duration::from_secs(self.token_explicit_max_ttl),
            period: Duration::from_secs(self.token_period),
            num_uses: self.token_num_uses,
            renewable: true,
            token_type: self.token_type.clone(),
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

    #[test]
    fn fields_and_aliases() {
        let mut p = TokenParams::default();
        p.update_from(&data(
            json!({"policies": "b, A,a", "ttl": "1h", "token_max_ttl": 7200}),
        ))
        .unwrap();
        assert_eq!(p.token_policies, ["a", "b"]);
        assert_eq!((p.token_ttl, p.token_max_ttl), (3600, 7200));
        // New names win over aliases; absent fields are kept.
        p.update_from(&data(json!({"token_policies": ["x"], "policies": ["y"]})))
            .unwrap();
        assert_eq!(p.token_policies, ["x"]);
        assert_eq!(p.token_ttl, 3600);
        let auth = p.login_auth("bob", BTreeMap::new());
        assert_eq!(auth.ttl, Duration::from_secs(3600));
        assert!(auth.renewable);
        let mut out = Map::new();
        p.write_fields(&mut out);
        assert_eq!(out["token_type"], "default");
        // Set through token_policies: the legacy field is not echoed.
        assert!(!out.contains_key("policies"));
        p.update_from(&data(json!({"policies": "y"}))).unwrap();
        let mut out = Map::new();
        p.write_fields(&mut out);
        assert_eq!(out["policies"], json!(["y"]));
    }

    #[test]
    fn bad_input_changes_nothing() {
        let mut p = TokenParams::default();
        p.update_from(&data(json!({"token_ttl": 60}))).unwrap();
        let before = p.clone();
        for bad in [
            json!({"token_ttl": 120, "token_max_ttl": 60}),
            json!({"token_num_uses": -1}),
            json!({"token_type": "batch", "token_period": 60}),
            json!({"token_type": "default-batch", "token_num_uses": 3}),
            json!({"token_type": "weird"}),
            json!({"token_ttl": "soon"}),
            json!({"token_bound_cidrs": ["10.0.0.0/8"]}),
            json!({"token_policies": {"a": 1}}),
        ] {
            assert!(p.update_from(&data(bad.clone())).is_err(), "{bad}");
            assert_eq!(p, before, "{bad}");
        }
    }
}
