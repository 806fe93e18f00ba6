//! The dev server's one-key flow and OpenBao's authenticated `sys/generate-root-token/*`
//! twin; the listener option that turns the raw family off while the twin still works.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use super::support::{assert_new_root, decode, init, make_otp, unseal, Api};
use crate::harness::{ConfigServer, TestServer};

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
