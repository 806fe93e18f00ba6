//! Response wrapping: a response is stored in the cubbyhole of a fresh single-use token,
//! and the client gets that token instead (`X-Vault-Wrap-TTL`, `sys/wrapping/*`).

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::tokens::{NewToken, TokenEntry, WrapInfo};
use super::{Active, Core, Request, Response};
use crate::error::{Error, Result};
use crate::logical::StorageView;
use crate::util::rfc3339;

const INVALID: &str = "wrapping token is not valid or does not exist";
/// Longest wrap TTL accepted (Vault caps it at the system max TTL).
const MAX_WRAP_TTL: Duration = Duration::from_secs(768 * 3600);

impl Core {
    fn cubbyhole_view(&self, active: &Active, token_hash: &str) -> Result<StorageView> {
        let route = active
            .router()
            .get("cubbyhole/")
            .cloned()
            .ok_or_else(|| Error::Internal("the cubbyhole mount is missing".into()))?;
        Ok(StorageView::new(
            self.barrier.clone(),
            format!("{}{token_hash}/", route.entry.storage_prefix()),
        ))
    }

    /// Wraps `response` when the request asked for it and there is something to wrap.
    pub(super) async fn maybe_wrap(
        &self,
        active: &Active,
        response: Response,
        req: &Request,
    ) -> Result<Response> {
        let Some(ttl) = req.wrap_ttl else {
            return Ok(response);
        };
        if response.is_empty() || response.not_found_with_data {
            return Ok(response);
        }
        self.wrap(active, response, ttl, &req.path).await
    }

    pub(super) async fn wrap(
        &self,
        active: &Active,
        response: Response,
        ttl: Duration,
        path: &str,
    ) -> Result<Response> {
        let wrapped_accessor = response
            .auth
            .as_ref()
            .map(|a| a.accessor.clone())
            .unwrap_or_default();
        self.store_wrapped(active, &response.envelope(""), ttl, path, wrapped_accessor)
            .await
    }

    /// Stores `body` under a new single-use wrapping token and answers its `wrap_info`.
    async fn store_wrapped(
        &self,
        active: &Active,
        body: &Value,
        ttl: Duration,
        path: &str,
        wrapped_accessor: String,
    ) -> Result<Response> {
        if ttl.is_zero() || ttl > MAX_WRAP_TTL {
            return Err(Error::invalid("wrapping TTL is out of range"));
        }
        let creation_time = rfc3339(std::time::SystemTime::now());
        let (token, entry) = active
            .tokens
            .create(NewToken {
                policies: vec!["response-wrapping".into()],
                num_uses: 1,
                ttl,
                path: path.to_owned(),
                renewable: false,
                wrapping: Some(WrapInfo {
                    creation_path: path.to_owned(),
                    creation_time: creation_time.clone(),
                    creation_ttl: ttl.as_secs(),
                    wrapped_accessor: wrapped_accessor.clone(),
                }),
                ..NewToken::default()
            })
            .await?;
        let view = self.cubbyhole_view(active, &active.tokens.hash(&token))?;
        view.put_json("response", body).await?;
        let mut info = json!({
            "token": token,
            "accessor": entry.accessor,
            "ttl": ttl.as_secs(),
            "creation_time": creation_time,
            "creation_path": path,
        });
        if !wrapped_accessor.is_empty() {
            info["wrapped_accessor"] = Value::from(wrapped_accessor);
        }
        Ok(Response {
            wrap_info: Some(info),
            ..Response::default()
        })
    }

    /// The live wrapping token entry for `token`.
    async fn wrapping_entry(&self, active: &Active, token: &str) -> Result<(String, TokenEntry)> {
        match active.tokens.lookup(token).await? {
            Some((hash, entry)) if entry.wrapping.is_some() => Ok((hash, entry)),
            _ => Err(Error::invalid(INVALID)),
        }
    }

    /// `sys/wrapping/unwrap`: returns the wrapped response and burns the token.
    pub(super) async fn unwrap(&self, active: &Active, token: &str) -> Result<Response> {
        let (hash, entry) = self.wrapping_entry(active, token).await?;
        // Read before the use is spent: a read that fails leaves the token to try again.
        let view = self.cubbyhole_view(active, &hash)?;
        let body: Option<Value> = view.get_json("response").await?;
        // Spend the single use under the token's lock: a concurrent unwrap loses.
        active
            .tokens
            .use_token(&hash, &entry)
            .await
            .map_err(|_| Error::invalid(INVALID))?;
        self.revoke_tree(active, &hash).await?;
        let Some(mut body) = body else {
            return Err(Error::invalid(INVALID));
        };
        if body.get("data").is_some_and(Value::is_null)
            && body.get("auth").is_some_and(Value::is_null)
            && body.get("warnings").is_some_and(Value::is_null)
        {
            return Ok(Response::empty());
        }
        if let Some(obj) = body.as_object_mut() {
            obj.insert("request_id".into(), Value::from(crate::util::uuid()));
        }
        Ok(Response {
            raw_body: Some(body),
            ..Response::default()
        })
    }

    /// `sys/wrapping/lookup`: what a wrapping token wraps, without using it.
    pub(super) async fn wrap_lookup(&self, active: &Active, token: &str) -> Result<Response> {
        let (_, entry) = self.wrapping_entry(active, token).await?;
        let Some(info) = entry.wrapping else {
            return Err(Error::invalid(INVALID));
        };
        let mut data = Map::new();
        data.insert("creation_path".into(), info.creation_path.into());
        data.insert("creation_time".into(), info.creation_time.into());
        data.insert("creation_ttl".into(), info.creation_ttl.into());
        Ok(Response::data(data))
    }

    /// `sys/wrapping/rewrap`: the same response under a new token; the old one is revoked.
    pub(super) async fn rewrap(&self, active: &Active, token: &str) -> Result<Response> {
        let (hash, entry) = self.wrapping_entry(active, token).await?;
        let Some(info) = entry.wrapping.clone() else {
            return Err(Error::invalid(INVALID));
        };
        // Read first, as unwrap does, then spend the single use under the token's lock:
        // of a concurrent rewrap and unwrap, one loses.
        let view = self.cubbyhole_view(active, &hash)?;
        let body: Value = view
            .get_json("response")
            .await?
            .ok_or_else(|| Error::invalid(INVALID))?;
        active
            .tokens
            .use_token(&hash, &entry)
            .await
            .map_err(|_| Error::invalid(INVALID))?;
        self.revoke_tree(active, &hash).await?;
        let ttl = Duration::from_secs(info.creation_ttl.max(1));
        self.store_wrapped(
            active,
            &body,
            ttl,
            &info.creation_path,
            info.wrapped_accessor,
        )
        .await
    }
}
