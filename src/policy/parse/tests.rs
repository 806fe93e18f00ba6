use super::*;
use serde_json::json;

fn caps(names: &[&str]) -> Capabilities {
    names
        .iter()
        .map(|n| Capabilities::from_name(n).unwrap())
        .fold(Capabilities::NONE, |a, b| a | b)
}

fn only_rule(text: &str) -> PathRule {
    let policy = Policy::parse("p", text).unwrap();
    assert_eq!(policy.rules().len(), 1, "{text}");
    policy.rules()[0].clone()
}

#[test]
fn parses_vault_hcl() {
    let text = r#"
        # comment
        path "secret/data/*" { capabilities = ["create", "read", "update", "patch", "delete", "list"] }
        path "secret/+/team/*" { capabilities = ["read"] }
        path "sys/mounts" { capabilities = ["sudo", "read"] }
        path "/secret/data/locked" { capabilities = ["deny"] }
    "#;
    let policy = Policy::parse(" My-Policy ", text).unwrap();
    assert_eq!(policy.name(), "my-policy");
    assert_eq!(policy.text(), text);
    let got: Vec<(&str, Capabilities, &Matcher)> = policy
        .rules()
        .iter()
        .map(|r| (r.path.as_str(), r.permissions.capabilities, &r.matcher))
        .collect();
    let team = Matcher::Segments {
        pattern: "secret/+/team/".into(),
        segments: vec![
            Segment::Literal("secret".into()),
            Segment::Any,
            Segment::Literal("team".into()),
            Segment::Literal("".into()),
        ],
        prefix: true,
    };
    assert_eq!(
        got,
        vec![
            (
                "secret/data/*",
                caps(&["create", "read", "update", "patch", "delete", "list"]),
                &Matcher::Prefix("secret/data/".into())
            ),
            ("secret/+/team/*", caps(&["read"]), &team),
            (
                "sys/mounts",
                caps(&["sudo", "read"]),
                &Matcher::Exact("sys/mounts".into())
            ),
            (
                "secret/data/locked",
                Capabilities::DENY,
                &Matcher::Exact("secret/data/locked".into())
            ),
        ]
    );
}

#[test]
fn json_and_hcl1_object_forms() {
    let table = [
        r#"{"path": {"secret/*": {"capabilities": ["read"]}}}"#,
        r#"  {"name": "x", "path": [{"secret/*": {"capabilities": ["read"]}}]}"#,
        r#"{"path": {"secret/*": [{"capabilities": ["read"]}]}}"#,
        r#"path = { "secret/*" = { capabilities = ["read"] } }"#,
        "name = \"x\"\npath \"secret/*\" {\n  capabilities = [\"read\",]\n}\n",
    ];
    for text in table {
        let rule = only_rule(text);
        assert_eq!(rule.matcher, Matcher::Prefix("secret/".into()), "{text}");
        assert_eq!(rule.permissions.capabilities, Capabilities::READ, "{text}");
    }
}

#[test]
fn legacy_policy_shorthand() {
    let table: [(&str, &[&str]); 4] = [
        ("read", &["read", "list"]),
        ("write", &["create", "read", "update", "delete", "list"]),
        (
            "sudo",
            &["create", "read", "update", "delete", "list", "sudo"],
        ),
        ("deny", &["deny"]),
    ];
    for (old, want) in table {
        let rule = only_rule(&format!("path \"a\" {{ policy = \"{old}\" }}"));
        assert_eq!(rule.permissions.capabilities, caps(want), "{old}");
    }
    // `policy` and `capabilities` add up.
    let rule = only_rule(r#"path "a" { policy = "read" capabilities = ["patch"] }"#);
    assert_eq!(
        rule.permissions.capabilities,
        caps(&["read", "list", "patch"])
    );
}

#[test]
fn hcl1_syntax() {
    let text = "// leading comment\n\
        /* block\n comment */ path \"secret/a\" { policy = \"read\" capabilities = [\"patch\",] },\n\
        path \"secret/\\u00e9\\\\x\" {\n\
          capabilities = [\n  # inside a list\n  \"update\"\n]\n\
          allowed_parameters {\n    \"Quoted-Key\" = [\"v\", 1.5, -2, true]\n  }\n\
          min_wrapping_ttl = 30, max_wrapping_ttl = \"1m\"\n\
        } # trailing";
    let policy = Policy::parse("p", text).unwrap();
    let rules = policy.rules();
    assert_eq!(rules.len(), 2);
    assert_eq!(
        rules[0].permissions.capabilities,
        caps(&["read", "list", "patch"])
    );
    assert_eq!(rules[1].path, "secret/\u{e9}\\x");
    let p = &rules[1].permissions;
    assert_eq!(p.capabilities, Capabilities::UPDATE);
    assert_eq!(
        p.allowed_parameters,
        Some(ParameterMap::from([(
            "quoted-key".into(),
            vec![json!("v"), json!(1.5), json!(-2), json!(true)]
        )]))
    );
    assert_eq!(p.min_wrapping_ttl, Some(Duration::from_secs(30)));
    assert_eq!(p.max_wrapping_ttl, Some(Duration::from_secs(60)));
}

#[test]
fn deny_wipes_the_rest_of_its_rule() {
    let rule = only_rule(
        r#"path "a" {
            capabilities = ["read", "deny", "sudo"]
            allowed_parameters = { "x" = [] }
            required_parameters = ["y"]
        }"#,
    );
    assert_eq!(
        rule.permissions,
        Permissions {
            capabilities: Capabilities::DENY,
            ..Permissions::default()
        }
    );
}

#[test]
fn parameter_and_wrapping_constraints() {
    let rule = only_rule(
        r#"path "secret/foo" {
            capabilities = ["create"]
            allowed_parameters = {
                "TTL" = ["1h", 2]
                "name" = []
            }
            denied_parameters = { admin = [true] }
            required_parameters = ["name"]
            min_wrapping_ttl = 60
            max_wrapping_ttl = "1h"
        }"#,
    );
    let p = rule.permissions;
    assert_eq!(
        p.allowed_parameters,
        Some(ParameterMap::from([
            ("ttl".into(), vec![json!("1h"), json!(2)]),
            ("name".into(), vec![]),
        ]))
    );
    assert_eq!(
        p.denied_parameters,
        Some(ParameterMap::from([("admin".into(), vec![json!(true)])]))
    );
    assert_eq!(p.required_parameters, vec!["name".to_owned()]);
    assert_eq!(p.min_wrapping_ttl, Some(Duration::from_secs(60)));
    assert_eq!(p.max_wrapping_ttl, Some(Duration::from_secs(3600)));

    // Block form of a parameter map, and zero meaning unset.
    let rule = only_rule(
        "path \"a\" {\n allowed_parameters {\n  foo = [\"x\"]\n }\n min_wrapping_ttl = 0\n}",
    );
    assert_eq!(
        rule.permissions.allowed_parameters,
        Some(ParameterMap::from([("foo".into(), vec![json!("x")])]))
    );
    assert_eq!(rule.permissions.min_wrapping_ttl, None);
}

#[test]
fn templated_paths_are_flagged() {
    let policy = Policy::parse(
        "t",
        r#"path "identity/entity/id/{{identity.entity.id}}" { capabilities = ["read"] }
           path "secret/plain" { capabilities = ["read"] }"#,
    )
    .unwrap();
    assert!(policy.is_templated());
    assert!(policy.rules()[0].templated);
    assert!(!policy.rules()[1].templated);
}

#[test]
fn json_policies_never_repeat_a_key() {
    for text in [
        r#"{"path":{"secret/data/x":{"capabilities":["deny"]},"secret/data/x":{"capabilities":["read"]}}}"#,
        r#"{"path":{"a":{"capabilities":["read"]}},"path":{"b":{"capabilities":["read"]}}}"#,
        r#"{"path":{"a":{"capabilities":["deny"],"capabilities":["read"]}}}"#,
        r#"{"path":{"a":{"allowed_parameters":{"k":[],"k":["v"]},"capabilities":["update"]}}}"#,
    ] {
        let err = Policy::parse("p", text).unwrap_err().to_string();
        assert!(err.contains("duplicate key"), "{text}: {err}");
    }
    // The same path twice as HCL blocks is two rules; the ACL merges them (deny wins).
    let hcl = "path \"secret/data/x\" { capabilities = [\"deny\"] }\n\
               path \"secret/data/x\" { capabilities = [\"read\"] }";
    assert_eq!(Policy::parse("p", hcl).unwrap().rules().len(), 2);
}

#[test]
fn rejects_bad_policies_without_panicking() {
    let deep = format!(
        "path \"a\" {{ capabilities = {}\"read\"{} }}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep_object = format!(
        "path \"a\" {{ x = {}{} }}",
        "{a=".repeat(50_000),
        "}".repeat(50_000)
    );
    let deep_json = format!(
        "{{\"path\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let huge = format!(
        "path \"a\" {{ capabilities = [\"read\"] }}\n#{}",
        "x".repeat(MAX_POLICY_BYTES)
    );
    let many = "path \"a\" { capabilities = [\"read\"] }\n".repeat(MAX_PATH_RULES + 1);
    let table: Vec<(&str, String, &str)> = vec![
        (
            "invalid hcl",
            r#"path "a" { capabilities = ["read""#.into(),
            "failed to parse policy",
        ),
        (
            "unknown capability",
            r#"path "a" { capabilities = ["read", "fly"] }"#.into(),
            r#"invalid capability "fly""#,
        ),
        (
            "capability case",
            r#"path "a" { capabilities = ["READ"] }"#.into(),
            r#"invalid capability "READ""#,
        ),
        (
            "star in the middle",
            r#"path "secret/*/foo" { capabilities = ["read"] }"#.into(),
            "only allowed at the end",
        ),
        (
            "double star",
            r#"path "secret/**" { capabilities = ["read"] }"#.into(),
            "only allowed at the end",
        ),
        (
            "plus star",
            r#"path "secret/+*" { capabilities = ["read"] }"#.into(),
            "'+*' is forbidden",
        ),
        (
            "unknown top-level key",
            r#"policy "a" { capabilities = ["read"] }"#.into(),
            r#"invalid key "policy""#,
        ),
        (
            "unknown top-level attribute",
            r#"foo = 1"#.into(),
            r#"invalid key "foo""#,
        ),
        (
            "unknown rule key",
            r#"path "a" { capabilities = ["read"] bogus = 1 }"#.into(),
            r#"invalid key "bogus""#,
        ),
        (
            "duplicate rule key",
            "path \"a\" {\n capabilities = [\"read\"]\n capabilities = [\"list\"]\n}".into(),
            "duplicate key",
        ),
        (
            "two labels",
            r#"path "a" "b" { capabilities = ["read"] }"#.into(),
            "too many labels",
        ),
        (
            "labels with =",
            r#"path "a" = { capabilities = ["read"] }"#.into(),
            "expected '{' after the labels",
        ),
        (
            "no label",
            r#"path { capabilities = ["read"] }"#.into(),
            "expected an object",
        ),
        (
            "control group",
            r#"path "a" { control_group = { ttl = "1h" } }"#.into(),
            "not supported",
        ),
        (
            "mfa",
            r#"path "a" { mfa_methods = ["x"] }"#.into(),
            "not supported",
        ),
        (
            "interpolation is literal",
            r#"path "a" { capabilities = ["${var.x}"] }"#.into(),
            r#"invalid capability "${var.x}""#,
        ),
        (
            "heredoc",
            "path \"a\" { comment = <<EOT\nx\nEOT\n}".into(),
            "heredocs are not supported",
        ),
        (
            "unterminated string",
            "path \"a {}".into(),
            "unterminated string",
        ),
        (
            "newline in string",
            "path \"a\n\" {}".into(),
            "line 1, column 6: unterminated string",
        ),
        ("bad escape", r#"path "a\q" {}"#.into(), "invalid escape"),
        (
            "unterminated comment",
            "/* x".into(),
            "unterminated comment",
        ),
        (
            "unclosed block",
            "path \"a\" { capabilities = []".into(),
            "expected '}'",
        ),
        ("stray close", "}".into(), "expected a key"),
        (
            "bad number",
            r#"path "a" { min_wrapping_ttl = 1h }"#.into(),
            "invalid number",
        ),
        (
            "missing value",
            r#"path "a" { capabilities = }"#.into(),
            "unexpected character",
        ),
        (
            "bad list",
            r#"path "a" { capabilities = ["read" "list"] }"#.into(),
            "expected ',' or ']'",
        ),
        (
            "variable",
            r#"path "a" { capabilities = read }"#.into(),
            "only literal values",
        ),
        (
            "function",
            r#"path "a" { capabilities = upper("read") }"#.into(),
            "only literal values",
        ),
        (
            "capabilities not a list",
            r#"path "a" { capabilities = "read" }"#.into(),
            "list of strings",
        ),
        (
            "capability not a string",
            r#"path "a" { capabilities = [1] }"#.into(),
            "list of strings",
        ),
        (
            "bad legacy policy",
            r#"path "a" { policy = "all" }"#.into(),
            r#"invalid policy "all""#,
        ),
        (
            "parameter values not a list",
            r#"path "a" { allowed_parameters = { x = "y" } }"#.into(),
            "must be a list of values",
        ),
        (
            "bad duration",
            r#"path "a" { max_wrapping_ttl = "soon" }"#.into(),
            "invalid duration",
        ),
        (
            "negative duration",
            r#"path "a" { max_wrapping_ttl = -5 }"#.into(),
            "non-negative",
        ),
        (
            "min above max",
            r#"path "a" { min_wrapping_ttl = "2h" max_wrapping_ttl = "1h" }"#.into(),
            "cannot be less than",
        ),
        (
            "unbalanced template",
            r#"path "a/{{identity.entity.id" { capabilities = ["read"] }"#.into(),
            "unbalanced",
        ),
        (
            "stray template close",
            r#"path "a/}}" { capabilities = ["read"] }"#.into(),
            "unbalanced",
        ),
        (
            "json not an object",
            r#"{"path": "a"}"#.into(),
            "must be an object",
        ),
        (
            "json invalid key",
            r#"{"paths": {}}"#.into(),
            r#"invalid key "paths""#,
        ),
        (
            "json syntax",
            r#"{"path": {"#.into(),
            "failed to parse policy",
        ),
        (
            "json body not an object",
            r#"{"path": {"a": 1}}"#.into(),
            "expected an object",
        ),
        ("deep nesting", deep, "nesting deeper than 32 levels"),
        (
            "deep object nesting",
            deep_object,
            "nesting deeper than 32 levels",
        ),
        ("deep json nesting", deep_json, "recursion limit"),
        ("oversized", huge, "more than the limit"),
        ("too many rules", many, "more than 10000 path rules"),
    ];
    for (what, text, want) in table {
        match Policy::parse("p", &text) {
            Ok(p) => panic!("{what}: parsed {:?}", p.rules()),
            Err(Error::InvalidRequest(msg)) => {
                assert!(msg.starts_with("failed to parse policy: "), "{what}: {msg}");
                assert!(msg.contains(want), "{what}: {msg:.300}");
            }
            Err(e) => panic!("{what}: {e:?}"),
        }
    }
}

#[test]
fn accepts_edge_cases() {
    let table: [(&str, Matcher); 6] = [
        // An empty policy grants nothing but is valid.
        ("", Matcher::Exact(String::new())),
        (
            "path \"*\" { capabilities = [] }",
            Matcher::Prefix(String::new()),
        ),
        // `+` inside a segment is literal.
        ("path \"a+b/c\" {}", Matcher::Exact("a+b/c".into())),
        (
            "path \"secret/zip-*\" {}",
            Matcher::Prefix("secret/zip-".into()),
        ),
        ("path \"/x\" {}", Matcher::Exact("x".into())),
        (
            "path \"+\" {}",
            Matcher::Segments {
                pattern: "+".into(),
                segments: vec![Segment::Any],
                prefix: false,
            },
        ),
    ];
    for (text, want) in table {
        let policy = Policy::parse("p", text).unwrap();
        if text.is_empty() {
            assert!(policy.rules().is_empty());
        } else {
            assert_eq!(policy.rules()[0].matcher, want, "{text}");
        }
    }
    // Exactly the limit is fine.
    let many = "path \"a\" { capabilities = [\"read\"] }\n".repeat(MAX_PATH_RULES);
    assert_eq!(
        Policy::parse("p", &many).unwrap().rules().len(),
        MAX_PATH_RULES
    );
    // Newer capability names are accepted.
    let rule = only_rule(r#"path "a" { capabilities = ["subscribe", "recover", "scan"] }"#);
    assert_eq!(
        rule.permissions.capabilities.names(),
        ["recover", "scan", "subscribe"]
    );
}

#[test]
fn policy_names() {
    let table: [(&str, Option<&str>); 12] = [
        ("admin", Some("admin")),
        (" Admin\t", Some("admin")),
        ("ROOT", Some("root")),
        (" Root ", Some("root")),
        ("dev.team-1_x@corp", Some("dev.team-1_x@corp")),
        ("", None),
        ("   ", None),
        ("a/b", None),
        ("..", None),
        (".", None),
        ("a\u{0}b", None),
        ("x\ny", None),
    ];
    for (name, want) in table {
        match (Policy::normalize_name(name), want) {
            (Ok(got), Some(want)) => assert_eq!(got, want, "{name:?}"),
            (Err(Error::InvalidRequest(_)), None) => {}
            (got, want) => panic!("{name:?}: got {got:?}, want {want:?}"),
        }
    }
    assert!(Policy::normalize_name(&"a".repeat(MAX_NAME_BYTES)).is_ok());
    assert!(Policy::normalize_name(&"a".repeat(MAX_NAME_BYTES + 1)).is_err());
    for name in ["root", "ROOT", " Root\n"] {
        assert!(Policy::is_root_name(name), "{name:?}");
    }
    for name in ["roots", "r00t", "default"] {
        assert!(!Policy::is_root_name(name), "{name:?}");
    }
    assert!(Policy::parse("a/b", "").is_err());
}

#[test]
fn builtin_policies_parse() {
    let default = Policy::default_policy();
    assert_eq!(default.name(), "default");
    assert_eq!(default.text(), crate::policy::DEFAULT_POLICY);
    assert!(default.is_templated());
    assert_eq!(Policy::response_wrapping_policy().rules().len(), 2);
}

#[test]
fn capability_names_are_sorted() {
    let all = caps(&[
        "update", "sudo", "read", "patch", "list", "delete", "create",
    ]);
    assert_eq!(
        all.names(),
        ["create", "delete", "list", "patch", "read", "sudo", "update"]
    );
    assert_eq!(Capabilities::NONE.names(), ["deny"]);
    assert_eq!((Capabilities::DENY | Capabilities::READ).names(), ["deny"]);
}
