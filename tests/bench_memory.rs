//! Memory benchmark (issue 13 item 10): does a flood of userpass logins and user writes
//! keep the server's resident memory bounded, and does the memory come back afterwards?
//!
//! Each argon2id hash works in 19 MiB. The server hashes on a fixed set of threads (one per
//! core), each in a mapping of its own that it unmaps once the queue is empty; an older
//! server hashed on whatever blocking thread was free, and the allocator kept those
//! blocks (a fresh server reached 732 MiB).
//!
//! Per target: `vaultrs server -dev` with a durable data directory; its idle RSS a second
//! after start; then `userpass` with 16 users (token TTL 30 s, so the tokens the flood
//! creates expire and are revoked as it goes) and a flood from several keep-alive
//! connections, each cycling through a correct login, a wrong password, an unknown user
//! and a user write (a password hash) until the time is up. RSS (`/proc/<pid>/status`
//! `VmRSS`) is sampled every half second; the report shows idle, peak, median and the
//! figure two seconds after the flood, the timeline, and the goal: peak within 2x the
//! idle figure plus the configured caches (the storage read cache and the change feed's
//! tail, which fill with the flood's tokens and leases, and the hashing threads' working
//! memory, 19 MiB each).
//!
//! Run with `cargo bench --bench memory` (the server is `target/release/vaultrs`, built
//! first if missing).
//!
//! Environment:
//! - `VAULTRS_BENCH_SECS`: length of the flood (default 60; the issue's figure is 600).
//! - `VAULTRS_BENCH_CONNS`: concurrent connections (default 8).
//! - `VAULTRS_BENCH_BASELINE`: another server binary (say, one built before the hashing
//!   threads) to flood the same way, reported beside the first.
//! - `VAULTRS_BIN`: the server binary to use instead of `target/release/vaultrs`.
//!
//! Nothing is asserted: the goal is printed beside the figures.

#[path = "bench_support.rs"]
#[allow(dead_code)]
mod bench_support;
use bench_support::{rss_kib, vaultrs_bin, Client, DevServer, Res};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Users the flood logs in as.
const USERS: usize = 16;
const PASSWORD: &str = "correct-horse-battery-staple";
/// Working memory of one argon2id hash (the server's `m_cost`), MiB.
const HASH_MIB: f64 = 19.0;
/// How often RSS is sampled during the flood.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

fn main() {
    if let Err(e) = run() {
        eprintln!("memory bench failed: {e}");
        std::process::exit(1);
    }
}

fn env_num(name: &str, default: f64) -> Res<f64> {
    match std::env::var(name) {
        Ok(s) => Ok(s
            .trim()
            .parse()
            .map_err(|_| format!("{name}={s:?} is not a number"))?),
        Err(_) => Ok(default),
    }
}

/// What happened to the requests of one kind.
#[derive(Default)]
struct Tally {
    done: AtomicU64,
    /// Answers other than the expected status.
    unexpected: AtomicU64,
}

/// The flood's request kinds, with the status each must get.
const KINDS: [(&str, u16); 4] = [
    ("login", 200),
    ("wrong password", 400),
    ("unknown user", 400),
    ("user write", 204),
];

struct Outcome {
    name: String,
    idle_kib: u64,
    samples: Vec<(Duration, u64)>,
    after_kib: u64,
    tallies: Vec<Tally>,
    elapsed: Duration,
    first_unexpected: Option<String>,
}

impl Outcome {
    fn peak_kib(&self) -> u64 {
        self.samples.iter().map(|s| s.1).max().unwrap_or(0)
    }

    fn median_kib(&self) -> u64 {
        let mut v: Vec<u64> = self.samples.iter().map(|s| s.1).collect();
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0)
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn expect(client: &mut Client, method: &str, path: &str, body: &str, want: u16) -> Res<()> {
    let (status, body_out) = client.request(method, path, Some("root"), Some(body))?;
    if status != want {
        return Err(format!(
            "{method} {path}: {status} {}",
            String::from_utf8_lossy(&body_out)
        )
        .into());
    }
    Ok(())
}

fn set_up(client: &mut Client) -> Res<()> {
    expect(
        client,
        "POST",
        "/v1/sys/auth/userpass",
        r#"{"type":"userpass"}"#,
        204,
    )?;
    for i in 0..USERS {
        expect(
            client,
            "POST",
            &format!("/v1/auth/userpass/users/u{i}"),
            &format!(r#"{{"password":"{PASSWORD}","token_ttl":"30s"}}"#),
            204,
        )?;
    }
    Ok(())
}

fn request(out: &mut Vec<u8>, host: &str, kind: usize, conn: usize, n: u64) {
    let user = (conn + n as usize) % USERS;
    let (path, token, body) = match kind {
        0 => (
            format!("/v1/auth/userpass/login/u{user}"),
            None,
            format!(r#"{{"password":"{PASSWORD}"}}"#),
        ),
        1 => (
            format!("/v1/auth/userpass/login/u{user}"),
            None,
            r#"{"password":"not-the-password"}"#.to_owned(),
        ),
        2 => (
            format!("/v1/auth/userpass/login/nobody{n}"),
            None,
            format!(r#"{{"password":"{PASSWORD}"}}"#),
        ),
        _ => (
            format!("/v1/auth/userpass/users/w{conn}-{}", n % 4),
            Some("root"),
            format!(r#"{{"password":"{PASSWORD}-{n}"}}"#),
        ),
    };
    out.clear();
    let _ = write!(out, "POST {path} HTTP/1.1\r\nHost: {host}\r\n");
    if let Some(token) = token {
        let _ = write!(out, "X-Vault-Token: {token}\r\n");
    }
    let _ = write!(
        out,
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
}

/// One connection's loop until `deadline`.
fn flood(
    addr: std::net::SocketAddr,
    conn: usize,
    deadline: Instant,
    tallies: &[Tally],
) -> Res<Option<String>> {
    let mut client = Client::connect(addr)?;
    let host = addr.to_string();
    let mut req = Vec::with_capacity(512);
    let mut first_unexpected = None;
    let mut n = 0u64;
    while Instant::now() < deadline {
        let kind = (n % KINDS.len() as u64) as usize;
        request(&mut req, &host, kind, conn, n);
        let (status, _) = client.timed_round_trip(&req)?;
        tallies[kind].done.fetch_add(1, Ordering::Relaxed);
        if status != KINDS[kind].1 {
            tallies[kind].unexpected.fetch_add(1, Ordering::Relaxed);
            first_unexpected.get_or_insert_with(|| {
                format!(
                    "{}: {status} {}",
                    KINDS[kind].0,
                    String::from_utf8_lossy(&client.body)
                )
            });
        }
        n += 1;
    }
    Ok(first_unexpected)
}

fn measure(name: &str, bin: &Path, secs: f64, conns: usize) -> Res<Outcome> {
    eprintln!("-- {name}: {}", bin.display());
    let mut server = DevServer::start(bin)?;
    let pid = server.pid();
    std::thread::sleep(Duration::from_secs(1));
    let idle_kib = rss_kib(pid)?;
    set_up(&mut Client::connect(server.addr)?)?;
    eprintln!("   idle {:.1} MiB; flooding for {secs} s", mib(idle_kib));

    let tallies: Arc<Vec<Tally>> = Arc::new(KINDS.iter().map(|_| Tally::default()).collect());
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let workers: Vec<_> = (0..conns)
        .map(|conn| {
            let tallies = tallies.clone();
            let addr = server.addr;
            std::thread::spawn(move || flood(addr, conn, deadline, &tallies))
        })
        .collect();
    let mut samples = Vec::new();
    while Instant::now() < deadline {
        samples.push((start.elapsed(), rss_kib(pid)?));
        std::thread::sleep(SAMPLE_EVERY);
    }
    let mut first_unexpected = None;
    for worker in workers {
        let found = worker.join().map_err(|_| "a flood thread panicked")??;
        first_unexpected = first_unexpected.or(found);
    }
    let elapsed = start.elapsed();
    samples.push((elapsed, rss_kib(pid)?));
    std::thread::sleep(Duration::from_secs(2));
    server.check_alive()?;
    let after_kib = rss_kib(pid)?;
    let tallies = Arc::try_unwrap(tallies).map_err(|_| "tallies still shared")?;
    Ok(Outcome {
        name: name.to_owned(),
        idle_kib,
        samples,
        after_kib,
        tallies,
        elapsed,
        first_unexpected,
    })
}

fn report(outcomes: &[Outcome], secs: f64, conns: usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mib_of = |bytes: f64| bytes / (1 << 20) as f64;
    let cache_mib = mib_of(vaultrs::storage::CacheOptions::default().max_bytes as f64);
    let feed_mib = mib_of(vaultrs::storage::FeedOptions::default().max_bytes as f64);
    let hashing_mib = cores as f64 * HASH_MIB;
    println!();
    println!(
        "vaultrs memory bench: {secs} s flood of userpass logins and user writes, {conns} \
         connections, {cores} cores"
    );
    println!();
    println!(
        "{:<10} {:>9} {:>9} {:>9} {:>10} {:>9} {:>11}",
        "target", "idle MiB", "peak MiB", "p50 MiB", "after MiB", "req/s", "unexpected"
    );
    for o in outcomes {
        let done: u64 = o
            .tallies
            .iter()
            .map(|t| t.done.load(Ordering::Relaxed))
            .sum();
        let bad: u64 = o
            .tallies
            .iter()
            .map(|t| t.unexpected.load(Ordering::Relaxed))
            .sum();
        println!(
            "{:<10} {:>9.1} {:>9.1} {:>9.1} {:>10.1} {:>9.1} {:>11}",
            o.name,
            mib(o.idle_kib),
            mib(o.peak_kib()),
            mib(o.median_kib()),
            mib(o.after_kib),
            done as f64 / o.elapsed.as_secs_f64(),
            bad
        );
        let kinds: Vec<String> = KINDS
            .iter()
            .zip(&o.tallies)
            .map(|((name, _), t)| format!("{name} {}", t.done.load(Ordering::Relaxed)))
            .collect();
        println!("{:<10}   requests: {}", "", kinds.join(", "));
        if let Some(e) = &o.first_unexpected {
            println!("{:<10}   first unexpected answer: {e}", "");
        }
    }
    println!();
    println!("RSS over time, MiB:");
    for o in outcomes {
        let step = (o.samples.len() / 12).max(1);
        let points: Vec<String> = o
            .samples
            .iter()
            .step_by(step)
            .map(|(t, kib)| format!("{:.0}s {:.0}", t.as_secs_f64(), mib(*kib)))
            .collect();
        println!("  {:<10} {}", o.name, points.join(" | "));
    }
    println!();
    println!(
        "configured caches: storage read cache {cache_mib:.0} MiB, change-feed tail \
         {feed_mib:.0} MiB of values; hashing threads {cores} x {HASH_MIB:.0} MiB = \
         {hashing_mib:.0} MiB (held only while hashes are queued)"
    );
    for o in outcomes {
        let limit = 2.0 * mib(o.idle_kib) + cache_mib + feed_mib + hashing_mib;
        let peak = mib(o.peak_kib());
        println!(
            "  {}: peak {peak:.1} MiB vs 2 x idle + caches = {limit:.1} MiB: {}; after the \
             flood {:.1} MiB ({:+.1} MiB over idle)",
            o.name,
            if peak <= limit { "MET" } else { "MISSED" },
            mib(o.after_kib),
            mib(o.after_kib) - mib(o.idle_kib)
        );
    }
}

fn run() -> Res<()> {
    let secs = env_num("VAULTRS_BENCH_SECS", 60.0)?;
    let conns = env_num("VAULTRS_BENCH_CONNS", 8.0)?.max(1.0) as usize;
    let mut targets = vec![("vaultrs".to_owned(), vaultrs_bin()?)];
    if let Some(bin) = std::env::var_os("VAULTRS_BENCH_BASELINE") {
        targets.push(("baseline".to_owned(), PathBuf::from(bin)));
    }
    let mut outcomes = Vec::new();
    for (name, bin) in &targets {
        outcomes.push(measure(name, bin, secs, conns)?);
    }
    report(&outcomes, secs, conns);
    Ok(())
}
