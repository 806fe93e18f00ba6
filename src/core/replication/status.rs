//! `sys/replication/performance/status` with Vault's fields, from the stored state and
//! the live parts (connections, the replica's sync state).

use serde_json::{json, Value};

use super::{live, Core};
use crate::core::Active;
use crate::replication::control::wal_lag;
use crate::replication::state::Mode;
use crate::util::rfc3339;

impl Core {
    /// `sys/replication/performance/status`: the `data` object.
    pub(crate) fn performance_status(&self, active: &Active) -> Value {
        let state = self.replication_state();
        let merkle_root = {
            let mut index = active.merkle.lock().unwrap_or_else(|p| p.into_inner());
            hex::encode(index.root())
        };
        let last_wal = self.storage.feed.published();
        match state.mode {
            Mode::Disabled => json!({ "mode": "disabled" }),
            Mode::Primary => {
                let primary = live(active).primary.clone();
                let (known, contacts) = match &primary {
                    Some(p) => (
                        p.ledger
                            .try_lock()
                            .map(|l| {
                                l.active_ids()
                                    .into_iter()
                                    .map(|id| id.as_str().to_owned())
                                    .collect::<Vec<_>>()
                            })
                            .unwrap_or_default(),
                        p.contacts(),
                    ),
                    None => (Vec::new(), Default::default()),
                };
                // Heartbeats are the secondaries' acknowledgements: connected while one
                // came within three heartbeats, whatever the TCP stream looks like.
                let position = self.storage.feed.position();
                let secondaries: Vec<Value> = known
                    .iter()
                    .map(|id| {
                        let contact = contacts.get(id).cloned().unwrap_or_default();
                        let connected = contact.connected();
                        json!({
                            "node_id": id,
                            "api_address": contact.api_address,
                            "cluster_address": contact.cluster_address,
                            "connection_status": if connected { "connected" } else { "disconnected" },
                            "last_heartbeat": contact.last_ack.map(rfc3339).unwrap_or_default(),
                            "last_heartbeat_duration_ms": contact
                                .last_ack
                                .map(|_| contact.ack_rtt_ms.to_string())
                                .unwrap_or_default(),
                            "clock_skew_ms": "0",
                            "last_ack_wal": contact.acked.map(|p| p.seq),
                            "wal_lag": contact.acked.map(|a| wal_lag(position, Some(a))),
                        })
                    })
                    .collect();
                json!({
                    "mode": "primary",
                    "state": if primary.is_some() { "running" } else { "idle" },
                    "cluster_id": state.cluster_id,
                    "primary_cluster_addr": state.primary_cluster_addr,
                    "known_secondaries": known,
                    "secondaries": secondaries,
                    "last_wal": last_wal,
                    "last_performance_wal": last_wal,
                    "merkle_root": merkle_root,
                    "corrupted_merkle_tree": false,
                    "ssct_generation_counter": 0,
                    "epoch": state.epoch,
                })
            }
            Mode::Secondary => {
                let secondary = live(active).secondary.clone();
                let sync = secondary.as_ref().map(|s| s.replica.status());
                let sync_state = sync.as_ref().map_or("idle".to_owned(), |s| s.state.clone());
                let streaming = sync_state == "stream-wals";
                let connection_state = match (secondary.is_some(), streaming) {
                    (false, _) => "shutdown",
                    (true, true) => "ready",
                    (true, false) if sync_state == "idle" => "transient_failure",
                    (true, false) => "connecting",
                };
                let mut out = json!({
                    "mode": "secondary",
                    "state": sync_state,
                    "cluster_id": state.cluster_id,
                    "secondary_id": state.secondary_id,
                    "primary_cluster_addr": state.primary_cluster_addr,
                    "known_primary_cluster_addrs": if state.primary_cluster_addr.is_empty() {
                        Vec::new()
                    } else {
                        vec![state.primary_cluster_addr.clone()]
                    },
                    "primaries": if state.primary_cluster_addr.is_empty() {
                        Vec::new()
                    } else {
                        vec![json!({
                            "api_address": state.primary_api_addr,
                            "cluster_address": state.primary_cluster_addr,
                            "connection_status": if streaming && sync.as_ref().is_some_and(|s| s.hearing()) {
                                "connected"
                            } else {
                                "disconnected"
                            },
                        })]
                    },
                    "connection_state": connection_state,
                    "last_remote_wal": sync.as_ref().map_or(0, |s| s.last_remote_wal),
                    "merkle_root": merkle_root,
                    "corrupted_merkle_tree": false,
                    "ssct_generation_counter": 0,
                    "epoch": state.epoch,
                });
                if let (Some(s), Some(map)) = (&sync, out.as_object_mut()) {
                    if matches!(
                        s.state.as_str(),
                        "bootstrapping" | "merkle-diff" | "merkle-sync"
                    ) {
                        map.insert("sync_progress".into(), s.sync_progress.into());
                        map.insert("sync_total_keys".into(), s.sync_total_keys.into());
                    }
                    if let Some(e) = &s.last_error {
                        map.insert("last_error".into(), e.clone().into());
                    }
                    map.insert("merkle_syncs".into(), s.merkle_syncs.into());
                }
                out
            }
        }
    }
}
