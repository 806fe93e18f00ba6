//! `sys/metrics` (issue 13 item 6): Vault's JSON and the Prometheus text format, who may
//! read them (a token with `read` on `sys/metrics`, or anyone on a listener with
//! `telemetry { unauthenticated_metrics_access = true }`), the format without a
//! `prometheus_retention_time`, and figures that move with the requests that are made.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::common::*;
use crate::harness::{ConfigServer, TestServer};

const METRICS_POLICY: &str = r#"path "sys/metrics" { capabilities = ["read"] }"#;

/// The value of the series `series` (name and labels exactly as written) in `text`.
fn series(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?.strip_prefix(' ')?;
        rest.trim().parse().ok()
    })
}

#[track_caller]
fn value(text: &str, name: &str) -> f64 {
    series(text, name).unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

async fn prometheus(v: &V) -> String {
    let r = v.get("sys/metrics?format=prometheus").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    r.text()
}

#[track_caller]
fn assert_vault_json(body: &Value) {
    for key in ["Timestamp", "Gauges", "Points", "Counters", "Samples"] {
        assert!(body.get(key).is_some(), "no {key} in {body}");
    }
    assert!(body["Timestamp"].as_str().unwrap().ends_with(" +0000 UTC"));
    let aggregates = body["Counters"].as_array().unwrap().iter();
    for aggregate in aggregates.chain(body["Samples"].as_array().unwrap()) {
        for key in [
            "Name", "Count", "Rate", "Sum", "Min", "Max", "Mean", "Stddev", "Labels",
        ] {
            assert!(aggregate.get(key).is_some(), "no {key} in {aggregate}");
        }
    }
}

#[tokio::test]
async fn a_token_needs_read_on_sys_metrics() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.put_policy("metrics", METRICS_POLICY).await;
    let reader = v.with_token(&v.token_with(&["metrics"]).await);
    let limited = v.with_token(&v.token_with(&["default"]).await);

    v.anon().get("sys/metrics").await.denied();
    limited.get("sys/metrics").await.denied();
    limited.get("sys/metrics?format=prometheus").await.denied();
    v.post("sys/metrics", json!({})).await.some_error(405);

    let json = reader.get("sys/metrics").await;
    assert_eq!(json.status, 200, "{}", json.text());
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_vault_json(&json.json());
    // A dev server keeps Prometheus metrics, as Vault's dev configuration does.
    let text = prometheus(&reader).await;
    assert!(
        text.contains("# TYPE vault_core_handle_request histogram\n"),
        "{text}"
    );
    // A scraper's Accept header chooses the format too; `format` wins over it.
    let scrape = reader.req("GET", "sys/metrics").header(
        "Accept",
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
    );
    let r = reader.send("scrape".into(), scrape).await;
    assert_eq!(r.status, 200);
    assert!(r.text().starts_with("# HELP "), "{}", r.text());
    reader
        .get("sys/metrics?format=xml")
        .await
        .errors(400, &["metric response format \"xml\" unknown"]);
}

#[tokio::test]
async fn figures_move_with_the_requests_made() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let before = prometheus(&v).await;
    let ok = r#"vault_core_response_status_code{code="200",type="2xx"}"#;
    let reads = r#"vault_route_read_secret__count{mount_point="secret/"}"#;
    let on_secret = |code: &str, kind: &str| {
        format!(
            r#"vault_route_response_status_code{{mount_point="secret/",code="{code}",type="{kind}"}}"#
        )
    };
    let tokens = r#"vault_token_count{namespace="root"}"#;

    v.kv2_put("secret/data/a", json!({"v": "1"})).await;
    for _ in 0..3 {
        v.get("secret/data/a").await.data();
    }
    v.get("secret/data/missing").await.not_found();
    v.create_token(json!({"policies": ["default"], "ttl": "1h"}))
        .await;
    let after = prometheus(&v).await;

    // The metrics read in between answered 200 as well.
    assert_eq!(value(&after, ok) - series(&before, ok).unwrap_or(0.0), 6.0);
    assert_eq!(
        value(&after, reads) - series(&before, reads).unwrap_or(0.0),
        4.0
    );
    assert_eq!(value(&after, &on_secret("200", "2xx")), 4.0);
    assert_eq!(value(&after, &on_secret("404", "4xx")), 1.0);
    assert_eq!(value(&after, tokens) - value(&before, tokens), 1.0);
    assert!(value(&after, "vault_expire_num_leases") >= 1.0);
    assert!(
        value(&after, "vault_storage_commit_count") > value(&before, "vault_storage_commit_count")
    );
    assert!(value(&after, "vault_storage_batch_size_count") > 0.0);
    assert_eq!(value(&after, "vault_core_unsealed"), 1.0);
    assert!(value(&after, "vault_core_handle_request_count") >= 7.0);
    assert_eq!(value(&after, "vault_audit_log_request_failure"), 0.0);
    // Every histogram bucket line is cumulative and ends at the count.
    assert_eq!(
        value(
            &after,
            r#"vault_route_read_secret__bucket{mount_point="secret/",le="+Inf"}"#
        ),
        value(&after, reads)
    );

    // The same figures in Vault's JSON.
    let body = v.get("sys/metrics").await.json();
    assert_vault_json(&body);
    let counter = body["Counters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Name"] == "vault.core.response_status_code" && c["Labels"]["code"] == "200")
        .unwrap_or_else(|| panic!("{body}"));
    assert!(counter["Count"].as_u64().unwrap() >= 7);
    let gauge = body["Gauges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["Name"] == "vault.token.count")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(gauge["Labels"], json!({"namespace": "root"}));
    assert!(body["Samples"].as_array().unwrap().iter().any(|s| s["Name"]
        == "vault.route.read.secret-"
        && s["Labels"]["mount_point"] == "secret/"));
}

#[tokio::test]
async fn requests_no_audit_device_could_record_are_counted() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    v.put(
        "sys/audit/file",
        json!({"type": "file", "options": {"file_path": logs.join("audit.log")}}),
    )
    .await
    .no_content();
    std::fs::remove_dir_all(&logs).unwrap();
    v.get("secret/data/x")
        .await
        .errors(500, &["internal error"]);
    v.get("sys/metrics").await.errors(500, &["internal error"]);
    std::fs::create_dir(&logs).unwrap();
    let text = prometheus(&v).await;
    assert_eq!(value(&text, "vault_audit_log_request_failure"), 2.0);
    assert_eq!(value(&text, "vault_audit_log_response_failure"), 0.0);
}

#[tokio::test]
async fn a_listener_may_serve_metrics_without_a_token() {
    let srv = ConfigServer::start("telemetry { unauthenticated_metrics_access = true }");
    let anon = V::at(&srv.addr, None);
    // Uninitialized and sealed, and no token: served all the same, as Vault's.
    let r = anon.get("sys/metrics").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_vault_json(&body);
    assert!(body["Gauges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["Name"] == "vault.core.unsealed" && g["Value"] == 0.0));
    // No `telemetry` block: no Prometheus retention, so no Prometheus format (Vault's
    // answer), whoever asks.
    anon.get("sys/metrics?format=prometheus")
        .await
        .errors(400, &["prometheus is not enabled"]);
    let raw_post = raw(
        &srv.addr,
        b"POST /v1/sys/metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(raw_post.status, 405);
    anon.get("sys/metrics?format=nope")
        .await
        .errors(400, &["metric response format \"nope\" unknown"]);
}

#[tokio::test]
async fn a_telemetry_block_turns_prometheus_on_and_tokens_stay_required() {
    let srv = ConfigServer::start_with("", "telemetry { disable_hostname = true }");
    let anon = V::at(&srv.addr, None);
    let (keys, _, root) = init(&anon, 1, 1).await;
    unseal(&anon, &keys[0]).await;
    anon.get("sys/metrics?format=prometheus").await.denied();
    let v = V::at(&srv.addr, Some(&root));
    let text = prometheus(&v).await;
    assert_eq!(value(&text, "vault_core_unsealed"), 1.0);
    assert!(text.contains("vault_storage_log_fsync_count "), "{text}");
}

/// Sends a login (a wrong password) and returns the connection, unread.
async fn send_login(addr: String) -> tokio::net::TcpStream {
    let body = r#"{"password":"wrong"}"#;
    let request = format!(
        "POST /v1/auth/userpass/login/alice HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = tokio::net::TcpStream::connect(addr.trim_start_matches("http://"))
        .await
        .unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    s
}

/// The pool's gauges, once `done` holds of them (polled; each hash takes tens of ms).
async fn hashing_until(v: &V, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = prometheus(v).await;
        if done(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "never reached:\n{text}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn logins_whose_clients_hang_up_give_their_place_in_the_hash_queue_back() {
    let srv = TestServer::dev();
    let v = V::root(&srv);
    v.post("sys/auth/userpass", json!({"type": "userpass"}))
        .await
        .no_content();
    v.post("auth/userpass/users/alice", json!({"password": "pw"}))
        .await
        .no_content();
    let mut clients = Vec::new();
    for _ in 0..40 {
        clients.push(send_login(srv.addr.clone()).await);
    }
    // Logins are waiting for the hashing threads: their clients hang up.
    hashing_until(&v, |t| value(t, "vault_userpass_hash_queued") >= 10.0).await;
    drop(clients);
    // Once the threads are idle again, every login queued at the hang-up has been dealt
    // with; and the threads have given their memory back.
    let text = hashing_until(&v, |t| {
        ["queued", "running", "memory_blocks"]
            .iter()
            .all(|g| value(t, &format!("vault_userpass_hash_{g}")) == 0.0)
    })
    .await;
    // The threads cannot have hashed for ten queued logins before their clients' tasks
    // saw them leave: those were dropped unrun.
    assert!(
        value(&text, "vault_userpass_hash_abandoned") >= 1.0,
        "{text}"
    );
    v.anon()
        .post("auth/userpass/login/alice", json!({"password": "pw"}))
        .await
        .ok();
}
