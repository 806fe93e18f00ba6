//! Hostile keys never reach outside the data directory, never collide, and never pass for
//! temp files (RELIABILITY I1, I2).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use vaultrs_storage::{Batch, Error, FileBackend, FileOptions, Physical};

/// Every path under `root` except `skip`, with its size and modification time.
fn snapshot(root: &Path, skip: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| e.path() != skip)
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            (
                e.path().to_path_buf(),
                (meta.len(), meta.modified().unwrap()),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_safety_hostile_keys_are_refused_or_contained() {
    let outer = tempfile::tempdir().unwrap();
    // Decoys a traversal would hit: siblings and parents of the data dir.
    std::fs::write(outer.path().join("_b"), b"decoy").unwrap();
    std::fs::write(outer.path().join("b"), b"decoy").unwrap();
    std::fs::create_dir(outer.path().join("etc")).unwrap();
    std::fs::write(outer.path().join("etc/_passwd"), b"decoy").unwrap();
    let data = outer.path().join("data");
    let b = FileBackend::open(&data, FileOptions::default())
        .await
        .unwrap();
    let before = snapshot(outer.path(), &data);

    let long_segment = "x".repeat(10 * 1024);
    let long_nested = format!("a/{long_segment}/b");
    let refused = [
        "..",
        "../b",
        "a/../../b",
        "a/../../../etc/passwd",
        ".",
        "./a",
        "a/.",
        "a/..",
        "/etc/passwd",
        "/",
        "",
        "a//b",
        "a/",
        "a\\..\\..\\b",
        "..\\b",
        "a\0b",
        "\0",
        "a\nb",
        "a\rb",
        "\u{1b}[31m",
        "\u{85}",
        long_segment.as_str(),
        long_nested.as_str(),
    ];
    for key in refused {
        let shown: String = key.chars().take(40).collect();
        for result in [
            b.put(key, b"evil".to_vec()).await.map(|_| ()),
            b.get(key).await.map(|_| ()),
            b.delete(key).await.map(|_| ()),
            b.commit(
                Batch::new()
                    .put("fine", b"x".to_vec())
                    .put(key, b"e".to_vec()),
            )
            .await
            .map(|_| ()),
        ] {
            assert!(
                matches!(result, Err(Error::InvalidKey { .. })),
                "{shown:?}: {result:?}"
            );
        }
        let prefix = format!("{key}/");
        if !key.is_empty() {
            assert!(
                matches!(b.list(&prefix).await, Err(Error::InvalidKey { .. })),
                "list {shown:?}"
            );
        }
    }
    assert_eq!(
        b.get("fine").await.unwrap(),
        None,
        "a refused batch was partly applied"
    );

    // Odd but legal keys are stored literally, inside the tree, and read back.
    let literal = [
        "%2e%2e",
        "%2e%2e/%2e%2e/b",
        "..%2f..%2fb",
        "a..b",
        "...",
        "x.tmp",
        "._a.tmp",
        ".a.tmp/k",
        "_b",
        "~b",
        "b",
        "b/_c",
        "ünïcödé/ｆｕｌｌｗｉｄｔｈ",
        "tab\u{200b}zero-width",
    ];
    for key in literal {
        b.put(key, key.as_bytes().to_vec()).await.unwrap();
    }
    for key in literal {
        assert_eq!(
            b.get(key).await.unwrap().as_deref(),
            Some(key.as_bytes()),
            "{key:?}"
        );
    }
    let mut expected: Vec<String> = literal.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(b.keys().await.unwrap(), expected);

    // Reopening (which removes temp files) keeps every one of them.
    b.close().await.unwrap();
    drop(b);
    let b = FileBackend::open(&data, FileOptions::default())
        .await
        .unwrap();
    assert_eq!(b.keys().await.unwrap(), expected);
    b.close().await.unwrap();

    // Nothing outside the data dir was created or changed.
    assert_eq!(snapshot(outer.path(), &data), before);
    // Inside it, only the backend's own layout exists.
    for entry in std::fs::read_dir(&data).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            ["tree", "wal", "spare", "CHECKPOINT", "LOCK"].contains(&name.as_str()),
            "unexpected {name} in the data dir"
        );
    }
}
