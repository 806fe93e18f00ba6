//! Whether the client of a request is still waiting for its answer.
//!
//! Every HTTP request runs in a task of its own, so a client that goes away never cuts a
//! write off half way (see `http::handle`). Most work should indeed finish. Work that has
//! not started yet and only the client wants, such as a login waiting for a password
//! hashing thread, should not: a flood of clients that send a login and hang up would
//! otherwise keep the hashing threads busy for nobody. The HTTP layer marks the request's
//! task with the client's [`Presence`] ([`track`]); such work asks [`gone`].
//!
//! Outside a tracked task (internal work, unit tests) the client is never gone. Every
//! request pays for one small allocation and, only when something waits on it, one wake.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

#[derive(Debug, Default)]
struct Shared {
    gone: AtomicBool,
    /// Set by the first [`gone`] call, so a departure with nobody waiting wakes no one.
    watched: AtomicBool,
    notify: Notify,
}

tokio::task_local! {
    static CLIENT: Arc<Shared>;
}

/// Held while the client waits; dropping it (the client went away, or the answer was
/// sent) tells the tracked task.
#[derive(Debug)]
pub struct Presence(Arc<Shared>);

impl Drop for Presence {
    fn drop(&mut self) {
        self.0.gone.store(true, Ordering::SeqCst);
        // A waiter sets `watched` before it checks `gone`: either it sees `gone`, or
        // this sees `watched` and wakes it.
        if self.0.watched.load(Ordering::SeqCst) {
            self.0.notify.notify_waiters();
        }
    }
}

/// `work`, marked with a new client's presence: [`gone`] inside it resolves once the
/// returned [`Presence`] is dropped.
pub fn track<F: Future>(work: F) -> (Presence, impl Future<Output = F::Output>) {
    let shared = Arc::new(Shared::default());
    (Presence(shared.clone()), CLIENT.scope(shared, work))
}

/// Resolves when the client of the current task has gone; never outside a tracked task.
pub async fn gone() {
    let Ok(shared) = CLIENT.try_with(Arc::clone) else {
        return std::future::pending().await;
    };
    shared.watched.store(true, Ordering::SeqCst);
    loop {
        let notified = shared.notify.notified();
        tokio::pin!(notified);
        // Registered before the check, so a departure after it is not missed.
        notified.as_mut().enable();
        if shared.gone.load(Ordering::SeqCst) {
            return;
        }
        notified.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn gone_resolves_when_the_presence_is_dropped() {
        let (presence, work) = track(async {
            gone().await;
            "gone"
        });
        let task = tokio::spawn(work);
        tokio::task::yield_now().await;
        assert!(!task.is_finished());
        drop(presence);
        assert_eq!(task.await.unwrap(), "gone");
        // Asked after the departure, it is already gone.
        let (presence, work) = track(gone());
        drop(presence);
        work.await;
    }

    #[tokio::test]
    async fn never_gone_outside_a_tracked_task() {
        let untracked = tokio::spawn(gone());
        let (_presence, tracked) = track(async { tokio::spawn(gone()).await });
        // A task spawned from a tracked one is not tracked either.
        let nested = tokio::spawn(tracked);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!untracked.is_finished());
        assert!(!nested.is_finished());
        untracked.abort();
        nested.abort();
    }
}
