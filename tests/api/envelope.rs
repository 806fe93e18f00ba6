//! §0.3: the success envelope, 204s and headers.

use serde_json::json;

use super::common::*;
use crate::harness::TestServer;

#[tokio::test]
async fn envelope_has_every_key_with_vault_types() {
    let srv = TestServer::dev();
    let v = V::root(&srv);

    let write = v
        .post("secret/data/env", json!({"data": {"a": "b"}}))
        .await
        .ok_exact();
    assert_eq!(write["lease_id"], "");
    assert_eq!(write["renewable"], false);
    assert_eq!(write["lease_duration"], 0);
    assert_eq!(write["wrap_info"], json!(null));
    assert_eq!(write["warnings"], json!(null));
    assert_eq!(write["auth"], json!(null));
    assert!(write["data"].is_object());

    let read = v.get("secret/data/env").await.ok_exact();
    assert_eq!(read["lease_id"], "");
    assert_eq!(read["renewable"], false);
    assert_eq!(read["lease_duration"], 0);
    assert_eq!(read["wrap_info"], json!(null));
    assert_eq!(read["warnings"], json!(null));
    assert_eq!(read["auth"], json!(null));
    assert_eq!(read["data"]["data"], json!({"a": "b"}));
    assert_ne!(
        read["request_id"], write["request_id"],
        "every response has its own request_id"
    );

    // A sys read has the same envelope.
    let mounts = v.get("sys/mounts").await.ok();
    assert!(is_uuid(mounts["request_id"].as_str().unwrap()));
}

#[tokio::test]
async fn writes_without_data_are_204_with_an_empty_body() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put(
        "sys/policies/acl/p",
        json!({"policy": "path \"a/*\" { capabilities = [\"read\"] }"}),
    )
    .await
    .no_content();
    v.post("secret/data/x", json!({"data": {"k": "v"}}))
        .await
        .ok();
    v.post("secret/metadata/x", json!({"max_versions": 3}))
        .await
        .no_content();
    v.delete("secret/data/x").await.no_content();
    v.post("sys/mounts/other", json!({"type": "kv"}))
        .await
        .no_content();
    v.put("other/k", json!({"v": 1})).await.no_content();
    v.delete("other/k").await.no_content();
    v.delete("sys/policies/acl/p").await.no_content();
}

#[tokio::test]
async fn every_response_carries_json_content_type_and_no_store() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    // 404, 403, 400, 405, 200 of a raw sys endpoint: all with both headers.
    v.get("secret/data/missing").await.not_found();
    v.anon().get("secret/data/missing").await.denied();
    v.post("secret/data/x", json!({}))
        .await
        .error_containing(400, "no data provided");
    v.call("TRACE", "secret/data/x", None)
        .await
        .errors(405, &[]);
    v.get("sys/seal-status").await.expect(200);
    v.get("sys/health").await.expect(200);
    // Outside /v1/: 404 with the error envelope.
    let r = v
        .send(
            "GET /nope".into(),
            reqwest::Client::new().get(format!("{}/nope", srv.addr)),
        )
        .await;
    r.errors(404, &[]);
}

#[tokio::test]
async fn bearer_authorization_header_is_a_token() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let r = v
        .send(
            "GET sys/mounts (Bearer)".into(),
            reqwest::Client::new()
                .get(v.url("sys/mounts"))
                .header("Authorization", "Bearer root"),
        )
        .await;
    r.ok();
    // X-Vault-Request is accepted and ignored.
    let r = v
        .send(
            "GET lookup-self (X-Vault-Request)".into(),
            v.req("GET", "auth/token/lookup-self")
                .header("X-Vault-Request", "true"),
        )
        .await;
    assert_eq!(r.data()["id"], "root");
}
