//! Unit tests of the audit module, with real files (and FIFOs) in temporary directories.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::*;

const SALT: &str = "0f4c4b2e-1b7a-4f0c-9d53-8e7a3f6b2c11";
/// Generous bound for "it returned" (no timing assertions beyond this).
const RETURNS_WITHIN: Duration = Duration::from_secs(10);
/// Plaintext secrets of the tests: they must never reach a hashed log.
const SECRETS: &[&str] = &[
    "s.rootTOKENvalue",
    "accessorVALUE1",
    "hunter2-password",
    "nested-secret-x",
    "list-secret-y",
    "wrapTOKENvalue",
    "wrapACCESSOR",
    "newTOKENvalue",
    "newACCESSORvalue",
];

fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The rules these tests run under: prefixes allowed (the option's own tests), nothing
/// protected.
fn rules() -> FileRules {
    FileRules {
        allow_prefix: true,
        protected: Vec::new(),
    }
}

fn file_device(path: &Path, extra: &[(&str, &str)]) -> Device {
    let mut options = opts(extra);
    options.insert("file_path".into(), path.to_string_lossy().into_owned());
    Device::new("file/", "file", &options, SALT, &rules()).expect("device")
}

fn lines(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn assert_no_secrets(path: &Path) {
    let text = fs::read_to_string(path).unwrap();
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} in the log: {text}");
    }
}

fn sample_auth() -> Auth {
    Auth {
        client_token: "s.rootTOKENvalue".into(),
        accessor: "accessorVALUE1".into(),
        display_name: "token".into(),
        policies: vec!["default".into(), "p1".into()],
        token_policies: vec!["default".into(), "p1".into()],
        policy_results: Some(PolicyResults {
            allowed: true,
            granting_policies: vec![PolicyInfo {
                name: "p1".into(),
                kind: "acl".into(),
                ..PolicyInfo::default()
            }],
        }),
        metadata: [("user".to_owned(), "bob".to_owned())].into(),
        remaining_uses: 3,
        token_type: "service".into(),
        token_ttl: 3600,
        token_issue_time: "2024-01-01T00:00:00Z".into(),
        ..Auth::default()
    }
}

fn sample_request() -> Request {
    Request {
        id: "req-1".into(),
        operation: "update".into(),
        mount_point: "secret/".into(),
        mount_type: "kv".into(),
        mount_accessor: "kv_1234".into(),
        client_token: "s.rootTOKENvalue".into(),
        client_token_accessor: "accessorVALUE1".into(),
        path: "secret/app".into(),
        data: obj(json!({
            "password": "hunter2-password",
            "count": 5,
            "enabled": true,
            "nothing": null,
            "nested": {"inner": "nested-secret-x", "ratio": 1.5},
            "list": ["list-secret-y", 7, {"deep": "nested-secret-x"}],
        })),
        remote_address: "127.0.0.1".into(),
        remote_port: 54321,
        wrap_ttl: 60,
        ..Request::default()
    }
}

fn sample_response() -> Response {
    Response {
        auth: Some(Auth {
            client_token: "newTOKENvalue".into(),
            accessor: "newACCESSORvalue".into(),
            display_name: "userpass-bob".into(),
            policies: vec!["default".into()],
            num_uses: 10,
            token_type: "service".into(),
            token_ttl: 60,
            ..Auth::default()
        }),
        mount_point: "secret/".into(),
        mount_type: "kv".into(),
        mount_accessor: "kv_1234".into(),
        secret: Some(Secret {
            lease_id: "secret/app/lease1".into(),
        }),
        data: obj(json!({"password": "hunter2-password", "version": 2})),
        warnings: vec!["a warning".into()],
        wrap_info: Some(WrapInfo {
            ttl: 60,
            token: "wrapTOKENvalue".into(),
            accessor: "wrapACCESSOR".into(),
            creation_time: "2024-01-01T00:00:00.5Z".into(),
            creation_path: "secret/app".into(),
            wrapped_accessor: "accessorVALUE1".into(),
        }),
        ..Response::default()
    }
}

/// Removes `time` after checking it is RFC 3339 UTC.
fn take_time(line: &mut Value) -> String {
    let time = line
        .as_object_mut()
        .unwrap()
        .remove("time")
        .and_then(|t| t.as_str().map(str::to_owned))
        .expect("time");
    assert!(time.ends_with('Z') && time.len() >= 20, "{time}");
    assert_eq!(&time[4..5], "-");
    assert_eq!(&time[10..11], "T");
    time
}

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

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[tokio::test]
async fn file_mode() {
    let dir = tempfile::tempdir().unwrap();
    // Default 0600 on a new file.
    let path = dir.path().join("new.log");
    let dev = file_device(&path, &[]);
    dev.log(&Entry::default()).await.unwrap();
    assert_eq!(mode_of(&path), 0o600);
    // A configured mode is enforced on an existing file.
    let path = dir.path().join("existing.log");
    fs::write(&path, "").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let dev = file_device(&path, &[("mode", "0640")]);
    dev.log(&Entry::default()).await.unwrap();
    assert_eq!(mode_of(&path), 0o640);
    // Never loosened: an existing 0600 file asked to be 0644 stays 0600.
    let path = dir.path().join("private.log");
    fs::write(&path, "").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let dev = file_device(&path, &[("mode", "0644")]);
    dev.log(&Entry::default()).await.unwrap();
    assert_eq!(mode_of(&path), 0o600);
    // An executable file is never written to, whatever the device was told.
    let path = dir.path().join("script.sh");
    fs::write(&path, "#!/bin/sh\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    let mut options = opts(&[("file_path", path.to_str().unwrap())]);
    match Device::new("file/", "file", &options, SALT, &rules()) {
        Err(crate::Error::InvalidRequest(m)) => assert!(m.contains("executable"), "{m}"),
        other => panic!("an executable target was accepted: {other:?}"),
    }
    // ... also when it became executable after the device was enabled.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    options.insert("mode".into(), "0644".into());
    let dev = Device::new("file/", "file", &options, SALT, &rules()).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    assert!(dev.log(&Entry::default()).await.is_err());
    assert_eq!(fs::read_to_string(&path).unwrap(), "#!/bin/sh\n");
    assert_eq!(mode_of(&path), 0o755);
    // 0000 leaves it alone.
    let path = dir.path().join("keep.log");
    fs::write(&path, "").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let dev = file_device(&path, &[("mode", "0000")]);
    dev.log(&Entry::default()).await.unwrap();
    assert_eq!(mode_of(&path), 0o644);
    assert_eq!(lines(&path).len(), 1);
}

#[tokio::test]
async fn stdout_and_discard() {
    for target in ["stdout", "STDOUT", "discard", "Discard"] {
        let dev = Device::new(
            "file/",
            "file",
            &opts(&[("file_path", target)]),
            SALT,
            &rules(),
        )
        .unwrap_or_else(|e| panic!("{target}: {e}"));
        assert!(dev.healthy());
    }
    // `path` is an alias of `file_path`.
    let dev = Device::new(
        "file/",
        "file",
        &opts(&[("path", "discard")]),
        SALT,
        &rules(),
    )
    .unwrap();
    dev.probe().await.unwrap();
    dev.log(&Entry::request(sample_auth(), sample_request()))
        .await
        .unwrap();
    assert!(dev.healthy());
}

#[tokio::test]
async fn options_are_validated() {
    let bad = |kind: &str, pairs: &[(&str, &str)]| -> String {
        match Device::new("file/", kind, &opts(pairs), SALT, &rules()) {
            Err(crate::Error::InvalidRequest(m)) => m,
            Err(e) => panic!("{pairs:?}: not a 400: {e}"),
            Ok(_) => panic!("{pairs:?}: accepted"),
        }
    };
    assert!(bad("file", &[]).contains("file_path is required"));
    assert!(bad("file", &[("file_path", "")]).contains("file_path is required"));
    assert!(bad("socket", &[("address", "127.0.0.1:9090")]).contains("not supported"));
    assert!(bad("syslog", &[]).contains("not supported"));
    assert!(bad("kafka", &[]).contains("unknown backend type"));
    let f = ("file_path", "discard");
    assert!(bad("file", &[f, ("format", "jsonx")]).contains("jsonx"));
    assert!(bad("file", &[f, ("format", "yaml")]).contains("unknown format type"));
    for mode in ["rw", "0800", "", "-1", "177777", "0x1ff"] {
        assert!(bad("file", &[f, ("mode", mode)]).contains("mode"), "{mode}");
    }
    // No execute, setuid, setgid or sticky bits (CVE-2025-6000).
    for mode in ["0755", "0700", "0777", "4600", "2600", "1600", "0610"] {
        assert!(
            bad("file", &[f, ("mode", mode)]).contains("executable"),
            "{mode}"
        );
    }
    // `prefix` only where the server configuration allows it.
    let strict = FileRules::default();
    match Device::new(
        "file/",
        "file",
        &opts(&[f, ("prefix", "#!/bin/sh\n")]),
        SALT,
        &strict,
    ) {
        Err(crate::Error::InvalidRequest(m)) => {
            assert!(m.contains("allow_audit_log_prefixing"), "{m}")
        }
        other => panic!("a prefix was accepted: {other:?}"),
    }
    for name in [
        "log_raw",
        "hmac_accessor",
        "elide_list_responses",
        "skip_test",
    ] {
        assert!(bad("file", &[f, (name, "yes")]).contains(name), "{name}");
    }
    for timeout in ["0", "1ms", "10m", "soon", "-5s"] {
        assert!(
            bad("file", &[f, ("write_timeout", timeout)]).contains("write_timeout"),
            "{timeout}"
        );
    }
    // Go's ParseBool spellings; unknown options kept verbatim.
    let options = opts(&[
        f,
        ("log_raw", "T"),
        ("hmac_accessor", "0"),
        ("skip_test", "True"),
        ("format", "json"),
        ("write_timeout", "250ms"),
        ("mode", "640"),
        ("fallback", "whatever"),
    ]);
    let dev = Device::new("audit-a/", "file", &options, SALT, &rules()).unwrap();
    assert!(dev.skip_test());
    assert_eq!(dev.write_timeout(), Duration::from_millis(250));
    assert_eq!(dev.options(), &options);
    assert_eq!((dev.path(), dev.kind()), ("audit-a/", "file"));
    let plain = Device::new("f/", "file", &opts(&[f]), SALT, &rules()).unwrap();
    assert!(!plain.skip_test());
    assert_eq!(plain.write_timeout(), DEFAULT_WRITE_TIMEOUT);
    assert!(!format!("{plain:?}").contains(SALT));
}

#[tokio::test]
async fn probe_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let dev = file_device(&path, &[("prefix", "P")]);
    dev.probe().await.unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let mut line: Value = serde_json::from_str(text.strip_prefix('P').unwrap().trim_end()).unwrap();
    take_time(&mut line);
    let id = line["request"]["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 36);
    assert_eq!(
        line,
        json!({
            "type": "request",
            "auth": {"token_type": "default"},
            "request": {
                "id": id,
                "operation": "update",
                "namespace": {"id": "root"},
                "path": "sys/audit/test",
            },
        })
    );
    // A probe that cannot be written fails with Vault's message.
    let missing = dir.path().join("no-such-dir").join("audit.log");
    let dev = file_device(&missing, &[]);
    let err = dev.probe().await.unwrap_err().to_string();
    assert!(
        err.starts_with("audit backend failed test message: "),
        "{err}"
    );
    assert!(!dev.healthy());
}

#[tokio::test]
async fn deleted_file_is_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let dev = file_device(&path, &[]);
    dev.log(&Entry::default()).await.unwrap();
    fs::remove_file(&path).unwrap();
    let second = Entry::request(
        Auth::default(),
        Request {
            id: "second".into(),
            ..Request::default()
        },
    );
    dev.log(&second).await.unwrap();
    let got = lines(&path);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["request"]["id"], "second");
    assert_eq!(mode_of(&path), 0o600);
}

fn entry_with_id(id: &str) -> Entry {
    Entry::request(
        Auth::default(),
        Request {
            id: id.into(),
            ..Request::default()
        },
    )
}

fn ids(path: &Path) -> Vec<String> {
    lines(path)
        .iter()
        .map(|l| l["request"]["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn rotation_by_rename() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let rotated = dir.path().join("audit.log.1");
    let dev = file_device(&path, &[]);
    // With SIGHUP (reopen).
    dev.log(&entry_with_id("a")).await.unwrap();
    fs::rename(&path, &rotated).unwrap();
    dev.reopen();
    dev.log(&entry_with_id("b")).await.unwrap();
    assert_eq!(ids(&rotated), ["a"]);
    assert_eq!(ids(&path), ["b"]);
    // Without: the rename is noticed before the next write.
    fs::rename(&path, &rotated).unwrap();
    dev.log(&entry_with_id("c")).await.unwrap();
    assert_eq!(ids(&rotated), ["b"]);
    assert_eq!(ids(&path), ["c"]);
    // A reopen with nothing renamed appends to the same file.
    dev.reopen();
    dev.log(&entry_with_id("d")).await.unwrap();
    assert_eq!(ids(&path), ["c", "d"]);
}

#[tokio::test]
async fn vanished_directory_fails_until_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("logs");
    fs::create_dir(&sub).unwrap();
    let path = sub.join("audit.log");
    let dev = file_device(&path, &[("write_timeout", "2s")]);
    dev.log(&entry_with_id("a")).await.unwrap();
    assert!(dev.healthy());
    fs::remove_dir_all(&sub).unwrap();
    let err = dev.log(&entry_with_id("b")).await.unwrap_err();
    assert!(
        matches!(err, AuditError::Io { step: "open", .. }),
        "{err:?}"
    );
    assert!(!dev.healthy());
    // Still failing on the next call (no directory is created for us).
    assert!(dev.log(&entry_with_id("b2")).await.is_err());
    fs::create_dir(&sub).unwrap();
    dev.log(&entry_with_id("c")).await.unwrap();
    assert!(dev.healthy());
    assert_eq!(ids(&path), ["c"]);
}

fn mkfifo(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    path
}

/// Frees a writer thread stuck in `open` of a FIFO nobody reads (test hygiene only).
fn release_fifo(path: &Path) {
    drop(fs::OpenOptions::new().read(true).write(true).open(path));
}

/// Runs `log`, failing the test if it does not return within [`RETURNS_WITHIN`] (it
/// hung on its device).
async fn log_timed(dev: &Device, entry: &Entry) -> Result<(), AuditError> {
    tokio::time::timeout(RETURNS_WITHIN, dev.log(entry))
        .await
        .expect("log hung")
}

/// Logs `entry` until the device refuses it at once as blocked (its writer has been stuck
/// longer than its write timeout), polling for at most [`RETURNS_WITHIN`].
async fn until_blocked(dev: &Device, entry: &Entry) {
    let deadline = Instant::now() + RETURNS_WITHIN;
    loop {
        match log_timed(dev, entry).await {
            Err(AuditError::Blocked) => return,
            Err(AuditError::Timeout(_)) => {}
            other => panic!("a stuck device answered {other:?}"),
        }
        assert!(
            Instant::now() < deadline,
            "the device never counted as blocked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn fifo_without_reader_fails_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = mkfifo(dir.path(), "fifo");
    let dev = file_device(&fifo, &[("write_timeout", "200ms")]);
    let first = log_timed(&dev, &entry_with_id("a")).await.unwrap_err();
    assert_eq!(first, AuditError::Timeout(Duration::from_millis(200)));
    assert!(!dev.healthy());
    // The thread is still stuck in open(): once that has lasted longer than the write
    // timeout, further calls fail at once.
    until_blocked(&dev, &entry_with_id("b")).await;
    let probe = tokio::time::timeout(RETURNS_WITHIN, dev.probe())
        .await
        .expect("probe hung")
        .unwrap_err();
    assert!(probe
        .to_string()
        .starts_with("audit backend failed test message"));
    drop(dev);
    release_fifo(&fifo);
}

#[tokio::test]
async fn fifo_with_stalled_reader_times_out_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = mkfifo(dir.path(), "fifo");
    // Lines larger than half the pipe buffer, in clear so hashing does not shrink them.
    let dev = file_device(&fifo, &[("write_timeout", "200ms"), ("log_raw", "true")]);
    let big = |id: &str| {
        let mut entry = entry_with_id(id);
        entry
            .request
            .data
            .insert("blob".into(), Value::String("x".repeat(48 * 1024)));
        entry
    };
    // A reader that opens the FIFO and then stops reading.
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || fs::File::open(reader_path).unwrap());
    let deadline = Instant::now() + RETURNS_WITHIN;
    while log_timed(&dev, &entry_with_id("hello")).await.is_err() {
        assert!(Instant::now() < deadline, "reader never connected");
    }
    let mut reader = reader.join().unwrap();
    // Fill the pipe until a write cannot finish.
    let mut failed = None;
    for i in 0..50 {
        if let Err(e) = log_timed(&dev, &big(&format!("big{i}"))).await {
            failed = Some(e);
            break;
        }
    }
    assert_eq!(
        failed,
        Some(AuditError::Timeout(Duration::from_millis(200)))
    );
    assert!(!dev.healthy());
    until_blocked(&dev, &entry_with_id("refused")).await;
    // The reader drains the pipe again: logging works again.
    let drain = std::thread::spawn(move || {
        let mut all = Vec::new();
        reader.read_to_end(&mut all).unwrap();
        all
    });
    let deadline = Instant::now() + RETURNS_WITHIN;
    while log_timed(&dev, &entry_with_id("after")).await.is_err() {
        assert!(Instant::now() < deadline, "never recovered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(dev.healthy());
    drop(dev); // closes the write end: the reader sees EOF
    let all = String::from_utf8(drain.join().unwrap()).unwrap();
    // Refused lines were dropped, not flushed late.
    assert!(!all.contains("\"refused\""));
    assert!(all.contains("\"after\""));
}

#[tokio::test]
async fn broker_fans_out_and_tolerates_a_blocked_device() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = mkfifo(dir.path(), "blocked");
    let path = dir.path().join("audit.log");
    let blocked = Arc::new(file_device(&fifo, &[("write_timeout", "200ms")]));
    let good = Arc::new(file_device(&path, &[("write_timeout", "2s")]));

    let broker = Broker::new();
    assert!(broker.is_empty());
    broker.log(&entry_with_id("nobody")).await.unwrap();

    assert!(broker.add("blocked/", Arc::clone(&blocked)).is_none());
    assert!(broker.add("file/", Arc::clone(&good)).is_none());
    assert!(!broker.is_empty());
    assert_eq!(broker.paths(), ["blocked/", "file/"]);
    assert!(Arc::ptr_eq(&broker.get("file/").unwrap(), &good));
    assert!(broker.get("nope/").is_none());

    for id in ["one", "two"] {
        tokio::time::timeout(RETURNS_WITHIN, broker.log(&entry_with_id(id)))
            .await
            .expect("broker hung")
            .unwrap();
    }
    assert_eq!(ids(&path), ["one", "two"]);
    // The good device answered; the blocked one is found out in the background, once
    // its write timeout has passed.
    let deadline = std::time::Instant::now() + RETURNS_WITHIN;
    while broker.healthy() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!broker.healthy());
    assert_eq!(broker.unhealthy_paths(), ["blocked/"]);

    // Only the blocked device left: nothing succeeds.
    assert!(Arc::ptr_eq(&broker.remove("file/").unwrap(), &good));
    assert!(broker.remove("file/").is_none());
    let err = tokio::time::timeout(RETURNS_WITHIN, broker.log(&entry_with_id("three")))
        .await
        .expect("broker hung")
        .unwrap_err();
    assert_eq!(err, AuditError::NoneSucceeded("request"));
    assert_eq!(
        err.to_string(),
        "no audit backend succeeded in logging the request"
    );
    let response = Entry::response(Auth::default(), Request::default(), Response::default());
    assert_eq!(
        broker.log(&response).await,
        Err(AuditError::NoneSucceeded("response"))
    );
    assert!(matches!(crate::Error::from(err), crate::Error::Internal(_)));

    // Replacing a device returns the old one; removing the last empties the broker.
    let discard = Arc::new(
        Device::new(
            "blocked/",
            "file",
            &opts(&[("file_path", "discard")]),
            SALT,
            &rules(),
        )
        .unwrap(),
    );
    assert!(broker.add("blocked/", discard).is_some());
    broker.log(&entry_with_id("four")).await.unwrap();
    broker.reopen_all();
    broker.remove("blocked/");
    assert!(broker.is_empty());
    broker.log(&entry_with_id("five")).await.unwrap();
    drop(blocked);
    release_fifo(&fifo);
}

#[tokio::test]
async fn lines_whose_caller_gave_up_are_not_written_late() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = mkfifo(dir.path(), "fifo");
    let dev = file_device(&fifo, &[("write_timeout", "200ms")]);
    // `a` gets the thread stuck in open(); `b` is queued behind it (once the thread is
    // in that open, so not in `a`'s batch) before the device counts as blocked. Both
    // time out.
    let (entry_a, entry_b) = (entry_with_id("a"), entry_with_id("b"));
    let (a, b) = tokio::join!(log_timed(&dev, &entry_a), async {
        while !dev.writer_busy() {
            tokio::task::yield_now().await;
        }
        log_timed(&dev, &entry_b).await
    });
    assert_eq!(a, Err(AuditError::Timeout(Duration::from_millis(200))));
    assert_eq!(b, Err(AuditError::Timeout(Duration::from_millis(200))));
    // A reader appears: the open completes and `a`, already being written, goes out;
    // `b`, whose caller gave up while it was queued, is dropped (queued lines are still
    // read after the channel closes, so dropping the device now changes nothing).
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || fs::read_to_string(reader_path).unwrap());
    drop(dev);
    let text = reader.join().unwrap();
    assert!(text.contains("\"a\""), "{text}");
    assert!(!text.contains("\"b\""), "{text}");
}
