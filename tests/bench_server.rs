//! Server benchmark: `vaultrs server -dev` side by side with a trivial axum server (the
//! floor: what HTTP alone costs here) and OpenBao's dev server (when a `bao` binary is on
//! PATH or at `.venv/bin/bao`), reported as ratios.
//!
//! Run with `cargo bench --bench server` (release build of the bench; the server is
//! `target/release/vaultrs`, built first if missing; `VAULTRS_BIN` overrides it).
//!
//! Per target: KV v2 preload of 10k keys (`secret/data/bench/k{i}`, ~100-byte values), a
//! timed phase of reads of random keys, and a timed phase of writes to random keys, each
//! with 32 concurrent keep-alive connections from a hand-rolled HTTP/1.1 client on one
//! thread (the load generator shares the machine's cores, so it is kept cheap). The floor
//! gets the same read pattern. Server CPU per request comes from `/proc/<pid>/stat`
//! (utime + stime) before and after each phase. Startup (exec → `sys/health` 200, median
//! of 5) and idle RSS are measured on separate fresh starts.
//!
//! Environment:
//! - `VAULTRS_BENCH_SECS`: length of each timed phase (default 5).
//! - `VAULTRS_BENCH_ONLY`: comma list of targets to run (`floor,vaultrs,bao`).
//! - `VAULTRS_BENCH_CLIENT_THREADS`: load-generator threads (default 1).
//! - `VAULTRS_BIN`, `VAULTRS_BENCH_BAO`: binaries to use instead of the defaults.
//! - `VAULTRS_BENCH_FLOOR=1`: internal; the bench re-executes itself with it to run the
//!   floor server in its own process (clean CPU accounting).
//!
//! Nothing is asserted: targets are printed beside the results.

#[path = "bench_support.rs"]
#[allow(dead_code)]
mod bench_support;
#[path = "bench_server/load.rs"]
mod load;
#[path = "bench_server/report.rs"]
mod report;
#[path = "bench_server/servers.rs"]
mod servers;

use std::process::Command;
use std::time::Duration;

use bench_support::{rss_kib, vaultrs_bin};
use load::{clock_ticks_per_sec, Bench, PhaseResult, Workload};
use report::report;
use servers::{bao_bin, floor_main, start, Bins, Kind};

/// Keys written before the timed phases.
const KEYS: usize = 10_000;
/// Concurrent connections (one request in flight on each).
const CONNS: usize = 32;
/// Fresh starts for the startup-time and idle-RSS figures.
const STARTS: usize = 5;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = std::result::Result<T, BoxError>;

fn main() {
    if std::env::var_os("VAULTRS_BENCH_FLOOR").is_some() {
        floor_main();
        return;
    }
    // Every server is owned by `run` and killed when it returns or unwinds.
    if let Err(e) = run() {
        eprintln!("server bench failed: {e}");
        std::process::exit(1);
    }
}

// ---- the run ------------------------------------------------------------------------------

struct Startup {
    healthy_ms: Vec<f64>,
    rss_kib: Vec<u64>,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Fresh starts: exec → healthy, then idle RSS after a short settle.
fn measure_startup(kind: Kind, bins: &Bins) -> Res<Startup> {
    let mut out = Startup {
        healthy_ms: Vec::new(),
        rss_kib: Vec::new(),
    };
    for _ in 0..STARTS {
        let mut server = start(kind, bins, false)?;
        let healthy = server.healthy_after.ok_or("no health check")?;
        out.healthy_ms.push(healthy.as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(500));
        server.check_alive()?;
        out.rss_kib.push(rss_kib(server.pid())?);
        drop(server);
    }
    Ok(out)
}

struct TargetResult {
    kind: Kind,
    phases: Vec<(&'static str, PhaseResult)>,
    startup: Option<Startup>,
}

impl TargetResult {
    fn phase(&self, name: &str) -> Option<&PhaseResult> {
        self.phases.iter().find(|(n, _)| *n == name).map(|(_, p)| p)
    }
}

fn bench_target(bench: &Bench, kind: Kind, bins: &Bins) -> Res<TargetResult> {
    eprintln!("-- {}", kind.name());
    let startup = if kind == Kind::Floor {
        None
    } else {
        Some(measure_startup(kind, bins)?)
    };
    let mut server = start(kind, bins, true)?;
    let mut phases = Vec::new();
    let warmup = (bench.secs / 5.0).clamp(0.2, 1.0);
    if kind == Kind::Floor {
        bench.phase(&mut server, Workload::Read, warmup)?;
    } else {
        let load = bench.phase(&mut server, Workload::Preload, 0.0)?;
        if load.errors > 0 {
            return Err(format!(
                "{}: {} of the preload writes failed ({})",
                kind.name(),
                load.errors,
                load.first_error.unwrap_or_default()
            )
            .into());
        }
        phases.push(("load 10k", load));
        bench.phase(&mut server, Workload::Read, warmup)?;
    }
    phases.push((
        "read",
        bench.phase(&mut server, Workload::Read, bench.secs)?,
    ));
    if kind != Kind::Floor {
        phases.push((
            "write",
            bench.phase(&mut server, Workload::Write, bench.secs)?,
        ));
    }
    server.check_alive()?;
    drop(server);
    Ok(TargetResult {
        kind,
        phases,
        startup,
    })
}

fn run() -> Res<()> {
    let secs: f64 = match std::env::var("VAULTRS_BENCH_SECS") {
        Ok(s) => s
            .parse()
            .map_err(|_| format!("VAULTRS_BENCH_SECS={s:?} is not a number"))?,
        Err(_) => 5.0,
    };
    let only: Option<Vec<String>> = std::env::var("VAULTRS_BENCH_ONLY")
        .ok()
        .map(|s| s.split(',').map(|t| t.trim().to_lowercase()).collect());
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|t| t == name));
    let client_threads: usize = std::env::var("VAULTRS_BENCH_CLIENT_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let rt = if client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(client_threads)
            .enable_all()
            .build()?
    };
    let bench = Bench {
        rt,
        ticks: clock_ticks_per_sec(),
        secs,
    };

    let bins = Bins {
        vaultrs: vaultrs_bin()?,
        bao: bao_bin(),
    };
    let mut kinds = Vec::new();
    if wanted("floor") {
        kinds.push(Kind::Floor);
    }
    if wanted("vaultrs") {
        kinds.push(Kind::Vaultrs);
    }
    let mut notes = Vec::new();
    match &bins.bao {
        Some(bao) if wanted("bao") => {
            let version = Command::new(bao)
                .arg("version")
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_default();
            notes.push(format!(
                "openbao: {} ({version}); dev mode keeps data in memory (no fsync)",
                bao.display()
            ));
            kinds.push(Kind::Bao);
        }
        Some(_) => {}
        None => notes.push(
            "openbao: skipped (no `bao` on PATH or at .venv/bin/bao; set VAULTRS_BENCH_BAO)".into(),
        ),
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!(
        "server bench: {secs} s per timed phase, {CONNS} connections, {KEYS} keys, \
         {client_threads} client thread(s), {cores} cores; vaultrs = {}",
        bins.vaultrs.display()
    );

    let mut results = Vec::new();
    for kind in kinds {
        results.push(bench_target(&bench, kind, &bins)?);
    }
    report(&results, &notes, secs, client_threads, cores);
    Ok(())
}
