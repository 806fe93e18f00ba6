//! Helpers shared by KV v1 and v2: key checks, Vault-style time and duration text,
//! JSON merge patch (RFC 7386) and per-key locks.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use tokio::sync::{Mutex, MutexGuard};

use crate::error::{Error, Result};

/// Longest secret path accepted. The storage layer allows 4096-byte keys; the mount and
/// engine prefixes (a cubbyhole token prefix; KV v2 hashes segments and bounds their
/// number instead) need room too.
pub const MAX_PATH_LEN: usize = 3800;

/// Whether `path` can name a stored secret (non-empty, no empty/`.`/`..` segments, no
/// control characters, bounded length).
pub fn valid_key(path: &str) -> bool {
    path.len() <= MAX_PATH_LEN && vaultrs_storage::key::validate_key(path).is_ok()
}

/// Checks the path of a write, with Vault's words for the empty path.
pub fn check_write_key(path: &str) -> Result<()> {
    if path.is_empty() {
        return Err(Error::invalid("missing path"));
    }
    if path.len() > MAX_PATH_LEN {
        return Err(Error::invalid("path is too long"));
    }
    if let Err(e) = vaultrs_storage::key::validate_key(path) {
        let reason = match e {
            vaultrs_storage::Error::InvalidKey { reason, .. } => reason,
            _ => "invalid path",
        };
        return Err(Error::invalid(format!("invalid path {path:?}: {reason}")));
    }
    Ok(())
}

/// A LIST folder: `""` for the root, otherwise `path` with a trailing `/`. `None` when the
/// folder cannot exist in storage (so the list is empty).
pub fn list_prefix(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some(String::new());
    }
    let prefix = if path.ends_with('/') {
        path.to_owned()
    } else {
        format!("{path}/")
    };
    let folder = &prefix[..prefix.len() - 1];
    valid_key(folder).then_some(prefix)
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Go's `time.RFC3339Nano` in UTC: `2018-03-22T02:24:06.945319214Z`, trailing zeros of the
/// fraction dropped (and the dot too when the fraction is zero), as Vault prints it.
pub fn rfc3339_nano(nanos: u64) -> String {
    // The remainder is below 10⁹, so it fits a u32.
    crate::util::rfc3339_parts(nanos / 1_000_000_000, (nanos % 1_000_000_000) as u32)
}

/// Go's `time.Duration.String()` for whole seconds: `0s`, `45s`, `1m30s`, `1h0m0s`, `-1s`.
pub fn go_duration(secs: i64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{sec}s")
    } else if m > 0 {
        format!("{sign}{m}m{sec}s")
    } else {
        format!("{sign}{sec}s")
    }
}

/// A duration in whole seconds, possibly negative: a number of seconds or a Go-style
/// string (`"-1s"`, `"1h30m"`, `"90"`). `None` when absent or null.
pub fn signed_duration_secs(data: &Map<String, Value>, name: &str) -> Result<Option<i64>> {
    let bad = || Error::invalid(format!("{name}: invalid duration"));
    match data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.trunc() as i64)),
                    _ => Err(bad()),
                }
            }
        }
        Some(Value::String(s)) => {
            let t = s.trim();
            let (neg, body) = match t.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, t.strip_prefix('+').unwrap_or(t)),
            };
            let d = crate::logical::parse_duration(body).ok_or_else(bad)?;
            let secs = i64::try_from(d.as_secs()).map_err(|_| bad())?;
            Ok(Some(if neg { -secs } else { secs }))
        }
        Some(_) => Err(bad()),
    }
}

/// Applies a JSON merge patch (RFC 7386) to `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (k, v) in patch {
            if v.is_null() {
                map.remove(k);
            } else {
                merge_patch(map.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

const LOCK_STRIPES: usize = 256;

static LOCKS: LazyLock<Vec<Mutex<()>>> =
    LazyLock::new(|| (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect());

fn stripe(view_prefix: &str, key: &str) -> usize {
    let mut h = DefaultHasher::new();
    view_prefix.hash(&mut h);
    key.hash(&mut h);
    (h.finish() % LOCK_STRIPES as u64) as usize
}

/// Serializes read-modify-write cycles on one key of one storage view (striped locks, like
/// Vault's `locksutil`). Hold at most one at a time; take several with [`lock_keys`].
pub async fn lock_key(view_prefix: &str, key: &str) -> MutexGuard<'static, ()> {
    LOCKS[stripe(view_prefix, key)].lock().await
}

/// The locks of several keys of one storage view at once, for a change that spans them (a
/// secret and its folders). Stripes are taken in index order, each once, so two callers can
/// never wait on each other in a cycle; a [`lock_key`] holder waits for nothing while it
/// holds its stripe, so it cannot close one either. Call it holding no other lock.
pub async fn lock_keys<'k>(
    view_prefix: &str,
    keys: impl IntoIterator<Item = &'k str>,
) -> Vec<MutexGuard<'static, ()>> {
    let mut stripes: Vec<usize> = keys.into_iter().map(|k| stripe(view_prefix, k)).collect();
    stripes.sort_unstable();
    stripes.dedup();
    let mut guards = Vec::with_capacity(stripes.len());
    for i in stripes {
        guards.push(LOCKS[i].lock().await);
    }
    guards
}

/// The object inside a `json!` value (empty if it is not one).
pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339_nano(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_nano(1_521_685_446_945_319_214),
            "2018-03-22T02:24:06.945319214Z"
        );
        assert_eq!(
            rfc3339_nano(1_704_067_200_120_000_000),
            "2024-01-01T00:00:00.12Z"
        );
        // Leap day.
        assert_eq!(
            rfc3339_nano(1_709_164_800_000_000_000),
            "2024-02-29T00:00:00Z"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(45), "45s");
        assert_eq!(go_duration(90), "1m30s");
        assert_eq!(go_duration(3600), "1h0m0s");
        assert_eq!(go_duration(-1), "-1s");
        let data = obj(json!({"a": "-1s", "b": "1h", "c": 30, "d": "x", "e": [1]}));
        assert_eq!(signed_duration_secs(&data, "a").unwrap(), Some(-1));
        assert_eq!(signed_duration_secs(&data, "b").unwrap(), Some(3600));
        assert_eq!(signed_duration_secs(&data, "c").unwrap(), Some(30));
        assert_eq!(signed_duration_secs(&data, "z").unwrap(), None);
        assert!(signed_duration_secs(&data, "d").is_err());
        assert!(signed_duration_secs(&data, "e").is_err());
    }

    #[test]
    fn merge_patch_rfc7386() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}, "k": [1]});
        merge_patch(
            &mut t,
            &json!({"a": "z", "c": {"f": null, "h": 1}, "k": null, "n": {"x": null}}),
        );
        assert_eq!(t, json!({"a": "z", "c": {"d": "e", "h": 1}, "n": {}}));
        let mut t = json!({"a": 1});
        merge_patch(&mut t, &json!({"a": {"b": 2}}));
        assert_eq!(t, json!({"a": {"b": 2}}));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lock_keys_never_deadlocks() {
        // Overlapping sets in opposite orders, with repeats and single-key lockers beside.
        let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        let mut tasks = Vec::new();
        for t in 0..16 {
            let mut mine: Vec<String> = keys.iter().skip(t).step_by(3).cloned().collect();
            if t % 2 == 1 {
                mine.reverse();
            }
            mine.push(mine[0].clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..50 {
                    let _all = lock_keys("v/", mine.iter().map(String::as_str)).await;
                    tokio::task::yield_now().await;
                }
            }));
            let one = keys[t].clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..50 {
                    let _g = lock_key("v/", &one).await;
                    tokio::task::yield_now().await;
                }
            }));
        }
        let all = async {
            for t in tasks {
                t.await.unwrap();
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(30), all)
            .await
            .expect("lock_keys deadlocked");
    }

    #[test]
    fn keys() {
        assert!(valid_key("a/b/c"));
        assert!(!valid_key(""));
        assert!(!valid_key("a//b"));
        assert!(!valid_key("a/../b"));
        assert!(!valid_key("a/"));
        assert_eq!(list_prefix(""), Some(String::new()));
        assert_eq!(list_prefix("a/b"), Some("a/b/".into()));
        assert_eq!(list_prefix("a/b/"), Some("a/b/".into()));
        assert_eq!(list_prefix("a//"), None);
        assert!(check_write_key("").is_err());
        assert!(check_write_key("a/../b").is_err());
        assert!(check_write_key(&"x".repeat(MAX_PATH_LEN + 1)).is_err());
    }
}
