//! Responses and exact-shape assertions: `Resp` (status, headers, body) with its checks,
//! the standard envelope and `auth` block, sorted keys.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::formats::is_uuid;

/// The keys of the standard logical response envelope.
pub const ENVELOPE: &[&str] = &[
    "auth",
    "data",
    "lease_duration",
    "lease_id",
    "renewable",
    "request_id",
    "warnings",
    "wrap_info",
];

/// The keys of an `auth` block.
pub const AUTH_KEYS: &[&str] = &[
    "accessor",
    "client_token",
    "entity_id",
    "lease_duration",
    "metadata",
    "mfa_requirement",
    "num_uses",
    "orphan",
    "policies",
    "renewable",
    "token_policies",
    "token_type",
];

/// An HTTP response, with what was asked (for failure messages).
#[derive(Debug)]
pub struct Resp {
    pub what: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (panics with the body text when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: body is not JSON ({e}): status {} body {:?}",
                self.what,
                self.status,
                self.text()
            )
        })
    }

    /// Asserts the status and Vault's headers (`Content-Type: application/json` exactly,
    /// `Cache-Control: no-store`).
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "{}: expected status {status}, got {} with body {:?}",
            self.what,
            self.status,
            self.text()
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{}: Content-Type must be exactly application/json",
            self.what
        );
        assert_eq!(
            self.header("cache-control"),
            Some("no-store"),
            "{}: Cache-Control must be no-store",
            self.what
        );
        self
    }

    /// Status + headers + JSON body.
    #[track_caller]
    pub fn json_at(&self, status: u16) -> Value {
        self.expect(status);
        self.json()
    }

    /// A 200 logical response: the envelope with every key, a uuid `request_id`. Returns
    /// the body.
    #[track_caller]
    pub fn ok(&self) -> Value {
        let body = self.json_at(200);
        assert_envelope(&self.what, &body);
        body
    }

    /// `ok()` and the envelope has exactly the standard keys (no top-level injection).
    #[track_caller]
    pub fn ok_exact(&self) -> Value {
        let body = self.ok();
        assert_eq!(
            keys(&body),
            sorted(ENVELOPE),
            "{}: envelope keys",
            self.what
        );
        body
    }

    /// The `data` of a 200 logical response.
    #[track_caller]
    pub fn data(&self) -> Value {
        self.ok()["data"].clone()
    }

    /// 204 with an empty body and Vault's headers.
    #[track_caller]
    pub fn no_content(&self) {
        self.expect(204);
        assert!(
            self.body.is_empty(),
            "{}: a 204 must have an empty body, got {:?}",
            self.what,
            self.text()
        );
    }

    /// Exactly `{"errors": [messages...]}` with this status.
    #[track_caller]
    pub fn errors(&self, status: u16, messages: &[&str]) {
        let body = self.json_at(status);
        assert_eq!(
            body,
            json!({ "errors": messages }),
            "{}: error body",
            self.what
        );
    }

    /// `{"errors": [...]}` (and nothing else) with this status, one message containing
    /// `needle`.
    #[track_caller]
    pub fn error_containing(&self, status: u16, needle: &str) {
        let body = self.json_at(status);
        assert_eq!(keys(&body), ["errors"], "{}: error body {body}", self.what);
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: errors must be a list: {body}", self.what));
        assert!(
            errors
                .iter()
                .any(|e| e.as_str().is_some_and(|s| s.contains(needle))),
            "{}: expected an error containing {needle:?}, got {body}",
            self.what
        );
    }

    /// `{"errors": [...]}` (and nothing else) with this status and at least one message.
    #[track_caller]
    pub fn some_error(&self, status: u16) {
        let body = self.json_at(status);
        assert_eq!(keys(&body), ["errors"], "{}: error body {body}", self.what);
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: errors must be a list: {body}", self.what));
        assert!(
            !errors.is_empty()
                && errors
                    .iter()
                    .all(|e| e.as_str().is_some_and(|s| !s.is_empty())),
            "{}: expected at least one error message, got {body}",
            self.what
        );
    }

    /// Vault's plain "nothing here": 404 `{"errors":[]}`.
    #[track_caller]
    pub fn not_found(&self) {
        self.errors(404, &[]);
    }

    /// 403 whose errors mention "permission denied".
    #[track_caller]
    pub fn denied(&self) {
        self.error_containing(403, "permission denied");
    }
}

/// The sorted keys of a JSON object.
#[track_caller]
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

pub fn sorted(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Asserts every envelope key is present with Vault's types; `request_id` is a uuid
/// unless the response is wrapped (then "").
#[track_caller]
pub fn assert_envelope(what: &str, body: &Value) {
    for k in ENVELOPE {
        assert!(
            body.get(*k).is_some(),
            "{what}: envelope key {k:?} missing in {body}"
        );
    }
    let rid = body["request_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: request_id must be a string"));
    if body["wrap_info"].is_null() {
        assert!(is_uuid(rid), "{what}: request_id {rid:?} is not a uuid");
    } else {
        assert_eq!(
            rid, "",
            "{what}: a wrapped response has an empty request_id"
        );
    }
    assert!(
        body["lease_id"].is_string(),
        "{what}: lease_id must be a string"
    );
    assert!(
        body["renewable"].is_boolean(),
        "{what}: renewable must be a bool"
    );
    assert!(
        body["lease_duration"].is_u64(),
        "{what}: lease_duration must be an integer"
    );
    assert!(
        body["warnings"].is_null() || body["warnings"].is_array(),
        "{what}: warnings must be null or a list"
    );
}

/// The response duplicates every key of `data` at the top level (legacy sys endpoints),
/// and has nothing else besides the envelope.
#[track_caller]
pub fn assert_injected(what: &str, body: &Value) {
    let data = body["data"]
        .as_object()
        .unwrap_or_else(|| panic!("{what}: data must be an object: {body}"));
    for (k, v) in data {
        assert_eq!(
            body.get(k),
            Some(v),
            "{what}: data key {k:?} must be copied to the top level"
        );
    }
    let mut expected: BTreeSet<String> = ENVELOPE.iter().map(|s| s.to_string()).collect();
    expected.extend(data.keys().cloned());
    let actual: BTreeSet<String> = body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(actual, expected, "{what}: top-level keys");
}
