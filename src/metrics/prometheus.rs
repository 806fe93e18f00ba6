//! The Prometheus text exposition format (version 0.0.4) of a [`Snapshot`].
//!
//! Names are Vault's with every character Prometheus does not allow (`.`, `-`, `/`, ...)
//! replaced by `_`, as Vault's Prometheus sink does: `vault.route.read.secret-` is
//! `vault_route_read_secret_`. Families whose names meet that way are written as one.
//! Durations are milliseconds.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Family, HistogramSnapshot, Kind, Sample, Snapshot, Unit, Value};

/// A metric name with every character outside `[a-zA-Z0-9_:]` replaced by `_` (and a
/// leading digit prefixed with `_`).
fn metric_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A label value in double quotes, with `\`, `"` and line feeds escaped.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `{a="x",b="y"}` (empty for no labels), with `extra` last.
fn label_set(labels: &[(&'static str, String)], extra: Option<(&str, &str)>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", quoted(v)))
        .collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}={}", quoted(v)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

/// A value as Prometheus reads it.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// A recorded value in the unit it is reported in (milliseconds for durations).
pub(super) fn scaled(unit: Unit, raw: u64) -> f64 {
    match unit {
        Unit::Nanoseconds => raw as f64 / 1e6,
        Unit::Count => raw as f64,
    }
}

fn histogram(
    out: &mut String,
    name: &str,
    labels: &[(&'static str, String)],
    h: &HistogramSnapshot,
) {
    let mut cumulative = 0u64;
    for (i, count) in h.counts.iter().enumerate() {
        cumulative = cumulative.saturating_add(*count);
        let le = match h.bounds.get(i) {
            Some(bound) => number(scaled(h.unit, *bound)),
            None => "+Inf".into(),
        };
        let _ = writeln!(
            out,
            "{name}_bucket{} {cumulative}",
            label_set(labels, Some(("le", &le)))
        );
    }
    let set = label_set(labels, None);
    let _ = writeln!(out, "{name}_sum{set} {}", number(scaled(h.unit, h.sum)));
    let _ = writeln!(out, "{name}_count{set} {cumulative}");
}

fn sample(out: &mut String, name: &str, s: &Sample) {
    match &s.value {
        Value::Counter(n) => {
            let _ = writeln!(out, "{name}{} {n}", label_set(&s.labels, None));
        }
        Value::Gauge(v) => {
            let _ = writeln!(out, "{name}{} {}", label_set(&s.labels, None), number(*v));
        }
        Value::Histogram(h) => histogram(out, name, &s.labels, h),
    }
}

pub(super) fn render(snapshot: &Snapshot) -> String {
    // Families by their Prometheus name: two Vault names may meet there.
    let mut by_name: BTreeMap<String, Vec<&Family>> = BTreeMap::new();
    for (name, family) in &snapshot.families {
        by_name.entry(metric_name(name)).or_default().push(family);
    }
    let mut out = String::with_capacity(8 * 1024);
    for (name, families) in by_name {
        let kind = families[0].kind;
        let kind_name = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let _ = writeln!(out, "# HELP {name} {}", families[0].help);
        let _ = writeln!(out, "# TYPE {name} {kind_name}");
        let mut seen = std::collections::HashSet::new();
        for family in families.iter().filter(|f| f.kind == kind) {
            for s in &family.samples {
                // The same labels twice would make the whole exposition invalid.
                if seen.insert(label_set(&s.labels, None)) {
                    sample(&mut out, &name, s);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Histogram;

    #[test]
    fn names_and_label_values_are_made_safe() {
        assert_eq!(
            metric_name("vault.route.read.secret-"),
            "vault_route_read_secret_"
        );
        assert_eq!(
            metric_name("vault.route.read.é/x y"),
            "vault_route_read___x_y"
        );
        assert_eq!(metric_name("9lives"), "_9lives");
        assert_eq!(quoted("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
    }

    #[test]
    fn a_histogram_in_milliseconds_with_cumulative_buckets() {
        let mut snap = Snapshot::new(std::time::Duration::from_secs(1));
        let h = Histogram::durations();
        h.record(2_000_000);
        h.record(30_000_000);
        snap.histogram("vault.core.handle_request", "Time.", Vec::new(), &h);
        snap.counter(
            "vault.core.response_status_code",
            "Answers.",
            vec![("code", "200".into()), ("type", "2xx".into())],
            7,
        );
        let text = render(&snap);
        for line in [
            "# TYPE vault_core_handle_request histogram",
            "vault_core_handle_request_bucket{le=\"1\"} 0",
            "vault_core_handle_request_bucket{le=\"2.5\"} 1",
            "vault_core_handle_request_bucket{le=\"50\"} 2",
            "vault_core_handle_request_bucket{le=\"+Inf\"} 2",
            "vault_core_handle_request_sum 32",
            "vault_core_handle_request_count 2",
            "# TYPE vault_core_response_status_code counter",
            "vault_core_response_status_code{code=\"200\",type=\"2xx\"} 7",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }

    #[test]
    fn families_that_meet_under_one_name_are_written_once_without_duplicates() {
        let mut snap = Snapshot::new(std::time::Duration::from_secs(1));
        snap.gauge("a.b", "One.", vec![("x", "1".into())], 1.0);
        snap.gauge("a-b", "Two.", vec![("x", "1".into())], 2.0);
        snap.gauge("a-b", "Two.", vec![("x", "2".into())], 3.0);
        let text = render(&snap);
        assert_eq!(text.matches("# TYPE a_b gauge").count(), 1);
        assert_eq!(text.matches("a_b{x=\"1\"}").count(), 1);
        assert!(text.contains("a_b{x=\"2\"} 3\n"), "{text}");
    }
}
