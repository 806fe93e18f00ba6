//! `vaultrs lease lookup|renew|revoke` on login leases; `vaultrs auth disable` revokes them.

use super::support::{
    alice_token, api_error, assert_token_dead, lookup_self, root, userpass_with_alice,
};
use crate::harness::TestServer;

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
