//! Shared helpers for the HTTP API tests: a small Vault client over reqwest, exact-shape
//! assertions, a raw-socket client (for paths reqwest would normalize), a config-file
//! server that can be restarted on the same directory, and a data-directory inspector.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{self, TestServer};

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

// ---- responses --------------------------------------------------------------------------

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

// ---- formats ----------------------------------------------------------------------------

pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12].iter().zip(&parts).all(|(n, p)| {
            p.len() == *n
                && p.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        })
}

pub fn is_base62(s: &str, len: usize) -> bool {
    s.len() == len && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A generated service token: `hvs.` + 24 base62 characters.
pub fn is_service_token(s: &str) -> bool {
    s.strip_prefix("hvs.")
        .is_some_and(|rest| is_base62(rest, 24))
}

/// RFC 3339 with optional fraction and a `Z` or `±hh:mm` offset (what Go's time parser takes).
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19))
    {
        return false;
    }
    let month: u32 = s[5..7].parse().unwrap();
    let day: u32 = s[8..10].parse().unwrap();
    let hour: u32 = s[11..13].parse().unwrap();
    let min: u32 = s[14..16].parse().unwrap();
    let sec: u32 = s[17..19].parse().unwrap();
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return false;
        }
        rest = &frac[n..];
    }
    if rest == "Z" {
        return true;
    }
    let r = rest.as_bytes();
    r.len() == 6
        && (r[0] == b'+' || r[0] == b'-')
        && r[1..3].iter().all(u8::is_ascii_digit)
        && r[3] == b':'
        && r[4..6].iter().all(u8::is_ascii_digit)
}

/// Seconds since the epoch of an RFC 3339 UTC (`Z`) timestamp (fraction dropped).
pub fn rfc3339_secs(s: &str) -> i64 {
    assert!(
        is_rfc3339(s) && s.ends_with('Z'),
        "not an RFC 3339 UTC time: {s:?}"
    );
    let y: i64 = s[0..4].parse().unwrap();
    let m: i64 = s[5..7].parse().unwrap();
    let d: i64 = s[8..10].parse().unwrap();
    let (hh, mm, ss): (i64, i64, i64) = (
        s[11..13].parse().unwrap(),
        s[14..16].parse().unwrap(),
        s[17..19].parse().unwrap(),
    );
    // days_from_civil (H. Hinnant)
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hh * 3600 + mm * 60 + ss
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn unb64(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = A
            .iter()
            .position(|a| *a == c)
            .unwrap_or_else(|| panic!("bad base64 {s:?}")) as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

pub fn unhex(s: &str) -> Vec<u8> {
    assert!(
        s.len().is_multiple_of(2) && s.chars().all(|c| c.is_ascii_hexdigit()),
        "bad hex {s:?}"
    );
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---- a small client ---------------------------------------------------------------------

/// A client bound to one server and (optionally) one token.
#[derive(Clone)]
pub struct V {
    pub addr: String,
    pub token: Option<String>,
    client: reqwest::Client,
}

impl V {
    /// The server's root token.
    pub fn root(srv: &TestServer) -> Self {
        Self::at(&srv.addr, Some(&srv.token))
    }

    pub fn at(addr: &str, token: Option<&str>) -> Self {
        Self {
            addr: addr.to_owned(),
            token: token.filter(|t| !t.is_empty()).map(str::to_owned),
            client: harness::http(),
        }
    }

    pub fn with_token(&self, token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    pub fn anon(&self) -> Self {
        Self {
            token: None,
            ..self.clone()
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/v1/{}", self.addr, path)
    }

    /// A request builder with the token header.
    pub fn req(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.client.request(m, self.url(path));
        if let Some(t) = &self.token {
            rb = rb.header("X-Vault-Token", t);
        }
        rb
    }

    pub async fn send(&self, what: String, rb: reqwest::RequestBuilder) -> Resp {
        let resp = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or("<non-ascii>").to_owned(),
                )
            })
            .collect();
        let body = resp
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{what}: reading the body failed: {e}"))
            .to_vec();
        Resp {
            what,
            status,
            headers,
            body,
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let mut rb = self.req(method, path);
        if let Some(b) = &body {
            rb = rb
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(b).unwrap());
        }
        self.send(format!("{method} /v1/{path}"), rb).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None).await
    }

    pub async fn list(&self, path: &str) -> Resp {
        self.call("LIST", path, None).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call("DELETE", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call("POST", path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call("PUT", path, Some(body)).await
    }

    /// POST with raw bytes and a content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Resp {
        let rb = self
            .req("POST", path)
            .header("Content-Type", content_type)
            .body(body);
        self.send(format!("POST /v1/{path} (raw body)"), rb).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        let rb = self
            .req("PATCH", path)
            .header("Content-Type", "application/merge-patch+json")
            .body(serde_json::to_vec(&body).unwrap());
        self.send(format!("PATCH /v1/{path}"), rb).await
    }

    /// A request with `X-Vault-Wrap-TTL`.
    pub async fn wrapped(&self, method: &str, path: &str, ttl: &str, body: Option<Value>) -> Resp {
        let mut rb = self.req(method, path).header("X-Vault-Wrap-TTL", ttl);
        if let Some(b) = &body {
            rb = rb
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(b).unwrap());
        }
        self.send(format!("{method} /v1/{path} (wrap {ttl})"), rb)
            .await
    }

    // ---- common operations ----

    pub async fn put_policy(&self, name: &str, hcl: &str) {
        self.put(
            &format!("sys/policies/acl/{name}"),
            json!({ "policy": hcl }),
        )
        .await
        .no_content();
    }

    pub async fn enable(&self, path: &str, body: Value) {
        self.post(&format!("sys/mounts/{path}"), body)
            .await
            .no_content();
    }

    /// Creates a token; returns (token, accessor, auth block).
    pub async fn create_token(&self, body: Value) -> (String, String, Value) {
        let resp = self.post("auth/token/create", body).await;
        let auth = resp.ok()["auth"].clone();
        (
            auth["client_token"].as_str().unwrap().to_owned(),
            auth["accessor"].as_str().unwrap().to_owned(),
            auth,
        )
    }

    /// A token with these policies (created by this client's token).
    pub async fn token_with(&self, policies: &[&str]) -> String {
        self.create_token(json!({ "policies": policies })).await.0
    }

    /// Writes a KV v2 secret; returns the version.
    pub async fn kv2_put(&self, path: &str, data: Value) -> u64 {
        self.post(path, json!({ "data": data })).await.data()["version"]
            .as_u64()
            .unwrap()
    }

    /// Every mount uuid (secrets and auth).
    pub async fn mount_uuids(&self) -> Vec<String> {
        let mut out = Vec::new();
        for table in ["sys/mounts", "sys/auth"] {
            let data = self.get(table).await.data();
            for (_, m) in data.as_object().unwrap() {
                out.push(m["uuid"].as_str().unwrap().to_owned());
            }
        }
        out
    }
}

/// The lease ids under `prefix` (a LIST of `sys/leases/lookup/<prefix>`), empty on 404.
pub async fn lease_ids(v: &V, prefix: &str) -> Vec<String> {
    let r = v.list(&format!("sys/leases/lookup/{prefix}")).await;
    if r.status == 404 {
        return Vec::new();
    }
    r.data()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| format!("{prefix}{}", k.as_str().unwrap()))
        .collect()
}

// ---- raw HTTP ---------------------------------------------------------------------------

/// Sends `request` as is over a fresh connection and reads one response.
pub async fn raw(addr: &str, request: &[u8]) -> Resp {
    raw_with(addr, request, false).await
}

/// [`raw`], then closes the sending half: the server sees the end of the stream where the
/// request leaves off (a body cut short, a body that never comes).
pub async fn raw_then_eof(addr: &str, request: &[u8]) -> Resp {
    raw_with(addr, request, true).await
}

async fn raw_with(addr: &str, request: &[u8], eof: bool) -> Resp {
    let what =
        String::from_utf8_lossy(request.split(|b| *b == b'\r').next().unwrap_or(b"")).into_owned();
    let host = addr.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    s.write_all(request).await.unwrap();
    if eof {
        s.shutdown().await.unwrap();
    }
    let mut buf = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(resp) = parse_raw(&what, &buf) {
            return resp;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let mut chunk = [0u8; 65536];
        match tokio::time::timeout(left, s.read(&mut chunk)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => panic!(
                "{what}: reading the response failed: {e} (got {:?})",
                String::from_utf8_lossy(&buf)
            ),
            Err(_) => panic!(
                "{what}: no complete response within 10 s (got {:?})",
                String::from_utf8_lossy(&buf)
            ),
        }
    }
    parse_raw(&what, &buf).unwrap_or_else(|| {
        panic!(
            "{what}: incomplete response {:?}",
            String::from_utf8_lossy(&buf)
        )
    })
}

fn parse_raw(what: &str, buf: &[u8]) -> Option<Resp> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    if (100..200).contains(&status) {
        // An interim answer (`100 Continue`): the response follows it.
        return parse_raw(what, &buf[end + 4..]);
    }
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &buf[end + 4..];
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let body = if let Some(len) = get("content-length") {
        let len: usize = len.parse().ok()?;
        if rest.len() < len {
            return None;
        }
        rest[..len].to_vec()
    } else if get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        let mut out = Vec::new();
        let mut p = rest;
        loop {
            let nl = p.windows(2).position(|w| w == b"\r\n")?;
            let size = usize::from_str_radix(
                std::str::from_utf8(&p[..nl])
                    .ok()?
                    .split(';')
                    .next()?
                    .trim(),
                16,
            )
            .ok()?;
            p = &p[nl + 2..];
            if size == 0 {
                break;
            }
            if p.len() < size + 2 {
                return None;
            }
            out.extend_from_slice(&p[..size]);
            p = &p[size + 2..];
        }
        out
    } else {
        Vec::new()
    };
    Some(Resp {
        what: what.to_owned(),
        status,
        headers,
        body,
    })
}

/// A raw request line + headers (with the token) + body.
pub fn raw_request(
    method: &str,
    target: &str,
    token: Option<&str>,
    extra: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(t) = token {
        out.push_str(&format!("X-Vault-Token: {t}\r\n"));
    }
    out.push_str(extra);
    if !body.is_empty()
        && !extra.to_ascii_lowercase().contains("content-length")
        && !extra.to_ascii_lowercase().contains("transfer-encoding")
    {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

// ---- unauthenticated sys helpers -----------------------------------------------------------

/// `PUT sys/init`; returns (hex keys, base64 keys, root token).
pub async fn init(v: &V, shares: u64, threshold: u64) -> (Vec<String>, Vec<String>, String) {
    let body = v
        .anon()
        .put(
            "sys/init",
            json!({ "secret_shares": shares, "secret_threshold": threshold }),
        )
        .await
        .json_at(200);
    assert_eq!(
        keys(&body),
        ["keys", "keys_base64", "root_token"],
        "init body {body}"
    );
    let strings = |k: &str| -> Vec<String> {
        body[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    (
        strings("keys"),
        strings("keys_base64"),
        body["root_token"].as_str().unwrap().to_owned(),
    )
}

/// Submits one unseal key; returns the seal status body (asserts 200).
pub async fn unseal(v: &V, key: &str) -> Value {
    v.anon()
        .put("sys/unseal", json!({ "key": key }))
        .await
        .json_at(200)
}

// ---- the data directory --------------------------------------------------------------------

/// Names the data directory may hold at its top level.
const DATA_DIR_NAMES: &[&str] = &[
    "CHECKPOINT",
    "LOCK",
    "wal",
    "tree",
    "spare",
    "dev-unseal-key",
    "dev-root-token",
];

fn is_temp(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// One pass over the data dir: (stray entries, transient temp files, tree keys).
fn scan(dir: &Path) -> (Vec<String>, Vec<String>, BTreeSet<String>) {
    let mut stray = Vec::new();
    let mut temps = Vec::new();
    let mut keys = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_temp(&name) {
            temps.push(name);
        } else if !DATA_DIR_NAMES.contains(&name.as_str()) {
            stray.push(name);
        }
    }
    if let Ok(wal) = std::fs::read_dir(dir.join("wal")) {
        for entry in wal {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.ends_with(".log") && entry.file_type().unwrap().is_file()) {
                stray.push(format!("wal/{name}"));
            }
        }
    }
    fn walk(
        path: &Path,
        segs: &mut Vec<String>,
        stray: &mut Vec<String>,
        temps: &mut Vec<String>,
        keys: &mut BTreeSet<String>,
    ) {
        let Ok(rd) = std::fs::read_dir(path) else {
            return;
        };
        for entry in rd {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let shown = format!(
                "tree/{}{}",
                segs.iter().map(|s| format!("{s}/")).collect::<String>(),
                name
            );
            let ft = entry.file_type().unwrap();
            if ft.is_dir() {
                let seg = match name.strip_prefix('~') {
                    Some(esc) if esc.starts_with(['_', '~', '.']) => esc.to_owned(),
                    Some(_) => {
                        stray.push(shown);
                        continue;
                    }
                    None if name.starts_with(['_', '.']) => {
                        stray.push(shown);
                        continue;
                    }
                    None => name.clone(),
                };
                segs.push(seg);
                walk(&entry.path(), segs, stray, temps, keys);
                segs.pop();
            } else if ft.is_file() {
                if let Some(leaf) = name.strip_prefix('_') {
                    let mut k = segs.join("/");
                    if !k.is_empty() {
                        k.push('/');
                    }
                    k.push_str(leaf);
                    keys.insert(k);
                } else if is_temp(&name) {
                    temps.push(shown);
                } else {
                    stray.push(shown);
                }
            } else {
                stray.push(shown);
            }
        }
    }
    walk(
        &dir.join("tree"),
        &mut Vec::new(),
        &mut stray,
        &mut temps,
        &mut keys,
    );
    stray.sort();
    (stray, temps, keys)
}

/// The storage keys in the data dir's tree, after asserting the directory holds nothing
/// but what the file backend and dev mode write (transient temp files are waited out).
pub fn clean_tree_keys(dir: &Path) -> BTreeSet<String> {
    // The server writes the tree just behind its log (acknowledged batches are already
    // durable there), so wait until two scans a moment apart agree and no temp file is
    // left: the tree has caught up with every answered request.
    let mut previous: Option<BTreeSet<String>> = None;
    for _ in 0..100 {
        let (stray, temps, keys) = scan(dir);
        assert!(
            stray.is_empty(),
            "stray entries in the data dir {}: {stray:?}",
            dir.display()
        );
        if temps.is_empty() && previous.as_ref() == Some(&keys) {
            for k in ["CHECKPOINT", "LOCK", "wal", "tree"] {
                assert!(dir.join(k).exists(), "{k} missing from the data dir");
            }
            return keys;
        }
        previous = temps.is_empty().then_some(keys);
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the data dir did not settle: temp files {:?}", scan(dir).1);
}

/// Asserts every storage key lies under a prefix the server owns (storage layout 1): the
/// core's (replicated and local), the token, lease and policy stores', audit salts, or a
/// live mount's data (replicated, local, or an engine's cluster-local data).
#[track_caller]
pub fn assert_keys_expected(keys: &BTreeSet<String>, mount_uuids: &[String]) {
    for k in keys {
        let ok = k.starts_with("core/")
            || k.starts_with("local/core/")
            || k.starts_with("local/token/")
            || k.starts_with("local/leases/")
            || k.starts_with("sys/policy/")
            || k.starts_with("sys/token/roles/")
            || k.starts_with("audit/")
            || k.starts_with("local/audit/")
            || mount_uuids.iter().any(|u| {
                [
                    "logical",
                    "auth",
                    "local/logical",
                    "local/auth",
                    "local/engine",
                ]
                .iter()
                .any(|p| k.starts_with(&format!("{p}/{u}/")))
            });
        assert!(ok, "unexpected storage key {k:?}");
    }
}
