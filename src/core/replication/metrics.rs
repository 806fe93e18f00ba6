//! Replication's figures in `sys/metrics`, collected at each snapshot (see
//! [`crate::metrics`]). Vault's names where Vault has one:
//!
//! | name (Prometheus: dots → `_`) | where | what |
//! |---|---|---|
//! | `vault.replication.wal.last_wal` | primary | its last WAL (log sequence) |
//! | `vault.replication.fsm.last_remote_wal` | secondary | the primary's last WAL applied here |
//! | `vault.replication.fsm.last_upstream_remote_wal` | secondary | the primary's last WAL heard of |
//! | `vault.replication.secondary.wal_lag` | secondary | WALs behind the primary |
//! | `vault.replication.secondary.lag_ms` | secondary | ms since last fully caught up (0 while caught up) |
//! | `vault.replication.primary.secondary_acked_wal{secondary_id}` | primary | the WAL each secondary acknowledged |
//! | `vault.replication.primary.secondary_wal_lag{secondary_id}` | primary | WALs each secondary is behind |
//! | `vault.replication.primary.secondary_connected{secondary_id}` | primary | 1 while it acknowledges, else 0 |

use super::{live, Core};
use crate::core::Active;
use crate::metrics::Snapshot;
use crate::replication::control::wal_lag;
use crate::replication::state::Mode;

impl Core {
    /// Adds replication's figures for this core's mode.
    pub(in crate::core) fn collect_replication(&self, active: &Active, out: &mut Snapshot) {
        match self.replication_mode() {
            Mode::Disabled => {}
            Mode::Primary => self.collect_primary(active, out),
            Mode::Secondary => collect_secondary(active, out),
        }
    }

    fn collect_primary(&self, active: &Active, out: &mut Snapshot) {
        let position = self.storage.feed.position();
        out.gauge(
            "vault.replication.wal.last_wal",
            "The last WAL (commit log sequence) of this primary.",
            Vec::new(),
            position.seq as f64,
        );
        let Some(primary) = live(active).primary.clone() else {
            return;
        };
        let contacts = primary.contacts();
        // The known secondaries (a revoked one's contact lingers in memory); while the
        // ledger is being changed this instant, those in contact.
        let ids: Vec<String> = match primary.ledger.try_lock() {
            Ok(ledger) => ledger
                .active_ids()
                .iter()
                .map(|id| id.as_str().to_owned())
                .collect(),
            Err(_) => contacts.keys().cloned().collect(),
        };
        for id in ids {
            let contact = contacts.get(&id).cloned().unwrap_or_default();
            let labels = || vec![("secondary_id", id.clone())];
            out.gauge(
                "vault.replication.primary.secondary_acked_wal",
                "The WAL a secondary last acknowledged having applied.",
                labels(),
                contact.acked.map_or(0.0, |a| a.seq as f64),
            );
            out.gauge(
                "vault.replication.primary.secondary_wal_lag",
                "WALs a secondary is behind this primary, by its last acknowledgement.",
                labels(),
                wal_lag(position, contact.acked) as f64,
            );
            out.gauge(
                "vault.replication.primary.secondary_connected",
                "1 while a secondary acknowledges (within three heartbeats), else 0.",
                labels(),
                if contact.connected() { 1.0 } else { 0.0 },
            );
        }
    }
}

fn collect_secondary(active: &Active, out: &mut Snapshot) {
    let Some(secondary) = live(active).secondary.clone() else {
        return;
    };
    let replica = &secondary.replica;
    let status = replica.status();
    out.gauge(
        "vault.replication.fsm.last_remote_wal",
        "The primary's last WAL applied on this secondary.",
        Vec::new(),
        status.last_remote_wal as f64,
    );
    out.gauge(
        "vault.replication.fsm.last_upstream_remote_wal",
        "The primary's last WAL this secondary has heard of.",
        Vec::new(),
        status.primary_last_wal as f64,
    );
    out.gauge(
        "vault.replication.secondary.wal_lag",
        "WALs this secondary is behind its primary (as last heard).",
        Vec::new(),
        status.wal_lag as f64,
    );
    out.gauge(
        "vault.replication.secondary.lag_ms",
        "Milliseconds since this secondary was last fully caught up with its primary; 0 \
         while it is.",
        Vec::new(),
        replica.lag_ms() as f64,
    );
}
