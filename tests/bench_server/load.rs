//! The server benchmark's load generator: keep-alive HTTP/1.1 connections with one request in
//! flight each, the read, write and preload workloads, and each phase's latencies and the
//! server's and client's CPU time (from `/proc`).

use std::io::Write;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::bench_support::{dechunk, find, Head};
use crate::servers::Server;
use crate::{BoxError, Res, CONNS, KEYS};

pub(crate) fn clock_ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// utime + stime of a process, in clock ticks (all its threads, live and exited).
fn cpu_ticks(pid: &str) -> Res<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = stat.rsplit_once(')').ok_or("bad /proc stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = fields.get(11).ok_or("no utime")?.parse()?;
    let stime: u64 = fields.get(12).ok_or("no stime")?.parse()?;
    Ok(utime + stime)
}

/// A keep-alive HTTP/1.1 connection with one request in flight.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Res<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    async fn fill(&mut self) -> Res<()> {
        self.buf.reserve(8 * 1024);
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            return Err("server closed the connection".into());
        }
        Ok(())
    }

    /// Sends one request and reads its whole response; returns the status code.
    async fn round_trip(&mut self, request: &[u8]) -> Res<u16> {
        self.stream.write_all(request).await?;
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let Head {
            status,
            length,
            chunked,
        } = Head::parse(&self.buf[..head_end])?;
        let end = if chunked {
            loop {
                if let Some(end) = dechunk(&self.buf, head_end, None)? {
                    break end;
                }
                self.fill().await?;
            }
        } else if let Some(len) = length {
            while self.buf.len() < head_end + len {
                self.fill().await?;
            }
            head_end + len
        } else if status == 204 || status == 304 || status < 200 {
            head_end
        } else {
            return Err(format!("response {status} without a length").into());
        };
        self.buf.drain(..end);
        Ok(status)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Workload {
    /// Writes `k0..k{KEYS}` once, spread over the connections.
    Preload,
    /// GETs of random keys until the deadline.
    Read,
    /// Writes to random keys until the deadline.
    Write,
}

/// Per-connection results.
#[derive(Default)]
struct TaskOut {
    latencies_ns: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

pub(crate) struct PhaseResult {
    pub(crate) requests: u64,
    pub(crate) elapsed: Duration,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
    pub(crate) server_cpu: Duration,
    pub(crate) client_cpu: Duration,
}

impl PhaseResult {
    pub(crate) fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
    pub(crate) fn server_us_per_req(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }
    pub(crate) fn client_us_per_req(&self) -> f64 {
        self.client_cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }
}

/// A small fast PRNG for key choice (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn read_request(out: &mut Vec<u8>, host: &str, key: usize) {
    out.clear();
    let _ = write!(
        out,
        "GET /v1/secret/data/bench/k{key} HTTP/1.1\r\nHost: {host}\r\nX-Vault-Token: root\r\n\r\n"
    );
}

fn write_request(out: &mut Vec<u8>, host: &str, key: usize, seq: u64) {
    // {"data":{"value":"..."}} with a 100-byte value.
    let value = format!("{key:08}-{seq:012}-{}", "x".repeat(100 - 22));
    let body = format!(r#"{{"data":{{"value":"{value}"}}}}"#);
    out.clear();
    let _ = write!(
        out,
        "POST /v1/secret/data/bench/k{key} HTTP/1.1\r\nHost: {host}\r\nX-Vault-Token: root\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
}

async fn connection_loop(
    mut conn: Conn,
    host: String,
    workload: Workload,
    deadline: Instant,
    next_key: Arc<AtomicUsize>,
    seed: u64,
) -> Res<TaskOut> {
    let mut out = TaskOut::default();
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut req = Vec::with_capacity(512);
    let mut seq = 0u64;
    loop {
        match workload {
            Workload::Preload => {
                let key = next_key.fetch_add(1, Ordering::Relaxed);
                if key >= KEYS {
                    break;
                }
                write_request(&mut req, &host, key, 0);
            }
            Workload::Read | Workload::Write => {
                if Instant::now() >= deadline {
                    break;
                }
                let key = (rng.next() % KEYS as u64) as usize;
                if workload == Workload::Read {
                    read_request(&mut req, &host, key);
                } else {
                    seq += 1;
                    write_request(&mut req, &host, key, seq);
                }
            }
        }
        let t0 = Instant::now();
        let status = conn.round_trip(&req).await?;
        out.latencies_ns.push(t0.elapsed().as_nanos() as u64);
        if !(200..300).contains(&status) {
            out.errors += 1;
            if out.first_error.is_none() {
                out.first_error = Some(format!("HTTP {status} for {}", first_line(&req)));
            }
        }
    }
    Ok(out)
}

fn first_line(req: &[u8]) -> String {
    let text = String::from_utf8_lossy(req);
    text.lines().next().unwrap_or("").to_owned()
}

fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Duration::from_nanos(sorted[idx.min(sorted.len() - 1)])
}

pub(crate) struct Bench {
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) ticks: f64,
    pub(crate) secs: f64,
}

impl Bench {
    pub(crate) fn phase(
        &self,
        server: &mut Server,
        workload: Workload,
        secs: f64,
    ) -> Res<PhaseResult> {
        server.check_alive()?;
        let addr = server.addr;
        let pid = server.pid().to_string();
        let host = addr.to_string();
        // Progress on stderr, with the pid for attaching a profiler to one phase.
        let span = match workload {
            Workload::Preload => format!("{KEYS} keys"),
            _ => format!("{secs:.1} s"),
        };
        eprintln!("   {workload:?}, {span} (server pid {pid}, {addr})");
        let result = self.rt.block_on(async {
            let mut conns = Vec::with_capacity(CONNS);
            for _ in 0..CONNS {
                conns.push(Conn::open(addr).await?);
            }
            let next_key = Arc::new(AtomicUsize::new(0));
            let server_before = cpu_ticks(&pid)?;
            let client_before = cpu_ticks("self")?;
            let start = Instant::now();
            let deadline = start + Duration::from_secs_f64(secs);
            let tasks: Vec<_> = conns
                .into_iter()
                .enumerate()
                .map(|(i, conn)| {
                    tokio::spawn(connection_loop(
                        conn,
                        host.clone(),
                        workload,
                        deadline,
                        next_key.clone(),
                        i as u64 + 1,
                    ))
                })
                .collect();
            let mut outs = Vec::with_capacity(CONNS);
            for task in tasks {
                outs.push(task.await??);
            }
            let elapsed = start.elapsed();
            let server_after = cpu_ticks(&pid)?;
            let client_after = cpu_ticks("self")?;
            Ok::<_, BoxError>((
                outs,
                elapsed,
                server_after - server_before,
                client_after - client_before,
            ))
        });
        let (outs, elapsed, server_ticks, client_ticks) = match result {
            Ok(r) => r,
            Err(e) => {
                server.check_alive()?;
                return Err(e);
            }
        };
        let mut all: Vec<u64> = Vec::new();
        let mut errors = 0;
        let mut first_error = None;
        for out in outs {
            all.extend_from_slice(&out.latencies_ns);
            errors += out.errors;
            if first_error.is_none() {
                first_error = out.first_error;
            }
        }
        all.sort_unstable();
        let to_dur = |t: u64| Duration::from_secs_f64(t as f64 / self.ticks);
        Ok(PhaseResult {
            requests: all.len() as u64,
            elapsed,
            errors,
            first_error,
            p50: percentile(&all, 0.50),
            p99: percentile(&all, 0.99),
            max: Duration::from_nanos(all.last().copied().unwrap_or(0)),
            server_cpu: to_dur(server_ticks),
            client_cpu: to_dur(client_ticks),
        })
    }
}
