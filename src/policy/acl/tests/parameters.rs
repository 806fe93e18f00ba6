//! Checks beyond capabilities: parameter constraints, merged across policies, and
//! wrapping TTL bounds.

use super::*;

#[test]
fn parameter_constraints() {
    let acl = acl(&[(
        "p",
        r#"path "secret/foo" {
            capabilities = ["create", "update", "read", "list"]
            allowed_parameters = {
                "ttl" = ["1h", "2h"]
                "name" = []
                "env" = ["prod-*", "*-test", "*mid*"]
                "admin" = []
                "count" = [1, 2]
            }
            denied_parameters = { "admin" = [true] }
            required_parameters = ["name"]
        }
        path "secret/open" {
            capabilities = ["update"]
            allowed_parameters = { "*" = [] }
            denied_parameters = { "secret" = [] }
        }
        path "secret/closed" {
            capabilities = ["update"]
            denied_parameters = { "*" = [] }
        }"#,
    )]);
    let table = [
        (Update, "secret/foo", json!({"name": "n"}), true),
        (Update, "secret/foo", json!({}), false), // name is required
        (
            Update,
            "secret/foo",
            json!({"name": "n", "ttl": "1h"}),
            true,
        ),
        (
            Update,
            "secret/foo",
            json!({"name": "n", "TTL": "2h"}),
            true,
        ),
        (
            Update,
            "secret/foo",
            json!({"name": "n", "ttl": "3h"}),
            false,
        ),
        (
            Update,
            "secret/foo",
            json!({"name": "n", "other": 1}),
            false,
        ),
        (
            Update,
            "secret/foo",
            json!({"name": "n", "env": "prod-eu"}),
            true,
        ),
        (
            Update,
            "secret/foo",
            json!({"name": "n", "env": "unit-test"}),
            true,
        ),
        (
            Update,
            "secret/foo",
            json!({"name": "n", "env": "a-mid-b"}),
            true,
        ),
        (
            Update,
            "secret/foo",
            json!({"name": "n", "env": "dev"}),
            false,
        ),
        (
            Update,
            "secret/foo",
            json!({"name": "n", "admin": false}),
            true,
        ),
        (
            Update,
            "secret/foo",
            json!({"name": "n", "admin": true}),
            false,
        ),
        (
            Update,
            "secret/foo",
            json!({"name": "n", "count": 2.0}),
            true,
        ),
        (
            Update,
            "secret/foo",
            json!({"name": "n", "count": 3}),
            false,
        ),
        (List, "secret/foo", json!({"other": 1}), true), // not checked for LIST
        (Update, "secret/open", json!({"anything": 1}), true),
        (Update, "secret/open", json!({"secret": 1}), false),
        (Update, "secret/closed", json!({}), true),
        (Update, "secret/closed", json!({"a": 1}), false),
        (Update, "secret/none", json!({}), false),
    ];
    for (op, path, data, want) in table {
        let Value::Object(data) = data else {
            unreachable!()
        };
        assert_eq!(
            acl.authorize(op, path, &data, None).allowed,
            want,
            "{op:?} {path} {data:?}"
        );
        assert_eq!(
            acl.check_parameters(op, path, &data),
            want,
            "{op:?} {path} {data:?}"
        );
    }
    assert!(
        Acl::root()
            .authorize(Update, "x", &Map::new(), None)
            .allowed
    );
}

#[test]
fn parameters_merge_across_policies() {
    let acl = acl(&[
        (
            "a",
            r#"path "p" { capabilities = ["update"] allowed_parameters = { "x" = ["1"] } }"#,
        ),
        (
            "b",
            r#"path "p" { capabilities = ["update"] allowed_parameters = { "x" = ["2"], "y" = [] } }"#,
        ),
        (
            "c",
            r#"path "q" { capabilities = ["update"] allowed_parameters = { "x" = ["1"] } }"#,
        ),
        (
            "d",
            r#"path "q" { capabilities = ["update"] allowed_parameters = { "x" = [] } }"#,
        ),
    ]);
    let table = [
        ("p", json!({"x": "1"}), true),
        ("p", json!({"x": "2", "y": "z"}), true),
        ("p", json!({"x": "3"}), false),
        ("p", json!({"z": "1"}), false),
        ("q", json!({"x": "anything"}), true),
    ];
    for (path, data, want) in table {
        let Value::Object(data) = data else {
            unreachable!()
        };
        assert_eq!(
            acl.authorize(Update, path, &data, None).allowed,
            want,
            "{path} {data:?}"
        );
    }
}

#[test]
fn wrapping_ttl_bounds() {
    let acl = acl(&[
        (
            "a",
            r#"path "w" { capabilities = ["read"] min_wrapping_ttl = "1m" max_wrapping_ttl = "1h" }"#,
        ),
        (
            "b",
            r#"path "w" { capabilities = ["read"] max_wrapping_ttl = "30m" }"#,
        ),
    ]);
    let empty = Map::new();
    let table = [
        (None, false),
        (Some(Duration::from_secs(30)), false),
        (Some(Duration::from_secs(600)), true),
        (Some(Duration::from_secs(1800)), true),
        (Some(Duration::from_secs(2400)), false), // the lesser max (30m) wins
    ];
    for (ttl, want) in table {
        assert_eq!(
            acl.authorize(Read, "w", &empty, ttl).allowed,
            want,
            "{ttl:?}"
        );
    }
    assert!(acl.allowed(Read, "w").allowed);
}
