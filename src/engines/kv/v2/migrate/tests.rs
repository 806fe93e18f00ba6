//! Layout-0 data built by hand (the keys and JSON values exactly as layout 0 wrote them),
//! migrated, and every answer the engine gives on it compared with layout 0's.
//!
//! `testdata/layout0-answers.json` was recorded from the layout-0 engine (commit "kv v2:
//! record what layout 0 answers on a hand-built data set") and must never be regenerated:
//! it is what a migrated mount has to keep answering.

use serde_json::{json, Map, Value};

use crate::engines::kv::support::{obj, rfc3339_nano};
use crate::engines::kv::v2::{migrate_v2_layout0, v2_layout_of, V2_LAYOUT};
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

/// Every key of `keys` (relative to the mount's view) is a layout-1 key: config, salt, or
/// an area followed by 32-hex-digit segments (and a version number under `v/`).
#[track_caller]
pub(in crate::engines::kv::v2) fn assert_layout1_keys(keys: &[String]) {
    let hash = |s: &str| s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    for key in keys {
        let Some(rest) = key.strip_prefix("kv2/") else {
            panic!("{key}: outside kv2/");
        };
        let ok = match rest.split_once('/') {
            None => rest == "config" || rest == "salt",
            Some(("m" | "f", hashed)) => hashed.split('/').all(hash),
            Some(("v", hashed)) => hashed
                .rsplit_once('/')
                .is_some_and(|(h, n)| h.split('/').all(hash) && n.parse::<u64>().is_ok()),
            Some(_) => false,
        };
        assert!(ok, "{key}: not a layout-1 key");
    }
}

/// No plaintext segment of the data set's paths appears in `keys`, anywhere.
#[track_caller]
fn assert_no_plaintext(keys: &[String]) {
    for key in keys {
        for path in PATHS {
            for segment in path.split('/') {
                let hex = segment.bytes().all(|b| b.is_ascii_hexdigit());
                // A short all-hex name ("db") can occur inside a hash by chance: only a
                // whole segment counts then.
                let found = if hex {
                    key.split('/').any(|s| s == segment)
                } else {
                    key.contains(segment)
                };
                assert!(!found, "{key} shows {segment:?}");
            }
        }
    }
}

fn keys_of(entries: &[(String, Vec<u8>)]) -> Vec<String> {
    entries.iter().map(|(k, _)| k.clone()).collect()
}

#[tokio::test]
async fn migrated_mount_answers_as_layout0_did() {
    let layout0 = layout0_entries();
    assert_eq!(v2_layout_of(&keys_of(&layout0)), 0);
    let migrated = migrate_v2_layout0(layout0).unwrap();
    let keys = keys_of(&migrated);
    assert_eq!(v2_layout_of(&keys), 1);
    assert_layout1_keys(&keys);
    assert_no_plaintext(&keys);
    // Salt, config, 8 metadata, 9 versions with data, and the folders prod, prod/db,
    // staging, staging/db, team, team/a b.
    assert_eq!(migrated.len(), 1 + 1 + 8 + 9 + 6, "{keys:?}");

    let c = mount_with(&migrated).await;
    let engine = KvV2::new();
    assert_golden(&answers(&c, &engine).await);
    // The writes in there kept the layout: no plaintext, and exactly the folder records
    // of the folders that still hold something.
    let keys = c.storage.keys().await.unwrap();
    assert_layout1_keys(&keys);
    assert_no_plaintext(&keys);
    crate::engines::kv::v2::tests::assert_folder_records_exact(&c).await;
}

#[tokio::test]
async fn layout_of_keys() {
    let keys = |ks: &[&str]| ks.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
    assert_eq!(v2_layout_of(&[]), 1);
    assert_eq!(v2_layout_of(&keys(&["kv2/config"])), 1);
    assert_eq!(v2_layout_of(&keys(&["kv2/config", "kv2/meta/a"])), 0);
    assert_eq!(v2_layout_of(&keys(&["kv2/ver/a/1"])), 0);
    assert_eq!(v2_layout_of(&keys(&["kv2/salt", "kv2/m/ab"])), 1);
    assert_eq!(v2_layout_of(&keys(&["kv2/salt", "kv2/meta/a"])), 1);
    assert_eq!(V2_LAYOUT, 1);
}

#[tokio::test]
async fn migration_edge_cases() {
    // An empty mount gets just a salt; config and keys outside kv2/ are kept as they are.
    let out = migrate_v2_layout0(Vec::new()).unwrap();
    assert_eq!(keys_of(&out), ["kv2/salt"]);
    let config = br#"{"max_versions":3}"#.to_vec();
    let out = migrate_v2_layout0(vec![
        ("kv2/config".into(), config.clone()),
        ("other".into(), b"x".to_vec()),
    ])
    .unwrap();
    assert!(out.contains(&("kv2/config".into(), config)));
    assert!(out.contains(&("other".into(), b"x".to_vec())));
    assert_eq!(out.len(), 3);

    // Version data no metadata lists was unreachable, and is dropped.
    let meta = serde_json::to_vec(&json!({"current_version": 2, "oldest_version": 2,
        "versions": {"2": {"created_time": T0, "deletion_time": null, "destroyed": false}}}))
    .unwrap();
    let out = migrate_v2_layout0(vec![
        ("kv2/meta/a".into(), meta),
        ("kv2/ver/a/1".into(), b"{}".to_vec()),
        ("kv2/ver/a/2".into(), br#"{"v":2}"#.to_vec()),
        ("kv2/ver/orphan/1".into(), b"{}".to_vec()),
    ])
    .unwrap();
    let keys = keys_of(&out);
    assert_layout1_keys(&keys);
    assert_eq!(keys.iter().filter(|k| k.starts_with("kv2/v/")).count(), 1);
    assert!(keys.iter().all(|k| !k.contains("orphan")));

    // Refusals: already layout 1, unknown keys, bad metadata, bad version keys, too deep.
    let refused = |entries: Vec<(&str, &[u8])>| {
        let entries = entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_vec()))
            .collect();
        match migrate_v2_layout0(entries) {
            Err(Error::Internal(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    };
    refused(vec![("kv2/salt", b"{}")]);
    refused(vec![("kv2/unknown", b"{}")]);
    refused(vec![("kv2/meta/a", b"not json")]);
    refused(vec![("kv2/ver/a/x", b"{}")]);
    refused(vec![("kv2/ver/a", b"{}")]);
    let deep = format!(
        "kv2/meta/{}",
        vec!["d"; crate::engines::kv::v2::MAX_DEPTH + 1].join("/")
    );
    let msg = refused(vec![(deep.as_str(), b"{}")]);
    assert!(!msg.contains("d/d"), "{msg}");
}

#[tokio::test]
async fn engine_refuses_an_unmigrated_mount() {
    let c = mount_with(&layout0_entries()).await;
    let engine = KvV2::new();
    let before = c.storage.keys().await.unwrap();
    for (op, path, data) in [
        (Operation::Read, "data/app", json!({})),
        (Operation::List, "metadata/", json!({})),
        (Operation::Update, "data/new", json!({"data": {"a": 1}})),
        (
            Operation::Update,
            "metadata/new",
            json!({"max_versions": 1}),
        ),
    ] {
        let r = engine
            .handle(&c, &Request::new(op, path).with_data(obj(data)))
            .await;
        assert!(matches!(r, Err(Error::Internal(_))), "{path}: {r:?}");
    }
    // Nothing was written: no salt that would mark the data as migrated.
    assert_eq!(c.storage.keys().await.unwrap(), before);
}
