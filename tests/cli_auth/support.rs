//! What the CLI auth tests share: running `vaultrs` as a user would against a dev server
//! (scrubbed environment, the server's HOME), its exit code and output, login helpers for
//! userpass's alice, token lookups.

use std::io::Write;
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

pub(super) const PASSWORD: &str = "s3cret-pw";

/// "Success! You are now authenticated..." as `vaultrs login` prints it in table format.
pub(super) const LOGIN_BANNER: &str =
    "Success! You are now authenticated. The token information displayed below is\n\
already stored in the token helper. You do NOT need to run \"vaultrs login\"\n\
again. Future requests will automatically use this token.\n\n";

/// One finished `vaultrs` run.
pub(super) struct Run {
    args: Vec<String>,
    code: Option<i32>,
    pub(super) out: String,
    pub(super) err: String,
}

impl Run {
    /// Asserts exit code 0 and an empty stderr; stdout.
    #[track_caller]
    pub(super) fn ok(&self) -> &str {
        self.code(0);
        assert_eq!(self.err, "", "vaultrs {:?}: stderr", self.args);
        &self.out
    }

    #[track_caller]
    pub(super) fn code(&self, code: i32) -> &Self {
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
    pub(super) fn exact(&self, code: i32, out: &str, err: &str) {
        self.code(code);
        assert_eq!(self.out, out, "vaultrs {:?}: stdout", self.args);
        assert_eq!(self.err, err, "vaultrs {:?}: stderr", self.args);
    }

    /// The `Key  Value` rows of a table (header and banner lines skipped).
    pub(super) fn rows(&self) -> Vec<(String, String)> {
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
    pub(super) fn row(&self, key: &str) -> String {
        self.rows()
            .into_iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("vaultrs {:?}: no row {key:?} in {}", self.args, self.out))
            .1
    }

    #[track_caller]
    pub(super) fn json(&self) -> Value {
        serde_json::from_str(&self.out)
            .unwrap_or_else(|e| panic!("vaultrs {:?}: not JSON ({e}): {}", self.args, self.out))
    }
}

/// `vaultrs <args>` as a user runs it against `s`: VAULT_ADDR set, HOME the server's (so
/// ~/.vault-token is shared between runs), VAULT_TOKEN only when given, `stdin` piped in.
pub(super) fn vaultrs(s: &TestServer, token: Option<&str>, args: &[&str], stdin: &str) -> Run {
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
pub(super) fn root(s: &TestServer, args: &[&str]) -> Run {
    vaultrs(s, Some("root"), args, "")
}

/// The CLI's rendering of an API error, as Vault's CLI prints it.
pub(super) fn api_error(
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

pub(super) fn token_file(s: &TestServer) -> String {
    std::fs::read_to_string(s.home.path().join(".vault-token")).unwrap_or_default()
}

/// Replaces a login table's token and accessor with `TOKEN` and `ACCESSOR`; also returns
/// the token.
#[track_caller]
pub(super) fn scrub_login(run: &Run) -> (String, String) {
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

/// Enables userpass and creates alice (password [`PASSWORD`], policy `reader`).
pub(super) fn userpass_with_alice(s: &TestServer) {
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
pub(super) fn alice_token(s: &TestServer) -> String {
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
pub(super) fn lookup_self(s: &TestServer, token: Option<&str>) -> Value {
    let run = vaultrs(s, token, &["token", "lookup", "-format=json"], "");
    run.ok();
    run.json()["data"].clone()
}

/// `vaultrs token lookup` with a dead token fails as Vault's does.
#[track_caller]
pub(super) fn assert_token_dead(s: &TestServer, token: &str) {
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
