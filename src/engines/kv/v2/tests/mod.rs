//! Tests of the KV v2 engine, one file per feature; the helpers they share are here.

use super::*;
use crate::logical::test_support::ctx;

mod cas;
mod config;
mod data;
mod folders;
mod layout;
mod metadata;
mod versions;

async fn v2() -> Ctx {
    ctx("kv", obj(json!({"version": "2"}))).await
}

async fn call(c: &Ctx, op: Operation, path: &str, data: Value) -> Result<Response> {
    KvV2::new()
        .handle(c, &Request::new(op, path).with_data(obj(data)))
        .await
}

/// Whether version `n` of `path` has its data in storage.
async fn has_version_data(c: &Ctx, path: &str, n: u64) -> bool {
    let engine = KvV2::new();
    let store = Store::open(c, &engine.salts).await.unwrap();
    let secret = store.locate(path).unwrap();
    let key = secret.hashed.version_key(n);
    store.view.get(&key).await.unwrap().is_some()
}

async fn ok(c: &Ctx, op: Operation, path: &str, data: Value) -> Value {
    match call(c, op, path, data).await {
        Ok(r) => {
            assert!(
                !r.not_found_with_data,
                "{op:?} {path}: unexpected 404 {r:?}"
            );
            r.data.map(Value::Object).unwrap_or(Value::Null)
        }
        Err(e) => panic!("{op:?} {path}: {e:?}"),
    }
}

async fn put(c: &Ctx, path: &str, data: Value) -> Value {
    ok(
        c,
        Operation::Update,
        &format!("data/{path}"),
        json!({ "data": data }),
    )
    .await
}

async fn get(c: &Ctx, path: &str) -> Value {
    ok(c, Operation::Read, &format!("data/{path}"), json!({})).await
}

async fn meta(c: &Ctx, path: &str) -> Value {
    ok(c, Operation::Read, &format!("metadata/{path}"), json!({})).await
}

fn invalid_msg(r: Result<Response>) -> String {
    match r {
        Err(Error::InvalidRequest(m)) => m,
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
}

fn is_not_found(r: &Result<Response>) -> bool {
    matches!(r, Err(Error::NotFound))
}

/// A 404 answered with a body: returns the body.
fn not_found_body(r: Result<Response>) -> Value {
    match r {
        Ok(r) if r.not_found_with_data => r.data.map(Value::Object).unwrap_or(Value::Null),
        other => panic!("expected 404 with data, got {other:?}"),
    }
}

fn is_timestamp(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() >= 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T'
}

// ---- layout 1: hashed paths, folder records, listing ---------------------------------

/// Every folder record under `c`'s mount belongs to a folder that holds a secret, and every
/// folder holding a secret has its record.
pub(super) async fn assert_folder_records_exact(c: &Ctx) {
    let keys = c.storage.sub(PREFIX).keys().await.unwrap();
    let mut want = std::collections::BTreeSet::new();
    for hashed in keys.iter().filter_map(|k| k.strip_prefix("m/")) {
        for (i, _) in hashed.match_indices('/') {
            want.insert(format!("f/{}", &hashed[..i]));
        }
    }
    let got: std::collections::BTreeSet<String> = keys
        .iter()
        .filter(|k| k.starts_with("f/"))
        .cloned()
        .collect();
    assert_eq!(got, want, "folder records");
}

async fn list(c: &Ctx, folder: &str) -> Option<Value> {
    match call(c, Operation::List, &format!("metadata/{folder}"), json!({})).await {
        Ok(r) => Some(r.data.map(Value::Object).unwrap_or(Value::Null)["keys"].clone()),
        Err(Error::NotFound) => None,
        Err(e) => panic!("list {folder}: {e:?}"),
    }
}

/// A KV v2 mount at `prefix` over `physical`, sharing nothing with other tests.
async fn mount_on(barrier: &std::sync::Arc<vaultrs_storage::Barrier>, uuid: &str) -> Ctx {
    let mut c = v2().await;
    c.storage = crate::logical::StorageView::new(barrier.clone(), format!("logical/{uuid}/"));
    c
}
