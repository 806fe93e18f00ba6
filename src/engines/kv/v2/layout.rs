//! Where KV v2 keeps things under the mount's view (the layout the module doc of
//! [`super`] describes): the storage keys and [`Store`], the engine's handle on them.

use serde_json::{Map, Value};

use super::{Config, KeyMeta};
use crate::engines::kv::support::{lock_key, valid_key};
use crate::error::{Error, Result};
use crate::logical::{Ctx, StorageView};

pub(super) const PREFIX: &str = "kv2/";
pub(super) const CONFIG_KEY: &str = "config";

pub(super) fn meta_key(path: &str) -> String {
    let mut key = String::with_capacity(5 + path.len());
    key.push_str("meta/");
    key.push_str(path);
    key
}

pub(super) fn version_key(path: &str, version: u64) -> String {
    use std::fmt::Write;
    let mut key = String::with_capacity(4 + path.len() + 1 + 20);
    key.push_str("ver/");
    key.push_str(path);
    key.push('/');
    let _ = write!(key, "{version}");
    key
}

/// The engine's storage (everything under `kv2/`) and the lock namespace.
pub(super) struct Store {
    pub(super) view: StorageView,
}

impl Store {
    pub(super) fn new(ctx: &Ctx) -> Self {
        Self {
            view: ctx.storage.sub(PREFIX),
        }
    }

    pub(super) async fn lock(&self, key: &str) -> tokio::sync::MutexGuard<'static, ()> {
        lock_key(self.view.prefix(), key).await
    }

    pub(super) async fn config(&self) -> Result<Config> {
        Ok(self.view.get_json(CONFIG_KEY).await?.unwrap_or_default())
    }

    /// The metadata of `path`; `None` also for paths that cannot exist.
    pub(super) async fn meta(&self, path: &str) -> Result<Option<KeyMeta>> {
        if !valid_key(path) {
            return Ok(None);
        }
        self.view.get_json(&meta_key(path)).await
    }

    pub(super) async fn version_data(
        &self,
        path: &str,
        version: u64,
    ) -> Result<Map<String, Value>> {
        self.view
            .get_json(&version_key(path, version))
            .await?
            .ok_or_else(|| Error::Internal("could not find version data".into()))
    }
}
