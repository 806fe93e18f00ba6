//! What an ACL reports and grants: sudo, capability lists, a policy named `root`, the
//! default policy, a policy written in JSON, and access under a mount.

use super::*;

#[test]
fn sudo_is_reported() {
    let acl = acl(&[(
        "p",
        r#"path "sys/mounts" { capabilities = ["sudo", "read"] }
           path "sys/audit/*" { capabilities = ["sudo"] }
           path "sys/policy" { capabilities = ["read"] }"#,
    )]);
    let table = [
        (
            Read,
            "sys/mounts",
            Decision {
                allowed: true,
                sudo: true,
            },
        ),
        (
            Update,
            "sys/mounts",
            Decision {
                allowed: false,
                sudo: true,
            },
        ),
        (
            Update,
            "sys/audit/file",
            Decision {
                allowed: false,
                sudo: true,
            },
        ),
        (
            Read,
            "sys/policy",
            Decision {
                allowed: true,
                sudo: false,
            },
        ),
        (
            Read,
            "sys/other",
            Decision {
                allowed: false,
                sudo: false,
            },
        ),
    ];
    for (op, path, want) in table {
        assert_eq!(acl.allowed(op, path), want, "{op:?} {path}");
    }
    assert_eq!(acl.capabilities("sys/mounts"), ["read", "sudo"]);
    assert_eq!(
        Acl::root().allowed(Delete, "sys/anything"),
        Decision {
            allowed: true,
            sudo: true
        }
    );
}

#[test]
fn capabilities_report() {
    let acl = acl(&[(
        "p",
        r#"path "a" { capabilities = ["update", "sudo", "read", "patch", "list", "delete", "create"] }
           path "b" { capabilities = [] }
           path "c" { capabilities = ["deny"] }
           path "d/*" { capabilities = ["list"] }"#,
    )]);
    let table: [(&str, &[&str]); 7] = [
        (
            "a",
            &[
                "create", "delete", "list", "patch", "read", "sudo", "update",
            ],
        ),
        (
            "/a",
            &[
                "create", "delete", "list", "patch", "read", "sudo", "update",
            ],
        ),
        (
            "a/",
            &[
                "create", "delete", "list", "patch", "read", "sudo", "update",
            ],
        ),
        ("b", &["deny"]),
        ("c", &["deny"]),
        ("d/x", &["list"]),
        ("nothing", &["deny"]),
    ];
    for (path, want) in table {
        assert_eq!(acl.capabilities(path), want, "{path}");
    }
    assert_eq!(Acl::root().capabilities("anything"), ["root"]);
    assert_eq!(Acl::new(&[]).capabilities("anything"), ["deny"]);
}

/// HCSEC-2025-13: the name `root`, in any case, grants nothing by itself.
#[test]
fn policy_named_root_is_not_root() {
    for name in ["root", "ROOT", " Root "] {
        let acl = acl(&[
            (name, ""),
            (name, r#"path "secret/one" { capabilities = ["read"] }"#),
        ]);
        assert!(!acl.is_root(), "{name}");
        assert_eq!(acl.capabilities("sys/mounts"), ["deny"], "{name}");
        assert_eq!(
            acl.allowed(Read, "sys/mounts"),
            Decision::default(),
            "{name}"
        );
        assert!(!acl.allowed(Read, "secret/two").allowed, "{name}");
        assert!(acl.allowed(Read, "secret/one").allowed, "{name}");
        assert!(!acl.has_access_under("sys/"), "{name}");
    }
    assert!(Acl::root().is_root());
}

#[test]
fn default_policy() {
    let acl = Acl::new(&[Arc::new(Policy::default_policy())]);
    let table = [
        (Read, "auth/token/lookup-self", true),
        (Update, "auth/token/renew-self", true),
        (Update, "auth/token/revoke-self", true),
        (Update, "sys/capabilities-self", true),
        (Create, "cubbyhole/foo", true),
        (Read, "cubbyhole/foo", true),
        (List, "cubbyhole/", true),
        (Patch, "cubbyhole/foo", false),
        (Update, "sys/wrapping/wrap", true),
        (Update, "sys/wrapping/unwrap", true),
        (Update, "sys/leases/lookup", true),
        (Read, "sys/internal/ui/resultant-acl", true),
        (Update, "sys/tools/hash/sha2-256", true),
        (Read, "identity/oidc/provider/p/authorize", true),
        (Read, "secret/foo", false),
        (Update, "auth/token/lookup-self", false),
        (Read, "auth/token/lookup", false),
        (Read, "sys/mounts", false),
        // Templated rules never match without an identity store.
        (Read, "identity/entity/id/{{identity.entity.id}}", false),
    ];
    for (op, path, want) in table {
        assert_eq!(acl.allowed(op, path).allowed, want, "{op:?} {path}");
        assert!(!acl.allowed(op, path).sudo);
    }
    let wrapping = Acl::new(&[Arc::new(Policy::response_wrapping_policy())]);
    assert!(wrapping.allowed(Read, "cubbyhole/response").allowed);
    assert!(!wrapping.allowed(Read, "cubbyhole/other").allowed);
}

#[test]
fn json_policy_evaluates() {
    run(&[(
        "json",
        &[(
            "p",
            r#"{"path": {"secret/*": {"capabilities": ["read"]}, "secret/x": {"policy": "deny"}}}"#,
        )],
        &[
            (Read, "secret/a", true),
            (Update, "secret/a", false),
            (Read, "secret/x", false),
        ],
    )]);
}

#[test]
fn access_under_mounts() {
    let table: [(&str, &str, bool); 9] = [
        (
            r#"path "secret/data/foo" { capabilities = ["read"] }"#,
            "secret/",
            true,
        ),
        (
            r#"path "secret/data/*" { capabilities = ["list"] }"#,
            "secret/",
            true,
        ),
        (
            r#"path "secret/*" { capabilities = ["read"] }"#,
            "secret/",
            true,
        ),
        (
            r#"path "+/data/*" { capabilities = ["read"] }"#,
            "secret/",
            true,
        ),
        (
            r#"path "kv/+/x" { capabilities = ["read"] }"#,
            "kv/a/",
            true,
        ),
        (
            r#"path "secret/data/foo" { capabilities = ["deny"] }"#,
            "secret/",
            false,
        ),
        (
            r#"path "secret/data/foo" { capabilities = [] }"#,
            "secret/",
            false,
        ),
        (
            r#"path "other/*" { capabilities = ["read"] }"#,
            "secret/",
            false,
        ),
        (
            r#"path "kv/b/+" { capabilities = ["read"] }"#,
            "kv/a/",
            false,
        ),
    ];
    for (policy, mount, want) in table {
        assert_eq!(
            acl(&[("p", policy)]).has_access_under(mount),
            want,
            "{policy} {mount}"
        );
    }
    assert!(Acl::root().has_access_under("anything/"));
}
