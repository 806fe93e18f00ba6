//! The core's side of performance replication.
//!
//! - this file: the stored state (mode, cluster id, epoch), the follower switch it
//!   implies, and the live parts of an unsealed core ([`Live`]) started at unseal and
//!   stopped at seal;
//! - [`primary`]: `primary/enable`, `secondary-token`, `revoke-secondary`, `demote`,
//!   `disable`, answering an activation, and what the cluster listener needs;
//! - [`secondary`]: `secondary/enable` (activation, wipe, install), `promote`, `disable`,
//!   `update-primary`, and the replica task;
//! - [`endpoints`]: the `sys/replication/...` paths;
//! - [`status`]: `sys/replication/status` with Vault's fields;
//! - [`metrics`]: replication's figures in `sys/metrics` (positions, lag);
//! - [`fencing`]: after a promotion, the superseded primary is told and steps down.
//!
//! Every change of mode holds `Core::replication_change`, so two never interleave.

use std::sync::{Arc, RwLock};

use vaultrs_storage::Batch;

use super::{Active, Core};
use crate::error::{Error, Result};
use crate::replication::state::{Mode, State, STATE_KEY};

pub(super) mod endpoints;
mod fencing;
mod metrics;
pub(crate) mod primary;
pub(crate) mod secondary;
mod status;

pub(crate) use primary::{PrimaryLive, StreamChange};
pub(crate) use secondary::SecondaryLive;

/// What replication runs while the core is unsealed.
#[derive(Default)]
pub(crate) struct Live {
    pub primary: Option<Arc<PrimaryLive>>,
    pub secondary: Option<Arc<SecondaryLive>>,
}

/// The live parts of `active`'s replication.
pub(crate) fn live(active: &Active) -> std::sync::RwLockReadGuard<'_, Live> {
    active.replication.read().unwrap_or_else(|p| p.into_inner())
}

fn live_mut(active: &Active) -> std::sync::RwLockWriteGuard<'_, Live> {
    active
        .replication
        .write()
        .unwrap_or_else(|p| p.into_inner())
}

/// The empty live state, for a new [`Active`].
pub(super) fn new_live() -> RwLock<Live> {
    RwLock::new(Live::default())
}

impl Core {
    /// Reads the stored replication state (on unseal, before anything else is loaded)
    /// and makes the barrier a follower on a secondary.
    pub(super) async fn load_replication(&self) -> Result<()> {
        let state = match self.barrier.get(STATE_KEY).await? {
            Some(bytes) => State::decode(&bytes)?,
            None => State::default(),
        };
        self.set_follower(state.is_follower());
        *self.replication.write().unwrap_or_else(|p| p.into_inner()) = state;
        Ok(())
    }

    fn set_follower(&self, follower: bool) {
        let follower = follower || self.config.follower;
        self.barrier
            .set_follower(follower.then_some(crate::locality::is_local as fn(&str) -> bool));
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

    /// Commits `state` with the other changes of `batch` (plaintext, sealed by the
    /// barrier) in one batch, then makes it current and sets the follower switch.
    pub(crate) async fn save_replication(&self, state: State, batch: Batch) -> Result<()> {
        self.barrier
            .commit(batch.put(STATE_KEY, state.encode()))
            .await?;
        self.set_follower(state.is_follower());
        *self.replication.write().unwrap_or_else(|p| p.into_inner()) = state;
        Ok(())
    }

    /// Starts what the stored state asks for (at unseal): a primary's cluster listener
    /// configuration, a secondary's replica and forwarder. A failure is logged: the core
    /// still serves, and status says replication is not running.
    pub(super) async fn start_replication(&self, active: &Active) {
        let state = self.replication_state();
        let started = match state.mode {
            Mode::Disabled => Ok(()),
            Mode::Primary => self.start_primary(active, &state).await,
            Mode::Secondary => self.start_secondary(active, &state).await,
        };
        if let Err(e) = started {
            tracing::error!(error = %e, mode = state.mode.as_str(), "replication did not start");
        }
    }

    /// Stops replication's live parts (at seal, and before a mode change).
    pub(super) fn stop_replication(&self, active: &Active) {
        let mut live = live_mut(active);
        if let Some(secondary) = live.secondary.take() {
            secondary.stop();
        }
        if let Some(primary) = live.primary.take() {
            primary.stop();
        }
        self.set_forwarder(None);
        self.cluster_tls.send_replace(None);
        self.peers_changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Demote and disable: from mode `from` (else refused) to `to`, with replication's
    /// live parts stopped, the other side's addresses forgotten and `material` (the
    /// primary's or the secondary's record) deleted in the same batch as the new state.
    pub(super) async fn leave_mode(
        &self,
        active: &Active,
        from: Mode,
        to: Mode,
        material: &str,
    ) -> Result<super::Response> {
        let _change = self.replication_change.lock().await;
        let mut state = self.replication_state();
        if state.mode != from {
            return Err(match from {
                Mode::Primary => primary::not_primary(),
                _ => secondary::not_secondary(),
            });
        }
        self.stop_replication(active);
        state.mode = to;
        state.primary_api_addr.clear();
        state.primary_cluster_addr.clear();
        state.secondary_id.clear();
        state.secondaries.clear();
        self.save_replication(state, Batch::new().delete(material))
            .await?;
        tracing::info!(
            from = from.as_str(),
            to = to.as_str(),
            "performance replication mode changed"
        );
        Ok(super::Response::empty())
    }

    /// Changes whenever who the cluster listener may serve may have changed: a stream
    /// waiting for data checks its peer again then.
    pub fn peers_changed(&self) -> tokio::sync::watch::Receiver<u64> {
        self.peers_changed.subscribe()
    }

    /// The cluster listener's TLS configuration: `Some` while this core is an unsealed
    /// primary. The server's cluster listener serves only then.
    pub fn cluster_tls(&self) -> tokio::sync::watch::Receiver<Option<Arc<rustls::ServerConfig>>> {
        self.cluster_tls.subscribe()
    }
}

/// A string parameter: `None` when absent, null or blank; refused when not a string.
pub(super) fn string_field<'a>(
    data: &'a serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<Option<&'a str>> {
    use serde_json::Value;
    match data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(_) => Err(Error::invalid(format!("{name} must be a string"))),
    }
}

/// An activation or PKI failure, as the operator sees it (the messages name the step and
/// never hold a secret).
pub(crate) fn refused(e: impl std::fmt::Display) -> Error {
    Error::invalid(e.to_string())
}
