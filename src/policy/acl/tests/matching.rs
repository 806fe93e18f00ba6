//! Which rule a path gets: exact over glob, `+` for one segment, unions across policies
//! with deny winning, the more specific rule, wildcard priority, list not bypassing deny,
//! and matching that stays cheap on pathological rule sets.

use super::*;

#[test]
fn exact_beats_glob() {
    run(&[
        (
            "exact narrows",
            &[(
                "p",
                r#"path "secret/*" { capabilities = ["read"] }
                       path "secret/foo" { capabilities = ["update"] }"#,
            )],
            &[
                (Read, "secret/foo", false),
                (Update, "secret/foo", true),
                (Read, "secret/bar", true),
                (Read, "secret/foo/x", true),
                (Update, "secret/bar", false),
            ],
        ),
        (
            "no glob",
            &[("p", r#"path "secret/foo" { capabilities = ["read"] }"#)],
            &[
                (Read, "secret/foo", true),
                (Read, "secret/foo/", false),
                (Read, "secret/fo", false),
                (Read, "secret/foox", false),
                (Read, "/secret/foo", true),
            ],
        ),
        (
            "prefix glob is a string prefix",
            &[("p", r#"path "secret/zip-*" { capabilities = ["read"] }"#)],
            &[
                (Read, "secret/zip-zap/x", true),
                (Read, "secret/zip-", true),
                (Read, "secret/zip", false),
            ],
        ),
        (
            "longest prefix wins",
            &[(
                "p",
                r#"path "secret/*" { capabilities = ["read"] }
                       path "secret/a/*" { capabilities = ["update"] }
                       path "secret/a/b*" { capabilities = ["delete"] }"#,
            )],
            &[
                (Read, "secret/x", true),
                (Read, "secret/a/x", false),
                (Update, "secret/a/x", true),
                (Delete, "secret/a/bc", true),
                (Update, "secret/a/bc", false),
            ],
        ),
        (
            "star matches everything",
            &[("p", r#"path "*" { capabilities = ["read"] }"#)],
            &[
                (Read, "anything/at/all", true),
                (Read, "", true),
                (Update, "x", false),
            ],
        ),
    ]);
}

#[test]
fn plus_matches_one_segment() {
    run(&[
        (
            "plus with glob",
            &[("p", r#"path "secret/+/team/*" { capabilities = ["read"] }"#)],
            &[
                (Read, "secret/a/team/x", true),
                (Read, "secret/a/team/x/y", true),
                (Read, "secret/a/team/", true),
                (Read, "secret/a/team", false),
                (Read, "secret/a/b/team/x", false),
                (Read, "secret/team/x", false),
                (Read, "other/a/team/x", false),
            ],
        ),
        (
            "plus exact length",
            &[(
                "p",
                r#"path "secret/+/config" { capabilities = ["read"] }
                       path "+/meta" { capabilities = ["list"] }"#,
            )],
            &[
                (Read, "secret/x/config", true),
                (Read, "secret/x/config/y", false),
                (Read, "secret/x/y/config", false),
                (Read, "secret/config", false),
                (List, "kv/meta", true),
                (List, "kv/meta/", true),
                (List, "a/b/meta", false),
            ],
        ),
        (
            "plus then prefix in the last segment",
            &[("p", r#"path "secret/+/ab*" { capabilities = ["read"] }"#)],
            &[
                (Read, "secret/x/abc", true),
                (Read, "secret/x/ab/c", true),
                (Read, "secret/x/a", false),
            ],
        ),
        (
            "partial plus is literal",
            &[("p", r#"path "secret/a+b" { capabilities = ["read"] }"#)],
            &[(Read, "secret/a+b", true), (Read, "secret/axb", false)],
        ),
    ]);
}

#[test]
fn same_path_across_policies_unions_and_deny_wins() {
    let union = [
        ("a", r#"path "secret/foo" { capabilities = ["read"] }"#),
        ("b", r#"path "secret/foo" { capabilities = ["update"] }"#),
        ("c", r#"path "secret/+/x" { capabilities = ["list"] }"#),
        ("d", r#"path "secret/+/x" { capabilities = ["read"] }"#),
        ("e", r#"path "kv/*" { capabilities = ["create"] }"#),
        ("f", r#"path "kv/*" { capabilities = ["delete"] }"#),
    ];
    let deny_last = [
        (
            "a",
            r#"path "secret/foo" { capabilities = ["read", "update", "sudo"] }"#,
        ),
        ("b", r#"path "secret/foo" { capabilities = ["deny"] }"#),
        ("c", r#"path "kv/*" { capabilities = ["read"] }"#),
        ("d", r#"path "kv/*" { capabilities = ["deny"] }"#),
        ("e", r#"path "x/+" { capabilities = ["read"] }"#),
        ("f", r#"path "x/+" { policy = "deny" }"#),
    ];
    let deny_first: Vec<_> = deny_last.iter().rev().cloned().collect();
    run(&[
        (
            "union",
            &union,
            &[
                (Read, "secret/foo", true),
                (Update, "secret/foo", true),
                (Delete, "secret/foo", false),
                (List, "secret/a/x", true),
                (Read, "secret/a/x", true),
                (Create, "kv/a", true),
                (Delete, "kv/a", true),
                (Read, "kv/a", false),
            ],
        ),
        (
            "deny last",
            &deny_last,
            &[
                (Read, "secret/foo", false),
                (Update, "secret/foo", false),
                (Read, "kv/a", false),
                (Read, "x/y", false),
            ],
        ),
        (
            "deny first",
            &deny_first,
            &[
                (Read, "secret/foo", false),
                (Read, "kv/a", false),
                (Read, "x/y", false),
            ],
        ),
    ]);
    let acl = acl(&union);
    assert_eq!(acl.capabilities("secret/foo"), ["read", "update"]);
    let denied = super::tests::acl(&deny_last);
    assert_eq!(denied.capabilities("secret/foo"), ["deny"]);
    assert!(!denied.allowed(Read, "secret/foo").sudo);
    // Union only across identical patterns: a broader glob does not add to an exact rule.
    let acl = super::tests::acl(&[
        (
            "a",
            r#"path "secret/*" { capabilities = ["list", "read"] }"#,
        ),
        ("b", r#"path "secret/foo" { capabilities = ["update"] }"#),
    ]);
    assert_eq!(acl.capabilities("secret/foo"), ["update"]);
}

#[test]
fn more_specific_rule_overrides_broader_glob() {
    run(&[
        (
            "broad deny, specific allow",
            &[
                ("p", r#"path "secret/*" { capabilities = ["deny"] }"#),
                (
                    "q",
                    r#"path "secret/public/*" { capabilities = ["read", "list"] }
                       path "secret/one" { capabilities = ["read"] }
                       path "secret/+/shared" { capabilities = ["read"] }"#,
                ),
            ],
            &[
                (Read, "secret/public/x", true),
                (List, "secret/public/", true),
                (Read, "secret/one", true),
                (Read, "secret/private", false),
                (Read, "secret/two", false),
                (Read, "secret/a/shared", true),
            ],
        ),
        (
            "broad allow, specific deny",
            &[(
                "p",
                r#"path "secret/data/*" { capabilities = ["create", "read", "update", "patch", "delete", "list"] }
                       path "secret/data/locked" { capabilities = ["deny"] }
                       path "secret/data/vault/*" { capabilities = ["deny"] }
                       path "secret/data/+/hidden" { capabilities = ["deny"] }"#,
            )],
            &[
                (Read, "secret/data/x", true),
                (Patch, "secret/data/x", true),
                (Read, "secret/data/locked", false),
                (Update, "secret/data/locked", false),
                (Read, "secret/data/locked/child", true),
                (Read, "secret/data/vault/k", false),
                (Delete, "secret/data/vault/k", false),
                (Read, "secret/data/a/hidden", false),
                (Read, "secret/data/a/shown", true),
            ],
        ),
    ]);
}

/// Vault's priority order between matching non-exact patterns, each pair tried in both
/// insertion orders: (winner, loser, path).
#[test]
fn wildcard_priority() {
    let table = [
        ("secret/+/bar", "secret/*", "secret/foo/bar"), // a prefix loses to a non-prefix at the same position
        ("foo/a*", "foo/+", "foo/ab"),                  // later first wildcard wins
        ("foo/bar/+/baz", "foo/+/bar/baz", "foo/bar/bar/baz"),
        ("foo/+/bar", "foo/+/ba*", "foo/x/bar"),
        ("foo/+", "foo/*", "foo/x"),
        ("foo/+/bar/baz", "foo/+/+/baz", "foo/x/bar/baz"), // fewer wildcards wins
        ("foo/+/bar/ba*", "foo/+/bar/b*", "foo/x/bar/baz"), // longer wins
        ("foo/+/+", "foo/+/b*", "foo/x/bar"),              // first at the same place, prefix loses
        // Vault's rules taken literally: a glob at the same position as the first `+`
        // beats the `+` pattern, however specific the rest of it is.
        ("kv/*", "kv/+/private/*", "kv/a/private/x"),
        ("foo/x/*", "foo/+/*", "foo/x/y"),
    ];
    for (winner, loser, path) in table {
        let w = format!(r#"path "{winner}" {{ capabilities = ["read"] }}"#);
        let l = format!(r#"path "{loser}" {{ capabilities = ["deny"] }}"#);
        for policies in [
            [("w", w.as_str()), ("l", l.as_str())],
            [("l", l.as_str()), ("w", w.as_str())],
        ] {
            let acl = acl(&policies);
            assert!(
                acl.allowed(Read, path).allowed,
                "{winner} should beat {loser} on {path}"
            );
        }
        // And the loser alone matches, so the test means something.
        assert!(
            acl(&[("l", &l.replace("deny", "read"))])
                .allowed(Read, path)
                .allowed,
            "{loser} ~ {path}"
        );
    }
}

/// GHSA-xp3c-3jw3-4vcr: LIST must not escape a more specific deny.
#[test]
fn list_does_not_bypass_deny() {
    run(&[
        (
            "glob deny below a glob list",
            &[(
                "p",
                r#"path "secret/*" { capabilities = ["read", "list"] }
                       path "secret/private/*" { capabilities = ["deny"] }"#,
            )],
            &[
                (List, "secret/", true),
                (List, "secret/other/", true),
                (List, "secret/private/", false),
                (List, "secret/private", false),
                (List, "/secret/private", false),
                (List, "secret/private/sub/", false),
                (Read, "secret/private", true),
            ],
        ),
        (
            "exact deny with trailing slash",
            &[(
                "p",
                r#"path "secret/metadata/*" { capabilities = ["list"] }
                       path "secret/metadata/team/" { capabilities = ["deny"] }"#,
            )],
            &[
                (List, "secret/metadata/team/", false),
                (List, "secret/metadata/team", false),
                (List, "secret/metadata/other/", true),
            ],
        ),
        (
            "plus deny",
            &[(
                "p",
                r#"path "kv/+/*" { capabilities = ["list"] }
                       path "kv/+/private/*" { capabilities = ["deny"] }"#,
            )],
            &[
                (List, "kv/a/private/", false),
                (List, "kv/a/private", false),
                (List, "kv/a/public/", true),
            ],
        ),
        (
            "exact list rule covers the folder",
            &[(
                "p",
                r#"path "secret/metadata/foo" { capabilities = ["list"] }"#,
            )],
            &[
                (List, "secret/metadata/foo/", true),
                (List, "secret/metadata/foo", true),
                (Read, "secret/metadata/foo/", false),
                (List, "secret/metadata/foo/bar/", false),
            ],
        ),
        (
            "trimmed glob fallback",
            &[("p", r#"path "secret/+" { capabilities = ["list"] }"#)],
            &[
                (List, "secret/foo/", true),
                (List, "secret/foo/bar/", false),
            ],
        ),
    ]);
}

/// Pathological rule sets stay cheap: 10k rules per policy, long paths, deep prefix chains.
#[test]
fn pathological_rule_sets() {
    let mut prefix_chain = String::new();
    for i in 1..=1300 {
        prefix_chain.push_str(&format!(
            "path \"{}*\" {{ capabilities = [\"read\"] }}\n",
            "a".repeat(i)
        ));
    }
    let mut plus_rules = String::new();
    for i in 0..10_000 {
        plus_rules.push_str(&format!(
            "path \"s/+/{i}/+/+/x*\" {{ capabilities = [\"list\"] }}\n"
        ));
    }
    let long = format!("{}/", "seg".repeat(15));
    let mut exact_rules = String::new();
    for i in 0..10_000 {
        exact_rules.push_str(&format!(
            "path \"e/{long}{i}\" {{ capabilities = [\"update\"] }}\n"
        ));
    }
    let acl = acl(&[
        ("chain", &prefix_chain),
        ("plus", &plus_rules),
        ("exact", &exact_rules),
    ]);
    let deep_path = "a".repeat(100_000);
    let long_path = format!("s/{}", "x/".repeat(50_000));
    for _ in 0..20 {
        assert!(acl.allowed(Read, &deep_path).allowed);
        assert!(acl.allowed(List, "s/q/9999/r/t/xyz").allowed);
        assert!(!acl.allowed(List, &long_path).allowed);
        assert!(acl.allowed(Update, &format!("e/{long}9999")).allowed);
        assert_eq!(acl.capabilities("b"), ["deny"]);
    }
}
