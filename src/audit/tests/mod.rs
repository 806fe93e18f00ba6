//! Unit tests of the audit module, with real files (and FIFOs) in temporary directories:
//! one file per concern; the fixtures and helpers they share are here.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::{json, Map, Value};

use super::*;

mod blocked;
mod file;
mod format;

const SALT: &str = "0f4c4b2e-1b7a-4f0c-9d53-8e7a3f6b2c11";

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
