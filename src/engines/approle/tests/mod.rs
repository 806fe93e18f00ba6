//! Tests of the AppRole auth method, one file per feature; the helpers they share are here.

use std::net::IpAddr;

use serde_json::{json, Map, Value};

use super::*;
use crate::logical::test_support::ctx;
use crate::logical::{Backend, Ctx, LoginAuth, Operation, Request, Response, StorageView};

mod login;
mod paths;
mod roles;
mod secret_ids;
mod storage;

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
