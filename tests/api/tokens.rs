//! §7.1–7.2: token create, lookup, renew, revoke, accessors, use counts and expiry.

use serde_json::{json, Value};

use super::common::*;
use crate::harness::TestServer;

const POLICY: &str = r#"path "secret/data/t/*" { capabilities = ["read"] }"#;
const CREATOR: &str = r#"path "auth/token/create" { capabilities = ["create", "update"] }"#;

#[track_caller]
fn assert_auth(auth: &Value) {
    assert_eq!(keys(auth), sorted(AUTH_KEYS), "auth block {auth}");
    let token = auth["client_token"].as_str().unwrap();
    assert!(
        is_service_token(token),
        "client_token {token:?} must be hvs. + 24 base62"
    );
    assert!(
        is_base62(auth["accessor"].as_str().unwrap(), 24),
        "accessor {}",
        auth["accessor"]
    );
    assert_eq!(auth["entity_id"], "");
    assert_eq!(auth["token_type"], "service");
    assert_eq!(auth["mfa_requirement"], json!(null));
    assert!(auth["lease_duration"].is_u64() && auth["num_uses"].is_i64());
    assert!(auth["renewable"].is_boolean() && auth["orphan"].is_boolean());
}

#[tokio::test]
async fn create_returns_the_exact_auth_block() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy("zeta", POLICY).await;
    v.put_policy("alpha", POLICY).await;

    let body = v
        .post(
            "auth/token/create",
            json!({"policies": ["zeta", "alpha"], "meta": {"k": "v"}, "ttl": "1h", "display_name": "web"}),
        )
        .await
        .ok_exact();
    assert_eq!(body["data"], json!(null));
    assert_eq!(body["lease_duration"], 0);
    assert_eq!(body["lease_id"], "");
    assert_eq!(body["renewable"], false);
    assert_eq!(body["warnings"], json!(null));
    let auth = &body["auth"];
    assert_auth(auth);
    assert_eq!(auth["policies"], json!(["alpha", "default", "zeta"]));
    assert_eq!(auth["token_policies"], json!(["alpha", "default", "zeta"]));
    assert_eq!(auth["metadata"], json!({"k": "v"}));
    assert_eq!(auth["lease_duration"], 3600);
    assert_eq!(auth["renewable"], true);
    assert_eq!(auth["orphan"], false);
    assert_eq!(auth["num_uses"], 0);

    // The token works and is what the server says.
    let t = v.with_token(auth["client_token"].as_str().unwrap());
    assert_eq!(
        t.get("auth/token/lookup-self").await.data()["accessor"],
        auth["accessor"]
    );

    // Options one by one.
    let (_, _, a) = v
        .create_token(json!({"policies": ["alpha"], "no_default_policy": true}))
        .await;
    assert_eq!(a["policies"], json!(["alpha"]));
    assert_eq!(a["lease_duration"], 2764800, "default TTL is 768h");
    assert_eq!(a["metadata"], json!(null));
    let (tok, _, a) = v
        .create_token(json!({"policies": ["alpha"], "ttl": "1h", "explicit_max_ttl": "30m"}))
        .await;
    assert_eq!(a["lease_duration"], 1800);
    assert_eq!(
        v.with_token(&tok)
            .get("auth/token/lookup-self")
            .await
            .data()["explicit_max_ttl"],
        1800
    );
    let (_, _, a) = v
        .create_token(json!({"policies": ["alpha"], "ttl": 90}))
        .await;
    assert_eq!(a["lease_duration"], 90);
    let (_, _, a) = v
        .create_token(json!({"policies": ["alpha"], "num_uses": 3}))
        .await;
    assert_eq!(a["num_uses"], 3);
    let (_, _, a) = v
        .create_token(json!({"policies": ["alpha"], "no_parent": true}))
        .await;
    assert_eq!(a["orphan"], true);
    let r = v
        .post("auth/token/create-orphan", json!({"policies": ["alpha"]}))
        .await
        .ok();
    assert_auth(&r["auth"]);
    assert_eq!(r["auth"]["orphan"], true);
    let (_, _, a) = v
        .create_token(json!({"policies": ["alpha"], "renewable": false}))
        .await;
    assert_eq!(a["renewable"], false);

    // Unknown policies are a warning, not an error.
    let r = v
        .post("auth/token/create", json!({"policies": ["nope"]}))
        .await
        .ok();
    assert_eq!(r["warnings"], json!(["Policy \"nope\" does not exist"]));
    assert_eq!(r["auth"]["policies"], json!(["default", "nope"]));

    // Root's children inherit root (no default added), never expire.
    let (tok, _, a) = v.create_token(json!({})).await;
    assert_eq!(a["policies"], json!(["root"]));
    assert_eq!(a["lease_duration"], 0);
    v.with_token(&tok).get("sys/mounts").await.ok();
    let (tok, _, a) = v.create_token(json!({"policies": ["root"]})).await;
    assert_eq!(a["policies"], json!(["root"]));
    v.with_token(&tok).get("sys/mounts").await.ok();

    v.post("auth/token/create", json!({"num_uses": -1}))
        .await
        .errors(400, &["number of uses cannot be negative"]);
    v.post("auth/token/create", json!({"ttl": "forever"}))
        .await
        .some_error(400);
    v.anon().post("auth/token/create", json!({})).await.denied();
}

#[tokio::test]
async fn lookup_self_lookup_and_lookup_accessor() {
    let srv = TestServer::dev();
    let v = V::root(&srv);

    // The dev root token.
    for r in [
        v.get("auth/token/lookup-self").await,
        v.post("auth/token/lookup-self", json!({})).await,
    ] {
        let d = r.data();
        for k in [
            "accessor",
            "creation_time",
            "creation_ttl",
            "display_name",
            "entity_id",
            "expire_time",
            "explicit_max_ttl",
            "id",
            "issue_time",
            "meta",
            "num_uses",
            "orphan",
            "path",
            "policies",
            "renewable",
            "ttl",
            "type",
        ] {
            assert!(d.get(k).is_some(), "lookup-self key {k} missing: {d}");
        }
        assert_eq!(d["id"], "root");
        assert_eq!(d["path"], "auth/token/create");
        assert_eq!(d["policies"], json!(["root"]));
        assert_eq!(d["expire_time"], json!(null));
        assert_eq!(d["ttl"], 0);
        assert_eq!(d["creation_ttl"], 0);
        assert_eq!(d["explicit_max_ttl"], 0);
        assert_eq!(d["num_uses"], 0);
        assert_eq!(d["orphan"], true);
        assert_eq!(d["entity_id"], "");
        assert_eq!(d["type"], "service");
        assert_eq!(d["meta"], json!(null));
        assert!(is_base62(d["accessor"].as_str().unwrap(), 24));
        let created = d["creation_time"]
            .as_i64()
            .expect("creation_time is unix seconds");
        assert!(
            (created - unix_now()).abs() < 600,
            "creation_time {created}"
        );
        let issued = d["issue_time"].as_str().unwrap();
        assert!(is_rfc3339(issued), "issue_time {issued}");
        assert_eq!(rfc3339_secs(issued), created);
    }

    v.put_policy("alpha", POLICY).await;
    let (child, acc, _) = v
        .create_token(
            json!({"policies": ["alpha"], "ttl": "1h", "display_name": "web", "meta": {"k": "v"}}),
        )
        .await;
    let d = v
        .with_token(&child)
        .get("auth/token/lookup-self")
        .await
        .data();
    assert_eq!(d["id"], child);
    assert_eq!(d["accessor"], acc);
    assert_eq!(d["display_name"], "token-web");
    assert_eq!(d["meta"], json!({"k": "v"}));
    assert_eq!(d["policies"], json!(["alpha", "default"]));
    assert_eq!(d["path"], "auth/token/create");
    assert_eq!(d["orphan"], false);
    assert_eq!(d["renewable"], true);
    assert_eq!(d["creation_ttl"], 3600);
    let ttl = d["ttl"].as_i64().unwrap();
    assert!((3590..=3600).contains(&ttl), "ttl {ttl}");
    let exp = d["expire_time"].as_str().expect("expire_time is set");
    assert!(is_rfc3339(exp), "expire_time {exp}");
    assert!(
        (rfc3339_secs(exp) - (unix_now() + 3600)).abs() <= 10,
        "expire_time {exp}"
    );

    // Lookup of another token, by body (and the deprecated query form).
    let other = v
        .post("auth/token/lookup", json!({"token": child}))
        .await
        .data();
    assert_eq!(other["id"], child);
    assert_eq!(other["accessor"], acc);
    assert_eq!(other["meta"], json!({"k": "v"}));
    assert_eq!(
        v.get(&format!("auth/token/lookup?token={child}"))
            .await
            .data()["id"],
        child
    );
    v.post("auth/token/lookup", json!({}))
        .await
        .errors(400, &["missing token ID"]);
    v.post("auth/token/lookup", json!({"token": "hvs.unknown"}))
        .await
        .some_error(403);

    // By accessor: the same, without the id.
    let by_acc = v
        .post("auth/token/lookup-accessor", json!({"accessor": acc}))
        .await
        .data();
    assert_eq!(by_acc["id"], "");
    assert_eq!(by_acc["accessor"], acc);
    assert_eq!(by_acc["policies"], json!(["alpha", "default"]));
    assert_eq!(by_acc["display_name"], "token-web");
    v.post("auth/token/lookup-accessor", json!({"accessor": "nope"}))
        .await
        .some_error(400);

    // A default-policy token may look itself up but not others.
    let t = v.with_token(&child);
    t.post("auth/token/lookup", json!({"token": "root"}))
        .await
        .denied();
    t.post("auth/token/lookup-accessor", json!({"accessor": acc}))
        .await
        .denied();
}

/// `auth/token/lookup` of an unknown token is 403 with Vault's message `bad token`
/// (vault-api.md §7.2 and §10.24; OpenBao token_store.go handleLookup).
#[tokio::test]
async fn lookup_of_an_unknown_token_is_403_bad_token() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.post(
        "auth/token/lookup",
        json!({"token": "hvs.AAAAAAAAAAAAAAAAAAAAAAAA"}),
    )
    .await
    .errors(403, &["bad token"]);
}

#[tokio::test]
async fn renew_self_and_renew() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy("alpha", POLICY).await;
    let (tok, acc, _) = v
        .create_token(json!({"policies": ["alpha"], "ttl": "1h"}))
        .await;
    let t = v.with_token(&tok);
    let body = t
        .post("auth/token/renew-self", json!({"increment": "2h"}))
        .await
        .ok_exact();
    assert_eq!(body["data"], json!(null));
    assert_auth(&body["auth"]);
    assert_eq!(body["auth"]["client_token"], tok);
    assert_eq!(body["auth"]["accessor"], acc);
    assert_eq!(body["auth"]["lease_duration"], 7200);
    assert_eq!(body["auth"]["renewable"], true);
    let ttl = t.get("auth/token/lookup-self").await.data()["ttl"]
        .as_i64()
        .unwrap();
    assert!((7190..=7200).contains(&ttl), "ttl after renewal {ttl}");

    let body = v
        .post("auth/token/renew", json!({"token": tok, "increment": 600}))
        .await
        .ok();
    assert_eq!(body["auth"]["lease_duration"], 600);
    let ttl = t.get("auth/token/lookup-self").await.data()["ttl"]
        .as_i64()
        .unwrap();
    assert!((590..=600).contains(&ttl), "ttl after renewal {ttl}");

    let (fixed, _, a) = v
        .create_token(json!({"policies": ["alpha"], "ttl": "1h", "renewable": false}))
        .await;
    assert_eq!(a["renewable"], false);
    v.with_token(&fixed)
        .post("auth/token/renew-self", json!({}))
        .await
        .some_error(400);
}

#[tokio::test]
async fn revocation_trees_orphans_accessors() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy("creator", CREATOR).await;

    // Parent → child → grandchild; revoking the parent revokes all.
    let p = v.token_with(&["creator"]).await;
    let (c, _, ca) = v.with_token(&p).create_token(json!({})).await;
    assert_eq!(ca["policies"], json!(["creator", "default"]));
    assert_eq!(ca["orphan"], false);
    let (g, _, _) = v.with_token(&c).create_token(json!({})).await;
    for t in [&p, &c, &g] {
        v.with_token(t).get("auth/token/lookup-self").await.ok();
    }
    v.post("auth/token/revoke", json!({"token": p}))
        .await
        .no_content();
    for t in [&p, &c, &g] {
        v.with_token(t).get("auth/token/lookup-self").await.denied();
    }

    // revoke-orphan (sudo): the parent goes, children stay as orphans.
    let p2 = v.token_with(&["creator"]).await;
    let (c2, _, _) = v.with_token(&p2).create_token(json!({})).await;
    v.with_token(&p2)
        .post("auth/token/revoke-orphan", json!({"token": p2}))
        .await
        .denied();
    v.post("auth/token/revoke-orphan", json!({"token": p2}))
        .await
        .no_content();
    v.with_token(&p2)
        .get("auth/token/lookup-self")
        .await
        .denied();
    let d = v.with_token(&c2).get("auth/token/lookup-self").await.data();
    assert_eq!(d["orphan"], true);

    // revoke-accessor.
    let (t3, a3, _) = v.create_token(json!({"policies": ["default"]})).await;
    v.post("auth/token/revoke-accessor", json!({"accessor": a3}))
        .await
        .no_content();
    v.with_token(&t3)
        .get("auth/token/lookup-self")
        .await
        .denied();
    v.post("auth/token/lookup-accessor", json!({"accessor": a3}))
        .await
        .some_error(400);

    // revoke-self.
    let t4 = v.token_with(&["default"]).await;
    v.with_token(&t4)
        .post("auth/token/revoke-self", json!({}))
        .await
        .no_content();
    v.with_token(&t4)
        .get("auth/token/lookup-self")
        .await
        .denied();

    // LIST accessors (sudo): live tokens only.
    let (_, a5, _) = v.create_token(json!({"policies": ["default"]})).await;
    let listed = v.list("auth/token/accessors").await.data();
    let accs = listed["keys"].as_array().unwrap();
    assert!(accs.contains(&json!(a5)), "{a5} missing");
    assert!(!accs.contains(&json!(a3)), "revoked {a3} still listed");
    assert_eq!(v.get("auth/token/accessors?list=true").await.data(), listed);
    assert_eq!(v.list("auth/token/accessors/").await.data(), listed);
    v.put_policy(
        "acc-list",
        r#"path "auth/token/accessors" { capabilities = ["list", "read"] }"#,
    )
    .await;
    v.put_policy(
        "acc-sudo",
        r#"path "auth/token/accessors" { capabilities = ["list", "sudo"] }"#,
    )
    .await;
    let no_sudo = v.token_with(&["acc-list"]).await;
    v.with_token(&no_sudo)
        .list("auth/token/accessors")
        .await
        .denied();
    let creator = v.token_with(&["creator"]).await;
    v.with_token(&creator)
        .list("auth/token/accessors")
        .await
        .denied();
    let sudo = v.token_with(&["acc-sudo"]).await;
    assert!(v
        .with_token(&sudo)
        .list("auth/token/accessors")
        .await
        .data()["keys"]
        .as_array()
        .unwrap()
        .contains(&json!(a5)));
}

#[tokio::test]
async fn a_token_with_num_uses_dies_after_them() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy("t", POLICY).await;
    v.kv2_put("secret/data/t/x", json!({"a": "b"})).await;
    let (tok, _, auth) = v
        .create_token(json!({"policies": ["t"], "num_uses": 2}))
        .await;
    assert_eq!(auth["num_uses"], 2);
    let t = v.with_token(&tok);
    assert_eq!(
        t.get("secret/data/t/x").await.data()["data"],
        json!({"a": "b"})
    );
    assert_eq!(
        t.get("secret/data/t/x").await.data()["data"],
        json!({"a": "b"})
    );
    t.get("secret/data/t/x").await.denied();
    t.get("auth/token/lookup-self").await.denied();
    // A restricted-use token cannot create children.
    let (tok, _, _) = v
        .create_token(json!({"policies": ["t"], "num_uses": 5}))
        .await;
    v.put_policy("t", &format!("{POLICY}\n{CREATOR}")).await;
    v.with_token(&tok)
        .post("auth/token/create", json!({}))
        .await
        .some_error(400);
}

/// Uses are counted before the request runs, so a lookup shows what is left (Vault's
/// UseToken persists the decrement before handleLookup reads the entry back).
#[tokio::test]
async fn lookup_self_reports_the_remaining_uses() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let (tok, _, _) = v
        .create_token(json!({"policies": ["default"], "num_uses": 3}))
        .await;
    let t = v.with_token(&tok);
    assert_eq!(t.get("auth/token/lookup-self").await.data()["num_uses"], 2);
    assert_eq!(t.get("auth/token/lookup-self").await.data()["num_uses"], 1);
}

/// The last use still runs against the token's own state: Vault revokes the token (and its
/// cubbyhole) only after the request (request_handling.go: "defer a revocation until after
/// logic has run").
#[tokio::test]
async fn the_last_use_still_sees_the_cubbyhole() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let (tok, _, _) = v
        .create_token(json!({"policies": ["default"], "num_uses": 2}))
        .await;
    let t = v.with_token(&tok);
    t.put("cubbyhole/note", json!({"v": "1"}))
        .await
        .no_content();
    let r = t.get("cubbyhole/note").await;
    assert_eq!(
        r.data(),
        json!({"v": "1"}),
        "the second (last) use must read what the first wrote"
    );
    t.get("cubbyhole/note").await.denied();
}

#[tokio::test]
async fn non_root_creation_limits_and_custom_ids() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy("creator", CREATOR).await;
    v.put_policy("other", POLICY).await;
    let c = v.with_token(&v.token_with(&["creator"]).await);

    c.post("auth/token/create", json!({"no_parent": true}))
        .await
        .errors(
            400,
            &["root or sudo privileges required to create orphan token"],
        );
    c.post("auth/token/create", json!({"id": "custom-by-user"}))
        .await
        .errors(
            400,
            &["root or sudo privileges required to specify token id"],
        );
    c.post("auth/token/create", json!({"policies": ["root"]}))
        .await
        .some_error(400);
    c.post("auth/token/create", json!({"policies": ["other"]}))
        .await
        .some_error(400);
    let (_, _, a) = c.create_token(json!({})).await;
    assert_eq!(a["policies"], json!(["creator", "default"]));
    assert_eq!(a["orphan"], false);
    let (_, _, a) = c.create_token(json!({"policies": ["default"]})).await;
    assert_eq!(a["policies"], json!(["default"]));
    // The refused custom id was not created.
    v.post("auth/token/lookup", json!({"token": "custom-by-user"}))
        .await
        .some_error(403);

    // Root (and sudo) may set an id and create orphans.
    let (id, _, a) = v
        .create_token(json!({"id": "my-custom-token", "policies": ["other"]}))
        .await;
    assert_eq!(id, "my-custom-token");
    assert_eq!(a["client_token"], "my-custom-token");
    assert!(is_base62(a["accessor"].as_str().unwrap(), 24));
    assert_eq!(
        v.with_token(&id).get("auth/token/lookup-self").await.data()["id"],
        "my-custom-token"
    );
    v.post("auth/token/create", json!({"id": "my-custom-token"}))
        .await
        .some_error(400);
    v.put_policy(
        "creator-sudo",
        r#"path "auth/token/create" { capabilities = ["create", "update", "sudo"] }"#,
    )
    .await;
    let s = v.with_token(&v.token_with(&["creator-sudo"]).await);
    let (_, _, a) = s
        .create_token(json!({"no_parent": true, "policies": ["default"]}))
        .await;
    assert_eq!(a["orphan"], true);
    let (id, _, _) = s
        .create_token(json!({"id": "sudo-custom", "policies": ["default"]}))
        .await;
    assert_eq!(id, "sudo-custom");
}
