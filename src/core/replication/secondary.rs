//! A secondary: activation (`secondary/enable`), the replica task, `promote`, `disable`
//! and `update-primary`.
//!
//! Activation, in order; nothing local changes until step 4, so a refused activation
//! wipes nothing:
//! 1. the token is sent back to the primary's API address with a fresh X25519 key, and
//!    the sealed activation bundle comes back ([`unwrap_at_primary`]);
//! 2. over the cluster channel (mutual TLS with the bundle's certificate) the primary's
//!    cluster id is checked, and its root key and barrier keys (`core/seal-config`,
//!    `core/root-key`, `core/keyring`) are fetched;
//! 3. this cluster's new state (mode, bundle, cluster id) is sealed with the primary's
//!    keys, on a scratch barrier in memory;
//! 4. the core seals, and storage is wiped and replaced by those keys and records in one
//!    crash-safe step ([`vaultrs_storage::FileBackend::wipe_and_install`]): after a crash
//!    the directory holds the old cluster or a secondary that unseals with the primary's
//!    keys and resumes;
//! 5. the core unseals with the root key, and the replica bootstraps the replicated tree
//!    (a Merkle sync from empty, with progress in status), then streams.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use vaultrs_storage::barrier::{KEYRING_PATH, ROOT_KEY_PATH, SEAL_CONFIG_PATH};
use vaultrs_storage::{Barrier, Batch, InmemBackend, Physical};

use super::{live, live_mut, refused, string_field, Core};
use crate::core::{Active, Response};
use crate::error::{Error, Result};
use crate::locality::CLUSTER_KEY;
use crate::replication::activation::{ActivationRequest, SecondaryActivation};
use crate::replication::bundle::{ActivationBundle, SealedBundle};
use crate::replication::material::{decode_bundle, encode_bundle, PRIMARY_KEY, SECONDARY_KEY};
use crate::replication::primary_client::PrimaryClient;
use crate::replication::replica::{Replica, ReplicaForwarder};
use crate::replication::state::{Mode, State, STATE_KEY};

/// How long the secondary waits for the primary's API while activating.
const UNWRAP_TIMEOUT: Duration = Duration::from_secs(30);

/// A secondary's live parts.
pub(crate) struct SecondaryLive {
    pub replica: Arc<Replica>,
    pub client: PrimaryClient,
    stop: tokio::sync::watch::Sender<bool>,
}

impl SecondaryLive {
    /// Stops the replica (a batch it started applying still finishes).
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
}

/// Step 1: the token goes back to the primary's API (`sys/wrapping/unwrap`, the token as
/// the request's token), with the secondary's public key; the sealed bundle comes back.
async fn unwrap_at_primary(
    api_addr: &str,
    request: &ActivationRequest,
    ca_file: Option<&str>,
) -> Result<SealedBundle> {
    let mut http = reqwest::Client::builder().timeout(UNWRAP_TIMEOUT);
    if let Some(file) = ca_file {
        let pem = std::fs::read(file)
            .map_err(|e| Error::invalid(format!("reading ca_file {file}: {e}")))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| Error::invalid(format!("ca_file {file}: {e}")))?;
        http = http.add_root_certificate(cert);
    }
    let http = http
        .build()
        .map_err(|e| Error::Internal(format!("an HTTP client: {e}")))?;
    let url = format!("{}/v1/sys/wrapping/unwrap", api_addr.trim_end_matches('/'));
    let resp = http
        .post(&url)
        .header("X-Vault-Token", request.token.expose())
        .json(&serde_json::json!({ "secondary_public_key": request.secondary_public_key }))
        .send()
        .await
        .map_err(|e| {
            Error::invalid(format!(
                "error unwrapping secondary token: the primary's API at {api_addr} cannot \
                 be reached ({e}); give primary_api_addr if the token's address is wrong"
            ))
        })?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let message = body
            .get("errors")
            .and_then(Value::as_array)
            .map(|e| {
                e.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        return Err(Error::invalid(format!(
            "error response unwrapping secondary token; status code is {}, message is {:?}",
            status.as_u16(),
            message
        )));
    }
    let sealed = body
        .pointer("/data/activation")
        .cloned()
        .ok_or_else(|| Error::invalid("the primary's answer holds no activation bundle"))?;
    serde_json::from_value(sealed)
        .map_err(|e| Error::invalid(format!("the primary's activation bundle: {e}")))
}

/// Step 2 failed: the token was spent at step 1, so a retry needs a new one (the primary
/// lets its id have one, since the secondary never reached its cluster channel).
fn cluster_step_failed(bundle: &ActivationBundle, e: Error) -> Error {
    Error::invalid(format!(
        "activation failed at the cluster step: the primary's cluster address {} cannot be \
         reached over mutual TLS ({e}). The activation token is now spent: nothing was \
         changed here; ask the primary for a new token (primary/secondary-token id={}) \
         and enable again",
        bundle.primary_cluster_addr, bundle.secondary_id
    ))
}

/// Steps 1 and 2: a checked bundle and a client of the primary's cluster channel.
async fn activate_remotely(data: &Map<String, Value>) -> Result<(ActivationBundle, PrimaryClient)> {
    let token = string_field(data, "token")?.ok_or_else(|| Error::invalid("missing token"))?;
    let (activation, request) = SecondaryActivation::start(token).map_err(refused)?;
    let api_addr = match string_field(data, "primary_api_addr")? {
        Some(addr) => addr.to_owned(),
        None if activation.claims_untrusted().addr.is_empty() => {
            return Err(Error::invalid(
                "the activation token holds no primary API address: give primary_api_addr",
            ))
        }
        None => activation.claims_untrusted().addr.clone(),
    };
    let sealed = unwrap_at_primary(&api_addr, &request, string_field(data, "ca_file")?).await?;
    let bundle = activation.finish(&sealed).map_err(refused)?;
    let client = PrimaryClient::mtls(&bundle)?;
    let status = client
        .status()
        .await
        .map_err(|e| cluster_step_failed(&bundle, e))?;
    if status.cluster_id != bundle.cluster_id {
        return Err(Error::invalid(format!(
            "the primary's cluster listener belongs to cluster {}, the token to {}",
            status.cluster_id, bundle.cluster_id
        )));
    }
    Ok((bundle, client))
}

/// Step 3: the records of the new secondary, sealed with the primary's keys: its barrier
/// keys as the primary stores them, and this cluster's state, bundle and identity.
async fn sealed_install(
    client: &PrimaryClient,
    root_key: &[u8],
    state: &State,
    bundle: &ActivationBundle,
    cluster_name: &str,
) -> Result<Vec<(String, Vec<u8>)>> {
    let keys = [SEAL_CONFIG_PATH, ROOT_KEY_PATH, KEYRING_PATH].map(str::to_owned);
    let mut entries = Vec::new();
    let mut batch = Batch::new();
    for change in client.values(&keys).await? {
        let value = change.value.ok_or_else(|| {
            Error::invalid(format!(
                "the primary has no {} (is it initialized?)",
                change.key
            ))
        })?;
        batch = batch.put(change.key.clone(), value.clone());
        entries.push((change.key, value));
    }
    let scratch = Barrier::new(Arc::new(InmemBackend::new()));
    scratch.physical().commit(batch).await?;
    scratch.unseal_with_root_key(root_key).await.map_err(|_| {
        Error::invalid("the primary's root key does not open its keyring: activation refused")
    })?;
    let records = [
        (STATE_KEY, state.encode()),
        (SECONDARY_KEY, encode_bundle(bundle)?),
        (
            CLUSTER_KEY,
            super::super::tables::cluster_info_record(cluster_name, &bundle.cluster_id),
        ),
        (
            crate::locality::LAYOUT_KEY,
            super::super::layout::current_record()?,
        ),
    ];
    for (key, plain) in records {
        entries.push((key.to_owned(), scratch.encrypt(key, &plain)?));
    }
    scratch.seal().await;
    Ok(entries)
}

impl Core {
    /// Unseal of a secondary: the replica runs and writes are forwarded. A demoted primary
    /// (no bundle) follows no one until `update-primary`.
    pub(super) async fn start_secondary(&self, active: &Active, state: &State) -> Result<()> {
        let Some(bytes) = self.barrier.get(SECONDARY_KEY).await? else {
            return Ok(());
        };
        let bundle = decode_bundle(&bytes)?;
        self.run_replica(active, state, &bundle)
    }

    fn run_replica(&self, active: &Active, state: &State, bundle: &ActivationBundle) -> Result<()> {
        let client = PrimaryClient::mtls(bundle)?.with_addresses(
            self.config.api_addr.as_deref().unwrap_or_default(),
            self.config.cluster_addr.as_deref().unwrap_or_default(),
        );
        let replica = Arc::new(
            Replica::new(
                self.storage.clone(),
                client.clone(),
                state.cluster_id.clone(),
            )
            .with_epoch(state.epoch),
        );
        let stop = tokio::sync::watch::channel(false).0;
        let run = replica
            .clone()
            .run(Some(self.barrier.clone()), stop.subscribe());
        let mut sealing = active.stop.subscribe();
        active.spawn(async move {
            tokio::select! {
                _ = run => {}
                _ = sealing.wait_for(|s| *s) => {}
            }
        });
        self.set_forwarder(Some(Arc::new(ReplicaForwarder {
            primary: client.clone(),
            replica: replica.clone(),
        })));
        live_mut(active).secondary = Some(Arc::new(SecondaryLive {
            replica,
            client,
            stop,
        }));
        Ok(())
    }

    /// `secondary/enable`: activation, the wipe, and the start of the bootstrap.
    pub(super) async fn enable_secondary(
        &self,
        active: &Active,
        data: &Map<String, Value>,
    ) -> Result<Response> {
        let _change = self.replication_change.lock().await;
        let state = self.replication_state();
        match state.mode {
            Mode::Primary => {
                return Err(Error::invalid(
                    "this cluster is a performance replication primary: disable or demote \
                     it before enabling it as a secondary",
                ))
            }
            Mode::Secondary if live(active).secondary.is_some() => {
                return Err(Error::invalid(
                    "this cluster is already a performance replication secondary: use \
                     sys/replication/performance/secondary/update-primary",
                ))
            }
            _ => {}
        }
        let (bundle, client) = activate_remotely(data).await?;
        let root_key = client
            .root_key()
            .await
            .map_err(|e| cluster_step_failed(&bundle, e))?;
        let next = State {
            version: 1,
            mode: Mode::Secondary,
            cluster_id: bundle.cluster_id.clone(),
            epoch: client.status().await?.epoch,
            primary_cluster_addr: bundle.primary_cluster_addr.clone(),
            primary_api_addr: bundle.primary_api_addr.clone(),
            secondary_id: bundle.secondary_id.as_str().to_owned(),
            secondaries: Vec::new(),
        };
        let entries = sealed_install(&client, &root_key, &next, &bundle, &active.cluster.0).await?;
        // Step 4: from here the old cluster goes.
        let _transition = self.transition.lock().await;
        self.deactivate().await;
        self.storage.file.wipe_and_install(entries).await?;
        self.storage.cache.clear();
        self.storage.feed.reset().await?;
        self.barrier.unseal_with_root_key(&root_key).await?;
        let active = self.activate().await?;
        if self.config.dev {
            if let Some(id) = &bundle.dev_root_token_id {
                self.create_root_token_in(&active, Some(id.expose().to_owned()))
                    .await?;
            }
        }
        tracing::info!(
            secondary = %bundle.secondary_id,
            primary = %bundle.primary_cluster_addr,
            "enabled as a performance replication secondary; bootstrapping"
        );
        let mut response = Response::empty();
        response.warnings.push(
            "This cluster was wiped and is now a performance secondary: it unseals with \
             the primary's unseal keys, and only the primary's replicated data and its own \
             local mounts remain."
                .into(),
        );
        Ok(response)
    }

    /// `secondary/promote`: this secondary becomes the primary (next epoch). Refused while
    /// its primary still answers, unless `force`.
    pub(super) async fn promote_secondary(
        &self,
        active: &Active,
        data: &Map<String, Value>,
    ) -> Result<Response> {
        let _change = self.replication_change.lock().await;
        let state = self.replication_state();
        if state.mode != Mode::Secondary {
            return Err(not_secondary());
        }
        let force = crate::fields::boolean(data, "force")?.unwrap_or(false);
        let secondary = live(active).secondary.clone();
        if let (false, Some(s)) = (force, &secondary) {
            let reachable = tokio::time::timeout(Duration::from_secs(3), s.client.status())
                .await
                .is_ok_and(|r| r.is_ok_and(|st| st.cluster_id == state.cluster_id));
            if reachable {
                return Err(Error::invalid(
                    "the primary is still reachable: demote it first, or promote with \
                     force=true (two primaries would diverge)",
                ));
            }
        }
        self.become_primary(active, &state, string_field(data, "primary_cluster_addr")?)
            .await?;
        Ok(Response::empty())
    }

    /// `secondary/disable`: replication off; the replicated data stays and becomes
    /// writable here.
    pub(super) async fn disable_secondary(&self, active: &Active) -> Result<Response> {
        self.leave_mode(active, Mode::Secondary, Mode::Disabled, SECONDARY_KEY)
            .await
    }

    /// `secondary/update-primary`: follow another primary of the same replication set
    /// (after a promotion) with a token it issued; nothing is wiped, a Merkle diff
    /// converges.
    pub(super) async fn update_primary(
        &self,
        active: &Active,
        data: &Map<String, Value>,
    ) -> Result<Response> {
        let _change = self.replication_change.lock().await;
        let state = self.replication_state();
        if state.mode != Mode::Secondary {
            return Err(not_secondary());
        }
        let (bundle, client) = activate_remotely(data).await?;
        if bundle.cluster_id != state.cluster_id {
            return Err(Error::invalid(format!(
                "the token is of replication set {}, this secondary belongs to {}: \
                 enable it as a secondary of that primary instead (it wipes this cluster)",
                bundle.cluster_id, state.cluster_id
            )));
        }
        let epoch = client.status().await?.epoch;
        if epoch < state.epoch {
            return Err(Error::invalid(format!(
                "the primary is of epoch {epoch}, older than this secondary's {}",
                state.epoch
            )));
        }
        self.stop_replication(active);
        let next = State {
            epoch,
            mode: Mode::Secondary,
            primary_cluster_addr: bundle.primary_cluster_addr.clone(),
            primary_api_addr: bundle.primary_api_addr.clone(),
            secondary_id: bundle.secondary_id.as_str().to_owned(),
            ..state
        };
        let batch = Batch::new()
            .put(SECONDARY_KEY, encode_bundle(&bundle)?)
            .delete(PRIMARY_KEY);
        self.save_replication(next.clone(), batch).await?;
        self.run_replica(active, &next, &bundle)?;
        Ok(Response::empty())
    }
}

pub(super) fn not_secondary() -> Error {
    Error::invalid("this cluster is not a performance replication secondary")
}
