//! generate-root end to end: the unauthenticated `sys/generate-root/*` endpoints over HTTP
//! (OTP given and generated, decode, the new token works, cancel, wrong nonce, duplicate
//! and wrong keys, sealed), OpenBao's authenticated `sys/generate-root-token/*` twin, the
//! listener option that turns the raw family off, and `vaultrs operator generate-root`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use crate::harness::{bin, http, ConfigServer, TestServer};

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
struct Resp {
    what: String,
    status: u16,
    body: Value,
}

impl Resp {
    #[track_caller]
    fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "{}: {}", self.what, self.body);
        &self.body
    }

    /// The bare status object of a raw endpoint, with every key.
    #[track_caller]
    fn status_object(&self) -> Value {
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
    fn error(&self, status: u16, needle: &str) {
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
    fn no_content(&self) {
        assert_eq!(self.status, 204, "{}: {}", self.what, self.body);
    }
}

/// A small client: `token` is sent when set.
struct Api {
    addr: String,
    token: Option<String>,
    client: reqwest::Client,
}

impl Api {
    fn new(addr: &str, token: Option<&str>) -> Self {
        Self {
            addr: addr.to_owned(),
            token: token.map(str::to_owned),
            client: http(),
        }
    }

    fn with_token(&self, token: &str) -> Self {
        Self::new(&self.addr, Some(token))
    }

    fn anon(&self) -> Self {
        Self::new(&self.addr, None)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
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

    async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None).await
    }

    async fn put(&self, path: &str, body: Value) -> Resp {
        self.call("PUT", path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> Resp {
        self.call("DELETE", path, None).await
    }

    /// `GET sys/generate-root/attempt`, checked for shape.
    async fn attempt(&self) -> Value {
        self.get("sys/generate-root/attempt").await.status_object()
    }

    async fn update(&self, key: &str, nonce: &str) -> Resp {
        self.put(
            "sys/generate-root/update",
            json!({ "key": key, "nonce": nonce }),
        )
        .await
    }
}

/// `PUT sys/init` with `shares`/`threshold`: (hex keys, base64 keys, root token).
async fn init(api: &Api, shares: u32, threshold: u32) -> (Vec<String>, Vec<String>, String) {
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

async fn unseal(api: &Api, keys: &[String]) {
    for k in keys {
        api.anon().put("sys/unseal", json!({ "key": k })).await.ok();
    }
    let s = api.anon().get("sys/seal-status").await;
    assert_eq!(s.ok()["sealed"], false, "{}", s.body);
}

/// A 3-share, threshold-2 server, initialized and unsealed: (client with root, hex keys,
/// base64 keys).
async fn shamir_server(extra_listener: &str) -> (ConfigServer, Api, Vec<String>, Vec<String>) {
    let srv = ConfigServer::start(extra_listener);
    let api = Api::new(&srv.addr, None);
    let (hex_keys, b64_keys, root) = init(&api, 3, 2).await;
    unseal(&api, &hex_keys[..2]).await;
    (srv, api.with_token(&root), hex_keys, b64_keys)
}

/// A base62 OTP of the server's length.
fn make_otp(len: usize) -> String {
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
fn decode(encoded: &str, otp: &str) -> String {
    assert!(
        !encoded.contains('='),
        "encoded token must be base64 without padding: {encoded}"
    );
    let bytes = STANDARD_NO_PAD.decode(encoded).expect("raw std base64");
    assert_eq!(bytes.len(), otp.len(), "encoded token and OTP lengths");
    String::from_utf8(bytes.iter().zip(otp.bytes()).map(|(a, b)| a ^ b).collect()).unwrap()
}

/// The token is a live root token minted by generate-root.
async fn assert_new_root(api: &Api, token: &str, old_root: Option<&str>) {
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

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

// ---- HTTP: the raw family ---------------------------------------------------------------

#[tokio::test]
async fn http_flow_with_given_and_generated_otp_then_cancel() {
    let (_srv, root, hex_keys, b64_keys) = shamir_server("").await;
    let old_root = root.token.clone().unwrap();
    let anon = root.anon();

    // Nothing in progress: every field, Vault's values.
    let st = anon.attempt().await;
    assert_eq!(st["started"], false);
    assert_eq!(st["nonce"], "");
    assert_eq!(st["progress"], 0);
    assert_eq!(st["required"], 2);
    assert_eq!(st["complete"], false);
    assert_eq!(st["otp"], "");
    assert_eq!(st["otp_length"], 28);
    assert_eq!(st["encoded_token"], "");
    assert_eq!(st["pgp_fingerprint"], "");

    // Start with our own OTP: it is never echoed.
    let otp = make_otp(28);
    let r = anon
        .put(
            "sys/generate-root/attempt",
            json!({ "otp": otp, "pgp_key": "" }),
        )
        .await;
    let started = r.status_object();
    assert_eq!(started["started"], true);
    assert_eq!(started["otp"], "", "a given OTP is not returned");
    assert_eq!(started["progress"], 0);
    let nonce = started["nonce"].as_str().unwrap().to_owned();
    assert!(is_uuid(&nonce), "nonce {nonce:?}");

    // A second start is refused; the first attempt stands.
    anon.put("sys/generate-root/attempt", json!({}))
        .await
        .error(400, "root generation already in progress");
    assert_eq!(anon.attempt().await["nonce"], nonce);

    // Wrong nonce, missing key, garbage key.
    anon.update(&hex_keys[0], "not-the-nonce")
        .await
        .error(400, "incorrect nonce");
    anon.put("sys/generate-root/update", json!({ "nonce": nonce }))
        .await
        .error(400, "'key' must be specified");
    anon.update("not a key!", &nonce)
        .await
        .error(400, "valid hex or base64");
    assert_eq!(anon.attempt().await["progress"], 0);

    // One key (hex): progress, nothing encoded yet.
    let r = anon.update(&hex_keys[0], &nonce).await;
    let one = r.status_object();
    assert_eq!(
        (
            &one["started"],
            &one["progress"],
            &one["required"],
            &one["complete"]
        ),
        (&json!(true), &json!(1), &json!(2), &json!(false))
    );
    assert_eq!(one["nonce"], nonce);
    assert_eq!(one["encoded_token"], "");

    // The same share again, as hex or as base64: refused, progress kept.
    anon.update(&hex_keys[0], &nonce)
        .await
        .error(400, "already been provided");
    anon.update(&b64_keys[0], &nonce)
        .await
        .error(400, "already been provided");
    let st = anon.attempt().await;
    assert_eq!((&st["progress"], &st["nonce"]), (&json!(1), &json!(nonce)));

    // Field names match case-insensitively, as Go decodes them.
    let r = anon
        .put(
            "sys/generate-root/update",
            json!({ "Key": b64_keys[1], "NONCE": nonce }),
        )
        .await;
    let done = r.status_object();
    assert_eq!(done["complete"], true);
    assert_eq!(done["progress"], 2);
    assert_eq!(done["required"], 2);
    let encoded = done["encoded_token"].as_str().unwrap().to_owned();
    assert_eq!(done["encoded_root_token"], encoded.as_str());
    let token = decode(&encoded, &otp);
    assert_new_root(&root, &token, Some(&old_root)).await;

    // The attempt is over; updates now find nothing.
    let st = anon.attempt().await;
    assert_eq!((&st["started"], &st["nonce"]), (&json!(false), &json!("")));
    anon.update(&hex_keys[0], &nonce)
        .await
        .error(400, "no root generation in progress");

    // A server-generated OTP, returned in the start response only.
    let r = anon.put("sys/generate-root/attempt", json!({})).await;
    let started = r.status_object();
    let otp = started["otp"].as_str().unwrap().to_owned();
    assert_eq!(otp.len(), 28, "generated OTP {otp:?}");
    assert!(otp.chars().all(|c| c.is_ascii_alphanumeric()));
    let nonce = started["nonce"].as_str().unwrap().to_owned();
    assert_eq!(anon.attempt().await["otp"], "", "the OTP is shown once");
    anon.update(&hex_keys[2], &nonce).await.status_object();
    let done = anon.update(&b64_keys[1], &nonce).await.status_object();
    assert_eq!(done["complete"], true);
    let second = decode(done["encoded_token"].as_str().unwrap(), &otp);
    assert_new_root(&root, &second, Some(&token)).await;

    // Cancel: progress and attempt gone; cancelling again (or with nothing) is 204 too.
    let started = anon
        .put("sys/generate-root/attempt", json!({ "otp": make_otp(28) }))
        .await
        .status_object();
    let nonce = started["nonce"].as_str().unwrap().to_owned();
    anon.update(&hex_keys[0], &nonce).await.status_object();
    anon.delete("sys/generate-root/attempt").await.no_content();
    let st = anon.attempt().await;
    assert_eq!(
        (&st["started"], &st["progress"], &st["nonce"]),
        (&json!(false), &json!(0), &json!(""))
    );
    anon.delete("sys/generate-root/attempt").await.no_content();
    anon.update(&hex_keys[1], &nonce)
        .await
        .error(400, "no root generation in progress");
    // A new attempt after the cancel gets a new nonce and starts from zero.
    let again = anon
        .put("sys/generate-root/attempt", json!({}))
        .await
        .status_object();
    assert_ne!(again["nonce"], nonce.as_str());
    assert_eq!(again["progress"], 0);
    anon.delete("sys/generate-root/attempt").await.no_content();
}

#[tokio::test]
async fn bad_otps_pgp_and_methods_are_refused() {
    let srv = TestServer::dev();
    let anon = Api::new(&srv.addr, None);
    for otp in [make_otp(27), make_otp(29), make_otp(24)] {
        anon.put("sys/generate-root/attempt", json!({ "otp": otp }))
            .await
            .error(400, "OTP string is wrong length");
    }
    anon.put(
        "sys/generate-root/attempt",
        json!({ "pgp_key": "bXkgcGdwIGtleQ==" }),
    )
    .await
    .error(400, "PGP");
    anon.put("sys/generate-root/attempt", json!({ "otp": 12 }))
        .await
        .error(400, "must be a string");
    assert_eq!(anon.attempt().await["started"], false, "nothing started");
    let r = anon.call("PATCH", "sys/generate-root/attempt", None).await;
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.body, json!({ "errors": [] }));
    let r = anon.get("sys/generate-root/update").await;
    assert_eq!(r.status, 405, "{}", r.body);
}

#[tokio::test]
async fn wrong_keys_reset_progress_and_sealing_ends_the_attempt() {
    let (_srv, root, hex_keys, b64_keys) = shamir_server("").await;
    let anon = root.anon();

    // Another server: its keys are well-formed shares of a different unseal key. Before
    // init it answers 400, initialized but sealed 503.
    let other_srv = ConfigServer::start("");
    let other = Api::new(&other_srv.addr, None);
    other
        .get("sys/generate-root/attempt")
        .await
        .error(400, "not yet initialized");
    let (other_keys, _, _) = init(&other, 3, 2).await;
    other
        .get("sys/generate-root/attempt")
        .await
        .error(503, "sealed");
    other
        .put("sys/generate-root/attempt", json!({}))
        .await
        .error(503, "sealed");
    other
        .delete("sys/generate-root/attempt")
        .await
        .error(503, "sealed");

    let otp = make_otp(28);
    let nonce = anon
        .put("sys/generate-root/attempt", json!({ "otp": otp }))
        .await
        .status_object()["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    anon.update(&hex_keys[0], &nonce).await.status_object();
    // A share of the wrong length: refused, progress kept.
    anon.update(&STANDARD.encode([9u8; 32]), &nonce)
        .await
        .error(400, "must be 33 bytes");
    assert_eq!(anon.attempt().await["progress"], 1);
    // The quorum is reached with a foreign share: invalid, progress back to 0, the attempt
    // (nonce, OTP) kept.
    anon.update(&other_keys[0], &nonce)
        .await
        .error(400, "invalid key");
    let st = anon.attempt().await;
    assert_eq!(
        (&st["started"], &st["progress"], &st["nonce"]),
        (&json!(true), &json!(0), &json!(nonce))
    );
    // Two foreign shares only: as wrong.
    anon.update(&other_keys[1], &nonce).await.status_object();
    anon.update(&other_keys[2], &nonce)
        .await
        .error(400, "invalid key");
    assert_eq!(anon.attempt().await["progress"], 0);
    // The right keys still complete the same attempt with the same OTP.
    anon.update(&b64_keys[2], &nonce).await.status_object();
    let done = anon.update(&hex_keys[1], &nonce).await.status_object();
    assert_eq!(done["complete"], true);
    let token = decode(done["encoded_token"].as_str().unwrap(), &otp);
    assert_new_root(&root, &token, root.token.as_deref()).await;

    // An attempt does not survive a seal.
    let nonce = anon
        .put("sys/generate-root/attempt", json!({}))
        .await
        .status_object()["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    anon.update(&hex_keys[0], &nonce).await.status_object();
    root.put("sys/seal", json!({})).await.no_content();
    anon.get("sys/generate-root/attempt")
        .await
        .error(503, "sealed");
    anon.update(&hex_keys[1], &nonce).await.error(503, "sealed");
    unseal(&anon, &hex_keys[1..]).await;
    let st = anon.attempt().await;
    assert_eq!(
        (&st["started"], &st["progress"]),
        (&json!(false), &json!(0))
    );
}

#[tokio::test]
async fn dev_server_one_key_flow_and_the_authenticated_twin() {
    let srv = TestServer::dev();
    let key = srv.dev_unseal_key();
    let root = Api::new(&srv.addr, Some("root"));
    let anon = root.anon();

    // Raw, 1 of 1, with the dev key as printed (base64) and as hex.
    let st = anon.attempt().await;
    assert_eq!(
        (&st["required"], &st["otp_length"]),
        (&json!(1), &json!(28))
    );
    let otp = make_otp(28);
    let nonce = anon
        .put("sys/generate-root/attempt", json!({ "otp": otp }))
        .await
        .status_object()["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = anon.update(&key, &nonce).await.status_object();
    assert_eq!(
        (&done["complete"], &done["progress"], &done["required"]),
        (&json!(true), &json!(1), &json!(1))
    );
    let first = decode(done["encoded_token"].as_str().unwrap(), &otp);
    assert_new_root(&root, &first, Some("root")).await;
    let hex_key: String = STANDARD
        .decode(&key)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let nonce = anon
        .put("sys/generate-root/attempt", json!({ "otp": otp }))
        .await
        .status_object()["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    // A wrong 1-of-1 key: invalid, the attempt stays.
    anon.update(&STANDARD.encode([1u8; 32]), &nonce)
        .await
        .error(400, "invalid key");
    let done = anon.update(&hex_key, &nonce).await.status_object();
    assert_new_root(
        &root,
        &decode(done["encoded_token"].as_str().unwrap(), &otp),
        Some(&first),
    )
    .await;

    // The authenticated twin: a token is required, and sudo on it.
    let twin = "sys/generate-root-token/attempt";
    let update = "sys/generate-root-token/update";
    anon.get(twin).await.error(403, "permission denied");
    anon.put(twin, json!({}))
        .await
        .error(403, "permission denied");
    anon.delete(twin).await.error(403, "permission denied");
    for (name, caps) in [
        ("gr-nosudo", r#"["create", "read", "update", "delete"]"#),
        (
            "gr-sudo",
            r#"["create", "read", "update", "delete", "sudo"]"#,
        ),
    ] {
        let policy = format!(
            "path \"sys/generate-root-token/*\" {{ capabilities = {caps} }}\n\
             path \"sys/decode-token\" {{ capabilities = [\"update\"] }}\n"
        );
        root.put(
            &format!("sys/policies/acl/{name}"),
            json!({ "policy": policy }),
        )
        .await
        .no_content();
    }
    let token_with = |policy: &str| {
        let root = &root;
        let policy = policy.to_owned();
        async move {
            let r = root
                .put("auth/token/create", json!({ "policies": [policy] }))
                .await;
            r.ok()["auth"]["client_token"].as_str().unwrap().to_owned()
        }
    };
    let nosudo = root.with_token(&token_with("gr-nosudo").await);
    let sudo = root.with_token(&token_with("gr-sudo").await);
    nosudo.get(twin).await.error(403, "permission denied");
    nosudo
        .put(twin, json!({}))
        .await
        .error(403, "permission denied");
    nosudo
        .put(update, json!({ "key": key, "nonce": "x" }))
        .await
        .error(403, "permission denied");

    // With sudo: the same fields, in the data envelope.
    let r = sudo.get(twin).await;
    let st = r.ok()["data"].clone();
    assert_eq!(
        (&st["started"], &st["required"], &st["otp_length"]),
        (&json!(false), &json!(1), &json!(28))
    );
    let r = sudo.put(twin, json!({})).await;
    let started = r.ok()["data"].clone();
    let otp = started["otp"].as_str().unwrap().to_owned();
    assert_eq!(otp.len(), 28);
    let nonce = started["nonce"].as_str().unwrap().to_owned();
    // The twin and the raw family share the one attempt.
    assert_eq!(anon.attempt().await["nonce"], nonce.as_str());
    sudo.put(twin, json!({}))
        .await
        .error(400, "root generation already in progress");
    sudo.put(update, json!({ "key": key }))
        .await
        .error(400, "nonce is required");
    sudo.put(update, json!({ "key": key, "nonce": "wrong" }))
        .await
        .error(400, "incorrect nonce");
    let r = sudo
        .put(update, json!({ "key": key, "nonce": nonce }))
        .await;
    let done = r.ok()["data"].clone();
    assert_eq!(
        (&done["complete"], &done["progress"]),
        (&json!(true), &json!(1))
    );
    let encoded = done["encoded_token"].as_str().unwrap().to_owned();
    assert_eq!(done["encoded_root_token"], encoded.as_str());
    let token = decode(&encoded, &otp);
    assert_new_root(&root, &token, Some("root")).await;
    // The server-side decode gives the same token.
    let r = sudo
        .put(
            "sys/decode-token",
            json!({ "encoded_token": encoded, "otp": otp }),
        )
        .await;
    assert_eq!(r.ok()["data"]["token"], token.as_str());
    sudo.put("sys/decode-token", json!({ "encoded_token": encoded }))
        .await
        .error(400, "empty");

    // Cancel through the twin: 204, also with nothing running.
    sudo.put(twin, json!({})).await.ok();
    sudo.delete(twin).await.no_content();
    assert_eq!(anon.attempt().await["started"], false);
    sudo.delete(twin).await.no_content();
}

#[tokio::test]
async fn listener_option_turns_the_raw_family_off() {
    let srv = ConfigServer::start("disable_unauthed_generate_root_endpoints = true");
    let api = Api::new(&srv.addr, None);
    let (keys, _, root_token) = init(&api, 1, 1).await;
    unseal(&api, &keys).await;
    let root = api.with_token(&root_token);
    // Off: the paths are ordinary authenticated paths that do not exist (as OpenBao).
    for (method, path) in [
        ("GET", "sys/generate-root/attempt"),
        ("PUT", "sys/generate-root/attempt"),
        ("DELETE", "sys/generate-root/attempt"),
        ("PUT", "sys/generate-root/update"),
    ] {
        api.call(method, path, Some(json!({})))
            .await
            .error(403, "permission denied");
        let r = root.call(method, path, Some(json!({}))).await;
        assert_eq!(
            r.status, 404,
            "{method} {path} with a root token: {}",
            r.body
        );
    }
    // The other raw endpoints are untouched, and the twin still works with sudo.
    assert_eq!(api.get("sys/seal-status").await.ok()["sealed"], false);
    let otp = make_otp(28);
    let r = root
        .put("sys/generate-root-token/attempt", json!({ "otp": otp }))
        .await;
    let nonce = r.ok()["data"]["nonce"].as_str().unwrap().to_owned();
    let r = root
        .put(
            "sys/generate-root-token/update",
            json!({ "key": keys[0], "nonce": nonce }),
        )
        .await;
    let encoded = r.ok()["data"]["encoded_token"].as_str().unwrap().to_owned();
    assert_new_root(&root, &decode(&encoded, &otp), Some(&root_token)).await;
}

// ---- the CLI ----------------------------------------------------------------------------

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

#[tokio::test]
async fn cli_generate_otp_init_keys_decode_status_and_cancel() {
    let (_srv, root, hex_keys, b64_keys) = shamir_server("").await;
    let home = tempfile::tempdir().unwrap();
    let addr = root.addr.clone();
    let run = |args: &[&str], stdin: &str| {
        let mut argv = vec!["operator", "generate-root"];
        argv.extend_from_slice(args);
        cli(&addr, home.path(), &argv, stdin)
    };

    // Status with nothing started.
    let st = json_stdout(&run(&["-status", "-format=json"], ""));
    assert_eq!(
        (&st["started"], &st["required"], &st["otp_length"]),
        (&json!(false), &json!(2), &json!(28))
    );
    let table = ok_stdout(&run(&["-status"], ""));
    assert!(
        table.contains("Started") && table.contains("false"),
        "{table}"
    );
    assert!(table.contains("0/2"), "{table}");

    // Giving a key with nothing started is an error.
    let out = run(&[&hex_keys[0]], "");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No root generation is in progress"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // -generate-otp, then -init -otp.
    let otp = ok_stdout(&run(&["-generate-otp"], "")).trim().to_owned();
    assert_eq!(otp.len(), 28, "{otp:?}");
    let st = json_stdout(&run(&["-init", &format!("-otp={otp}"), "-format=json"], ""));
    assert_eq!((&st["started"], &st["otp"]), (&json!(true), &json!("")));
    let nonce = st["nonce"].as_str().unwrap().to_owned();
    // Starting twice fails.
    let out = run(&["-init"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already in progress"));

    // A wrong nonce is refused.
    let out = run(&["-nonce=nope", &hex_keys[0]], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("incorrect nonce"));

    // First key as an argument (table output), second from the prompt (standard input).
    let table = ok_stdout(&run(&[&format!("-nonce={nonce}"), &hex_keys[0]], ""));
    assert!(table.contains("1/2"), "{table}");
    let done = json_stdout(&run(&["-format=json"], &format!("{}\n", b64_keys[1])));
    assert_eq!(done["complete"], true, "{done}");
    let encoded = done["encoded_token"].as_str().unwrap().to_owned();
    assert_eq!(done["encoded_root_token"], encoded.as_str());

    // -decode=ENCODED -otp=OTP, and -decode=- with the encoded token on standard input.
    let token = ok_stdout(&run(
        &[&format!("-decode={encoded}"), &format!("-otp={otp}")],
        "",
    ))
    .trim()
    .to_owned();
    assert_eq!(token, decode(&encoded, &otp));
    let from_stdin = ok_stdout(&run(
        &["-decode=-", &format!("-otp={otp}")],
        &format!("{encoded}\n"),
    ))
    .trim()
    .to_owned();
    assert_eq!(from_stdin, token);
    let as_json = json_stdout(&run(
        &["-decode=-", &format!("-otp={otp}"), "-format=json"],
        &encoded,
    ));
    assert_eq!(as_json["token"], token.as_str(), "{as_json}");
    assert_new_root(&root, &token, root.token.as_deref()).await;

    // -init with a server-generated OTP, a key from stdin with -nonce and "-", cancel.
    let st = json_stdout(&run(&["-init", "-format=json"], ""));
    let otp2 = st["otp"].as_str().unwrap().to_owned();
    assert_eq!(otp2.len(), 28);
    let nonce = st["nonce"].as_str().unwrap().to_owned();
    let table = ok_stdout(&run(
        &[&format!("-nonce={nonce}"), "-"],
        &format!("{}\n", hex_keys[2]),
    ));
    assert!(table.contains("1/2"), "{table}");
    let out = run(&["-cancel"], "");
    assert!(
        ok_stdout(&out).contains("Success! Root token generation canceled"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let st = json_stdout(&run(&["-status", "-format=json"], ""));
    assert_eq!(
        (&st["started"], &st["progress"]),
        (&json!(false), &json!(0))
    );
    // Cancel with nothing running still succeeds.
    ok_stdout(&run(&["-cancel"], ""));
}
