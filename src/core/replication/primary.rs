//! A primary: enable, activation tokens, answering activations, revocation, demote and
//! disable, and what its cluster listener asks of the core.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};
use vaultrs_storage::Batch;

use super::fencing::FENCE_KEY;
use super::{live, live_mut, refused, string_field, Core};
use crate::core::{Active, Response};
use crate::error::{Error, Result};
use crate::replication::activation::{self, ActivationRequest, PrimaryActivation};
use crate::replication::ca::{ClusterCa, SecondaryIdentity};
use crate::replication::control::{Ack, AckAnswer, Superseded, CONNECTED_WITHIN};
use crate::replication::ledger::ActivationLedger;
use crate::replication::material::{decode_bundle, PrimaryMaterial, PRIMARY_KEY, SECONDARY_KEY};
use crate::replication::state::{Mode, State};
use crate::replication::tls::{self, Revocations};
use crate::replication::token::{JwtSigningKey, MAX_TTL_SECS};
use crate::replication::{SecondaryId, SecretString};
use crate::util::{rfc3339, unix_now};

/// Default lifetime of an activation token (Vault's `ttl` default).
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

/// What the primary knows of a secondary's connection (in memory).
#[derive(Clone, Debug, Default)]
pub(crate) struct Contact {
    /// Open streams from it.
    pub streams: u32,
    /// When its last acknowledgement arrived (the heartbeat status shows: frames sent
    /// prove nothing across a partition).
    pub last_ack: Option<SystemTime>,
    /// The same on the monotonic clock (what `connected` compares: a wall-clock jump
    /// neither connects nor disconnects anyone).
    pub last_ack_at: Option<std::time::Instant>,
    /// The position it acknowledged last.
    pub acked: Option<vaultrs_storage::Position>,
    /// The round trip of its previous acknowledgement, as it measured it.
    pub ack_rtt_ms: u64,
    /// The addresses it gave when it last opened a stream.
    pub api_address: String,
    pub cluster_address: String,
}

impl Contact {
    /// Whether it acknowledged within [`CONNECTED_WITHIN`].
    pub fn connected(&self) -> bool {
        self.last_ack_at
            .is_some_and(|t| t.elapsed() < CONNECTED_WITHIN)
    }
}

/// A primary's live parts.
pub(crate) struct PrimaryLive {
    pub ca: ClusterCa,
    pub signing_key: JwtSigningKey,
    /// The ledger as stored; changed only under its lock, stored before it changes here.
    pub ledger: tokio::sync::Mutex<ActivationLedger>,
    /// Checked at every handshake of the cluster listener, and by open streams.
    pub revocations: Revocations,
    pub contacts: std::sync::Mutex<BTreeMap<String, Contact>>,
    /// Turns true when this primary stops (seal, demote, disable): its tasks end.
    stop: tokio::sync::watch::Sender<bool>,
    /// Certificate serials seen on the cluster channel since unseal (their activation is
    /// recorded as complete in the ledger).
    seen: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl PrimaryLive {
    fn new(material: &PrimaryMaterial) -> Result<Self> {
        Ok(Self {
            ca: ClusterCa::from_state(&material.ca).map_err(refused)?,
            signing_key: JwtSigningKey::from_state(&material.signing_key).map_err(refused)?,
            revocations: Revocations::new(material.ledger.revoked_set()),
            ledger: tokio::sync::Mutex::new(material.ledger.clone()),
            contacts: std::sync::Mutex::new(BTreeMap::new()),
            stop: tokio::sync::watch::channel(false).0,
            seen: std::sync::Mutex::new(Default::default()),
        })
    }

    /// Ends this primary's background tasks.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Turns true when this primary stops.
    pub fn stopped(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stop.subscribe()
    }

    fn material(&self, ledger: &ActivationLedger) -> PrimaryMaterial {
        PrimaryMaterial {
            version: 1,
            ca: self.ca.state(),
            signing_key: self.signing_key.state(),
            ledger: ledger.clone(),
        }
    }

    /// The cluster listener's TLS configuration, with a server certificate for `addrs`.
    fn server_config(&self, addrs: &[&str]) -> Result<Arc<rustls::ServerConfig>> {
        let cert = self
            .ca
            .issue_server_cert(addrs, unix_now())
            .map_err(refused)?;
        let config = tls::server_config(self.ca.cert_pem(), &cert, self.revocations.clone())
            .map_err(refused)?;
        Ok(Arc::new(config))
    }

    pub fn contacts(&self) -> BTreeMap<String, Contact> {
        self.contacts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// What an activation token and bundle say of this primary, read once per call.
struct ActivationFacts {
    state: State,
    api_addr: String,
    dev_root: Option<String>,
}

impl ActivationFacts {
    fn view<'a>(&'a self, live: &'a PrimaryLive) -> PrimaryActivation<'a> {
        PrimaryActivation {
            cluster_id: &self.state.cluster_id,
            api_addr: &self.api_addr,
            cluster_addr: &self.state.primary_cluster_addr,
            signing_key: &live.signing_key,
            ca: &live.ca,
            dev_root_token_id: self.dev_root.as_deref(),
        }
    }
}

pub(super) fn not_primary() -> Error {
    Error::invalid("this cluster is not a performance replication primary")
}

fn primary_live(active: &Active) -> Result<Arc<PrimaryLive>> {
    live(active).primary.clone().ok_or_else(not_primary)
}

impl Core {
    /// The addresses the cluster listener's certificate must cover.
    fn cluster_addrs<'a>(&'a self, state: &'a State) -> Vec<&'a str> {
        let mut addrs: Vec<&str> = Vec::new();
        for a in [
            Some(state.primary_cluster_addr.as_str()),
            self.config.cluster_addr.as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            if !a.is_empty() && !addrs.contains(&a) {
                addrs.push(a);
            }
        }
        addrs
    }

    fn activation_facts(&self) -> ActivationFacts {
        ActivationFacts {
            state: self.replication_state(),
            api_addr: self.config.api_addr.clone().unwrap_or_default(),
            dev_root: self.dev_root_token(),
        }
    }

    /// Unseal of a primary: its material loaded, its listener configured.
    pub(super) async fn start_primary(&self, active: &Active, state: &State) -> Result<()> {
        let bytes =
            self.barrier.get(PRIMARY_KEY).await?.ok_or_else(|| {
                Error::Internal("the primary's replication material is gone".into())
            })?;
        let live = Arc::new(PrimaryLive::new(&PrimaryMaterial::decode(&bytes)?)?);
        let tls = live.server_config(&self.cluster_addrs(state))?;
        live_mut(active).primary = Some(live);
        self.cluster_tls.send_replace(Some(tls));
        if let Some(bytes) = self.barrier.get(FENCE_KEY).await? {
            match decode_bundle(&bytes) {
                Ok(bundle) => self.start_fencer(active, &bundle, state.epoch),
                Err(e) => {
                    tracing::error!(error = %e, "the superseded primary's record does not load")
                }
            }
        }
        Ok(())
    }

    /// `primary/enable`.
    pub(super) async fn enable_primary(
        &self,
        active: &Active,
        data: &Map<String, Value>,
    ) -> Result<Response> {
        let _change = self.replication_change.lock().await;
        let state = self.replication_state();
        match state.mode {
            Mode::Primary => {
                return Err(Error::invalid(
                    "this cluster is already a performance replication primary",
                ))
            }
            Mode::Secondary => {
                return Err(Error::invalid(
                    "this cluster is a performance replication secondary: it cannot be \
                     enabled as a primary (promote it with \
                     sys/replication/performance/secondary/promote)",
                ))
            }
            Mode::Disabled => {}
        }
        self.become_primary(active, &state, string_field(data, "primary_cluster_addr")?)
            .await?;
        Ok(Response::empty())
    }

    /// Makes this cluster a primary (enable, promote): new cluster CA and signing key,
    /// the next epoch, the listener configured.
    pub(super) async fn become_primary(
        &self,
        active: &Active,
        state: &State,
        addr: Option<&str>,
    ) -> Result<()> {
        let cluster_addr = addr
            .or(self.config.cluster_addr.as_deref())
            .ok_or_else(|| {
                Error::invalid(
                    "no cluster address is known: set cluster_addr in the server \
                     configuration, or give primary_cluster_addr",
                )
            })?
            .to_owned();
        let cluster_id = active.cluster.1.clone();
        let now = unix_now();
        let material = PrimaryMaterial {
            version: 1,
            ca: ClusterCa::generate(&cluster_id, now)
                .map_err(refused)?
                .state(),
            signing_key: JwtSigningKey::generate().map_err(refused)?.state(),
            ledger: ActivationLedger::new(),
        };
        let live = Arc::new(PrimaryLive::new(&material)?);
        let mut next = State::primary(cluster_id, cluster_addr);
        next.epoch = state.epoch.saturating_add(1).max(1);
        let tls = live.server_config(&self.cluster_addrs(&next))?;
        // A promotion: the primary left behind is told of the new epoch until it heard.
        let superseded = match state.mode {
            Mode::Secondary => self.barrier.get(SECONDARY_KEY).await?,
            _ => None,
        };
        // A record that does not load never blocks the promotion; it is only not told.
        let fence = superseded
            .as_deref()
            .map(decode_bundle)
            .and_then(|decoded| {
                decoded
                    .map_err(
                        |e| tracing::error!(error = %e, "the superseded primary cannot be told"),
                    )
                    .ok()
            });
        self.stop_replication(active);
        let batch = Batch::new()
            .put(PRIMARY_KEY, material.encode()?)
            .delete(SECONDARY_KEY);
        let batch = match (superseded, &fence) {
            (Some(bytes), Some(_)) => batch.put(FENCE_KEY, bytes),
            _ => batch.delete(FENCE_KEY),
        };
        let epoch = next.epoch;
        self.save_replication(next, batch).await?;
        live_mut(active).primary = Some(live);
        self.cluster_tls.send_replace(Some(tls));
        if let Some(bundle) = &fence {
            self.start_fencer(active, bundle, epoch);
        }
        tracing::info!(epoch, "performance replication primary enabled");
        Ok(())
    }

    /// `primary/secondary-token`: always a wrapped answer whose token is the signed JWT.
    pub(super) async fn secondary_token(
        &self,
        active: &Active,
        path: &str,
        data: &Map<String, Value>,
    ) -> Result<Response> {
        let live = primary_live(active)?;
        let id = string_field(data, "id")?.ok_or_else(|| Error::invalid("missing secondary ID"))?;
        let id = SecondaryId::new(id).map_err(refused)?;
        let ttl = match data.get("ttl") {
            Some(Value::String(s)) if s.is_empty() => DEFAULT_TOKEN_TTL,
            _ => crate::fields::duration(data, "ttl")?.unwrap_or(DEFAULT_TOKEN_TTL),
        };
        let ttl = ttl.as_secs();
        if ttl == 0 || ttl > MAX_TTL_SECS {
            return Err(Error::invalid(format!(
                "ttl must be between 1s and {}h",
                MAX_TTL_SECS / 3600
            )));
        }
        let facts = self.activation_facts();
        let view = facts.view(&live);
        let now = unix_now();
        let mut ledger = live.ledger.lock().await;
        let mut next = ledger.clone();
        next.prune(now);
        let issued =
            activation::issue_secondary_token(&view, &mut next, &id, ttl, now).map_err(refused)?;
        self.store_material(&live, &next).await?;
        live.revocations.replace(next.revoked_set());
        *ledger = next;
        drop(ledger);
        let mut response = Response {
            wrap_info: Some(json!({
                "token": issued.token.expose(),
                "accessor": "",
                "ttl": ttl,
                "creation_time": rfc3339(SystemTime::now()),
                "creation_path": path,
                "wrapped_accessor": "",
            })),
            ..Response::default()
        };
        if facts.api_addr.is_empty() {
            response.warnings.push(
                "No redirect address set in Vault so none could be encoded in the token. \
                 You may need to supply Vault's API address when unwrapping the token."
                    .into(),
            );
        }
        Ok(response)
    }

    async fn store_material(&self, live: &PrimaryLive, ledger: &ActivationLedger) -> Result<()> {
        self.barrier
            .put(PRIMARY_KEY, &live.material(ledger).encode()?)
            .await?;
        Ok(())
    }

    /// The unwrap of an activation token (`sys/wrapping/unwrap` with the JWT): checks and
    /// burns it, and answers with the activation bundle sealed to the secondary's key.
    pub(crate) async fn answer_activation(
        &self,
        active: &Active,
        token: &str,
        secondary_public_key: Option<&str>,
    ) -> Result<Response> {
        let live = primary_live(active)?;
        let public_key = secondary_public_key.ok_or_else(|| {
            Error::invalid(
                "activation needs the secondary's public key (secondary_public_key): \
                 enable the secondary with sys/replication/performance/secondary/enable",
            )
        })?;
        let facts = self.activation_facts();
        let view = facts.view(&live);
        let request = ActivationRequest {
            token: SecretString::new(token),
            secondary_public_key: public_key.to_owned(),
        };
        let now = unix_now();
        let mut ledger = live.ledger.lock().await;
        let mut next = ledger.clone();
        let activated =
            activation::answer_activation(&view, &mut next, &request, now).map_err(refused)?;
        self.store_material(&live, &next).await?;
        live.revocations.replace(next.revoked_set());
        *ledger = next;
        tracing::info!(secondary = %activated.identity.id, "secondary activated");
        let mut data = Map::new();
        data.insert(
            "activation".into(),
            serde_json::to_value(&activated.sealed)
                .map_err(|e| Error::Internal(format!("encoding the bundle: {e}")))?,
        );
        Ok(Response::data(data))
    }

    /// `primary/revoke-secondary`: the secondary's certificate is refused from now on,
    /// on new handshakes and on open streams.
    pub(super) async fn revoke_secondary(
        &self,
        active: &Active,
        data: &Map<String, Value>,
    ) -> Result<Response> {
        let live = primary_live(active)?;
        let id = string_field(data, "id")?.ok_or_else(|| Error::invalid("missing secondary ID"))?;
        let id = SecondaryId::new(id).map_err(refused)?;
        let mut ledger = live.ledger.lock().await;
        let mut next = ledger.clone();
        next.revoke(&id).map_err(refused)?;
        self.store_material(&live, &next).await?;
        live.revocations.replace(next.revoked_set());
        *ledger = next;
        self.peers_changed.send_modify(|n| *n = n.wrapping_add(1));
        tracing::info!(secondary = %id, "secondary revoked");
        Ok(Response::empty())
    }

    /// `primary/demote`: a secondary of no primary (its replicated data stays, read-only),
    /// until `update-primary` points it at one. Keeps the cluster id and epoch.
    pub(super) async fn demote_primary(&self, active: &Active) -> Result<Response> {
        self.leave_mode(active, Mode::Primary, Mode::Secondary, PRIMARY_KEY)
            .await
    }

    /// `primary/disable`: replication off; the CA is gone, so no secondary connects again.
    pub(super) async fn disable_primary(&self, active: &Active) -> Result<Response> {
        self.leave_mode(active, Mode::Primary, Mode::Disabled, PRIMARY_KEY)
            .await
    }

    /// Whether the cluster listener may serve `who` now: this core is an unsealed primary
    /// and `who` is not revoked.
    pub fn cluster_peer_allowed(&self, who: &SecondaryIdentity) -> bool {
        let Ok(active) = self.active() else {
            return false;
        };
        let Some(live) = live(&active).primary.clone() else {
            return false;
        };
        live.revocations.check(who).is_ok()
    }

    /// A secondary reached the cluster channel: its activation is complete (recorded
    /// once per certificate; from then on its id gets no new token until revoked).
    pub async fn note_cluster_contact(&self, who: &SecondaryIdentity) -> Result<()> {
        let active = self.active()?;
        let live = primary_live(&active)?;
        let serial = who.serial.to_ascii_lowercase();
        if live
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&serial)
        {
            return Ok(());
        }
        let mut ledger = live.ledger.lock().await;
        let mut next = ledger.clone();
        if next.note_contact(&who.id, &serial) {
            self.store_material(&live, &next).await?;
            *ledger = next;
            tracing::info!(secondary = %who.id, "secondary activation complete");
        }
        drop(ledger);
        live.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(serial);
        Ok(())
    }

    /// Notes a secondary's stream opening or closing.
    pub fn note_secondary(&self, who: &SecondaryIdentity, change: StreamChange) {
        let Ok(active) = self.active() else { return };
        let Some(live) = live(&active).primary.clone() else {
            return;
        };
        let mut contacts = live.contacts.lock().unwrap_or_else(|p| p.into_inner());
        let contact = contacts.entry(who.id.as_str().to_owned()).or_default();
        match change {
            StreamChange::Opened((api, cluster)) => {
                contact.streams = contact.streams.saturating_add(1);
                contact.api_address = api;
                contact.cluster_address = cluster;
            }
            StreamChange::Closed => contact.streams = contact.streams.saturating_sub(1),
        }
    }

    /// Records a secondary's acknowledgement; the primary's position, for the answer.
    /// An acknowledgement of a newer epoch of this cluster (the secondary followed a
    /// promotion this primary missed) makes this primary step down.
    pub async fn note_ack(&self, who: &SecondaryIdentity, ack: &Ack) -> Result<AckAnswer> {
        let active = self.active()?;
        let live = primary_live(&active)?;
        {
            let mut contacts = live.contacts.lock().unwrap_or_else(|p| p.into_inner());
            let contact = contacts.entry(who.id.as_str().to_owned()).or_default();
            contact.last_ack = Some(SystemTime::now());
            contact.last_ack_at = Some(std::time::Instant::now());
            contact.acked = Some(ack.position());
            contact.ack_rtt_ms = ack.rtt_ms;
        }
        let state = self.replication_state();
        if ack.epoch > state.epoch {
            let notice = Superseded {
                cluster_id: state.cluster_id.clone(),
                epoch: ack.epoch,
            };
            self.step_down(&notice, who).await?;
        }
        let position = self.storage.feed.position();
        Ok(AckAnswer {
            log_id: position.log_id,
            seq: position.seq,
            epoch: state.epoch,
        })
    }

    /// The root key, for an activated secondary on the cluster channel (checked there).
    pub fn root_key_for_secondary(&self) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        Ok(self.barrier.root_key()?)
    }
}

/// What happened to a secondary's stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamChange {
    /// Opened, by a secondary at these (API, cluster) addresses.
    Opened((String, String)),
    Closed,
}
