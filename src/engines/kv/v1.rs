//! KV version 1: the request path is the storage key and the value is the request body,
//! stored verbatim as a JSON object (Vault's `passthrough` backend).
//!
//! Also serves cubbyhole (the core hands it a per-token view): on a mount of kind
//! `cubbyhole` reads report no lease duration, as Vault's cubbyhole does.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::support::{check_write_key, list_prefix, valid_key};
use crate::error::{Error, Result};
use crate::logical::{Backend, Ctx, Operation, Request, Response};

/// The unversioned key/value engine.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvV1;

#[async_trait]
impl Backend for KvV1 {
    async fn handle(&self, ctx: &Ctx, req: &Request) -> Result<Response> {
        match req.operation {
            Operation::Read => read(ctx, &req.path).await,
            Operation::Create | Operation::Update => write(ctx, req).await,
            Operation::Delete => {
                if valid_key(&req.path) {
                    ctx.storage.delete(&req.path).await?;
                }
                Ok(Response::empty())
            }
            Operation::List => {
                let Some(prefix) = list_prefix(&req.path) else {
                    return Err(Error::NotFound);
                };
                Response::list(ctx.storage.list(&prefix).await?)
            }
            Operation::Patch => Err(Error::UnsupportedOperation("unsupported operation".into())),
        }
    }

    async fn exists(&self, ctx: &Ctx, req: &Request) -> Result<Option<bool>> {
        if !valid_key(&req.path) {
            return Ok(Some(false));
        }
        Ok(Some(ctx.storage.contains(&req.path).await?))
    }
}

async fn read(ctx: &Ctx, path: &str) -> Result<Response> {
    if !valid_key(path) {
        return Err(Error::NotFound);
    }
    let Some(data) = ctx.storage.get_json::<Map<String, Value>>(path).await? else {
        return Err(Error::NotFound);
    };
    let lease_duration = if ctx.mount.kind == "cubbyhole" {
        None
    } else {
        let ttl = data
            .get("ttl")
            .or_else(|| data.get("lease"))
            .and_then(ttl_value);
        // No `ttl` in the data: Vault reports the mount's default lease TTL.
        ttl.or_else(|| {
            let default = ctx.mount.default_lease_ttl;
            (!default.is_zero()).then_some(default)
        })
    };
    Ok(Response {
        data: Some(data),
        lease_duration,
        ..Response::default()
    })
}

/// A stored `ttl` as Vault's `ParseDurationSecond` reads it; unparsable values are ignored.
fn ttl_value(v: &Value) -> Option<Duration> {
    crate::logical::ttl_from_json(v)
}

async fn write(ctx: &Ctx, req: &Request) -> Result<Response> {
    check_write_key(&req.path)?;
    if req.data.is_empty() {
        return Err(Error::invalid("missing data fields"));
    }
    ctx.storage.put_json(&req.path, &req.data).await?;
    Ok(Response::empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::kv::support::obj;
    use crate::logical::test_support::ctx;
    use serde_json::json;

    async fn v1() -> Ctx {
        ctx("kv", obj(json!({"version": "1"}))).await
    }

    async fn call(c: &Ctx, op: Operation, path: &str, data: Value) -> Result<Response> {
        KvV1.handle(c, &Request::new(op, path).with_data(obj(data)))
            .await
    }

    #[tokio::test]
    async fn v1_crud() {
        let c = v1().await;
        assert!(matches!(
            call(&c, Operation::Read, "foo", json!({})).await,
            Err(Error::NotFound)
        ));
        let exists = KvV1
            .exists(&c, &Request::new(Operation::Update, "foo"))
            .await
            .unwrap();
        assert_eq!(exists, Some(false));

        let r = call(
            &c,
            Operation::Create,
            "foo",
            json!({"a": "b", "n": {"x": [1, 2]}}),
        )
        .await
        .unwrap();
        assert!(r.data.is_none());
        let exists = KvV1
            .exists(&c, &Request::new(Operation::Update, "foo"))
            .await
            .unwrap();
        assert_eq!(exists, Some(true));

        let r = call(&c, Operation::Read, "foo", json!({})).await.unwrap();
        assert_eq!(
            Value::Object(r.data.unwrap()),
            json!({"a": "b", "n": {"x": [1, 2]}})
        );
        // No ttl: the mount default (768h in the test mount).
        assert_eq!(r.lease_duration, Some(Duration::from_secs(768 * 3600)));

        // Update replaces the whole object.
        call(&c, Operation::Update, "foo", json!({"c": 1}))
            .await
            .unwrap();
        let r = call(&c, Operation::Read, "foo", json!({})).await.unwrap();
        assert_eq!(Value::Object(r.data.unwrap()), json!({"c": 1}));

        call(&c, Operation::Delete, "foo", json!({})).await.unwrap();
        assert!(matches!(
            call(&c, Operation::Read, "foo", json!({})).await,
            Err(Error::NotFound)
        ));
        // Deleting again (absent) is fine.
        assert!(call(&c, Operation::Delete, "foo", json!({}))
            .await
            .unwrap()
            .data
            .is_none());
    }

    #[tokio::test]
    async fn v1_ttl_is_lease_duration() {
        let c = v1().await;
        call(&c, Operation::Update, "a", json!({"ttl": "1h", "v": 1}))
            .await
            .unwrap();
        call(&c, Operation::Update, "b", json!({"ttl": 90}))
            .await
            .unwrap();
        call(&c, Operation::Update, "c", json!({"lease": "30m"}))
            .await
            .unwrap();
        call(&c, Operation::Update, "d", json!({"ttl": "garbage"}))
            .await
            .unwrap();
        let lease = |p: &'static str| {
            let c = c.clone();
            async move {
                call(&c, Operation::Read, p, json!({}))
                    .await
                    .unwrap()
                    .lease_duration
            }
        };
        assert_eq!(lease("a").await, Some(Duration::from_secs(3600)));
        assert_eq!(lease("b").await, Some(Duration::from_secs(90)));
        assert_eq!(lease("c").await, Some(Duration::from_secs(1800)));
        assert_eq!(lease("d").await, Some(Duration::from_secs(768 * 3600)));
        // The ttl stays in the data.
        let r = call(&c, Operation::Read, "a", json!({})).await.unwrap();
        assert_eq!(r.data.unwrap()["ttl"], json!("1h"));
    }

    #[tokio::test]
    async fn v1_cubbyhole_reports_no_lease() {
        let c = ctx("cubbyhole", Map::new()).await;
        call(&c, Operation::Update, "x", json!({"ttl": "1h"}))
            .await
            .unwrap();
        let r = call(&c, Operation::Read, "x", json!({})).await.unwrap();
        assert_eq!(r.lease_duration, None);
    }

    #[tokio::test]
    async fn v1_list_nested() {
        let c = v1().await;
        assert!(matches!(
            call(&c, Operation::List, "", json!({})).await,
            Err(Error::NotFound)
        ));
        for p in ["a", "b/c", "b/d/e", "b/f"] {
            call(&c, Operation::Update, p, json!({"k": "v"}))
                .await
                .unwrap();
        }
        let keys = |r: Response| r.data.unwrap()["keys"].clone();
        let r = call(&c, Operation::List, "", json!({})).await.unwrap();
        assert_eq!(keys(r), json!(["a", "b/"]));
        let r = call(&c, Operation::List, "b/", json!({})).await.unwrap();
        assert_eq!(keys(r), json!(["c", "d/", "f"]));
        // Without the trailing slash too.
        let r = call(&c, Operation::List, "b", json!({})).await.unwrap();
        assert_eq!(keys(r), json!(["c", "d/", "f"]));
        let r = call(&c, Operation::List, "b/d/", json!({})).await.unwrap();
        assert_eq!(keys(r), json!(["e"]));
        assert!(matches!(
            call(&c, Operation::List, "nope/", json!({})).await,
            Err(Error::NotFound)
        ));
        assert!(matches!(
            call(&c, Operation::List, "a//", json!({})).await,
            Err(Error::NotFound)
        ));
        // Deleting the only child empties the folder.
        call(&c, Operation::Delete, "b/d/e", json!({}))
            .await
            .unwrap();
        assert!(matches!(
            call(&c, Operation::List, "b/d/", json!({})).await,
            Err(Error::NotFound)
        ));
    }

    #[tokio::test]
    async fn v1_bad_input() {
        let c = v1().await;
        let err = call(&c, Operation::Update, "foo", json!({}))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidRequest(m) if m == "missing data fields"),
            "{err:?}"
        );
        for bad in ["", "a//b", "../x", "a/", "/a"] {
            let err = call(&c, Operation::Update, bad, json!({"a": 1}))
                .await
                .unwrap_err();
            assert!(matches!(err, Error::InvalidRequest(_)), "{bad}: {err:?}");
            assert!(matches!(
                call(&c, Operation::Read, bad, json!({})).await,
                Err(Error::NotFound)
            ));
        }
        assert!(matches!(
            call(&c, Operation::Patch, "foo", json!({"a": 1})).await,
            Err(Error::UnsupportedOperation(_))
        ));
        // Nothing was written.
        assert!(matches!(
            call(&c, Operation::List, "", json!({})).await,
            Err(Error::NotFound)
        ));
    }
}
