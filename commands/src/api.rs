//! Client-side shapes of Vault's responses. Field order follows Vault's Go `api` package,
//! because `-format=json` prints these structs exactly as Vault's CLI does. (The server keeps
//! its own DTOs; the JSON contract between the two is pinned by tests, as Vault does with
//! `api/` and `internal/http`.)

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::output::serialize_sorted_map;

/// A logical response: Vault's `api.Secret`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Secret {
    #[serde(default)]
    pub request_id: String,
    #[serde(default)]
    pub lease_id: String,
    #[serde(default)]
    pub lease_duration: i64,
    #[serde(default)]
    pub renewable: bool,
    #[serde(default, serialize_with = "serialize_sorted_map")]
    pub data: Option<Map<String, Value>>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<SecretAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_info: Option<WrapInfo>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mount_type: String,
}

/// The `auth` block of a response: Vault's `api.SecretAuth`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct SecretAuth {
    #[serde(default)]
    pub client_token: String,
    #[serde(default)]
    pub accessor: String,
    #[serde(default)]
    pub policies: Option<Vec<String>>,
    #[serde(default)]
    pub token_policies: Option<Vec<String>>,
    #[serde(default)]
    pub identity_policies: Option<Vec<String>>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub orphan: bool,
    #[serde(default)]
    pub entity_id: String,
    #[serde(default)]
    pub lease_duration: i64,
    #[serde(default)]
    pub renewable: bool,
    #[serde(default)]
    pub mfa_requirement: Option<Value>,
}

/// The `wrap_info` block of a wrapped response: Vault's `api.SecretWrapInfo`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct WrapInfo {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub accessor: String,
    #[serde(default)]
    pub ttl: i64,
    #[serde(default)]
    pub creation_time: String,
    #[serde(default)]
    pub creation_path: String,
    #[serde(default)]
    pub wrapped_accessor: String,
}

impl Secret {
    /// Parses a response body as Vault's `api.ParseSecret` does: an empty body is no secret;
    /// a body with none of the envelope fields keeps its keys as `data`; a body holding only
    /// `errors` is no secret.
    pub fn parse(body: &[u8]) -> anyhow::Result<Option<Secret>> {
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(None);
        }
        let raw: Value = serde_json::from_slice(body)?;
        let mut secret: Secret = serde_json::from_value(raw.clone())?;
        if secret == Secret::default() {
            if let Value::Object(mut m) = raw {
                let errors = m.remove("errors");
                if m.is_empty() {
                    if errors.is_some() {
                        return Ok(None);
                    }
                } else if let Some(errs) = errors {
                    let msgs: Vec<String> = serde_json::from_value(errs).unwrap_or_default();
                    anyhow::bail!("{}", msgs.join(" "));
                } else {
                    secret.data = Some(m);
                }
            }
        }
        Ok(Some(secret))
    }

    /// `data[key]`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.data.as_ref().and_then(|d| d.get(key))
    }

    /// Whether the response carries data or warnings (what makes a 404 worth showing).
    pub fn has_content(&self) -> bool {
        self.data.as_ref().is_some_and(|d| !d.is_empty())
            || self.warnings.as_ref().is_some_and(|w| !w.is_empty())
    }
}

/// One entry of `sys/mounts` or `sys/auth`: Vault's `api.MountOutput`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct MountOutput {
    #[serde(default)]
    pub uuid: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub accessor: String,
    #[serde(default)]
    pub config: MountConfigOutput,
    #[serde(default)]
    pub options: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub local: bool,
    #[serde(default)]
    pub seal_wrap: bool,
    #[serde(default)]
    pub external_entropy_access: bool,
    #[serde(default)]
    pub plugin_version: String,
    #[serde(default)]
    pub running_plugin_version: String,
    #[serde(default)]
    pub running_sha256: String,
    #[serde(default)]
    pub deprecation_status: String,
}

/// A mount's `config`: Vault's `api.MountConfigOutput`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct MountConfigOutput {
    #[serde(default)]
    pub default_lease_ttl: i64,
    #[serde(default)]
    pub max_lease_ttl: i64,
    #[serde(default)]
    pub force_no_cache: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_non_hmac_request_keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_non_hmac_response_keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub listing_visibility: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passthrough_request_headers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_response_headers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_managed_keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_lockout_config: Option<Value>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub plugin_name: String,
}

/// Decodes the `data` of a `sys/mounts` or `sys/auth` response into mounts keyed by path.
/// Keys that are not mount objects (a server injecting other fields) are skipped.
pub fn mounts_from(secret: &Secret) -> BTreeMap<String, MountOutput> {
    let mut out = BTreeMap::new();
    if let Some(d) = &secret.data {
        for (k, v) in d {
            if v.is_object() {
                if let Ok(m) = serde_json::from_value::<MountOutput>(v.clone()) {
                    out.insert(k.clone(), m);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_like_go() {
        assert_eq!(Secret::parse(b"").unwrap(), None);
        assert_eq!(Secret::parse(br#"{"errors":[]}"#).unwrap(), None);
        let s = Secret::parse(br#"{"initialized":true}"#).unwrap().unwrap();
        assert_eq!(s.get("initialized"), Some(&Value::Bool(true)));
        let s = Secret::parse(br#"{"request_id":"r","data":{"a":"b"},"warnings":null}"#)
            .unwrap()
            .unwrap();
        assert!(s.has_content());
        assert!(Secret::parse(br#"{"errors":["x"],"data2":1}"#).is_err());
    }
}
