//! The HTTP layer: axum only. Parses `/v1/...` requests into core requests, serves the
//! unauthenticated raw `sys/` endpoints, and renders responses and errors as Vault does.
//! It is the only module that names status codes.

pub mod cluster;
mod error;
mod metrics;
mod snapshot;
mod sys_raw;
mod sys_rekey;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use serde_json::{Map, Value};

use crate::core::{Core, Request};
use crate::error::Error;
use crate::logical::{parse_ttl, Operation};

/// Listener settings the HTTP layer enforces.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Largest request body accepted (Vault's `max_request_size`, 32 MiB by default).
    pub max_request_size: usize,
    /// Turns off the unauthenticated `sys/generate-root/*` endpoints (Vault's listener
    /// option of the same name; false by default, as Vault).
    pub disable_unauthed_generate_root_endpoints: bool,
    /// Serves `sys/metrics` without a token (Vault's listener `telemetry {
    /// unauthenticated_metrics_access }`; false by default).
    pub unauthenticated_metrics_access: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            max_request_size: 32 << 20,
            disable_unauthed_generate_root_endpoints: false,
            unauthenticated_metrics_access: false,
        }
    }
}

#[derive(Clone)]
struct AppState {
    core: Arc<Core>,
    options: HttpOptions,
}

/// The axum application for `core`.
pub fn router(core: Arc<Core>, options: HttpOptions) -> axum::Router {
    axum::Router::new()
        .fallback(handle)
        .with_state(AppState { core, options })
}

/// A JSON response with Vault's headers.
pub(crate) fn json_response<T: serde::Serialize + ?Sized>(
    status: StatusCode,
    body: &T,
) -> HttpResponse {
    // Most bodies (a KV read's envelope) fit without growing the buffer.
    let mut bytes = Vec::with_capacity(512);
    if serde_json::to_writer(&mut bytes, body).is_err() {
        bytes.clear();
        bytes.extend_from_slice(b"{}");
    }
    bytes.push(b'\n');
    let mut resp = HttpResponse::new(Body::from(bytes));
    *resp.status_mut() = status;
    // Sized for these two and a few the server adds (the default table is 16 times larger).
    let mut headers = HeaderMap::with_capacity(6);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    *resp.headers_mut() = headers;
    resp
}

fn empty_response(status: StatusCode) -> HttpResponse {
    let mut resp = status.into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn handle(State(state): State<AppState>, req: axum::extract::Request) -> HttpResponse {
    // Work that has started finishes: hyper drops this future when the client goes away,
    // but the request runs in a task of its own, so a write and every consequence of it
    // (caches, the router, the token's use count, the audit response entry) complete
    // whether or not anyone is still waiting for the answer. Only work that has not
    // started and serves no one else (a queued password hash) asks `departure::gone`.
    let started = std::time::Instant::now();
    // The whole pipeline's future is several KiB. Boxed once here, the departure scope
    // and the task (spawn, output, join handle) move a pointer instead of copying it
    // again each time: measured, fewer instructions per KV read than unboxed.
    let (_client, work) = crate::departure::track(Box::pin(async move {
        let mut seen = crate::metrics::Observed::default();
        let resp = match serve(&state, req, &mut seen).await {
            Ok(resp) => resp,
            Err(err) => error::response(&err),
        };
        let status = resp.status().as_u16();
        state
            .core
            .metrics()
            .record(&seen, status, started.elapsed());
        resp
    }));
    let work = tokio::spawn(work);
    match work.await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(error = %e, "a request task failed");
            error::response(&Error::Internal(
                "the request could not be completed".into(),
            ))
        }
    }
}

/// Percent-decodes `raw` into UTF-8; `what` names it in the error.
fn percent_decode(raw: &str, what: &str) -> Result<String, Error> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::invalid(format!("invalid percent-encoding in {what}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::invalid(format!("{what} is not valid UTF-8")))
}

/// Percent-decodes and checks a request path (relative to `/v1/`).
fn decode_path(raw: &str) -> Result<String, Error> {
    let path = percent_decode(raw, "path")?;
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Err(Error::invalid("invalid characters in path"));
    }
    let trimmed = path.strip_suffix('/').unwrap_or(&path);
    if trimmed
        .split('/')
        .any(|seg| seg == "." || seg == ".." || (seg.is_empty() && !trimmed.is_empty()))
    {
        return Err(Error::invalid(
            "invalid path: relative or empty segments are not allowed",
        ));
    }
    Ok(path)
}

/// Query parameters: one value → string, repeated → list.
fn parse_query(query: &str) -> Result<Map<String, Value>, Error> {
    let mut out = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        // Query values are data, not paths: decoded only, no path checks.
        let decode = |s: &str| percent_decode(&s.replace('+', " "), "query");
        let (k, v) = (decode(k)?, decode(v)?);
        match out.get_mut(&k) {
            Some(Value::Array(items)) => items.push(v.into()),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, v.into()]);
            }
            None => {
                out.insert(k, v.into());
            }
        }
    }
    Ok(out)
}

/// The client token: `X-Vault-Token`, or (when that is absent or empty, as Vault reads
/// it) `Authorization: Bearer`.
fn token_from(headers: &HeaderMap) -> Result<Option<String>, Error> {
    if let Some(v) = headers.get("x-vault-token") {
        let t = v
            .to_str()
            .map_err(|_| Error::invalid("invalid token header"))?;
        if !t.is_empty() {
            return Ok(Some(t.to_owned()));
        }
    }
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v
            .to_str()
            .map_err(|_| Error::invalid("invalid authorization header"))?;
        if let Some(t) = v.strip_prefix("Bearer ") {
            return Ok((!t.is_empty()).then(|| t.trim().to_owned()));
        }
    }
    Ok(None)
}

fn wrap_ttl_from(headers: &HeaderMap) -> Result<Option<Duration>, Error> {
    let Some(v) = headers.get("x-vault-wrap-ttl") else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| Error::invalid("error parsing X-Vault-Wrap-TTL header"))?;
    let ttl = parse_ttl(s)
        .ok_or_else(|| Error::invalid(format!("error parsing X-Vault-Wrap-TTL header: {s:?}")))?;
    Ok((!ttl.is_zero()).then_some(ttl))
}

/// Reads the body up to the size limit: 413 before buffering an announced oversize body,
/// or as soon as what arrives passes the limit. Only a size overrun is a 413: a body that
/// breaks off before its `Content-Length`, a malformed chunk, or an `Expect:
/// 100-continue` whose body never comes is a malformed request, a 400.
async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<axum::body::Bytes, Error> {
    use futures_util::StreamExt;

    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit as u64 {
            return Err(Error::PayloadTooLarge);
        }
    }
    let mut stream = body.into_data_stream();
    // A body that arrives in one piece is kept as it is; only a second piece copies.
    let mut first = axum::body::Bytes::new();
    let mut joined: Option<Vec<u8>> = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            tracing::debug!(error = %e, "malformed request body");
            Error::invalid("failed to read request body: malformed or incomplete body")
        })?;
        let read = joined.as_ref().map_or(first.len(), Vec::len);
        if chunk.len() > limit.saturating_sub(read) {
            return Err(Error::PayloadTooLarge);
        }
        match &mut joined {
            Some(all) => all.extend_from_slice(&chunk),
            None if first.is_empty() => first = chunk,
            None => joined = Some([first.as_ref(), chunk.as_ref()].concat()),
        }
    }
    Ok(joined.map_or(first, Into::into))
}

/// Deepest nesting of arrays and objects a JSON request body may have, the body itself
/// counted. What is stored from a body gets a few levels more around it (a wrapped
/// response's envelope, KV v2's `data`), and every stored value and every answer must
/// decode within serde_json's default limit of 128 levels: the server reads its storage
/// with it, and so do Rust clients (our CLI, the `vaultrs` crate). A deeper body would be
/// accepted and then lost (a wrapped response that no unwrap can read), so it is refused
/// up front: one rule for every endpoint.
const MAX_JSON_DEPTH: usize = 100;

/// Whether the JSON `text` nests arrays and objects deeper than `max`: a scan of the bytes,
/// so a depth bomb is refused before anything is built from it.
fn nested_deeper_than(text: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in text {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn parse_body(bytes: &[u8], headers: &HeaderMap) -> Result<Map<String, Value>, Error> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::invalid("request body is not valid UTF-8"))?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Ok(Map::new());
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if is_form && !trimmed.starts_with(['{', '[']) {
        return parse_query(text.trim());
    }
    if nested_deeper_than(text.as_bytes(), MAX_JSON_DEPTH) {
        return Err(Error::invalid(format!(
            "failed to parse JSON input: nested deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        // Go clients send `null` for "no data" (`bao write -f`, `bao unwrap`).
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(Error::invalid("request body must be a JSON object")),
        Err(e) => Err(Error::invalid(format!("failed to parse JSON input: {e}"))),
    }
}

async fn serve(
    state: &AppState,
    req: axum::extract::Request,
    seen: &mut crate::metrics::Observed,
) -> Result<HttpResponse, Error> {
    let (parts, body) = req.into_parts();
    let raw_path = parts.uri.path();
    let Some(rest) = raw_path.strip_prefix("/v1/") else {
        return Err(Error::NotFound);
    };
    let path = decode_path(rest)?;
    let mut query = parse_query(parts.uri.query().unwrap_or(""))?;
    let headers = &parts.headers;
    if metrics::is_metrics(&path) {
        metrics::negotiate(&mut query, headers);
        if state.options.unauthenticated_metrics_access {
            return metrics::serve_unauthenticated(&state.core, &parts.method, &query);
        }
    }

    // The raw, unauthenticated sys endpoints answer bare objects, not the envelope.
    let is_raw = sys_raw::is_raw(
        &path,
        !state.options.disable_unauthed_generate_root_endpoints,
    );
    // Snapshots stream their bodies (a restore may exceed the size limit, as in Vault).
    if let Some(route) = snapshot::route(&parts.method, &path, &query)? {
        return snapshot::serve(state, &parts, body, &path, route).await;
    }
    let body = read_body(body, headers, state.options.max_request_size).await?;
    if is_raw {
        let data = parse_body(&body, headers)?;
        return sys_raw::serve(&state.core, &parts.method, &path, &query, data).await;
    }

    let list_flag = match query.remove("list") {
        None => false,
        // Go's strconv.ParseBool spellings (hvac sends "True").
        Some(Value::String(s)) => match s.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
            "0" | "f" | "F" | "false" | "FALSE" | "False" | "" => false,
            _ => return Err(Error::invalid("list parameter must be a boolean")),
        },
        Some(_) => return Err(Error::invalid("list parameter must be a boolean")),
    };
    let operation = match parts.method.as_str() {
        "GET" if list_flag => Operation::List,
        "GET" | "HEAD" => Operation::Read,
        "LIST" => Operation::List,
        "POST" | "PUT" => Operation::Update,
        "DELETE" => Operation::Delete,
        "PATCH" => {
            let ct = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !ct.starts_with("application/merge-patch+json") {
                return Ok(error::refusal(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    vec![format!(
                        "PATCH requires Content-Type application/merge-patch+json, got {ct:?}"
                    )],
                ));
            }
            Operation::Patch
        }
        _ => return Ok(error::method_not_allowed()),
    };
    let mut path = path;
    if operation == Operation::List && !path.ends_with('/') {
        path.push('/');
    }
    let data = match operation {
        Operation::Read | Operation::List | Operation::Delete => {
            let mut data = query;
            if operation == Operation::Delete {
                data.extend(parse_body(&body, headers)?);
            }
            data
        }
        _ => parse_body(&body, headers)?,
    };
    let request_id = crate::util::uuid();
    let request = Request {
        operation,
        path,
        data,
        token: token_from(headers)?,
        wrap_ttl: wrap_ttl_from(headers)?,
        id: request_id.clone(),
        remote_addr: parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0),
    };
    let is_head = parts.method == Method::HEAD;
    let response = state.core.handle_observed(request, seen).await;
    Ok(render(operation, response, is_head, request_id))
}

fn render(
    operation: Operation,
    response: Result<crate::core::Response, Error>,
    is_head: bool,
    request_id: String,
) -> HttpResponse {
    let response = match response {
        Ok(r) => r,
        Err(e) => return error::response(&e),
    };
    if let Some(body) = &response.raw_body {
        return json_response(StatusCode::OK, body);
    }
    if let Some(raw) = response.raw_text {
        let mut resp = HttpResponse::new(Body::from(raw.body));
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(raw.content_type),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return resp;
    }
    if response.not_found_with_data {
        return json_response(StatusCode::NOT_FOUND, &response.envelope_ref(&request_id));
    }
    if response.is_empty() {
        return match operation {
            Operation::Read | Operation::List => error::response(&Error::NotFound),
            _ => empty_response(StatusCode::NO_CONTENT),
        };
    }
    if is_head {
        return empty_response(StatusCode::OK);
    }
    let request_id = if response.wrap_info.is_some() {
        String::new()
    } else {
        request_id
    };
    let status = if response.accepted {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    json_response(status, &response.envelope_ref(&request_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(decode_path("secret/data/a%20b").unwrap(), "secret/data/a b");
        assert_eq!(decode_path("secret/").unwrap(), "secret/");
        for bad in [
            "a/../b", "..", "a/./b", "a//b", "%2e%2e/x", "a/%2E%2E", "a%00b", "a\\b", "%ff", "%zz",
        ] {
            assert!(decode_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nesting_depth() {
        let nested = |d: usize| format!("{}1{}", "[".repeat(d), "]".repeat(d));
        assert!(!nested_deeper_than(nested(3).as_bytes(), 3));
        assert!(nested_deeper_than(nested(4).as_bytes(), 3));
        assert!(!nested_deeper_than(br#"{"a": [1, {"b": 2}], "c": {}}"#, 3));
        assert!(nested_deeper_than(br#"{"a": [1, {"b": [2]}]}"#, 3));
        // Brackets in strings, escaped quotes among them, are not nesting.
        assert!(!nested_deeper_than(br#"{"a": "[[[{{{", "b": "\"[[[["}"#, 1));
        assert!(nested_deeper_than(br#"{"a": "\\", "b": [[1]]}"#, 2));
    }

    #[test]
    fn queries() {
        let q = parse_query("list=true&version=2&k=a&k=b&x=%41").unwrap();
        assert_eq!(q["list"], "true");
        assert_eq!(q["k"], serde_json::json!(["a", "b"]));
        assert_eq!(q["x"], "A");
        // Values are data: a path-looking value is decoded, not refused or left encoded.
        let q = parse_query("token=a%2F..%2Fb&v=x+y%2B").unwrap();
        assert_eq!(q["token"], "a/../b");
        assert_eq!(q["v"], "x y+");
        assert!(parse_query("bad=%zz").is_err());
    }
}
