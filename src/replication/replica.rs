//! A secondary's replication of its primary's replicated keys: Merkle sync (bootstrap is
//! a Merkle sync from an empty tree), then streaming, and back to a Merkle sync whenever
//! the stream cannot continue.
//!
//! Everything is written below the barrier, through the storage stack
//! ([`Storage::physical`]): batches of the primary's ciphertext, applied in order, each
//! atomically with the position it brings the secondary to (when the secondary is
//! unsealed, so the position can be sealed). The storage follower of the secondary's core
//! sees each batch like any other and invalidates what changed.
//!
//! Local keys are never touched: the stream refuses them ([`super::wire`]), and the
//! Merkle sync works on the replicated keys only.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vaultrs_storage::merkle::{diff_buckets, diff_keys, Hash};
use vaultrs_storage::{Barrier, Batch, Change, MerkleIndex, Position};

use super::control::{wal_lag, Ack, ACK_EVERY};
use super::primary_client::PrimaryClient;
use super::wire::Frame;
use crate::core::storage::Storage;
use crate::error::{Error, Result};
use crate::locality;

/// Where a secondary records the primary position it has applied up to.
pub const POSITION_KEY: &str = "local/replication/position";

/// Differing buckets asked for per call, and values per call and per batch.
const BUCKETS_PER_CALL: usize = 256;
const VALUES_PER_CALL: usize = 512;

/// What `sys/replication/status` shows of a secondary's sync.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SyncStatus {
    /// `connecting`, `merkle-diff`, `merkle-sync`, `stream-wals` or `idle`.
    pub state: String,
    /// The primary's last sequence applied here.
    pub last_remote_wal: u64,
    /// Keys fetched, of `sync_total_keys`, while a Merkle sync runs.
    pub sync_progress: u64,
    pub sync_total_keys: u64,
    /// The primary's log the position counts in.
    pub primary_log_id: Option<String>,
    /// The last error, if the last cycle failed.
    pub last_error: Option<String>,
    /// Merkle syncs run since start.
    pub merkle_syncs: u64,
    /// The primary's last sequence this secondary has heard of (from the answers to its
    /// acknowledgements and from the stream), and how many WALs it is behind it.
    pub primary_last_wal: u64,
    pub wal_lag: u64,
    /// When it was last known to be fully caught up, and when it last heard the primary.
    #[serde(skip)]
    caught_up_at: Option<Instant>,
    #[serde(skip)]
    heard_at: Option<Instant>,
}

impl SyncStatus {
    /// Whether the primary was heard (an acknowledgement answered, a frame received)
    /// within three heartbeats.
    pub fn hearing(&self) -> bool {
        self.heard_at
            .is_some_and(|t| t.elapsed() < super::control::CONNECTED_WITHIN)
    }

    /// Milliseconds since this secondary was last known to be fully caught up: 0 while
    /// it is and hears the primary; growing while it lags or hears nothing.
    pub fn lag_ms(&self, started: Instant) -> u64 {
        if self.wal_lag == 0 && self.hearing() {
            return 0;
        }
        let since = self.caught_up_at.unwrap_or(started);
        u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// One secondary's replication from one primary.
pub struct Replica {
    storage: Storage,
    primary: PrimaryClient,
    /// The primary's cluster id: a stream from any other cluster is refused.
    cluster_id: String,
    position: Mutex<Option<Position>>,
    status: Mutex<SyncStatus>,
    /// The primary position applied here, for [`Replica::wait_remote`].
    applied: tokio::sync::watch::Sender<Option<Position>>,
    /// The lowest promotion epoch followed: a primary of an older one (demoted since) is
    /// refused.
    epoch: std::sync::atomic::AtomicU64,
    /// The primary's last position heard of.
    remote: Mutex<Option<Position>>,
    started: Instant,
}

impl Replica {
    pub fn new(storage: Storage, primary: PrimaryClient, cluster_id: impl Into<String>) -> Self {
        Self {
            storage,
            primary,
            cluster_id: cluster_id.into(),
            position: Mutex::new(None),
            applied: tokio::sync::watch::channel(None).0,
            epoch: std::sync::atomic::AtomicU64::new(0),
            remote: Mutex::new(None),
            started: Instant::now(),
            status: Mutex::new(SyncStatus {
                state: "connecting".into(),
                ..SyncStatus::default()
            }),
        }
    }

    /// Refuses primaries of an epoch below `epoch`.
    pub fn with_epoch(self, epoch: u64) -> Self {
        self.epoch
            .store(epoch, std::sync::atomic::Ordering::Relaxed);
        self
    }

    /// The highest epoch seen of the primary.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn status(&self) -> SyncStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_status(&self, f: impl FnOnce(&mut SyncStatus)) {
        f(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Milliseconds since this secondary was last fully caught up (0 while it is).
    pub fn lag_ms(&self) -> u64 {
        self.status().lag_ms(self.started)
    }

    /// The primary stood at `primary` (or later) when last heard; `None`: only the
    /// position applied here moved.
    fn heard(&self, primary: Option<Position>) {
        let at = *self.position.lock().unwrap_or_else(|p| p.into_inner());
        let remote = {
            let mut remote = self.remote.lock().unwrap_or_else(|p| p.into_inner());
            match (primary, *remote) {
                // The same log: sequences only grow (answers may cross).
                (Some(p), Some(r)) if p.log_id == r.log_id => {
                    remote.replace(Position::new(p.log_id, p.seq.max(r.seq)));
                }
                (Some(p), _) => *remote = Some(p),
                (None, _) => {}
            }
            // What was applied here was on the primary too.
            if let (Some(a), Some(r)) = (at, *remote) {
                if a.log_id == r.log_id && a.seq > r.seq {
                    *remote = Some(a);
                }
            }
            *remote
        };
        let lag = remote.map_or(0, |r| wal_lag(r, at));
        self.set_status(|s| {
            let now = Instant::now();
            if primary.is_some() {
                s.heard_at = Some(now);
            }
            s.primary_last_wal = remote.map_or(0, |r| r.seq);
            s.wal_lag = lag;
            if lag == 0 && remote.is_some() {
                s.caught_up_at = Some(now);
            }
        });
    }

    /// Acknowledges the position applied here to the primary every [`ACK_EVERY`], and
    /// learns the primary's position from each answer. Never ends (the caller drops it).
    async fn acknowledge(&self) {
        let mut ticks = tokio::time::interval(ACK_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut rtt_ms = 0u64;
        loop {
            ticks.tick().await;
            // Nothing applied yet (bootstrapping): the primary's log at 0, so it still
            // hears from this secondary, lagging by the whole log.
            let applied = *self.position.lock().unwrap_or_else(|p| p.into_inner());
            let remote = *self.remote.lock().unwrap_or_else(|p| p.into_inner());
            let Some(at) = applied.or(remote.map(|r| Position::new(r.log_id, 0))) else {
                continue;
            };
            let ack = Ack {
                log_id: at.log_id,
                seq: at.seq,
                epoch: self.epoch(),
                rtt_ms,
            };
            let sent = Instant::now();
            match self.primary.ack(&ack).await {
                Ok(answer) => {
                    rtt_ms = u64::try_from(sent.elapsed().as_millis()).unwrap_or(u64::MAX);
                    self.heard(Some(Position::new(answer.log_id, answer.seq)));
                }
                Err(e) => tracing::debug!(error = %e, "acknowledgement not delivered"),
            }
        }
    }

    /// The position applied so far (in memory, else the recorded one if `barrier` can
    /// open it).
    pub async fn position(&self, barrier: Option<&Barrier>) -> Option<Position> {
        if let Some(p) = *self.position.lock().unwrap_or_else(|p| p.into_inner()) {
            return Some(p);
        }
        let barrier = barrier.filter(|b| !b.is_sealed())?;
        let bytes = barrier.get(POSITION_KEY).await.ok()??;
        let recorded: Position = serde_json::from_slice(&bytes).ok()?;
        *self.position.lock().unwrap_or_else(|p| p.into_inner()) = Some(recorded);
        Some(recorded)
    }

    /// Resolves once the primary's `position` is applied here (or a later position of
    /// another log: a resync brought everything up to date); false after `timeout`.
    pub async fn wait_remote(&self, position: Position, timeout: Duration) -> bool {
        let mut applied = self.applied.subscribe();
        let reached = async move {
            applied
                .wait_for(|p| {
                    p.is_some_and(|p| p.log_id != position.log_id || p.seq >= position.seq)
                })
                .await
                .is_ok()
        };
        tokio::time::timeout(timeout, reached)
            .await
            .unwrap_or(false)
    }

    fn forget_position(&self) {
        *self.position.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// `batch` with the record of `position` added (sealed by `barrier` when unsealed).
    fn with_position(batch: Batch, position: Position, barrier: Option<&Barrier>) -> Batch {
        let Some(barrier) = barrier.filter(|b| !b.is_sealed()) else {
            return batch;
        };
        let Ok(json) = serde_json::to_vec(&position) else {
            return batch;
        };
        match barrier.encrypt(POSITION_KEY, &json) {
            Ok(sealed) => batch.put(POSITION_KEY, sealed),
            Err(_) => batch,
        }
    }

    /// Commits `batch` through the storage stack, in a task of its own: a commit that
    /// has started is published and cached even if this replica is stopped meanwhile.
    async fn apply(&self, batch: Batch) -> Result<u64> {
        let physical = self.storage.physical();
        tokio::spawn(async move { physical.commit(batch).await })
            .await
            .map_err(|e| Error::Internal(format!("applying a batch: {e}")))?
            .map_err(Error::from)
    }

    async fn check_cluster(&self) -> Result<()> {
        let status = self.primary.status().await?;
        if status.cluster_id != self.cluster_id {
            return Err(Error::Forbidden(format!(
                "the primary at this address belongs to cluster {}, not {}",
                status.cluster_id, self.cluster_id
            )));
        }
        let known = self
            .epoch
            .fetch_max(status.epoch, std::sync::atomic::Ordering::Relaxed);
        if status.epoch < known {
            return Err(Error::Forbidden(format!(
                "the primary at this address is of epoch {}, older than {known}: it was \
                 replaced by a promotion",
                status.epoch
            )));
        }
        self.heard(Some(Position::new(status.log_id, status.seq)));
        Ok(())
    }

    /// Makes the replicated keys here equal to the primary's as of the position it
    /// returns (later changes may already be in; streaming from that position replays
    /// them in order and converges). Transfers grow with the difference.
    pub async fn merkle_sync(&self, barrier: Option<&Barrier>) -> Result<Position> {
        self.check_cluster().await?;
        // The first sync of a secondary (no position recorded yet) is its bootstrap.
        let bootstrap = self.position(barrier).await.is_none();
        self.set_status(|s| {
            s.state = if bootstrap {
                "bootstrapping"
            } else {
                "merkle-diff"
            }
            .into();
            s.sync_progress = 0;
            s.sync_total_keys = 0;
            s.merkle_syncs += 1;
        });
        let (position, theirs) = self.primary.merkle().await?;
        let mut ours =
            MerkleIndex::rebuild(self.storage.file.as_ref(), locality::replicated_filter()).await?;
        let buckets = diff_buckets(&ours.bucket_hashes(), &theirs)?;
        let mut keys: Vec<String> = Vec::new();
        for chunk in buckets.chunks(BUCKETS_PER_CALL) {
            let theirs = self.primary.bucket_keys(chunk).await?;
            for (&i, their_pairs) in chunk.iter().zip(&theirs) {
                let our_pairs: Vec<(String, Hash)> = ours.bucket(i);
                keys.extend(diff_keys(&our_pairs, their_pairs));
            }
        }
        // The keyring and the tables first: data sealed with a new term, or of a new
        // mount, is readable as soon as it lands.
        keys.sort_by(|a, b| {
            (!a.starts_with("core/"), a.as_str()).cmp(&(!b.starts_with("core/"), b.as_str()))
        });
        keys.retain(|k| locality::is_replicated(k));
        self.set_status(|s| {
            if !bootstrap {
                s.state = "merkle-sync".into();
            }
            s.sync_total_keys = keys.len() as u64;
        });
        for chunk in keys.chunks(VALUES_PER_CALL) {
            let changes = self.primary.values(chunk).await?;
            let mut batch = Batch::new();
            for Change { key, value } in changes {
                batch = match value {
                    Some(v) => batch.put(key, v),
                    None => batch.delete(key),
                };
            }
            self.apply(batch).await?;
            self.set_status(|s| s.sync_progress += chunk.len() as u64);
        }
        // Everything now equals the primary as of `position` or later: record it.
        let record = Self::with_position(Batch::new(), position, barrier);
        if !record.is_empty() {
            self.apply(record).await?;
        }
        *self.position.lock().unwrap_or_else(|p| p.into_inner()) = Some(position);
        self.applied.send_replace(Some(position));
        self.set_status(|s| {
            s.last_remote_wal = position.seq;
            s.primary_log_id = Some(position.log_id.to_string());
        });
        self.heard(Some(position));
        Ok(position)
    }

    /// Streams and applies changes after `from` until the stream cannot continue: `Ok`
    /// when the primary asks for a resync (the caller runs a Merkle sync), an error when
    /// the connection fails.
    pub async fn stream(&self, from: Position, barrier: Option<&Barrier>) -> Result<()> {
        self.check_cluster().await?;
        let mut frames = self.primary.stream(from).await?;
        // Connected again: the last cycle's error is over.
        self.set_status(|s| {
            s.state = "stream-wals".into();
            s.last_error = None;
        });
        let mut at = from;
        loop {
            match frames.next().await? {
                Frame::Batch(b) => {
                    if b.seq <= at.seq {
                        continue;
                    }
                    let next = Position::new(at.log_id, b.seq);
                    let mut batch = Batch::new();
                    for c in b.changes.iter() {
                        batch = match &c.value {
                            Some(v) => batch.put(c.key.clone(), v.clone()),
                            None => batch.delete(c.key.clone()),
                        };
                    }
                    let batch = Self::with_position(batch, next, barrier);
                    self.apply(batch).await?;
                    at = next;
                    *self.position.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
                    self.applied.send_replace(Some(at));
                    self.set_status(|s| s.last_remote_wal = b.seq);
                    self.heard(Some(at));
                }
                Frame::Position(seq) => {
                    if seq > at.seq {
                        // Nothing replicated in between: the position moves without a write.
                        at = Position::new(at.log_id, seq);
                        *self.position.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
                        self.applied.send_replace(Some(at));
                        self.set_status(|s| s.last_remote_wal = seq);
                    }
                    self.heard(Some(Position::new(at.log_id, seq)));
                }
                Frame::Resync(reason) => {
                    tracing::info!(%reason, "the primary cannot stream from here; Merkle sync");
                    self.forget_position();
                    return Ok(());
                }
            }
        }
    }

    /// Replicates until `stop` turns true: sync, stream, and again after every break,
    /// waiting a little longer after each failure (at most a few seconds); meanwhile
    /// acknowledges what it applied, at least once per heartbeat.
    pub async fn run(
        self: Arc<Self>,
        barrier: Option<Arc<Barrier>>,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        tokio::select! {
            _ = self.replicate(barrier, stop) => {}
            _ = self.acknowledge() => {}
        }
    }

    async fn replicate(
        &self,
        barrier: Option<Arc<Barrier>>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut backoff = Duration::from_millis(100);
        // After the primary asked for a resync, the recorded position is stale.
        let mut resync = false;
        loop {
            if *stop.borrow() {
                return;
            }
            let cycle = async {
                let from = match self.position(barrier.as_deref()).await {
                    Some(p) if !resync => p,
                    _ => self.merkle_sync(barrier.as_deref()).await?,
                };
                resync = false;
                self.stream(from, barrier.as_deref()).await
            };
            let outcome = tokio::select! {
                _ = stop.changed() => return,
                outcome = cycle => outcome,
            };
            match outcome {
                Ok(()) => {
                    resync = true;
                    backoff = Duration::from_millis(100);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "replication interrupted");
                    self.set_status(|s| {
                        s.state = "idle".into();
                        s.last_error = Some(e.to_string());
                    });
                    tokio::select! {
                        _ = stop.changed() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// A secondary's [`Forwarder`](crate::core::forward::Forwarder): writes go to the
/// primary, and come back through the replica before they are answered.
pub struct ReplicaForwarder {
    pub primary: PrimaryClient,
    pub replica: Arc<Replica>,
}

#[async_trait::async_trait]
impl crate::core::forward::Forwarder for ReplicaForwarder {
    async fn forward(
        &self,
        request: crate::core::forward::Forwarded,
    ) -> Result<crate::core::Response> {
        let (answer, position) = self.primary.forward(&request).await?;
        let mut response = answer.into_response();
        if !self
            .replica
            .wait_remote(position, crate::core::forward::FORWARD_WAIT)
            .await
        {
            response.warnings.push(
                "the write was applied on the primary, but has not reached this cluster \
                 yet: reads here may not show it for a moment"
                    .into(),
            );
        }
        Ok(response)
    }
}
