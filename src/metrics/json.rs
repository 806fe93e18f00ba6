//! Vault's JSON form of the metrics (its in-memory sink's `DisplayMetrics`):
//!
//! ```json
//! {"Timestamp": "2024-05-01 10:00:00 +0000 UTC",
//!  "Gauges":   [{"Name": "vault.token.count", "Value": 1, "Labels": {...}}],
//!  "Points":   [],
//!  "Counters": [{"Name": ..., "Count", "Rate", "Sum", "Min", "Max", "Mean", "Stddev", "Labels"}],
//!  "Samples":  [same fields as Counters, for timers and sizes]}
//! ```
//!
//! Histograms are `Samples` (durations in milliseconds); counters are `Counters` of
//! increments of one. Figures are cumulative since start, so `Rate` is per second of
//! uptime (Vault's is per second of its last ten-second interval). A histogram keeps no
//! sum of squares: its `Stddev` is estimated from the buckets (each value taken at its
//! bucket's midpoint, clamped to the minimum and maximum).

use serde_json::{json, Map, Value as Json};

use super::prometheus::scaled;
use super::{HistogramSnapshot, Labels, Snapshot, Value};

fn labels(labels: &Labels) -> Json {
    let map: Map<String, Json> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Json::from(v.clone())))
        .collect();
    Json::Object(map)
}

/// Go's `time.Time.String()` of a UTC time: `2006-01-02 15:04:05 +0000 UTC`.
fn timestamp(snapshot: &Snapshot) -> String {
    let secs = snapshot
        .taken
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let rfc = crate::util::rfc3339_secs(secs);
    format!(
        "{} +0000 UTC",
        rfc.trim_end_matches('Z').replacen('T', " ", 1)
    )
}

/// go-metrics' `AggregateSample`: what `Counters` and `Samples` list.
struct Aggregate {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    stddev: f64,
}

impl Aggregate {
    /// A counter of `n` increments of one.
    fn counter(n: u64) -> Self {
        let one = if n == 0 { 0.0 } else { 1.0 };
        Self {
            count: n,
            sum: n as f64,
            min: one,
            max: one,
            stddev: 0.0,
        }
    }

    fn histogram(h: &HistogramSnapshot) -> Self {
        Self {
            count: h.count,
            sum: scaled(h.unit, h.sum),
            min: h.min.map_or(0.0, |v| scaled(h.unit, v)),
            max: h.max.map_or(0.0, |v| scaled(h.unit, v)),
            stddev: stddev(h),
        }
    }

    fn to_json(&self, name: &str, l: &Labels, per_sec: f64) -> Json {
        let mean = if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        };
        json!({
            "Name": name,
            "Count": self.count,
            "Rate": self.sum / per_sec,
            "Sum": self.sum,
            "Min": self.min,
            "Max": self.max,
            "Mean": mean,
            "Stddev": self.stddev,
            "Labels": labels(l),
        })
    }
}

/// The standard deviation of `h`, estimated from its buckets (see the module doc).
fn stddev(h: &HistogramSnapshot) -> f64 {
    let (Some(min), Some(max)) = (h.min, h.max) else {
        return 0.0;
    };
    if h.count < 2 {
        return 0.0;
    }
    let (min, max) = (scaled(h.unit, min), scaled(h.unit, max));
    let mean = scaled(h.unit, h.sum) / h.count as f64;
    let mut lower = 0.0;
    let mut squares = 0.0;
    for (i, count) in h.counts.iter().enumerate() {
        let upper = h.bounds.get(i).map_or(max, |b| scaled(h.unit, *b));
        let mid = ((lower + upper) / 2.0).clamp(min, max);
        squares += *count as f64 * (mid - mean).powi(2);
        lower = upper;
    }
    (squares / (h.count - 1) as f64).sqrt()
}

pub(super) fn render(snapshot: &Snapshot) -> Json {
    // Rates are per second of uptime; never divide by zero.
    let per_sec = snapshot.uptime.as_secs_f64().max(1e-3);
    let (mut gauges, mut counters, mut samples) = (Vec::new(), Vec::new(), Vec::new());
    for (name, family) in &snapshot.families {
        for s in &family.samples {
            match &s.value {
                Value::Gauge(v) => gauges.push(json!({
                    "Name": name,
                    "Value": v,
                    "Labels": labels(&s.labels),
                })),
                Value::Counter(n) => {
                    counters.push(Aggregate::counter(*n).to_json(name, &s.labels, per_sec));
                }
                Value::Histogram(h) if h.count > 0 => {
                    samples.push(Aggregate::histogram(h).to_json(name, &s.labels, per_sec));
                }
                // Vault lists only what was measured.
                Value::Histogram(_) => {}
            }
        }
    }
    json!({
        "Timestamp": timestamp(snapshot),
        "Gauges": gauges,
        "Points": [],
        "Counters": counters,
        "Samples": samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Histogram;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn vaults_shape() {
        let mut snap = Snapshot::new(Duration::from_secs(10));
        snap.taken = UNIX_EPOCH + Duration::from_secs(1_714_557_600);
        snap.gauge(
            "vault.token.count",
            "Tokens.",
            vec![("namespace", "root".into())],
            3.0,
        );
        snap.counter(
            "vault.audit.log_request_failure",
            "Failures.",
            Vec::new(),
            4,
        );
        let h = Histogram::durations();
        h.record(1_000_000);
        h.record(3_000_000);
        snap.histogram("vault.core.handle_request", "Time.", Vec::new(), &h);
        snap.histogram(
            "vault.core.handle_login_request",
            "Time.",
            Vec::new(),
            &Histogram::durations(),
        );
        let v = render(&snap);
        assert_eq!(v["Timestamp"], "2024-05-01 10:00:00 +0000 UTC");
        assert_eq!(v["Points"], json!([]));
        assert_eq!(
            v["Gauges"],
            json!([{"Name": "vault.token.count", "Value": 3.0, "Labels": {"namespace": "root"}}])
        );
        let c = &v["Counters"][0];
        assert_eq!(
            (c["Name"].as_str(), c["Count"].as_u64()),
            (Some("vault.audit.log_request_failure"), Some(4))
        );
        assert_eq!(
            (c["Sum"].as_f64(), c["Rate"].as_f64()),
            (Some(4.0), Some(0.4))
        );
        // Only what was measured: the empty login timer is left out.
        assert_eq!(v["Samples"].as_array().unwrap().len(), 1);
        let s = &v["Samples"][0];
        assert_eq!(s["Name"], "vault.core.handle_request");
        assert_eq!(s["Count"], 2);
        assert_eq!(
            (s["Sum"].as_f64(), s["Mean"].as_f64()),
            (Some(4.0), Some(2.0))
        );
        assert_eq!(
            (s["Min"].as_f64(), s["Max"].as_f64()),
            (Some(1.0), Some(3.0))
        );
        assert!(s["Stddev"].as_f64().unwrap() > 0.0);
    }
}
