//! The storage benchmark's main table: each case's throughput, latency and CPU per op, and
//! its ratio to its floor against a target.

use super::Run;

pub enum Target {
    /// Throughput at least this multiple of the floor's.
    FasterBy(f64),
    /// Wall time per op at most this multiple of the floor's.
    SlowerAtMost(f64),
}

pub struct Row {
    case: String,
    run: Run,
    /// The floor's row and the target.
    vs: Option<(usize, Target)>,
    /// Extra time ratio against a second floor (gets vs. the spawn_blocking read floor).
    vs_alt: Option<usize>,
}

pub struct Table {
    pub rows: Vec<Row>,
    /// `VAULTRS_BENCH_ONLY`: run only the cases whose name contains one of these.
    pub only: Vec<String>,
}

impl Table {
    pub fn wants(&self, case: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| case.contains(o.as_str()))
    }

    pub fn add(&mut self, case: impl Into<String>, run: Run) -> usize {
        let case = case.into();
        eprintln!(
            "  {case:<36} {:>8} ops {:>10.0} ops/s {:>9.1} µs/op {:>8.1} µs CPU/op",
            run.ops,
            run.ops_per_sec(),
            run.us_per_op(),
            run.cpu_us()
        );
        self.rows.push(Row {
            case,
            run,
            vs: None,
            vs_alt: None,
        });
        self.rows.len() - 1
    }

    /// Compares `row` with `floor` (when that floor ran).
    pub fn compare(
        &mut self,
        row: usize,
        floor: Option<usize>,
        target: Target,
        alt: Option<usize>,
    ) {
        self.rows[row].vs = floor.map(|f| (f, target));
        self.rows[row].vs_alt = alt;
    }

    pub fn print(&self) {
        println!(
            "{:<36} {:>8} {:>10} {:>9} {:>9} {:>9}  {:<28} {:>7} {:>7} {:>4} {:>9}",
            "case",
            "ops",
            "ops/s",
            "µs/op",
            "lat µs",
            "CPU µs/op",
            "floor",
            "ratio",
            "target",
            "met",
            "vs sb"
        );
        println!(
            "{}",
            "-".repeat(36 + 9 + 11 + 10 + 10 + 10 + 30 + 8 + 8 + 5 + 10)
        );
        for row in &self.rows {
            let r = &row.run;
            let mut line = format!(
                "{:<36} {:>8} {:>10.0} {:>9.1} {:>9.1} {:>9.1}",
                row.case,
                r.ops,
                r.ops_per_sec(),
                r.us_per_op(),
                r.lat_us(),
                r.cpu_us()
            );
            if let Some((floor, target)) = &row.vs {
                let f = &self.rows[*floor];
                let (ratio, target_s, met) = match target {
                    Target::FasterBy(x) => {
                        let ratio = r.ops_per_sec() / f.run.ops_per_sec();
                        (ratio, format!("≥{x:.1}×"), ratio >= *x)
                    }
                    Target::SlowerAtMost(x) => {
                        let ratio = r.us_per_op() / f.run.us_per_op();
                        (ratio, format!("≤{x:.1}×"), ratio <= *x)
                    }
                };
                line += &format!(
                    "  {:<28} {:>6.2}× {:>7} {:>4}",
                    f.case,
                    ratio,
                    target_s,
                    if met { "yes" } else { "NO" }
                );
                if let Some(alt) = row.vs_alt {
                    let ratio = r.us_per_op() / self.rows[alt].run.us_per_op();
                    line += &format!(" {ratio:>8.2}×");
                }
            }
            println!("{line}");
        }
        println!();
        println!(
            "ops/s and µs/op are wall-clock throughput (µs/op = 1 / ops/s, over all workers);"
        );
        println!(
            "lat µs is the mean latency of one op; CPU µs/op is process CPU (all threads) per op."
        );
        println!(
            "ratio: writes = ops/s ÷ floor ops/s (higher is better); reads = µs/op ÷ floor µs/op"
        );
        println!("(lower is better). vs sb: reads' µs/op ÷ the spawn_blocking read floor's.");
    }
}
