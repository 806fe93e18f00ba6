//! Fencing after a promotion: two primaries of one replication set converge to one once
//! they can talk, with no command given.
//!
//! - The promoted side keeps the activation bundle of the primary it left, at
//!   [`FENCE_KEY`] (local), and a background task ([`Core::start_fencer`]) keeps telling
//!   that primary, over its cluster channel (mutual TLS with the certificate it issued),
//!   that a newer epoch of the same cluster took over ([`Superseded`]). It stops, and
//!   forgets the bundle, once that primary stepped down or refused the notice for good.
//! - The old primary, told of a newer epoch of its own cluster (by that notice, or by an
//!   acknowledgement of a secondary that followed the promotion), demotes itself
//!   ([`Core::step_down`]): writes are refused as on any secondary, status says
//!   `secondary`, and the log says why. Writes it took while cut off are lost, as in
//!   Vault: the promoted side never sees them.
//! - Another cluster's notice, or an epoch not newer than its own, never demotes anyone.

use std::time::Duration;

use super::{live, primary, Core};
use crate::core::Active;
use crate::error::{Error, Result};
use crate::replication::bundle::ActivationBundle;
use crate::replication::control::Superseded;
use crate::replication::material::PRIMARY_KEY;
use crate::replication::primary_client::PrimaryClient;
use crate::replication::state::{Mode, State};
use crate::replication::SecondaryIdentity;

/// Where a promoted primary keeps the bundle of the primary it superseded, until that one
/// heard of it.
pub(crate) const FENCE_KEY: &str = "local/replication/fence";

/// Longest wait between two notices.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Why a primary in `state` does not step down for `notice`, if it does not.
fn refusal(state: &State, notice: &Superseded) -> Option<Error> {
    if state.mode != Mode::Primary {
        return Some(primary::not_primary());
    }
    if notice.cluster_id != state.cluster_id {
        return Some(Error::invalid(format!(
            "the notice is of replication set {}, this primary leads {}",
            notice.cluster_id, state.cluster_id
        )));
    }
    if notice.epoch <= state.epoch {
        return Some(Error::invalid(format!(
            "epoch {} is not newer than this primary's {}",
            notice.epoch, state.epoch
        )));
    }
    None
}

impl Core {
    /// The old primary's side: a newer epoch of this cluster took over, as `by` says;
    /// this primary demotes itself (as `primary/demote`). Refused, changing nothing, for
    /// another cluster or an epoch not newer than this one's.
    pub async fn step_down(&self, notice: &Superseded, by: &SecondaryIdentity) -> Result<()> {
        let state = self.replication_state();
        if let Some(e) = refusal(&state, notice) {
            tracing::warn!(
                secondary = %by.id,
                epoch = notice.epoch,
                error = %e,
                "a notice of a promotion was refused"
            );
            return Err(e);
        }
        let active = self.active()?;
        self.leave_mode(&active, Mode::Primary, Mode::Secondary, PRIMARY_KEY)
            .await?;
        tracing::warn!(
            secondary = %by.id,
            epoch = notice.epoch,
            own_epoch = state.epoch,
            "a promotion of a newer epoch superseded this primary: it is demoted and refuses \
             writes; writes it took since the promotion are lost (point it at the new primary \
             with secondary/update-primary)"
        );
        Ok(())
    }

    /// The promoted side: tells the primary of `bundle` that `epoch` superseded it, until
    /// it heard (then forgets the bundle), the core seals or this primary stops.
    pub(super) fn start_fencer(&self, active: &Active, bundle: &ActivationBundle, epoch: u64) {
        let client = match PrimaryClient::mtls(bundle) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "the superseded primary cannot be told");
                return;
            }
        };
        let Some(primary) = live(active).primary.clone() else {
            return;
        };
        let notice = Superseded {
            cluster_id: bundle.cluster_id.clone(),
            epoch,
        };
        let barrier = self.barrier.clone();
        let mut stopped = primary.stopped();
        let mut sealing = active.stop.subscribe();
        let old = bundle.primary_cluster_addr.clone();
        active.spawn(async move {
            let mut backoff = Duration::from_millis(250);
            loop {
                let told = tokio::select! {
                    _ = stopped.wait_for(|s| *s) => return,
                    _ = sealing.wait_for(|s| *s) => return,
                    told = client.superseded(&notice) => told,
                };
                match told {
                    Ok(stepped_down) => {
                        if stepped_down {
                            tracing::info!(primary = %old, epoch, "the superseded primary stepped down");
                        } else {
                            tracing::warn!(primary = %old, epoch, "the superseded primary refused the notice");
                        }
                        if let Err(e) = barrier.delete(FENCE_KEY).await {
                            tracing::warn!(error = %e, "forgetting the superseded primary");
                        }
                        return;
                    }
                    Err(e) => tracing::debug!(primary = %old, error = %e, "the superseded primary not told yet"),
                }
                tokio::select! {
                    _ = stopped.wait_for(|s| *s) => return,
                    _ = sealing.wait_for(|s| *s) => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(cluster: &str, epoch: u64) -> Superseded {
        Superseded {
            cluster_id: cluster.into(),
            epoch,
        }
    }

    #[test]
    fn only_a_newer_epoch_of_the_same_cluster_demotes() {
        let mut state = State::primary("c1".into(), "https://127.0.0.1:8201".into());
        state.epoch = 3;
        assert!(refusal(&state, &notice("c1", 4)).is_none());
        assert!(refusal(&state, &notice("c1", u64::MAX)).is_none());
        for (cluster, epoch) in [("c1", 3), ("c1", 2), ("c1", 0), ("c2", 4), ("", 9)] {
            assert!(
                refusal(&state, &notice(cluster, epoch)).is_some(),
                "{cluster} {epoch}"
            );
        }
        state.mode = Mode::Secondary;
        assert!(refusal(&state, &notice("c1", 4)).is_some());
    }
}
