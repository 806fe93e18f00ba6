//! The HTTP client: address, token, TLS and namespace handling, the token helper file, and
//! Vault's error text (`Error making API request.` with URL, code and the `* errors` list).
//!
//! Reads follow Vault's Go client: a 404 whose body carries data or warnings is a response
//! (KV v2 soft-deleted versions, "invalid path" warnings), any other 404 means "nothing there".

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::blocking::{Client as Http, RequestBuilder};
use reqwest::Method;
use serde_json::Value;

use crate::api::Secret;
use crate::ui::Env;
use crate::{Exit, HttpArgs};

/// A failed API call, printed as Vault prints it.
#[derive(Debug)]
pub struct ApiError {
    pub method: String,
    pub url: String,
    pub status: u16,
    pub errors: Vec<String>,
    /// The body was not Vault's JSON error envelope; `errors` holds it raw.
    pub raw: bool,
    pub namespace: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error making API request.\n\n")?;
        if let Some(ns) = &self.namespace {
            writeln!(f, "Namespace: {ns}")?;
        }
        let kind = if self.raw { "Raw Message" } else { "Errors" };
        write!(
            f,
            "URL: {} {}\nCode: {}. {kind}:\n\n",
            self.method, self.url, self.status
        )?;
        if self.raw && self.errors.len() == 1 {
            write!(f, "{}", self.errors[0])
        } else {
            let lines: Vec<String> = self.errors.iter().map(|e| format!("* {e}")).collect();
            write!(f, "{}", lines.join("\n"))
        }
    }
}

impl std::error::Error for ApiError {}

/// The server could not be reached (or answered something that is not HTTP).
#[derive(Debug)]
pub struct TransportError(pub String);

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportError {}

/// A raw HTTP answer.
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    pub method: String,
    pub url: String,
}

impl Response {
    /// The body as JSON (`null` when empty).
    pub fn json(&self) -> Result<Value> {
        if self.body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "Error parsing the response of {} {} as JSON",
                self.method, self.url
            )
        })
    }
}

/// Where `login` stores the token and every command finds it when `VAULT_TOKEN` is unset.
pub fn token_helper_path(env: &Env) -> Option<PathBuf> {
    let home = env.get("HOME").or_else(|| env.get("USERPROFILE"))?;
    Some(PathBuf::from(home).join(".vault-token"))
}

/// The token to send: `VAULT_TOKEN`, else the token helper file.
pub fn resolve_token(env: &Env) -> Option<String> {
    if let Some(t) = env.get("VAULT_TOKEN") {
        return Some(t.trim().to_string());
    }
    let path = token_helper_path(env)?;
    let s = std::fs::read_to_string(path).ok()?;
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Stores a token in the token helper file: no trailing newline, mode 0600, written to a
/// temporary file and renamed into place.
pub fn store_token(env: &Env, token: &str) -> Result<()> {
    let path = token_helper_path(env).context("HOME is not set, so there is no ~/.vault-token")?;
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("Error opening {}", tmp.display()))?;
        f.write_all(token.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path).with_context(|| format!("Error writing {}", path.display()))?;
    Ok(())
}

/// An HTTP client for one server, configured from the HTTP flags and the environment.
pub struct Client {
    http: Http,
    /// The flags it was built from (a streaming client is built from them on demand).
    args: HttpArgs,
    pub address: String,
    pub token: Option<String>,
    pub namespace: Option<String>,
    /// `X-Vault-Wrap-TTL` for the command's main request (never for preflight calls).
    pub wrap_ttl: Option<String>,
}

impl Client {
    pub fn new(args: &HttpArgs, env: &Env) -> Result<Client> {
        let http = http_client(args, Some(Duration::from_secs(60)))?;
        let address = args.address.trim_end_matches('/').to_string();
        if !(address.starts_with("http://") || address.starts_with("https://")) {
            return Err(Exit::local(format!(
                "Invalid address {:?}: it must start with http:// or https://",
                args.address
            ))
            .into());
        }
        Ok(Client {
            http,
            args: args.clone(),
            address,
            token: resolve_token(env),
            namespace: args.namespace.clone().filter(|n| !n.is_empty()),
            wrap_ttl: args.wrap_ttl.clone().filter(|w| !w.is_empty()),
        })
    }

    /// A copy of this client that does not ask for response wrapping.
    pub fn without_wrapping(&self) -> Client {
        Client {
            http: self.http.clone(),
            args: self.args.clone(),
            address: self.address.clone(),
            token: self.token.clone(),
            namespace: self.namespace.clone(),
            wrap_ttl: None,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{}", self.address, path.trim_start_matches('/'))
    }

    fn builder(&self, method: Method, url: &str) -> RequestBuilder {
        self.builder_on(&self.http, method, url)
    }

    fn builder_on(&self, http: &Http, method: Method, url: &str) -> RequestBuilder {
        let mut r = http.request(method, url).header("X-Vault-Request", "true");
        if let Some(t) = &self.token {
            r = r.header("X-Vault-Token", t);
        }
        if let Some(ns) = &self.namespace {
            r = r.header("X-Vault-Namespace", ns);
        }
        if let Some(w) = &self.wrap_ttl {
            r = r.header("X-Vault-Wrap-TTL", w);
        }
        r
    }

    /// Sends one request and returns the raw answer, whatever its status.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Response> {
        let mut url = self.url(path);
        if !query.is_empty() {
            let q: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            url = format!("{url}?{}", q.join("&"));
        }
        let m = Method::from_bytes(method.as_bytes()).context("invalid HTTP method")?;
        let mut r = self.builder(m, &url);
        if let Some(b) = body {
            let ct = if method == "PATCH" {
                "application/merge-patch+json"
            } else {
                "application/json"
            };
            r = r.header("Content-Type", ct).body(serde_json::to_vec(b)?);
        }
        let resp = r.send().map_err(|e| transport(method, &url, &e))?;
        read_response(resp, method, url)
    }

    /// A GET whose body is read as it arrives, with no total timeout (snapshots). An error
    /// status becomes [`ApiError`].
    pub fn get_stream(&self, path: &str) -> Result<reqwest::blocking::Response> {
        let url = self.url(path);
        let http = http_client(&self.args, None)?;
        let resp = self
            .builder_on(&http, Method::GET, &url)
            .send()
            .map_err(|e| transport("GET", &url, &e))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        // An error body is small; read at most this much of whatever came.
        let _ = std::io::Read::read_to_end(&mut std::io::Read::take(resp, 1 << 20), &mut body);
        let resp = Response {
            status,
            body,
            method: "GET".into(),
            url,
        };
        self.check(&resp)?;
        Err(TransportError(format!("unexpected status {status} from {}", resp.url)).into())
    }

    /// A POST of a streamed body with no total timeout (snapshot restores); the raw answer.
    pub fn post_stream(&self, path: &str, body: reqwest::blocking::Body) -> Result<Response> {
        let url = self.url(path);
        let http = http_client(&self.args, None)?;
        let resp = self
            .builder_on(&http, Method::POST, &url)
            .header("Content-Type", "application/octet-stream")
            .body(body)
            .send()
            .map_err(|e| transport("POST", &url, &e))?;
        read_response(resp, "POST", url)
    }

    /// Turns an error status into [`ApiError`].
    pub fn check(&self, resp: &Response) -> Result<(), ApiError> {
        if (200..400).contains(&resp.status) {
            return Ok(());
        }
        let parsed: Option<Vec<String>> = serde_json::from_slice::<Value>(&resp.body)
            .ok()
            .and_then(|v| v.get("errors").cloned())
            .and_then(|e| serde_json::from_value(e).ok());
        let (errors, raw) = match parsed {
            Some(e) => (e, false),
            None => (vec![String::from_utf8_lossy(&resp.body).into_owned()], true),
        };
        Err(ApiError {
            method: resp.method.clone(),
            url: resp.url.clone(),
            status: resp.status,
            errors,
            raw,
            namespace: self.namespace.clone(),
        })
    }

    /// A logical read: `Ok(None)` when there is nothing at the path.
    pub fn read(&self, path: &str) -> Result<Option<Secret>> {
        self.read_with(path, &[])
    }

    /// A logical read with query parameters.
    pub fn read_with(&self, path: &str, query: &[(String, String)]) -> Result<Option<Secret>> {
        let resp = self.send("GET", path, query, None)?;
        self.parse_read(resp)
    }

    /// A logical list (`GET ?list=true`, as the Go client sends it).
    pub fn list(&self, path: &str) -> Result<Option<Secret>> {
        let resp = self.send(
            "GET",
            path,
            &[("list".to_string(), "true".to_string())],
            None,
        )?;
        self.parse_read(resp)
    }

    fn parse_read(&self, resp: Response) -> Result<Option<Secret>> {
        if resp.status == 404 {
            return match Secret::parse(&resp.body) {
                Ok(Some(s)) if s.has_content() => Ok(Some(s)),
                _ => Ok(None),
            };
        }
        self.check(&resp)?;
        Secret::parse(&resp.body)
    }

    /// A logical write (`PUT` with a JSON body).
    pub fn write(&self, path: &str, data: &Value) -> Result<Option<Secret>> {
        let resp = self.send("PUT", path, &[], Some(data))?;
        self.parse_write(resp)
    }

    /// A JSON merge patch.
    pub fn patch(&self, path: &str, data: &Value) -> Result<Option<Secret>> {
        let resp = self.send("PATCH", path, &[], Some(data))?;
        self.parse_write(resp)
    }

    /// A logical delete.
    pub fn delete(&self, path: &str, query: &[(String, String)]) -> Result<Option<Secret>> {
        let resp = self.send("DELETE", path, query, None)?;
        self.parse_write(resp)
    }

    fn parse_write(&self, resp: Response) -> Result<Option<Secret>> {
        self.check(&resp)?;
        Secret::parse(&resp.body)
    }

    /// A raw GET of an endpoint that answers bare JSON (`sys/seal-status`, `sys/init`, ...).
    pub fn get_json(&self, path: &str) -> Result<Value> {
        let resp = self.send("GET", path, &[], None)?;
        self.check(&resp)?;
        resp.json()
    }

    /// A raw PUT of an endpoint that answers bare JSON.
    pub fn put_json(&self, path: &str, body: &Value) -> Result<Value> {
        let resp = self.send("PUT", path, &[], Some(body))?;
        self.check(&resp)?;
        resp.json()
    }
}

/// The HTTP client for `args`: TLS settings, and a total timeout per request when given
/// (snapshots stream for as long as they take, so theirs has none).
fn http_client(args: &HttpArgs, timeout: Option<Duration>) -> Result<Http> {
    let mut b = Http::builder()
        .user_agent(concat!("vaultrs-cli/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30));
    b = b.timeout(timeout);
    if let Some(ca) = &args.ca_cert {
        let pem = std::fs::read(ca)
            .with_context(|| format!("Error reading the CA certificate {}", ca.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("Error parsing the CA certificate {}", ca.display()))?;
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    if let Some(dir) = &args.ca_path {
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("Error reading the CA directory {}", dir.display()))?;
        for e in entries.flatten() {
            if let Ok(pem) = std::fs::read(e.path()) {
                for c in reqwest::Certificate::from_pem_bundle(&pem).unwrap_or_default() {
                    b = b.add_root_certificate(c);
                }
            }
        }
    }
    if args.tls_skip_verify {
        b = b.danger_accept_invalid_certs(true);
    }
    b.build().context("Error building the HTTP client")
}

/// The whole answer to `method` `url`.
fn read_response(resp: reqwest::blocking::Response, method: &str, url: String) -> Result<Response> {
    let status = resp.status().as_u16();
    let body = resp
        .bytes()
        .map_err(|e| TransportError(format!("reading the response of {url}: {e}")))?
        .to_vec();
    Ok(Response {
        status,
        body,
        method: method.to_string(),
        url,
    })
}

/// A request that got no HTTP answer, said as Go's client says it.
fn transport(method: &str, url: &str, e: &reqwest::Error) -> TransportError {
    let mut msg = format!("{} {:?}: ", go_method(method), url);
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut last = e.to_string();
    while let Some(s) = src {
        last = s.to_string();
        src = s.source();
    }
    msg.push_str(&last);
    TransportError(msg)
}

/// Go's client names methods like this in transport errors (`Get "http://..."`).
fn go_method(m: &str) -> String {
    let mut s = m.to_ascii_lowercase();
    if let Some(f) = s.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    s
}

/// Percent-encodes a query component.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_reads_like_vault() {
        let e = ApiError {
            method: "PUT".into(),
            url: "http://127.0.0.1:8200/v1/sys/mounts/x".into(),
            status: 400,
            errors: vec!["path is already in use at x/".into()],
            raw: false,
            namespace: None,
        };
        assert_eq!(
            e.to_string(),
            "Error making API request.\n\nURL: PUT http://127.0.0.1:8200/v1/sys/mounts/x\nCode: 400. Errors:\n\n* path is already in use at x/"
        );
        let raw = ApiError {
            raw: true,
            errors: vec!["<html>".into()],
            status: 502,
            ..e
        };
        assert!(raw
            .to_string()
            .ends_with("Code: 502. Raw Message:\n\n<html>"));
    }

    #[test]
    fn token_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap();
        let mut env = Env::from_pairs([("HOME", home)]);
        assert_eq!(resolve_token(&env), None);
        store_token(&env, "from-file").unwrap();
        let raw = std::fs::read(dir.path().join(".vault-token")).unwrap();
        assert_eq!(raw, b"from-file");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(".vault-token"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(resolve_token(&env).as_deref(), Some("from-file"));
        env.set("VAULT_TOKEN", "from-env");
        assert_eq!(resolve_token(&env).as_deref(), Some("from-env"));
    }

    #[test]
    fn query_encoding() {
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }
}
