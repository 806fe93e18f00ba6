//! The core's side of replication: the stored state (mode, cluster id, secondaries), the
//! follower switch it implies, and the status endpoints.

use serde_json::{json, Value};

use super::{Active, Core};
use crate::error::Result;
use crate::replication::state::{Mode, State, STATE_KEY};

impl Core {
    /// Reads the stored replication state (on unseal, before anything else is loaded)
    /// and makes the barrier a follower on a secondary.
    pub(super) async fn load_replication(&self) -> Result<()> {
        let state = match self.barrier.get(STATE_KEY).await? {
            Some(bytes) => State::decode(&bytes)?,
            None => State::default(),
        };
        let follower = state.is_follower() || self.config.follower;
        self.barrier
            .set_follower(follower.then_some(crate::locality::is_local as fn(&str) -> bool));
        *self.replication.write().unwrap_or_else(|p| p.into_inner()) = state;
        Ok(())
    }

    /// The replication state as of the last unseal or change.
    pub fn replication_state(&self) -> State {
        self.replication
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The performance replication mode (`sys/health`, `sys/leader`).
    pub fn replication_mode(&self) -> Mode {
        self.replication
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .mode
    }

    /// Stores `state` and makes it current.
    #[allow(dead_code)] // used by the replication endpoints as they land
    pub(crate) async fn save_replication(&self, state: State) -> Result<()> {
        self.barrier.put(STATE_KEY, &state.encode()).await?;
        *self.replication.write().unwrap_or_else(|p| p.into_inner()) = state;
        Ok(())
    }

    /// `sys/replication/performance/status`: the `data` object, with Vault's fields.
    pub(crate) fn performance_status(&self, active: &Active) -> Value {
        let state = self.replication_state();
        let merkle_root = {
            let mut index = active.merkle.lock().unwrap_or_else(|p| p.into_inner());
            hex::encode(index.root())
        };
        let last_wal = self.storage.feed.published();
        match state.mode {
            Mode::Disabled => json!({ "mode": "disabled" }),
            Mode::Primary => json!({
                "mode": "primary",
                "state": "running",
                "cluster_id": state.cluster_id,
                "primary_cluster_addr": state.primary_cluster_addr,
                "known_secondaries": state
                    .secondaries
                    .iter()
                    .filter(|s| !s.revoked)
                    .map(|s| s.id.clone())
                    .collect::<Vec<_>>(),
                "secondaries": state
                    .secondaries
                    .iter()
                    .filter(|s| !s.revoked)
                    .map(|s| json!({
                        "node_id": s.id,
                        "api_address": s.api_address,
                        "cluster_address": s.cluster_address,
                        "connection_status": "disconnected",
                    }))
                    .collect::<Vec<_>>(),
                "last_wal": last_wal,
                "last_performance_wal": last_wal,
                "merkle_root": merkle_root,
                "corrupted_merkle_tree": false,
                "ssct_generation_counter": 0,
            }),
            Mode::Secondary => json!({
                "mode": "secondary",
                "state": "idle",
                "cluster_id": state.cluster_id,
                "secondary_id": state.secondary_id,
                "primary_cluster_addr": state.primary_cluster_addr,
                "known_primary_cluster_addrs": [state.primary_cluster_addr],
                "primaries": [],
                "connection_state": "idle",
                "last_remote_wal": 0,
                "merkle_root": merkle_root,
                "corrupted_merkle_tree": false,
                "ssct_generation_counter": 0,
            }),
        }
    }
}
