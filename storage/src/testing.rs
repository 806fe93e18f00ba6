//! The one conformance suite every [`Physical`] backend must pass (Vault's
//! `ExerciseBackend`). Call it on a fresh, empty backend.

use std::sync::Arc;

use crate::error::Error;
use crate::physical::{Batch, Physical};

fn assert_invalid_key<T: std::fmt::Debug>(result: crate::Result<T>, what: &str) {
    assert!(
        matches!(result, Err(Error::InvalidKey { .. })),
        "{what}: expected InvalidKey, got {result:?}"
    );
}

/// Exercises get/put/delete/list/commit/keys and sequence numbers on an empty backend.
/// Panics (it is a test helper) on the first contract violation.
pub async fn exercise_physical(b: Arc<dyn Physical>) {
    let start = b.last_seq();
    assert_eq!(
        b.keys().await.unwrap(),
        Vec::<String>::new(),
        "backend not empty"
    );
    assert_eq!(b.list("").await.unwrap(), Vec::<String>::new());

    // Missing keys, round trips, overwrite, binary and empty values.
    assert_eq!(b.get("foo").await.unwrap(), None);
    let s1 = b.put("foo", b"bar".to_vec()).await.unwrap();
    assert_eq!(s1, start + 1, "first commit gets the next sequence");
    assert_eq!(b.last_seq(), s1);
    assert_eq!(b.get("foo").await.unwrap().as_deref(), Some(&b"bar"[..]));
    b.put("foo", b"baz".to_vec()).await.unwrap();
    assert_eq!(b.get("foo").await.unwrap().as_deref(), Some(&b"baz"[..]));
    let binary: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    b.put("bin", binary.clone()).await.unwrap();
    assert_eq!(b.get("bin").await.unwrap(), Some(binary));
    b.put("empty", Vec::new()).await.unwrap();
    assert_eq!(b.get("empty").await.unwrap(), Some(Vec::new()));

    // Delete, and delete of a missing key.
    b.delete("foo").await.unwrap();
    assert_eq!(b.get("foo").await.unwrap(), None);
    b.delete("foo").await.unwrap();
    b.delete("bin").await.unwrap();
    b.delete("empty").await.unwrap();
    assert_eq!(b.list("").await.unwrap(), Vec::<String>::new());

    // List semantics: direct children only, folders end in '/', sorted; a key and a folder
    // of the same name coexist.
    for key in ["a", "a/b", "a/b/c", "a/d", "z", "_x", "~y", ".hidden/k"] {
        b.put(key, key.as_bytes().to_vec()).await.unwrap();
    }
    assert_eq!(
        b.list("").await.unwrap(),
        [".hidden/", "_x", "a", "a/", "z", "~y"]
    );
    assert_eq!(b.list("a/").await.unwrap(), ["b", "b/", "d"]);
    assert_eq!(b.list("a/b/").await.unwrap(), ["c"]);
    assert_eq!(b.list("nope/").await.unwrap(), Vec::<String>::new());
    for key in ["a", "a/b", "a/b/c", "a/d", "_x", "~y", ".hidden/k"] {
        assert_eq!(b.get(key).await.unwrap().as_deref(), Some(key.as_bytes()));
    }
    assert_eq!(
        b.keys().await.unwrap(),
        [".hidden/k", "_x", "a", "a/b", "a/b/c", "a/d", "z", "~y"]
    );

    // Deleting the last key in a folder removes the folder from listings.
    b.delete("a/b/c").await.unwrap();
    assert_eq!(b.list("a/").await.unwrap(), ["b", "d"]);
    assert_eq!(b.list("a/b/").await.unwrap(), Vec::<String>::new());
    b.delete("a/b").await.unwrap();
    b.delete("a/d").await.unwrap();
    assert_eq!(
        b.list("").await.unwrap(),
        [".hidden/", "_x", "a", "z", "~y"]
    );
    for key in ["a", "z", "_x", "~y", ".hidden/k"] {
        b.delete(key).await.unwrap();
    }
    assert!(b.keys().await.unwrap().is_empty());

    // Batches: one sequence number, all changes applied in order, later changes win.
    let before = b.last_seq();
    let seq = b
        .commit(
            Batch::new()
                .put("batch/one", b"1".to_vec())
                .put("batch/two", b"2".to_vec())
                .put("batch/three", b"3".to_vec())
                .delete("batch/three")
                .put("batch/two", b"2b".to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(seq, before + 1);
    assert_eq!(b.list("batch/").await.unwrap(), ["one", "two"]);
    assert_eq!(
        b.get("batch/two").await.unwrap().as_deref(),
        Some(&b"2b"[..])
    );

    // A batch with one bad key changes nothing and consumes no sequence.
    let before = b.last_seq();
    assert_invalid_key(
        b.commit(
            Batch::new()
                .put("batch/ok", b"x".to_vec())
                .put("../evil", b"x".to_vec()),
        )
        .await,
        "batch with a bad key",
    );
    assert_eq!(b.last_seq(), before);
    assert_eq!(b.get("batch/ok").await.unwrap(), None);
    assert!(matches!(
        b.commit(Batch::new()).await,
        Err(Error::InvalidRequest(_))
    ));

    // Bad keys and prefixes are typed errors everywhere.
    assert_invalid_key(b.get("../etc/passwd").await, "get traversal");
    assert_invalid_key(b.put("/abs", b"x".to_vec()).await, "put absolute");
    assert_invalid_key(b.delete("a//b").await, "delete empty segment");
    assert_invalid_key(b.list("../").await, "list traversal");
    assert_invalid_key(b.list("a").await, "list without trailing slash");

    // Concurrent commits get distinct, contiguous sequence numbers and all land.
    let before = b.last_seq();
    let mut tasks = Vec::new();
    for i in 0..32u32 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            b.commit(
                Batch::new()
                    .put(format!("conc/{i}/a"), i.to_be_bytes().to_vec())
                    .put(format!("conc/{i}/b"), i.to_be_bytes().to_vec()),
            )
            .await
            .unwrap()
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (before + 1..=before + 32).collect::<Vec<_>>());
    assert_eq!(b.last_seq(), before + 32);
    assert_eq!(b.list("conc/").await.unwrap().len(), 32);
    for i in 0..32u32 {
        let want = i.to_be_bytes().to_vec();
        assert_eq!(b.get(&format!("conc/{i}/b")).await.unwrap(), Some(want));
    }

    // Clean up so callers can keep using the backend.
    let mut batch = Batch::new();
    for key in b.keys().await.unwrap() {
        batch = batch.delete(key);
    }
    b.commit(batch).await.unwrap();
    assert!(b.keys().await.unwrap().is_empty());
}
