//! The authorization holes a black-box probe found (issue 10), one test each, always with
//! a limited token: the ACL and the handler see the same object, auth methods cannot be
//! unmounted through `sys/mounts`, audit devices cannot write arbitrary files, TTLs never
//! round to "forever", limited-use tokens mint nothing, policies never drop a deny, no
//! child outlives a revoked parent, and uses are spent where Vault spends them.

use serde_json::{json, Value};

use super::common::*;
use crate::harness::TestServer;

/// A token holding only `policy` (written under `name`), without `default`.
async fn limited(v: &V, name: &str, policy: &str) -> String {
    v.put_policy(name, policy).await;
    v.create_token(json!({"policies": [name], "no_default_policy": true}))
        .await
        .0
}

const ADMIN: &str =
    r#"path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }"#;

#[tokio::test]
async fn policy_names_are_authorized_in_their_one_spelling() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy("adminp", ADMIN).await;
    v.put_policy("kv-admin", ADMIN).await;
    let t = limited(
        &v,
        "policy-writer",
        r#"
path "sys/policies/acl/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "sys/policy/*" { capabilities = ["create", "read", "update", "delete", "list"] }
path "sys/policies/acl/adminp" { capabilities = ["deny"] }
path "sys/policy/adminp" { capabilities = ["deny"] }
path "sys/policies/acl/kv-admin" { capabilities = ["deny"] }
"#,
    )
    .await;
    let me = v.with_token(&t);
    let evil = json!({"policy": r#"path "*" { capabilities = ["deny"] }"#});
    for path in [
        "sys/policies/acl/adminp",
        "sys/policies/acl/ADMINP",
        "sys/policies/acl/Adminp",
        "sys/policies/acl/adminp%20",
        "sys/policies/acl/%20adminp",
        "sys/policies/acl/adminp/",
        "sys/policy/Adminp",
        "sys/policy/ADMINP/",
        // U+212A KELVIN SIGN lower-cases to an ASCII `k`.
        "sys/policies/acl/%E2%84%AAv-admin",
    ] {
        me.put(path, evil.clone()).await.denied();
        me.delete(path).await.denied();
        me.get(path).await.denied();
    }
    for name in ["adminp", "kv-admin"] {
        assert_eq!(
            v.get(&format!("sys/policies/acl/{name}")).await.data()["policy"],
            ADMIN
        );
    }
    // What the token may write, it may write in any spelling: it lands on the one name.
    me.put("sys/policies/acl/Other%20", json!({"policy": ADMIN}))
        .await
        .no_content();
    assert_eq!(
        v.get("sys/policies/acl/other").await.data()["name"],
        "other"
    );
    // A name that cannot be a policy name is refused before anything else.
    me.put("sys/policies/acl/a%01b", json!({"policy": ADMIN}))
        .await
        .some_error(400);
}

#[tokio::test]
async fn approle_role_names_are_authorized_in_their_one_spelling() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.post("sys/auth/approle", json!({"type": "approle"}))
        .await
        .no_content();
    v.put_policy("adminp", ADMIN).await;
    v.post(
        "auth/approle/role/admin",
        json!({"token_policies": ["adminp"]}),
    )
    .await
    .no_content();
    v.post(
        "auth/approle/role/app",
        json!({"token_policies": ["default"]}),
    )
    .await
    .no_content();
    let t = limited(
        &v,
        "role-reader",
        r#"
path "auth/approle/role/*" { capabilities = ["create", "read", "update", "list"] }
path "auth/approle/role/admin" { capabilities = ["deny"] }
path "auth/approle/role/admin/*" { capabilities = ["deny"] }
"#,
    )
    .await;
    let me = v.with_token(&t);
    for path in [
        "auth/approle/role/Admin/role-id",
        "auth/approle/role/ADMIN/role-id",
        "auth/approle/role/admin/role-id/",
        "auth/approle/role/Admin",
        "auth/approle/role/admin/",
    ] {
        me.get(path).await.denied();
    }
    for path in [
        "auth/approle/role/ADMIN/secret-id",
        "auth/approle/role/Admin/secret-id/",
        "auth/approle/role/admin/custom-secret-id",
    ] {
        me.post(path, json!({})).await.denied();
    }
    me.post(
        "auth/approle/role/ADMIN",
        json!({"token_policies": ["adminp"]}),
    )
    .await
    .denied();
    // No secret id was made for admin.
    v.list("auth/approle/role/admin/secret-id")
        .await
        .not_found();
    // The allowed role, spelled otherwise, still works.
    let id = me.get("auth/approle/role/APP/role-id").await.data();
    assert!(id["role_id"].is_string());
}

#[tokio::test]
async fn userpass_names_and_token_paths_are_authorized_in_their_one_spelling() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.post("sys/auth/userpass", json!({"type": "userpass"}))
        .await
        .no_content();
    v.post(
        "auth/userpass/users/alice",
        json!({"password": "alice-pw", "token_policies": "default"}),
    )
    .await
    .no_content();
    let t = limited(
        &v,
        "user-admin",
        r#"
path "auth/userpass/users/*" { capabilities = ["create", "read", "update", "delete"] }
path "auth/userpass/users/alice" { capabilities = ["deny"] }
path "auth/userpass/users/alice/*" { capabilities = ["deny"] }
path "auth/token/*" { capabilities = ["create", "update", "read"] }
path "auth/token/create" { capabilities = ["deny"] }
"#,
    )
    .await;
    let me = v.with_token(&t);
    for path in [
        "auth/userpass/users/ALICE",
        "auth/userpass/users/Alice",
        "auth/userpass/users/ALICE/password",
        "auth/userpass/users/aLiCe/policies",
    ] {
        me.post(path, json!({"password": "owned", "token_policies": "root"}))
            .await
            .denied();
    }
    me.delete("auth/userpass/users/ALICE").await.denied();
    // alice is untouched: her password still logs her in.
    v.anon()
        .post("auth/userpass/login/alice", json!({"password": "alice-pw"}))
        .await
        .ok();
    // A deny on auth/token/create holds for its other spellings too.
    me.post("auth/token/create/", json!({})).await.denied();
    me.post("auth/token/create", json!({})).await.denied();
}

#[tokio::test]
async fn auth_methods_cannot_be_unmounted_or_tuned_through_sys_mounts() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.post("sys/auth/userpass", json!({"type": "userpass"}))
        .await
        .no_content();
    v.post(
        "auth/userpass/users/bob",
        json!({"password": "bob-pw", "token_policies": "default"}),
    )
    .await
    .no_content();
    let t = limited(
        &v,
        "mounter",
        r#"path "sys/mounts/*" { capabilities = ["create", "read", "update", "delete"] }"#,
    )
    .await;
    let me = v.with_token(&t);
    for path in [
        "sys/mounts/auth/userpass",
        "sys/mounts/auth/userpass/",
        "sys/mounts/auth/token",
        "sys/mounts/auth",
        "sys/mounts/sys",
        "sys/mounts/cubbyhole",
    ] {
        me.delete(path)
            .await
            .error_containing(400, "cannot unmount");
    }
    me.post(
        "sys/mounts/auth/userpass/tune",
        json!({"max_lease_ttl": "1s"}),
    )
    .await
    .error_containing(400, "cannot tune");
    me.get("sys/mounts/auth/userpass").await.some_error(400);
    // Everything is where it was, for everyone, and the tune did not land.
    let login = v
        .anon()
        .post("auth/userpass/login/bob", json!({"password": "bob-pw"}))
        .await
        .ok();
    let token = login["auth"]["client_token"].as_str().unwrap();
    v.with_token(token).get("auth/token/lookup-self").await.ok();
    me.get("auth/token/lookup-self").await.denied();
    let auth = v.get("sys/auth").await.data();
    assert_eq!(auth["userpass/"]["config"]["max_lease_ttl"], 0);
    assert!(auth["token/"].is_object());
}

#[tokio::test]
async fn audit_devices_cannot_write_arbitrary_files() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let dir = tempfile::tempdir().unwrap();
    let enable = |name: &str, options: Value| {
        let v = v.clone();
        let path = format!("sys/audit/{name}");
        async move {
            v.post(&path, json!({"type": "file", "options": options}))
                .await
        }
    };
    let log = dir.path().join("audit.log");
    let log_path = log.to_str().unwrap();
    // A prefix (the `#!/bin/sh` line) needs the server's opt-in.
    enable("p", json!({"file_path": log_path, "prefix": "#!/bin/sh\n"}))
        .await
        .error_containing(400, "allow_audit_log_prefixing");
    // No executable, setuid, setgid or sticky modes.
    for mode in ["0755", "0777", "4600", "0700"] {
        enable("m", json!({"file_path": log_path, "mode": mode}))
            .await
            .error_containing(400, "executable");
    }
    assert!(!log.exists(), "a refused device created its file");
    // Never the server's own files: the token helper file, the data directory, also
    // through a symlink.
    let token_file = srv.home.path().join(".vault-token");
    let before = std::fs::read(&token_file).unwrap();
    let link = dir.path().join("innocent.log");
    std::os::unix::fs::symlink(&token_file, &link).unwrap();
    for target in [
        token_file.clone(),
        link.clone(),
        srv.data_dir.join("tree/audit.log"),
        srv.data_dir.join("x.log"),
    ] {
        enable(
            "own",
            json!({"file_path": target.to_str().unwrap(), "mode": "0666"}),
        )
        .await
        .error_containing(400, "file of this server");
    }
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(&token_file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read(&token_file).unwrap(), before);
    // An existing file is never made more permissive than it is.
    std::fs::write(&log, "").unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o600)).unwrap();
    enable("ok", json!({"file_path": log_path, "mode": "0666"}))
        .await
        .no_content();
    v.get("sys/mounts").await.ok();
    assert_eq!(
        std::fs::metadata(&log).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(!std::fs::read_to_string(&log).unwrap().is_empty());
}

#[tokio::test]
async fn limited_use_tokens_never_mint_children() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy(
        "creator",
        r#"path "auth/token/create*" { capabilities = ["update"] }"#,
    )
    .await;
    for uses in [1, 2, 3] {
        let (t, accessor, _) = v
            .create_token(json!({"policies": ["creator"], "num_uses": uses}))
            .await;
        let me = v.with_token(&t);
        for i in 0..uses {
            let endpoint = if i % 2 == 0 {
                "auth/token/create-orphan"
            } else {
                "auth/token/create"
            };
            me.post(endpoint, json!({"policies": ["creator"]}))
                .await
                .error_containing(400, "restricted use token cannot generate child tokens");
        }
        // Every use is spent; the token is gone, and it left no child behind.
        me.get("auth/token/lookup-self").await.denied();
        v.post("auth/token/lookup-accessor", json!({"accessor": accessor}))
            .await
            .some_error(400);
        let accessors = v.list("auth/token/accessors").await.data()["keys"].clone();
        assert_eq!(accessors.as_array().unwrap().len(), 1, "{accessors}");
    }
}

#[tokio::test]
async fn json_policies_with_repeated_keys_are_refused() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let text = r#"{"path":{"secret/data/x":{"capabilities":["deny"]},"secret/data/x":{"capabilities":["read"]}}}"#;
    v.put("sys/policies/acl/dup", json!({"policy": text}))
        .await
        .error_containing(400, "duplicate key");
    v.get("sys/policies/acl/dup").await.not_found();
    // The same rule twice as HCL blocks merges, and the deny wins.
    v.put_policy(
        "twice",
        "path \"secret/data/x\" { capabilities = [\"deny\"] }\n\
         path \"secret/data/x\" { capabilities = [\"read\"] }",
    )
    .await;
    v.kv2_put("secret/data/x", json!({"k": "v"})).await;
    let t = v
        .create_token(json!({"policies": ["twice"], "no_default_policy": true}))
        .await
        .0;
    v.with_token(&t).get("secret/data/x").await.denied();
}

#[tokio::test]
async fn no_child_outlives_a_parent_revoked_while_it_was_made() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy(
        "creator",
        r#"path "auth/token/create" { capabilities = ["update"] }"#,
    )
    .await;
    let mut made = 0;
    for _round in 0..8 {
        let (parent, _, _) = v.create_token(json!({"policies": ["creator"]})).await;
        let me = v.with_token(&parent);
        let creators: Vec<_> = (0..4)
            .map(|_| {
                let me = me.clone();
                tokio::spawn(async move {
                    let mut children = Vec::new();
                    for _ in 0..25 {
                        let r = me
                            .post("auth/token/create", json!({"policies": ["creator"]}))
                            .await;
                        if r.status == 200 {
                            children.push(
                                r.json()["auth"]["client_token"]
                                    .as_str()
                                    .unwrap()
                                    .to_owned(),
                            );
                        }
                    }
                    children
                })
            })
            .collect();
        tokio::task::yield_now().await;
        v.post("auth/token/revoke", json!({"token": parent}))
            .await
            .no_content();
        for creator in creators {
            for child in creator.await.unwrap() {
                made += 1;
                v.with_token(&child)
                    .get("auth/token/lookup-self")
                    .await
                    .denied();
            }
        }
    }
    assert!(
        made > 0,
        "no child was created before its parent was revoked"
    );
}

#[tokio::test]
async fn a_parent_without_default_cannot_hand_it_on() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy(
        "creator",
        r#"path "auth/token/create" { capabilities = ["update"] }"#,
    )
    .await;
    let parent = v
        .create_token(json!({"policies": ["creator"], "no_default_policy": true}))
        .await
        .0;
    let me = v.with_token(&parent);
    me.post(
        "auth/token/create",
        json!({"policies": ["creator", "default"]}),
    )
    .await
    .error_containing(400, "subset");
    let (_, _, auth) = me.create_token(json!({})).await;
    assert_eq!(auth["policies"], json!(["creator"]));
    // A parent with `default` does hand it on.
    let parent = v.token_with(&["creator"]).await;
    let (_, _, auth) = v.with_token(&parent).create_token(json!({})).await;
    assert_eq!(auth["policies"], json!(["creator", "default"]));
}

#[tokio::test]
async fn sudo_paths_are_vaults() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let t = limited(
        &v,
        "operator",
        r#"path "sys/*" { capabilities = ["create", "read", "update", "list"] }"#,
    )
    .await;
    let me = v.with_token(&t);
    let term = v.get("sys/key-status").await.data()["term"].clone();
    me.post("sys/rotate/keyring", json!({})).await.denied();
    me.post("sys/rotate", json!({})).await.denied();
    me.post("sys/rotate/", json!({})).await.denied();
    assert_eq!(v.get("sys/key-status").await.data()["term"], term);
    // Listing auth methods is not a root path in Vault; enabling one is.
    assert!(me.get("sys/auth").await.data()["token/"].is_object());
    me.post("sys/auth/userpass", json!({"type": "userpass"}))
        .await
        .denied();
    let sudo = limited(
        &v,
        "rotator",
        r#"path "sys/rotate/keyring" { capabilities = ["update", "sudo"] }"#,
    )
    .await;
    v.with_token(&sudo)
        .post("sys/rotate/keyring", json!({}))
        .await
        .no_content();
    assert_ne!(v.get("sys/key-status").await.data()["term"], term);
}

#[tokio::test]
async fn rewrap_and_unwrap_race_for_one_use() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.kv2_put("secret/data/w", json!({"s": "t"})).await;
    for _ in 0..20 {
        let w = v.wrapped("GET", "secret/data/w", "5m", None).await.ok();
        let wt = w["wrap_info"]["token"].as_str().unwrap().to_owned();
        let (a, b) = tokio::join!(
            v.post("sys/wrapping/rewrap", json!({"token": wt})),
            v.post("sys/wrapping/unwrap", json!({"token": wt})),
        );
        let winners = [a.status, b.status].iter().filter(|s| **s == 200).count();
        assert_eq!(winners, 1, "rewrap {} / unwrap {}", a.status, b.status);
        if a.status == 200 {
            // The rewrapped copy is the only one left, and it unwraps once.
            let new = a.json()["wrap_info"]["token"].as_str().unwrap().to_owned();
            v.post("sys/wrapping/unwrap", json!({"token": new}))
                .await
                .ok();
            v.post("sys/wrapping/unwrap", json!({"token": new}))
                .await
                .some_error(400);
        }
        v.post("sys/wrapping/unwrap", json!({"token": wt}))
            .await
            .some_error(400);
    }
}

#[tokio::test]
async fn uses_are_spent_where_vault_spends_them() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.kv2_put("secret/data/w", json!({"s": "t"})).await;
    let uses_left = |accessor: String| {
        let v = v.clone();
        async move {
            let r = v
                .post("auth/token/lookup-accessor", json!({"accessor": accessor}))
                .await;
            (r.status == 200).then(|| r.data()["num_uses"].as_i64().unwrap())
        }
    };
    // Unwrapping with the wrapping token in the body is a use of the caller's token.
    let (t, accessor, _) = v
        .create_token(json!({"policies": ["default"], "num_uses": 3}))
        .await;
    let me = v.with_token(&t);
    let w = v.wrapped("GET", "secret/data/w", "5m", None).await.ok();
    let wt = w["wrap_info"]["token"].as_str().unwrap();
    me.post("sys/wrapping/unwrap", json!({"token": wt}))
        .await
        .ok();
    assert_eq!(uses_left(accessor.clone()).await, Some(2));
    // So is the CLI's mount preflight, answered or refused.
    me.get("sys/internal/ui/mounts/cubbyhole/x").await.ok();
    assert_eq!(uses_left(accessor.clone()).await, Some(1));
    me.get("sys/internal/ui/mounts/secret/x").await.denied();
    assert_eq!(uses_left(accessor).await, None);
    me.get("auth/token/lookup-self").await.denied();

    // A refused request spends a use: a wrapping token tried on a path it may not use
    // is gone.
    let w = v.wrapped("GET", "secret/data/w", "5m", None).await.ok();
    let wt = w["wrap_info"]["token"].as_str().unwrap();
    v.with_token(wt).get("secret/data/w").await.denied();
    v.post("sys/wrapping/unwrap", json!({"token": wt}))
        .await
        .some_error(400);
}

#[tokio::test]
async fn lowering_a_mounts_max_ttl_caps_renewals() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let (t, _, auth) = v
        .create_token(json!({"policies": ["default"], "ttl": "1h"}))
        .await;
    assert_eq!(auth["lease_duration"], 3600);
    v.post("sys/auth/token/tune", json!({"max_lease_ttl": "2h"}))
        .await
        .no_content();
    let renewed = v
        .with_token(&t)
        .post("auth/token/renew-self", json!({"increment": "24h"}))
        .await
        .ok();
    let left = renewed["auth"]["lease_duration"].as_u64().unwrap();
    assert!((7000..=7200).contains(&left), "{left}");
    // New tokens are capped by the tuned max too.
    let (_, _, auth) = v
        .create_token(json!({"policies": ["default"], "ttl": "10h"}))
        .await;
    assert_eq!(auth["lease_duration"], 7200);
}

#[tokio::test]
async fn an_empty_vault_token_header_falls_back_to_bearer() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let client = crate::harness::http();
    let r = client
        .get(v.url("auth/token/lookup-self"))
        .header("X-Vault-Token", "")
        .header("Authorization", format!("Bearer {}", srv.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
