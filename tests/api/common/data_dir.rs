//! A data-directory inspector: the keys in a server's tree, and the check that they are
//! only the expected ones.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// Names the data directory may hold at its top level.
const DATA_DIR_NAMES: &[&str] = &[
    "CHECKPOINT",
    "LOCK",
    "wal",
    "tree",
    "spare",
    "dev-unseal-key",
    "dev-root-token",
];

fn is_temp(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// One pass over the data dir: (stray entries, transient temp files, tree keys).
fn scan(dir: &Path) -> (Vec<String>, Vec<String>, BTreeSet<String>) {
    let mut stray = Vec::new();
    let mut temps = Vec::new();
    let mut keys = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_temp(&name) {
            temps.push(name);
        } else if !DATA_DIR_NAMES.contains(&name.as_str()) {
            stray.push(name);
        }
    }
    if let Ok(wal) = std::fs::read_dir(dir.join("wal")) {
        for entry in wal {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.ends_with(".log") && entry.file_type().unwrap().is_file()) {
                stray.push(format!("wal/{name}"));
            }
        }
    }
    fn walk(
        path: &Path,
        segs: &mut Vec<String>,
        stray: &mut Vec<String>,
        temps: &mut Vec<String>,
        keys: &mut BTreeSet<String>,
    ) {
        let Ok(rd) = std::fs::read_dir(path) else {
            return;
        };
        for entry in rd {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let shown = format!(
                "tree/{}{}",
                segs.iter().map(|s| format!("{s}/")).collect::<String>(),
                name
            );
            let ft = entry.file_type().unwrap();
            if ft.is_dir() {
                let seg = match name.strip_prefix('~') {
                    Some(esc) if esc.starts_with(['_', '~', '.']) => esc.to_owned(),
                    Some(_) => {
                        stray.push(shown);
                        continue;
                    }
                    None if name.starts_with(['_', '.']) => {
                        stray.push(shown);
                        continue;
                    }
                    None => name.clone(),
                };
                segs.push(seg);
                walk(&entry.path(), segs, stray, temps, keys);
                segs.pop();
            } else if ft.is_file() {
                if let Some(leaf) = name.strip_prefix('_') {
                    let mut k = segs.join("/");
                    if !k.is_empty() {
                        k.push('/');
                    }
                    k.push_str(leaf);
                    keys.insert(k);
                } else if is_temp(&name) {
                    temps.push(shown);
                } else {
                    stray.push(shown);
                }
            } else {
                stray.push(shown);
            }
        }
    }
    walk(
        &dir.join("tree"),
        &mut Vec::new(),
        &mut stray,
        &mut temps,
        &mut keys,
    );
    stray.sort();
    (stray, temps, keys)
}

/// The storage keys in the data dir's tree, after asserting the directory holds nothing
/// but what the file backend and dev mode write (transient temp files are waited out).
pub fn clean_tree_keys(dir: &Path) -> BTreeSet<String> {
    // The server writes the tree just behind its log (acknowledged batches are already
    // durable there), so wait until two scans a moment apart agree and no temp file is
    // left: the tree has caught up with every answered request.
    let mut previous: Option<BTreeSet<String>> = None;
    for _ in 0..100 {
        let (stray, temps, keys) = scan(dir);
        assert!(
            stray.is_empty(),
            "stray entries in the data dir {}: {stray:?}",
            dir.display()
        );
        if temps.is_empty() && previous.as_ref() == Some(&keys) {
            for k in ["CHECKPOINT", "LOCK", "wal", "tree"] {
                assert!(dir.join(k).exists(), "{k} missing from the data dir");
            }
            return keys;
        }
        previous = temps.is_empty().then_some(keys);
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the data dir did not settle: temp files {:?}", scan(dir).1);
}

/// Asserts every storage key lies under a prefix the server owns (storage layout 1): the
/// core's (replicated and local), the token, lease and policy stores', audit salts, or a
/// live mount's data (replicated, local, or an engine's cluster-local data).
#[track_caller]
pub fn assert_keys_expected(keys: &BTreeSet<String>, mount_uuids: &[String]) {
    for k in keys {
        let ok = k.starts_with("core/")
            || k.starts_with("local/core/")
            || k.starts_with("local/token/")
            || k.starts_with("local/leases/")
            || k.starts_with("sys/policy/")
            || k.starts_with("sys/token/roles/")
            || k.starts_with("audit/")
            || k.starts_with("local/audit/")
            || mount_uuids.iter().any(|u| {
                [
                    "logical",
                    "auth",
                    "local/logical",
                    "local/auth",
                    "local/engine",
                ]
                .iter()
                .any(|p| k.starts_with(&format!("{p}/{u}/")))
            });
        assert!(ok, "unexpected storage key {k:?}");
    }
}
