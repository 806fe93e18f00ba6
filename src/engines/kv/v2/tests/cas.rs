//! Check-and-set: `options.cas`, `cas_required` on the mount and the key, concurrent writers.

use super::*;

#[tokio::test]
async fn cas_rules() {
    let c = v2().await;
    let write = |cas: Value| {
        let c = c.clone();
        async move {
            call(
                &c,
                Operation::Update,
                "data/k",
                json!({"data": {"v": cas.clone()}, "options": {"cas": cas}}),
            )
            .await
        }
    };
    // cas=1 on a missing key: mismatch.
    assert_eq!(invalid_msg(write(json!(1)).await), CAS_MISMATCH);
    assert!(is_not_found(
        &call(&c, Operation::Read, "metadata/k", json!({})).await
    ));
    // cas=0 creates.
    assert_eq!(
        write(json!(0)).await.unwrap().data.unwrap()["version"],
        json!(1)
    );
    // cas=0 again: the key exists now.
    assert_eq!(invalid_msg(write(json!(0)).await), CAS_MISMATCH);
    // Stale cas.
    assert_eq!(invalid_msg(write(json!(5)).await), CAS_MISMATCH);
    // Negative and unparsable cas.
    assert_eq!(invalid_msg(write(json!(-1)).await), CAS_MISMATCH);
    assert_eq!(invalid_msg(write(json!("abc")).await), CAS_PARSE);
    assert_eq!(invalid_msg(write(json!({"x": 1})).await), CAS_PARSE);
    // Matching cas (as a string too).
    assert_eq!(
        write(json!("1")).await.unwrap().data.unwrap()["version"],
        json!(2)
    );
    // The refused writes changed nothing.
    let r = get(&c, "k").await;
    assert_eq!(r["data"], json!({"v": "1"}));
    let m = meta(&c, "k").await;
    assert_eq!(m["current_version"], json!(2));
    assert_eq!(m["versions"].as_object().unwrap().len(), 2);

    // cas_required in the mount config.
    ok(
        &c,
        Operation::Update,
        "config",
        json!({"cas_required": true}),
    )
    .await;
    let msg = invalid_msg(call(&c, Operation::Update, "data/k", json!({"data": {"v": 9}})).await);
    assert_eq!(msg, CAS_REQUIRED);
    let msg = invalid_msg(
        call(
            &c,
            Operation::Update,
            "data/k",
            json!({"data": {"v": 9}, "options": {}}),
        )
        .await,
    );
    assert_eq!(msg, CAS_REQUIRED);
    assert_eq!(get(&c, "k").await["data"], json!({"v": "1"}));
    assert_eq!(
        write(json!(2)).await.unwrap().data.unwrap()["version"],
        json!(3)
    );
    // A key cannot opt out: warning.
    let r = call(
        &c,
        Operation::Update,
        "metadata/k",
        json!({"cas_required": false}),
    )
    .await
    .unwrap();
    assert_eq!(r.warnings, vec![CAS_CONFIG_WARNING.to_owned()]);
    // Patch also requires cas.
    let msg = invalid_msg(call(&c, Operation::Patch, "data/k", json!({"data": {"w": 1}})).await);
    assert_eq!(msg, CAS_REQUIRED);
    let r = ok(
        &c,
        Operation::Patch,
        "data/k",
        json!({"data": {"w": 1}, "options": {"cas": 3}}),
    )
    .await;
    assert_eq!(r["version"], json!(4));
    // options must be an object.
    invalid_msg(
        call(
            &c,
            Operation::Update,
            "data/k",
            json!({"data": {}, "options": 4}),
        )
        .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cas_writes_do_not_lose_updates() {
    let c = v2().await;
    let mut tasks = Vec::new();
    for i in 0..32 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            call(
                &c,
                Operation::Update,
                "data/race",
                json!({"data": {"i": i}, "options": {"cas": 0}}),
            )
            .await
            .is_ok()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        if t.await.unwrap() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(meta(&c, "race").await["current_version"], json!(1));
}
