//! Work that has started finishes: 1,000 concurrent writes while clients disconnect at
//! random points. Afterwards the feed has no gap, every acknowledged write reads back
//! through the API, and what the server caches agrees with storage.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::json;
use vaultrs::storage::Physical;

use super::support::Node;

const WRITES: usize = 1000;
const POLICIES: usize = 8;

fn policy(i: usize, round: usize) -> String {
    format!(r#"path "secret/data/p{i}/r{round}" {{ capabilities = ["read"] }}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_cut_off_by_their_clients_finish_and_leave_no_trace_of_it() {
    let dir = tempfile::tempdir().unwrap();
    // Fsynced commits: a commit takes long enough for clients to leave during it.
    let node = Node::init_with(dir.path(), true).await;
    let v = node.v();
    // Policies the core has cached before they are rewritten under disconnects.
    for i in 0..POLICIES {
        v.put(
            &format!("sys/policies/acl/p{i}"),
            json!({"policy": policy(i, 0)}),
        )
        .await
        .no_content();
        v.get(&format!("sys/policies/acl/p{i}")).await.ok();
    }
    let start = node.storage.feed.position();

    let client = reqwest::Client::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::new();
    for n in 0..WRITES {
        let client = client.clone();
        let limit = limit.clone();
        let (addr, root) = (node.addr.clone(), node.root.clone());
        tasks.push(tokio::spawn(async move {
            let _slot = limit.acquire().await.unwrap();
            // A third of the clients give up at a random point: before, during or after
            // the commit.
            let cut = rand::thread_rng().gen_ratio(1, 3);
            let wait = Duration::from_micros(rand::thread_rng().gen_range(50..4000));
            if n % 10 == 5 {
                // Reads refill the policy cache between the rewrites.
                let _ = client
                    .get(format!("{addr}/v1/sys/policies/acl/p{}", n % POLICIES))
                    .header("X-Vault-Token", &root)
                    .send()
                    .await;
            }
            let (path, body) = if n % 10 == 0 {
                let i = n % POLICIES;
                (
                    format!("sys/policies/acl/p{i}"),
                    json!({"policy": policy(i, n)}),
                )
            } else {
                (format!("secret/data/k{n}"), json!({"data": {"n": n}}))
            };
            let send = client
                .put(format!("{addr}/v1/{path}"))
                .header("X-Vault-Token", root)
                .json(&body)
                .send();
            let acked = if cut {
                matches!(tokio::time::timeout(wait, send).await, Ok(Ok(r)) if r.status().is_success())
            } else {
                send.await.unwrap().status().is_success()
            };
            (n, acked)
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        let (n, ok) = t.await.unwrap();
        if ok {
            acked.push(n);
        }
    }
    assert!(
        acked.len() > WRITES / 2,
        "too few writes answered: {}",
        acked.len()
    );

    // Requests whose client left are still running: wait until storage is quiet.
    let mut last = node.storage.file.last_seq();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = node.storage.file.last_seq();
        if now == last {
            break;
        }
        last = now;
    }
    node.settle().await;

    // The feed has no gap: every batch from the start, in order, each once.
    assert_eq!(node.storage.feed.published(), last);
    let mut sub = node.storage.feed.subscribe(start).unwrap();
    let mut expected = start.seq + 1;
    while expected <= last {
        let batch = sub.next().await.unwrap();
        assert_eq!(batch.seq, expected, "the feed skipped or repeated a batch");
        expected += 1;
    }

    // Every acknowledged write reads back.
    for n in &acked {
        if n % 10 != 0 {
            let d = v.get(&format!("secret/data/k{n}")).await.data();
            assert_eq!(d["data"]["n"], *n as u64);
        }
    }

    // The read cache agrees with the tree, key by key.
    for key in node.storage.file.keys().await.unwrap() {
        assert_eq!(
            node.storage.cache.get(&key).await.unwrap(),
            node.storage.file.get(&key).await.unwrap(),
            "the cache differs from storage at {key}"
        );
    }

    // What the API answers from the core's caches equals what a fresh unseal reads.
    let answers = |v: crate::api::common::V| async move {
        let mut out = Vec::new();
        for i in 0..POLICIES {
            out.push(v.get(&format!("sys/policies/acl/p{i}")).await.data()["policy"].clone());
        }
        out
    };
    let cached = answers(v.clone()).await;
    node.core.seal().await;
    node.core.unseal(&node.unseal_key).await.unwrap();
    assert_eq!(
        answers(v.clone()).await,
        cached,
        "a cached policy went stale"
    );
    node.assert_index_current().await;
    node.stop().await;
}
