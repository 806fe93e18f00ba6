//! Table tests of the whole CLI (argv and stdin in; stdout, stderr and exit code out) that
//! need no real server: a tiny in-test HTTP server answers canned Vault responses and
//! records every request, so JSON output, error text, exit codes and the wipe guard's
//! "nothing was sent" are checked exactly. The same tables against a real `vaultrs server
//! -dev` live in the root package's `tests/cli.rs`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use clap::CommandFactory;

use crate::ui::{Env, ScriptedPrompter, Ui};
use crate::{execute, Cli};

/// One recorded request.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A canned answer: method and request target (path and query) to status and body.
type Route = (&'static str, &'static str, u16, &'static str);
/// A canned answer with a body of any bytes.
type RawRoute = (&'static str, &'static str, u16, Vec<u8>);

/// A fake Vault: answers `routes`, 404 `{"errors":[]}` otherwise, and records requests.
struct FakeVault {
    addr: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeVault {
    fn start(routes: Vec<Route>) -> FakeVault {
        Self::start_raw(
            routes
                .into_iter()
                .map(|(m, t, s, b)| (m, t, s, b.as_bytes().to_vec()))
                .collect(),
        )
    }

    fn start_raw(routes: Vec<RawRoute>) -> FakeVault {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rec = seen.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let routes = routes.clone();
                let rec = rec.clone();
                thread::spawn(move || serve(stream, &routes, &rec));
            }
        });
        FakeVault { addr, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, routes: &[RawRoute], rec: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut body = vec![0u8; len];
    let _ = reader.read_exact(&mut body);
    rec.lock().unwrap().push(Seen {
        method: method.clone(),
        target: target.clone(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let (status, resp) = routes
        .iter()
        .find(|(m, t, _, _)| *m == method && *t == target)
        .map(|(_, _, s, b)| (*s, b.as_slice()))
        .unwrap_or((404, br#"{"errors":[]}"#.as_slice()));
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Other",
    };
    let mut w = stream;
    let _ = write!(
        w,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        resp.len()
    );
    let _ = w.write_all(resp);
    let _ = w.flush();
}

/// Runs the CLI with `args`, `stdin` and `env`, returning (stdout, stderr, exit code).
fn run_with(
    args: &[&str],
    stdin: &str,
    env: Env,
    tweak: impl FnOnce(&mut Ui),
) -> (String, String, u8) {
    let (mut ui, out, err) = Ui::captured(env, stdin.as_bytes());
    tweak(&mut ui);
    let code = execute(args, &mut ui);
    (out.contents(), err.contents(), code)
}

fn env_for(fake: &FakeVault) -> Env {
    Env::from_pairs([("VAULT_ADDR", fake.addr.as_str()), ("VAULT_TOKEN", "root")])
}

const SECRET_V1: &str = r#"{"request_id":"11111111-2222-3333-4444-555555555555","lease_id":"","renewable":false,"lease_duration":2764800,"data":{"password":"s3cr3t","user":"<admin>"},"wrap_info":null,"warnings":null,"auth":null}"#;

const WRAPPED: &str = r#"{"request_id":"","lease_id":"","renewable":false,"lease_duration":0,"data":null,"wrap_info":{"token":"hvs.wrapping","accessor":"acc","ttl":300,"creation_time":"2024-01-02T03:04:05.5Z","creation_path":"secret/foo"},"warnings":null,"auth":null}"#;

const TOKEN_CREATE: &str = r#"{"request_id":"r1","lease_id":"","renewable":false,"lease_duration":0,"data":null,"wrap_info":null,"warnings":null,"auth":{"client_token":"hvs.child","accessor":"acc1","policies":["default","dev"],"token_policies":["default","dev"],"metadata":{"team":"a"},"lease_duration":3600,"renewable":true,"entity_id":"","token_type":"service","orphan":false,"mfa_requirement":null,"num_uses":0}}"#;

const PREFLIGHT_V2: &str = r#"{"request_id":"p","lease_id":"","renewable":false,"lease_duration":0,"data":{"path":"secret/","type":"kv","options":{"version":"2"}},"wrap_info":null,"warnings":null,"auth":null}"#;

const KV2_GET: &str = r#"{"request_id":"k","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":{"password":"s3cr3t"},"metadata":{"created_time":"2024-01-02T03:04:05Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":3}},"wrap_info":null,"warnings":null,"auth":null}"#;

const MOUNTS: &str = r#"{"request_id":"m","lease_id":"","renewable":false,"lease_duration":0,"data":{"secret/":{"accessor":"kv_1","config":{"default_lease_ttl":0,"force_no_cache":false,"max_lease_ttl":0},"description":"key/value secret storage","external_entropy_access":false,"local":false,"options":{"version":"2"},"plugin_version":"","running_plugin_version":"","running_sha256":"","seal_wrap":false,"type":"kv","uuid":"u1","deprecation_status":"supported"},"scratch/":{"accessor":"kv_2","config":{"default_lease_ttl":3600,"force_no_cache":false,"max_lease_ttl":0},"description":"","external_entropy_access":false,"local":true,"options":{"version":"1"},"plugin_version":"","running_plugin_version":"","running_sha256":"","seal_wrap":false,"type":"kv","uuid":"u2"}},"wrap_info":null,"warnings":null,"auth":null}"#;

#[test]
fn clap_tree_is_consistent() {
    Cli::command().debug_assert();
}

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
fn env_and_flags() {
    let fake = FakeVault::start(vec![("GET", "/v1/secret/foo", 200, SECRET_V1)]);
    let home = tempfile::tempdir().unwrap();
    let home_s = home.path().to_str().unwrap();
    std::fs::write(home.path().join(".vault-token"), "from-helper").unwrap();

    // VAULT_FORMAT and VAULT_ADDR from the environment; the token from ~/.vault-token.
    let env = Env::from_pairs([
        ("VAULT_ADDR", fake.addr.as_str()),
        ("VAULT_FORMAT", "json"),
        ("HOME", home_s),
    ]);
    let (out, _, code) = run_with(&["read", "secret/foo"], "", env.clone(), |_| {});
    assert_eq!(code, 0);
    assert!(out.starts_with("{\n  \"request_id\""), "{out}");
    assert_eq!(fake.seen()[0].header("X-Vault-Token"), Some("from-helper"));

    // Flags beat the environment; VAULT_TOKEN beats the helper file; -wrap-ttl and
    // -namespace become headers.
    let mut env2 = env.clone();
    env2.set("VAULT_TOKEN", "from-env");
    env2.set("VAULT_ADDR", "http://127.0.0.1:9");
    let addr = format!("-address={}", fake.addr);
    let (out, _, code) = run_with(
        &[
            "read",
            &addr,
            "-format=table",
            "-wrap-ttl=5m",
            "-namespace=team",
            "secret/foo",
        ],
        "",
        env2,
        |_| {},
    );
    assert_eq!(code, 0);
    assert!(out.starts_with("Key "), "{out}");
    let last = fake.seen().pop().unwrap();
    assert_eq!(last.header("X-Vault-Token"), Some("from-env"));
    assert_eq!(last.header("X-Vault-Wrap-TTL"), Some("5m"));
    assert_eq!(last.header("X-Vault-Namespace"), Some("team"));
}

#[test]
fn data_from_stdin_and_files() {
    let fake = FakeVault::start(vec![
        ("PUT", "/v1/secret/a", 204, ""),
        ("PUT", "/v1/secret/b", 204, ""),
    ]);
    let env = env_for(&fake);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cert.pem");
    std::fs::write(&f, "PEM").unwrap();
    let at = format!("cert=@{}", f.display());
    let (_, err, code) = run_with(
        &["write", "secret/a", "-"],
        r#"{"x": 1, "y": [true]}"#,
        env.clone(),
        |_| {},
    );
    assert_eq!(code, 0, "{err}");
    let (_, err, code) = run_with(
        &["write", "secret/b", "pw=-", &at, "neg=-5"],
        "from-stdin",
        env,
        |_| {},
    );
    assert_eq!(code, 0, "{err}");
    let seen = fake.seen();
    let body = |t: &str| -> serde_json::Value {
        serde_json::from_str(&seen.iter().find(|s| s.target == t).unwrap().body).unwrap()
    };
    assert_eq!(
        body("/v1/secret/a"),
        serde_json::json!({"x": 1, "y": [true]})
    );
    assert_eq!(
        body("/v1/secret/b"),
        serde_json::json!({"pw": "from-stdin", "cert": "PEM", "neg": "-5"})
    );
}

/// A real snapshot archive holding `entries`, written by the storage crate.
fn archive_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use vaultrs_storage::{Batch, FileBackend, FileOptions, Physical};
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let options = FileOptions {
            durable: false,
            ..FileOptions::default()
        };
        let store = FileBackend::open(dir.path(), options).await.unwrap();
        let mut batch = Batch::new();
        for (k, v) in entries {
            batch = batch.put(*k, v.to_vec());
        }
        store.commit(batch).await.unwrap();
        let mut out = Vec::new();
        store.snapshot(&mut out, |_| {}).await.unwrap();
        store.close().await.unwrap();
        out
    })
}

#[test]
fn wipe_guard() {
    let args = [
        "write",
        "sys/replication/performance/secondary/enable",
        "token=jwt",
    ];
    let path = "/v1/sys/replication/performance/secondary/enable";

    // No terminal, no -force: refused, and not one request reaches the server.
    let fake = FakeVault::start(vec![("PUT", path, 204, "")]);
    let (out, err, code) = run_with(&args, "y\ny\n", env_for(&fake), |_| {});
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert!(
        err.starts_with("Refusing to write sys/replication/performance/secondary/enable"),
        "{err}"
    );
    assert!(err.contains("Nothing was sent"), "{err}");
    assert!(
        fake.seen().is_empty(),
        "a request was sent: {:?}",
        fake.seen()
    );

    // -non-interactive refuses even in a terminal.
    let mut ni = args.to_vec();
    ni.insert(1, "-non-interactive");
    let (_, _, code) = run_with(&ni, "", env_for(&fake), |ui| ui.interactive = true);
    assert_eq!(code, 1);
    assert!(fake.seen().is_empty());

    // In a terminal: the snapshot offer, its file name, then the confirmation. The snapshot
    // is taken (a real archive, checked as it arrives); saying no then sends nothing.
    let archive = archive_of(&[("core/x", b"1"), ("logical/u/a", b"secret")]);
    let fake = FakeVault::start_raw(vec![
        ("PUT", path, 204, Vec::new()),
        ("GET", "/v1/sys/storage/snapshot", 200, archive.clone()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("before-enable.snap");
    let asked = Arc::new(Mutex::new(Vec::new()));
    let prompter = |answers: &[&str], asked: &Arc<Mutex<Vec<String>>>| ScriptedPrompter {
        answers: answers.iter().map(|s| s.to_string()).collect(),
        asked: asked.clone(),
    };
    let p = prompter(&["y", file.to_str().unwrap(), "n"], &asked);
    let (_, err, code) = run_with(&args, "", env_for(&fake), |ui| {
        ui.interactive = true;
        ui.prompter = Box::new(p);
    });
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("Snapshot of 2 keys saved to"), "{err}");
    assert!(err.ends_with("Canceled. Nothing was sent.\n"), "{err}");
    assert_eq!(asked.lock().unwrap().len(), 3);
    assert_eq!(std::fs::read(&file).unwrap(), archive);
    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "/v1/sys/storage/snapshot");

    // The snapshot fails (refused, or cut short): nothing is sent, no file is left.
    for (status, body) in [
        (403, br#"{"errors":["permission denied"]}"#.to_vec()),
        (200, archive[..archive.len() - 5].to_vec()),
    ] {
        let fake = FakeVault::start_raw(vec![
            ("PUT", path, 204, Vec::new()),
            ("GET", "/v1/sys/storage/snapshot", status, body),
        ]);
        let failed = dir.path().join("failed.snap");
        let p = prompter(&["y", failed.to_str().unwrap(), "y"], &asked);
        let (_, err, code) = run_with(&args, "", env_for(&fake), |ui| {
            ui.interactive = true;
            ui.prompter = Box::new(p);
        });
        assert_ne!(code, 0, "{err}");
        assert!(err.contains("Nothing was sent"), "{err}");
        assert!(
            fake.seen().iter().all(|s| s.method == "GET"),
            "{:?}",
            fake.seen()
        );
        assert!(!failed.exists() && !dir.path().join("failed.snap.tmp").exists());
    }

    // No snapshot, and yes: the request is sent once.
    let fake = FakeVault::start(vec![("PUT", path, 204, "")]);
    let p = prompter(&["n", "y"], &asked);
    let (out, err, code) = run_with(&args, "", env_for(&fake), |ui| {
        ui.interactive = true;
        ui.prompter = Box::new(p);
    });
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "Success! Data written to: sys/replication/performance/secondary/enable\n"
    );
    assert_eq!(fake.seen().len(), 1);

    // -f answers both questions for scripts.
    let mut forced = args.to_vec();
    forced.insert(1, "-f");
    let (_, err, code) = run_with(&forced, "", env_for(&fake), |_| {});
    assert_eq!(code, 0, "{err}");
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].body, r#"{"token":"jwt"}"#);

    // Other writes are not guarded.
    let fake2 = FakeVault::start(vec![(
        "PUT",
        "/v1/sys/replication/performance/primary/enable",
        204,
        "",
    )]);
    let (_, _, code) = run_with(
        &["write", "-f", "sys/replication/performance/primary/enable"],
        "",
        env_for(&fake2),
        |_| {},
    );
    assert_eq!(code, 0);
}

#[test]
fn login_stores_the_token() {
    let fake = FakeVault::start(vec![
        (
            "GET",
            "/v1/auth/token/lookup-self",
            200,
            r#"{"request_id":"x","lease_id":"","renewable":false,"lease_duration":0,"data":{"accessor":"acc","policies":["root"],"ttl":0,"renewable":false,"id":"hvs.given"},"wrap_info":null,"warnings":null,"auth":null}"#,
        ),
        ("PUT", "/v1/auth/userpass/login/alice", 200, TOKEN_CREATE),
    ]);
    let home = tempfile::tempdir().unwrap();
    let env = Env::from_pairs([
        ("VAULT_ADDR", fake.addr.as_str()),
        ("HOME", home.path().to_str().unwrap()),
    ]);
    let (out, err, code) = run_with(&["login", "hvs.given"], "", env.clone(), |_| {});
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("Success! You are now authenticated."),
        "{out}"
    );
    assert!(out.contains("token_duration       ∞"), "{out}");
    assert_eq!(
        std::fs::read_to_string(home.path().join(".vault-token")).unwrap(),
        "hvs.given"
    );
    assert_eq!(fake.seen()[0].header("X-Vault-Token"), Some("hvs.given"));

    // userpass: the password comes from stdin when there is no terminal.
    let (out, err, code) = run_with(
        &[
            "login",
            "-method=userpass",
            "-field=token",
            "username=alice",
        ],
        "pw\n",
        env.clone(),
        |_| {},
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "hvs.child");
    let last = fake.seen().pop().unwrap();
    assert_eq!(last.body, r#"{"password":"pw"}"#);
    assert_eq!(last.header("X-Vault-Token"), None);
    assert_eq!(
        std::fs::read_to_string(home.path().join(".vault-token")).unwrap(),
        "hvs.child"
    );

    // No password, no terminal, empty stdin: an error, not a hang.
    let (_, err, code) = run_with(
        &["login", "-method=userpass", "username=alice"],
        "",
        env,
        |_| {},
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no terminal"), "{err}");
}

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

/// The committed completions/ and man/ match the clap tree. Regenerate with
/// `cargo run -p vaultrs-commands --example generate-docs`.
#[test]
fn docs_are_fresh() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut stale = Vec::new();
    let mut check = |dir: &str, files: Vec<(String, Vec<u8>)>| {
        let d = root.join(dir);
        for (name, want) in &files {
            match std::fs::read(d.join(name)) {
                Ok(have) if &have == want => {}
                _ => stale.push(format!("{dir}/{name}")),
            }
        }
        // Generated files for commands that no longer exist are stale too.
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if !n.starts_with('.') && !files.iter().any(|(f, _)| *f == n) {
                    stale.push(format!("{dir}/{n} (no longer generated)"));
                }
            }
        }
    };
    check("completions", crate::generate::completion_files());
    check("man", crate::generate::man_files().unwrap());
    assert!(
        stale.is_empty(),
        "stale generated docs: {stale:?}\nrun: cargo run -p vaultrs-commands --example generate-docs"
    );
}
