//! CLI against a real server: table tests of `vaultrs <args>` (argv and stdin in; stdout,
//! stderr and exit code out) against `vaultrs server -dev`, run as a user runs them, plus
//! the wipe guard against a live server and the README walkthrough.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::harness::{bin, TestServer};

/// Environment variables that would leak the developer's setup into the tests.
const SCRUBBED_ENV: &[&str] = &[
    "VAULT_ADDR",
    "VAULT_TOKEN",
    "VAULT_FORMAT",
    "VAULT_CACERT",
    "VAULT_CAPATH",
    "VAULT_SKIP_VERIFY",
    "VAULT_NAMESPACE",
    "VAULT_WRAP_TTL",
    "VAULT_DEV_ROOT_TOKEN_ID",
    "VAULT_DEV_LISTEN_ADDRESS",
];

/// Runs the CLI against a test server as a user would.
trait Cli {
    /// `vaultrs <args>` with VAULT_ADDR set, token `root`, `stdin` piped.
    fn cli(&self, args: &[&str], stdin: &str) -> Output;
    /// Like [`Cli::cli`] with extra environment variables (and no token unless given).
    fn cli_env(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output;
}

impl Cli for TestServer {
    fn cli(&self, args: &[&str], stdin: &str) -> Output {
        self.cli_env(args, stdin, &[("VAULT_TOKEN", "root")])
    }

    fn cli_env(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env("HOME", self.home.path())
            .env("VAULT_ADDR", &self.addr)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for v in SCRUBBED_ENV.iter().filter(|v| **v != "VAULT_ADDR") {
            cmd.env_remove(v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn vaultrs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().expect("wait for vaultrs")
    }
}

/// Replaces the string values of `keys` in pretty-printed JSON with `"*"`, for exact
/// comparison of output that carries random IDs and times.
fn scrub(json: &str, keys: &[&str]) -> String {
    let mut out = String::with_capacity(json.len());
    for line in json.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let hit = keys
            .iter()
            .find(|k| trimmed.starts_with(&format!("\"{k}\": \"")));
        match hit {
            Some(k) => {
                let indent = &line[..line.len() - trimmed.len()];
                let comma = if trimmed.trim_end().ends_with(',') {
                    ","
                } else {
                    ""
                };
                let nl = if line.ends_with('\n') { "\n" } else { "" };
                out.push_str(&format!("{indent}\"{k}\": \"*\"{comma}{nl}"));
            }
            None => out.push_str(line),
        }
    }
    out
}

/// What a case expects of one stream.
enum Want {
    Exact(&'static str),
    Contains(&'static str),
    StartsWith(&'static str),
    Empty,
}

impl Want {
    fn check(&self, what: &str, args: &[&str], got: &str) {
        let ok = match self {
            Want::Exact(w) => got == *w,
            Want::Contains(w) => got.contains(w),
            Want::StartsWith(w) => got.starts_with(w),
            Want::Empty => got.is_empty(),
        };
        assert!(ok, "vaultrs {args:?}: {what} was {got:?}");
    }
}

struct Case {
    args: &'static [&'static str],
    stdin: &'static str,
    out: Want,
    err: Want,
    code: i32,
}

fn run_table(server: &TestServer, cases: &[Case]) {
    for c in cases {
        let o = server.cli(c.args, c.stdin);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let out = scrub(
            &out,
            &["request_id", "created_time", "accessor", "client_token"],
        );
        assert_eq!(
            o.status.code(),
            Some(c.code),
            "vaultrs {:?}: exit code; stdout={out:?} stderr={err:?}",
            c.args
        );
        c.out.check("stdout", c.args, &out);
        c.err.check("stderr", c.args, &err);
    }
}

#[test]
fn cli_against_dev_server() {
    let s = TestServer::dev();
    use Want::*;
    let cases = [
        Case { args: &["version"], stdin: "", out: StartsWith("vaultrs v"), err: Empty, code: 0 },
        Case { args: &["status"], stdin: "", out: Contains("Sealed          false"), err: Empty, code: 0 },
        // kv on the dev server's secret/ (KV version 2)
        Case {
            args: &["kv", "put", "secret/app", "password=s3cr3t", "user=admin"],
            stdin: "",
            out: StartsWith("= Secret Path =\nsecret/data/app\n\n======= Metadata =======\n"),
            err: Empty,
            code: 0,
        },
        Case { args: &["kv", "get", "-field=password", "secret/app"], stdin: "", out: Exact("s3cr3t"), err: Empty, code: 0 },
        Case { args: &["kv", "get", "-mount=secret", "-field=user", "app"], stdin: "", out: Exact("admin"), err: Empty, code: 0 },
        Case {
            args: &["kv", "get", "-format=json", "secret/app"],
            stdin: "",
            out: Exact("{\n  \"request_id\": \"*\",\n  \"lease_id\": \"\",\n  \"lease_duration\": 0,\n  \"renewable\": false,\n  \"data\": {\n    \"data\": {\n      \"password\": \"s3cr3t\",\n      \"user\": \"admin\"\n    },\n    \"metadata\": {\n      \"created_time\": \"*\",\n      \"custom_metadata\": null,\n      \"deletion_time\": \"\",\n      \"destroyed\": false,\n      \"version\": 1\n    }\n  },\n  \"warnings\": null\n}\n"),
            err: Empty,
            code: 0,
        },
        Case { args: &["kv", "put", "secret/app", "-"], stdin: "{\"password\": \"v2\"}", out: Contains("version            2"), err: Empty, code: 0 },
        Case { args: &["kv", "get", "-version=1", "-field=password", "secret/app"], stdin: "", out: Exact("s3cr3t"), err: Empty, code: 0 },
        Case { args: &["kv", "list", "-format=json", "secret"], stdin: "", out: Exact("[\n  \"app\"\n]\n"), err: Empty, code: 0 },
        Case { args: &["kv", "get", "secret/missing"], stdin: "", out: Empty, err: Exact("No value found at secret/data/missing\n"), code: 2 },
        Case { args: &["kv", "delete", "secret/app"], stdin: "", out: Exact("Success! Data deleted (if it existed) at: secret/data/app\n"), err: Empty, code: 0 },
        Case { args: &["kv", "undelete", "-versions=2", "secret/app"], stdin: "", out: Exact("Success! Data written to: secret/undelete/app\n"), err: Empty, code: 0 },
        // plain read/write/list/delete
        Case { args: &["read", "cubbyhole/nope"], stdin: "", out: Empty, err: Exact("No value found at cubbyhole/nope\n"), code: 2 },
        Case { args: &["write", "secret/data/x"], stdin: "", out: Empty, err: Exact("Must supply data or use -force\n"), code: 1 },
        Case { args: &["read", "-nope", "secret/x"], stdin: "", out: Empty, err: Contains("unexpected argument"), code: 1 },
        Case { args: &["write", "cubbyhole/note", "text=hello"], stdin: "", out: Exact("Success! Data written to: cubbyhole/note\n"), err: Empty, code: 0 },
        Case { args: &["read", "-field=text", "cubbyhole/note"], stdin: "", out: Exact("hello"), err: Empty, code: 0 },
        Case { args: &["list", "-format=json", "cubbyhole"], stdin: "", out: Exact("[\n  \"note\"\n]\n"), err: Empty, code: 0 },
        Case { args: &["delete", "cubbyhole/note"], stdin: "", out: Exact("Success! Data deleted (if it existed) at: cubbyhole/note\n"), err: Empty, code: 0 },
        // mounts, with the Replication column
        Case { args: &["secrets", "enable", "-local", "-path=scratch", "-version=1", "kv"], stdin: "", out: Exact("Success! Enabled the kv secrets engine at: scratch/\n"), err: Empty, code: 0 },
        Case {
            args: &["secrets", "enable", "-path=scratch", "kv"],
            stdin: "",
            out: Empty,
            err: StartsWith("Error enabling: Error making API request.\n\nURL: PUT http://127.0.0.1:"),
            code: 2,
        },
        Case { args: &["secrets", "list", "-detailed"], stdin: "", out: Contains("local"), err: Empty, code: 0 },
        Case { args: &["secrets", "list", "-format=json"], stdin: "", out: Contains("\"scratch/\": {\n    \"uuid\": "), err: Empty, code: 0 },
        Case { args: &["kv", "put", "scratch/v1", "a=b"], stdin: "", out: Exact("Success! Data written to: scratch/v1\n"), err: Empty, code: 0 },
        Case { args: &["kv", "get", "-field=a", "scratch/v1"], stdin: "", out: Exact("b"), err: Empty, code: 0 },
        Case { args: &["secrets", "disable", "scratch"], stdin: "", out: Exact("Success! Disabled the secrets engine (if it existed) at: scratch/\n"), err: Empty, code: 0 },
        // tokens and policies
        Case { args: &["token", "create", "-format=json", "-policy=default"], stdin: "", out: Contains("\"auth\": {\n    \"client_token\": \"*\",\n    \"accessor\": \"*\",\n    \"policies\": [\n      \"default\"\n    ],"), err: Empty, code: 0 },
        Case { args: &["token", "lookup", "-format=json"], stdin: "", out: Contains("\"id\": \"root\""), err: Empty, code: 0 },
        Case { args: &["policy", "write", "dev", "-"], stdin: "path \"secret/data/*\" {\n  capabilities = [\"read\"]\n}\n", out: Exact("Success! Uploaded policy: dev\n"), err: Empty, code: 0 },
        Case { args: &["policy", "read", "dev"], stdin: "", out: Contains("capabilities = [\"read\"]"), err: Empty, code: 0 },
        Case { args: &["policy", "list"], stdin: "", out: Contains("dev\n"), err: Empty, code: 0 },
        Case { args: &["token", "capabilities", "secret/data/app"], stdin: "", out: Exact("root\n"), err: Empty, code: 0 },
        Case { args: &["operator", "key-status"], stdin: "", out: StartsWith("Key Term "), err: Empty, code: 0 },
        // the wipe guard: no terminal and no -force, so nothing is sent
        Case {
            args: &["write", "sys/replication/performance/secondary/enable", "token=x"],
            stdin: "y\ny\n",
            out: Empty,
            err: StartsWith("Refusing to write sys/replication/performance/secondary/enable"),
            code: 1,
        },
        Case { args: &["kv", "get", "-field=password", "secret/app"], stdin: "", out: Exact("v2"), err: Empty, code: 0 },
    ];
    run_table(&s, &cases);
}

#[test]
fn wrapping_and_login() {
    let s = TestServer::dev();
    let o = s.cli(&["kv", "put", "secret/w", "k=v"], "");
    assert!(o.status.success());

    // A wrapped read returns wrap_info.token; unwrap gives the data back.
    let o = s.cli(
        &[
            "read",
            "-wrap-ttl=5m",
            "-field=wrapping_token",
            "secret/data/w",
        ],
        "",
    );
    assert!(o.status.success(), "{o:?}");
    let wrapping = String::from_utf8(o.stdout).unwrap();
    let o = s.cli(&["unwrap", "-format=json", &wrapping], "");
    assert!(o.status.success(), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"k\": \"v\""));

    // login stores the token in ~/.vault-token; later commands use it without VAULT_TOKEN.
    let o = s.cli_env(&["login", "root"], "", &[]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        std::fs::read_to_string(s.home.path().join(".vault-token")).unwrap(),
        "root"
    );
    let o = s.cli_env(&["kv", "get", "-field=k", "secret/w"], "", &[]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "v", "{o:?}");
}

/// `secrets move` and `auth move` against a real server: Vault's two lines, then the
/// data and the users at the new path, and Vault's error for a taken target.
#[test]
fn secrets_and_auth_move() {
    let s = TestServer::dev();
    let ok = |o: &Output| {
        assert!(o.status.success(), "{o:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    ok(&s.cli(&["secrets", "enable", "-path=app", "-version=2", "kv"], ""));
    ok(&s.cli(&["kv", "put", "app/db", "password=s3cr3t"], ""));
    let out = ok(&s.cli(&["secrets", "move", "app", "team/app"], ""));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let id = lines[0]
        .strip_prefix("Started moving secrets engine app/ to team/app/, with migration ID ")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        lines[1],
        format!(
            "Success! Finished moving secrets engine app/ to team/app/, with migration ID {id}"
        )
    );
    let status = ok(&s.cli(
        &["read", "-format=json", &format!("sys/remount/status/{id}")],
        "",
    ));
    assert!(status.contains("\"status\": \"success\""), "{status}");
    assert_eq!(
        ok(&s.cli(&["kv", "get", "-field=password", "team/app/db"], "")),
        "s3cr3t"
    );
    let o = s.cli(&["kv", "get", "app/db"], "");
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let o = s.cli(&["secrets", "move", "team/app", "secret"], "");
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("Error moving secrets engine team/app/ to secret/: ")
            && err.contains("path already in use at \"secret/\""),
        "{err}"
    );

    ok(&s.cli(&["auth", "enable", "userpass"], ""));
    ok(&s.cli(
        &["write", "auth/userpass/users/alice", "password=pw-alice"],
        "",
    ));
    let out = ok(&s.cli(&["auth", "move", "userpass", "corp"], ""));
    assert!(
        out.lines().last().unwrap().starts_with(
            "Success! Finished moving auth method auth/userpass/ to auth/corp/, with migration ID "
        ),
        "{out}"
    );
    let login = |path: &str| {
        s.cli_env(
            &[
                "login",
                "-method=userpass",
                &format!("-path={path}"),
                "-token-only",
                "username=alice",
                "password=pw-alice",
            ],
            "",
            &[],
        )
    };
    assert!(ok(&login("corp")).starts_with("hvs."));
    assert_eq!(login("userpass").status.code(), Some(2));
}

/// The README's walkthrough, run as a new user would: every line of the fenced `sh` block
/// under the "Walkthrough" heading that starts with `vaultrs ` (after the server is up).
#[test]
fn readme_walkthrough() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let Some(start) = readme.find("## Walkthrough") else {
        panic!("README.md has no \"## Walkthrough\" section to run");
    };
    let section = &readme[start..];
    let block_start = section.find("```sh").expect("a ```sh block") + 5;
    let block_end = block_start
        + section[block_start..]
            .find("```")
            .expect("end of the block");
    let s = TestServer::dev();
    for line in section[block_start..block_end].lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("vaultrs ") else {
            continue;
        };
        if rest.starts_with("server") {
            continue; // the harness runs the server
        }
        let args: Vec<&str> = rest.split_whitespace().collect();
        let o = s.cli(&args, "");
        assert!(
            o.status.success(),
            "README walkthrough: `{line}` failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
