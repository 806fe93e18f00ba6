//! The CLI against a real dev server for the auth methods, audit devices and token leases:
//! `vaultrs auth enable|list|disable`, `vaultrs login -method=userpass|approle` (argument,
//! stdin, wrong password, -no-store, -token-only, -field), approle role ids and secret ids
//! through `read`/`write`/`list`, `vaultrs audit enable|list|disable` with the file device
//! and its HMACs, and `vaultrs lease lookup|renew|revoke` on login leases.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

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
    "USER",
];

const PASSWORD: &str = "s3cret-pw";

/// "Success! You are now authenticated..." as `vaultrs login` prints it in table format.
const LOGIN_BANNER: &str =
    "Success! You are now authenticated. The token information displayed below is\n\
already stored in the token helper. You do NOT need to run \"vaultrs login\"\n\
again. Future requests will automatically use this token.\n\n";

/// The token table of alice's userpass login, token and accessor replaced.
const ALICE_TABLE: &str = "\
Key                    Value
---                    -----
token                  TOKEN
token_accessor         ACCESSOR
token_duration         768h
token_renewable        true
token_policies         [\"default\" \"reader\"]
identity_policies      []
policies               [\"default\" \"reader\"]
token_meta_username    alice
";

/// The token table of an approle login with role `web` (token_ttl=1h).
const WEB_TABLE: &str = "\
Key                     Value
---                     -----
token                   TOKEN
token_accessor          ACCESSOR
token_duration          1h
token_renewable         true
token_policies          [\"default\" \"reader\"]
identity_policies       []
policies                [\"default\" \"reader\"]
token_meta_role_name    web
";

const NOT_STORED: &str =
    "The token was not stored in token helper. Set the VAULT_TOKEN environment\n\
variable or pass the token below with each request to Vault.\n\n";

const VAULT_TOKEN_WARNING: &str =
    "WARNING! The VAULT_TOKEN environment variable is set! The value of this\n\
variable will take precedence; if this is unwanted please unset VAULT_TOKEN or\n\
update its value accordingly.\n\n";

/// One finished `vaultrs` run.
struct Run {
    args: Vec<String>,
    code: Option<i32>,
    out: String,
    err: String,
}

impl Run {
    /// Asserts exit code 0 and an empty stderr; stdout.
    #[track_caller]
    fn ok(&self) -> &str {
        self.code(0);
        assert_eq!(self.err, "", "vaultrs {:?}: stderr", self.args);
        &self.out
    }

    #[track_caller]
    fn code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "vaultrs {:?}: exit code; stdout={:?} stderr={:?}",
            self.args,
            self.out,
            self.err
        );
        self
    }

    /// Asserts the exit code and both streams exactly.
    #[track_caller]
    fn exact(&self, code: i32, out: &str, err: &str) {
        self.code(code);
        assert_eq!(self.out, out, "vaultrs {:?}: stdout", self.args);
        assert_eq!(self.err, err, "vaultrs {:?}: stderr", self.args);
    }

    /// The `Key  Value` rows of a table (header and banner lines skipped).
    fn rows(&self) -> Vec<(String, String)> {
        let mut rows = Vec::new();
        let mut in_table = false;
        for line in self.out.lines() {
            if line.starts_with("---") {
                in_table = true;
                continue;
            }
            if !in_table || line.is_empty() {
                continue;
            }
            let key = line.split_whitespace().next().unwrap_or_default();
            rows.push((key.to_string(), line[key.len()..].trim().to_string()));
        }
        rows
    }

    /// The value of one table row.
    #[track_caller]
    fn row(&self, key: &str) -> String {
        self.rows()
            .into_iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("vaultrs {:?}: no row {key:?} in {}", self.args, self.out))
            .1
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.out)
            .unwrap_or_else(|e| panic!("vaultrs {:?}: not JSON ({e}): {}", self.args, self.out))
    }
}

/// `vaultrs <args>` as a user runs it against `s`: VAULT_ADDR set, HOME the server's (so
/// ~/.vault-token is shared between runs), VAULT_TOKEN only when given, `stdin` piped in.
fn vaultrs(s: &TestServer, token: Option<&str>, args: &[&str], stdin: &str) -> Run {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env("HOME", s.home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for v in SCRUBBED_ENV {
        cmd.env_remove(v);
    }
    cmd.env("VAULT_ADDR", &s.addr);
    if let Some(t) = token {
        cmd.env("VAULT_TOKEN", t);
    }
    let mut child = cmd.spawn().expect("spawn vaultrs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let o = child.wait_with_output().expect("wait for vaultrs");
    Run {
        args: args.iter().map(|a| a.to_string()).collect(),
        code: o.status.code(),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// `vaultrs <args>` with the root token.
fn root(s: &TestServer, args: &[&str]) -> Run {
    vaultrs(s, Some("root"), args, "")
}

/// The CLI's rendering of an API error, as Vault's CLI prints it.
fn api_error(
    s: &TestServer,
    what: &str,
    method: &str,
    path: &str,
    status: u16,
    msg: &str,
) -> String {
    format!(
        "{what}: Error making API request.\n\nURL: {method} {}/v1/{path}\nCode: {status}. Errors:\n\n* {msg}\n",
        s.addr
    )
}

fn token_file(s: &TestServer) -> String {
    std::fs::read_to_string(s.home.path().join(".vault-token")).unwrap_or_default()
}

/// Replaces a login table's token and accessor with `TOKEN` and `ACCESSOR`; also returns
/// the token.
#[track_caller]
fn scrub_login(run: &Run) -> (String, String) {
    let token = run.row("token");
    let accessor = run.row("token_accessor");
    assert!(token.starts_with("hvs."), "token {token:?}");
    assert!(!accessor.is_empty());
    let out = run
        .out
        .replace(&token, "TOKEN")
        .replace(&accessor, "ACCESSOR");
    (out, token)
}

/// Whether `s` is a `hmac-sha256:` followed by 64 lower-case hex digits.
fn is_hmac(s: &str) -> bool {
    s.strip_prefix("hmac-sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            matches!(i, 8 | 13 | 18 | 23) == (c == '-') && (c == '-' || c.is_ascii_hexdigit())
        })
}

/// Enables userpass and creates alice (password [`PASSWORD`], policy `reader`).
fn userpass_with_alice(s: &TestServer) {
    root(s, &["auth", "enable", "userpass"]).exact(
        0,
        "Success! Enabled userpass auth method at: userpass/\n",
        "",
    );
    root(
        s,
        &[
            "write",
            "auth/userpass/users/alice",
            &format!("password={PASSWORD}"),
            "policies=reader",
        ],
    )
    .exact(
        0,
        "Success! Data written to: auth/userpass/users/alice\n",
        "",
    );
}

/// alice's token from `vaultrs login -token-only` (nothing stored).
#[track_caller]
fn alice_token(s: &TestServer) -> String {
    let before = token_file(s);
    let run = vaultrs(
        s,
        None,
        &[
            "login",
            "-token-only",
            "-method=userpass",
            "username=alice",
            &format!("password={PASSWORD}"),
        ],
        "",
    );
    let token = run.ok().to_string();
    assert!(
        token.starts_with("hvs.") && !token.contains('\n'),
        "{token:?}"
    );
    assert_eq!(token_file(s), before, "-token-only stored the token");
    token
}

/// `vaultrs token lookup -format=json` with `token`: its `data`.
#[track_caller]
fn lookup_self(s: &TestServer, token: Option<&str>) -> Value {
    let run = vaultrs(s, token, &["token", "lookup", "-format=json"], "");
    run.ok();
    run.json()["data"].clone()
}

/// `vaultrs token lookup` with a dead token fails as Vault's does.
#[track_caller]
fn assert_token_dead(s: &TestServer, token: &str) {
    vaultrs(s, Some(token), &["token", "lookup"], "").exact(
        2,
        "",
        &api_error(
            s,
            "Error looking up token",
            "GET",
            "auth/token/lookup-self",
            403,
            "permission denied",
        ),
    );
}

#[test]
fn cli_userpass_login() {
    let s = TestServer::dev();
    userpass_with_alice(&s);

    // The method shows up in `auth list` (Path, Type, Accessor, Description, Version).
    let list = root(&s, &["auth", "list"]);
    let out = list.ok();
    assert!(out.starts_with("Path "), "{out}");
    let row: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("userpass/ "))
        .unwrap_or_else(|| panic!("no userpass/ row: {out}"))
        .split_whitespace()
        .collect();
    assert_eq!(row.len(), 5, "{row:?}");
    assert_eq!(&row[..2], ["userpass/", "userpass"]);
    assert!(row[2].starts_with("auth_userpass_"), "{row:?}");
    assert_eq!(&row[3..], ["n/a", "n/a"]);

    // Password as an argument, no VAULT_TOKEN: banner, token table, token stored.
    let run = vaultrs(
        &s,
        None,
        &[
            "login",
            "-method=userpass",
            "username=alice",
            &format!("password={PASSWORD}"),
        ],
        "",
    );
    run.code(0);
    assert_eq!(run.err, "", "login stderr");
    let (table, token) = scrub_login(&run);
    assert_eq!(table, format!("{LOGIN_BANNER}{ALICE_TABLE}"));
    assert_eq!(token_file(&s), token);

    // The next command without VAULT_TOKEN uses the stored token.
    let data = lookup_self(&s, None);
    assert_eq!(data["id"], token.as_str());
    assert_eq!(data["display_name"], "userpass-alice");
    assert_eq!(data["path"], "auth/userpass/login/alice");
    assert_eq!(data["meta"]["username"], "alice");
    assert_eq!(data["policies"], serde_json::json!(["default", "reader"]));
    let lookup = vaultrs(&s, None, &["token", "lookup"], "");
    lookup.ok();
    assert_eq!(lookup.row("display_name"), "userpass-alice");
    assert_eq!(lookup.row("policies"), "[default reader]");

    // The password on standard input (no terminal): one line is read.
    let run = vaultrs(
        &s,
        None,
        &["login", "-method=userpass", "username=alice"],
        &format!("{PASSWORD}\n"),
    );
    run.code(0);
    let (table, stdin_token) = scrub_login(&run);
    assert_eq!(table, format!("{LOGIN_BANNER}{ALICE_TABLE}"));
    assert_ne!(stdin_token, token);
    assert_eq!(token_file(&s), stdin_token);

    // -non-interactive refuses to ask; nothing on stdin and no terminal is an error too.
    vaultrs(
        &s,
        None,
        &[
            "login",
            "-non-interactive",
            "-method=userpass",
            "username=alice",
        ],
        &format!("{PASSWORD}\n"),
    )
    .exact(
        1,
        "",
        "Password (will be hidden) was not given and -non-interactive forbids asking for it\n",
    );
    vaultrs(
        &s,
        None,
        &["login", "-method=userpass", "username=alice"],
        "",
    )
    .exact(
        1,
        "",
        "Password (will be hidden) was not given, and there is no terminal to ask for it\n",
    );

    // A wrong password: exit 2, Vault's message, the stored token untouched.
    vaultrs(
        &s,
        None,
        &[
            "login",
            "-method=userpass",
            "username=alice",
            "password=wrong",
        ],
        "",
    )
    .exact(
        2,
        "",
        &api_error(
            &s,
            "Error authenticating",
            "PUT",
            "auth/userpass/login/alice",
            400,
            "invalid username or password",
        ),
    );
    assert_eq!(token_file(&s), stdin_token);

    // -no-store prints the table (Vault's banner included) and a warning; stores nothing.
    let run = vaultrs(
        &s,
        None,
        &[
            "login",
            "-no-store",
            "-method=userpass",
            "username=alice",
            &format!("password={PASSWORD}"),
        ],
        "",
    );
    run.code(0);
    assert_eq!(run.err, NOT_STORED);
    let (table, _) = scrub_login(&run);
    assert_eq!(table, format!("{LOGIN_BANNER}{ALICE_TABLE}"));
    assert_eq!(token_file(&s), stdin_token);

    // -format=json -no-store: the whole response with its auth block.
    let run = vaultrs(
        &s,
        None,
        &[
            "login",
            "-format=json",
            "-no-store",
            "-method=userpass",
            "username=alice",
            &format!("password={PASSWORD}"),
        ],
        "",
    );
    run.code(0);
    assert_eq!(run.err, NOT_STORED);
    let auth = run.json()["auth"].clone();
    assert!(auth["client_token"].as_str().unwrap().starts_with("hvs."));
    assert_eq!(auth["policies"], serde_json::json!(["default", "reader"]));
    assert_eq!(
        auth["token_policies"],
        serde_json::json!(["default", "reader"])
    );
    assert_eq!(auth["metadata"], serde_json::json!({"username": "alice"}));
    assert_eq!(auth["lease_duration"], 2764800);
    assert_eq!(auth["renewable"], true);
    assert_eq!(token_file(&s), stdin_token);

    // -token-only: just the token, nothing stored, and it works.
    let only = alice_token(&s);
    assert_eq!(
        lookup_self(&s, Some(&only))["display_name"],
        "userpass-alice"
    );

    // -field=token prints the token and still stores it; VAULT_TOKEN set draws a warning.
    let run = vaultrs(
        &s,
        Some("root"),
        &[
            "login",
            "-field=token",
            "-method=userpass",
            "username=alice",
            &format!("password={PASSWORD}"),
        ],
        "",
    );
    run.code(0);
    assert_eq!(run.err, VAULT_TOKEN_WARNING);
    assert!(
        run.out.starts_with("hvs.") && !run.out.contains('\n'),
        "{:?}",
        run.out
    );
    assert_eq!(token_file(&s), run.out);

    // -no-store and -no-print together are refused before anything is sent.
    vaultrs(
        &s,
        None,
        &[
            "login",
            "-no-store",
            "-no-print",
            "-method=userpass",
            "username=alice",
        ],
        "",
    )
    .exact(1, "", "-no-store and -no-print cannot be used together\n");
}

#[test]
fn cli_approle() {
    let s = TestServer::dev();
    root(&s, &["auth", "enable", "approle"]).exact(
        0,
        "Success! Enabled approle auth method at: approle/\n",
        "",
    );
    root(
        &s,
        &[
            "write",
            "auth/approle/role/web",
            "token_policies=reader",
            "token_ttl=1h",
        ],
    )
    .exact(0, "Success! Data written to: auth/approle/role/web\n", "");
    let role = root(&s, &["read", "auth/approle/role/web"]);
    role.ok();
    assert_eq!(role.row("token_policies"), "[reader]");
    assert_eq!(role.row("token_ttl"), "1h");
    assert_eq!(role.row("bind_secret_id"), "true");

    let role_id = root(
        &s,
        &["read", "-field=role_id", "auth/approle/role/web/role-id"],
    )
    .ok()
    .to_string();
    assert!(is_uuid(&role_id), "{role_id:?}");
    let secret_id = root(
        &s,
        &[
            "write",
            "-f",
            "-field=secret_id",
            "auth/approle/role/web/secret-id",
        ],
    )
    .ok()
    .to_string();
    assert!(is_uuid(&secret_id), "{secret_id:?}");
    // A second secret id as a table: secret_id and its accessor.
    let second = root(&s, &["write", "-f", "auth/approle/role/web/secret-id"]);
    second.ok();
    assert_eq!(
        second
            .rows()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>(),
        [
            "secret_id",
            "secret_id_accessor",
            "secret_id_num_uses",
            "secret_id_ttl"
        ]
    );
    assert_eq!(second.row("secret_id_num_uses"), "0");
    assert_eq!(second.row("secret_id_ttl"), "0s");
    let lookup = root(
        &s,
        &[
            "write",
            "-field=secret_id_accessor",
            "auth/approle/role/web/secret-id/lookup",
            &format!("secret_id={secret_id}"),
        ],
    );
    let mut accessors = vec![lookup.ok().to_string(), second.row("secret_id_accessor")];
    assert!(accessors.iter().all(|a| is_uuid(a)), "{accessors:?}");

    // `vaultrs list` of the role's secret ids lists their accessors.
    accessors.sort();
    root(&s, &["list", "auth/approle/role/web/secret-id"]).exact(
        0,
        &format!("Keys\n----\n{}\n", accessors.join("\n")),
        "",
    );

    // `vaultrs write auth/approle/login`: the token table, nothing stored.
    let before = token_file(&s);
    let run = vaultrs(
        &s,
        None,
        &[
            "write",
            "auth/approle/login",
            &format!("role_id={role_id}"),
            &format!("secret_id={secret_id}"),
        ],
        "",
    );
    run.code(0);
    assert_eq!(run.err, "");
    let (table, token) = scrub_login(&run);
    assert_eq!(table, WEB_TABLE);
    assert_eq!(token_file(&s), before);
    let data = lookup_self(&s, Some(&token));
    assert_eq!(data["display_name"], "approle");
    assert_eq!(data["meta"]["role_name"], "web");
    assert_eq!(data["path"], "auth/approle/login");

    // A wrong secret id.
    vaultrs(
        &s,
        None,
        &[
            "write",
            "auth/approle/login",
            &format!("role_id={role_id}"),
            "secret_id=bogus",
        ],
        "",
    )
    .exact(
        2,
        "",
        &api_error(
            &s,
            "Error writing data to auth/approle/login",
            "PUT",
            "auth/approle/login",
            400,
            "invalid role or secret ID",
        ),
    );

    // `vaultrs login -method=approle`: Vault's CLI has no approle handler ("Unknown auth
    // method: approle", exit 1); vaultrs logs in through auth/<path>/login with the K=V
    // pairs as the body and stores the token. Methods it does not know are refused as
    // Vault refuses them.
    vaultrs(&s, None, &["login", "-method=nosuch", "a=b"], "").exact(
        1,
        "",
        "Unknown auth method: nosuch. Use \"vaultrs auth list\" to see the complete list of \
         auth methods. Additionally, some auth methods are only available via the HTTP API.\n",
    );
    let run = vaultrs(
        &s,
        None,
        &[
            "login",
            "-method=approle",
            &format!("role_id={role_id}"),
            &format!("secret_id={secret_id}"),
        ],
        "",
    );
    run.code(0);
    assert_eq!(run.err, "");
    let (table, token) = scrub_login(&run);
    assert_eq!(table, format!("{LOGIN_BANNER}{WEB_TABLE}"));
    assert_eq!(token_file(&s), token);
    assert_eq!(lookup_self(&s, None)["display_name"], "approle");
    vaultrs(
        &s,
        None,
        &[
            "login",
            "-method=approle",
            &format!("role_id={role_id}"),
            "secret_id=bogus",
        ],
        "",
    )
    .exact(
        2,
        "",
        &api_error(
            &s,
            "Error authenticating",
            "PUT",
            "auth/approle/login",
            400,
            "invalid role or secret ID",
        ),
    );
    assert_eq!(token_file(&s), token);
}

/// The audit log's entries, one JSON object per line.
fn audit_entries(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
        .collect()
}

/// `vaultrs write -field=hash sys/audit-hash/file input=<input>`.
#[track_caller]
fn audit_hash(s: &TestServer, input: &str) -> String {
    let hash = root(
        s,
        &[
            "write",
            "-field=hash",
            "sys/audit-hash/file",
            &format!("input={input}"),
        ],
    )
    .ok()
    .to_string();
    assert!(is_hmac(&hash), "{hash:?}");
    hash
}

#[test]
fn cli_audit_file() {
    let s = TestServer::dev();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let log_s = log.display().to_string();

    // No devices yet: Vault prints this line on stdout, with exit 2.
    root(&s, &["audit", "list"]).exact(2, "No audit devices are enabled.\n", "");
    root(&s, &["audit", "list", "-format=json"]).exact(0, "{}\n", "");

    root(
        &s,
        &["audit", "enable", "file", &format!("file_path={log_s}")],
    )
    .exact(0, "Success! Enabled the file audit device at: file/\n", "");
    root(
        &s,
        &["audit", "enable", "file", &format!("file_path={log_s}")],
    )
    .exact(
        2,
        "",
        &api_error(
            &s,
            "Error enabling audit device",
            "PUT",
            "sys/audit/file",
            400,
            "path already in use",
        ),
    );

    root(&s, &["audit", "list"]).exact(
        0,
        "Path     Type    Description\n----     ----    -----------\nfile/    file    n/a\n",
        "",
    );
    let detailed = root(&s, &["audit", "list", "-detailed"]);
    let out = detailed.ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["Path", "Type", "Description", "Replication", "Options"]
    );
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(&row[..4], ["file/", "file", "n/a", "replicated"], "{out}");
    // Vault renders the options as `k=v` pairs.
    assert_eq!(row[4], format!("file_path={log_s}"), "{out}");
    let json = root(&s, &["audit", "list", "-format=json"]);
    json.ok();
    let file = json.json()["file/"].clone();
    assert_eq!(file["type"], "file");
    assert_eq!(file["path"], "file/");
    assert_eq!(file["description"], "");
    assert_eq!(file["local"], false);
    assert_eq!(file["options"], serde_json::json!({ "file_path": log_s }));

    // Traffic to audit: a userpass user and login, and a kv secret.
    userpass_with_alice(&s);
    let token = alice_token(&s);
    root(&s, &["kv", "put", "secret/app", "pw=hello"]).code(0);

    // The device's HMAC of "hello" is what the log holds for the kv write's value.
    let hello = audit_hash(&s, "hello");
    let table = root(&s, &["write", "sys/audit-hash/file", "input=hello"]);
    table.ok();
    assert_eq!(table.row("hash"), hello);
    let password = audit_hash(&s, PASSWORD);
    let token_hash = audit_hash(&s, &token);

    let entries = audit_entries(&log);
    let kv: Vec<&Value> = entries
        .iter()
        .filter(|e| e["request"]["path"] == "secret/data/app")
        .collect();
    assert_eq!(
        kv.iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["request", "response"]
    );
    for e in &kv {
        assert_eq!(e["request"]["data"]["data"]["pw"], hello.as_str(), "{e}");
        assert_eq!(e["auth"]["display_name"], "root");
        assert!(
            is_hmac(e["request"]["client_token"].as_str().unwrap()),
            "{e}"
        );
    }
    let login: Vec<&Value> = entries
        .iter()
        .filter(|e| e["request"]["path"] == "auth/userpass/login/alice")
        .collect();
    assert_eq!(login.len(), 2, "{login:?}");
    for e in &login {
        assert_eq!(e["request"]["data"]["password"], password.as_str(), "{e}");
    }
    assert_eq!(login[1]["type"], "response");
    assert_eq!(
        login[1]["response"]["auth"]["client_token"],
        token_hash.as_str()
    );
    let user = entries
        .iter()
        .find(|e| e["request"]["path"] == "auth/userpass/users/alice")
        .expect("the user write is audited");
    assert_eq!(user["request"]["data"]["password"], password.as_str());

    root(&s, &["audit", "disable", "file"]).exact(
        0,
        "Success! Disabled audit device (if it was enabled) at: file/\n",
        "",
    );
    root(&s, &["audit", "disable", "file"]).exact(
        0,
        "Success! Disabled audit device (if it was enabled) at: file/\n",
        "",
    );
    root(&s, &["audit", "list"]).code(2);

    // Nothing more is logged, and no secret of this test is in the log in plaintext.
    let size = std::fs::metadata(&log).unwrap().len();
    root(&s, &["kv", "put", "secret/after", "pw=hello"]).code(0);
    assert_eq!(std::fs::metadata(&log).unwrap().len(), size);
    let text = std::fs::read_to_string(&log).unwrap();
    for secret in [PASSWORD, "hello", token.as_str()] {
        assert!(
            !text.contains(secret),
            "{secret:?} in the audit log in plaintext"
        );
    }
}

#[test]
fn cli_token_leases() {
    let s = TestServer::dev();
    userpass_with_alice(&s);
    let token = alice_token(&s);
    let issue_time = lookup_self(&s, Some(&token))["issue_time"].clone();

    // One lease under the login path.
    let list = root(&s, &["list", "sys/leases/lookup/auth/userpass/login/alice"]);
    let keys: Vec<String> = list
        .ok()
        .strip_prefix("Keys\n----\n")
        .unwrap_or_else(|| panic!("{}", list.out))
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].len() == 64 && keys[0].bytes().all(|b| b.is_ascii_hexdigit()),
        "{keys:?}"
    );
    root(&s, &["list", "sys/leases/lookup/auth/userpass/login/"]).exact(
        0,
        "Keys\n----\nalice/\n",
        "",
    );
    let id = format!("auth/userpass/login/alice/{}", keys[0]);

    let lookup = root(&s, &["lease", "lookup", &id]);
    lookup.ok();
    assert_eq!(
        lookup
            .rows()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>(),
        [
            "expire_time",
            "id",
            "issue_time",
            "last_renewal",
            "renewable",
            "ttl"
        ]
    );
    assert_eq!(lookup.row("id"), id);
    assert_eq!(lookup.row("issue_time"), issue_time.as_str().unwrap());
    assert_eq!(lookup.row("last_renewal"), "<nil>");
    assert_eq!(lookup.row("renewable"), "true");
    let ttl = lookup.row("ttl");
    assert!(ttl == "768h" || ttl.starts_with("767h5"), "ttl {ttl:?}");
    let json = root(&s, &["lease", "lookup", "-format=json", &id]);
    json.ok();
    let data = json.json()["data"].clone();
    assert_eq!(data["id"], id.as_str());
    let secs = data["ttl"].as_i64().unwrap();
    assert!((2764800 - 120..=2764800).contains(&secs), "ttl {secs}");

    // Token leases are renewed through the token store, not sys/leases/renew (Vault too).
    root(&s, &["lease", "renew", &id]).exact(
        2,
        "",
        &api_error(
            &s,
            &format!("Error renewing {id}"),
            "PUT",
            "sys/leases/renew",
            400,
            "tokens cannot be renewed through this endpoint",
        ),
    );
    root(&s, &["lease", "lookup", "auth/userpass/login/alice/nope"]).exact(
        2,
        "",
        &api_error(
            &s,
            "Error looking up lease id auth/userpass/login/alice/nope",
            "PUT",
            "sys/leases/lookup",
            400,
            "invalid lease",
        ),
    );
    root(&s, &["lease", "revoke", "-force", "auth/userpass"]).exact(
        1,
        "",
        "Specifying -force requires also specifying -prefix\n",
    );

    // Revoking the prefix revokes the token.
    root(
        &s,
        &["lease", "revoke", "-prefix", "auth/userpass/login/alice"],
    )
    .exact(
        0,
        "Success! Revoked any leases with prefix: auth/userpass/login/alice\n",
        "",
    );
    assert_token_dead(&s, &token);
    root(&s, &["list", "sys/leases/lookup/auth/userpass/login/alice"]).exact(
        2,
        "",
        "No value found at sys/leases/lookup/auth/userpass/login/alice/\n",
    );

    // Revoking one lease by id revokes its token.
    let second = alice_token(&s);
    let list = root(
        &s,
        &[
            "list",
            "-format=json",
            "sys/leases/lookup/auth/userpass/login/alice",
        ],
    );
    list.ok();
    let key = list.json()[0].as_str().unwrap().to_string();
    let id = format!("auth/userpass/login/alice/{key}");
    root(&s, &["lease", "revoke", &id]).exact(0, &format!("Success! Revoked lease: {id}\n"), "");
    assert_token_dead(&s, &second);

    // Disabling the method revokes the tokens it issued; other tokens live on.
    let third = alice_token(&s);
    assert_eq!(
        lookup_self(&s, Some(&third))["display_name"],
        "userpass-alice"
    );
    root(&s, &["auth", "disable", "userpass"]).exact(
        0,
        "Success! Disabled the auth method (if it existed) at: userpass/\n",
        "",
    );
    assert_token_dead(&s, &third);
    assert_eq!(lookup_self(&s, Some("root"))["id"], "root");
    root(&s, &["list", "sys/leases/lookup/auth/userpass/login/"]).exact(
        2,
        "",
        "No value found at sys/leases/lookup/auth/userpass/login/\n",
    );
    let auths = root(&s, &["auth", "list"]);
    assert!(!auths.ok().contains("userpass/"), "{}", auths.out);
}
