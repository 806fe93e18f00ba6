//! The `file` device: file modes, `stdout` and `discard`, option checks, the probe, and a
//! file deleted, renamed or whose directory vanished.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use super::*;

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
