//! The storage layout's version, and the migration of a data directory written by an
//! earlier layout, in one atomic batch on the first unseal that finds it.
//!
//! Layout 0 (vaultrs 0.1.0) kept local keys in several places (`core/local-*`,
//! `sys/token/`, `sys/expire/id/`), a local mount's data beside the replicated ones under
//! `logical/<uuid>/`, engines' cluster-local data under `local/<logical|auth>/<uuid>/`, and
//! KV v2 paths readable in its keys. Layout 1 is [`crate::locality`]'s: every local key
//! under `local/`, KV v2 paths hashed. A migration reads every key it moves (the barrier
//! decrypts it under its old path), and commits, in one batch, the deletion of every old
//! key and the writing of every new one (sealed under its new path), with the layout
//! version. So a crash leaves layout 0 or layout 1, never a mix, and the next unseal
//! finishes the job.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vaultrs_storage::{Barrier, Batch};

use super::mounts::{MountEntry, StoredTable, Table};
use crate::error::{Error, Result};
use crate::locality::{
    CLUSTER_KEY, ENGINE_LOCAL_PREFIX, LAYOUT_KEY, LAYOUT_VERSION, LEASES_PREFIX, TOKENS_PREFIX,
};
use crate::logical::StorageView;

#[derive(Serialize, Deserialize)]
struct Layout {
    version: u32,
}

/// Makes sure the data is in [`LAYOUT_VERSION`]: records it on a fresh store, migrates an
/// older one, refuses a newer one. `follower`: replicated keys are not this node's to
/// write (a secondary receives its primary's, already current), so only the layout
/// version is recorded.
pub(super) async fn ensure_current(
    barrier: &std::sync::Arc<Barrier>,
    follower: bool,
) -> Result<()> {
    if let Some(bytes) = barrier.get(LAYOUT_KEY).await? {
        let layout: Layout = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Internal(format!("decoding the storage layout: {e}")))?;
        return match layout.version {
            LAYOUT_VERSION => Ok(()),
            v if v > LAYOUT_VERSION => Err(Error::Internal(format!(
                "this data directory has storage layout {v}, written by a newer vaultrs; \
                 this one reads layout {LAYOUT_VERSION}"
            ))),
            v => Err(Error::Internal(format!(
                "storage layout {v} cannot be migrated by this vaultrs"
            ))),
        };
    }
    let mut changes = Changes::default();
    if !follower && is_layout0(barrier).await? {
        migrate_layout0(barrier, &mut changes).await?;
        tracing::info!(
            moved = changes.puts.len(),
            "migrating the data directory to storage layout {LAYOUT_VERSION}"
        );
    }
    changes.put(LAYOUT_KEY.to_owned(), current_record()?);
    barrier.commit(changes.into_batch()).await?;
    Ok(())
}

/// The plaintext of [`LAYOUT_KEY`] for this release's layout (a secondary installs it
/// with its primary's keys).
pub(super) fn current_record() -> Result<Vec<u8>> {
    encode(&Layout {
        version: LAYOUT_VERSION,
    })
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::Internal(e.to_string()))
}

/// Layout 0's own keys.
const OLD_LOCAL_TABLES: [(&str, &str); 4] = [
    ("core/local-mounts", "local/core/mounts"),
    ("core/local-auth", "local/core/auth"),
    ("core/local-audit", "local/core/audit"),
    ("core/local-cluster", CLUSTER_KEY),
];
const OLD_TOKENS: &str = "sys/token/";
const OLD_LEASES: &str = "sys/expire/id/";

/// Whether the store holds data of layout 0 (no layout key, but tables or tokens).
async fn is_layout0(barrier: &Barrier) -> Result<bool> {
    for key in [
        "core/mounts",
        "core/local-mounts",
        "core/auth",
        "sys/token/salt",
    ] {
        if barrier.get(key).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One migration's changes: every old key goes, every new key is written.
#[derive(Default)]
struct Changes {
    deletes: Vec<String>,
    puts: BTreeMap<String, Vec<u8>>,
}

impl Changes {
    fn put(&mut self, key: String, value: Vec<u8>) {
        self.puts.insert(key, value);
    }

    /// The batch: deletions first, then writes, so a new key that an old one shares (a
    /// local mount's data moving where its engine's old local view was) ends up written.
    fn into_batch(self) -> Batch {
        let mut batch = Batch::new();
        for key in self.deletes {
            if !self.puts.contains_key(&key) {
                batch = batch.delete(key);
            }
        }
        for (key, value) in self.puts {
            batch = batch.put(key, value);
        }
        batch
    }
}

/// Every (key, plaintext) under `prefix`, keys relative to it.
async fn read_all(
    barrier: &std::sync::Arc<Barrier>,
    prefix: &str,
) -> Result<Vec<(String, Vec<u8>)>> {
    let view = StorageView::new(barrier.clone(), prefix);
    let mut out = Vec::new();
    for key in view.keys().await? {
        if let Some(value) = view.get(&key).await? {
            out.push((key, value));
        }
    }
    Ok(out)
}

/// Moves every key under `from` to the same relative key under `to`.
async fn move_prefix(
    barrier: &std::sync::Arc<Barrier>,
    changes: &mut Changes,
    from: &str,
    to: &str,
) -> Result<()> {
    for (key, value) in read_all(barrier, from).await? {
        changes.deletes.push(format!("{from}{key}"));
        changes.put(format!("{to}{key}"), value);
    }
    Ok(())
}

async fn migrate_layout0(barrier: &std::sync::Arc<Barrier>, changes: &mut Changes) -> Result<()> {
    for (old, new) in OLD_LOCAL_TABLES {
        if let Some(value) = barrier.get(old).await? {
            changes.deletes.push(old.to_owned());
            changes.put(new.to_owned(), value);
        }
    }
    move_prefix(barrier, changes, OLD_TOKENS, TOKENS_PREFIX).await?;
    move_prefix(barrier, changes, OLD_LEASES, LEASES_PREFIX).await?;

    let mut entries = Vec::new();
    for table in [Table::Mounts, Table::Auth, Table::Audit] {
        let (shared, local) = (table.keys().0, old_local_key(table));
        for key in [shared, local] {
            if let Some(bytes) = barrier.get(key).await? {
                entries.extend(StoredTable::decode(&bytes)?.entries);
            }
        }
    }
    for entry in &entries {
        if entry.table != Table::Audit {
            // Engines' cluster-local data: `local/<logical|auth>/<uuid>/` in layout 0.
            let old_view = format!("local/{}{}/", entry.table.storage_prefix(), entry.uuid);
            move_prefix(
                barrier,
                changes,
                &old_view,
                &format!("{ENGINE_LOCAL_PREFIX}{}/", entry.uuid),
            )
            .await?;
        }
        // A mount's data: where layout 0 had it, to where layout 1 has it (under
        // `local/` for a local mount; a local audit device's salt was there already).
        let old_prefix = if entry.table == Table::Audit && entry.local {
            format!("local/audit/{}/", entry.uuid)
        } else {
            format!("{}{}/", entry.table.storage_prefix(), entry.uuid)
        };
        let new_prefix = entry.storage_prefix();
        if is_kv_v2(entry) {
            let data = read_all(barrier, &old_prefix).await?;
            for (key, _) in &data {
                changes.deletes.push(format!("{old_prefix}{key}"));
            }
            for (key, value) in crate::engines::kv::migrate_v2_layout0(data)? {
                changes.put(format!("{new_prefix}{key}"), value);
            }
        } else if old_prefix != new_prefix {
            move_prefix(barrier, changes, &old_prefix, &new_prefix).await?;
        }
    }
    Ok(())
}

fn old_local_key(table: Table) -> &'static str {
    match table {
        Table::Mounts => "core/local-mounts",
        Table::Auth => "core/local-auth",
        Table::Audit => "core/local-audit",
    }
}

fn is_kv_v2(entry: &MountEntry) -> bool {
    entry.table == Table::Mounts
        && entry.kind == "kv"
        && crate::engines::kv::kv_version(&entry.options_json()).is_ok_and(|v| v == 2)
}
