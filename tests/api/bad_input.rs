//! Bad input gets an exact status and `{"errors": [...]}`, the server keeps serving, and
//! nothing stray lands in storage or the data directory.

use serde_json::json;

use super::common::*;
use crate::harness::{ConfigServer, TestServer};

/// The server still answers normal requests and the data dir holds only expected files
/// and keys; `before` keys may only have gained `core/` bookkeeping and the KV v2 salt
/// that `after`, the mount's first secret, created.
async fn assert_unharmed(srv: &TestServer, v: &V, before: &std::collections::BTreeSet<String>) {
    v.post("secret/data/after", json!({"data": {"ok": "yes"}}))
        .await
        .ok();
    assert_eq!(
        v.get("secret/data/after").await.data()["data"],
        json!({"ok": "yes"})
    );
    v.delete("secret/metadata/after").await.no_content();
    let after = clean_tree_keys(&srv.data_dir);
    let uuids = v.mount_uuids().await;
    assert_keys_expected(&after, &uuids);
    let added: Vec<&String> = after
        .difference(before)
        .filter(|k| !k.starts_with("core/") && !k.ends_with("/kv2/salt"))
        .collect();
    assert!(
        added.is_empty(),
        "bad requests left storage keys behind: {added:?}"
    );
}

#[tokio::test]
async fn malformed_and_non_object_json_is_400() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let before = clean_tree_keys(&srv.data_dir);
    for body in [
        &b"{\"data\":"[..],
        b"{\"data\": {\"a\": }}",
        b"{'data': 1}",
        b"not json",
        b"[1, 2]",
        b"\"a string\"",
        b"42",
        b"true",
        b"{\"a\": 1} trailing",
    ] {
        for path in [
            "secret/data/bad",
            "sys/policies/acl/bad",
            "sys/mounts/bad",
            "auth/token/create",
        ] {
            let r = v.post_raw(path, "application/json", body.to_vec()).await;
            r.some_error(400);
        }
        // The raw sys endpoints parse the body the same way.
        let r = v
            .post_raw("sys/unseal", "application/json", body.to_vec())
            .await;
        r.some_error(400);
    }
    v.get("secret/data/bad").await.not_found();
    v.get("sys/policies/acl/bad").await.not_found();
    assert!(v.get("sys/mounts").await.data().get("bad/").is_none());
    assert_unharmed(&srv, &v, &before).await;
}

#[tokio::test]
async fn invalid_utf8_body_is_400() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let before = clean_tree_keys(&srv.data_dir);
    let mut body = b"{\"data\": {\"a\": \"".to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    body.extend_from_slice(b"\"}}");
    v.post_raw("secret/data/utf8", "application/json", body.clone())
        .await
        .some_error(400);
    let mut v1 = b"{\"a\": \"".to_vec();
    v1.extend_from_slice(&[0x80]);
    v1.extend_from_slice(b"\"}");
    v.post_raw("cubbyhole/utf8", "application/json", v1)
        .await
        .some_error(400);
    v.get("secret/data/utf8").await.not_found();
    v.get("cubbyhole/utf8").await.not_found();
    assert_unharmed(&srv, &v, &before).await;
}

#[tokio::test]
async fn json_nested_100k_deep_is_400_and_the_server_survives() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let before = clean_tree_keys(&srv.data_dir);
    let depth = 100_000;
    let mut objects = String::with_capacity(depth * 6 + 16);
    objects.push_str("{\"data\":");
    for _ in 0..depth {
        objects.push_str("{\"a\":");
    }
    objects.push('1');
    for _ in 0..depth {
        objects.push('}');
    }
    objects.push('}');
    v.post_raw("secret/data/deep", "application/json", objects.into_bytes())
        .await
        .some_error(400);
    let arrays = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
    v.post_raw(
        "cubbyhole/deep",
        "application/json",
        arrays.clone().into_bytes(),
    )
    .await
    .some_error(400);
    v.post_raw("sys/unseal", "application/json", arrays.into_bytes())
        .await
        .some_error(400);
    v.get("secret/data/deep").await.not_found();
    assert_unharmed(&srv, &v, &before).await;
}

#[tokio::test]
async fn traversal_nul_and_bad_utf8_paths_are_400() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.post("secret/data/a/b", json!({"data": {"x": "1"}}))
        .await
        .ok();
    let before = clean_tree_keys(&srv.data_dir);
    let targets = [
        "/v1/secret/../sys/mounts",
        "/v1/secret/data/../../sys/mounts",
        "/v1/secret/%2e%2e/sys/mounts",
        "/v1/secret/%2E%2E/sys/mounts",
        "/v1/secret/data/%2e%2e/%2e%2e/sys/mounts",
        "/v1/secret/data/a/./b",
        "/v1/secret/data/a/%2e/b",
        "/v1/secret/data/./a/b",
        "/v1/secret/data/a//b",
        "/v1/secret/data/a%00b",
        "/v1/secret/data/%00",
        "/v1/secret/data/a%2f..%2f..%2fsys",
        "/v1/secret/data/%ff",
        "/v1/secret/data/a%c3%28",
        "/v1/secret/data/a%5cb",
        "/v1/secret/data/%zz",
    ];
    for target in targets {
        for method in ["GET", "DELETE", "LIST"] {
            let r = raw(
                &srv.addr,
                &raw_request(method, target, Some("root"), "", b""),
            )
            .await;
            r.some_error(400);
        }
        let body = br#"{"data": {"evil": "1"}}"#;
        let r = raw(
            &srv.addr,
            &raw_request(
                "POST",
                target,
                Some("root"),
                "Content-Type: application/json\r\n",
                body,
            ),
        )
        .await;
        r.some_error(400);
        // Refused before any token check: the same without a token.
        let r = raw(&srv.addr, &raw_request("GET", target, None, "", b"")).await;
        r.some_error(400);
    }
    // The legitimate secret is untouched; nothing else appeared under secret/.
    assert_eq!(
        v.get("secret/data/a/b").await.data()["data"],
        json!({"x": "1"})
    );
    assert_eq!(
        v.list("secret/metadata/").await.data()["keys"],
        json!(["a/"])
    );
    assert_eq!(
        v.list("secret/metadata/a").await.data()["keys"],
        json!(["b"])
    );
    assert_unharmed(&srv, &v, &before).await;
}

#[tokio::test]
async fn tokens_mounts_methods_and_content_types() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let before = clean_tree_keys(&srv.data_dir);

    // Unknown and missing tokens: 403 permission denied, for reads and writes.
    let bad = v.with_token("hvs.AAAAAAAAAAAAAAAAAAAAAAAA");
    bad.get("secret/data/x").await.denied();
    bad.post("secret/data/x", json!({"data": {"a": "b"}}))
        .await
        .denied();
    bad.get("sys/mounts").await.denied();
    bad.get("nope/x").await.denied();
    let anon = v.anon();
    anon.get("secret/data/x").await.denied();
    anon.post("secret/data/x", json!({"data": {"a": "b"}}))
        .await
        .denied();
    anon.get("sys/mounts").await.denied();
    anon.get("auth/token/lookup-self").await.denied();
    v.with_token("").get("sys/mounts").await.denied();

    // Unknown mount with the root token: 404 with Vault's routing message.
    v.get("nope/x").await.errors(
        404,
        &["no handler for route \"nope/x\". route entry not found."],
    );
    v.post("nope/x", json!({"a": 1})).await.errors(
        404,
        &["no handler for route \"nope/x\". route entry not found."],
    );

    // Methods outside the mapping: 405 {"errors":[]}.
    for m in ["TRACE", "FOO", "PROPFIND"] {
        let r = raw(
            &srv.addr,
            &raw_request(m, "/v1/secret/data/x", Some("root"), "", b""),
        )
        .await;
        r.errors(405, &[]);
    }
    v.call("TRACE", "sys/mounts", None).await.errors(405, &[]);

    // PATCH needs application/merge-patch+json.
    v.post("secret/data/p", json!({"data": {"a": "1"}}))
        .await
        .ok();
    for ct in [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
    ] {
        let r = v
            .send(
                format!("PATCH secret/data/p as {ct}"),
                v.req("PATCH", "secret/data/p")
                    .header("Content-Type", ct)
                    .body(r#"{"data": {"a": "2"}}"#),
            )
            .await;
        r.some_error(415);
    }
    let r = v
        .send(
            "PATCH without content type".into(),
            v.req("PATCH", "secret/data/p")
                .body(r#"{"data": {"a": "2"}}"#),
        )
        .await;
    r.some_error(415);
    assert_eq!(
        v.get("secret/data/p").await.data()["data"],
        json!({"a": "1"})
    );

    // Not even a well-formed path to a mount: `?list=` must be a boolean.
    v.get("secret/metadata/?list=maybe").await.some_error(400);

    v.delete("secret/metadata/p").await.no_content();
    assert_unharmed(&srv, &v, &before).await;
}

#[tokio::test]
async fn request_bodies_over_max_request_size_are_413() {
    let srv = ConfigServer::start("max_request_size = 1024");
    let anon = V::at(&srv.addr, None);
    let (keys, _, root) = init(&anon, 1, 1).await;
    let status = unseal(&anon, &keys[0]).await;
    assert_eq!(status["sealed"], false);
    let v = anon.with_token(&root);
    v.post("sys/mounts/kv", json!({"type": "kv-v2"}))
        .await
        .no_content();

    let big = json!({"data": {"blob": "x".repeat(2048)}});
    v.post("kv/data/big", big.clone()).await.some_error(413);
    v.post("sys/policies/acl/big", json!({"policy": format!("# {}\npath \"a\" {{ capabilities = [\"read\"] }}", "x".repeat(2048))}))
        .await
        .some_error(413);
    // The raw sys endpoints too.
    v.put("sys/unseal", json!({"key": "x".repeat(2048)}))
        .await
        .some_error(413);

    // A Content-Length over the limit is refused from the headers alone: the server
    // answers without waiting for a body that is never sent.
    let head = raw_request(
        "POST",
        "/v1/kv/data/announced",
        Some(&root),
        "Content-Type: application/json\r\nContent-Length: 100000\r\n",
        b"",
    );
    raw(&srv.addr, &head).await.some_error(413);
    let head = raw_request(
        "PUT",
        "/v1/sys/init",
        None,
        "Content-Type: application/json\r\nContent-Length: 5000000000\r\n",
        b"",
    );
    raw(&srv.addr, &head).await.some_error(413);

    // A chunked body (no Content-Length) over the limit is refused too.
    let payload = format!("{{\"data\": {{\"blob\": \"{}\"}}}}", "y".repeat(4096));
    let mut chunked = format!("{:x}\r\n", payload.len()).into_bytes();
    chunked.extend_from_slice(payload.as_bytes());
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let req = raw_request(
        "POST",
        "/v1/kv/data/chunked",
        Some(&root),
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
        &chunked,
    );
    raw(&srv.addr, &req).await.some_error(413);

    // Nothing was stored; a body under the limit works.
    v.get("kv/data/big").await.not_found();
    v.get("kv/data/announced").await.not_found();
    v.get("kv/data/chunked").await.not_found();
    v.post("kv/data/small", json!({"data": {"blob": "x".repeat(512)}}))
        .await
        .ok();
    assert_eq!(
        v.get("kv/data/small").await.data()["data"]["blob"]
            .as_str()
            .unwrap()
            .len(),
        512
    );
    let keys = clean_tree_keys(&srv.data_dir);
    assert_keys_expected(&keys, &v.mount_uuids().await);
}

#[tokio::test]
async fn dev_server_refuses_bodies_over_32_mib() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    // Announced: refused from the headers.
    let head = raw_request(
        "POST",
        "/v1/secret/data/huge",
        Some("root"),
        "Content-Type: application/json\r\nContent-Length: 34603008\r\n",
        b"",
    );
    raw(&srv.addr, &head).await.some_error(413);
    // Sent: 33 MiB (the client may see the connection close early; if it gets an answer,
    // it must be 413).
    let body = format!("{{\"data\": {{\"blob\": \"{}\"}}}}", "z".repeat(33 << 20));
    let sent = v
        .req("POST", "secret/data/huge")
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await;
    if let Ok(resp) = sent {
        assert_eq!(resp.status().as_u16(), 413);
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|h| h.to_str().ok()),
            Some("application/json")
        );
    }
    v.get("secret/data/huge").await.not_found();
    v.post("secret/data/fine", json!({"data": {"a": "b"}}))
        .await
        .ok();
}

/// Only a body over the size limit is a 413: a body that breaks off before its
/// `Content-Length`, a malformed chunk, or an `Expect: 100-continue` whose body never
/// comes is a malformed request, a 400 in Vault's envelope, and nothing is written.
#[tokio::test]
async fn malformed_bodies_are_400_not_413() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let json = "Content-Type: application/json\r\n";
    let cases: Vec<(&str, String, Vec<u8>)> = vec![
        (
            "a body shorter than its Content-Length",
            format!("{json}Content-Length: 100\r\n"),
            br#"{"data": {"a": "#.to_vec(),
        ),
        (
            "a chunk size that is not hex",
            format!("{json}Transfer-Encoding: chunked\r\n"),
            b"zz\r\n{\"data\": {}}\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "a chunk size that overflows",
            format!("{json}Transfer-Encoding: chunked\r\n"),
            b"fffffffffffffffffffff\r\n{}\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "a chunk longer than its size",
            format!("{json}Transfer-Encoding: chunked\r\n"),
            b"2\r\n{\"data\": {}}\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "Expect: 100-continue and no body",
            format!("{json}Expect: 100-continue\r\nContent-Length: 20\r\n"),
            Vec::new(),
        ),
    ];
    for (what, headers, body) in &cases {
        for (target, token) in [
            ("/v1/secret/data/malformed", Some("root")),
            // The raw sys endpoints read their bodies the same way.
            ("/v1/sys/unseal", None),
        ] {
            let req = raw_request("POST", target, token, headers, body);
            let r = raw_then_eof(&srv.addr, &req).await;
            assert_eq!(r.status, 400, "{what} to {target}: {}", r.text());
            let errors = r.json()["errors"].clone();
            assert_eq!(
                errors,
                json!(["failed to read request body: malformed or incomplete body"]),
                "{what} to {target}"
            );
        }
    }
    // A well-formed chunked body in several chunks is read whole.
    let req = raw_request(
        "POST",
        "/v1/secret/data/chunks",
        Some("root"),
        &format!("{json}Transfer-Encoding: chunked\r\n"),
        b"5\r\n{\"dat\r\n9\r\na\": {\"a\":\r\n5\r\n \"b\"}\r\n1\r\n}\r\n0\r\n\r\n",
    );
    raw(&srv.addr, &req).await.ok();
    assert_eq!(
        v.get("secret/data/chunks").await.data()["data"],
        json!({"a": "b"})
    );
    v.get("secret/data/malformed").await.not_found();
}
