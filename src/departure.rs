//! Whether the client of a request is still waiting for its answer.
//!
//! Every HTTP request runs in a task of its own, so a client that goes away never cuts a
//! write off half way (see `http::handle`). Most work should indeed finish. Work that has
//! not started yet and only the client wants, such as a login waiting for a password
//! hashing thread, should not: a flood of clients that send a login and hang up would
//! otherwise keep the hashing threads busy for nobody. The HTTP layer marks the request's
//! task with the client's [`Presence`] ([`track`]); such work asks [`gone`].
//!
//! Outside a tracked task (internal work, unit tests) the client is never gone.

use std::future::Future;

use tokio::sync::watch;

tokio::task_local! {
    static CLIENT: watch::Receiver<()>;
}

/// Held while the client waits; dropping it (the client went away, or the answer was
/// sent) tells the tracked task.
#[derive(Debug)]
pub struct Presence {
    _sender: watch::Sender<()>,
}

/// `work`, marked with a new client's presence: [`gone`] inside it resolves once the
/// returned [`Presence`] is dropped.
pub fn track<F: Future>(work: F) -> (Presence, impl Future<Output = F::Output>) {
    let (tx, rx) = watch::channel(());
    (Presence { _sender: tx }, CLIENT.scope(rx, work))
}

/// Resolves when the client of the current task has gone; never outside a tracked task.
pub async fn gone() {
    match CLIENT.try_with(watch::Receiver::clone) {
        // `changed` fails once the sender is dropped; nothing is ever sent on it.
        Ok(mut rx) => while rx.changed().await.is_ok() {},
        Err(_) => std::future::pending().await,
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
