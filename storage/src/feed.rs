//! The change feed: every committed batch, in commit order, live and from the log's tail.
//!
//! [`ChangeFeed`] decorates a [`Physical`] backend. Each batch committed through it is
//! published as a [`Committed`] `(seq, [(key, Option<ciphertext>)])`. Commits finish out of
//! order under group commit, so finished batches wait in a small reorder buffer until
//! every earlier sequence has been published. A bounded ring keeps recent batches, seeded
//! at start from the backend's durable log tail, so a subscriber can resume from any
//! sequence still in the tail; older ones get [`Error::TooOld`] and fall back to a Merkle
//! diff. Keys travel with the data so the server can filter replicated from local keys.
//!
//! Every write must go through the decorator: a batch committed to the inner backend
//! directly would leave a gap that holds back every later publication.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::error::{Error, Result};
use crate::physical::{Batch, Committed, Physical, Seq};

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
    ring: VecDeque<Committed>,
    ring_bytes: usize,
    /// Finished commits waiting for an earlier sequence.
    pending: BTreeMap<Seq, Committed>,
    /// Highest sequence published.
    published: Seq,
}

impl State {
    /// The oldest sequence a subscriber can resume after: just before the ring's first
    /// batch, or the last published one when the ring is empty.
    fn oldest_resumable(&self) -> Seq {
        self.ring
            .front()
            .map_or(self.published, |c| c.seq.saturating_sub(1))
    }
}

/// A [`Physical`] decorator that publishes every committed batch. See the module docs.
pub struct ChangeFeed<P> {
    inner: P,
    options: FeedOptions,
    state: Mutex<State>,
    live: broadcast::Sender<Committed>,
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
        let tail = inner.log_tail().await?;
        let published = inner.last_seq();
        let (live, _) = broadcast::channel(options.live_capacity.max(1));
        let feed = Self {
            inner,
            options,
            state: Mutex::new(State {
                ring: VecDeque::new(),
                ring_bytes: 0,
                pending: BTreeMap::new(),
                published,
            }),
            live,
        };
        {
            let mut state = feed.lock();
            for batch in tail.into_iter().filter(|c| c.seq <= published) {
                feed.remember(&mut state, batch);
            }
        }
        Ok(feed)
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
            }
        }
    }

    /// The oldest sequence a subscriber can still resume after, i.e. `subscribe(after)`
    /// succeeds for every `after >= oldest_resumable()`.
    pub fn oldest_resumable(&self) -> Seq {
        self.lock().oldest_resumable()
    }

    /// The last published sequence.
    pub fn published(&self) -> Seq {
        self.lock().published
    }

    /// Subscribes to every batch after `after`: first those still in the ring, then live
    /// ones, without gaps or repeats. [`Error::TooOld`] when `after` has left the ring.
    pub fn subscribe(&self, after: Seq) -> Result<Subscription> {
        let state = self.lock();
        let oldest = state.oldest_resumable();
        if after < oldest || after > state.published {
            return Err(Error::TooOld {
                requested: after,
                oldest,
            });
        }
        let backlog = state
            .ring
            .iter()
            .filter(|c| c.seq > after)
            .cloned()
            .collect();
        // Subscribing under the lock that publishing holds: nothing slips in between.
        let live = self.live.subscribe();
        Ok(Subscription {
            backlog,
            live,
            next: after + 1,
        })
    }

    fn publish(&self, committed: Committed) {
        let mut state = self.lock();
        state.pending.insert(committed.seq, committed);
        loop {
            let next = state.published + 1;
            let Some(batch) = state.pending.remove(&next) else {
                break;
            };
            state.published = next;
            // No receiver is fine: nobody is streaming right now.
            let _ = self.live.send(batch.clone());
            self.remember(&mut state, batch);
        }
    }
}

/// A stream of committed batches in sequence order.
pub struct Subscription {
    backlog: VecDeque<Committed>,
    live: broadcast::Receiver<Committed>,
    next: Seq,
}

impl Subscription {
    /// The next batch. [`Error::Lagged`] when this subscriber fell too far behind; resubscribe
    /// (or run a Merkle diff) from the last sequence applied.
    pub async fn next(&mut self) -> Result<Committed> {
        loop {
            let batch = match self.backlog.pop_front() {
                Some(batch) => batch,
                None => match self.live.recv().await {
                    Ok(batch) => batch,
                    Err(broadcast::error::RecvError::Lagged(_)) => return Err(Error::Lagged),
                    Err(broadcast::error::RecvError::Closed) => return Err(Error::Poisoned),
                },
            };
            if batch.seq < self.next {
                continue; // already delivered from the backlog
            }
            if batch.seq > self.next {
                return Err(Error::Lagged);
            }
            self.next += 1;
            return Ok(batch);
        }
    }
}

#[async_trait]
impl<P: Physical> Physical for ChangeFeed<P> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.inner.list(prefix).await
    }

    async fn commit(&self, batch: Batch) -> Result<Seq> {
        let changes: Arc<[_]> = Arc::from(batch.changes.clone());
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

    async fn log_tail(&self) -> Result<Vec<Committed>> {
        Ok(self.lock().ring.iter().cloned().collect())
    }

    async fn checkpoint(&self) -> Result<()> {
        self.inner.checkpoint().await
    }
}
