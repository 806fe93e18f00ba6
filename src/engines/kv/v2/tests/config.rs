//! The mount's `config`: read and update, and `delete_version_after` taken from it.

use super::*;

#[tokio::test]
async fn config_read_update() {
    let c = v2().await;
    let r = ok(&c, Operation::Read, "config", json!({})).await;
    assert_eq!(
        r,
        json!({"cas_required": false, "delete_version_after": "0s", "max_versions": 0})
    );
    // hvac's configure() defaults.
    ok(
        &c,
        Operation::Update,
        "config",
        json!({"max_versions": 10, "cas_required": false, "delete_version_after": "0s"}),
    )
    .await;
    ok(
        &c,
        Operation::Update,
        "config",
        json!({"max_versions": "7", "delete_version_after": "90m"}),
    )
    .await;
    let r = ok(&c, Operation::Read, "config", json!({})).await;
    assert_eq!(
        r,
        json!({"cas_required": false, "delete_version_after": "1h30m0s", "max_versions": 7})
    );
    // Only the given fields change; negative delete_version_after disables it.
    ok(
        &c,
        Operation::Update,
        "config",
        json!({"cas_required": "true", "delete_version_after": -5}),
    )
    .await;
    let r = ok(&c, Operation::Read, "config", json!({})).await;
    assert_eq!(
        r,
        json!({"cas_required": true, "delete_version_after": "-1s", "max_versions": 7})
    );
    // Bad values change nothing.
    invalid_msg(call(&c, Operation::Update, "config", json!({"max_versions": -1})).await);
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "config",
            json!({"max_versions": 3, "cas_required": "x"}),
        )
        .await,
    );
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "config",
            json!({"delete_version_after": [1]}),
        )
        .await,
    );
    assert_eq!(ok(&c, Operation::Read, "config", json!({})).await, r);
    assert!(matches!(
        call(&c, Operation::Delete, "config", json!({})).await,
        Err(Error::UnsupportedOperation(_))
    ));
}

#[tokio::test]
async fn delete_version_after_from_config() {
    let c = v2().await;
    ok(
        &c,
        Operation::Update,
        "config",
        json!({"delete_version_after": "1h"}),
    )
    .await;
    let w = put(&c, "d", json!({"a": 1})).await;
    let dt = w["deletion_time"].as_str().unwrap().to_owned();
    assert!(is_timestamp(&w["deletion_time"]));
    assert!(dt.as_str() > w["created_time"].as_str().unwrap());
    // Still readable (deletion is in the future).
    assert_eq!(get(&c, "d").await["data"], json!({"a": 1}));
    // Disabled at the mount: no deletion time even if the key asks for one.
    ok(
        &c,
        Operation::Update,
        "config",
        json!({"delete_version_after": "-1s"}),
    )
    .await;
    ok(
        &c,
        Operation::Update,
        "metadata/d",
        json!({"delete_version_after": "10m"}),
    )
    .await;
    assert_eq!(
        put(&c, "d", json!({"a": 2})).await["deletion_time"],
        json!("")
    );
}
