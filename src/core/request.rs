//! The core's request and response: what the HTTP layer hands in and gets back.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::logical::Operation;

/// A request after HTTP parsing: operation, path relative to `/v1/`, data and credentials.
#[derive(Clone, Debug)]
pub struct Request {
    pub operation: Operation,
    pub path: String,
    pub data: Map<String, Value>,
    pub token: Option<String>,
    /// `X-Vault-Wrap-TTL`.
    pub wrap_ttl: Option<Duration>,
    /// The request id: in the response envelope and in the audit log.
    pub id: String,
    /// The client's address (audit, CIDR-bound logins).
    pub remote_addr: Option<std::net::SocketAddr>,
}

impl Request {
    pub fn new(operation: Operation, path: impl Into<String>) -> Self {
        Self {
            operation,
            path: path.into(),
            data: Map::new(),
            token: None,
            wrap_ttl: None,
            id: crate::util::uuid(),
            remote_addr: None,
        }
    }

    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    pub fn data(mut self, data: Map<String, Value>) -> Self {
        self.data = data;
        self
    }
}

/// The `auth` block of a response (logins and token creation).
#[derive(Clone, Debug, Default)]
pub struct Auth {
    pub client_token: String,
    pub accessor: String,
    pub policies: Vec<String>,
    pub token_policies: Vec<String>,
    pub metadata: Option<Map<String, Value>>,
    pub lease_duration: u64,
    pub renewable: bool,
    pub orphan: bool,
    pub num_uses: i64,
    pub token_type: super::tokens::TokenType,
}

impl Auth {
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "client_token": self.client_token,
            "accessor": self.accessor,
            "policies": self.policies,
            "token_policies": self.token_policies,
            "metadata": self.metadata,
            "lease_duration": self.lease_duration,
            "renewable": self.renewable,
            "entity_id": "",
            "token_type": self.token_type.as_str(),
            "orphan": self.orphan,
            "mfa_requirement": Value::Null,
            "num_uses": self.num_uses,
        })
    }
}

/// A body that is not JSON (see [`Response::raw_text`]).
#[derive(Clone, Debug)]
pub struct RawText {
    pub content_type: &'static str,
    pub body: String,
}

/// What the core answers; the HTTP layer renders it.
#[derive(Clone, Debug, Default)]
pub struct Response {
    pub data: Option<Map<String, Value>>,
    pub auth: Option<Auth>,
    pub warnings: Vec<String>,
    pub wrap_info: Option<Value>,
    pub lease_id: String,
    pub lease_duration: u64,
    pub renewable: bool,
    /// Answer 404 but send the body (KV v2 deleted versions).
    pub not_found_with_data: bool,
    /// Also copy `data`'s keys to the top level (Vault's legacy sys endpoints).
    pub inject_top_level: bool,
    /// Send this body as it is, with 200 (unwrapped responses).
    pub raw_body: Option<Value>,
    /// Send this text as it is, with 200 and its content type (`sys/metrics` in the
    /// Prometheus format).
    pub raw_text: Option<RawText>,
    /// Work was started, not finished (tidy endpoints): HTTP 202, as Vault answers.
    pub accepted: bool,
    /// The audit device this request disabled: it records the request's answer, then is
    /// retired (its last line written) before the answer leaves (`auditing.rs`).
    pub disabled_audit_device: Option<std::sync::Arc<crate::audit::Device>>,
}

impl Response {
    pub fn data(data: Map<String, Value>) -> Self {
        Self {
            data: Some(data),
            ..Self::default()
        }
    }

    /// No body: HTTP 204.
    pub fn empty() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_none()
            && self.auth.is_none()
            && self.warnings.is_empty()
            && self.wrap_info.is_none()
            && self.raw_body.is_none()
            && self.raw_text.is_none()
    }

    /// The standard envelope with `request_id` (which the HTTP layer assigns), as a value.
    pub fn envelope(&self, request_id: &str) -> Value {
        let mut body = serde_json::json!({
            "request_id": request_id,
            "lease_id": self.lease_id,
            "renewable": self.renewable,
            "lease_duration": self.lease_duration,
            "data": self.data,
            "wrap_info": self.wrap_info,
            "warnings": if self.warnings.is_empty() { Value::Null } else { Value::from(self.warnings.clone()) },
            "auth": self.auth.as_ref().map(Auth::to_json),
        });
        if self.inject_top_level {
            if let (Some(data), Some(obj)) = (&self.data, body.as_object_mut()) {
                for (k, v) in data {
                    obj.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        body
    }

    /// [`Response::envelope`], serialized straight from the response (no copy of `data`).
    /// Serializes to the same bytes.
    pub fn envelope_ref<'a>(&'a self, request_id: &'a str) -> EnvelopeRef<'a> {
        if self.inject_top_level {
            return EnvelopeRef::Value(self.envelope(request_id));
        }
        EnvelopeRef::Fields(Envelope {
            auth: self.auth.as_ref().map(Auth::to_json),
            data: self.data.as_ref(),
            lease_duration: self.lease_duration,
            lease_id: &self.lease_id,
            renewable: self.renewable,
            request_id,
            warnings: (!self.warnings.is_empty()).then_some(self.warnings.as_slice()),
            wrap_info: self.wrap_info.as_ref(),
        })
    }
}

/// The envelope of a [`Response`] ready to serialize (see [`Response::envelope_ref`]).
#[derive(Serialize)]
#[serde(untagged)]
pub enum EnvelopeRef<'a> {
    Fields(Envelope<'a>),
    /// With `data`'s keys copied to the top level.
    Value(Value),
}

/// The envelope's fields, borrowed; in key order, as a `serde_json` object sorts them.
#[derive(Serialize)]
pub struct Envelope<'a> {
    auth: Option<Value>,
    data: Option<&'a Map<String, Value>>,
    lease_duration: u64,
    lease_id: &'a str,
    renewable: bool,
    request_id: &'a str,
    warnings: Option<&'a [String]>,
    wrap_info: Option<&'a Value>,
}

impl From<crate::logical::Response> for Response {
    fn from(r: crate::logical::Response) -> Self {
        Self {
            data: r.data,
            warnings: r.warnings,
            lease_duration: r.lease_duration.map_or(0, |d| d.as_secs()),
            not_found_with_data: r.not_found_with_data,
            accepted: r.accepted,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn same_bytes(r: &Response) {
        let want = serde_json::to_vec(&r.envelope("rid")).unwrap();
        let got = serde_json::to_vec(&r.envelope_ref("rid")).unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(want).unwrap()
        );
    }

    #[test]
    fn the_borrowed_envelope_serializes_like_the_value() {
        let data = |v: Value| match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        same_bytes(&Response::default());
        same_bytes(&Response::data(data(
            json!({"data": {"b": 1, "a": [true, null]}, "metadata": {"version": 3}}),
        )));
        same_bytes(&Response {
            data: Some(data(json!({"x": "y"}))),
            warnings: vec!["w1".into(), "w2".into()],
            lease_id: "lease".into(),
            lease_duration: 60,
            renewable: true,
            not_found_with_data: true,
            ..Response::default()
        });
        same_bytes(&Response {
            auth: Some(Auth {
                client_token: "hvs.x".into(),
                policies: vec!["default".into()],
                metadata: Some(data(json!({"k": "v"}))),
                ..Auth::default()
            }),
            wrap_info: Some(json!({"token": "t", "ttl": 60})),
            ..Response::default()
        });
        same_bytes(&Response {
            data: Some(data(json!({"sealed": false, "lease_id": "kept", "zz": 1}))),
            inject_top_level: true,
            ..Response::default()
        });
    }
}
