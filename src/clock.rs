//! The clock token TTLs and leases are measured against, injectable so tests never wait
//! for one to run out.
//!
//! A server reads the system clock ([`Clock::system`], the default). A test builds its
//! core with a [`Clock::manual`] one, which stands still at the instant it was given until
//! the test [`Clock::advance`]s it: a token issued with a 2 s TTL is alive after
//! `advance(1.99 s)` and gone after `advance(2 s)`, on a loaded machine as on an idle
//! one, and the expiration manager, which waits for the next expiry, wakes up when the
//! clock moves. Only what the token store and the expiration manager decide reads this
//! clock; timestamps that are records (audit lines, KV versions) read the system clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The system clock, or a manual one shared by every clone.
#[derive(Clone, Debug, Default)]
pub struct Clock(Option<Arc<Manual>>);

#[derive(Debug)]
struct Manual {
    /// Nanoseconds since the Unix epoch.
    nanos: AtomicU64,
    /// Bumped on every advance; waiters watch it.
    moved: tokio::sync::watch::Sender<u64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that reads `start` until it is advanced.
    pub fn manual(start: SystemTime) -> Self {
        let nanos = start
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Self(Some(Arc::new(Manual {
            nanos: AtomicU64::new(nanos),
            moved: tokio::sync::watch::channel(0).0,
        })))
    }

    /// Moves a manual clock forward by `by` (saturating); the system clock ignores it.
    pub fn advance(&self, by: Duration) {
        if let Some(manual) = &self.0 {
            let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
            manual
                .nanos
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    Some(n.saturating_add(by))
                })
                .ok();
            manual.moved.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// The time since the Unix epoch (zero for a system clock set before it).
    pub fn since_epoch(&self) -> Duration {
        match &self.0 {
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
            Some(manual) => Duration::from_nanos(manual.nanos.load(Ordering::Acquire)),
        }
    }

    /// Whole seconds since the Unix epoch.
    pub fn unix_now(&self) -> u64 {
        self.since_epoch().as_secs()
    }

    /// Seconds since the Unix epoch, rounded up: expiry times are whole seconds, and a TTL
    /// counted from here is never cut short by the fraction of the current second.
    pub fn unix_now_ceil(&self) -> u64 {
        let now = self.since_epoch();
        now.as_secs() + u64::from(now.subsec_nanos() > 0)
    }

    /// Whole seconds left until the unix time `at` (0 once it has passed), counted from
    /// the exact current time, so a TTL measured from [`Clock::unix_now_ceil`] reads back
    /// unchanged.
    pub fn secs_until(&self, at: u64) -> u64 {
        Duration::from_secs(at)
            .saturating_sub(self.since_epoch())
            .as_secs()
    }

    /// A waiter for the clock's next advance, from now on: take it before reading the
    /// time, so an advance in between is not missed.
    pub fn watch(&self) -> Advance {
        Advance(self.0.as_ref().map(|manual| manual.moved.subscribe()))
    }
}

/// Waits for a manual clock's next advance (see [`Clock::watch`]).
#[derive(Debug)]
pub struct Advance(Option<tokio::sync::watch::Receiver<u64>>);

impl Advance {
    /// Resolves once the clock was advanced after the waiter was taken; never for the
    /// system clock (whose time passes on its own: wait on a timer for it).
    pub async fn wait(self) {
        match self.0 {
            None => std::future::pending().await,
            Some(mut moved) => {
                // Fails only when the clock is gone, and then nothing will move it.
                if moved.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let start = UNIX_EPOCH + Duration::from_millis(1_000_850);
        let clock = Clock::manual(start);
        assert_eq!(clock.unix_now(), 1000);
        assert_eq!(clock.unix_now_ceil(), 1001);
        assert_eq!(clock.secs_until(1003), 2, "2.15 s left reads 2");
        let shared = clock.clone();
        shared.advance(Duration::from_millis(150));
        assert_eq!(clock.unix_now(), 1001);
        assert_eq!(clock.unix_now_ceil(), 1001);
        assert_eq!(clock.secs_until(1003), 2);
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.secs_until(1003), 0);
        clock.advance(Duration::MAX);
        assert_eq!(clock.since_epoch(), Duration::from_nanos(u64::MAX));
        // The system clock ignores advances.
        let system = Clock::system();
        system.advance(Duration::from_secs(3600));
        assert!(system.unix_now() < clock.unix_now());
    }

    #[tokio::test]
    async fn waiters_wake_when_the_clock_moves() {
        let clock = Clock::manual(SystemTime::now());
        let waiter = tokio::spawn(clock.watch().wait());
        clock.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("the waiter woke")
            .unwrap();
    }
}
