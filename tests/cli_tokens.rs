//! Token roles and batch tokens through the real CLI binary: `vaultrs write
//! auth/token/roles/...`, `vaultrs token create -role=...`, `-type=batch`, and Vault's
//! errors for what a batch token refuses.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::harness::{bin, TestServer};

/// `vaultrs <args>` with the root token: (exit code, stdout, stderr).
fn vaultrs(s: &TestServer, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env("HOME", s.home.path())
        .env("VAULT_ADDR", &s.addr)
        .env("VAULT_TOKEN", &s.token)
        .env_remove("VAULT_FORMAT")
        .env_remove("VAULT_NAMESPACE")
        .env_remove("VAULT_WRAP_TTL")
        .stdin(Stdio::null());
    let o = cmd.output().expect("run vaultrs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[track_caller]
fn ok(run: (i32, String, String)) -> String {
    assert_eq!(run.0, 0, "stdout={:?} stderr={:?}", run.1, run.2);
    run.1
}

#[track_caller]
fn json(run: (i32, String, String)) -> Value {
    let out = ok(run);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// The CLI's rendering of an API error, as Vault's CLI prints it.
fn api_error(s: &TestServer, what: &str, path: &str, msg: &str) -> String {
    format!(
        "{what}: Error making API request.\n\nURL: PUT {}/v1/{path}\nCode: 400. Errors:\n\n* {msg}\n",
        s.addr
    )
}

#[test]
fn cli_token_roles_and_batch_tokens() {
    let s = TestServer::dev();
    assert_eq!(
        ok(vaultrs(
            &s,
            &[
                "write",
                "auth/token/roles/ci",
                "allowed_policies=default,web",
                "orphan=true",
                "path_suffix=v-1",
            ],
        )),
        "Success! Data written to: auth/token/roles/ci\n"
    );
    assert_eq!(
        ok(vaultrs(&s, &["list", "auth/token/roles"])),
        "Keys\n----\nci\n"
    );
    let role = json(vaultrs(
        &s,
        &["read", "-format=json", "auth/token/roles/ci"],
    ));
    assert_eq!(role["data"]["path_suffix"], "v-1");

    // -role: created against the role (its path, its orphan setting).
    let created = json(vaultrs(
        &s,
        &[
            "token",
            "create",
            "-role=ci",
            "-policy=web",
            "-ttl=1h",
            "-format=json",
        ],
    ));
    let auth = &created["auth"];
    assert_eq!(auth["orphan"], true);
    assert_eq!(auth["lease_duration"], 3600);
    assert_eq!(
        auth["token_policies"],
        serde_json::json!(["default", "web"])
    );
    let token = auth["client_token"].as_str().unwrap();
    let looked = json(vaultrs(&s, &["token", "lookup", "-format=json", token]));
    assert_eq!(looked["data"]["role"], "ci");
    assert_eq!(looked["data"]["path"], "auth/token/create/ci/v-1");
    let (code, out, err) = vaultrs(&s, &["token", "create", "-role=nope"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        api_error(
            &s,
            "Error creating token",
            "auth/token/create/nope",
            "unknown role nope"
        )
    );

    // -type=batch: a batch token, which lookups show and renew/revoke refuse.
    let batch = ok(vaultrs(
        &s,
        &[
            "token",
            "create",
            "-type=batch",
            "-policy=default",
            "-ttl=10m",
            "-field=token",
        ],
    ));
    assert!(batch.starts_with("hvb."), "{batch}");
    let looked = ok(vaultrs(&s, &["token", "lookup", &batch]));
    assert!(looked.contains("\naccessor            n/a\n"), "{looked}");
    assert!(looked.contains("\ntype                batch\n"), "{looked}");
    assert!(looked.contains("\nrenewable           false\n"), "{looked}");
    let (code, _, err) = vaultrs(&s, &["token", "renew", &batch]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        api_error(
            &s,
            "Error renewing token",
            "auth/token/renew",
            "batch tokens cannot be renewed"
        )
    );
    let (code, _, err) = vaultrs(&s, &["token", "revoke", &batch]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        api_error(
            &s,
            "Error revoking token",
            "auth/token/revoke",
            "batch tokens cannot be revoked"
        )
    );
    ok(vaultrs(&s, &["delete", "auth/token/roles/ci"]));
    let (code, ..) = vaultrs(&s, &["list", "auth/token/roles"]);
    assert_eq!(code, 2);
}
