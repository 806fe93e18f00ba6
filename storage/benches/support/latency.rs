//! The commit-latency phase of the storage benchmark: p50/p99/max of single commits from
//! 32 writers into a `FileBackend` that checkpoints often, beside the latency of the
//! durable per-file write floor over as long a run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use vaultrs_storage::physical::file::{SyncHook, SyncPoint};
use vaultrs_storage::{FileBackend, FileOptions};

use super::{physical_puts, Limits, Run, WRITERS};

/// Checkpoint thresholds of the commit-latency case: low, so its run holds many.
const LAT_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);
const LAT_CHECKPOINT_BYTES: u64 = 2 << 20;

/// Commit latency under load with checkpoints running: 32 tasks put 1 KiB values into a
/// backend that checkpoints every `LAT_CHECKPOINT_INTERVAL` or `LAT_CHECKPOINT_BYTES`;
/// returns the run and how many checkpoints finished during it.
pub async fn commit_latency(dir: PathBuf, limits: Limits, value: Arc<Vec<u8>>) -> (Run, u64) {
    let checkpoints = Arc::new(AtomicU64::new(0));
    let counter = checkpoints.clone();
    let hook: SyncHook = Arc::new(move |point, _: &Path| {
        if point == SyncPoint::Checkpoint {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    let options = FileOptions {
        checkpoint_interval: LAT_CHECKPOINT_INTERVAL,
        checkpoint_bytes: LAT_CHECKPOINT_BYTES,
        sync_hook: Some(hook),
        ..FileOptions::default()
    };
    let backend = Arc::new(
        FileBackend::open(dir, options)
            .await
            .expect("open FileBackend"),
    );
    let before = checkpoints.load(Ordering::Relaxed);
    let run = physical_puts(backend.clone(), "lat", WRITERS, limits, value).await;
    let during = checkpoints.load(Ordering::Relaxed) - before;
    backend.close().await.expect("close FileBackend");
    (run, during)
}

/// Latency percentiles; the first row is the floor the others are compared with.
#[derive(Default)]
pub struct LatencyTable {
    rows: Vec<(String, Run, Option<u64>)>,
}

impl LatencyTable {
    pub fn add(&mut self, case: String, run: Run, checkpoints: Option<u64>) {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        eprintln!(
            "  {case:<36} {:>8} ops  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            run.ops,
            ms(run.quantile(0.5)),
            ms(run.quantile(0.99)),
            ms(run.quantile(1.0))
        );
        self.rows.push((case, run, checkpoints));
    }

    pub fn print(&self) {
        if self.rows.is_empty() {
            return;
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{:<40} {:>8} {:>9} {:>9} {:>9} {:>9} {:>6}   {:>8} {:>8} {:>8}",
            "latency case",
            "ops",
            "ops/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "ckpts",
            "p50 ×",
            "p99 ×",
            "max ×"
        );
        println!("{}", "-".repeat(40 + 9 * 6 + 7 + 3 + 27));
        let floor = self.rows.first().filter(|r| r.2.is_none()).map(|r| &r.1);
        for (case, run, checkpoints) in &self.rows {
            let mut line = format!(
                "{case:<40} {:>8} {:>9.0} {:>9.2} {:>9.2} {:>9.2} {:>6}",
                run.ops,
                run.ops_per_sec(),
                ms(run.quantile(0.5)),
                ms(run.quantile(0.99)),
                ms(run.quantile(1.0)),
                checkpoints.map_or("-".to_owned(), |n| n.to_string())
            );
            if let (Some(f), Some(_)) = (floor, checkpoints) {
                let ratio =
                    |q: f64| run.quantile(q).as_secs_f64() / f.quantile(q).as_secs_f64().max(1e-9);
                line += &format!(
                    "   {:>7.2}× {:>7.2}× {:>7.2}×",
                    ratio(0.5),
                    ratio(0.99),
                    ratio(1.0)
                );
            }
            println!("{line}");
        }
        println!();
        println!(
            "Latency of single ops (each writer waits for its op before the next); ckpts: \
             checkpoints finished during the run; ×: ratio to the floor's percentile (lower is \
             better)."
        );
    }
}
