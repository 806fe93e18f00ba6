//! The HTTP side of `sys/metrics`: the format a Prometheus scraper asks for in its
//! `Accept` header, and the endpoint without a token on listeners with
//! `telemetry { unauthenticated_metrics_access = true }` (Vault's
//! `handleMetricsUnauthenticated`: GET only, no audit, served sealed or not).
//!
//! Either way the body comes from [`Core::metrics_response`], the one renderer.

use axum::http::{header, HeaderMap, Method};
use axum::response::Response as HttpResponse;
use serde_json::{Map, Value};

use crate::core::Core;
use crate::error::Error;

/// Whether `path` (relative to `/v1/`) is `sys/metrics`.
pub(super) fn is_metrics(path: &str) -> bool {
    path.trim_end_matches('/') == "sys/metrics"
}

/// Vault's `FormatFromRequest`: an `Accept` of OpenMetrics text, or of Prometheus's
/// `prometheus/telemetry` schema, asks for the Prometheus format.
fn accept_format(headers: &HeaderMap) -> Option<&'static str> {
    let mut values = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok());
    let first = values.next()?;
    let prometheus = first.starts_with("application/openmetrics-text")
        || std::iter::once(first)
            .chain(values)
            .any(|v| v.contains("prometheus/telemetry"));
    prometheus.then_some("prometheus")
}

/// Puts the format the `Accept` header asks for into the request's parameters, unless a
/// `format` parameter chose one.
pub(super) fn negotiate(query: &mut Map<String, Value>, headers: &HeaderMap) {
    let chosen = query
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| !f.is_empty());
    if !chosen {
        if let Some(format) = accept_format(headers) {
            query.insert("format".into(), format.into());
        }
    }
}

/// `sys/metrics` without a token.
pub(super) fn serve_unauthenticated(
    core: &Core,
    method: &Method,
    query: &Map<String, Value>,
) -> Result<HttpResponse, Error> {
    if method != Method::GET {
        return Ok(super::error::method_not_allowed());
    }
    let format = match query.get("format") {
        None => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(Error::invalid("format must be a string")),
    };
    let response = core.metrics_response(format)?;
    Ok(super::render(
        crate::logical::Operation::Read,
        Ok(response),
        false,
        String::new(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::ACCEPT, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn a_scrapers_accept_header_asks_for_prometheus() {
        let scraper = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
        assert_eq!(accept_format(&accept(&[scraper])), Some("prometheus"));
        assert_eq!(
            accept_format(&accept(&["text/plain", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited, prometheus/telemetry"])),
            Some("prometheus")
        );
        assert_eq!(accept_format(&accept(&["application/json"])), None);
        assert_eq!(accept_format(&HeaderMap::new()), None);

        let mut query = Map::new();
        negotiate(&mut query, &accept(&[scraper]));
        assert_eq!(query["format"], "prometheus");
        // An explicit format wins over the header.
        let mut query = Map::new();
        query.insert("format".into(), "json-ish".into());
        negotiate(&mut query, &accept(&[scraper]));
        assert_eq!(query["format"], "json-ish");
    }
}
