//! What a line holds: request and response entries (full, minimal, with a given time),
//! values HMAC-hashed as `sys/audit-hash` hashes them, the options that keep some in clear
//! (`log_raw`, `hmac_accessor`, non-HMAC keys), elided list responses, and the prefix.

use super::*;

#[tokio::test]
async fn request_entry_shape() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let dev = file_device(&path, &[]);
    let entry = Entry::request(sample_auth(), sample_request()).with_error("permission denied");
    dev.log(&entry).await.unwrap();
    let mut got = lines(&path);
    assert_eq!(got.len(), 1);
    take_time(&mut got[0]);
    let h = |s: &str| dev.hash(s);
    let expected = json!({
        "type": "request",
        "auth": {
            "client_token": h("s.rootTOKENvalue"),
            "accessor": h("accessorVALUE1"),
            "display_name": "token",
            "policies": ["default", "p1"],
            "token_policies": ["default", "p1"],
            "policy_results": {"allowed": true, "granting_policies": [{"name": "p1", "type": "acl"}]},
            "metadata": {"user": "bob"},
            "remaining_uses": 3,
            "token_type": "service",
            "token_ttl": 3600,
            "token_issue_time": "2024-01-01T00:00:00Z",
        },
        "request": {
            "id": "req-1",
            "operation": "update",
            "mount_point": "secret/",
            "mount_type": "kv",
            "mount_accessor": "kv_1234",
            "client_token": h("s.rootTOKENvalue"),
            "client_token_accessor": h("accessorVALUE1"),
            "namespace": {"id": "root"},
            "path": "secret/app",
            "data": {
                "password": h("hunter2-password"),
                "count": 5,
                "enabled": true,
                "nothing": null,
                "nested": {"inner": h("nested-secret-x"), "ratio": 1.5},
                "list": [h("list-secret-y"), 7, {"deep": h("nested-secret-x")}],
            },
            "remote_address": "127.0.0.1",
            "remote_port": 54321,
            "wrap_ttl": 60,
        },
        "error": "permission denied",
    });
    assert_eq!(got[0], expected);
    assert_no_secrets(&path);
}

#[tokio::test]
async fn response_entry_shape() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let dev = file_device(&path, &[]);
    let mut request = sample_request();
    request.data = Map::new();
    let entry = Entry::response(Auth::default(), request, sample_response());
    dev.log(&entry).await.unwrap();
    let mut got = lines(&path);
    take_time(&mut got[0]);
    let h = |s: &str| dev.hash(s);
    let expected = json!({
        "type": "response",
        "auth": {"token_type": "default"},
        "request": {
            "id": "req-1",
            "operation": "update",
            "mount_point": "secret/",
            "mount_type": "kv",
            "mount_accessor": "kv_1234",
            "client_token": h("s.rootTOKENvalue"),
            "client_token_accessor": h("accessorVALUE1"),
            "namespace": {"id": "root"},
            "path": "secret/app",
            "remote_address": "127.0.0.1",
            "remote_port": 54321,
            "wrap_ttl": 60,
        },
        "response": {
            "auth": {
                "client_token": h("newTOKENvalue"),
                "accessor": h("newACCESSORvalue"),
                "display_name": "userpass-bob",
                "policies": ["default"],
                "num_uses": 10,
                "token_type": "service",
                "token_ttl": 60,
            },
            "mount_point": "secret/",
            "mount_type": "kv",
            "mount_accessor": "kv_1234",
            "secret": {"lease_id": "secret/app/lease1"},
            "data": {"password": h("hunter2-password"), "version": 2},
            "warnings": ["a warning"],
            "wrap_info": {
                "ttl": 60,
                "token": h("wrapTOKENvalue"),
                "accessor": h("wrapACCESSOR"),
                "creation_time": "2024-01-01T00:00:00.5Z",
                "creation_path": "secret/app",
                "wrapped_accessor": h("accessorVALUE1"),
            },
        },
    });
    assert_eq!(got[0], expected);
    assert_no_secrets(&path);
}

#[tokio::test]
async fn minimal_entries_and_explicit_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let dev = file_device(&path, &[]);
    let mut entry = Entry::request(Auth::default(), Request::default());
    entry.time = "2024-05-01T12:00:00.123456789Z".into();
    entry.forwarded_from = "10.0.0.2:8201".into();
    dev.log(&entry).await.unwrap();
    let mut response = Entry::response(Auth::default(), Request::default(), Response::default());
    response.forwarded_from = "10.0.0.2:8201".into();
    dev.log(&response).await.unwrap();
    let mut got = lines(&path);
    assert_eq!(
        got[0],
        json!({
            "time": "2024-05-01T12:00:00.123456789Z",
            "type": "request",
            "auth": {"token_type": "default"},
            "request": {"namespace": {"id": "root"}},
            "forwarded_from": "10.0.0.2:8201",
        })
    );
    take_time(&mut got[1]);
    assert_eq!(
        got[1],
        json!({
            "type": "response",
            "auth": {"token_type": "default"},
            "request": {"namespace": {"id": "root"}},
            "response": {},
            "forwarded": true,
        })
    );
}

#[tokio::test]
async fn hash_matches_log_and_sys_audit_hash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let dev = file_device(&path, &[]);
    let entry = Entry::request(sample_auth(), sample_request());
    dev.log(&entry).await.unwrap();
    let got = lines(&path);
    let logged = got[0]["request"]["data"]["password"].as_str().unwrap();
    assert_eq!(logged, dev.hash("hunter2-password"));
    assert!(logged.starts_with(HASH_PREFIX) && logged.len() == HASH_PREFIX.len() + 64);
    // Another salt, another hash; the same salt, the same hash.
    let other = Device::new(
        "file2/",
        "file",
        &opts(&[("file_path", "discard")]),
        "x",
        &rules(),
    )
    .unwrap();
    assert_ne!(other.hash("hunter2-password"), logged);
    let same = Device::new(
        "f/",
        "file",
        &opts(&[("file_path", "discard")]),
        SALT,
        &rules(),
    )
    .unwrap();
    assert_eq!(same.hash("hunter2-password"), logged);
    // sys/audit-hash hashes even on a log_raw device.
    let raw = Device::new(
        "f/",
        "file",
        &opts(&[("file_path", "discard"), ("log_raw", "true")]),
        SALT,
        &rules(),
    )
    .unwrap();
    assert_eq!(raw.hash("hunter2-password"), logged);
}

#[tokio::test]
async fn log_raw_writes_clear_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let dev = file_device(&path, &[("log_raw", "true")]);
    let entry = Entry::response(sample_auth(), sample_request(), sample_response());
    dev.log(&entry).await.unwrap();
    let got = lines(&path);
    assert_eq!(got[0]["auth"]["client_token"], "s.rootTOKENvalue");
    assert_eq!(got[0]["auth"]["accessor"], "accessorVALUE1");
    assert_eq!(got[0]["request"]["client_token"], "s.rootTOKENvalue");
    assert_eq!(got[0]["request"]["data"]["password"], "hunter2-password");
    assert_eq!(got[0]["request"]["data"]["list"][0], "list-secret-y");
    assert_eq!(got[0]["response"]["auth"]["client_token"], "newTOKENvalue");
    assert_eq!(got[0]["response"]["wrap_info"]["token"], "wrapTOKENvalue");
    assert_eq!(got[0]["response"]["data"]["password"], "hunter2-password");
}

#[tokio::test]
async fn hmac_accessor_false_keeps_accessors_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let dev = file_device(&path, &[("hmac_accessor", "false")]);
    let entry = Entry::response(sample_auth(), sample_request(), sample_response());
    dev.log(&entry).await.unwrap();
    let got = &lines(&path)[0];
    assert_eq!(got["auth"]["accessor"], "accessorVALUE1");
    assert_eq!(got["request"]["client_token_accessor"], "accessorVALUE1");
    assert_eq!(got["response"]["auth"]["accessor"], "newACCESSORvalue");
    assert_eq!(got["response"]["wrap_info"]["accessor"], "wrapACCESSOR");
    assert_eq!(
        got["response"]["wrap_info"]["wrapped_accessor"],
        "accessorVALUE1"
    );
    // Tokens and data are still hashed.
    assert_eq!(got["auth"]["client_token"], dev.hash("s.rootTOKENvalue"));
    assert_eq!(
        got["response"]["wrap_info"]["token"],
        dev.hash("wrapTOKENvalue")
    );
    assert_eq!(
        got["response"]["auth"]["client_token"],
        dev.hash("newTOKENvalue")
    );
    assert_eq!(
        got["request"]["data"]["password"],
        dev.hash("hunter2-password")
    );
}

#[tokio::test]
async fn non_hmac_keys_are_written_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let dev = file_device(&path, &[]);
    let mut request = sample_request();
    request.data = obj(json!({
        "username": "bob",
        "password": "hunter2-password",
        "tags": ["a", "b"],
        "nested": {"username": "carol", "other": "nested-secret-x"},
    }));
    request.non_hmac_keys = vec!["username".into(), "tags".into()];
    let mut response = sample_response();
    response.data = obj(json!({"ttl": "1h", "password": "hunter2-password"}));
    response.non_hmac_keys = vec!["ttl".into()];
    let entry = Entry::response(Auth::default(), request, response);
    dev.log(&entry).await.unwrap();
    let got = &lines(&path)[0];
    let data = &got["request"]["data"];
    assert_eq!(data["username"], "bob");
    assert_eq!(data["tags"], json!(["a", "b"]));
    // Vault's rule: the nearest enclosing key decides, at any depth.
    assert_eq!(data["nested"]["username"], "carol");
    assert_eq!(data["nested"]["other"], dev.hash("nested-secret-x"));
    assert_eq!(data["password"], dev.hash("hunter2-password"));
    assert_eq!(got["response"]["data"]["ttl"], "1h");
    assert_eq!(
        got["response"]["data"]["password"],
        dev.hash("hunter2-password")
    );
    assert_no_secrets(&path);
}

#[tokio::test]
async fn elide_list_responses() {
    let dir = tempfile::tempdir().unwrap();
    let list_response = || Response {
        data: obj(json!({
            "keys": ["a", "b", "c"],
            "key_info": {"a": {"x": "1"}, "b": {"x": "2"}},
            "other": "list-secret-y",
        })),
        ..Response::default()
    };
    let list_request = |op: &str| Request {
        operation: op.into(),
        path: "secret/".into(),
        ..Request::default()
    };
    for (raw, name) in [("false", "hashed.log"), ("true", "raw.log")] {
        let path = dir.path().join(name);
        let dev = file_device(&path, &[("elide_list_responses", "true"), ("log_raw", raw)]);
        dev.log(&Entry::response(
            Auth::default(),
            list_request("list"),
            list_response(),
        ))
        .await
        .unwrap();
        dev.log(&Entry::response(
            Auth::default(),
            list_request("read"),
            list_response(),
        ))
        .await
        .unwrap();
        let got = lines(&path);
        let listed = &got[0]["response"]["data"];
        assert_eq!(listed["keys"], 3, "{name}");
        assert_eq!(listed["key_info"], 2, "{name}");
        let read = &got[1]["response"]["data"];
        assert!(
            read["keys"].is_array(),
            "{name}: only list operations are elided"
        );
        if raw == "false" {
            assert_eq!(listed["other"], dev.hash("list-secret-y"));
            assert_eq!(read["keys"][0], dev.hash("a"));
        } else {
            assert_eq!(listed["other"], "list-secret-y");
        }
    }
    // Without the option, lists are written (hashed) in full.
    let path = dir.path().join("full.log");
    let dev = file_device(&path, &[]);
    dev.log(&Entry::response(
        Auth::default(),
        list_request("list"),
        list_response(),
    ))
    .await
    .unwrap();
    let got = lines(&path);
    assert_eq!(got[0]["response"]["data"]["keys"][2], dev.hash("c"));
    assert_eq!(
        got[0]["response"]["data"]["key_info"]["b"]["x"],
        dev.hash("2")
    );
}

#[tokio::test]
async fn prefix_is_prepended() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let dev = file_device(&path, &[("prefix", "@cee: ")]);
    dev.log(&Entry::request(Auth::default(), Request::default()))
        .await
        .unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let json = text.strip_prefix("@cee: ").expect("prefix");
    assert!(json.ends_with("}\n"));
    let line: Value = serde_json::from_str(json.trim_end()).unwrap();
    assert_eq!(line["type"], "request");
}
