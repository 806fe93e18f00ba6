//! Timing side-channel benchmark, dudect-style (RELIABILITY.md rows I7 and G9): can an
//! attacker tell apart, by response time alone,
//!
//! - userpass logins for a user that does not exist (`bob`) and for a user that exists
//!   with a wrong password (`alice`);
//! - token checks on `GET /v1/secret/data/x` with (1) a random unknown token (`hvs.` + 24
//!   base62 characters), (2) an unknown token sharing a long prefix with a real one, and
//!   (3) a real token (only the `default` policy) that has no permission on the path.
//!
//! A token store that looked unknown tokens up in storage would pay a file-system read the
//! first time one is presented and a cache lookup afterwards (the storage cache remembers
//! misses); vaultrs refuses unknown tokens from an in-memory set of hashes instead. The
//! token tests come in two sets, so that such a cache effect would not be mistaken for a
//! prefix or existence effect, or hidden behind one:
//!
//! - seen before (steady state): (1) drawn from a pool of 61 random tokens vs (2) the 61
//!   tokens that are the real token with its last character replaced (27-character common
//!   prefix), and (1) vs (3). Every pooled token is presented once before the test.
//! - first sight (an attacker's guesses): (1) a fresh random token per sample vs (2) the
//!   real token with its last 4 characters replaced, never the same twice (24-character
//!   common prefix; one replaced character gives only 61 distinct tokens), and fresh
//!   (1) vs (3).
//!
//! It also checks (I7) that every answer within a group is byte-identical in status and
//! body: all failed logins answer alike, and all three kinds of token answer alike.
//!
//! Method: `target/release/vaultrs server -dev` with a durable `-dev-data-dir` in a
//! temporary directory; one blocking keep-alive HTTP/1.1 connection from a hand-rolled
//! client; each sample is the time (`Instant`) around writing one request and reading its
//! whole response. Per test, the two classes are interleaved in a random order (dudect: a
//! random class for every sample, with equal counts), the first 5% of the samples are
//! dropped as warm-up, and Welch's t-statistic between the two classes' latencies is
//! computed on all samples and again after cropping both at the 50th, 75th, 90th, 95th
//! and 99th percentile of the pooled samples (dudect's way of removing the noisy tail).
//! The largest |t| is compared with the threshold of G9, 4.5. On an idle VM a round trip
//! is dominated by waking the sleeping client and server threads (~85 µs per token check
//! on the 2-core dev machine, ~10 µs while other work keeps its cores awake), which sets
//! the noise floor; a difference has to stand out of that.
//!
//! Run with `cargo bench --bench timing` (the server is `target/release/vaultrs`, built
//! first if missing; build it yourself to measure current sources).
//!
//! Environment:
//! - `VAULTRS_TIMING_LOGIN_SAMPLES`: samples per class for the login test (default 2000;
//!   each login runs one argon2id verification, ~10–30 ms: about 1.5 minutes).
//! - `VAULTRS_TIMING_TOKEN_SAMPLES`: samples per class for each token pair (default
//!   200000: 40 s or so per pair). G9 asks for 10⁶: `VAULTRS_TIMING_TOKEN_SAMPLES=1000000`
//!   reproduces the full figure (about 15 minutes; `VAULTRS_TIMING_LOGIN_SAMPLES=1000000`
//!   would take days).
//! - `VAULTRS_TIMING_ONLY`: comma list of tests to run (`login,token`).
//! - `VAULTRS_TIMING_SEED`: seed of the sample order and the random tokens (default: the
//!   clock; printed either way).
//! - `VAULTRS_BIN`: the server binary to use instead of `target/release/vaultrs`.
//!
//! Nothing about timing is asserted (the machine is shared and noisy; a benchmark reports,
//! it does not judge): each test prints its |t| and a verdict. The process exits non-zero
//! only when the server cannot be started or set up, or when answers that must be
//! byte-identical are not.

#[path = "bench_support.rs"]
#[allow(dead_code)]
mod bench_support;
use bench_support::{vaultrs_bin, Client, DevServer as Server};
use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// G9's bar for |t|.
const T_THRESHOLD: f64 = 4.5;
/// Share of each test's samples dropped as warm-up.
const WARMUP_FRACTION: f64 = 0.05;
/// Percentiles of the pooled samples at which both classes are cropped.
const CROP_PERCENTILES: [f64; 5] = [0.50, 0.75, 0.90, 0.95, 0.99];
const DEFAULT_LOGIN_SAMPLES: usize = 2_000;
const DEFAULT_TOKEN_SAMPLES: usize = 200_000;
/// alice's real password, and the wrong one every timed login sends.
const ALICE_PASSWORD: &str = "correct-horse-battery-staple";
const WRONG_PASSWORD: &str = "not-the-password-of-anyone!!";
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = std::result::Result<T, BoxError>;

fn main() {
    match run() {
        Ok(0) => {}
        Ok(mismatches) => {
            eprintln!(
                "timing bench: {mismatches} answer(s) differed where they must be \
                 byte-identical (see above)"
            );
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("timing bench failed: {e}");
            std::process::exit(1);
        }
    }
}

// ---- statistics ---------------------------------------------------------------------------

/// Mean and unbiased variance.
fn mean_var(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = xs.iter().sum::<f64>() / n;
    let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
    (mean, if xs.len() > 1 { ss / (n - 1.0) } else { 0.0 })
}

/// Welch's t-statistic between two samples.
fn welch_t(a: &[f64], b: &[f64]) -> f64 {
    let (ma, va) = mean_var(a);
    let (mb, vb) = mean_var(b);
    let se = (va / a.len() as f64 + vb / b.len() as f64).sqrt();
    if se > 0.0 {
        (ma - mb) / se
    } else if ma == mb {
        0.0
    } else {
        f64::INFINITY
    }
}

/// The `p` quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

struct Stats {
    n: [usize; 2],
    mean_us: [f64; 2],
    median_us: [f64; 2],
    t_raw: f64,
    /// (percentile, |t| of the samples at or below the pooled percentile, per class count)
    cropped: Vec<(f64, f64, [usize; 2])>,
}

impl Stats {
    fn of(a: &[f64], b: &[f64]) -> Self {
        let (sa, sb) = (sorted(a), sorted(b));
        let mut pooled: Vec<f64> = a.iter().chain(b).copied().collect();
        pooled.sort_by(|x, y| x.total_cmp(y));
        let cropped = CROP_PERCENTILES
            .iter()
            .map(|&p| {
                let cut = quantile(&pooled, p);
                let ca: Vec<f64> = a.iter().copied().filter(|x| *x <= cut).collect();
                let cb: Vec<f64> = b.iter().copied().filter(|x| *x <= cut).collect();
                (p, welch_t(&ca, &cb).abs(), [ca.len(), cb.len()])
            })
            .collect();
        Stats {
            n: [a.len(), b.len()],
            mean_us: [mean_var(a).0 / 1e3, mean_var(b).0 / 1e3],
            median_us: [quantile(&sa, 0.5) / 1e3, quantile(&sb, 0.5) / 1e3],
            t_raw: welch_t(a, b).abs(),
            cropped,
        }
    }

    /// The largest |t|, raw or cropped, and where it came from.
    fn max_t(&self) -> (f64, String) {
        let mut best = (self.t_raw, "raw".to_owned());
        for (p, t, _) in &self.cropped {
            if *t > best.0 || t.is_nan() {
                best = (*t, format!("cropped at p{:.0}", p * 100.0));
            }
        }
        best
    }
}

// ---- the measurement ----------------------------------------------------------------------

/// The answer every request of a group must give, byte for byte, and what differed.
struct Expect {
    group: &'static str,
    status: Option<u16>,
    body: Vec<u8>,
    /// Set by the first answer: the class that gave it.
    first_class: String,
    mismatches: u64,
    examples: Vec<String>,
}

impl Expect {
    fn new(group: &'static str) -> Self {
        Expect {
            group,
            status: None,
            body: Vec::new(),
            first_class: String::new(),
            mismatches: 0,
            examples: Vec::new(),
        }
    }

    fn check(&mut self, class: &str, status: u16, body: &[u8]) {
        match self.status {
            None => {
                self.status = Some(status);
                self.body = body.to_vec();
                self.first_class = class.to_owned();
            }
            Some(s) if s == status && self.body == body => {}
            Some(_) => {
                self.mismatches += 1;
                if self.examples.len() < 5 {
                    self.examples.push(format!(
                        "{class}: {status} {}",
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    ));
                }
            }
        }
    }

    fn report(&self) {
        let Some(status) = self.status else { return };
        let body = String::from_utf8_lossy(&self.body);
        if self.mismatches == 0 {
            println!(
                "  I7 {}: every answer identical: {status} {}",
                self.group,
                body.trim_end()
            );
        } else {
            println!(
                "  I7 {}: {} answer(s) DIFFER from the first ({}: {status} {})",
                self.group,
                self.mismatches,
                self.first_class,
                body.trim_end()
            );
            for e in &self.examples {
                println!("     e.g. {}", e.trim_end());
            }
        }
    }
}

/// One dudect test between two classes of request.
struct Test<'a> {
    name: &'a str,
    labels: [&'a str; 2],
    samples: usize,
}

/// Runs `test`: `build(class, rng, out)` writes the request of one sample of `class`
/// (0 or 1) into `out`; every answer is checked against `expect`. The latencies (ns) of
/// each class, warm-up dropped.
fn measure(
    client: &mut Client,
    test: &Test<'_>,
    rng: &mut StdRng,
    expect: &mut Expect,
    mut build: impl FnMut(usize, &mut StdRng, &mut Vec<u8>),
) -> Res<[Vec<f64>; 2]> {
    let mut order: Vec<u8> = std::iter::repeat_n(0u8, test.samples)
        .chain(std::iter::repeat_n(1u8, test.samples))
        .collect();
    order.shuffle(rng);
    let warmup = (order.len() as f64 * WARMUP_FRACTION).round() as usize;
    let mut out = [
        Vec::with_capacity(test.samples),
        Vec::with_capacity(test.samples),
    ];
    let mut req = Vec::with_capacity(512);
    let started = Instant::now();
    let mut next_progress = started + Duration::from_secs(10);
    for (i, &class) in order.iter().enumerate() {
        let class = class as usize;
        build(class, rng, &mut req);
        let (status, elapsed) = client.timed_round_trip(&req)?;
        expect.check(test.labels[class], status, &client.body);
        if i >= warmup {
            out[class].push(elapsed.as_nanos() as f64);
        }
        if Instant::now() >= next_progress {
            next_progress += Duration::from_secs(10);
            eprintln!(
                "   {}: {}/{} samples, {:.0} s",
                test.name,
                i + 1,
                order.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(out)
}

fn print_result(test: &Test<'_>, stats: &Stats, wall: Duration) {
    println!();
    println!(
        "{} ({} samples per class, random order, first {:.0}% dropped as warm-up; {:.1} s)",
        test.name,
        test.samples,
        WARMUP_FRACTION * 100.0,
        wall.as_secs_f64()
    );
    let width = test
        .labels
        .iter()
        .map(|l| l.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "  {:<width$} {:>9} {:>12} {:>12}",
        "class", "samples", "mean µs", "median µs"
    );
    for c in 0..2 {
        println!(
            "  {:<width$} {:>9} {:>12.2} {:>12.2}",
            test.labels[c], stats.n[c], stats.mean_us[c], stats.median_us[c]
        );
    }
    let crops: Vec<String> = stats
        .cropped
        .iter()
        .map(|(p, t, _)| format!("p{:.0} {t:.2}", p * 100.0))
        .collect();
    println!(
        "  |t| raw {:.2}; cropped: {}",
        stats.t_raw,
        crops.join(", ")
    );
    let (max_t, at) = stats.max_t();
    let verdict = if max_t < T_THRESHOLD {
        format!("no leak detected (|t| < {T_THRESHOLD})")
    } else {
        format!("POSSIBLE LEAK (|t| ≥ {T_THRESHOLD})")
    };
    println!("  max |t| {max_t:.2} ({at}): {verdict}");
}

// ---- set-up -------------------------------------------------------------------------------

fn expect_status(what: &str, got: (u16, Vec<u8>), want: u16) -> Res<Vec<u8>> {
    if got.0 != want {
        return Err(format!(
            "{what}: expected {want}, got {} {}",
            got.0,
            String::from_utf8_lossy(&got.1)
        )
        .into());
    }
    Ok(got.1)
}

/// Enables userpass with user `alice`, checks her real login works, and creates a token
/// with only the `default` policy; that token.
fn set_up(client: &mut Client) -> Res<String> {
    let root = Some("root");
    expect_status(
        "enabling userpass",
        client.request(
            "POST",
            "/v1/sys/auth/userpass",
            root,
            Some(r#"{"type":"userpass"}"#),
        )?,
        204,
    )?;
    expect_status(
        "creating alice",
        client.request(
            "POST",
            "/v1/auth/userpass/users/alice",
            root,
            Some(&format!(r#"{{"password":"{ALICE_PASSWORD}"}}"#)),
        )?,
        204,
    )?;
    expect_status(
        "alice's login with her password",
        client.request(
            "POST",
            "/v1/auth/userpass/login/alice",
            None,
            Some(&format!(r#"{{"password":"{ALICE_PASSWORD}"}}"#)),
        )?,
        200,
    )?;
    let body = expect_status(
        "creating a default-policy token",
        client.request(
            "POST",
            "/v1/auth/token/create",
            root,
            Some(r#"{"policies":["default"]}"#),
        )?,
        200,
    )?;
    let v: serde_json::Value = serde_json::from_slice(&body)?;
    let token = v["auth"]["client_token"]
        .as_str()
        .ok_or("no auth.client_token in the token/create answer")?
        .to_owned();
    if !token.is_ascii() || token.len() < 5 {
        return Err(format!("unexpected token shape: {token:?}").into());
    }
    // The token is real but may not read the path: 403, as an unknown token.
    expect_status(
        "the default-policy token on secret/data/x",
        client.request("GET", "/v1/secret/data/x", Some(&token), None)?,
        403,
    )?;
    Ok(token)
}

// ---- the run ------------------------------------------------------------------------------

fn env_count(name: &str, default: usize) -> Res<usize> {
    match std::env::var(name) {
        Ok(s) => {
            let n: usize = s
                .trim()
                .parse()
                .map_err(|_| format!("{name}={s:?} is not a count"))?;
            if n < 20 {
                return Err(format!("{name}={n}: at least 20 samples per class").into());
            }
            Ok(n)
        }
        Err(_) => Ok(default),
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into())
}

fn random_token(rng: &mut StdRng) -> String {
    let mut t = String::from("hvs.");
    for _ in 0..24 {
        t.push(BASE62[rng.gen_range(0..BASE62.len())] as char);
    }
    t
}

/// The kinds of token of the token tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    /// Random unknown tokens from a small pool, each presented before.
    SeenRandom,
    /// The real token with its last character replaced (all such tokens, a small pool),
    /// each presented before.
    SeenNearMiss,
    /// The real token: it exists, but its `default` policy denies the path.
    Real,
    /// A random unknown token never presented before.
    FreshRandom,
    /// The real token with its last [`FRESH_SUFFIX`] characters replaced, never presented
    /// before (one replaced character gives too few distinct tokens).
    FreshNearMiss,
}

/// Characters replaced at the end of the real token for [`Tok::FreshNearMiss`].
const FRESH_SUFFIX: usize = 4;

struct Tokens {
    real: String,
    seen_random: Vec<String>,
    seen_near: Vec<String>,
    /// Suffixes (as indexes in base 62) already used by [`Tok::FreshNearMiss`].
    used_suffixes: std::collections::HashSet<u32>,
}

impl Tokens {
    fn new(real: String, rng: &mut StdRng) -> Self {
        let prefix = &real[..real.len() - 1];
        let last = real.as_bytes()[real.len() - 1];
        let seen_near: Vec<String> = BASE62
            .iter()
            .filter(|c| **c != last)
            .map(|c| format!("{prefix}{}", *c as char))
            .collect();
        // As many random tokens as near misses, so both pools repeat alike.
        let seen_random = (0..seen_near.len()).map(|_| random_token(rng)).collect();
        Tokens {
            real,
            seen_random,
            seen_near,
            used_suffixes: Default::default(),
        }
    }

    fn label(&self, kind: Tok) -> String {
        let len = self.real.len();
        match kind {
            Tok::SeenRandom => "unknown, random, seen before".into(),
            Tok::SeenNearMiss => format!("unknown, {}-char prefix of real, seen before", len - 1),
            Tok::Real => "real token, no permission".into(),
            Tok::FreshRandom => "unknown, random, never seen".into(),
            Tok::FreshNearMiss => format!(
                "unknown, {}-char prefix of real, never seen",
                len - FRESH_SUFFIX
            ),
        }
    }

    /// The tokens to present once before a test with `kind` (none for fresh kinds).
    fn pool(&self, kind: Tok) -> Vec<String> {
        match kind {
            Tok::SeenRandom => self.seen_random.clone(),
            Tok::SeenNearMiss => self.seen_near.clone(),
            Tok::Real => vec![self.real.clone()],
            Tok::FreshRandom | Tok::FreshNearMiss => Vec::new(),
        }
    }

    fn next(&mut self, kind: Tok, rng: &mut StdRng) -> String {
        match kind {
            Tok::SeenRandom => self.seen_random.choose(rng).cloned().unwrap_or_default(),
            Tok::SeenNearMiss => self.seen_near.choose(rng).cloned().unwrap_or_default(),
            Tok::Real => self.real.clone(),
            // 62^24 possibilities: never presented before, in practice.
            Tok::FreshRandom => random_token(rng),
            Tok::FreshNearMiss => {
                let cut = self.real.len() - FRESH_SUFFIX;
                let real_suffix = &self.real.as_bytes()[cut..];
                let space = (BASE62.len() as u32).pow(FRESH_SUFFIX as u32);
                loop {
                    let index = rng.gen_range(0..space);
                    let mut suffix = [0u8; FRESH_SUFFIX];
                    let mut rest = index;
                    for c in suffix.iter_mut().rev() {
                        *c = BASE62[(rest % BASE62.len() as u32) as usize];
                        rest /= BASE62.len() as u32;
                    }
                    // Not the real token, not one of the seen near misses (which share
                    // all but the last character with it), not one sent before.
                    if suffix[..FRESH_SUFFIX - 1] == real_suffix[..FRESH_SUFFIX - 1] {
                        continue;
                    }
                    if self.used_suffixes.insert(index) {
                        let mut t = self.real[..cut].to_owned();
                        t.extend(suffix.iter().map(|c| *c as char));
                        return t;
                    }
                }
            }
        }
    }
}

fn token_request(out: &mut Vec<u8>, host: &str, token: &str) {
    out.clear();
    let _ = write!(
        out,
        "GET /v1/secret/data/x HTTP/1.1\r\nHost: {host}\r\nX-Vault-Token: {token}\r\n\r\n"
    );
}

fn login_request(out: &mut Vec<u8>, host: &str, user: &str, password: &str) {
    let body = format!(r#"{{"password":"{password}"}}"#);
    out.clear();
    let _ = write!(
        out,
        "POST /v1/auth/userpass/login/{user} HTTP/1.1\r\nHost: {host}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
}

/// The tests; the number of answers that differed where they must not.
fn run() -> Res<u64> {
    let login_samples = env_count("VAULTRS_TIMING_LOGIN_SAMPLES", DEFAULT_LOGIN_SAMPLES)?;
    let token_samples = env_count("VAULTRS_TIMING_TOKEN_SAMPLES", DEFAULT_TOKEN_SAMPLES)?;
    let only: Option<Vec<String>> = std::env::var("VAULTRS_TIMING_ONLY")
        .ok()
        .map(|s| s.split(',').map(|t| t.trim().to_lowercase()).collect());
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|t| t == name));
    let seed: u64 = match std::env::var("VAULTRS_TIMING_SEED") {
        Ok(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("VAULTRS_TIMING_SEED={s:?} is not a number"))?,
        Err(_) => SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)?
            .as_nanos() as u64,
    };
    let mut rng = StdRng::seed_from_u64(seed);

    let bin = vaultrs_bin()?;
    let mut server = Server::start(&bin)?;
    let addr = server.addr;
    let host = addr.to_string();
    let mut client = Client::connect(addr)?;
    let token = set_up(&mut client)?;

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!("vaultrs timing bench (dudect-style Welch t-test; threshold |t| < {T_THRESHOLD})");
    println!(
        "  machine: {cores} cores ({}), load average {} at start",
        cpu_model(),
        loadavg()
    );
    println!(
        "  server: {} (pid {}, {addr}), one keep-alive connection; seed {seed}",
        bin.display(),
        server.pid()
    );
    println!(
        "  samples per class: login {login_samples}, token {token_samples} per pair \
         (G9 asks 10⁶: VAULTRS_TIMING_TOKEN_SAMPLES=1000000)"
    );

    let mut mismatches = 0;
    let mut summary: Vec<(String, f64)> = Vec::new();

    if wanted("login") {
        let test = Test {
            name: "userpass login: no such user vs wrong password",
            labels: ["unknown user bob", "alice, wrong password"],
            samples: login_samples,
        };
        let mut expect = Expect::new("failed logins");
        let started = Instant::now();
        let [a, b] = measure(
            &mut client,
            &test,
            &mut rng,
            &mut expect,
            |class, _, out| {
                let user = if class == 0 { "bob" } else { "alice" };
                login_request(out, &host, user, WRONG_PASSWORD);
            },
        )?;
        let wall = started.elapsed();
        server.check_alive()?;
        let stats = Stats::of(&a, &b);
        print_result(&test, &stats, wall);
        expect.report();
        println!("  load average {}", loadavg());
        summary.push((test.name.to_owned(), stats.max_t().0));
        mismatches += expect.mismatches;
    }

    if wanted("token") {
        let mut tokens = Tokens::new(token, &mut rng);
        let tests = [
            (
                "token check: unknown vs unknown sharing a long prefix (both seen before)",
                [Tok::SeenRandom, Tok::SeenNearMiss],
            ),
            (
                "token check: unknown (seen before) vs real token without permission",
                [Tok::SeenRandom, Tok::Real],
            ),
            (
                "token check, first sight: unknown vs unknown sharing a long prefix \
                 (neither seen before)",
                [Tok::FreshRandom, Tok::FreshNearMiss],
            ),
            (
                "token check, first sight: unknown never seen before vs real token without \
                 permission",
                [Tok::FreshRandom, Tok::Real],
            ),
        ];
        // One group: every kind of token must get the same answer.
        let mut expect = Expect::new("token answers (unknown, near miss, no permission)");
        for (name, kinds) in tests {
            let labels = kinds.map(|k| tokens.label(k));
            let test = Test {
                name,
                labels: [&labels[0], &labels[1]],
                samples: token_samples,
            };
            // Tokens of a pool are each sent once first, so that all are "seen before".
            let mut req = Vec::with_capacity(256);
            for (kind, label) in kinds.iter().zip(&labels) {
                for t in tokens.pool(*kind) {
                    token_request(&mut req, &host, &t);
                    let (status, _) = client.timed_round_trip(&req)?;
                    expect.check(label, status, &client.body);
                }
            }
            let started = Instant::now();
            let [a, b] = measure(
                &mut client,
                &test,
                &mut rng,
                &mut expect,
                |class, rng, out| {
                    token_request(out, &host, &tokens.next(kinds[class], rng));
                },
            )?;
            let wall = started.elapsed();
            server.check_alive()?;
            let stats = Stats::of(&a, &b);
            print_result(&test, &stats, wall);
            println!("  load average {}", loadavg());
            summary.push((name.to_owned(), stats.max_t().0));
        }
        println!();
        println!(
            "  note: the first-sight tests present tokens never seen before: a store that read \
             unknown tokens from storage would show a disk read there"
        );
        expect.report();
        mismatches += expect.mismatches;
    }

    println!();
    println!("summary (max |t| over raw and cropped; threshold {T_THRESHOLD}):");
    for (name, t) in &summary {
        let verdict = if *t < T_THRESHOLD {
            "no leak detected"
        } else {
            "POSSIBLE LEAK"
        };
        println!("  {t:>8.2}  {verdict:<16}  {name}");
    }

    if client.reconnects > 0 {
        println!();
        println!(
            "note: the connection was lost and reopened {} time(s)",
            client.reconnects
        );
    }
    println!();
    println!("nothing about timing is asserted; |t| ≥ {T_THRESHOLD} only flags a difference worth a look on a quiet machine");
    Ok(mismatches)
}
