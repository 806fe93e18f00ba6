//! What the generate-root tests share: a small HTTP client, initialized Shamir servers,
//! OTPs and their decoding, the check of a new root token, and running `vaultrs` (also used
//! by `rekey_cli`).

use std::io::Write;
use std::process::{Command, Output, Stdio};

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::harness::{bin, http, ConfigServer};

/// Every key of the status object.
const STATUS_KEYS: &[&str] = &[
    "complete",
    "encoded_root_token",
    "encoded_token",
    "nonce",
    "otp",
    "otp_length",
    "pgp_fingerprint",
    "progress",
    "required",
    "started",
];

/// One response: status and JSON body (`Null` when empty).
pub(super) struct Resp {
    what: String,
    pub(super) status: u16,
    pub(super) body: Value,
}

impl Resp {
    #[track_caller]
    pub(super) fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "{}: {}", self.what, self.body);
        &self.body
    }

    /// The bare status object of a raw endpoint, with every key.
    #[track_caller]
    pub(super) fn status_object(&self) -> Value {
        let body = self.ok().clone();
        let mut keys: Vec<&str> = body
            .as_object()
            .unwrap_or_else(|| panic!("{}: not an object: {body}", self.what))
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, STATUS_KEYS, "{}: bare status keys", self.what);
        body
    }

    #[track_caller]
    pub(super) fn error(&self, status: u16, needle: &str) {
        assert_eq!(self.status, status, "{}: {}", self.what, self.body);
        let errors = self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no errors list: {}", self.what, self.body));
        assert!(
            errors
                .iter()
                .any(|e| e.as_str().is_some_and(|s| s.contains(needle))),
            "{}: expected an error containing {needle:?}, got {}",
            self.what,
            self.body
        );
    }

    #[track_caller]
    pub(super) fn no_content(&self) {
        assert_eq!(self.status, 204, "{}: {}", self.what, self.body);
    }
}

/// A small client: `token` is sent when set.
pub(super) struct Api {
    pub(super) addr: String,
    pub(super) token: Option<String>,
    client: reqwest::Client,
}

impl Api {
    pub(super) fn new(addr: &str, token: Option<&str>) -> Self {
        Self {
            addr: addr.to_owned(),
            token: token.map(str::to_owned),
            client: http(),
        }
    }

    pub(super) fn with_token(&self, token: &str) -> Self {
        Self::new(&self.addr, Some(token))
    }

    pub(super) fn anon(&self) -> Self {
        Self::new(&self.addr, None)
    }

    pub(super) async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let url = format!("{}/v1/{path}", self.addr);
        let mut req = self
            .client
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        if let Some(t) = &self.token {
            req = req.header("X-Vault-Token", t);
        }
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{method} {path}: body is not JSON ({e}): {bytes:?}"))
        };
        Resp {
            what: format!("{method} {path}"),
            status,
            body,
        }
    }

    pub(super) async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None).await
    }

    pub(super) async fn put(&self, path: &str, body: Value) -> Resp {
        self.call("PUT", path, Some(body)).await
    }

    pub(super) async fn delete(&self, path: &str) -> Resp {
        self.call("DELETE", path, None).await
    }

    /// `GET sys/generate-root/attempt`, checked for shape.
    pub(super) async fn attempt(&self) -> Value {
        self.get("sys/generate-root/attempt").await.status_object()
    }

    pub(super) async fn update(&self, key: &str, nonce: &str) -> Resp {
        self.put(
            "sys/generate-root/update",
            json!({ "key": key, "nonce": nonce }),
        )
        .await
    }
}

/// `PUT sys/init` with `shares`/`threshold`: (hex keys, base64 keys, root token).
pub(super) async fn init(
    api: &Api,
    shares: u32,
    threshold: u32,
) -> (Vec<String>, Vec<String>, String) {
    let body = api
        .anon()
        .put(
            "sys/init",
            json!({ "secret_shares": shares, "secret_threshold": threshold }),
        )
        .await
        .ok()
        .clone();
    let list = |k: &str| -> Vec<String> { serde_json::from_value(body[k].clone()).unwrap() };
    (
        list("keys"),
        list("keys_base64"),
        body["root_token"].as_str().unwrap().to_owned(),
    )
}

pub(super) async fn unseal(api: &Api, keys: &[String]) {
    for k in keys {
        api.anon().put("sys/unseal", json!({ "key": k })).await.ok();
    }
    let s = api.anon().get("sys/seal-status").await;
    assert_eq!(s.ok()["sealed"], false, "{}", s.body);
}

/// A 3-share, threshold-2 server, initialized and unsealed: (client with root, hex keys,
/// base64 keys).
pub(super) async fn shamir_server(
    extra_listener: &str,
) -> (ConfigServer, Api, Vec<String>, Vec<String>) {
    let srv = ConfigServer::start(extra_listener);
    let api = Api::new(&srv.addr, None);
    let (hex_keys, b64_keys, root) = init(&api, 3, 2).await;
    unseal(&api, &hex_keys[..2]).await;
    (srv, api.with_token(&root), hex_keys, b64_keys)
}

/// A base62 OTP of the server's length.
pub(super) fn make_otp(len: usize) -> String {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            B62[(seed % 62) as usize] as char
        })
        .collect()
}

/// `token XOR otp`, from the unpadded base64 the server returns.
#[track_caller]
pub(super) fn decode(encoded: &str, otp: &str) -> String {
    assert!(
        !encoded.contains('='),
        "encoded token must be base64 without padding: {encoded}"
    );
    let bytes = STANDARD_NO_PAD.decode(encoded).expect("raw std base64");
    assert_eq!(bytes.len(), otp.len(), "encoded token and OTP lengths");
    String::from_utf8(bytes.iter().zip(otp.bytes()).map(|(a, b)| a ^ b).collect()).unwrap()
}

/// The token is a live root token minted by generate-root.
pub(super) async fn assert_new_root(api: &Api, token: &str, old_root: Option<&str>) {
    assert!(
        token.starts_with("hvs.") && token.len() == 28,
        "new root token {token:?}"
    );
    if let Some(old) = old_root {
        assert_ne!(token, old, "a new token, not the old root");
    }
    let r = api.with_token(token).get("auth/token/lookup-self").await;
    let data = &r.ok()["data"];
    assert_eq!(data["policies"], json!(["root"]), "{}", r.body);
    assert_eq!(data["path"], "auth/token/root");
    assert_eq!(data["id"], token);
}

pub(super) fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `vaultrs <args>` against `addr` with no token, `stdin` piped.
pub(crate) fn cli(addr: &str, home: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env("HOME", home)
        .env("VAULT_ADDR", addr)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for v in [
        "VAULT_TOKEN",
        "VAULT_FORMAT",
        "VAULT_NAMESPACE",
        "VAULT_WRAP_TTL",
    ] {
        cmd.env_remove(v);
    }
    let mut child = cmd.spawn().expect("spawn vaultrs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().expect("wait for vaultrs")
}

#[track_caller]
pub(crate) fn ok_stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[track_caller]
pub(crate) fn json_stdout(out: &Output) -> Value {
    let s = ok_stdout(out);
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}
