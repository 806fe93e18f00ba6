//! `auth move` and `secrets move`: the request to `sys/remount`, then the migration's status
//! followed to success or failure.

use super::*;

const REMOUNT: &str = r#"{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,"data":{"migration_id":"m-1"},"wrap_info":null,"warnings":["Mount move has been queued."],"auth":null}"#;

const REMOUNT_OK: &str = r#"{"request_id":"s","lease_id":"","renewable":false,"lease_duration":0,"data":{"migration_id":"m-1","migration_info":{"source_mount":"auth/userpass/","target_mount":"auth/up2/","status":"success"}},"wrap_info":null,"warnings":null,"auth":null}"#;

const REMOUNT_FAILED: &str = r#"{"request_id":"s","lease_id":"","renewable":false,"lease_duration":0,"data":{"migration_id":"m-1","migration_info":{"source_mount":"a/","target_mount":"b/","status":"failure"}},"wrap_info":null,"warnings":null,"auth":null}"#;

#[test]
fn moves_post_sys_remount_and_follow_the_status() {
    let ok = FakeVault::start(vec![
        ("PUT", "/v1/sys/remount", 200, REMOUNT),
        ("GET", "/v1/sys/remount/status/m-1", 200, REMOUNT_OK),
    ]);
    // auth move: paths without auth/ get it (and one trailing slash).
    let (out, err, code) = run_with(
        &["auth", "move", "userpass", "/up2/"],
        "",
        env_for(&ok),
        |_| {},
    );
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(
        out,
        "Started moving auth method auth/userpass/ to auth/up2/, with migration ID m-1\n\
         Success! Finished moving auth method auth/userpass/ to auth/up2/, with migration ID m-1\n"
    );
    let seen = ok.seen();
    let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"from": "auth/userpass/", "to": "auth/up2/"})
    );
    assert_eq!(seen[0].header("X-Vault-Token"), Some("root"));
    let (out, _, code) = run_with(
        &["auth", "move", "auth/userpass/", "auth/up2"],
        "",
        env_for(&ok),
        |_| {},
    );
    assert_eq!(code, 0);
    assert!(out.contains("auth/userpass/ to auth/up2/"), "{out}");
    let (out, _, code) = run_with(&["secrets", "move", "a", "b"], "", env_for(&ok), |_| {});
    assert_eq!(code, 0);
    assert!(
        out.starts_with("Started moving secrets engine a/ to b/, with migration ID m-1\n"),
        "{out}"
    );

    // A move that fails, a status the server forgot, and a refusal: exit 2.
    let failed = FakeVault::start(vec![
        ("PUT", "/v1/sys/remount", 200, REMOUNT),
        ("GET", "/v1/sys/remount/status/m-1", 200, REMOUNT_FAILED),
    ]);
    let (_, err, code) = run_with(&["secrets", "move", "a", "b"], "", env_for(&failed), |_| {});
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "Failure! Error encountered moving secrets engine a/ to b/, with migration ID m-1\n"
    );
    let forgot = FakeVault::start(vec![("PUT", "/v1/sys/remount", 200, REMOUNT)]);
    let (_, err, code) = run_with(&["secrets", "move", "a", "b"], "", env_for(&forgot), |_| {});
    assert_eq!(code, 2);
    assert!(err.contains("no longer knows this migration"), "{err}");
    let refused = FakeVault::start(vec![(
        "PUT",
        "/v1/sys/remount",
        400,
        r#"{"errors":["path already in use at \"b/\""]}"#,
    )]);
    let (_, err, code) = run_with(
        &["secrets", "move", "a", "b"],
        "",
        env_for(&refused),
        |_| {},
    );
    assert_eq!(code, 2);
    assert!(
        err.starts_with("Error moving secrets engine a/ to b/: "),
        "{err}"
    );
    assert!(err.contains("path already in use at \"b/\""), "{err}");
    // Missing arguments never reach a server.
    let (_, err, code) = run_with(&["auth", "move", "only-one"], "", env_for(&refused), |_| {});
    assert_eq!(code, 1, "{err}");
}
