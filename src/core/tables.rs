//! The core's mount tables in storage: both halves of a table, the built-in mounts, the
//! engine that serves an entry, and the cluster's identity.

use std::sync::Arc;

use super::mounts::{Handler, MountEntry, StoredTable, Table};
use super::Core;
use crate::error::{Error, Result};

/// A table's stored halves (replicated, local) and their entries.
type Halves = (Option<Vec<u8>>, Option<Vec<u8>>, Vec<MountEntry>);

impl Core {
    /// This cluster's name and id, created on first unseal (`local/core/cluster`).
    pub(super) async fn cluster_info(&self) -> Result<(String, String)> {
        if let Some(bytes) = self.barrier.get(crate::locality::CLUSTER_KEY).await? {
            let info: ClusterInfo = serde_json::from_slice(&bytes)
                .map_err(|e| Error::Internal(format!("decoding cluster info: {e}")))?;
            return Ok((info.name, info.id));
        }
        let name = format!("vault-cluster-{}", crate::util::random_hex(4));
        let id = crate::util::uuid();
        self.barrier
            .put(
                crate::locality::CLUSTER_KEY,
                &cluster_info_record(&name, &id),
            )
            .await?;
        Ok((name, id))
    }

    /// The cluster's name and id while unsealed.
    pub fn cluster_identity(&self) -> Option<(String, String)> {
        self.active
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|a| a.cluster.clone())
    }

    /// Both halves of a mount table; the built-in mounts on first use.
    pub(super) async fn load_table(&self, table: Table) -> Result<Vec<MountEntry>> {
        let (shared, local, mut entries) = self.read_halves(table).await?;
        // The built-in mounts, on first use, each in its own half: the replicated ones
        // only where this node writes replicated keys (a follower receives its primary's),
        // the local ones (cubbyhole) on every cluster.
        let missing: Vec<MountEntry> = default_mounts(table)
            .into_iter()
            .filter(|d| {
                let half_missing = if d.local {
                    local.is_none()
                } else {
                    shared.is_none() && !self.barrier.is_follower()
                };
                half_missing && !entries.iter().any(|e| e.path == d.path)
            })
            .collect();
        if !missing.is_empty() {
            entries.extend(missing);
            self.store_table(table, &entries).await?;
        }
        Ok(entries)
    }

    /// Both halves of a table as stored (nothing written).
    pub(super) async fn read_table(&self, table: Table) -> Result<Vec<MountEntry>> {
        Ok(self.read_halves(table).await?.2)
    }

    /// The stored halves (replicated, local) of a table and their entries.
    async fn read_halves(&self, table: Table) -> Result<Halves> {
        let (shared_key, local_key) = table.keys();
        let shared = self.barrier.get(shared_key).await?;
        let local = self.barrier.get(local_key).await?;
        let mut entries = Vec::new();
        for bytes in [&shared, &local].into_iter().flatten() {
            entries.extend(StoredTable::decode(bytes)?.entries);
        }
        Ok((shared, local, entries))
    }

    /// Writes a table: each half (replicated, local) only if it changed, in one commit.
    pub(super) async fn store_table(&self, table: Table, entries: &[MountEntry]) -> Result<()> {
        self.store_table_with(table, entries, None).await
    }

    /// [`Core::store_table`], with one more key written (`Some`) or deleted (`None`) in
    /// the same commit.
    pub(super) async fn store_table_with(
        &self,
        table: Table,
        entries: &[MountEntry],
        extra: Option<(String, Option<Vec<u8>>)>,
    ) -> Result<()> {
        let (shared_key, local_key) = table.keys();
        let (local, shared): (Vec<_>, Vec<_>) = entries.iter().cloned().partition(|e| e.local);
        let mut batch = vaultrs_storage::Batch::new();
        // A follower writes the local half only: the replicated half is its primary's,
        // and may be newer in storage than in this node's router.
        let follower = self.barrier.is_follower();
        for (key, half) in [(shared_key, shared), (local_key, local)] {
            if follower && key == shared_key {
                continue;
            }
            let bytes = serde_json::to_vec(&StoredTable::new(half))
                .map_err(|e| Error::Internal(e.to_string()))?;
            if self.barrier.get(key).await?.as_deref() != Some(bytes.as_slice()) {
                batch = batch.put(key, bytes);
            }
        }
        batch = match extra {
            Some((key, Some(value))) => batch.put(key, value),
            Some((key, None)) => batch.delete(key),
            None => batch,
        };
        if !batch.is_empty() {
            self.barrier.commit(batch).await?;
        }
        Ok(())
    }

    /// How a mount entry is served.
    pub(super) fn handler_for(&self, entry: &MountEntry) -> Result<Handler> {
        let options = entry.options_json();
        Ok(match (entry.table, entry.kind.as_str()) {
            (Table::Mounts, "system") => Handler::System,
            (Table::Auth, "token") => Handler::Token,
            (Table::Mounts, "cubbyhole") => Handler::PerToken(Arc::new(crate::engines::kv::KvV1)),
            (Table::Mounts, "kv") => Handler::Engine(crate::engines::kv::kv_backend(&options)?),
            (Table::Auth, "userpass") => {
                Handler::Engine(Arc::new(crate::engines::userpass::Userpass::new()))
            }
            (Table::Auth, "approle") => {
                Handler::Engine(Arc::new(crate::engines::approle::AppRole::new()))
            }
            (_, other) => {
                return Err(Error::invalid(format!(
                    "plugin not found in the catalog: {other}"
                )))
            }
        })
    }
}

/// The mounts every table starts with.
pub(super) fn default_mounts(table: Table) -> Vec<MountEntry> {
    match table {
        Table::Mounts => vec![
            MountEntry::new(
                table,
                "sys/",
                "system",
                "system endpoints used for control, policy and debugging",
                false,
            ),
            MountEntry::new(
                table,
                "cubbyhole/",
                "cubbyhole",
                "per-token private secret storage",
                true,
            ),
        ],
        Table::Auth => vec![MountEntry::new(
            table,
            "token/",
            "token",
            "token based credentials",
            false,
        )],
        // Nothing until a device is enabled.
        Table::Audit => Vec::new(),
    }
}

/// The stored form of a cluster's name and id.
#[derive(serde::Serialize, serde::Deserialize)]
struct ClusterInfo {
    version: u32,
    name: String,
    id: String,
}

/// The plaintext record of `local/core/cluster` (a secondary takes its primary's id).
pub(super) fn cluster_info_record(name: &str, id: &str) -> Vec<u8> {
    let info = ClusterInfo {
        version: 1,
        name: name.to_owned(),
        id: id.to_owned(),
    };
    // Plain strings: serializing cannot fail.
    serde_json::to_vec(&info).unwrap_or_default()
}
