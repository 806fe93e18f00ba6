//! The KV secrets engine: [`KvV1`] (unversioned, also reused by cubbyhole) and [`KvV2`]
//! (versioned), chosen by the mount's `version` option with [`kv_backend`].

pub(crate) mod support;
pub mod v1;
pub mod v2;

use std::sync::Arc;

use serde_json::{Map, Value};

pub use v1::KvV1;
pub use v2::{migrate_v2_layout0, v2_layout_of, KvV2, V2_LAYOUT};

use crate::error::{Error, Result};
use crate::logical::Backend;

/// The KV version a mount's `options` ask for: 1 when `version` is absent, empty, `"1"` or
/// `1`; 2 for `"2"` or `2`; anything else is refused.
pub fn kv_version(options: &Map<String, Value>) -> Result<u8> {
    match options.get("version") {
        None | Some(Value::Null) => Ok(1),
        Some(Value::String(s)) => match s.trim() {
            "" | "1" => Ok(1),
            "2" => Ok(2),
            other => Err(bad_version(other)),
        },
        Some(Value::Number(n)) => match n.as_u64() {
            Some(1) => Ok(1),
            Some(2) => Ok(2),
            _ => Err(bad_version(&n.to_string())),
        },
        Some(other) => Err(bad_version(&other.to_string())),
    }
}

fn bad_version(v: &str) -> Error {
    let shown: String = v.chars().take(32).collect();
    Error::invalid(format!("invalid kv version {shown:?}: must be 1 or 2"))
}

/// The KV engine for a mount with these `options`.
pub fn kv_backend(options: &Map<String, Value>) -> Result<Arc<dyn Backend>> {
    Ok(match kv_version(options)? {
        1 => Arc::new(KvV1),
        _ => Arc::new(KvV2::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts(v: Value) -> Map<String, Value> {
        support::obj(v)
    }

    #[test]
    fn version_choice() {
        assert_eq!(kv_version(&Map::new()).unwrap(), 1);
        assert_eq!(kv_version(&opts(json!({"version": "1"}))).unwrap(), 1);
        assert_eq!(kv_version(&opts(json!({"version": ""}))).unwrap(), 1);
        assert_eq!(kv_version(&opts(json!({"version": 1}))).unwrap(), 1);
        assert_eq!(kv_version(&opts(json!({"version": "2"}))).unwrap(), 2);
        assert_eq!(kv_version(&opts(json!({"version": 2}))).unwrap(), 2);
        for bad in [
            json!("3"),
            json!(0),
            json!("two"),
            json!(true),
            json!([2]),
            json!(-1),
        ] {
            let err = kv_version(&opts(json!({ "version": bad }))).unwrap_err();
            assert!(matches!(err, Error::InvalidRequest(_)), "{bad}");
            assert!(kv_backend(&opts(json!({ "version": bad }))).is_err());
        }
        assert!(kv_backend(&opts(json!({"version": "2"}))).is_ok());
    }

    #[tokio::test]
    async fn backend_choice_serves_the_right_version() {
        use crate::logical::test_support::ctx;
        use crate::logical::{Operation, Request};
        let c = ctx("kv", Map::new()).await;
        let body = opts(json!({"data": {"a": 1}}));
        // v2 takes `data/x` as a versioned write; v1 stores it verbatim under `data/x`.
        let v2 = kv_backend(&opts(json!({"version": "2"}))).unwrap();
        let r = v2
            .handle(
                &c,
                &Request::new(Operation::Update, "data/x").with_data(body.clone()),
            )
            .await
            .unwrap();
        assert_eq!(r.data.unwrap()["version"], json!(1));
        let v1 = kv_backend(&Map::new()).unwrap();
        let r = v1
            .handle(
                &c,
                &Request::new(Operation::Update, "data/x").with_data(body),
            )
            .await
            .unwrap();
        assert!(r.data.is_none());
    }
}
