//! Log identity: a data directory gets a random log id when it is created, keeps it across
//! reopens, an old-format CHECKPOINT gets one on open, a damaged one is a typed error;
//! in-memory backends pick one per instance and a wipe starts a new one.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use vaultrs_storage::merkle::KeyFilter;
use vaultrs_storage::{
    Error, FileBackend, FileOptions, InmemBackend, LogId, MerkleIndex, Physical,
};

fn checkpoint_json(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(dir.join("CHECKPOINT")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_id_is_created_with_the_directory_and_kept() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = FileBackend::open(a.path(), FileOptions::default())
        .await
        .unwrap();
    let other = FileBackend::open(b.path(), FileOptions::default())
        .await
        .unwrap();
    let id = first.log_id();
    assert_ne!(id, other.log_id(), "two directories share a log id");
    // Durable before open returned: CHECKPOINT (format 2) holds it.
    let record = checkpoint_json(a.path());
    assert_eq!(record["version"], 2);
    assert_eq!(record["log_id"], id.to_string());
    first.put("k", b"v".to_vec()).await.unwrap();
    assert_eq!(first.position().log_id, id);
    assert_eq!(first.position().seq, 1);
    first.close().await.unwrap();
    other.close().await.unwrap();
    drop(first);

    let again = FileBackend::open(a.path(), FileOptions::default())
        .await
        .unwrap();
    assert_eq!(again.log_id(), id, "the log id survives a reopen");
    assert_eq!(again.last_seq(), 1);
    // A Merkle index built over it stands at the backend's position.
    let filter: KeyFilter = Arc::new(|_: &str| true);
    let index = MerkleIndex::rebuild(&again, filter).await.unwrap();
    assert_eq!(index.position(), Some(again.position()));
    again.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_id_is_given_to_a_directory_from_before_log_ids() {
    let dir = tempfile::tempdir().unwrap();
    let b = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    for i in 0..4u8 {
        b.put(&format!("k{i}"), vec![i]).await.unwrap();
    }
    b.close().await.unwrap();
    drop(b);
    // What a vaultrs from before log ids wrote.
    fs::write(dir.path().join("CHECKPOINT"), br#"{"version":1,"seq":4}"#).unwrap();

    let b = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    let id = b.log_id();
    assert_eq!(b.last_seq(), 4);
    assert_eq!(b.get("k3").await.unwrap(), Some(vec![3]));
    let record = checkpoint_json(dir.path());
    assert_eq!(
        (record["version"].clone(), record["seq"].clone()),
        (2.into(), 4.into())
    );
    assert_eq!(record["log_id"], id.to_string());
    b.close().await.unwrap();
    drop(b);
    let b = FileBackend::open(dir.path(), FileOptions::default())
        .await
        .unwrap();
    assert_eq!(b.log_id(), id);
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_id_damaged_in_checkpoint_is_a_typed_error() {
    for bad in [
        r#"{"version":2,"seq":0,"log_id":"not hex"}"#,
        r#"{"version":2,"seq":0}"#,
        r#"{"version":3,"seq":0,"log_id":"00000000000000000000000000000000"}"#,
    ] {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("CHECKPOINT"), bad).unwrap();
        match FileBackend::open(dir.path(), FileOptions::default()).await {
            Err(Error::Corrupt { what, .. }) => assert_eq!(what, "CHECKPOINT", "{bad}"),
            Err(other) => panic!("{bad}: expected Corrupt, got {other}"),
            Ok(_) => panic!("{bad}: opened"),
        }
    }
}

#[tokio::test]
async fn log_id_of_an_inmem_backend_is_per_instance_and_wipe_renews_it() {
    let (a, b) = (InmemBackend::new(), InmemBackend::new());
    assert_ne!(a.log_id(), b.log_id());
    assert_eq!(a.log_id(), a.log_id());
    a.put("k", vec![1]).await.unwrap();
    let before = a.position();
    let renewed: LogId = a.wipe();
    assert_ne!(renewed, before.log_id);
    assert_eq!(a.position().log_id, renewed);
    assert_eq!(a.last_seq(), 1, "sequence numbers never go back");
    assert_eq!(a.get("k").await.unwrap(), None);
    assert_eq!(a.put("k", vec![2]).await.unwrap(), 2);
}
