//! Layout-0 data built by hand (the keys and JSON values exactly as layout 0 wrote them),
//! and every answer the engine gives on it.
//!
//! `testdata/layout0-answers.json` was recorded from the layout-0 engine (commit "kv v2:
//! record what layout 0 answers on a hand-built data set") and must never be regenerated:
//! it is what a migrated mount has to keep answering.

use serde_json::{json, Map, Value};

use crate::engines::kv::support::{obj, rfc3339_nano};
use crate::engines::kv::KvV2;
use crate::error::Error;
use crate::logical::test_support::ctx;
use crate::logical::{Backend, Ctx, Operation, Request, Response, ViewBatch};

const SEC: u64 = 1_000_000_000;
/// 2021-01-01T00:00:00Z and later fixture times.
const T0: u64 = 1_609_459_200 * SEC;
/// 2100-01-01T00:00:00Z: a deletion scheduled far ahead (the version is still live).
const FUTURE: u64 = 4_102_444_800 * SEC;

fn version(created: u64, deletion: Option<u64>, destroyed: bool) -> Value {
    json!({"created_time": created, "deletion_time": deletion, "destroyed": destroyed})
}

#[allow(clippy::too_many_arguments)]
fn key_meta(
    current: u64,
    oldest: u64,
    created: u64,
    updated: u64,
    max_versions: u32,
    cas_required: bool,
    dva: u64,
    custom: Value,
    versions: Value,
) -> Value {
    json!({
        "current_version": current,
        "oldest_version": oldest,
        "created_time": created,
        "updated_time": updated,
        "max_versions": max_versions,
        "cas_required": cas_required,
        "delete_version_after": dva,
        "custom_metadata": custom,
        "versions": versions,
    })
}

/// Every secret of the data set, with the versions whose data is stored.
pub(super) const PATHS: &[&str] = &[
    "prod/stripe",
    "prod",
    "prod/db/primary",
    "staging/db/primary",
    "app",
    "gone",
    "meta-only",
    "team/a b/ü-ñ",
];

/// One KV v2 mount's view in layout 0: `kv2/config`, `kv2/meta/<path>` (a `KeyMeta` as
/// JSON) and `kv2/ver/<path>/<n>` (the data object as JSON).
pub(super) fn layout0_entries() -> Vec<(String, Vec<u8>)> {
    let t = |s: u64| T0 + s * SEC + 123_456_789;
    let mut out: Vec<(String, Value)> = vec![(
        "kv2/config".into(),
        json!({"max_versions": 5, "cas_required": false, "delete_version_after": 0}),
    )];
    let mut secret = |path: &str, meta: Value, data: &[(u64, Value)]| {
        out.push((format!("kv2/meta/{path}"), meta));
        for (n, d) in data {
            out.push((format!("kv2/ver/{path}/{n}"), d.clone()));
        }
    };
    // Version 1 soft-deleted in the past, version 2 live; settings and custom metadata.
    secret(
        "prod/stripe",
        key_meta(
            2,
            0,
            t(1),
            t(2),
            3,
            true,
            0,
            json!({"owner": "payments", "tier": "1"}),
            json!({"1": version(t(1), Some(t(5)), false), "2": version(t(2), None, false)}),
        ),
        &[
            (1, json!({"key": "sk_live_one"})),
            (2, json!({"key": "sk_live_two", "n": {"deep": [1, 2]}})),
        ],
    );
    // A secret that is also a folder.
    secret(
        "prod",
        key_meta(
            1,
            0,
            t(3),
            t(3),
            0,
            false,
            0,
            Value::Null,
            json!({"1": version(t(3), None, false)}),
        ),
        &[(1, json!({"region": "eu"}))],
    );
    // Versions 1-2 pruned; version 4's deletion is scheduled far ahead (still readable).
    secret(
        "prod/db/primary",
        key_meta(
            4,
            3,
            t(10),
            t(13),
            2,
            false,
            3600,
            Value::Null,
            json!({"3": version(t(12), None, false), "4": version(t(13), Some(FUTURE), false)}),
        ),
        &[
            (3, json!({"password": "three"})),
            (4, json!({"password": "four"})),
        ],
    );
    // The same names under another folder.
    secret(
        "staging/db/primary",
        key_meta(
            1,
            0,
            t(20),
            t(20),
            0,
            false,
            0,
            Value::Null,
            json!({"1": version(t(20), None, false)}),
        ),
        &[(1, json!({"password": "staging"}))],
    );
    // Version 1 destroyed (its data is gone), version 2 live.
    secret(
        "app",
        key_meta(
            2,
            0,
            t(30),
            t(31),
            0,
            false,
            0,
            Value::Null,
            json!({"1": version(t(30), None, true), "2": version(t(31), None, false)}),
        ),
        &[(2, json!({"token": "app-2"}))],
    );
    // Its only version soft-deleted.
    secret(
        "gone",
        key_meta(
            1,
            0,
            t(40),
            t(40),
            0,
            false,
            0,
            Value::Null,
            json!({"1": version(t(40), Some(t(41)), false)}),
        ),
        &[(1, json!({"x": "gone"}))],
    );
    // Metadata written before any version.
    secret(
        "meta-only",
        key_meta(
            0,
            0,
            t(50),
            t(50),
            7,
            false,
            60,
            json!({"note": "no versions yet"}),
            json!({}),
        ),
        &[],
    );
    // Spaces and non-ASCII in segments.
    secret(
        "team/a b/ü-ñ",
        key_meta(
            1,
            0,
            t(60),
            t(60),
            0,
            false,
            0,
            Value::Null,
            json!({"1": version(t(60), None, false)}),
        ),
        &[(1, json!({"unicode": "✓"}))],
    );
    out.into_iter()
        .map(|(k, v)| (k, serde_json::to_vec(&v).unwrap()))
        .collect()
}

/// A fresh KV v2 mount whose view holds `entries`.
pub(super) async fn mount_with(entries: &[(String, Vec<u8>)]) -> Ctx {
    let c = ctx("kv", obj(json!({"version": "2"}))).await;
    let mut batch = ViewBatch::new();
    for (k, v) in entries {
        batch.put(k.clone(), v.clone());
    }
    c.storage.commit(batch).await.unwrap();
    c
}

/// An answer as a client would tell it apart: status, body, warnings.
fn answer(r: crate::error::Result<Response>) -> Value {
    match r {
        Ok(r) => {
            let status = if r.not_found_with_data {
                404
            } else if r.data.is_none() {
                204
            } else {
                200
            };
            json!({"status": status, "data": r.data, "warnings": r.warnings})
        }
        Err(Error::NotFound) => json!({"status": 404}),
        Err(Error::InvalidRequest(m)) => json!({"status": 400, "error": m}),
        Err(e) => json!({"status": 500, "error": format!("{e:?}")}),
    }
}

/// Timestamps the data set does not hold (those of versions written by the run) become
/// `"<now>"`, so answers compare across runs.
fn normalize(v: &mut Value) {
    match v {
        Value::String(s) => {
            let fixture = s.starts_with("2021-01-01T") || s.starts_with("2100-01-01T");
            if !fixture && s.len() >= 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T' {
                *s = "<now>".into();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        Value::Object(m) => m.values_mut().for_each(normalize),
        _ => {}
    }
}

/// Runs every read the data set allows (and a few writes after them) and returns the
/// answers, each under a name for the request.
pub(super) async fn answers(c: &Ctx, engine: &KvV2) -> Map<String, Value> {
    let mut out = Map::new();
    let ask = |out: &mut Map<String, Value>, name: String, mut v: Value| {
        normalize(&mut v);
        assert!(out.insert(name.clone(), v).is_none(), "{name} asked twice");
    };
    let call = |op: Operation, path: String, data: Value| {
        let req = Request::new(op, path).with_data(obj(data));
        async move { answer(engine.handle(c, &req).await) }
    };
    ask(
        &mut out,
        "read config".into(),
        call(Operation::Read, "config".into(), json!({})).await,
    );
    for folder in [
        "",
        "prod",
        "prod/",
        "prod/db/",
        "staging/",
        "team/",
        "team/a b/",
        "app/",
        "nope/",
        "prod/stripe/",
    ] {
        ask(
            &mut out,
            format!("list metadata/{folder}"),
            call(Operation::List, format!("metadata/{folder}"), json!({})).await,
        );
    }
    for path in PATHS.iter().copied().chain(["nope", "prod/nope"]) {
        for what in ["data", "metadata", "subkeys"] {
            ask(
                &mut out,
                format!("read {what}/{path}"),
                call(Operation::Read, format!("{what}/{path}"), json!({})).await,
            );
        }
        for n in 0..=5 {
            ask(
                &mut out,
                format!("read data/{path}?version={n}"),
                call(
                    Operation::Read,
                    format!("data/{path}"),
                    json!({ "version": n }),
                )
                .await,
            );
        }
        let req = Request::new(Operation::Update, format!("data/{path}"));
        let exists = engine.exists(c, &req).await.map_err(|e| e.to_string());
        ask(&mut out, format!("exists data/{path}"), json!(exists));
    }
    // Writes go on from the stored state: cas, version numbers, pruning, deletes.
    let steps = [
        (
            Operation::Update,
            "data/prod/stripe",
            json!({"data": {"key": "x"}}),
        ),
        (
            Operation::Update,
            "data/prod/stripe",
            json!({"data": {"key": "sk_live_three"}, "options": {"cas": 2}}),
        ),
        (
            Operation::Patch,
            "data/prod/stripe",
            json!({"data": {"extra": 1}, "options": {"cas": 3}}),
        ),
        (Operation::Read, "metadata/prod/stripe", json!({})),
        (Operation::Read, "data/prod/stripe", json!({"version": 1})),
        (Operation::Update, "undelete/gone", json!({"versions": [1]})),
        (Operation::Read, "data/gone", json!({})),
        (
            Operation::Update,
            "destroy/prod/db/primary",
            json!({"versions": [3]}),
        ),
        (Operation::Read, "metadata/prod/db/primary", json!({})),
        (
            Operation::Update,
            "data/meta-only",
            json!({"data": {"a": 1}}),
        ),
        (Operation::Read, "data/meta-only", json!({})),
        (Operation::Delete, "metadata/prod/db/primary", json!({})),
        (Operation::List, "metadata/prod/", json!({})),
        (Operation::List, "metadata/prod/db/", json!({})),
        (Operation::Delete, "metadata/team/a b/ü-ñ", json!({})),
        (Operation::List, "metadata/", json!({})),
        (Operation::List, "metadata/team/", json!({})),
        (
            Operation::Update,
            "data/team/new",
            json!({"data": {"b": 2}}),
        ),
        (Operation::List, "metadata/", json!({})),
        (Operation::List, "metadata/team/", json!({})),
        (Operation::Update, "config", json!({"max_versions": 2})),
        (Operation::Read, "config", json!({})),
        (
            Operation::Update,
            "data/app",
            json!({"data": {"token": "app-3"}}),
        ),
        (Operation::Read, "metadata/app", json!({})),
        (Operation::Read, "data/app", json!({"version": 2})),
    ];
    for (i, (op, path, data)) in steps.into_iter().enumerate() {
        let name = format!("step {i:02}: {} {path} {data}", op.as_str());
        ask(&mut out, name, call(op, path.into(), data).await);
    }
    out
}

fn golden() -> Map<String, Value> {
    let text = include_str!("testdata/layout0-answers.json");
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => m,
        other => panic!("bad golden file: {other:?}"),
    }
}

/// Compares answers with the recorded ones, naming each request that differs.
pub(super) fn assert_golden(got: &Map<String, Value>) {
    let want = golden();
    let mut diffs = Vec::new();
    for (name, w) in &want {
        match got.get(name) {
            Some(g) if g == w => {}
            Some(g) => diffs.push(format!("{name}:\n  want {w}\n  got  {g}")),
            None => diffs.push(format!("{name}: not asked")),
        }
    }
    for name in got.keys().filter(|n| !want.contains_key(*n)) {
        diffs.push(format!("{name}: not in the golden file"));
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn fixture_times_are_what_normalize_keeps() {
    assert!(rfc3339_nano(T0).starts_with("2021-01-01T"));
    assert!(rfc3339_nano(FUTURE).starts_with("2100-01-01T"));
}

#[tokio::test]
async fn layout0_answers() {
    let c = mount_with(&layout0_entries()).await;
    let got = answers(&c, &KvV2).await;
    assert_golden(&got);
}
