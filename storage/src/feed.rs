//! The change feed: every committed batch, in commit order, live and from the log's tail.
//!
//! [`ChangeFeed`] decorates a [`Physical`] backend. Each batch committed through it is
//! published as a [`Committed`] `(seq, [(key, Option<ciphertext>)])`. Commits finish out of
//! order under group commit, so finished batches wait in a small reorder buffer until
//! every earlier sequence has been published. A bounded ring keeps recent batches, seeded
//! at start from the backend's durable log tail, so a subscriber can resume from any
//! position still in the tail. Keys travel with the data so the server can filter
//! replicated from local keys.
//!
//! Positions are `(log id, seq)` ([`Position`]): the feed follows the backend's log id. A
//! subscriber whose position cannot be resumed gets [`Error::Resync`] and falls back to a
//! Merkle diff: a position in another log (the store was wiped or restored since), one
//! older than the ring, or one past the end. After a wipe or restore underneath the feed,
//! call [`ChangeFeed::reset`]: it re-seeds the feed from the backend, and live subscribers
//! of the old log get [`ResyncReason::LogReset`] once they have read what was published
//! before. (A feed that sees a commit land in a new log without a reset resets itself.)
//!
//! [`ChangeFeed::with_filter`] builds a feed of the replicated keys only (the server passes
//! its locality rule); a [`crate::MerkleIndex`] rebuilt with the same filter and kept
//! current from that feed covers exactly the same keys.
//!
//! Every write must go through the decorator: a batch committed to the inner backend
//! directly would leave a gap that holds back every later publication.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::error::{Error, Result, ResyncReason};
use crate::merkle::KeyFilter;
use crate::physical::{Batch, Committed, Physical, Seq};
use crate::position::{LogId, Position};

/// Bounds of the in-memory ring.
#[derive(Clone, Debug)]
pub struct FeedOptions {
    /// Most batches kept for late subscribers.
    pub max_batches: usize,
    /// Most value bytes kept for late subscribers.
    pub max_bytes: usize,
    /// Live batches a subscriber may fall behind before it is dropped ([`Error::Lagged`]).
    pub live_capacity: usize,
}

impl Default for FeedOptions {
    fn default() -> Self {
        Self {
            max_batches: 4096,
            max_bytes: 16 << 20,
            live_capacity: 1024,
        }
    }
}

struct State {
    /// The log the published sequence numbers count in.
    log_id: LogId,
    ring: VecDeque<Committed>,
    ring_bytes: usize,
    /// Finished commits waiting for an earlier sequence.
    pending: BTreeMap<Seq, Committed>,
    /// Highest sequence published.
    published: Seq,
    /// Every batch after `floor` is in the ring: the oldest sequence a subscriber can
    /// resume after.
    floor: Seq,
    /// Live delivery; replaced (so its receivers close) when the log is reset.
    live: broadcast::Sender<Committed>,
    /// Set when this log is reset, so its live subscribers learn why their channel closed.
    reset: Arc<AtomicBool>,
}

/// A [`Physical`] decorator that publishes every committed batch. See the module docs.
pub struct ChangeFeed<P> {
    inner: P,
    options: FeedOptions,
    /// Keys the feed carries (`None`: all).
    filter: Option<KeyFilter>,
    state: Mutex<State>,
}

/// `c` with only the changes `filter` accepts; `None` when that leaves nothing.
fn keep(filter: Option<&KeyFilter>, c: Committed) -> Option<Committed> {
    let Some(filter) = filter else {
        return Some(c);
    };
    if c.changes.iter().all(|ch| filter(&ch.key)) {
        return Some(c);
    }
    let changes: Arc<[_]> = c
        .changes
        .iter()
        .filter(|ch| filter(&ch.key))
        .cloned()
        .collect();
    (!changes.is_empty()).then_some(Committed {
        seq: c.seq,
        changes,
    })
}

fn batch_bytes(c: &Committed) -> usize {
    c.changes
        .iter()
        .map(|ch| ch.key.len() + ch.value.as_ref().map_or(0, Vec::len))
        .sum()
}

impl<P: Physical> ChangeFeed<P> {
    /// Wraps `inner`, seeding the ring with the backend's durable log tail.
    pub async fn new(inner: P, options: FeedOptions) -> Result<Self> {
        Self::build(inner, options, None).await
    }

    /// Like [`new`](Self::new), but the feed carries only the changes whose key `filter`
    /// accepts (replication passes its locality rule: replicated keys only). A batch with
    /// no accepted change is not delivered, so subscribers see gaps in the sequence
    /// numbers; the feed's [`position`](Self::position) still counts every batch.
    pub async fn with_filter(inner: P, options: FeedOptions, filter: KeyFilter) -> Result<Self> {
        Self::build(inner, options, Some(filter)).await
    }

    async fn build(inner: P, options: FeedOptions, filter: Option<KeyFilter>) -> Result<Self> {
        let state = Self::seed(&inner, &options, filter.as_ref()).await?;
        let feed = Self {
            inner,
            options,
            filter,
            state: Mutex::new(state),
        };
        {
            let mut state = feed.lock();
            let tail = std::mem::take(&mut state.ring);
            let published = state.published;
            for batch in tail.into_iter().filter(|c| c.seq <= published) {
                feed.remember(&mut state, batch);
            }
        }
        Ok(feed)
    }

    /// A state at the backend's current position, with its durable tail (not yet bounded)
    /// in the ring.
    async fn seed(inner: &P, options: &FeedOptions, filter: Option<&KeyFilter>) -> Result<State> {
        let log_id = inner.log_id();
        let tail = inner.log_tail().await?;
        let published = inner.last_seq();
        let (live, _) = broadcast::channel(options.live_capacity.max(1));
        // The tail is contiguous and ends at `published` (or is empty).
        let floor = tail
            .first()
            .filter(|_| tail.last().is_some_and(|l| l.seq == published))
            .map_or(published, |c| c.seq.saturating_sub(1));
        let ring = tail
            .into_iter()
            .filter(|c| c.seq > floor && c.seq <= published)
            .filter_map(|c| keep(filter, c))
            .collect();
        Ok(State {
            log_id,
            ring,
            ring_bytes: 0,
            pending: BTreeMap::new(),
            published,
            floor,
            live,
            reset: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Starts over from the backend's current log, after a wipe or restore underneath:
    /// the ring is re-seeded from the backend's tail, and live subscribers of the old log
    /// get [`ResyncReason::LogReset`] after what was published before.
    pub async fn reset(&self) -> Result<()> {
        let mut fresh = Self::seed(&self.inner, &self.options, self.filter.as_ref()).await?;
        let tail = std::mem::take(&mut fresh.ring);
        let mut state = self.lock();
        state.reset.store(true, Ordering::Release);
        *state = fresh;
        for batch in tail {
            self.remember(&mut state, batch);
        }
        Ok(())
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn remember(&self, state: &mut State, batch: Committed) {
        state.ring_bytes += batch_bytes(&batch);
        state.ring.push_back(batch);
        while state.ring.len() > self.options.max_batches
            || (state.ring_bytes > self.options.max_bytes && state.ring.len() > 1)
        {
            if let Some(old) = state.ring.pop_front() {
                state.ring_bytes -= batch_bytes(&old);
                state.floor = old.seq;
            }
        }
    }

    /// The oldest sequence a subscriber can still resume after, in the log of
    /// [`position`](Self::position): `subscribe` succeeds for every sequence from there to
    /// the last published one.
    pub fn oldest_resumable(&self) -> Seq {
        self.lock().floor
    }

    /// The last published sequence.
    pub fn published(&self) -> Seq {
        self.lock().published
    }

    /// The log id and the last published sequence.
    pub fn position(&self) -> Position {
        let state = self.lock();
        Position::new(state.log_id, state.published)
    }

    /// Subscribes to every batch after `after`: first those still in the ring, then live
    /// ones, without gaps or repeats. [`Error::Resync`] when `after` is in another log, has
    /// left the ring, or is past the last published batch.
    pub fn subscribe(&self, after: Position) -> Result<Subscription> {
        let state = self.lock();
        if after.log_id != state.log_id {
            return Err(Error::resync(ResyncReason::OtherLog {
                asked: after.log_id,
                current: state.log_id,
            }));
        }
        if after.seq > state.published {
            return Err(Error::resync(ResyncReason::Ahead {
                requested: after.seq,
                last: state.published,
            }));
        }
        if after.seq < state.floor {
            return Err(Error::resync(ResyncReason::TooOld {
                requested: after.seq,
                oldest: state.floor,
            }));
        }
        let backlog = state
            .ring
            .iter()
            .filter(|c| c.seq > after.seq)
            .cloned()
            .collect();
        // Subscribing under the lock that publishing holds: nothing slips in between.
        let live = state.live.subscribe();
        Ok(Subscription {
            gaps: self.filter.is_some(),
            log_id: state.log_id,
            backlog,
            live,
            reset: state.reset.clone(),
            next: after.seq + 1,
        })
    }

    fn publish(&self, committed: Committed) {
        let log_id = self.inner.log_id();
        let mut state = self.lock();
        if log_id != state.log_id {
            // Committed into a new log that nobody announced with `reset`: start over at
            // this batch (commits never race a wipe or restore, so it is the first one).
            tracing::warn!(%log_id, "the change feed's log was replaced underneath it");
            state.reset.store(true, Ordering::Release);
            let (live, _) = broadcast::channel(self.options.live_capacity.max(1));
            let floor = committed.seq.saturating_sub(1);
            *state = State {
                log_id,
                ring: VecDeque::new(),
                ring_bytes: 0,
                pending: BTreeMap::new(),
                published: floor,
                floor,
                live,
                reset: Arc::new(AtomicBool::new(false)),
            };
        }
        state.pending.insert(committed.seq, committed);
        loop {
            let next = state.published + 1;
            let Some(batch) = state.pending.remove(&next) else {
                break;
            };
            state.published = next;
            if batch.changes.is_empty() {
                continue; // nothing the filter accepts
            }
            // No receiver is fine: nobody is streaming right now.
            let _ = state.live.send(batch.clone());
            self.remember(&mut state, batch);
        }
    }
}

/// A stream of committed batches of one log, in sequence order.
pub struct Subscription {
    /// Whether sequence numbers may skip (a filtered feed).
    gaps: bool,
    log_id: LogId,
    backlog: VecDeque<Committed>,
    live: broadcast::Receiver<Committed>,
    reset: Arc<AtomicBool>,
    next: Seq,
}

impl Subscription {
    /// The log this subscription follows.
    pub fn log_id(&self) -> LogId {
        self.log_id
    }

    /// The next batch. [`Error::Lagged`] when this subscriber fell too far behind; resubscribe
    /// (or run a Merkle diff) from the last sequence applied. [`Error::Resync`]
    /// ([`ResyncReason::LogReset`]) once every batch of this log has been delivered and the
    /// log was reset.
    pub async fn next(&mut self) -> Result<Committed> {
        loop {
            let batch = match self.backlog.pop_front() {
                Some(batch) => batch,
                None => match self.live.recv().await {
                    Ok(batch) => batch,
                    Err(broadcast::error::RecvError::Lagged(_)) => return Err(Error::Lagged),
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(if self.reset.load(Ordering::Acquire) {
                            Error::resync(ResyncReason::LogReset)
                        } else {
                            Error::Poisoned
                        })
                    }
                },
            };
            if batch.seq < self.next {
                continue; // already delivered from the backlog
            }
            if batch.seq > self.next && !self.gaps {
                return Err(Error::Lagged);
            }
            self.next = batch.seq + 1;
            return Ok(batch);
        }
    }
}

#[async_trait]
impl<P: Physical> Physical for ChangeFeed<P> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(key).await
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>> {
        self.inner.get_many(keys).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.inner.list(prefix).await
    }

    async fn commit(&self, batch: Batch) -> Result<Seq> {
        // Only what the feed carries is copied.
        let changes: Arc<[_]> = match &self.filter {
            None => Arc::from(batch.changes.clone()),
            Some(filter) => batch
                .changes
                .iter()
                .filter(|c| filter(&c.key))
                .cloned()
                .collect(),
        };
        let seq = self.inner.commit(batch).await?;
        self.publish(Committed { seq, changes });
        Ok(seq)
    }

    async fn keys(&self) -> Result<Vec<String>> {
        self.inner.keys().await
    }

    fn last_seq(&self) -> Seq {
        self.inner.last_seq()
    }

    fn log_id(&self) -> LogId {
        self.inner.log_id()
    }

    async fn log_tail(&self) -> Result<Vec<Committed>> {
        Ok(self.lock().ring.iter().cloned().collect())
    }

    async fn checkpoint(&self) -> Result<()> {
        self.inner.checkpoint().await
    }
}
