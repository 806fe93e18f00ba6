//! AppRole through the CLI: role ids and secret ids with `read`/`write`/`list`, and
//! `vaultrs login -method=approle`.

use super::support::{
    api_error, lookup_self, root, scrub_login, token_file, vaultrs, LOGIN_BANNER,
};
use crate::harness::TestServer;

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

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            matches!(i, 8 | 13 | 18 | 23) == (c == '-') && (c == '-' || c.is_ascii_hexdigit())
        })
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
