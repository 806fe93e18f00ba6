//! §7.4: response wrapping: X-Vault-Wrap-TTL, unwrap, lookup, wrap, rewrap.

use serde_json::{json, Value};

use super::common::*;
use crate::harness::TestServer;

const INVALID: &str = "wrapping token is not valid or does not exist";

/// A wrapped reply: the envelope with an empty request_id, nothing but wrap_info.
#[track_caller]
fn assert_wrapped(r: &Resp, ttl: u64, creation_path: &str) -> Value {
    let body = r.json_at(200);
    assert_envelope(&r.what, &body);
    assert_eq!(
        keys(&body),
        sorted(ENVELOPE),
        "{}: a wrapped reply is never injected: {body}",
        r.what
    );
    assert_eq!(body["request_id"], "");
    assert_eq!(body["lease_id"], "");
    assert_eq!(body["renewable"], false);
    assert_eq!(body["lease_duration"], 0);
    assert_eq!(body["data"], json!(null));
    assert_eq!(body["warnings"], json!(null));
    assert_eq!(body["auth"], json!(null));
    let w = body["wrap_info"].clone();
    for k in ["token", "accessor", "ttl", "creation_time", "creation_path"] {
        assert!(w.get(k).is_some(), "wrap_info key {k} missing: {w}");
    }
    assert!(
        is_service_token(w["token"].as_str().unwrap()),
        "wrapping token {}",
        w["token"]
    );
    assert!(
        is_base62(w["accessor"].as_str().unwrap(), 24),
        "accessor {}",
        w["accessor"]
    );
    assert_eq!(w["ttl"], ttl);
    let ct = w["creation_time"].as_str().unwrap();
    assert!(is_rfc3339(ct), "creation_time {ct:?}");
    assert!(
        (rfc3339_secs(ct) - unix_now()).abs() < 60,
        "creation_time {ct}"
    );
    assert_eq!(w["creation_path"], creation_path);
    w
}

#[tokio::test]
async fn wrap_a_kv_read_then_unwrap_once() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.kv2_put("secret/data/w", json!({"p": "q"})).await;
    let original = v.get("secret/data/w").await.data();

    let w = assert_wrapped(
        &v.wrapped("GET", "secret/data/w", "60s", None).await,
        60,
        "secret/data/w",
    );
    assert!(
        w.get("wrapped_accessor").is_none() || w["wrapped_accessor"] == "",
        "{w}"
    );
    let wt = w["token"].as_str().unwrap().to_owned();

    // Lookup (no auth needed) reports path, time and TTL without using the token.
    for r in [
        v.anon()
            .post("sys/wrapping/lookup", json!({"token": wt}))
            .await,
        v.post("sys/wrapping/lookup", json!({"token": wt})).await,
    ] {
        let d = r.data();
        assert_eq!(keys(&d), ["creation_path", "creation_time", "creation_ttl"]);
        assert_eq!(d["creation_path"], "secret/data/w");
        assert_eq!(d["creation_ttl"], 60);
        assert_eq!(d["creation_time"], w["creation_time"]);
    }

    // Unwrap with the wrapping token as X-Vault-Token and no body: the original response.
    let body = v
        .with_token(&wt)
        .post("sys/wrapping/unwrap", json!({}))
        .await
        .ok_exact();
    assert_eq!(body["data"], original);
    assert_eq!(body["data"]["data"], json!({"p": "q"}));
    assert_eq!(body["wrap_info"], json!(null));
    assert_eq!(body["lease_duration"], 0);
    // Single use.
    v.with_token(&wt)
        .post("sys/wrapping/unwrap", json!({}))
        .await
        .errors(400, &[INVALID]);
    v.post("sys/wrapping/unwrap", json!({"token": wt}))
        .await
        .errors(400, &[INVALID]);
    v.post("sys/wrapping/lookup", json!({"token": wt}))
        .await
        .errors(400, &[INVALID]);
    v.post("sys/wrapping/unwrap", json!({"token": "hvs.nothing"}))
        .await
        .errors(400, &[INVALID]);
    // The wrapping token is not a normal token.
    v.with_token(&wt).get("secret/data/w").await.denied();

    // Numeric TTL; unwrap by body with another valid token.
    let w = assert_wrapped(
        &v.wrapped("GET", "secret/data/w", "120", None).await,
        120,
        "secret/data/w",
    );
    let wt = w["token"].as_str().unwrap();
    let user = v.token_with(&["default"]).await;
    v.with_token("hvs.invalid")
        .post("sys/wrapping/unwrap", json!({"token": wt}))
        .await
        .denied();
    let body = v
        .with_token(&user)
        .post("sys/wrapping/unwrap", json!({"token": wt}))
        .await
        .ok_exact();
    assert_eq!(body["data"]["data"], json!({"p": "q"}));
    v.with_token(&user)
        .post("sys/wrapping/unwrap", json!({"token": wt}))
        .await
        .errors(400, &[INVALID]);

    // A bad wrap TTL header is a 400.
    let r = v.wrapped("GET", "secret/data/w", "soon", None).await;
    r.error_containing(400, "error parsing X-Vault-Wrap-TTL header");
    // Nothing to wrap (204 / 404) is not wrapped.
    v.wrapped("DELETE", "secret/data/gone", "60s", None)
        .await
        .no_content();
    v.wrapped("GET", "secret/data/gone", "60s", None)
        .await
        .not_found();
}

#[tokio::test]
async fn wrapping_wrap_and_rewrap() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.post("sys/wrapping/wrap", json!({"a": "b"}))
        .await
        .errors(400, &["endpoint requires response wrapping to be used"]);

    // Any token with the default policy may wrap.
    let user = v.with_token(&v.token_with(&["default"]).await);
    let payload = json!({"a": "b", "n": 1, "nested": {"k": ["v"]}});
    let r = user
        .wrapped("POST", "sys/wrapping/wrap", "5m", Some(payload.clone()))
        .await;
    let w = assert_wrapped(&r, 300, "sys/wrapping/wrap");
    let old = w["token"].as_str().unwrap().to_owned();
    let d = v
        .post("sys/wrapping/lookup", json!({"token": old}))
        .await
        .data();
    assert_eq!(d["creation_path"], "sys/wrapping/wrap");
    assert_eq!(d["creation_ttl"], 300);

    // Rewrap: a new token for the same response, the old one is gone.
    // Rewrap is not in the default policy.
    user.post("sys/wrapping/rewrap", json!({"token": old}))
        .await
        .denied();
    let r = v.post("sys/wrapping/rewrap", json!({"token": old})).await;
    let w2 = assert_wrapped(&r, 300, "sys/wrapping/wrap");
    let new = w2["token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    v.with_token(&old)
        .post("sys/wrapping/unwrap", json!({}))
        .await
        .errors(400, &[INVALID]);
    v.post("sys/wrapping/rewrap", json!({"token": old}))
        .await
        .errors(400, &[INVALID]);
    let body = v
        .with_token(&new)
        .post("sys/wrapping/unwrap", json!({}))
        .await
        .ok_exact();
    assert_eq!(body["data"], payload);
    v.with_token(&new)
        .post("sys/wrapping/unwrap", json!({}))
        .await
        .errors(400, &[INVALID]);
}

#[tokio::test]
async fn wrapping_a_token_create_reports_the_wrapped_accessor() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let r = v
        .wrapped(
            "POST",
            "auth/token/create",
            "2m",
            Some(json!({"policies": ["default"], "ttl": "1h"})),
        )
        .await;
    let w = assert_wrapped(&r, 120, "auth/token/create");
    let wrapped_accessor = w["wrapped_accessor"]
        .as_str()
        .expect("wrapped_accessor present")
        .to_owned();
    assert!(is_base62(&wrapped_accessor, 24), "{wrapped_accessor}");
    assert_ne!(w["accessor"], json!(wrapped_accessor));

    let body = v
        .with_token(w["token"].as_str().unwrap())
        .post("sys/wrapping/unwrap", json!({}))
        .await
        .ok_exact();
    assert_eq!(body["data"], json!(null));
    let auth = &body["auth"];
    assert_eq!(keys(auth), sorted(AUTH_KEYS));
    assert_eq!(auth["accessor"], json!(wrapped_accessor));
    assert_eq!(auth["policies"], json!(["default"]));
    assert_eq!(auth["lease_duration"], 3600);
    let token = auth["client_token"].as_str().unwrap();
    assert!(is_service_token(token));
    let d = v
        .with_token(token)
        .get("auth/token/lookup-self")
        .await
        .data();
    assert_eq!(d["accessor"], json!(wrapped_accessor));
}

/// Deepest nesting a JSON request body may have (the HTTP layer's `MAX_JSON_DEPTH`).
const MAX_DEPTH: usize = 100;

/// `{"a": {"a": ... {"a": 1}}}`: `depth` objects, the outermost counted.
fn nested(depth: usize) -> String {
    format!("{}1{}", "{\"a\": ".repeat(depth), "}".repeat(depth))
}

async fn send_json(v: &V, method: &str, path: &str, wrap: Option<&str>, body: String) -> Resp {
    let mut rb = v
        .req(method, path)
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(ttl) = wrap {
        rb = rb.header("X-Vault-Wrap-TTL", ttl);
    }
    v.send(format!("{method} /v1/{path} (wrap {wrap:?})"), rb)
        .await
}

/// One rule for every endpoint: a JSON body nested deeper than the limit is refused up
/// front, so whatever a wrap accepted reads back (lookup, rewrap, unwrap), around the
/// limit and at the depths where serde_json's own limit of 128 used to lose it.
#[tokio::test]
async fn wrapped_data_survives_every_depth_the_api_accepts() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    for depth in [MAX_DEPTH - 1, MAX_DEPTH] {
        let body = nested(depth);
        let sent: Value = serde_json::from_str(&body).unwrap();
        // sys/wrapping/wrap, then lookup, rewrap and unwrap.
        let r = send_json(&v, "POST", "sys/wrapping/wrap", Some("5m"), body.clone()).await;
        let token = assert_wrapped(&r, 300, "sys/wrapping/wrap")["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let d = v
            .post("sys/wrapping/lookup", json!({"token": token}))
            .await
            .data();
        assert_eq!(d["creation_path"], "sys/wrapping/wrap", "depth {depth}");
        let r = v.post("sys/wrapping/rewrap", json!({"token": token})).await;
        let token = assert_wrapped(&r, 300, "sys/wrapping/wrap")["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let got = v
            .with_token(&token)
            .post("sys/wrapping/unwrap", json!({}))
            .await
            .ok_exact();
        assert_eq!(got["data"], sent, "depth {depth}");

        // A wrapped read (X-Vault-Wrap-TTL) of what a write at that depth stored: a
        // cubbyhole secret, and a KV v2 secret (data and the envelope around it).
        send_json(&v, "POST", "cubbyhole/deep", None, body.clone())
            .await
            .no_content();
        let r = v.wrapped("GET", "cubbyhole/deep", "5m", None).await;
        let token = assert_wrapped(&r, 300, "cubbyhole/deep")["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let got = v
            .with_token(&token)
            .post("sys/wrapping/unwrap", json!({}))
            .await
            .ok_exact();
        assert_eq!(got["data"], sent, "depth {depth}");
        let kv = format!("{{\"data\": {}}}", nested(depth - 1));
        send_json(&v, "POST", "secret/data/deep", None, kv)
            .await
            .ok();
        let r = v.wrapped("GET", "secret/data/deep", "5m", None).await;
        let token = assert_wrapped(&r, 300, "secret/data/deep")["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let got = v
            .with_token(&token)
            .post("sys/wrapping/unwrap", json!({}))
            .await
            .ok_exact();
        assert_eq!(got["data"]["data"], sent["a"], "depth {depth}");
    }
    let secret_versions = v.get("secret/metadata/deep").await.data()["current_version"].clone();
    let too_deep = format!("failed to parse JSON input: nested deeper than {MAX_DEPTH} levels");
    for depth in [MAX_DEPTH + 1, 126, 127, 128, 129, 1000] {
        let body = nested(depth);
        for (path, wrap) in [
            ("sys/wrapping/wrap", Some("5m")),
            ("cubbyhole/deeper", None),
            ("secret/data/deep", None),
        ] {
            send_json(&v, "POST", path, wrap, body.clone())
                .await
                .errors(400, &[&too_deep]);
        }
        // Arrays count as objects do.
        let arrays = format!("{{\"a\": {}1{}}}", "[".repeat(depth), "]".repeat(depth));
        send_json(&v, "POST", "sys/wrapping/wrap", Some("5m"), arrays)
            .await
            .errors(400, &[&too_deep]);
    }
    // Nothing was written by the refusals.
    v.get("cubbyhole/deeper").await.not_found();
    assert_eq!(
        v.get("secret/metadata/deep").await.data()["current_version"],
        secret_versions
    );
}

/// `sys/wrapping/wrap` with no body, `{}` or `null` wraps an empty payload, as Vault
/// does (its handler answers `Data: data.Raw`, which is never nil): 200 with wrap_info,
/// and the unwrap answers the envelope with `data: {}`.
#[tokio::test]
async fn wrapping_an_empty_payload() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    for body in [None, Some("{}"), Some("null")] {
        let mut rb = v
            .req("POST", "sys/wrapping/wrap")
            .header("X-Vault-Wrap-TTL", "2m");
        if let Some(b) = body {
            rb = rb.header("Content-Type", "application/json").body(b);
        }
        let r = v.send(format!("wrap {body:?}"), rb).await;
        let token = assert_wrapped(&r, 120, "sys/wrapping/wrap")["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let got = v
            .with_token(&token)
            .post("sys/wrapping/unwrap", json!({}))
            .await
            .ok_exact();
        assert_eq!(got["data"], json!({}), "{body:?}");
        assert_eq!(got["auth"], json!(null), "{body:?}");
    }
    // Still not without the wrap header.
    v.post("sys/wrapping/wrap", json!({}))
        .await
        .errors(400, &["endpoint requires response wrapping to be used"]);
}
