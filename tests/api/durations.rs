//! Durations never overflow (issue 13 item 8): every duration a client can send (0, 1,
//! max-1, max, negative, huge strings, fractions) through every place a token's life is
//! decided: `auth/token/create` (`ttl`, `period`, `explicit_max_ttl`), renewals
//! (`increment`), userpass and approle `token_*` settings, and mounts' tuned
//! `default_lease_ttl`/`max_lease_ttl`. Property: the answer is a 200 (or 204) or a 400
//! with the error envelope, never a 5xx; a 200 carries a token that works, whose TTL is
//! within every cap; renewing it by the largest increment never shortens its life.

use serde_json::{json, Value};

use super::common::*;
use crate::harness::TestServer;

/// Vault's system max lease TTL (768h).
const SYSTEM_MAX: u64 = 768 * 3600;
/// The longest TTL anything holds (Go's largest duration, in seconds).
const MAX_TTL: u64 = i64::MAX as u64 / 1_000_000_000;

/// Every kind of duration input.
fn inputs() -> Vec<Value> {
    vec![
        json!(0),
        json!(1),
        json!("1"),
        json!(3600),
        json!("90m"),
        json!(u64::MAX - 1),
        json!(u64::MAX),
        json!("18446744073709551615"),
        json!("18446744073709551614"),
        json!(i64::MAX),
        json!(MAX_TTL),
        json!(MAX_TTL + 1),
        json!("99999999999999999999999999999"),
        json!("2562047h47m17s"),
        json!(1e300),
        json!(-1),
        json!("-1"),
        json!("-5s"),
        json!(i64::MIN),
        json!(0.5),
        json!(1.5),
        json!("1.5s"),
        json!("500ms"),
        json!(""),
        json!("soon"),
        json!([1]),
    ]
}

/// The answer to one write: a 2xx, or a 4xx with the error envelope (never a 5xx).
#[track_caller]
fn accepted(r: &Resp) -> bool {
    match r.status {
        200 | 204 => true,
        400..=499 => {
            r.some_error(r.status);
            false
        }
        other => panic!("{}: status {other}, body {}", r.what, r.text()),
    }
}

/// `auth` of a 200 that issued a token: its TTL is within `[1, cap]`, and the token
/// works (unless its TTL is too short to be checked without racing the clock). Returns
/// the token and its granted TTL.
#[track_caller]
fn issued(r: &Resp, cap: u64) -> (String, u64) {
    let body = r.ok();
    let auth = &body["auth"];
    let lease = auth["lease_duration"]
        .as_u64()
        .unwrap_or_else(|| panic!("{}: lease_duration {auth}", r.what));
    assert!(
        (1..=cap).contains(&lease),
        "{}: lease_duration {lease} outside [1, {cap}]",
        r.what
    );
    (auth["client_token"].as_str().unwrap().to_owned(), lease)
}

/// The token works now and has `at_least` seconds left (a few seconds of slack for a
/// loaded machine); renewing it by the largest increment keeps it at least that long.
async fn alive_and_renewable(v: &V, token: &str, at_least: u64, what: &str) {
    if at_least < 30 {
        return;
    }
    let me = v.with_token(token);
    let d = me.get("auth/token/lookup-self").await.data();
    let ttl = d["ttl"].as_u64().unwrap();
    assert!(ttl + 5 >= at_least, "{what}: ttl {ttl} < {at_least}");
    assert!(
        is_rfc3339(d["expire_time"].as_str().unwrap()),
        "{what}: {d}"
    );
    if d["renewable"] == true {
        let r = me
            .post("auth/token/renew-self", json!({"increment": u64::MAX}))
            .await;
        let renewed = r.ok()["auth"]["lease_duration"].as_u64().unwrap();
        assert!(
            renewed + 5 >= ttl,
            "{what}: a renewal shortened the token from {ttl} to {renewed}"
        );
        let after = me.get("auth/token/lookup-self").await.data()["ttl"]
            .as_u64()
            .unwrap();
        assert!(
            after + 5 >= ttl,
            "{what}: ttl {after} after renewal, {ttl} before"
        );
    }
}

#[tokio::test]
async fn token_create_ttls_never_overflow() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    for field in ["ttl", "period", "explicit_max_ttl"] {
        for value in inputs() {
            let what = format!("create {field}={value}");
            let r = v
                .post(
                    "auth/token/create",
                    json!({"policies": ["default"], field: value}),
                )
                .await;
            if !accepted(&r) {
                continue;
            }
            let (token, lease) = issued(&r, SYSTEM_MAX);
            if field == "explicit_max_ttl" {
                if let Some(n) = value.as_u64().filter(|n| *n > 0) {
                    assert!(lease <= n, "{what}: {lease} > explicit max {n}");
                }
            }
            alive_and_renewable(&v, &token, lease, &what).await;
        }
    }
    // A root token with a huge explicit max: within the mount's max, and a renewal
    // never takes back what it got.
    let r = v
        .post(
            "auth/token/create",
            json!({"explicit_max_ttl": u64::MAX, "policies": ["root"]}),
        )
        .await;
    let (token, lease) = issued(&r, SYSTEM_MAX);
    assert_eq!(lease, SYSTEM_MAX);
    alive_and_renewable(&v, &token, lease, "root with explicit max").await;
}

#[tokio::test]
async fn renewal_increments_never_overflow() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    for value in inputs() {
        let what = format!("renew increment={value}");
        let (token, _, _) = v
            .create_token(json!({"policies": ["default"], "ttl": "1h"}))
            .await;
        for (path, body) in [
            (
                "auth/token/renew",
                json!({"token": token, "increment": value}),
            ),
            ("auth/token/renew-self", json!({"increment": value})),
        ] {
            let caller = if path.ends_with("self") {
                v.with_token(&token)
            } else {
                v.clone()
            };
            let r = caller.post(path, body).await;
            if !accepted(&r) {
                continue;
            }
            let (_, lease) = issued(&r, SYSTEM_MAX);
            if value.as_u64().is_some_and(|n| n >= 3600) {
                assert!(lease >= 3590, "{what} ({path}): shortened to {lease}");
            }
            alive_and_renewable(&v, &token, lease, &what).await;
        }
    }
}

#[tokio::test]
async fn auth_method_and_mount_ttls_never_overflow() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.post("sys/auth/userpass", json!({"type": "userpass"}))
        .await
        .no_content();
    v.post("sys/auth/approle", json!({"type": "approle"}))
        .await
        .no_content();
    v.post("auth/approle/role/r", json!({})).await.no_content();
    let role_id = v.get("auth/approle/role/r/role-id").await.data()["role_id"].clone();

    for field in [
        "token_ttl",
        "token_period",
        "token_max_ttl",
        "token_explicit_max_ttl",
    ] {
        for value in inputs() {
            let what = format!("userpass {field}={value}");
            let r = v
                .post(
                    "auth/userpass/users/bob",
                    json!({"password": "pw", "token_ttl": 0, "token_period": 0,
                           "token_max_ttl": 0, "token_explicit_max_ttl": 0, field: value}),
                )
                .await;
            if accepted(&r) {
                let r = v
                    .anon()
                    .post("auth/userpass/login/bob", json!({"password": "pw"}))
                    .await;
                let (token, lease) = issued(&r, SYSTEM_MAX);
                alive_and_renewable(&v, &token, lease, &what).await;
            }

            let what = format!("approle {field}={value}");
            let r = v
                .post(
                    "auth/approle/role/r",
                    json!({"token_ttl": 0, "token_period": 0, "token_max_ttl": 0,
                           "token_explicit_max_ttl": 0, field: value}),
                )
                .await;
            if accepted(&r) {
                let secret_id = v
                    .post("auth/approle/role/r/secret-id", json!({}))
                    .await
                    .data()["secret_id"]
                    .clone();
                let r = v
                    .anon()
                    .post(
                        "auth/approle/login",
                        json!({"role_id": role_id, "secret_id": secret_id}),
                    )
                    .await;
                let (token, lease) = issued(&r, SYSTEM_MAX);
                alive_and_renewable(&v, &token, lease, &what).await;
            }
        }
    }

    // Mount TTLs tuned to anything: a login gets a live token within the mount's max.
    v.post(
        "auth/userpass/users/bob",
        json!({"password": "pw", "token_ttl": 0,
            "token_period": 0, "token_max_ttl": 0, "token_explicit_max_ttl": 0}),
    )
    .await
    .no_content();
    for field in ["default_lease_ttl", "max_lease_ttl"] {
        for value in inputs() {
            let what = format!("tune {field}={value}");
            let reset = json!({"default_lease_ttl": 0, "max_lease_ttl": 0});
            v.post("sys/auth/userpass/tune", reset).await.no_content();
            let r = v
                .post("sys/auth/userpass/tune", json!({ field: value }))
                .await;
            if !accepted(&r) {
                continue;
            }
            let r = v
                .anon()
                .post("auth/userpass/login/bob", json!({"password": "pw"}))
                .await;
            let (token, lease) = issued(&r, MAX_TTL);
            alive_and_renewable(&v, &token, lease, &what).await;
        }
    }
}
