use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::*;
use crate::logical::test_support::ctx;
use crate::logical::{Backend, Ctx, LoginAuth, Operation, Request, Response, StorageView};

const REFUSED: &str = "invalid role or secret ID";

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

async fn setup() -> (AppRole, Ctx) {
    (AppRole::new(), ctx("approle", Map::new()).await)
}

async fn call(e: &AppRole, c: &Ctx, op: Operation, path: &str, data: Value) -> Result<Response> {
    e.handle(c, &Request::new(op, path).with_data(obj(data)))
        .await
}

async fn ok(e: &AppRole, c: &Ctx, op: Operation, path: &str, data: Value) -> Map<String, Value> {
    let r = call(e, c, op, path, data.clone())
        .await
        .unwrap_or_else(|err| panic!("{op:?} {path} {data}: {err:?}"));
    r.data.unwrap_or_default()
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

async fn login_from(
    e: &AppRole,
    c: &Ctx,
    role_id: &str,
    secret_id: &str,
    addr: Option<IpAddr>,
) -> Result<LoginAuth> {
    let req = Request::new(Operation::Update, "login")
        .with_data(obj(json!({"role_id": role_id, "secret_id": secret_id})))
        .with_remote_addr(addr);
    let r = e.handle(c, &req).await?;
    assert!(r.data.is_none());
    Ok(r.auth.expect("a login grants auth"))
}

async fn login(e: &AppRole, c: &Ctx, role_id: &str, secret_id: &str) -> Result<LoginAuth> {
    login_from(e, c, role_id, secret_id, ip("127.0.0.1")).await
}

fn assert_refused<T: std::fmt::Debug>(r: Result<T>) {
    match r {
        Err(Error::InvalidRequest(m)) => assert_eq!(m, REFUSED),
        other => panic!("expected a refused login, got {other:?}"),
    }
}

fn assert_invalid<T: std::fmt::Debug>(r: Result<T>, needle: &str) {
    match r {
        Err(Error::InvalidRequest(m)) => assert!(m.contains(needle), "{m:?} lacks {needle:?}"),
        other => panic!("expected a 400 containing {needle:?}, got {other:?}"),
    }
}

async fn role_id(e: &AppRole, c: &Ctx, name: &str) -> String {
    let d = ok(
        e,
        c,
        Operation::Read,
        &format!("role/{name}/role-id"),
        json!({}),
    )
    .await;
    d["role_id"].as_str().unwrap().to_owned()
}

/// A new secret id of `name`: (secret_id, accessor).
async fn new_secret(e: &AppRole, c: &Ctx, name: &str, data: Value) -> (String, String) {
    let d = ok(
        e,
        c,
        Operation::Update,
        &format!("role/{name}/secret-id"),
        data,
    )
    .await;
    (
        d["secret_id"].as_str().unwrap().to_owned(),
        d["secret_id_accessor"].as_str().unwrap().to_owned(),
    )
}

/// Every key and value of a view.
async fn dump(view: &StorageView) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for key in view.keys().await.unwrap() {
        let value = view.get(&key).await.unwrap().unwrap();
        out.push((key, value));
    }
    out
}

async fn dump_both(c: &Ctx) -> (Vec<(String, Vec<u8>)>, Vec<(String, Vec<u8>)>) {
    (dump(&c.storage).await, dump(&c.local).await)
}

fn keys(d: &Map<String, Value>) -> Value {
    d["keys"].clone()
}

#[tokio::test]
async fn role_crud_and_list() {
    let (e, c) = setup().await;
    assert!(matches!(
        call(&e, &c, Operation::List, "role", json!({})).await,
        Err(Error::NotFound)
    ));
    let exists = |path: &'static str| {
        let (e, c) = (&e, &c);
        async move {
            e.exists(c, &Request::new(Operation::Update, path))
                .await
                .unwrap()
        }
    };
    assert_eq!(exists("role/MyRole").await, Some(false));
    let r = call(
        &e,
        &c,
        Operation::Create,
        "role/MyRole",
        json!({
            "policies": "b,a", "token_ttl": "1m", "token_max_ttl": 600,
            "secret_id_num_uses": 3, "secret_id_ttl": "10m",
        }),
    )
    .await
    .unwrap();
    assert!(r.data.is_none() && r.warnings.is_empty(), "{r:?}");
    // Names are lower-cased: any case finds the role.
    assert_eq!(exists("role/MyRole").await, Some(true));
    assert_eq!(exists("role/myrole").await, Some(true));
    assert_eq!(exists("role/bad name").await, Some(false));
    assert_eq!(exists("role/x/role-id").await, None);

    let d = ok(&e, &c, Operation::Read, "role/MYROLE", json!({})).await;
    assert_eq!(d["bind_secret_id"], true);
    assert_eq!(d["secret_id_bound_cidrs"], json!([]));
    assert_eq!(d["secret_id_num_uses"], 3);
    assert_eq!(d["secret_id_ttl"], 600);
    assert_eq!(d["local_secret_ids"], false);
    assert_eq!(d["token_policies"], json!(["a", "b"]));
    assert_eq!(d["policies"], json!(["a", "b"]));
    assert_eq!(d["token_ttl"], 60);
    assert_eq!(d["token_max_ttl"], 600);
    assert_eq!(d["token_type"], "default");
    assert_eq!(d["token_bound_cidrs"], json!([]));
    assert!(
        d.get("role_id").is_none(),
        "the role read does not show the role id"
    );

    // An update changes only what it names.
    ok(
        &e,
        &c,
        Operation::Update,
        "role/myrole",
        json!({"secret_id_num_uses": 5}),
    )
    .await;
    let d = ok(&e, &c, Operation::Read, "role/myrole", json!({})).await;
    assert_eq!(d["secret_id_num_uses"], 5);
    assert_eq!(d["secret_id_ttl"], 600);
    assert_eq!(d["token_policies"], json!(["a", "b"]));

    ok(
        &e,
        &c,
        Operation::Create,
        "role/other.role@x",
        json!({"local_secret_ids": true}),
    )
    .await;
    let d = ok(
        &e,
        &c,
        Operation::Read,
        "role/other.role@x/local-secret-ids",
        json!({}),
    )
    .await;
    assert_eq!(d["local_secret_ids"], true);
    let d = ok(&e, &c, Operation::List, "role/", json!({})).await;
    assert_eq!(keys(&d), json!(["myrole", "other.role@x"]));

    let r = call(&e, &c, Operation::Delete, "role/MyRole", json!({}))
        .await
        .unwrap();
    assert!(r.data.is_none());
    assert!(matches!(
        call(&e, &c, Operation::Read, "role/myrole", json!({})).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        call(&e, &c, Operation::Read, "role/myrole/role-id", json!({})).await,
        Err(Error::NotFound)
    ));
    // Deleting what is gone is fine.
    call(&e, &c, Operation::Delete, "role/myrole", json!({}))
        .await
        .unwrap();
    call(&e, &c, Operation::Delete, "role/other.role@x", json!({}))
        .await
        .unwrap();
    assert!(matches!(
        call(&e, &c, Operation::List, "role", json!({})).await,
        Err(Error::NotFound)
    ));
    // Only the HMAC key is left.
    assert_eq!(c.storage.keys().await.unwrap(), ["salt"]);
}

#[tokio::test]
async fn role_warnings() {
    let (e, c) = setup().await;
    let r = call(
        &e,
        &c,
        Operation::Create,
        "role/w",
        json!({"bogus": 1, "token_type": "default-service", "token_max_ttl": "10000h"}),
    )
    .await
    .unwrap();
    let all = r.warnings.join("\n");
    assert!(all.contains("unrecognized parameters: [bogus]"), "{all}");
    assert!(all.contains("adjusting to service"), "{all}");
    assert!(all.contains("token_max_ttl is greater"), "{all}");
    let d = ok(&e, &c, Operation::Read, "role/w", json!({})).await;
    assert_eq!(d["token_type"], "service");
}

#[tokio::test]
async fn bad_role_input_changes_nothing() {
    let (e, c) = setup().await;
    ok(
        &e,
        &c,
        Operation::Create,
        "role/keep",
        json!({"token_policies": "p"}),
    )
    .await;
    ok(
        &e,
        &c,
        Operation::Create,
        "role/other",
        json!({"role_id": "taken"}),
    )
    .await;
    new_secret(&e, &c, "keep", json!({})).await;
    let before = dump_both(&c).await;
    let long = "a".repeat(MAX_ROLE_NAME_LEN + 1);
    for name in ["-a", "a-", "a b", "a$b", ".x", long.as_str()] {
        let r = call(
            &e,
            &c,
            Operation::Create,
            &format!("role/{name}"),
            json!({}),
        )
        .await;
        assert!(matches!(r, Err(Error::InvalidRequest(_))), "{name}: {r:?}");
        let r = call(&e, &c, Operation::Read, &format!("role/{name}"), json!({})).await;
        assert!(matches!(r, Err(Error::InvalidRequest(_))), "{name}: {r:?}");
    }
    assert_invalid(
        call(&e, &c, Operation::Create, "role//secret-id", json!({})).await,
        "missing role_name",
    );
    for (path, body, needle) in [
        (
            "role/new",
            json!({"bind_secret_id": false}),
            "at least one constraint",
        ),
        (
            "role/keep",
            json!({"bind_secret_id": false}),
            "at least one constraint",
        ),
        (
            "role/new",
            json!({"secret_id_num_uses": -1}),
            "cannot be negative",
        ),
        (
            "role/new",
            json!({"secret_id_bound_cidrs": "10.0.0.0/33"}),
            "invalid CIDR",
        ),
        (
            "role/new",
            json!({"bound_cidr_list": ["nope"]}),
            "invalid CIDR",
        ),
        (
            "role/new",
            json!({"token_bound_cidrs": "10.0.0.0/8"}),
            "token_bound_cidrs",
        ),
        (
            "role/new",
            json!({"token_ttl": 100, "token_max_ttl": 10}),
            "token_ttl",
        ),
        (
            "role/new",
            json!({"secret_id_ttl": "soon"}),
            "secret_id_ttl",
        ),
        (
            "role/new",
            json!({"bind_secret_id": "maybe"}),
            "bind_secret_id",
        ),
        ("role/new", json!({"role_id": ""}), "invalid role_id"),
        (
            "role/new",
            json!({"role_id": "taken"}),
            "role_id already in use",
        ),
        (
            "role/keep",
            json!({"role_id": "taken"}),
            "role_id already in use",
        ),
        (
            "role/keep",
            json!({"local_secret_ids": true}),
            "only be modified during role creation",
        ),
        (
            "role/keep/role-id",
            json!({"role_id": ""}),
            "missing role_id",
        ),
        (
            "role/keep/role-id",
            json!({"role_id": "taken"}),
            "role_id already in use",
        ),
        (
            "role/keep/secret-id",
            json!({"num_uses": -1}),
            "cannot be negative",
        ),
        (
            "role/keep/secret-id",
            json!({"cidr_list": "300.1.1.1"}),
            "invalid CIDR",
        ),
        (
            "role/keep/secret-id",
            json!({"token_bound_cidrs": ["10.0.0.1"]}),
            "token_bound_cidrs",
        ),
        (
            "role/keep/secret-id",
            json!({"metadata": "{oops"}),
            "metadata",
        ),
        (
            "role/keep/secret-id",
            json!({"metadata": {"a": 1}}),
            "metadata",
        ),
        (
            "role/keep/secret-id",
            json!({"metadata": "novalue"}),
            "metadata",
        ),
        ("role/keep/custom-secret-id", json!({}), "missing secret_id"),
        ("role/keep/secret-id/lookup", json!({}), "missing secret_id"),
        (
            "role/keep/secret-id/destroy",
            json!({}),
            "missing secret_id",
        ),
        (
            "role/keep/secret-id-accessor/lookup",
            json!({}),
            "missing secret_id_accessor",
        ),
        (
            "role/nope/secret-id/lookup",
            json!({"secret_id": "x"}),
            "does not exist",
        ),
        (
            "role/nope/secret-id/destroy",
            json!({"secret_id": "x"}),
            "does not exist",
        ),
        ("login", json!({"secret_id": "x"}), "missing role_id"),
    ] {
        assert_invalid(
            call(&e, &c, Operation::Update, path, body.clone()).await,
            needle,
        );
    }
    assert!(matches!(
        call(
            &e,
            &c,
            Operation::Update,
            "role/nope/role-id",
            json!({"role_id": "z"})
        )
        .await,
        Err(Error::UnsupportedPath(_))
    ));
    assert!(matches!(
        call(&e, &c, Operation::Update, "role/nope/secret-id", json!({})).await,
        Err(Error::UnsupportedPath(_))
    ));
    assert_eq!(dump_both(&c).await, before);
}

#[tokio::test]
async fn role_ids() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/a", json!({})).await;
    ok(
        &e,
        &c,
        Operation::Create,
        "role/b",
        json!({"role_id": "chosen-b"}),
    )
    .await;
    let generated = role_id(&e, &c, "a").await;
    assert_eq!(generated.len(), 36, "{generated}");
    assert_ne!(generated, role_id(&e, &c, "b").await);
    assert_eq!(role_id(&e, &c, "b").await, "chosen-b");
    let (secret, _) = new_secret(&e, &c, "a", json!({})).await;
    login(&e, &c, &generated, &secret).await.unwrap();

    // A custom role id replaces the old one, which stops working.
    let r = call(
        &e,
        &c,
        Operation::Update,
        "role/a/role-id",
        json!({"role_id": "my-id"}),
    )
    .await
    .unwrap();
    assert!(r.data.is_none());
    assert_eq!(role_id(&e, &c, "a").await, "my-id");
    login(&e, &c, "my-id", &secret).await.unwrap();
    assert_refused(login(&e, &c, &generated, &secret).await);
    // Setting a role's own id again is fine; another role's is not.
    ok(
        &e,
        &c,
        Operation::Update,
        "role/a/role-id",
        json!({"role_id": "my-id"}),
    )
    .await;
    ok(
        &e,
        &c,
        Operation::Update,
        "role/a",
        json!({"role_id": "my-id"}),
    )
    .await;
    assert_invalid(
        call(
            &e,
            &c,
            Operation::Update,
            "role/b/role-id",
            json!({"role_id": "my-id"}),
        )
        .await,
        "role_id already in use",
    );
    assert_invalid(
        call(
            &e,
            &c,
            Operation::Create,
            "role/c",
            json!({"role_id": "my-id"}),
        )
        .await,
        "role_id already in use",
    );
    // The generated id is free again.
    ok(
        &e,
        &c,
        Operation::Create,
        "role/c",
        json!({"role_id": generated}),
    )
    .await;
    assert_eq!(role_id(&e, &c, "c").await, generated);

    // One index entry per role, keyed by hash: no role id appears in a key.
    let storage_keys = c.storage.keys().await.unwrap();
    let index: Vec<&String> = storage_keys
        .iter()
        .filter(|k| k.starts_with("role_id/"))
        .collect();
    assert_eq!(index.len(), 3, "{storage_keys:?}");
    for id in ["my-id", "chosen-b", generated.as_str()] {
        assert!(
            storage_keys.iter().all(|k| !k.contains(id)),
            "{id} in {storage_keys:?}"
        );
    }
    // Deleting a role frees its id and drops its index entry.
    call(&e, &c, Operation::Delete, "role/b", json!({}))
        .await
        .unwrap();
    let storage_keys = c.storage.keys().await.unwrap();
    assert_eq!(
        storage_keys
            .iter()
            .filter(|k| k.starts_with("role_id/"))
            .count(),
        2
    );
    ok(
        &e,
        &c,
        Operation::Update,
        "role/a/role-id",
        json!({"role_id": "chosen-b"}),
    )
    .await;
}

#[tokio::test]
async fn secret_id_lifecycle() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/app", json!({})).await;
    assert!(matches!(
        call(&e, &c, Operation::List, "role/app/secret-id", json!({})).await,
        Err(Error::NotFound)
    ));
    // Looking up before any secret id exists: nothing.
    let r = call(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/lookup",
        json!({"secret_id": "x"}),
    )
    .await
    .unwrap();
    assert!(r.data.is_none());

    let d = ok(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id",
        json!({"metadata": "{\"env\":\"prod\"}", "cidr_list": "10.0.0.0/8,192.168.1.1"}),
    )
    .await;
    let secret = d["secret_id"].as_str().unwrap().to_owned();
    let accessor = d["secret_id_accessor"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 36);
    assert_ne!(secret, accessor);
    assert_eq!(d["secret_id_ttl"], 0);
    assert_eq!(d["secret_id_num_uses"], 0);

    let d = ok(&e, &c, Operation::List, "role/app/secret-id/", json!({})).await;
    assert_eq!(keys(&d), json!([accessor]));

    let by_id = ok(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/lookup",
        json!({"secret_id": secret}),
    )
    .await;
    assert_eq!(by_id["secret_id_accessor"], accessor.as_str());
    assert_eq!(by_id["metadata"], json!({"env": "prod"}));
    assert_eq!(by_id["cidr_list"], json!(["10.0.0.0/8", "192.168.1.1"]));
    assert_eq!(by_id["token_bound_cidrs"], json!([]));
    assert_eq!(by_id["secret_id_num_uses"], 0);
    assert_eq!(by_id["secret_id_ttl"], 0);
    assert_eq!(by_id["expiration_time"], "0001-01-01T00:00:00Z");
    let created = by_id["creation_time"].as_str().unwrap();
    assert!(
        created.starts_with("20") && created.ends_with('Z'),
        "{created}"
    );
    assert_eq!(by_id["last_updated_time"], by_id["creation_time"]);
    assert!(by_id.get("secret_id").is_none());
    let by_accessor = ok(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id-accessor/lookup",
        json!({"secret_id_accessor": accessor}),
    )
    .await;
    assert_eq!(by_accessor, by_id);

    // Unknown ids: a lookup by id answers nothing (204), by accessor 404.
    let r = call(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/lookup",
        json!({"secret_id": "nope"}),
    )
    .await
    .unwrap();
    assert!(r.data.is_none());
    assert!(matches!(
        call(
            &e,
            &c,
            Operation::Update,
            "role/app/secret-id-accessor/lookup",
            json!({"secret_id_accessor": "nope"})
        )
        .await,
        Err(Error::NotFound)
    ));

    // Another role cannot see or destroy this secret id.
    ok(&e, &c, Operation::Create, "role/other", json!({})).await;
    let r = call(
        &e,
        &c,
        Operation::Update,
        "role/other/secret-id/lookup",
        json!({"secret_id": secret}),
    )
    .await
    .unwrap();
    assert!(r.data.is_none());
    assert!(matches!(
        call(
            &e,
            &c,
            Operation::Update,
            "role/other/secret-id-accessor/lookup",
            json!({"secret_id_accessor": accessor})
        )
        .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        call(
            &e,
            &c,
            Operation::Delete,
            "role/other/secret-id-accessor/destroy",
            json!({"secret_id_accessor": accessor})
        )
        .await,
        Err(Error::NotFound)
    ));
    call(
        &e,
        &c,
        Operation::Update,
        "role/other/secret-id/destroy",
        json!({"secret_id": secret}),
    )
    .await
    .unwrap();
    ok(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/lookup",
        json!({"secret_id": secret}),
    )
    .await;

    // Destroy by id (DELETE with a body, as Vault allows).
    let r = call(
        &e,
        &c,
        Operation::Delete,
        "role/app/secret-id/destroy",
        json!({"secret_id": secret}),
    )
    .await
    .unwrap();
    assert!(r.data.is_none());
    assert!(matches!(
        call(&e, &c, Operation::List, "role/app/secret-id", json!({})).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        call(
            &e,
            &c,
            Operation::Update,
            "role/app/secret-id-accessor/lookup",
            json!({"secret_id_accessor": accessor})
        )
        .await,
        Err(Error::NotFound)
    ));
    // Destroying an unknown secret id is no error.
    call(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/destroy",
        json!({"secret_id": secret}),
    )
    .await
    .unwrap();

    // Destroy by accessor.
    let (secret2, accessor2) = new_secret(&e, &c, "app", json!({})).await;
    let r = call(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id-accessor/destroy",
        json!({"secret_id_accessor": accessor2}),
    )
    .await
    .unwrap();
    assert!(r.data.is_none());
    let rid = role_id(&e, &c, "app").await;
    assert_refused(login(&e, &c, &rid, &secret2).await);
    assert!(matches!(
        call(
            &e,
            &c,
            Operation::Update,
            "role/app/secret-id-accessor/destroy",
            json!({"secret_id_accessor": accessor2})
        )
        .await,
        Err(Error::NotFound)
    ));
    // Nothing is left of either secret id.
    assert_eq!(c.local.keys().await.unwrap(), ["salt"]);
}

#[tokio::test]
async fn custom_secret_ids() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/app", json!({})).await;
    ok(&e, &c, Operation::Create, "role/other", json!({})).await;
    let d = ok(
        &e,
        &c,
        Operation::Update,
        "role/app/custom-secret-id",
        json!({"secret_id": "my-secret", "num_uses": 4}),
    )
    .await;
    assert_eq!(d["secret_id"], "my-secret");
    assert_eq!(d["secret_id_num_uses"], 4);
    assert_invalid(
        call(
            &e,
            &c,
            Operation::Update,
            "role/app/custom-secret-id",
            json!({"secret_id": "my-secret"}),
        )
        .await,
        "SecretID is already registered",
    );
    // The same value under another role is another secret id.
    ok(
        &e,
        &c,
        Operation::Update,
        "role/other/custom-secret-id",
        json!({"secret_id": "my-secret"}),
    )
    .await;
    let rid = role_id(&e, &c, "app").await;
    let auth = login(&e, &c, &rid, "my-secret").await.unwrap();
    assert_eq!(auth.metadata["role_name"], "app");
    let d = ok(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/lookup",
        json!({"secret_id": "my-secret"}),
    )
    .await;
    assert_eq!(d["secret_id_num_uses"], 3);
}

#[tokio::test]
async fn secret_id_defaults_and_caps() {
    let (e, c) = setup().await;
    ok(
        &e,
        &c,
        Operation::Create,
        "role/capped",
        json!({"secret_id_num_uses": 5, "secret_id_ttl": "10m"}),
    )
    .await;
    let d = ok(
        &e,
        &c,
        Operation::Update,
        "role/capped/secret-id",
        json!({}),
    )
    .await;
    assert_eq!(
        (d["secret_id_num_uses"].clone(), d["secret_id_ttl"].clone()),
        (json!(5), json!(600))
    );
    let d = ok(
        &e,
        &c,
        Operation::Update,
        "role/capped/secret-id",
        json!({"num_uses": 2, "ttl": "1m"}),
    )
    .await;
    assert_eq!(
        (d["secret_id_num_uses"].clone(), d["secret_id_ttl"].clone()),
        (json!(2), json!(60))
    );
    let secret = d["secret_id"].as_str().unwrap();
    let l = ok(
        &e,
        &c,
        Operation::Update,
        "role/capped/secret-id/lookup",
        json!({"secret_id": secret}),
    )
    .await;
    assert_eq!(l["secret_id_ttl"], 60);
    assert_ne!(l["expiration_time"], "0001-01-01T00:00:00Z");
    for (body, needle) in [
        (json!({"num_uses": 6}), "num_uses cannot be higher"),
        (json!({"num_uses": 0}), "num_uses cannot be higher"),
        (json!({"ttl": "11m"}), "ttl cannot be longer"),
        (json!({"ttl": 0}), "ttl cannot be longer"),
    ] {
        assert_invalid(
            call(&e, &c, Operation::Update, "role/capped/secret-id", body).await,
            needle,
        );
    }

    // No caps on the role: anything goes, but the mount's max lease TTL bounds the TTL.
    ok(&e, &c, Operation::Create, "role/free", json!({})).await;
    let d = ok(
        &e,
        &c,
        Operation::Update,
        "role/free/secret-id",
        json!({"num_uses": 100, "ttl": "10000h"}),
    )
    .await;
    assert_eq!(d["secret_id_num_uses"], 100);
    assert_eq!(d["secret_id_ttl"], 768 * 3600);

    // A role without bind_secret_id has no secret ids.
    ok(
        &e,
        &c,
        Operation::Create,
        "role/open",
        json!({"bind_secret_id": false, "secret_id_bound_cidrs": "10.0.0.0/8"}),
    )
    .await;
    assert_invalid(
        call(&e, &c, Operation::Update, "role/open/secret-id", json!({})).await,
        "bind_secret_id is not set",
    );
    // A secret id's CIDRs must lie within the role's.
    ok(
        &e,
        &c,
        Operation::Create,
        "role/net",
        json!({"secret_id_bound_cidrs": ["10.0.0.0/8"]}),
    )
    .await;
    ok(
        &e,
        &c,
        Operation::Update,
        "role/net/secret-id",
        json!({"cidr_list": "10.1.0.0/16,10.2.3.4"}),
    )
    .await;
    assert_invalid(
        call(
            &e,
            &c,
            Operation::Update,
            "role/net/secret-id",
            json!({"cidr_list": "10.1.0.0/16,11.0.0.0/16"}),
        )
        .await,
        "within the role",
    );
    assert_invalid(
        call(
            &e,
            &c,
            Operation::Update,
            "role/net/secret-id",
            json!({"cidr_list": "0.0.0.0/0"}),
        )
        .await,
        "within the role",
    );
}

#[test]
fn metadata_forms() {
    let parse = |v: Value| secret_id_metadata(Some(&v));
    let want: std::collections::BTreeMap<String, String> = [
        ("a".to_owned(), "1".to_owned()),
        ("b".to_owned(), "x=y".to_owned()),
    ]
    .into();
    assert_eq!(parse(json!("{\"a\":\"1\",\"b\":\"x=y\"}")).unwrap(), want);
    assert_eq!(parse(json!({"a": "1", "b": "x=y"})).unwrap(), want);
    let b64 = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "{\"a\":\"1\",\"b\":\"x=y\"}",
    );
    assert_eq!(parse(json!(b64)).unwrap(), want);
    assert_eq!(parse(json!("a=1, b=x=y")).unwrap(), want);
    assert!(parse(json!("")).unwrap().is_empty());
    assert!(secret_id_metadata(None).unwrap().is_empty());
    for bad in [
        json!("{\"a\":1}"),
        json!("{bad"),
        json!("=x"),
        json!(["a"]),
        json!(5),
    ] {
        assert!(parse(bad.clone()).is_err(), "{bad}");
    }
}

fn secret_id_metadata(v: Option<&Value>) -> Result<std::collections::BTreeMap<String, String>> {
    secret_id::parse_metadata(v)
}

#[tokio::test]
async fn login_grants_the_role_token() {
    let (e, c) = setup().await;
    assert!(e.is_login_path("login"));
    assert!(!e.is_login_path("role/web"));
    assert!(!e.is_login_path("login/x"));
    ok(
        &e,
        &c,
        Operation::Create,
        "role/Web",
        json!({
            "token_policies": ["ops", "dev"], "token_ttl": "1h", "token_max_ttl": "2h",
            "token_num_uses": 3, "token_no_default_policy": true, "token_period": 0,
        }),
    )
    .await;
    let rid = role_id(&e, &c, "web").await;
    let (secret, _) = new_secret(&e, &c, "web", json!({"metadata": "{\"team\":\"blue\"}"})).await;
    let auth = login(&e, &c, &rid, &secret).await.unwrap();
    assert_eq!(auth.policies, ["dev", "ops"]);
    assert!(auth.no_default_policy);
    assert_eq!(auth.display_name, "");
    assert_eq!(auth.ttl, Duration::from_secs(3600));
    assert_eq!(auth.max_ttl, Duration::from_secs(7200));
    assert_eq!(auth.num_uses, 3);
    assert!(auth.renewable);
    assert_eq!(
        auth.metadata,
        [
            ("role_name".to_owned(), "web".to_owned()),
            ("team".to_owned(), "blue".to_owned())
        ]
        .into()
    );
    // Unlimited uses: it works again, and surrounding whitespace is ignored (as Vault).
    login(&e, &c, &format!(" {rid} "), &format!("{secret}\n"))
        .await
        .unwrap();
    // The role's token settings apply from the next login on.
    ok(
        &e,
        &c,
        Operation::Update,
        "role/web",
        json!({"token_policies": "other"}),
    )
    .await;
    let auth = login(&e, &c, &rid, &secret).await.unwrap();
    assert_eq!(auth.policies, ["other"]);
}

#[tokio::test]
async fn login_refusals_look_alike() {
    let (e, c) = setup().await;
    // No role at all yet.
    assert_refused(login(&e, &c, "whatever", "x").await);
    ok(&e, &c, Operation::Create, "role/a", json!({})).await;
    ok(&e, &c, Operation::Create, "role/b", json!({})).await;
    let (rid_a, rid_b) = (role_id(&e, &c, "a").await, role_id(&e, &c, "b").await);
    // No secret id anywhere yet.
    assert_refused(login(&e, &c, &rid_a, "x").await);
    let (secret_a, _) = new_secret(&e, &c, "a", json!({})).await;
    let (secret_b, _) = new_secret(&e, &c, "b", json!({})).await;
    let before = dump_both(&c).await;
    assert_refused(login(&e, &c, &rid_a, "wrong").await);
    assert_refused(login(&e, &c, &rid_a, &secret_b).await);
    assert_refused(login(&e, &c, &rid_b, &secret_a).await);
    assert_refused(login(&e, &c, &rid_a, "").await);
    assert_refused(login(&e, &c, "unknown-role-id", &secret_a).await);
    assert_refused(login(&e, &c, &secret_a, &rid_a).await);
    assert_refused(login(&e, &c, &rid_a, &"x".repeat(5000)).await);
    assert_invalid(login(&e, &c, "", &secret_a).await, "missing role_id");
    // Refusals change nothing.
    assert_eq!(dump_both(&c).await, before);
    login(&e, &c, &rid_a, &secret_a).await.unwrap();
    login(&e, &c, &rid_b, &secret_b).await.unwrap();
}

#[tokio::test]
async fn expired_secret_ids_are_refused_and_tidied() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/app", json!({})).await;
    let rid = role_id(&e, &c, "app").await;
    let (short, short_accessor) = new_secret(&e, &c, "app", json!({"ttl": 1})).await;
    let (short2, _) = new_secret(&e, &c, "app", json!({"ttl": "1s"})).await;
    let (long, long_accessor) = new_secret(&e, &c, "app", json!({"ttl": "1h"})).await;
    let (forever, forever_accessor) = new_secret(&e, &c, "app", json!({})).await;
    login(&e, &c, &rid, &short).await.unwrap();

    e.skew_secs.store(2, Ordering::SeqCst);
    assert_refused(login(&e, &c, &rid, &short).await);
    // The refused login dropped the expired secret id.
    let d = ok(&e, &c, Operation::List, "role/app/secret-id", json!({})).await;
    let mut left = vec![long_accessor.clone(), forever_accessor.clone()];
    let listed = keys(&d);
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
    assert!(!listed.as_array().unwrap().contains(&json!(short_accessor)));
    login(&e, &c, &rid, &long).await.unwrap();

    // Tidy removes the other expired one, and nothing else.
    let r = call(&e, &c, Operation::Update, "tidy/secret-id", json!({}))
        .await
        .unwrap();
    assert!(r.data.is_none());
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    left.sort();
    let d = ok(&e, &c, Operation::List, "role/app/secret-id", json!({})).await;
    assert_eq!(keys(&d), json!(left));
    assert_refused(login(&e, &c, &rid, &short2).await);
    login(&e, &c, &rid, &forever).await.unwrap();
    let local = c.local.keys().await.unwrap();
    assert_eq!(
        local.iter().filter(|k| k.starts_with("accessor/")).count(),
        2,
        "{local:?}"
    );
    assert_eq!(
        local.iter().filter(|k| k.starts_with("secret_id/")).count(),
        2,
        "{local:?}"
    );
}

#[tokio::test]
async fn num_uses_run_out() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/app", json!({})).await;
    let rid = role_id(&e, &c, "app").await;
    let (secret, _) = new_secret(&e, &c, "app", json!({"num_uses": 2})).await;
    let (other, other_accessor) = new_secret(&e, &c, "app", json!({"num_uses": 1})).await;
    login(&e, &c, &rid, &secret).await.unwrap();
    let d = ok(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/lookup",
        json!({"secret_id": secret}),
    )
    .await;
    assert_eq!(d["secret_id_num_uses"], 1);
    login(&e, &c, &rid, &secret).await.unwrap();
    assert_refused(login(&e, &c, &rid, &secret).await);
    let r = call(
        &e,
        &c,
        Operation::Update,
        "role/app/secret-id/lookup",
        json!({"secret_id": secret}),
    )
    .await
    .unwrap();
    assert!(r.data.is_none(), "the used-up secret id is gone");
    let d = ok(&e, &c, Operation::List, "role/app/secret-id", json!({})).await;
    assert_eq!(keys(&d), json!([other_accessor]));
    login(&e, &c, &rid, &other).await.unwrap();
    assert!(matches!(
        call(&e, &c, Operation::List, "role/app/secret-id", json!({})).await,
        Err(Error::NotFound)
    ));
    assert_eq!(c.local.keys().await.unwrap(), ["salt"]);
}

#[tokio::test]
async fn cidr_bindings() {
    let (e, c) = setup().await;
    ok(
        &e,
        &c,
        Operation::Create,
        "role/net",
        json!({"secret_id_bound_cidrs": "10.0.0.0/8"}),
    )
    .await;
    let rid = role_id(&e, &c, "net").await;
    let (secret, _) = new_secret(
        &e,
        &c,
        "net",
        json!({"cidr_list": "10.1.0.0/16", "num_uses": 1}),
    )
    .await;
    // Outside the secret id's block, outside the role's, or no address: refused, and no
    // use is spent.
    for addr in [ip("10.2.0.1"), ip("192.168.1.1"), ip("::1"), None] {
        assert_refused(login_from(&e, &c, &rid, &secret, addr).await);
    }
    // An IPv4-mapped IPv6 address counts as the IPv4 one.
    login_from(&e, &c, &rid, &secret, ip("::ffff:10.1.2.3"))
        .await
        .unwrap();
    assert_refused(login_from(&e, &c, &rid, &secret, ip("10.1.2.3")).await);

    // A secret id without its own list: the role's applies.
    let (any, _) = new_secret(&e, &c, "net", json!({})).await;
    login_from(&e, &c, &rid, &any, ip("10.200.0.1"))
        .await
        .unwrap();
    assert_refused(login_from(&e, &c, &rid, &any, ip("11.0.0.1")).await);

    // A role without secret ids, bound to an address.
    ok(
        &e,
        &c,
        Operation::Create,
        "role/open",
        json!({"bind_secret_id": false, "secret_id_bound_cidrs": ["192.168.0.5", "fd00::/8"]}),
    )
    .await;
    let open = role_id(&e, &c, "open").await;
    let auth = login_from(&e, &c, &open, "", ip("192.168.0.5"))
        .await
        .unwrap();
    assert_eq!(
        auth.metadata,
        [("role_name".to_owned(), "open".to_owned())].into()
    );
    login_from(&e, &c, &open, "ignored", ip("fd12::1"))
        .await
        .unwrap();
    assert_refused(login_from(&e, &c, &open, "", ip("192.168.0.6")).await);
    assert_refused(login_from(&e, &c, &open, "", None).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_logins_spend_a_use_once() {
    let e = Arc::new(AppRole::new());
    let c = ctx("approle", Map::new()).await;
    ok(&e, &c, Operation::Create, "role/app", json!({})).await;
    let rid = role_id(&e, &c, "app").await;
    for round in 0..5 {
        let (secret, _) = new_secret(&e, &c, "app", json!({"num_uses": 1})).await;
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (e, c, rid, secret) = (e.clone(), c.clone(), rid.clone(), secret.clone());
                tokio::spawn(async move { login(&e, &c, &rid, &secret).await })
            })
            .collect();
        let mut granted = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => granted += 1,
                Err(err) => assert_refused::<()>(Err(err)),
            }
        }
        assert_eq!(granted, 1, "round {round}");
        assert_eq!(c.local.keys().await.unwrap(), ["salt"], "round {round}");
    }
}

#[tokio::test]
async fn secrets_stay_hashed_and_local() {
    let (e, c) = setup().await;
    ok(
        &e,
        &c,
        Operation::Create,
        "role/a",
        json!({"role_id": "role-a-credential"}),
    )
    .await;
    ok(
        &e,
        &c,
        Operation::Create,
        "role/b",
        json!({"local_secret_ids": true}),
    )
    .await;
    let mut secrets = vec!["custom-secret-value".to_owned()];
    ok(
        &e,
        &c,
        Operation::Update,
        "role/a/custom-secret-id",
        json!({"secret_id": secrets[0]}),
    )
    .await;
    for (role, uses) in [("a", 0), ("a", 3), ("b", 0), ("b", 2)] {
        let (s, _) = new_secret(&e, &c, role, json!({"num_uses": uses, "metadata": "k=v"})).await;
        secrets.push(s);
    }
    let rid_b = role_id(&e, &c, "b").await;
    login(&e, &c, &rid_b, &secrets[4]).await.unwrap();

    let (storage, local) = dump_both(&c).await;
    for (key, value) in storage.iter().chain(local.iter()) {
        let text = String::from_utf8_lossy(value);
        for secret in &secrets {
            assert!(!key.contains(secret.as_str()), "secret id in key {key}");
            assert!(
                !text.contains(secret.as_str()),
                "secret id in the value of {key}"
            );
        }
        assert!(!key.contains("role-a-credential"), "role id in key {key}");
    }
    // Secret ids and accessors live only in the local view; roles only in the replicated one.
    assert!(storage
        .iter()
        .all(|(k, _)| k == "salt" || k.starts_with("role/") || k.starts_with("role_id/")));
    assert_eq!(
        local
            .iter()
            .filter(|(k, _)| k.starts_with("secret_id/"))
            .count(),
        5
    );
    assert_eq!(
        local
            .iter()
            .filter(|(k, _)| k.starts_with("accessor/"))
            .count(),
        5
    );
    assert!(local
        .iter()
        .all(|(k, _)| k == "salt" || k.starts_with("secret_id/") || k.starts_with("accessor/")));
    assert!(c.local.prefix().starts_with("local/"));
    // The two views hash with different keys.
    let salt = |d: &[(String, Vec<u8>)]| d.iter().find(|(k, _)| k == "salt").unwrap().1.clone();
    assert_ne!(salt(&storage), salt(&local));
}

#[tokio::test]
async fn deleting_a_role_deletes_its_secret_ids() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/gone", json!({})).await;
    ok(&e, &c, Operation::Create, "role/kept", json!({})).await;
    let rid = role_id(&e, &c, "gone").await;
    let (secret, _) = new_secret(&e, &c, "gone", json!({})).await;
    new_secret(&e, &c, "gone", json!({"num_uses": 3})).await;
    let (kept, kept_accessor) = new_secret(&e, &c, "kept", json!({})).await;
    call(&e, &c, Operation::Delete, "role/gone", json!({}))
        .await
        .unwrap();
    assert_refused(login(&e, &c, &rid, &secret).await);
    let local = c.local.keys().await.unwrap();
    assert_eq!(
        local.len(),
        3,
        "salt and one secret id with its accessor: {local:?}"
    );
    // The same name again is a new role: the old secret ids do not come back.
    ok(
        &e,
        &c,
        Operation::Create,
        "role/gone",
        json!({"role_id": rid}),
    )
    .await;
    assert_refused(login(&e, &c, &rid, &secret).await);
    let kept_rid = role_id(&e, &c, "kept").await;
    login(&e, &c, &kept_rid, &kept).await.unwrap();
    let d = ok(&e, &c, Operation::List, "role/kept/secret-id", json!({})).await;
    assert_eq!(keys(&d), json!([kept_accessor]));
}

#[tokio::test]
async fn tidy_removes_secret_ids_of_vanished_roles() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/a", json!({})).await;
    ok(&e, &c, Operation::Create, "role/b", json!({})).await;
    new_secret(&e, &c, "a", json!({})).await;
    new_secret(&e, &c, "a", json!({})).await;
    let (kept, _) = new_secret(&e, &c, "b", json!({})).await;
    // The role goes away the way replication would delete it: storage only.
    let index: Vec<String> = c.storage.keys().await.unwrap();
    let rid_a = role_id(&e, &c, "a").await;
    for key in index {
        if key == "role/a" {
            c.storage.delete(&key).await.unwrap();
        }
    }
    let r = call(&e, &c, Operation::Update, "tidy/secret-id", json!({}))
        .await
        .unwrap();
    assert!(!r.warnings.is_empty());
    let local = c.local.keys().await.unwrap();
    assert_eq!(local.len(), 3, "{local:?}");
    assert_refused(login(&e, &c, &rid_a, &kept).await);
    let rid_b = role_id(&e, &c, "b").await;
    login(&e, &c, &rid_b, &kept).await.unwrap();
}

#[tokio::test]
async fn unsupported_paths_and_operations() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/a", json!({})).await;
    for path in [
        "",
        "nope",
        "role/a/nope",
        "role/a/secret-id/nope",
        "tidy",
        "login/x",
        "role/a/b/c/d",
    ] {
        assert!(
            matches!(
                call(&e, &c, Operation::Update, path, json!({})).await,
                Err(Error::UnsupportedPath(_))
            ),
            "{path}"
        );
    }
    for (op, path) in [
        (Operation::Read, "login"),
        (Operation::Read, "role/a/secret-id"),
        (Operation::List, "role/a"),
        (Operation::Delete, "role/a/role-id"),
        (Operation::Read, "tidy/secret-id"),
        (Operation::Patch, "role/a"),
        (Operation::Delete, "role/a/secret-id/lookup"),
    ] {
        assert!(
            matches!(
                call(&e, &c, op, path, json!({})).await,
                Err(Error::UnsupportedOperation(_))
            ),
            "{op:?} {path}"
        );
    }
}
