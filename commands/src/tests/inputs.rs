//! What the CLI sends and keeps: address, token and format from the environment and flags,
//! data from stdin and files, and the token `login` stores.

use super::*;

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
