//! Stored ACL policies (replicated, under `sys/policy/`) with a parsed cache.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::error::{Error, Result};
use crate::logical::StorageView;
use crate::policy::{Acl, Policy, DEFAULT_POLICY, RESPONSE_WRAPPING_POLICY};

pub struct PolicyStore {
    view: StorageView,
    cache: RwLock<HashMap<String, Arc<Policy>>>,
    /// Compiled ACLs by policy set; cleared whenever any policy changes.
    acls: RwLock<HashMap<Vec<String>, Arc<Acl>>>,
    /// Counts invalidations. What was read from storage is cached only if no
    /// invalidation happened since the read began: a slow reader never puts back a
    /// policy (or an ACL built from one) that changed while it read.
    generation: AtomicU64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    version: u32,
    name: String,
    policy: String,
}

impl PolicyStore {
    /// Loads the store, writing the `default` policy on first use when `write_default`
    /// (a follower receives its primary's).
    pub async fn load(view: StorageView, write_default: bool) -> Result<Self> {
        let store = Self {
            view,
            cache: RwLock::new(HashMap::new()),
            acls: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
        };
        if write_default && store.view.get("default").await?.is_none() {
            store.put("default", DEFAULT_POLICY).await?;
        }
        Ok(store)
    }

    /// The policy named `name` (already normalized), if any.
    pub async fn get(&self, name: &str) -> Result<Option<Arc<Policy>>> {
        if let Some(p) = self
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return Ok(Some(p.clone()));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let parsed = match name {
            "root" => return Ok(None),
            "response-wrapping" => Policy::parse(name, RESPONSE_WRAPPING_POLICY)?,
            _ => match self.view.get_json::<Stored>(name).await? {
                Some(stored) => Policy::parse(name, &stored.policy)?,
                None => return Ok(None),
            },
        };
        let parsed = Arc::new(parsed);
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            cache.insert(name.to_owned(), parsed.clone());
        }
        Ok(Some(parsed))
    }

    /// Parses and stores a policy. `root` cannot be written.
    pub async fn put(&self, name: &str, text: &str) -> Result<()> {
        let name = Policy::normalize_name(name)?;
        if name == "root" {
            return Err(Error::invalid("cannot update \"root\" policy"));
        }
        if name == "response-wrapping" {
            return Err(Error::invalid("cannot update \"response-wrapping\" policy"));
        }
        // A policy that does not parse is refused before anything is written.
        Policy::parse(&name, text)?;
        self.view
            .put_json(
                &name,
                &Stored {
                    version: 1,
                    name: name.clone(),
                    policy: text.to_owned(),
                },
            )
            .await?;
        // Not cached from here: two writers of one name finish in any order, and storage
        // holds the one that committed last; the next read parses that one.
        self.invalidate(&name);
        Ok(())
    }

    pub async fn delete(&self, name: &str) -> Result<()> {
        let name = Policy::normalize_name(name)?;
        match name.as_str() {
            "root" => return Err(Error::invalid("cannot delete \"root\" policy")),
            "default" => return Err(Error::invalid("cannot delete default policy")),
            _ => {}
        }
        self.view.delete(&name).await?;
        self.invalidate(&name);
        Ok(())
    }

    /// Drops a cached policy (its stored form changed underneath, e.g. by replication).
    pub fn invalidate(&self, name: &str) {
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        cache.remove(name);
        self.acls.write().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Drops every cached policy and ACL.
    pub fn invalidate_all(&self) {
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        cache.clear();
        self.acls.write().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Every policy name, `root` included, sorted.
    pub async fn list(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .view
            .list("")
            .await?
            .into_iter()
            .filter(|n| !n.ends_with('/'))
            .collect();
        names.push("root".into());
        names.sort();
        Ok(names)
    }

    /// The ACL for a token's policies (compiled once per policy set); unknown names grant
    /// nothing.
    pub async fn acl(&self, names: &[String]) -> Result<Arc<Acl>> {
        let generation = self.generation.load(Ordering::Acquire);
        if let Some(acl) = self
            .acls
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(names)
        {
            return Ok(acl.clone());
        }
        let mut policies = Vec::with_capacity(names.len());
        for name in names {
            if let Some(p) = self.get(name).await? {
                policies.push(p);
            }
        }
        let acl = Arc::new(Acl::new(&policies));
        let mut acls = self.acls.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            acls.insert(names.to_vec(), acl.clone());
        }
        Ok(acl)
    }
}
