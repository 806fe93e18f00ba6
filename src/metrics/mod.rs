//! The server's metrics: what `sys/metrics` reports, in Vault's names where Vault has
//! them (`vault.core.handle_request`, `vault.route.<op>.<mount>`, `vault.token.count`,
//! ...), as Prometheus text (`prometheus.rs`) or as Vault's JSON (`json.rs`).
//!
//! Two kinds of figure, kept apart so the request path stays cheap:
//!
//! - recorded as requests run: atomics only, no lock and no lookup per request. The HTTP
//!   layer records each answer ([`Metrics::record`]) with what the core saw of it
//!   ([`Observed`]: the mount's own [`RouteStats`], found when the router resolved the
//!   path, and the operation);
//! - collected when someone asks: gauges and other components' figures (tokens, leases,
//!   storage, the hashing threads) come from [`Source`]s, registered once and read at
//!   scrape time. Replication adds its gauges (lag) the same way ([`Metrics::register`]).
//!
//! Durations are recorded in nanoseconds and reported in milliseconds, as Vault's timers
//! are. Figures are cumulative since the server started (Vault's in-memory sink shows the
//! last ten-second interval instead); a Prometheus server computes rates from them.

mod json;
mod prometheus;
mod statuses;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

pub use vaultrs_storage::stats::{Histogram, HistogramSnapshot, Unit};

use crate::logical::Operation;
use statuses::StatusCounts;

/// How a family's samples behave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One sample's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Counter(u64),
    Gauge(f64),
    Histogram(HistogramSnapshot),
}

impl Value {
    fn kind(&self) -> Kind {
        match self {
            Value::Counter(_) => Kind::Counter,
            Value::Gauge(_) => Kind::Gauge,
            Value::Histogram(_) => Kind::Histogram,
        }
    }
}

/// Label names and values of one sample.
pub type Labels = Vec<(&'static str, String)>;

/// One sample of a family.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: Value,
}

/// The samples of one metric name.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<Sample>,
}

/// Every figure at one moment, by Vault's dotted name (`vault.core.handle_request`).
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub families: BTreeMap<String, Family>,
    /// When it was taken, and how long the server had been running then.
    pub taken: SystemTime,
    pub uptime: Duration,
}

impl Snapshot {
    fn new(uptime: Duration) -> Self {
        Self {
            families: BTreeMap::new(),
            taken: SystemTime::now(),
            uptime,
        }
    }

    /// Adds a sample to family `name`. A sample of another kind than the family's first
    /// is a bug in the caller; it is dropped rather than corrupting the output.
    pub fn add(&mut self, name: &str, help: &'static str, labels: Labels, value: Value) {
        let kind = value.kind();
        let family = self
            .families
            .entry(name.to_owned())
            .or_insert_with(|| Family {
                help,
                kind,
                samples: Vec::new(),
            });
        if family.kind == kind {
            family.samples.push(Sample { labels, value });
        } else {
            debug_assert!(
                false,
                "metric {name} is both {:?} and {kind:?}",
                family.kind
            );
        }
    }

    pub fn counter(&mut self, name: &str, help: &'static str, labels: Labels, value: u64) {
        self.add(name, help, labels, Value::Counter(value));
    }

    pub fn gauge(&mut self, name: &str, help: &'static str, labels: Labels, value: f64) {
        self.add(name, help, labels, Value::Gauge(value));
    }

    pub fn histogram(&mut self, name: &str, help: &'static str, labels: Labels, h: &Histogram) {
        self.add(name, help, labels, Value::Histogram(h.snapshot()));
    }
}

/// Something that adds its figures to a snapshot when one is taken.
pub trait Source: Send + Sync {
    fn collect(&self, out: &mut Snapshot);
}

impl<F: Fn(&mut Snapshot) + Send + Sync> Source for F {
    fn collect(&self, out: &mut Snapshot) {
        self(out)
    }
}

/// The two output formats of `sys/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Vault's JSON (`format` empty or absent).
    Json,
    /// The Prometheus text exposition format (`format=prometheus`).
    Prometheus,
}

impl Format {
    /// Vault's `format` parameter: empty for JSON, `prometheus`; anything else is refused
    /// with Vault's message.
    pub fn parse(format: &str) -> crate::Result<Self> {
        match format {
            "" => Ok(Format::Json),
            "prometheus" => Ok(Format::Prometheus),
            other => Err(crate::Error::invalid(format!(
                "metric response format {other:?} unknown"
            ))),
        }
    }
}

/// The content type of the Prometheus text format, as Vault sends it.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders `snapshot` as the Prometheus text exposition format.
pub fn to_prometheus(snapshot: &Snapshot) -> String {
    prometheus::render(snapshot)
}

/// Renders `snapshot` as Vault's JSON (`Timestamp`, `Gauges`, `Points`, `Counters`,
/// `Samples`).
pub fn to_json(snapshot: &Snapshot) -> serde_json::Value {
    json::render(snapshot)
}

/// What the core saw of a request, for [`Metrics::record`].
#[derive(Debug, Default)]
pub struct Observed {
    /// The mount the path resolved to.
    pub route: Option<Arc<RouteStats>>,
    /// The operation the request ran as (create vs update decided), once dispatched to
    /// the mount's handler.
    pub dispatched: Option<Operation>,
    /// A login (timed as `vault.core.handle_login_request`).
    pub login: bool,
}

const OPERATIONS: [Operation; 6] = [
    Operation::Read,
    Operation::Create,
    Operation::Update,
    Operation::Patch,
    Operation::Delete,
    Operation::List,
];

fn op_index(op: Operation) -> usize {
    match op {
        Operation::Read => 0,
        Operation::Create => 1,
        Operation::Update => 2,
        Operation::Patch => 3,
        Operation::Delete => 4,
        Operation::List => 5,
    }
}

/// One mount's figures: request time by operation, answers by status. The router keeps
/// one per mounted route, so recording needs no lookup.
#[derive(Debug)]
pub struct RouteStats {
    mount_point: String,
    ops: [Histogram; 6],
    statuses: StatusCounts,
}

impl RouteStats {
    pub fn new(mount_point: impl Into<String>) -> Self {
        Self {
            mount_point: mount_point.into(),
            ops: std::array::from_fn(|_| Histogram::durations()),
            statuses: StatusCounts::default(),
        }
    }

    /// Adds this mount's families: `vault.route.<op>.<mount>` (the mount path with `-`
    /// for `/`, as Vault names it) and the answers by status.
    pub fn collect(&self, out: &mut Snapshot) {
        let mount = self.mount_point.replace('/', "-");
        let labels = || vec![("mount_point", self.mount_point.clone())];
        for (op, histogram) in OPERATIONS.iter().zip(&self.ops) {
            let h = histogram.snapshot();
            if h.count > 0 {
                let name = format!("vault.route.{}.{mount}", op.as_str());
                out.add(&name, HELP_ROUTE, labels(), Value::Histogram(h));
            }
        }
        self.statuses.collect(
            out,
            "vault.route.response_status_code",
            HELP_ROUTE_STATUS,
            labels,
        );
    }
}

const HELP_ROUTE: &str = "Time to answer a request on this mount, in milliseconds.";
const HELP_ROUTE_STATUS: &str = "Answers on a mount by HTTP status code.";

/// Audit failures: requests and responses no audit device could record.
#[derive(Debug, Default)]
pub struct AuditCounters {
    pub request_failures: AtomicU64,
    pub response_failures: AtomicU64,
}

/// The registry of one server (one per [`crate::core::Core`]).
pub struct Metrics {
    started: Instant,
    /// Whether `format=prometheus` is served (Vault: `prometheus_retention_time` set).
    prometheus: bool,
    handle: Histogram,
    login: Histogram,
    statuses: StatusCounts,
    pub audit: AuditCounters,
    sources: RwLock<Vec<Arc<dyn Source>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("prometheus", &self.prometheus)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// A registry; `prometheus` turns on the Prometheus format.
    pub fn new(prometheus: bool) -> Self {
        Self {
            started: Instant::now(),
            prometheus,
            handle: Histogram::durations(),
            login: Histogram::durations(),
            statuses: StatusCounts::default(),
            audit: AuditCounters::default(),
            sources: RwLock::new(Vec::new()),
        }
    }

    pub fn prometheus_enabled(&self) -> bool {
        self.prometheus
    }

    /// Adds figures collected at every snapshot.
    pub fn register(&self, source: Arc<dyn Source>) {
        self.sources
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(source);
    }

    /// Records one answered request: its status and how long it took.
    pub fn record(&self, seen: &Observed, status: u16, elapsed: Duration) {
        let timer = if seen.login {
            &self.login
        } else {
            &self.handle
        };
        timer.record_duration(elapsed);
        self.statuses.record(status);
        if let Some(route) = &seen.route {
            route.statuses.record(status);
            if let Some(op) = seen.dispatched {
                route.ops[op_index(op)].record_duration(elapsed);
            }
        }
    }

    /// Every figure now: the recorded ones, then each source's.
    pub fn snapshot(&self) -> Snapshot {
        let mut out = Snapshot::new(self.started.elapsed());
        out.histogram(
            "vault.core.handle_request",
            "Time to complete a non-login request, in milliseconds.",
            Vec::new(),
            &self.handle,
        );
        out.histogram(
            "vault.core.handle_login_request",
            "Time to complete a login request, in milliseconds.",
            Vec::new(),
            &self.login,
        );
        self.statuses.collect(
            &mut out,
            "vault.core.response_status_code",
            "Answers by HTTP status code.",
            Vec::new,
        );
        let audit = &self.audit;
        out.counter(
            "vault.audit.log_request_failure",
            "Requests refused because no audit device could record them.",
            Vec::new(),
            audit.request_failures.load(Ordering::Relaxed),
        );
        out.counter(
            "vault.audit.log_response_failure",
            "Answers withheld because no audit device could record them.",
            Vec::new(),
            audit.response_failures.load(Ordering::Relaxed),
        );
        let sources = self
            .sources
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for source in sources {
            source.collect(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests;
