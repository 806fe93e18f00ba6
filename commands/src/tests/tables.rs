//! Output tables, exact to the byte with the exit code: commands that need no server, an
//! unreachable server, canned server answers in every format, and YAML.

use super::*;

const WRAPPED: &str = r#"{"request_id":"","lease_id":"","renewable":false,"lease_duration":0,"data":null,"wrap_info":{"token":"hvs.wrapping","accessor":"acc","ttl":300,"creation_time":"2024-01-02T03:04:05.5Z","creation_path":"secret/foo"},"warnings":null,"auth":null}"#;

const PREFLIGHT_V2: &str = r#"{"request_id":"p","lease_id":"","renewable":false,"lease_duration":0,"data":{"path":"secret/","type":"kv","options":{"version":"2"}},"wrap_info":null,"warnings":null,"auth":null}"#;

const KV2_GET: &str = r#"{"request_id":"k","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":{"password":"s3cr3t"},"metadata":{"created_time":"2024-01-02T03:04:05Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":3}},"wrap_info":null,"warnings":null,"auth":null}"#;

const MOUNTS: &str = r#"{"request_id":"m","lease_id":"","renewable":false,"lease_duration":0,"data":{"secret/":{"accessor":"kv_1","config":{"default_lease_ttl":0,"force_no_cache":false,"max_lease_ttl":0},"description":"key/value secret storage","external_entropy_access":false,"local":false,"options":{"version":"2"},"plugin_version":"","running_plugin_version":"","running_sha256":"","seal_wrap":false,"type":"kv","uuid":"u1","deprecation_status":"supported"},"scratch/":{"accessor":"kv_2","config":{"default_lease_ttl":3600,"force_no_cache":false,"max_lease_ttl":0},"description":"","external_entropy_access":false,"local":true,"options":{"version":"1"},"plugin_version":"","running_plugin_version":"","running_sha256":"","seal_wrap":false,"type":"kv","uuid":"u2"}},"wrap_info":null,"warnings":null,"auth":null}"#;

#[test]
fn local_table() {
    // No server is contacted: argv errors, local errors, help and version.
    let unused = "http://127.0.0.1:9";
    let cases: Vec<(Vec<&str>, &str, &str, u8)> = vec![
        (vec!["version"], "vaultrs v", "", 0),
        (vec!["-version"], "vaultrs ", "", 0),
        (
            vec!["write", "secret/x"],
            "",
            "Must supply data or use -force\n",
            1,
        ),
        (vec!["read"], "", "required", 1),
        (vec!["read", "-nope", "x"], "", "unexpected argument", 1),
        (vec!["-format=xml", "status"], "", "invalid value 'xml'", 1),
        (vec!["bogus"], "", "unrecognized subcommand", 1),
        (
            vec!["write", "secret/x", "novalue"],
            "",
            "Failed to parse K=V data: format must be key=value\n",
            1,
        ),
        (
            vec!["kv", "-help"],
            "Work with the key/value secrets engine",
            "",
            0,
        ),
        (
            vec!["login", "-no-store", "-no-print", "t"],
            "",
            "-no-store and -no-print cannot be used together\n",
            1,
        ),
    ];
    for (args, out_has, err_has, code) in cases {
        let env = Env::from_pairs([("VAULT_ADDR", unused)]);
        let (out, err, got) = run_with(&args, "", env, |_| {});
        assert_eq!(got, code, "{args:?}: stdout={out} stderr={err}");
        assert!(
            out.contains(out_has),
            "{args:?}: stdout {out:?} lacks {out_has:?}"
        );
        assert!(
            err.contains(err_has),
            "{args:?}: stderr {err:?} lacks {err_has:?}"
        );
    }
}

#[test]
fn unreachable_server_is_exit_2() {
    let (out, err, code) = run_with(
        &["read", "-address=http://127.0.0.1:9", "secret/foo"],
        "",
        Env::default(),
        |_| {},
    );
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert!(
        err.starts_with("Error reading secret/foo: Get \"http://127.0.0.1:9/v1/secret/foo\": "),
        "{err}"
    );
}

#[test]
fn server_table() {
    let fake = FakeVault::start(vec![
        ("GET", "/v1/secret/foo", 200, SECRET_V1),
        ("GET", "/v1/secret/wrapped", 200, WRAPPED),
        (
            "GET",
            "/v1/secret/?list=true",
            200,
            r#"{"request_id":"l","lease_id":"","renewable":false,"lease_duration":0,"data":{"keys":["b","a/"]},"wrap_info":null,"warnings":null,"auth":null}"#,
        ),
        (
            "GET",
            "/v1/secret/denied",
            403,
            r#"{"errors":["permission denied"]}"#,
        ),
        ("PUT", "/v1/secret/foo", 204, ""),
        (
            "PUT",
            "/v1/sys/mounts/x",
            400,
            r#"{"errors":["path is already in use at x/"]}"#,
        ),
        ("PUT", "/v1/auth/token/create", 200, TOKEN_CREATE),
        (
            "GET",
            "/v1/sys/internal/ui/mounts/secret/app",
            200,
            PREFLIGHT_V2,
        ),
        (
            "GET",
            "/v1/sys/internal/ui/mounts/secret",
            200,
            PREFLIGHT_V2,
        ),
        ("GET", "/v1/secret/data/app", 200, KV2_GET),
        ("GET", "/v1/sys/mounts", 200, MOUNTS),
        (
            "GET",
            "/v1/sys/seal-status",
            200,
            r#"{"type":"shamir","initialized":true,"sealed":true,"t":1,"n":1,"progress":0,"nonce":"","version":"0.1.0","build_date":"","migration":false,"recovery_seal":false,"storage_type":"file"}"#,
        ),
        (
            "GET",
            "/v1/sys/leader",
            503,
            r#"{"errors":["Vault is sealed"]}"#,
        ),
    ]);
    let env = env_for(&fake);
    let cases: Vec<(Vec<&str>, &str, &str, u8)> = vec![
        // read: JSON is Vault's envelope, byte for byte (HTML escaping included)
        (
            vec!["read", "-format=json", "secret/foo"],
            "{\n  \"request_id\": \"11111111-2222-3333-4444-555555555555\",\n  \"lease_id\": \"\",\n  \"lease_duration\": 2764800,\n  \"renewable\": false,\n  \"data\": {\n    \"password\": \"s3cr3t\",\n    \"user\": \"\\u003cadmin\\u003e\"\n  },\n  \"warnings\": null\n}\n",
            "",
            0,
        ),
        (
            vec!["read", "secret/foo"],
            "Key                 Value\n---                 -----\nrefresh_interval    768h\npassword            s3cr3t\nuser                <admin>\n",
            "",
            0,
        ),
        (vec!["read", "-field=password", "secret/foo"], "s3cr3t", "", 0),
        (vec!["read", "-field", "password", "-format=json", "secret/foo"], "\"s3cr3t\"", "", 0),
        (vec!["read", "-field=nope", "secret/foo"], "", "Field \"nope\" not present in secret\n", 1),
        (vec!["read", "secret/missing"], "", "No value found at secret/missing\n", 2),
        (
            vec!["read", "secret/denied"],
            "",
            &*Box::leak(format!("Error reading secret/denied: Error making API request.\n\nURL: GET {}/v1/secret/denied\nCode: 403. Errors:\n\n* permission denied\n", fake.addr).into_boxed_str()),
            2,
        ),
        // wrap_info.token of a wrapped answer is in the JSON
        (
            vec!["read", "-format=json", "secret/wrapped"],
            "{\n  \"request_id\": \"\",\n  \"lease_id\": \"\",\n  \"lease_duration\": 0,\n  \"renewable\": false,\n  \"data\": null,\n  \"warnings\": null,\n  \"wrap_info\": {\n    \"token\": \"hvs.wrapping\",\n    \"accessor\": \"acc\",\n    \"ttl\": 300,\n    \"creation_time\": \"2024-01-02T03:04:05.5Z\",\n    \"creation_path\": \"secret/foo\",\n    \"wrapped_accessor\": \"\"\n  }\n}\n",
            "",
            0,
        ),
        (vec!["read", "-field=wrapping_token", "secret/wrapped"], "hvs.wrapping", "", 0),
        (
            vec!["read", "secret/wrapped"],
            "Key                              Value\n---                              -----\nwrapping_token:                  hvs.wrapping\nwrapping_accessor:               acc\nwrapping_token_ttl:              5m\nwrapping_token_creation_time:    2024-01-02 03:04:05.5 +0000 UTC\nwrapping_token_creation_path:    secret/foo\n",
            "",
            0,
        ),
        // list: the keys array in JSON, a sorted Keys table otherwise
        (vec!["list", "-format=json", "secret"], "[\n  \"b\",\n  \"a/\"\n]\n", "", 0),
        (vec!["list", "secret/"], "Keys\n----\na/\nb\n", "", 0),
        (vec!["list", "-format=json", "nothing"], "{}\n", "", 2),
        (vec!["list", "nothing"], "", "No value found at nothing/\n", 2),
        // write
        (vec!["write", "secret/foo", "a=b"], "Success! Data written to: secret/foo\n", "", 0),
        (vec!["write", "-format=json", "secret/foo", "a=b"], "", "", 0),
        (
            vec!["secrets", "enable", "-path=x", "kv"],
            "",
            &*Box::leak(format!("Error enabling: Error making API request.\n\nURL: PUT {}/v1/sys/mounts/x\nCode: 400. Errors:\n\n* path is already in use at x/\n", fake.addr).into_boxed_str()),
            2,
        ),
        // token create: the whole response, auth included
        (
            vec!["token", "create", "-format=json", "-policy=dev"],
            "{\n  \"request_id\": \"r1\",\n  \"lease_id\": \"\",\n  \"lease_duration\": 0,\n  \"renewable\": false,\n  \"data\": null,\n  \"warnings\": null,\n  \"auth\": {\n    \"client_token\": \"hvs.child\",\n    \"accessor\": \"acc1\",\n    \"policies\": [\n      \"default\",\n      \"dev\"\n    ],\n    \"token_policies\": [\n      \"default\",\n      \"dev\"\n    ],\n    \"identity_policies\": null,\n    \"metadata\": {\n      \"team\": \"a\"\n    },\n    \"orphan\": false,\n    \"entity_id\": \"\",\n    \"lease_duration\": 3600,\n    \"renewable\": true,\n    \"mfa_requirement\": null\n  }\n}\n",
            "",
            0,
        ),
        (vec!["token", "create", "-field=token"], "hvs.child", "", 0),
        (
            vec!["token", "create"],
            "Key                  Value\n---                  -----\ntoken                hvs.child\ntoken_accessor       acc1\ntoken_duration       1h\ntoken_renewable      true\ntoken_policies       [\"default\" \"dev\"]\nidentity_policies    []\npolicies             [\"default\" \"dev\"]\ntoken_meta_team      a\n",
            "",
            0,
        ),
        // kv get on a v2 mount: preflight, then secret/data/app
        (
            vec!["kv", "get", "secret/app"],
            "= Secret Path =\nsecret/data/app\n\n======= Metadata =======\nKey                Value\n---                -----\ncreated_time       2024-01-02T03:04:05Z\ncustom_metadata    <nil>\ndeletion_time      n/a\ndestroyed          false\nversion            3\n\n====== Data ======\nKey         Value\n---         -----\npassword    s3cr3t\n",
            "",
            0,
        ),
        (vec!["kv", "get", "-field=password", "secret/app"], "s3cr3t", "", 0),
        (vec!["kv", "get", "-format=json", "secret/app"], "\"version\": 3", "", 0),
        (vec!["kv", "get", "-mount=secret", "app"], "secret/data/app", "", 0),
        // secrets list: the mount map keyed by path, and the Replication column
        (vec!["secrets", "list", "-format=json"], "{\n  \"scratch/\": {\n    \"uuid\": \"u2\",\n    \"type\": \"kv\",\n    \"description\": \"\",\n    \"accessor\": \"kv_2\",\n    \"config\": {\n      \"default_lease_ttl\": 3600,\n      \"max_lease_ttl\": 0,\n      \"force_no_cache\": false\n    },\n    \"options\": {\n      \"version\": \"1\"\n    },\n    \"local\": true,", "", 0),
        (vec!["secrets", "list"], "Path        Type    Accessor    Description\n----        ----    --------    -----------\nscratch/    kv      kv_2        n/a\nsecret/     kv      kv_1        key/value secret storage\n", "", 0),
        (vec!["secrets", "list", "-detailed"], "Replication", "", 0),
        // status: exit 2 when sealed
        (
            vec!["status"],
            "Key                Value\n---                -----\nSeal Type          shamir\nInitialized        true\nSealed             true\nTotal Shares       1\nThreshold          1\nUnseal Progress    0/1\nUnseal Nonce       n/a\nVersion            0.1.0\nStorage Type       file\nHA Enabled         true\n",
            "",
            2,
        ),
        (vec!["status", "-format=json"], "\"ha_enabled\": true", "", 2),
    ];
    for (args, out_has, err_has, code) in cases {
        let (out, err, got) = run_with(&args, "", env.clone(), |_| {});
        assert_eq!(got, code, "{args:?}: stdout={out} stderr={err}");
        if out_has.is_empty() || !out_has.ends_with('\n') {
            assert!(
                out.contains(out_has),
                "{args:?}: stdout {out:?} lacks {out_has:?}"
            );
        } else {
            assert_eq!(out, out_has, "{args:?}");
        }
        if err_has.ends_with('\n') {
            assert_eq!(err, err_has, "{args:?}");
        } else {
            assert!(
                err.contains(err_has),
                "{args:?}: stderr {err:?} lacks {err_has:?}"
            );
        }
    }
    // The token went out in X-Vault-Token; every request carried X-Vault-Request.
    let seen = fake.seen();
    assert!(seen
        .iter()
        .all(|s| s.header("X-Vault-Request") == Some("true")));
    assert!(seen
        .iter()
        .any(|s| s.header("X-Vault-Token") == Some("root")));
    // The v2 preflight happened before the read.
    let kv: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.target.contains("secret/app") || s.target.contains("data/app"))
        .collect();
    assert_eq!(kv[0].target, "/v1/sys/internal/ui/mounts/secret/app");
    // kv put's body on v2 wraps the data.
    let put = seen
        .iter()
        .find(|s| s.method == "PUT" && s.target == "/v1/secret/foo")
        .unwrap();
    assert_eq!(put.body, r#"{"a":"b"}"#);
}

#[test]
fn yaml_output() {
    let fake = FakeVault::start(vec![("GET", "/v1/secret/foo", 200, SECRET_V1)]);
    let (out, _, code) = run_with(
        &["read", "-format=yaml", "secret/foo"],
        "",
        env_for(&fake),
        |_| {},
    );
    assert_eq!(code, 0);
    assert!(out.starts_with("data:\n  password: s3cr3t\n"), "{out}");
    assert!(out.contains("lease_duration: 2764800\n"), "{out}");
    assert!(!out.contains("auth:"), "{out}");
}
