//! Invalidation: replicated keys changed underneath the core (a batch written below the
//! barrier by a replication applier, a restore), and what the core holds in memory
//! follows without a restart.
//!
//! Each key is mapped to what caches it:
//!
//! | key                              | follows                                      |
//! |----------------------------------|----------------------------------------------|
//! | `core/keyring`                   | the barrier reloads its keyring (new terms)  |
//! | `core/mounts`, `core/auth`       | the table is re-read, the router follows     |
//! | `core/audit`, `audit/<uuid>/…`   | the audit devices are re-read                |
//! | `sys/policy/<name>`              | the cached policy and every ACL are dropped  |
//! | `logical/<uuid>/…`, `auth/<uuid>/…` | the owning engine's `Backend::invalidate` |
//!
//! The core's own writes come through here too (the storage follower sees every batch):
//! re-reading what the core just wrote finds nothing to change.

use std::sync::Arc;

use vaultrs_storage::barrier::KEYRING_PATH;

use super::mounts::{Handler, Route, Table};
use super::{Active, Core};
use crate::error::Result;

/// What a changed key affects.
#[derive(Default)]
struct Plan<'k> {
    keyring: bool,
    tables: [bool; 2],
    audit: bool,
    policies: Vec<&'k str>,
    engine_keys: Vec<&'k str>,
}

impl<'k> Plan<'k> {
    fn of(keys: &[&'k str]) -> Self {
        let mut plan = Plan::default();
        let (mounts, _) = Table::Mounts.keys();
        let (auth, _) = Table::Auth.keys();
        let (audit, _) = Table::Audit.keys();
        for &key in keys {
            if key == KEYRING_PATH {
                plan.keyring = true;
            } else if key == mounts {
                plan.tables[0] = true;
            } else if key == auth {
                plan.tables[1] = true;
            } else if key == audit || key.starts_with(Table::Audit.storage_prefix()) {
                plan.audit = true;
            } else if let Some(name) = key.strip_prefix(super::POLICY_PREFIX) {
                plan.policies.push(name);
            } else if key.starts_with(Table::Mounts.storage_prefix())
                || key.starts_with(Table::Auth.storage_prefix())
            {
                plan.engine_keys.push(key);
            }
        }
        plan
    }
}

impl Core {
    /// Replicated `keys` changed underneath the core: everything cached of them is
    /// dropped or re-read (see the module docs). Errors are logged: what could not be
    /// re-read now is re-read when the key changes again, or on the next unseal.
    pub async fn invalidate(&self, keys: &[&str]) -> Result<()> {
        let active = self.active()?;
        self.invalidate_in(&active, keys).await;
        Ok(())
    }

    pub(super) async fn invalidate_in(&self, active: &Active, keys: &[&str]) {
        let plan = Plan::of(keys);
        // The keyring first: what follows may be sealed with a term it brings.
        if plan.keyring {
            if let Err(e) = self.barrier.reload_keyring().await {
                tracing::error!(error = %e, "could not reload the keyring");
            }
        }
        for name in &plan.policies {
            active.policies.invalidate(name);
        }
        if plan.tables.iter().any(|t| *t) || plan.audit {
            let _guard = active.table_lock.lock().await;
            for (changed, table) in plan.tables.iter().zip([Table::Mounts, Table::Auth]) {
                if *changed {
                    if let Err(e) = self.reload_routes(active, table).await {
                        tracing::error!(error = %e, ?table, "could not reload a mount table");
                    }
                }
            }
            if plan.audit {
                if let Err(e) = self.reload_audit(active).await {
                    tracing::error!(error = %e, "could not reload the audit devices");
                }
            }
        }
        if !plan.engine_keys.is_empty() {
            let router = active.router();
            for key in &plan.engine_keys {
                if let Some((route, rest)) = router.owner_of_key(key) {
                    if let Handler::Engine(backend) = &route.handler {
                        backend.invalidate(rest);
                    }
                }
            }
        }
    }

    /// Everything is re-read: after the feed could not be followed (a restore, a wipe, a
    /// follower that fell behind).
    pub(super) async fn invalidate_all(&self, active: &Active) {
        if let Err(e) = self.barrier.reload_keyring().await {
            tracing::error!(error = %e, "could not reload the keyring");
        }
        active.policies.invalidate_all();
        {
            let _guard = active.table_lock.lock().await;
            for table in [Table::Mounts, Table::Auth] {
                if let Err(e) = self.reload_routes(active, table).await {
                    tracing::error!(error = %e, ?table, "could not reload a mount table");
                }
            }
            if let Err(e) = self.reload_audit(active).await {
                tracing::error!(error = %e, "could not reload the audit devices");
            }
        }
        for route in active.router().routes() {
            if let Handler::Engine(backend) = &route.handler {
                backend.invalidate("");
            }
        }
    }

    /// Makes the router serve exactly the stored `table`: new mounts are mounted, removed
    /// ones unmounted, changed ones (tuned, moved) updated in place; an unchanged mount
    /// keeps its engine (and what the engine caches). Hold `table_lock`.
    async fn reload_routes(&self, active: &Active, table: Table) -> Result<()> {
        let stored = self.read_table(table).await?;
        let stored_uuids: Vec<String> = stored.iter().map(|e| e.uuid.clone()).collect();
        let current: Vec<Route> = active
            .router()
            .routes()
            .into_iter()
            .filter(|r| r.entry.table == table)
            .cloned()
            .collect();
        // Engines for new mounts are built before the router is locked.
        let mut updates: Vec<Route> = Vec::new();
        for entry in stored {
            let handler = match current.iter().find(|r| r.entry.uuid == entry.uuid) {
                Some(r) if *r.entry == entry => continue,
                Some(r) if r.entry.kind == entry.kind => r.handler.clone(),
                _ => match self.handler_for(&entry) {
                    Ok(handler) => handler,
                    Err(e) => {
                        tracing::error!(path = %entry.route(), error = %e, "cannot mount");
                        continue;
                    }
                },
            };
            updates.push(Route {
                entry: Arc::new(entry),
                handler,
            });
        }
        let mut router = active.router_mut();
        for route in &current {
            let moved = updates.iter().any(|u| {
                u.entry.uuid == route.entry.uuid && u.entry.route() != route.entry.route()
            });
            if moved || !stored_uuids.contains(&route.entry.uuid) {
                router.remove(&route.entry.route());
            }
        }
        for route in updates {
            router.insert(route);
        }
        Ok(())
    }
}
