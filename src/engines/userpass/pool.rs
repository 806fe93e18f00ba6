//! The password hashing threads: a fixed number of them, each hashing into one block of
//! memory of its own, fed from one first-in first-out queue.
//!
//! An argon2 hash needs 19 MiB of working memory. Hashed on whatever thread is free (the
//! blocking pool), each of those threads' allocator arenas kept its blocks once freed: a
//! login flood left a fresh server at 732 MiB. Here the memory is bounded and returned:
//!
//! - at most `workers` hashes run at once (one per core by default), so at most `workers`
//!   blocks exist;
//! - a block is an anonymous memory mapping, not a heap allocation: a worker keeps its
//!   block while the queue has work for it and unmaps it (the pages go back to the system,
//!   whatever the allocator) as soon as the queue is empty;
//! - waiting requests are served in arrival order, and a request that gave up while
//!   queued (its client went away: [`crate::departure`]) is skipped without hashing.

use std::collections::VecDeque;
use std::ptr::NonNull;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use argon2::Block;
use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// What a queued job does with a worker's memory.
trait Job: Send {
    /// Whether nobody waits for the result any more (then it is skipped).
    fn abandoned(&self) -> bool;
    fn run(self: Box<Self>, memory: Result<&mut [Block]>);
}

/// A job whose result a request awaits.
struct Awaited<F, T> {
    work: F,
    reply: oneshot::Sender<Result<T>>,
}

impl<F, T> Job for Awaited<F, T>
where
    F: FnOnce(&mut [Block]) -> Result<T> + Send,
    T: Send,
{
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }

    fn run(self: Box<Self>, memory: Result<&mut [Block]>) {
        let _ = self.reply.send(memory.and_then(self.work));
    }
}

/// A job nobody awaits (warming up), run whatever happens.
struct Detached<F>(F);

impl<F: FnOnce(&mut [Block]) + Send> Job for Detached<F> {
    fn abandoned(&self) -> bool {
        false
    }

    fn run(self: Box<Self>, memory: Result<&mut [Block]>) {
        if let Ok(memory) = memory {
            (self.0)(memory);
        }
    }
}

/// How busy the pool is, for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Jobs waiting for a worker.
    pub queued: usize,
    /// Jobs a worker is running.
    pub running: usize,
    /// Blocks of working memory mapped now.
    pub blocks: usize,
    /// Jobs dropped unrun since start because nobody waited for them any more.
    pub abandoned: u64,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Box<dyn Job>>,
    running: usize,
    blocks: usize,
    abandoned: u64,
    /// The pool was dropped: workers end once the queue is empty.
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    /// Blocks of argon2 memory each worker's mapping holds.
    block_count: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fixed set of hashing threads (see the module doc). The threads end once the pool is
/// dropped and its queue is empty.
pub struct HashPool {
    shared: Arc<Shared>,
}

impl Drop for HashPool {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_all();
    }
}

impl HashPool {
    /// A pool of `workers` threads (at least one), each hashing in `block_count` argon2
    /// blocks (1 KiB each) of memory.
    pub fn new(workers: usize, block_count: usize) -> Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            block_count,
        });
        for i in 0..workers.max(1) {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("vaultrs-hash-{i}"))
                .spawn(move || work(&shared))
                .map_err(|e| Error::Internal(format!("starting a hashing thread: {e}")))?;
        }
        Ok(Self { shared })
    }

    /// Runs `work` on a hashing thread with that thread's memory, once the jobs queued
    /// before it have been taken. If the request's client goes away while the job waits,
    /// the job is dropped unrun and this answers [`Error::Unavailable`].
    pub async fn run<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce(&mut [Block]) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        self.push(Box::new(Awaited { work, reply }));
        tokio::select! {
            result = result => {
                result.map_err(|_| Error::Internal("a hashing thread is gone".into()))?
            }
            () = crate::departure::gone() => Err(Error::Unavailable(
                "the client went away before its password was checked".into(),
            )),
        }
    }

    /// Queues `work` and returns at once; it runs even though nobody waits for it.
    pub fn spawn(&self, work: impl FnOnce(&mut [Block]) + Send + 'static) {
        self.push(Box::new(Detached(work)));
    }

    pub fn stats(&self) -> PoolStats {
        let state = self.shared.lock();
        PoolStats {
            queued: state.jobs.len(),
            running: state.running,
            blocks: state.blocks,
            abandoned: state.abandoned,
        }
    }

    fn push(&self, job: Box<dyn Job>) {
        self.shared.lock().jobs.push_back(job);
        self.shared.work.notify_one();
    }
}

/// A worker: takes jobs in order, maps its memory for the first one and unmaps it when
/// the queue runs dry. Ends when the pool is dropped and nothing is queued.
fn work(shared: &Shared) {
    let mut memory: Option<Blocks> = None;
    loop {
        let job = {
            let mut state = shared.lock();
            loop {
                if let Some(job) = state.jobs.pop_front() {
                    if job.abandoned() {
                        state.abandoned = state.abandoned.saturating_add(1);
                        continue;
                    }
                    state.running += 1;
                    break Some(job);
                }
                if memory.is_some() || state.closed {
                    break None;
                }
                state = shared
                    .work
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        let Some(job) = job else {
            // Nothing more to do for now: give the memory back before waiting (or ending).
            if memory.take().is_none() {
                return;
            }
            shared.lock().blocks -= 1;
            continue;
        };
        if memory.is_none() {
            match Blocks::map(shared.block_count) {
                Ok(blocks) => {
                    memory = Some(blocks);
                    shared.lock().blocks += 1;
                }
                Err(e) => tracing::error!(error = %e, "cannot map password hashing memory"),
            }
        }
        let memory_for_job = memory
            .as_mut()
            .map(Blocks::as_mut_slice)
            .ok_or_else(|| Error::Unavailable("no memory for password hashing right now".into()));
        job.run(memory_for_job);
        shared.lock().running -= 1;
    }
}

/// `len` argon2 blocks in an anonymous private mapping of their own: zeroed when mapped,
/// returned to the system when dropped, whatever the allocator does with its heap.
struct Blocks {
    ptr: NonNull<Block>,
    len: usize,
}

// SAFETY: `Blocks` owns its mapping exclusively, like a `Box<[Block]>`.
unsafe impl Send for Blocks {}

impl Blocks {
    fn bytes(len: usize) -> usize {
        len.saturating_mul(std::mem::size_of::<Block>()).max(1)
    }

    fn map(len: usize) -> std::io::Result<Self> {
        // SAFETY: a new anonymous private mapping: no file, no address hint, nothing else
        // refers to it.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                Self::bytes(len),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast::<Block>())
            .ok_or_else(|| std::io::Error::other("mmap returned a null mapping"))?;
        Ok(Self { ptr, len })
    }

    fn as_mut_slice(&mut self) -> &mut [Block] {
        // SAFETY: the mapping is page-aligned (more than `Block`'s 64 bytes), `len` blocks
        // long, zero-filled by the kernel (all-zero bytes are a valid `Block`: it is an
        // array of integers) and owned by `self`, which this borrow borrows mutably.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Blocks {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, of that size, unmapped once.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), Self::bytes(self.len)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Waits (on the test's thread) until `done` holds of the pool's stats; fails the
    /// test if it never does.
    fn settle(pool: &HashPool, done: impl Fn(PoolStats) -> bool) -> PoolStats {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let stats = pool.stats();
            if done(stats) {
                return stats;
            }
            assert!(std::time::Instant::now() < deadline, "stuck at {stats:?}");
            std::thread::yield_now();
        }
    }

    /// A job that blocks its worker until the returned sender is dropped or used.
    fn blocker(pool: &HashPool) -> std::sync::mpsc::Sender<()> {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        pool.spawn(move |_| {
            let _ = rx.recv();
        });
        tx
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_run_in_arrival_order_with_zeroed_memory_that_is_given_back() {
        let pool = Arc::new(HashPool::new(1, 8).unwrap());
        let release = blocker(&pool);
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for i in 0..5 {
            let (pool, order) = (pool.clone(), order.clone());
            waiting.push(async move {
                pool.run(move |memory: &mut [Block]| {
                    assert_eq!(memory.len(), 8);
                    assert!(memory.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)));
                    order.lock().unwrap().push(i);
                    Ok(i)
                })
                .await
            });
        }
        // Every job is queued behind the blocker before any runs.
        let all = futures_util::future::join_all(waiting);
        let all = tokio::spawn(all);
        settle(&pool, |s| s.running == 1 && s.blocks == 1);
        drop(release);
        let results: Vec<usize> = all.await.unwrap().into_iter().map(Result::unwrap).collect();
        assert_eq!(results, [0, 1, 2, 3, 4]);
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4]);
        // Idle again: the memory is unmapped.
        let stats = settle(&pool, |s| s.running == 0 && s.blocks == 0);
        assert_eq!(stats, PoolStats::default());
    }

    #[test]
    fn at_most_one_job_per_worker_runs_at_once() {
        let pool = HashPool::new(2, 1).unwrap();
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        for _ in 0..40 {
            let (now, most, done) = (now.clone(), most.clone(), done_tx.clone());
            pool.spawn(move |_| {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                for _ in 0..1000 {
                    std::hint::spin_loop();
                }
                now.fetch_sub(1, Ordering::SeqCst);
                let _ = done.send(());
            });
        }
        for _ in 0..40 {
            done_rx.recv().unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 2);
        settle(&pool, |s| s == PoolStats::default());
    }

    // Spawned tasks must run while the test thread waits in `settle`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_whose_client_left_gives_its_place_back_unrun() {
        let pool = Arc::new(HashPool::new(1, 1).unwrap());
        let release = blocker(&pool);
        let ran = Arc::new(AtomicUsize::new(0));
        // A login whose client hangs up while it waits behind the blocker.
        let (presence, leaving) = crate::departure::track({
            let (pool, ran) = (pool.clone(), ran.clone());
            async move {
                pool.run(move |_| {
                    ran.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })
                .await
            }
        });
        let leaving = tokio::spawn(leaving);
        settle(&pool, |s| s.queued == 1);
        drop(presence);
        assert!(matches!(leaving.await.unwrap(), Err(Error::Unavailable(_))));
        // One that stays is served next; the abandoned job never runs.
        let staying = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(|_| Ok("served")).await }
        });
        settle(&pool, |s| s.queued == 2);
        drop(release);
        assert_eq!(staying.await.unwrap().unwrap(), "served");
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        let stats = settle(&pool, |s| s.blocks == 0);
        assert_eq!((stats.queued, stats.abandoned), (0, 1));
    }
}
