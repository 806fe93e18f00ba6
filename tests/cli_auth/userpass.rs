//! Userpass through the CLI: `vaultrs auth enable|list` and `vaultrs login -method=userpass`
//! (argument, stdin, wrong password, -no-store, -token-only, -field).

use super::support::{
    alice_token, api_error, lookup_self, root, scrub_login, token_file, userpass_with_alice,
    vaultrs, LOGIN_BANNER, PASSWORD,
};
use crate::harness::TestServer;

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

const NOT_STORED: &str =
    "The token was not stored in token helper. Set the VAULT_TOKEN environment\n\
variable or pass the token below with each request to Vault.\n\n";

const VAULT_TOKEN_WARNING: &str =
    "WARNING! The VAULT_TOKEN environment variable is set! The value of this\n\
variable will take precedence; if this is unwanted please unset VAULT_TOKEN or\n\
update its value accordingly.\n\n";

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
