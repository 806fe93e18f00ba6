//! Figures the storage layer keeps about its own work, for whoever reports them (the
//! server's metrics): plain atomics, cheap enough for every commit, with no notion of
//! metric names or formats.
//!
//! [`Histogram`] is a fixed set of buckets plus the sum, minimum and maximum of what it
//! recorded; [`FileStats`] holds the file backend's histograms (commit latency, log
//! fsyncs, group and batch sizes, checkpoints).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the duration buckets, in nanoseconds: 50 µs to 10 s.
pub const DURATION_BOUNDS_NS: &[u64] = &[
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// Upper bounds of the size buckets (items per batch or group): 1 to 4096.
pub const SIZE_BOUNDS: &[u64] = &[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/// What a histogram counts: durations (recorded in nanoseconds) or sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Nanoseconds,
    Count,
}

/// Counts of recorded values by bucket, with their sum, minimum and maximum. Recording is
/// lock-free: one bucket, the sum, and the minimum and maximum when they move.
#[derive(Debug)]
pub struct Histogram {
    unit: Unit,
    bounds: &'static [u64],
    /// One per bound, then one for everything above the last.
    buckets: Box<[AtomicU64]>,
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
}

impl Histogram {
    /// A histogram of durations ([`DURATION_BOUNDS_NS`]).
    pub fn durations() -> Self {
        Self::new(Unit::Nanoseconds, DURATION_BOUNDS_NS)
    }

    /// A histogram of sizes ([`SIZE_BOUNDS`]).
    pub fn sizes() -> Self {
        Self::new(Unit::Count, SIZE_BOUNDS)
    }

    /// A histogram with buckets up to each of `bounds` (ascending) and one above them.
    pub fn new(unit: Unit, bounds: &'static [u64]) -> Self {
        Self {
            unit,
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
        }
    }

    /// Records `value` (nanoseconds for durations). The sum saturates.
    pub fn record(&self, value: u64) {
        let i = self.bounds.partition_point(|b| *b < value);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        // A sum of u64::MAX nanoseconds is 584 years: it saturates rather than wraps (one
        // atomic add, not a compare loop, on the request path).
        let before = self.sum.fetch_add(value, Ordering::Relaxed);
        if before.checked_add(value).is_none() {
            self.sum.store(u64::MAX, Ordering::Relaxed);
        }
        if value < self.min.load(Ordering::Relaxed) {
            self.min.fetch_min(value, Ordering::Relaxed);
        }
        if value > self.max.load(Ordering::Relaxed) {
            self.max.fetch_max(value, Ordering::Relaxed);
        }
    }

    /// Records a duration (saturating at `u64::MAX` nanoseconds).
    pub fn record_duration(&self, d: Duration) {
        self.record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// The figures now. Taken bucket by bucket while recording goes on, so the count may be
    /// a value or two off the sum; never torn within one figure.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let count = counts.iter().fold(0u64, |a, c| a.saturating_add(*c));
        HistogramSnapshot {
            unit: self.unit,
            bounds: self.bounds,
            counts,
            count,
            sum: self.sum.load(Ordering::Relaxed),
            min: (count > 0).then(|| self.min.load(Ordering::Relaxed)),
            max: (count > 0).then(|| self.max.load(Ordering::Relaxed)),
        }
    }
}

/// A histogram's figures at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistogramSnapshot {
    pub unit: Unit,
    /// Upper bounds of all buckets but the last.
    pub bounds: &'static [u64],
    /// Values per bucket (not cumulative), one more than `bounds`.
    pub counts: Vec<u64>,
    pub count: u64,
    pub sum: u64,
    pub min: Option<u64>,
    pub max: Option<u64>,
}

/// What the file backend records about its work.
#[derive(Debug)]
pub struct FileStats {
    /// From handing a batch to the writer to its acknowledgment (durable and visible).
    pub commit: Histogram,
    /// One `fdatasync` of the commit log (durable backends only).
    pub log_sync: Histogram,
    /// Batches per group commit (one log append and one fsync).
    pub group_batches: Histogram,
    /// Key changes per committed batch.
    pub batch_changes: Histogram,
    /// One checkpoint: waiting for the applier, syncing the tree, recording it.
    pub checkpoint: Histogram,
    /// Checkpoints that failed.
    pub checkpoint_failures: AtomicU64,
}

impl Default for FileStats {
    fn default() -> Self {
        Self {
            commit: Histogram::durations(),
            log_sync: Histogram::durations(),
            group_batches: Histogram::sizes(),
            batch_changes: Histogram::sizes(),
            checkpoint: Histogram::durations(),
            checkpoint_failures: AtomicU64::new(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_the_first_bucket_that_holds_them() {
        let h = Histogram::new(Unit::Count, &[1, 10, 100]);
        for v in [0, 1, 2, 10, 11, 100, 101, u64::MAX] {
            h.record(v);
        }
        let s = h.snapshot();
        assert_eq!(s.counts, [2, 2, 2, 2]);
        assert_eq!(s.count, 8);
        assert_eq!(s.sum, u64::MAX, "the sum saturates");
        assert_eq!((s.min, s.max), (Some(0), Some(u64::MAX)));
    }

    #[test]
    fn an_empty_histogram_has_no_extremes() {
        let s = Histogram::durations().snapshot();
        assert_eq!((s.count, s.sum, s.min, s.max), (0, 0, None, None));
        assert_eq!(s.counts.len(), DURATION_BOUNDS_NS.len() + 1);
        let h = Histogram::durations();
        h.record_duration(Duration::from_millis(3));
        let s = h.snapshot();
        assert_eq!(s.counts[6], 1, "3 ms is at most 5 ms");
        assert_eq!((s.min, s.max), (Some(3_000_000), Some(3_000_000)));
    }
}
