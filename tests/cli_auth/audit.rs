//! `vaultrs audit enable|list|disable` with the file device, its entries and HMACs.

use std::path::Path;

use serde_json::Value;

use super::support::{alice_token, api_error, root, userpass_with_alice, PASSWORD};
use crate::harness::TestServer;

/// Whether `s` is a `hmac-sha256:` followed by 64 lower-case hex digits.
fn is_hmac(s: &str) -> bool {
    s.strip_prefix("hmac-sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The audit log's entries, one JSON object per line.
fn audit_entries(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
        .collect()
}

/// `vaultrs write -field=hash sys/audit-hash/file input=<input>`.
#[track_caller]
fn audit_hash(s: &TestServer, input: &str) -> String {
    let hash = root(
        s,
        &[
            "write",
            "-field=hash",
            "sys/audit-hash/file",
            &format!("input={input}"),
        ],
    )
    .ok()
    .to_string();
    assert!(is_hmac(&hash), "{hash:?}");
    hash
}

#[test]
fn cli_audit_file() {
    let s = TestServer::dev();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let log_s = log.display().to_string();

    // No devices yet: Vault prints this line on stdout, with exit 2.
    root(&s, &["audit", "list"]).exact(2, "No audit devices are enabled.\n", "");
    root(&s, &["audit", "list", "-format=json"]).exact(0, "{}\n", "");

    root(
        &s,
        &["audit", "enable", "file", &format!("file_path={log_s}")],
    )
    .exact(0, "Success! Enabled the file audit device at: file/\n", "");
    root(
        &s,
        &["audit", "enable", "file", &format!("file_path={log_s}")],
    )
    .exact(
        2,
        "",
        &api_error(
            &s,
            "Error enabling audit device",
            "PUT",
            "sys/audit/file",
            400,
            "path already in use",
        ),
    );

    root(&s, &["audit", "list"]).exact(
        0,
        "Path     Type    Description\n----     ----    -----------\nfile/    file    n/a\n",
        "",
    );
    let detailed = root(&s, &["audit", "list", "-detailed"]);
    let out = detailed.ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["Path", "Type", "Description", "Replication", "Options"]
    );
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(&row[..4], ["file/", "file", "n/a", "replicated"], "{out}");
    // Vault renders the options as `k=v` pairs.
    assert_eq!(row[4], format!("file_path={log_s}"), "{out}");
    let json = root(&s, &["audit", "list", "-format=json"]);
    json.ok();
    let file = json.json()["file/"].clone();
    assert_eq!(file["type"], "file");
    assert_eq!(file["path"], "file/");
    assert_eq!(file["description"], "");
    assert_eq!(file["local"], false);
    assert_eq!(file["options"], serde_json::json!({ "file_path": log_s }));

    // Traffic to audit: a userpass user and login, and a kv secret.
    userpass_with_alice(&s);
    let token = alice_token(&s);
    root(&s, &["kv", "put", "secret/app", "pw=hello"]).code(0);

    // The device's HMAC of "hello" is what the log holds for the kv write's value.
    let hello = audit_hash(&s, "hello");
    let table = root(&s, &["write", "sys/audit-hash/file", "input=hello"]);
    table.ok();
    assert_eq!(table.row("hash"), hello);
    let password = audit_hash(&s, PASSWORD);
    let token_hash = audit_hash(&s, &token);

    let entries = audit_entries(&log);
    let kv: Vec<&Value> = entries
        .iter()
        .filter(|e| e["request"]["path"] == "secret/data/app")
        .collect();
    assert_eq!(
        kv.iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["request", "response"]
    );
    for e in &kv {
        assert_eq!(e["request"]["data"]["data"]["pw"], hello.as_str(), "{e}");
        assert_eq!(e["auth"]["display_name"], "root");
        assert!(
            is_hmac(e["request"]["client_token"].as_str().unwrap()),
            "{e}"
        );
    }
    let login: Vec<&Value> = entries
        .iter()
        .filter(|e| e["request"]["path"] == "auth/userpass/login/alice")
        .collect();
    assert_eq!(login.len(), 2, "{login:?}");
    for e in &login {
        assert_eq!(e["request"]["data"]["password"], password.as_str(), "{e}");
    }
    assert_eq!(login[1]["type"], "response");
    assert_eq!(
        login[1]["response"]["auth"]["client_token"],
        token_hash.as_str()
    );
    let user = entries
        .iter()
        .find(|e| e["request"]["path"] == "auth/userpass/users/alice")
        .expect("the user write is audited");
    assert_eq!(user["request"]["data"]["password"], password.as_str());

    root(&s, &["audit", "disable", "file"]).exact(
        0,
        "Success! Disabled audit device (if it was enabled) at: file/\n",
        "",
    );
    root(&s, &["audit", "disable", "file"]).exact(
        0,
        "Success! Disabled audit device (if it was enabled) at: file/\n",
        "",
    );
    root(&s, &["audit", "list"]).code(2);

    // Nothing more is logged, and no secret of this test is in the log in plaintext.
    let size = std::fs::metadata(&log).unwrap().len();
    root(&s, &["kv", "put", "secret/after", "pw=hello"]).code(0);
    assert_eq!(std::fs::metadata(&log).unwrap().len(), size);
    let text = std::fs::read_to_string(&log).unwrap();
    for secret in [PASSWORD, "hello", token.as_str()] {
        assert!(
            !text.contains(secret),
            "{secret:?} in the audit log in plaintext"
        );
    }
}
