//! A small Vault client over reqwest (`V`), bound to one server and optionally one token,
//! and the unauthenticated `sys/init` and `sys/unseal` helpers.

use serde_json::{json, Value};

use super::response::{keys, Resp};
use crate::harness::{self, TestServer};

/// A client bound to one server and (optionally) one token.
#[derive(Clone)]
pub struct V {
    pub addr: String,
    pub token: Option<String>,
    client: reqwest::Client,
}

impl V {
    /// The server's root token.
    pub fn root(srv: &TestServer) -> Self {
        Self::at(&srv.addr, Some(&srv.token))
    }

    pub fn at(addr: &str, token: Option<&str>) -> Self {
        Self {
            addr: addr.to_owned(),
            token: token.filter(|t| !t.is_empty()).map(str::to_owned),
            client: harness::http(),
        }
    }

    pub fn with_token(&self, token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    pub fn anon(&self) -> Self {
        Self {
            token: None,
            ..self.clone()
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/v1/{}", self.addr, path)
    }

    /// A request builder with the token header.
    pub fn req(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.client.request(m, self.url(path));
        if let Some(t) = &self.token {
            rb = rb.header("X-Vault-Token", t);
        }
        rb
    }

    pub async fn send(&self, what: String, rb: reqwest::RequestBuilder) -> Resp {
        let resp = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or("<non-ascii>").to_owned(),
                )
            })
            .collect();
        let body = resp
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{what}: reading the body failed: {e}"))
            .to_vec();
        Resp {
            what,
            status,
            headers,
            body,
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let mut rb = self.req(method, path);
        if let Some(b) = &body {
            rb = rb
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(b).unwrap());
        }
        self.send(format!("{method} /v1/{path}"), rb).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None).await
    }

    pub async fn list(&self, path: &str) -> Resp {
        self.call("LIST", path, None).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call("DELETE", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call("POST", path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call("PUT", path, Some(body)).await
    }

    /// POST with raw bytes and a content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Resp {
        let rb = self
            .req("POST", path)
            .header("Content-Type", content_type)
            .body(body);
        self.send(format!("POST /v1/{path} (raw body)"), rb).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        let rb = self
            .req("PATCH", path)
            .header("Content-Type", "application/merge-patch+json")
            .body(serde_json::to_vec(&body).unwrap());
        self.send(format!("PATCH /v1/{path}"), rb).await
    }

    /// A request with `X-Vault-Wrap-TTL`.
    pub async fn wrapped(&self, method: &str, path: &str, ttl: &str, body: Option<Value>) -> Resp {
        let mut rb = self.req(method, path).header("X-Vault-Wrap-TTL", ttl);
        if let Some(b) = &body {
            rb = rb
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(b).unwrap());
        }
        self.send(format!("{method} /v1/{path} (wrap {ttl})"), rb)
            .await
    }

    // ---- common operations ----

    pub async fn put_policy(&self, name: &str, hcl: &str) {
        self.put(
            &format!("sys/policies/acl/{name}"),
            json!({ "policy": hcl }),
        )
        .await
        .no_content();
    }

    pub async fn enable(&self, path: &str, body: Value) {
        self.post(&format!("sys/mounts/{path}"), body)
            .await
            .no_content();
    }

    /// Creates a token; returns (token, accessor, auth block).
    pub async fn create_token(&self, body: Value) -> (String, String, Value) {
        let resp = self.post("auth/token/create", body).await;
        let auth = resp.ok()["auth"].clone();
        (
            auth["client_token"].as_str().unwrap().to_owned(),
            auth["accessor"].as_str().unwrap().to_owned(),
            auth,
        )
    }

    /// A token with these policies (created by this client's token).
    pub async fn token_with(&self, policies: &[&str]) -> String {
        self.create_token(json!({ "policies": policies })).await.0
    }

    /// Writes a KV v2 secret; returns the version.
    pub async fn kv2_put(&self, path: &str, data: Value) -> u64 {
        self.post(path, json!({ "data": data })).await.data()["version"]
            .as_u64()
            .unwrap()
    }

    /// Every mount uuid (secrets and auth).
    pub async fn mount_uuids(&self) -> Vec<String> {
        let mut out = Vec::new();
        for table in ["sys/mounts", "sys/auth"] {
            let data = self.get(table).await.data();
            for (_, m) in data.as_object().unwrap() {
                out.push(m["uuid"].as_str().unwrap().to_owned());
            }
        }
        out
    }
}

/// The lease ids under `prefix` (a LIST of `sys/leases/lookup/<prefix>`), empty on 404.
pub async fn lease_ids(v: &V, prefix: &str) -> Vec<String> {
    let r = v.list(&format!("sys/leases/lookup/{prefix}")).await;
    if r.status == 404 {
        return Vec::new();
    }
    r.data()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| format!("{prefix}{}", k.as_str().unwrap()))
        .collect()
}

/// `PUT sys/init`; returns (hex keys, base64 keys, root token).
pub async fn init(v: &V, shares: u64, threshold: u64) -> (Vec<String>, Vec<String>, String) {
    let body = v
        .anon()
        .put(
            "sys/init",
            json!({ "secret_shares": shares, "secret_threshold": threshold }),
        )
        .await
        .json_at(200);
    assert_eq!(
        keys(&body),
        ["keys", "keys_base64", "root_token"],
        "init body {body}"
    );
    let strings = |k: &str| -> Vec<String> {
        body[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    (
        strings("keys"),
        strings("keys_base64"),
        body["root_token"].as_str().unwrap().to_owned(),
    )
}

/// Submits one unseal key; returns the seal status body (asserts 200).
pub async fn unseal(v: &V, key: &str) -> Value {
    v.anon()
        .put("sys/unseal", json!({ "key": key }))
        .await
        .json_at(200)
}
