use super::password::DUMMY_HASH;
use super::*;
use crate::logical::test_support::ctx;
use argon2::password_hash::PasswordHash;
use serde_json::json;
use std::time::Duration;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

async fn up() -> Ctx {
    ctx("userpass", Map::new()).await
}

async fn call(c: &Ctx, op: Operation, path: &str, data: Value) -> Result<Response> {
    Userpass::new()
        .handle(c, &Request::new(op, path).with_data(obj(data)))
        .await
}

async fn login_as(c: &Ctx, user: &str, password: &str) -> Result<Response> {
    call(
        c,
        Operation::Update,
        &format!("login/{user}"),
        json!({ "password": password }),
    )
    .await
}

async fn exists(c: &Ctx, path: &str) -> Option<bool> {
    Userpass::new()
        .exists(c, &Request::new(Operation::Update, path))
        .await
        .unwrap()
}

/// The message of a 400, or a panic naming what came instead.
fn invalid(r: Result<Response>) -> String {
    match r {
        Err(Error::InvalidRequest(m)) => m,
        other => panic!("expected a 400, got {other:?}"),
    }
}

fn keys(r: Response) -> Value {
    r.data.unwrap()["keys"].clone()
}

#[tokio::test]
async fn crud() {
    let c = up().await;
    assert!(matches!(
        call(&c, Operation::Read, "users/bob", json!({})).await,
        Err(Error::NotFound)
    ));
    assert_eq!(exists(&c, "users/bob").await, Some(false));

    let r = call(
        &c,
        Operation::Create,
        "users/bob",
        json!({"password": "s3cret", "policies": "dev, ops", "token_ttl": "1h"}),
    )
    .await
    .unwrap();
    assert!(r.data.is_none() && r.auth.is_none());
    assert_eq!(exists(&c, "users/bob").await, Some(true));

    let data = call(&c, Operation::Read, "users/bob", json!({}))
        .await
        .unwrap()
        .data
        .unwrap();
    assert_eq!(data["token_policies"], json!(["dev", "ops"]));
    assert_eq!(data["policies"], json!(["dev", "ops"]));
    assert_eq!(data["token_ttl"], json!(3600));
    assert_eq!(data["token_max_ttl"], json!(0));
    assert_eq!(data["token_type"], json!("default"));
    assert!(!data.contains_key("password") && !data.contains_key("password_hash"));
    assert!(!Value::Object(data).to_string().contains("argon2"));

    // An update without a password keeps the password and the other fields.
    call(
        &c,
        Operation::Update,
        "users/bob",
        json!({"token_max_ttl": 7200}),
    )
    .await
    .unwrap();
    let data = call(&c, Operation::Read, "users/bob", json!({}))
        .await
        .unwrap()
        .data
        .unwrap();
    assert_eq!(data["token_policies"], json!(["dev", "ops"]));
    assert_eq!(
        (data["token_ttl"].clone(), data["token_max_ttl"].clone()),
        (json!(3600), json!(7200))
    );
    login_as(&c, "bob", "s3cret").await.unwrap();

    // An update with a password replaces it.
    call(
        &c,
        Operation::Update,
        "users/bob",
        json!({"password": "other"}),
    )
    .await
    .unwrap();
    assert_eq!(
        invalid(login_as(&c, "bob", "s3cret").await),
        INVALID_CREDENTIALS
    );
    login_as(&c, "bob", "other").await.unwrap();

    let r = call(&c, Operation::Delete, "users/bob", json!({}))
        .await
        .unwrap();
    assert!(r.data.is_none());
    assert!(matches!(
        call(&c, Operation::Read, "users/bob", json!({})).await,
        Err(Error::NotFound)
    ));
    assert_eq!(exists(&c, "users/bob").await, Some(false));
    assert_eq!(
        invalid(login_as(&c, "bob", "other").await),
        INVALID_CREDENTIALS
    );
    // Deleting an absent user is fine too.
    call(&c, Operation::Delete, "users/bob", json!({}))
        .await
        .unwrap();
    assert!(c.storage.keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn list() {
    let c = up().await;
    for path in ["users", "users/"] {
        assert!(matches!(
            call(&c, Operation::List, path, json!({})).await,
            Err(Error::NotFound)
        ));
    }
    for name in ["bob", "alice"] {
        call(
            &c,
            Operation::Update,
            &format!("users/{name}"),
            json!({"password": "pw"}),
        )
        .await
        .unwrap();
    }
    for path in ["users", "users/"] {
        let r = call(&c, Operation::List, path, json!({})).await.unwrap();
        assert_eq!(keys(r), json!(["alice", "bob"]));
    }
    assert!(matches!(
        call(&c, Operation::Read, "users/", json!({})).await,
        Err(Error::UnsupportedOperation(_))
    ));
}

#[tokio::test]
async fn password_change() {
    let c = up().await;
    call(
        &c,
        Operation::Update,
        "users/bob",
        json!({"password": "old"}),
    )
    .await
    .unwrap();
    call(
        &c,
        Operation::Update,
        "users/bob/password",
        json!({"password": "new"}),
    )
    .await
    .unwrap();
    assert_eq!(
        invalid(login_as(&c, "bob", "old").await),
        INVALID_CREDENTIALS
    );
    assert!(login_as(&c, "bob", "new").await.unwrap().auth.is_some());

    assert_eq!(
        invalid(
            call(
                &c,
                Operation::Update,
                "users/nobody/password",
                json!({"password": "x"})
            )
            .await
        ),
        "username does not exist"
    );
    assert_eq!(exists(&c, "users/nobody").await, Some(false));
    for body in [json!({}), json!({"password": ""})] {
        assert_eq!(
            invalid(call(&c, Operation::Update, "users/bob/password", body).await),
            "missing password"
        );
    }
    // Still the new one.
    login_as(&c, "bob", "new").await.unwrap();
}

#[tokio::test]
async fn policies_update() {
    let c = up().await;
    call(
        &c,
        Operation::Update,
        "users/bob",
        json!({"password": "pw", "token_policies": ["a"], "token_ttl": 60}),
    )
    .await
    .unwrap();
    call(
        &c,
        Operation::Update,
        "users/bob/policies",
        json!({"token_policies": "Ops, dev,dev", "token_ttl": 999}),
    )
    .await
    .unwrap();
    let data = call(&c, Operation::Read, "users/bob", json!({}))
        .await
        .unwrap()
        .data
        .unwrap();
    assert_eq!(data["token_policies"], json!(["dev", "ops"]));
    // Only the policies changed.
    assert_eq!(data["token_ttl"], json!(60));

    // The legacy name works too.
    call(
        &c,
        Operation::Update,
        "users/bob/policies",
        json!({"policies": ["x"]}),
    )
    .await
    .unwrap();
    let auth = login_as(&c, "bob", "pw").await.unwrap().auth.unwrap();
    assert_eq!(auth.policies, ["x"]);

    assert_eq!(
        invalid(
            call(
                &c,
                Operation::Update,
                "users/nobody/policies",
                json!({"policies": ["x"]})
            )
            .await
        ),
        "username does not exist"
    );
    assert_eq!(c.storage.keys().await.unwrap(), ["user/bob"]);
}

#[tokio::test]
async fn login_result() {
    let c = up().await;
    call(
        &c,
        Operation::Create,
        "users/bob",
        json!({
            "password": "pw",
            "token_policies": "b,a",
            "token_ttl": "30m",
            "token_max_ttl": "2h",
            "token_num_uses": 3,
            "token_no_default_policy": true,
        }),
    )
    .await
    .unwrap();
    let r = login_as(&c, "bob", "pw").await.unwrap();
    assert!(r.data.is_none());
    let auth = r.auth.unwrap();
    assert_eq!(auth.policies, ["a", "b"]);
    assert_eq!(auth.display_name, "bob");
    assert_eq!(
        auth.metadata,
        BTreeMap::from([("username".to_owned(), "bob".to_owned())])
    );
    assert_eq!(auth.ttl, Duration::from_secs(1800));
    assert_eq!(auth.max_ttl, Duration::from_secs(7200));
    assert_eq!(auth.num_uses, 3);
    assert!(auth.no_default_policy);
    assert!(auth.renewable);
    // Create also works as the login operation.
    let r = call(
        &c,
        Operation::Create,
        "login/bob",
        json!({"password": "pw"}),
    )
    .await
    .unwrap();
    assert_eq!(r.auth.unwrap().display_name, "bob");
}

#[tokio::test]
async fn unknown_user_and_wrong_password_look_the_same() {
    let c = up().await;
    call(
        &c,
        Operation::Update,
        "users/bob",
        json!({"password": "pw"}),
    )
    .await
    .unwrap();
    let wrong = login_as(&c, "bob", "nope").await;
    let unknown = login_as(&c, "alice", "nope").await;
    assert_eq!(format!("{wrong:?}"), format!("{unknown:?}"));
    assert_eq!(invalid(wrong), INVALID_CREDENTIALS);
    assert_eq!(invalid(unknown), INVALID_CREDENTIALS);
    // An empty password is refused before any lookup, for everyone alike.
    for user in ["bob", "alice"] {
        assert_eq!(invalid(login_as(&c, user, "").await), "missing password");
        assert_eq!(
            invalid(call(&c, Operation::Update, &format!("login/{user}"), json!({})).await),
            "missing password"
        );
    }
    // The correct password of one user does not open another.
    assert_eq!(
        invalid(login_as(&c, "alice", "pw").await),
        INVALID_CREDENTIALS
    );
}

#[tokio::test]
async fn dummy_hash_costs_what_a_real_one_does() {
    let c = up().await;
    call(
        &c,
        Operation::Update,
        "users/bob",
        json!({"password": "pw"}),
    )
    .await
    .unwrap();
    let real: UserEntry = c.storage.get_json("user/bob").await.unwrap().unwrap();
    let real = PasswordHash::new(&real.password_hash).unwrap();
    // An unknown user's login checks the dummy hash (made then if not yet).
    assert!(login_as(&c, "nobody", "pw").await.is_err());
    let dummy = PasswordHash::new(DUMMY_HASH.get().unwrap()).unwrap();
    assert_eq!(real.algorithm, dummy.algorithm);
    assert_eq!(real.version, dummy.version);
    assert_eq!(real.params, dummy.params);
    assert_eq!(real.hash.map(|h| h.len()), dummy.hash.map(|h| h.len()));
    assert_eq!(real.algorithm.as_str(), "argon2id");
    assert_eq!(real.params.to_string(), "m=19456,t=2,p=1");
}

#[tokio::test]
async fn usernames_are_case_folded() {
    let c = up().await;
    call(
        &c,
        Operation::Create,
        "users/MixedCase",
        json!({"password": "pw"}),
    )
    .await
    .unwrap();
    assert_eq!(c.storage.keys().await.unwrap(), ["user/mixedcase"]);
    assert_eq!(exists(&c, "users/MIXEDCASE").await, Some(true));
    call(&c, Operation::Read, "users/mixedcase", json!({}))
        .await
        .unwrap();
    let r = login_as(&c, "MIXEDcase", "pw").await.unwrap();
    let auth = r.auth.unwrap();
    assert_eq!(auth.display_name, "mixedcase");
    assert_eq!(auth.metadata["username"], "mixedcase");
    call(
        &c,
        Operation::Update,
        "users/MIXEDCASE/password",
        json!({"password": "pw2"}),
    )
    .await
    .unwrap();
    login_as(&c, "mixedcase", "pw2").await.unwrap();
    let r = call(&c, Operation::List, "users", json!({})).await.unwrap();
    assert_eq!(keys(r), json!(["mixedcase"]));
    call(&c, Operation::Delete, "users/MixedCASE", json!({}))
        .await
        .unwrap();
    assert!(c.storage.keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_input_changes_nothing() {
    let c = up().await;
    call(
        &c,
        Operation::Create,
        "users/bob",
        json!({"password": "pw", "token_ttl": 60, "token_policies": ["p"]}),
    )
    .await
    .unwrap();
    let keys_before = c.storage.keys().await.unwrap();
    let bob_before = c.storage.get("user/bob").await.unwrap().unwrap();

    let long = "a".repeat(MAX_USERNAME_LEN + 1);
    let cases: Vec<(Operation, String, Value, &str)> = vec![
        // New users need a password.
        (
            Operation::Create,
            "users/new".into(),
            json!({"token_ttl": 5}),
            "missing password",
        ),
        (
            Operation::Update,
            "users/new".into(),
            json!({"password": ""}),
            "missing password",
        ),
        (
            Operation::Update,
            "users/new".into(),
            json!({"password": {"a": 1}}),
            "password must be a string",
        ),
        (
            Operation::Update,
            "users/new".into(),
            json!({"password": "pw", "token_ttl": "soon"}),
            "token_ttl: invalid duration \"soon\"",
        ),
        // Existing users keep everything on a bad update.
        (
            Operation::Update,
            "users/bob".into(),
            json!({"password": ""}),
            "missing password",
        ),
        (
            Operation::Update,
            "users/bob".into(),
            json!({"password": "x", "token_max_ttl": 10}),
            "\"token_ttl\" should not be greater than \"token_max_ttl\"",
        ),
        (
            Operation::Update,
            "users/bob".into(),
            json!({"token_type": "batch", "token_num_uses": 2}),
            "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count",
        ),
        (
            Operation::Update,
            "users/bob".into(),
            json!({"token_bound_cidrs": ["10.0.0.0/8"]}),
            "",
        ),
        (
            Operation::Update,
            "users/bob".into(),
            json!({"token_num_uses": -1}),
            "token_num_uses cannot be negative",
        ),
        (
            Operation::Update,
            "users/bob/policies".into(),
            json!({"policies": {"a": 1}}),
            "policies must be a list of strings",
        ),
        (
            Operation::Update,
            "users/bob/password".into(),
            json!({"password": ""}),
            "missing password",
        ),
        (
            Operation::Update,
            "users/bob/password".into(),
            json!({"password": []}),
            "password must be a string",
        ),
        // Bad usernames, on every path.
        (
            Operation::Update,
            "users/".to_owned() + &long,
            json!({"password": "pw"}),
            "username is too long: at most 240 bytes",
        ),
        (
            Operation::Update,
            "users/a\u{7}b".into(),
            json!({"password": "pw"}),
            "username cannot contain '/', '\\' or control characters",
        ),
        (
            Operation::Update,
            "users/a\\b".into(),
            json!({"password": "pw"}),
            "username cannot contain '/', '\\' or control characters",
        ),
        (
            Operation::Update,
            "users/..".into(),
            json!({"password": "pw"}),
            "username cannot be \".\" or \"..\"",
        ),
        (
            Operation::Update,
            "users/.".into(),
            json!({"password": "pw"}),
            "username cannot be \".\" or \"..\"",
        ),
        (
            Operation::Update,
            "users//password".into(),
            json!({"password": "pw"}),
            "missing username",
        ),
        (
            Operation::Update,
            "users//policies".into(),
            json!({"policies": "a"}),
            "missing username",
        ),
        (
            Operation::Read,
            "users/a\u{0}".into(),
            json!({}),
            "username cannot contain '/', '\\' or control characters",
        ),
        (
            Operation::Delete,
            "users/..".into(),
            json!({}),
            "username cannot be \".\" or \"..\"",
        ),
        (
            Operation::Update,
            "login/".into(),
            json!({"password": "pw"}),
            "missing username",
        ),
        (
            Operation::Update,
            "login/".to_owned() + &long,
            json!({"password": "pw"}),
            "username is too long: at most 240 bytes",
        ),
        (
            Operation::Update,
            "login/bob".into(),
            json!({"password": ["pw"]}),
            "password must be a string",
        ),
    ];
    for (op, path, body, want) in cases {
        let msg = invalid(call(&c, op, &path, body.clone()).await);
        if !want.is_empty() {
            assert_eq!(msg, want, "{op:?} {path:?} {body}");
        }
        assert_eq!(
            c.storage.keys().await.unwrap(),
            keys_before,
            "{path:?} {body}"
        );
    }
    assert_eq!(
        c.storage.get("user/bob").await.unwrap().unwrap(),
        bob_before
    );
    login_as(&c, "bob", "pw").await.unwrap();
    // A username at the limit is fine.
    let longest = "b".repeat(MAX_USERNAME_LEN);
    call(
        &c,
        Operation::Create,
        &format!("users/{longest}"),
        json!({"password": "pw"}),
    )
    .await
    .unwrap();
    login_as(&c, &longest, "pw").await.unwrap();
    assert_eq!(exists(&c, &format!("users/{long}")).await, Some(false));
}

#[tokio::test]
async fn no_plaintext_password_in_storage() {
    let c = up().await;
    let password = "correct horse battery staple";
    call(
        &c,
        Operation::Create,
        "users/bob",
        json!({"password": password}),
    )
    .await
    .unwrap();
    let check = |raw: Vec<u8>| {
        assert!(!raw
            .windows(password.len())
            .any(|w| w == password.as_bytes()));
        let text = String::from_utf8(raw).unwrap();
        assert!(text.contains("$argon2id$v=19$m=19456,t=2,p=1$"), "{text}");
    };
    check(c.storage.get("user/bob").await.unwrap().unwrap());
    let first: UserEntry = c.storage.get_json("user/bob").await.unwrap().unwrap();
    call(
        &c,
        Operation::Update,
        "users/bob/password",
        json!({"password": password}),
    )
    .await
    .unwrap();
    let raw = c.storage.get("user/bob").await.unwrap().unwrap();
    let second: UserEntry = serde_json::from_slice(&raw).unwrap();
    check(raw);
    // Random salts: the same password never hashes the same twice.
    assert_ne!(first.password_hash, second.password_hash);
    assert_eq!(second.version, ENTRY_VERSION);
}

#[tokio::test]
async fn paths_and_operations() {
    let c = up().await;
    let up = Userpass::new();
    assert!(up.is_login_path("login/bob"));
    assert!(!up.is_login_path("users/bob"));
    assert!(!up.is_login_path("users/login/x"));
    for path in [
        "",
        "foo",
        "login",
        "login/a/b",
        "users/a/b",
        "users/a/password/x",
        "user/a",
    ] {
        assert!(
            matches!(
                call(&c, Operation::Update, path, json!({"password": "pw"})).await,
                Err(Error::UnsupportedPath(_))
            ),
            "{path:?}"
        );
    }
    for (op, path) in [
        (Operation::Patch, "users/bob"),
        (Operation::List, "users/bob"),
        (Operation::Read, "login/bob"),
        (Operation::Delete, "login/bob"),
        (Operation::Read, "users/bob/password"),
        (Operation::Delete, "users/bob/policies"),
        (Operation::Update, "users"),
    ] {
        assert!(
            matches!(
                call(&c, op, path, json!({"password": "pw"})).await,
                Err(Error::UnsupportedOperation(_))
            ),
            "{op:?} {path:?}"
        );
    }
    assert!(c.storage.keys().await.unwrap().is_empty());
    assert_eq!(exists(&c, "login/bob").await, None);
    assert_eq!(exists(&c, "users/bob/password").await, None);
    assert_eq!(exists(&c, "users").await, None);
}
