//! One audit record in plaintext, as the core builds it (Vault's `logical.LogInput`).
//!
//! These types hold clear values: tokens, accessors and request/response data exactly as
//! they were. Nothing here is written anywhere; a [`Device`](super::Device) turns an
//! [`Entry`] into its own JSON line, hashing what its options say to hash
//! (see `format.rs`). Field names are Vault's JSON names; empty strings, empty lists and
//! maps, zero numbers and `false` are left out of the line (Go's `omitempty`).
//!
//! The token and accessor fields and the `data` maps are deliberately not `Serialize`d by
//! these types (`#[serde(skip)]`): only the formatter writes them, hashed or raw, so no
//! code path can serialize a plaintext secret by accident.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

/// Whether an entry records a request (before routing) or a response (after).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EntryKind {
    #[default]
    Request,
    Response,
}

impl EntryKind {
    /// `"request"` or `"response"`, as in the line's `type` field.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Request => "request",
            EntryKind::Response => "response",
        }
    }
}

/// One audit record.
///
/// Build it with [`Entry::request`] or [`Entry::response`] and set `error` when the
/// request failed. A request entry writes `time, type, auth, request, error,
/// forwarded_from`; a response entry writes `time, type, auth, request, response, error,
/// forwarded`.
#[derive(Clone, Debug, Default)]
pub struct Entry {
    pub kind: EntryKind,
    /// RFC 3339 time of the entry; empty means "now, when the device formats it" (what
    /// Vault does: each device stamps its own line).
    pub time: String,
    /// The calling token (empty for unauthenticated requests: `{"token_type":"default"}`).
    pub auth: Auth,
    pub request: Request,
    /// Only written for [`EntryKind::Response`] entries.
    pub response: Response,
    /// The error returned to the client, if any (its text only; never secrets).
    pub error: String,
    /// The address of the node that forwarded this request (replication), if any.
    pub forwarded_from: String,
}

impl Entry {
    /// A request entry (written before the request is routed).
    pub fn request(auth: Auth, request: Request) -> Self {
        Entry {
            kind: EntryKind::Request,
            auth,
            request,
            ..Entry::default()
        }
    }

    /// A response entry (written after the backend answered).
    pub fn response(auth: Auth, request: Request, response: Response) -> Self {
        Entry {
            kind: EntryKind::Response,
            auth,
            request,
            response,
            ..Entry::default()
        }
    }

    /// The same entry with `error` set.
    pub fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = error.into();
        self
    }
}

pub(super) fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

fn is_zero_u16(n: &u16) -> bool {
    *n == 0
}

pub(super) fn is_false(b: &bool) -> bool {
    !*b
}

/// A token's facts (`auth` of an entry, and `response.auth` for logins and token creation).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Auth {
    /// Hashed unless `log_raw`.
    #[serde(skip)]
    pub client_token: String,
    /// Hashed when `hmac_accessor` (the default) and not `log_raw`.
    #[serde(skip)]
    pub accessor: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub token_policies: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identity_policies: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub external_namespace_policies: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "is_false")]
    pub no_default_policy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_results: Option<PolicyResults>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The token's use limit (Vault writes it in `response.auth`).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub num_uses: i64,
    /// Uses left on the calling token (Vault writes it in the entry's `auth`).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub remaining_uses: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub entity_id: String,
    #[serde(skip_serializing_if = "is_false")]
    pub entity_created: bool,
    /// `service`, `batch`, or empty, which is written as Vault's `default`.
    #[serde(skip)]
    pub token_type: String,
    /// Seconds.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub token_ttl: i64,
    /// RFC 3339 (seconds), e.g. from [`crate::util::rfc3339_secs`].
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token_issue_time: String,
}

/// The ACL decision for the request.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PolicyResults {
    /// Always written.
    pub allowed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub granting_policies: Vec<PolicyInfo>,
}

/// One policy that granted the request.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PolicyInfo {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace_path: String,
    /// Always written (`acl`, or `rgp`/`egp` in Vault Enterprise).
    #[serde(rename = "type")]
    pub kind: String,
}

/// The namespace of a request; vaultrs has only the root namespace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Namespace {
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
}

impl Default for Namespace {
    fn default() -> Self {
        Namespace {
            id: "root".into(),
            path: String::new(),
        }
    }
}

/// The request as the client sent it (full path, not relative to the mount).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Request {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    /// `read`, `update`, `create`, `delete`, `list`, `patch`, ...
    #[serde(skip_serializing_if = "String::is_empty")]
    pub operation: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mount_point: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mount_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mount_accessor: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mount_running_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mount_running_sha256: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mount_class: String,
    #[serde(skip_serializing_if = "is_false")]
    pub mount_is_external_plugin: bool,
    /// Hashed unless `log_raw`.
    #[serde(skip)]
    pub client_token: String,
    /// Hashed when `hmac_accessor` and not `log_raw`.
    #[serde(skip)]
    pub client_token_accessor: String,
    pub namespace: Namespace,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// The body (or query parameters); every string leaf is hashed unless exempt.
    #[serde(skip)]
    pub data: Map<String, Value>,
    #[serde(skip_serializing_if = "is_false")]
    pub policy_override: bool,
    #[serde(rename = "remote_address", skip_serializing_if = "String::is_empty")]
    pub remote_address: String,
    #[serde(skip_serializing_if = "is_zero_u16")]
    pub remote_port: u16,
    /// Seconds (the `X-Vault-Wrap-TTL` asked for).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub wrap_ttl: i64,
    /// Audited headers only, already processed by the core (written as given).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_certificate_serial_number: String,
    /// The mount's `audit_non_hmac_request_keys`: `data` values under these keys are
    /// written in clear. Never written itself.
    #[serde(skip)]
    pub non_hmac_keys: Vec<String>,
}

/// The response as the backend produced it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Response {
    /// The token a login or token creation issued (token and accessor hashed).
    #[serde(skip)]
    pub auth: Option<Auth>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mount_point: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mount_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mount_accessor: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mount_running_plugin_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mount_running_sha256: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mount_class: String,
    #[serde(skip_serializing_if = "is_false")]
    pub mount_is_external_plugin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    /// Every string leaf is hashed unless exempt; `keys`/`key_info` may be elided.
    #[serde(skip)]
    pub data: Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub redirect: String,
    /// Token and accessors hashed.
    #[serde(skip)]
    pub wrap_info: Option<WrapInfo>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Vec<String>>,
    /// The mount's `audit_non_hmac_response_keys`. Never written itself.
    #[serde(skip)]
    pub non_hmac_keys: Vec<String>,
}

/// The lease of a dynamic secret (the lease id is not hashed, as in Vault).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Secret {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub lease_id: String,
}

/// A wrapped response's facts (written by the formatter, which hashes the token and
/// accessors; deliberately not `Serialize`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WrapInfo {
    /// Seconds.
    pub ttl: i64,
    /// Hashed unless `log_raw`.
    pub token: String,
    /// Hashed when `hmac_accessor` and not `log_raw`.
    pub accessor: String,
    /// RFC 3339 with nanoseconds.
    pub creation_time: String,
    pub creation_path: String,
    /// Hashed when `hmac_accessor` and not `log_raw`.
    pub wrapped_accessor: String,
}
