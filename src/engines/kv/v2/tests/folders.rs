//! Folder records and listing: what a listing reads, folders emptied and refilled, concurrent
//! siblings, depth bounds, and a missing folder record.

use super::*;

/// A `Physical` that records the keys read and the prefixes listed.
#[derive(Default)]
struct Counting {
    inner: vaultrs_storage::InmemBackend,
    gets: std::sync::Mutex<Vec<String>>,
    lists: std::sync::Mutex<Vec<String>>,
}

impl Counting {
    fn take(&self) -> (Vec<String>, Vec<String>) {
        (
            std::mem::take(&mut *self.gets.lock().unwrap()),
            std::mem::take(&mut *self.lists.lock().unwrap()),
        )
    }
}

#[async_trait]
impl vaultrs_storage::Physical for Counting {
    async fn get(&self, key: &str) -> vaultrs_storage::Result<Option<Vec<u8>>> {
        self.gets.lock().unwrap().push(key.to_owned());
        self.inner.get(key).await
    }
    async fn list(&self, prefix: &str) -> vaultrs_storage::Result<Vec<String>> {
        self.lists.lock().unwrap().push(prefix.to_owned());
        self.inner.list(prefix).await
    }
    async fn commit(&self, batch: vaultrs_storage::Batch) -> vaultrs_storage::Result<u64> {
        self.inner.commit(batch).await
    }
    async fn keys(&self) -> vaultrs_storage::Result<Vec<String>> {
        self.inner.keys().await
    }
    fn last_seq(&self) -> u64 {
        self.inner.last_seq()
    }
    fn log_id(&self) -> vaultrs_storage::LogId {
        self.inner.log_id()
    }
}

async fn counting_mount() -> (Ctx, std::sync::Arc<Counting>) {
    let counting = std::sync::Arc::new(Counting::default());
    let barrier = std::sync::Arc::new(vaultrs_storage::Barrier::new(counting.clone()));
    let init = barrier.init(1, 1).await.unwrap();
    barrier.unseal(&init.shares[0]).await.unwrap();
    (mount_on(&barrier, "counted").await, counting)
}

#[tokio::test]
async fn listing_reads_only_the_listed_folder() {
    let (c, counting) = counting_mount().await;
    let engine = KvV2::new();
    let run = |op: Operation, path: String, data: Value| {
        let req = Request::new(op, path).with_data(obj(data));
        let engine = &engine;
        let c = &c;
        async move { engine.handle(c, &req).await.unwrap() }
    };
    for p in ["small/a", "small/b", "small/sub/c"] {
        run(Operation::Update, format!("data/{p}"), json!({"data": {}})).await;
    }
    for i in 0..200 {
        run(
            Operation::Update,
            format!("data/big/x{i}"),
            json!({"data": {}}),
        )
        .await;
    }
    let store = Store::open(&c, &engine.salts).await.unwrap();
    let small = store.locate("small").unwrap().hashed;
    counting.take();

    let r = run(Operation::List, "metadata/small/".into(), json!({})).await;
    assert_eq!(r.data.unwrap()["keys"], json!(["a", "b", "sub/"]));
    let (gets, lists) = counting.take();
    // One list of the folder, one read per entry (two secrets, one folder record): no
    // salt read (cached), nothing of `big/`.
    assert_eq!(
        lists,
        [format!("logical/counted/kv2/m/{}/", small.as_str())]
    );
    assert_eq!(gets.len(), 3, "{gets:?}");
    let mine = |k: &String| {
        k.starts_with(&format!("logical/counted/kv2/m/{}/", small.as_str()))
            || k.starts_with(&format!("logical/counted/kv2/f/{}/", small.as_str()))
    };
    assert!(gets.iter().all(mine), "{gets:?}");

    // The root: two entries, two reads.
    let r = run(Operation::List, "metadata/".into(), json!({})).await;
    assert_eq!(r.data.unwrap()["keys"], json!(["big/", "small/"]));
    let (gets, lists) = counting.take();
    assert_eq!((gets.len(), lists.len()), (2, 1), "{gets:?} {lists:?}");

    // A read costs what it did before hashed paths: the metadata and the version.
    run(Operation::Read, "data/big/x7".into(), json!({})).await;
    let (gets, lists) = counting.take();
    assert_eq!((gets.len(), lists.len()), (2, 0), "{gets:?} {lists:?}");
    // An update of an existing secret reads its metadata and the config only.
    run(
        Operation::Update,
        "data/big/x7".into(),
        json!({"data": {"v": 2}}),
    )
    .await;
    let (gets, lists) = counting.take();
    assert_eq!((gets.len(), lists.len()), (2, 0), "{gets:?} {lists:?}");
}

#[tokio::test]
async fn nested_folder_cycles_leave_nothing_behind() {
    let c = v2().await;
    let paths = ["a/b/c/d", "a/b/x", "a/y", "a/b/c/e", "a/b", "a", "z/z/z"];
    // Deletion orders: as written, reversed, and interleaved.
    let orders: [&[usize]; 3] = [
        &[0, 1, 2, 3, 4, 5, 6],
        &[6, 5, 4, 3, 2, 1, 0],
        &[4, 0, 6, 2, 5, 3, 1],
    ];
    for (round, order) in orders.iter().enumerate() {
        for p in paths {
            put(&c, p, json!({"round": round})).await;
            assert_folder_records_exact(&c).await;
        }
        // Metadata-only secrets make folders too.
        ok(
            &c,
            Operation::Update,
            "metadata/m/n/o",
            json!({"max_versions": 2}),
        )
        .await;
        assert_eq!(list(&c, "").await, Some(json!(["a", "a/", "m/", "z/"])));
        assert_eq!(list(&c, "a/b/").await, Some(json!(["c/", "x"])));
        assert_eq!(list(&c, "a/b/c/").await, Some(json!(["d", "e"])));
        ok(&c, Operation::Delete, "metadata/m/n/o", json!({})).await;
        assert_eq!(list(&c, "m/").await, None);
        for &i in order.iter() {
            ok(
                &c,
                Operation::Delete,
                &format!("metadata/{}", paths[i]),
                json!({}),
            )
            .await;
            assert_folder_records_exact(&c).await;
            // Every folder listed holds something.
            for folder in ["", "a/", "a/b/", "a/b/c/", "z/", "z/z/"] {
                if let Some(keys) = list(&c, folder).await {
                    for k in keys.as_array().unwrap() {
                        let k = k.as_str().unwrap();
                        if k.ends_with('/') {
                            assert!(list(&c, &format!("{folder}{k}")).await.is_some());
                        }
                    }
                }
            }
        }
        assert_eq!(list(&c, "").await, None, "round {round}");
        assert_eq!(
            c.storage.sub(PREFIX).keys().await.unwrap(),
            ["salt"],
            "round {round}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_to_siblings_keep_the_listing_right() {
    let c = v2().await;
    let engine = std::sync::Arc::new(KvV2::new());
    let run = |engine: std::sync::Arc<KvV2>, c: Ctx, op: Operation, path: String| async move {
        let data = obj(json!({"data": {"p": path.clone()}}));
        engine
            .handle(&c, &Request::new(op, path).with_data(data))
            .await
            .unwrap();
    };
    // Rounds of: create siblings in a new folder while the folder's last old secret and
    // others go away, all at once.
    for round in 0..20 {
        put(&c, &format!("f{round}/old"), json!({})).await;
        put(&c, &format!("g/h{round}/old"), json!({})).await;
        let mut tasks = Vec::new();
        for i in 0..6 {
            for path in [format!("f{round}/s{i}"), format!("g/h{round}/deep/s{i}")] {
                tasks.push(tokio::spawn(run(
                    engine.clone(),
                    c.clone(),
                    Operation::Update,
                    format!("data/{path}"),
                )));
            }
        }
        for path in [format!("f{round}/old"), format!("g/h{round}/old")] {
            tasks.push(tokio::spawn(run(
                engine.clone(),
                c.clone(),
                Operation::Delete,
                format!("metadata/{path}"),
            )));
        }
        if round > 0 {
            // Empty the previous round's folders entirely, concurrently.
            for i in 0..6 {
                for path in [
                    format!("f{}/s{i}", round - 1),
                    format!("g/h{}/deep/s{i}", round - 1),
                ] {
                    tasks.push(tokio::spawn(run(
                        engine.clone(),
                        c.clone(),
                        Operation::Delete,
                        format!("metadata/{path}"),
                    )));
                }
            }
        }
        for t in tasks {
            t.await.unwrap();
        }
        let siblings: Vec<String> = (0..6).map(|i| format!("s{i}")).collect();
        assert_eq!(list(&c, &format!("f{round}/")).await, Some(json!(siblings)));
        assert_eq!(
            list(&c, &format!("g/h{round}/")).await,
            Some(json!(["deep/"]))
        );
        assert_eq!(
            list(&c, &format!("g/h{round}/deep/")).await,
            Some(json!(siblings))
        );
        assert_eq!(
            list(&c, "").await,
            Some(json!([format!("f{round}/"), "g/"]))
        );
        assert_eq!(list(&c, "g/").await, Some(json!([format!("h{round}/")])));
        assert_folder_records_exact(&c).await;
    }
}

#[tokio::test]
async fn deep_paths_are_refused_and_bounded() {
    let c = v2().await;
    let deepest = vec!["d"; super::MAX_DEPTH].join("/");
    put(&c, &deepest, json!({"ok": true})).await;
    assert_eq!(get(&c, &deepest).await["data"], json!({"ok": true}));
    let parent = vec!["d"; super::MAX_DEPTH - 1].join("/");
    assert_eq!(list(&c, &format!("{parent}/")).await, Some(json!(["d"])));
    let too_deep = format!("{deepest}/d");
    for p in [format!("data/{too_deep}"), format!("metadata/{too_deep}")] {
        let msg = invalid_msg(
            call(
                &c,
                Operation::Update,
                &p,
                json!({"data": {}, "max_versions": 1}),
            )
            .await,
        );
        assert!(msg.contains("segments"), "{msg}");
    }
    assert!(is_not_found(
        &call(&c, Operation::Read, &format!("data/{too_deep}"), json!({})).await
    ));
    assert_eq!(list(&c, &format!("{deepest}/")).await, None);
    assert_eq!(list(&c, &format!("{too_deep}/")).await, None);
    ok(
        &c,
        Operation::Delete,
        &format!("metadata/{too_deep}"),
        json!({}),
    )
    .await;
}

#[tokio::test]
async fn listing_survives_a_missing_folder_record() {
    let c = v2().await;
    put(&c, "x/y/z", json!({})).await;
    put(&c, "x/w", json!({})).await;
    // A replica copying keys one by one may hold a folder without its record for a while.
    let view = c.storage.sub(PREFIX);
    for k in view.keys().await.unwrap() {
        if k.starts_with("f/") {
            view.delete(&k).await.unwrap();
        }
    }
    assert_eq!(list(&c, "").await, Some(json!(["x/"])));
    assert_eq!(list(&c, "x/").await, Some(json!(["w", "y/"])));
}
