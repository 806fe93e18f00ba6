//! The core's side of `sys/metrics`: the registry of a core, the figures only the core
//! knows (tokens, leases, seal state, storage, the mounts' routes, the hashing threads),
//! and the endpoint, which answers in either format.
//!
//! The endpoint runs through the pipeline like any `sys/` path, so it needs a token with
//! `read` on `sys/metrics`, as Vault's; a listener with `telemetry {
//! unauthenticated_metrics_access = true }` serves it without one (`http::metrics`),
//! through [`Core::metrics_response`] too.

use std::sync::{Arc, Weak};

use serde_json::Value;

use super::{Core, CoreConfig, Request, Response};
use crate::engines::userpass::Userpass;
use crate::error::{Error, Result};
use crate::logical::Operation;
use crate::metrics::{self, Format, Metrics, Snapshot};
use vaultrs_storage::stats::FileStats;

/// The registry of a new core, with the core's own figures as a source.
pub(super) fn registry(core: Weak<Core>, config: &CoreConfig) -> Arc<Metrics> {
    let registry = Arc::new(Metrics::new(!config.prometheus_retention_time.is_zero()));
    registry.register(Arc::new(move |out: &mut Snapshot| {
        if let Some(core) = core.upgrade() {
            core.collect(out);
        }
    }));
    registry.register(Arc::new(hashing));
    registry
}

/// The userpass hashing threads (shared by every mount of the process).
fn hashing(out: &mut Snapshot) {
    let stats = Userpass::hashing_stats();
    out.gauge(
        "vault.userpass.hash.queued",
        "Password hashes waiting for a hashing thread.",
        Vec::new(),
        stats.queued as f64,
    );
    out.gauge(
        "vault.userpass.hash.running",
        "Password hashes running.",
        Vec::new(),
        stats.running as f64,
    );
    out.gauge(
        "vault.userpass.hash.memory_blocks",
        "Hashing threads holding their 19 MiB of working memory.",
        Vec::new(),
        stats.blocks as f64,
    );
    out.counter(
        "vault.userpass.hash.abandoned",
        "Queued password hashes dropped unrun because their client went away.",
        Vec::new(),
        stats.abandoned,
    );
}

fn storage(out: &mut Snapshot, stats: &FileStats) {
    out.histogram(
        "vault.storage.commit",
        "Time to commit a batch (logged, fsynced, visible), in milliseconds.",
        Vec::new(),
        &stats.commit,
    );
    out.histogram(
        "vault.storage.log_fsync",
        "Time of one fsync of the commit log, in milliseconds.",
        Vec::new(),
        &stats.log_sync,
    );
    out.histogram(
        "vault.storage.group_size",
        "Batches per group commit (one log append and fsync).",
        Vec::new(),
        &stats.group_batches,
    );
    out.histogram(
        "vault.storage.batch_size",
        "Key changes per committed batch.",
        Vec::new(),
        &stats.batch_changes,
    );
    out.histogram(
        "vault.storage.checkpoint",
        "Time of one storage checkpoint, in milliseconds.",
        Vec::new(),
        &stats.checkpoint,
    );
    out.counter(
        "vault.storage.checkpoint_failures",
        "Storage checkpoints that failed.",
        Vec::new(),
        stats
            .checkpoint_failures
            .load(std::sync::atomic::Ordering::Relaxed),
    );
}

impl Core {
    /// This core's registry (replication registers its gauges here).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The core's figures, at every snapshot.
    fn collect(&self, out: &mut Snapshot) {
        let active = self.active().ok();
        out.gauge(
            "vault.core.unsealed",
            "1 when the server is unsealed, else 0.",
            Vec::new(),
            if active.is_some() { 1.0 } else { 0.0 },
        );
        storage(out, self.storage.file.stats());
        let Some(active) = active else { return };
        self.collect_replication(&active, out);
        out.gauge(
            "vault.token.count",
            "Stored (service) tokens.",
            vec![("namespace", "root".into())],
            active.tokens.count() as f64,
        );
        out.gauge(
            "vault.expire.num_leases",
            "Leases the expiration manager tracks.",
            Vec::new(),
            active.tokens.expiry().len() as f64,
        );
        for route in active.router().route_stats() {
            route.collect(out);
        }
    }

    /// `sys/metrics` in `format` (Vault's parameter: empty for JSON, or `prometheus`).
    pub fn metrics_response(&self, format: &str) -> Result<Response> {
        match Format::parse(format)? {
            Format::Json => Ok(Response {
                raw_body: Some(metrics::to_json(&self.metrics.snapshot())),
                ..Response::default()
            }),
            Format::Prometheus if self.metrics.prometheus_enabled() => Ok(Response {
                raw_text: Some(super::request::RawText {
                    content_type: metrics::PROMETHEUS_CONTENT_TYPE,
                    body: metrics::to_prometheus(&self.metrics.snapshot()),
                }),
                ..Response::default()
            }),
            Format::Prometheus => Err(Error::invalid("prometheus is not enabled")),
        }
    }
}

/// `sys/metrics` (read), once the pipeline has authorized it.
pub(super) fn handle(
    core: &Core,
    op: Operation,
    rel: &str,
    req: &Request,
) -> Option<Result<Response>> {
    if rel.trim_end_matches('/') != "metrics" {
        return None;
    }
    if op != Operation::Read {
        return Some(Err(Error::UnsupportedOperation(format!(
            "unsupported operation {op:?} on sys/metrics"
        ))));
    }
    let format = match req.data.get("format") {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Some(Err(Error::invalid("format must be a string"))),
    };
    Some(core.metrics_response(format))
}
