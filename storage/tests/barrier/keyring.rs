//! The barrier's keyring: rotation (by hand and at the limit), old terms still open old
//! values, reloads, writes during a rotation.

use super::*;

#[tokio::test]
async fn barrier_rotation_keeps_old_terms_readable() {
    let physical = backend();
    let barrier = Barrier::new(Arc::clone(&physical));
    let shares = barrier.init(3, 2).await.unwrap().shares;
    unseal_with(&barrier, &shares[1..]).await;

    let status = barrier.key_status().unwrap();
    assert_eq!((status.term, status.encryptions), (1, 0));
    let age = SystemTime::now()
        .duration_since(status.install_time)
        .unwrap_or_default();
    assert!(
        age < Duration::from_secs(300),
        "install time {:?}",
        status.install_time
    );

    barrier.put("secret/one", b"under term 1").await.unwrap();
    barrier.put("secret/one-b", b"also term 1").await.unwrap();
    assert_eq!(barrier.key_status().unwrap().encryptions, 2);

    let rotated: KeyStatus = barrier.rotate().await.unwrap();
    assert_eq!((rotated.term, rotated.encryptions), (2, 0));
    assert_eq!(barrier.key_status().unwrap(), rotated);
    barrier.put("secret/two", b"under term 2").await.unwrap();
    assert_eq!(barrier.key_status().unwrap().encryptions, 1);

    let raw_one = physical.get("secret/one").await.unwrap().unwrap();
    let raw_two = physical.get("secret/two").await.unwrap().unwrap();
    assert_eq!((term_of(&raw_one), term_of(&raw_two)), (1, 2));
    assert_eq!(
        barrier.get("secret/one").await.unwrap().unwrap(),
        b"under term 1"
    );
    assert_eq!(
        barrier.get("secret/two").await.unwrap().unwrap(),
        b"under term 2"
    );

    // A term nobody installed.
    let mut future = raw_two.clone();
    future[..4].copy_from_slice(&9u32.to_be_bytes());
    assert!(matches!(
        barrier.decrypt("secret/two", &future),
        Err(Error::UnknownTerm { term: 9, .. })
    ));

    // After seal and unseal (by a fresh barrier too), both terms still read, the active
    // term is still 2, and the counts survived (saved on seal).
    barrier.seal().await;
    unseal_with(&barrier, &shares[..2]).await;
    let fresh = Barrier::new(Arc::clone(&physical));
    unseal_with(&fresh, &shares[..2]).await;
    for b in [&barrier, &fresh] {
        assert_eq!(b.get("secret/one").await.unwrap().unwrap(), b"under term 1");
        assert_eq!(b.get("secret/two").await.unwrap().unwrap(), b"under term 2");
        let status = b.key_status().unwrap();
        assert_eq!((status.term, status.encryptions), (2, 1));
    }
    assert_eq!(barrier.rotate().await.unwrap().term, 3);
}

#[tokio::test]
async fn barrier_rotates_automatically_at_the_limit() {
    let physical = backend();
    let barrier = Barrier::new(Arc::clone(&physical)).with_rotation_limit(3);
    let shares = barrier.init(1, 1).await.unwrap().shares;
    unseal_with(&barrier, &shares).await;

    barrier.put("secret/0", b"0").await.unwrap();
    barrier.put("secret/1", b"1").await.unwrap();
    assert_eq!(barrier.key_status().unwrap().term, 1);
    barrier.put("secret/2", b"2").await.unwrap();
    // The third encryption reached the limit.
    let status = barrier.key_status().unwrap();
    assert_eq!((status.term, status.encryptions), (2, 0));
    barrier
        .commit(
            Batch::new()
                .put("secret/3", b"3".to_vec())
                .put("secret/4", b"4".to_vec())
                .put("secret/5", b"5".to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(barrier.key_status().unwrap().term, 3);
    for i in 0..6 {
        let key = format!("secret/{i}");
        let raw = physical.get(&key).await.unwrap().unwrap();
        assert_eq!(term_of(&raw), if i < 3 { 1 } else { 2 });
        assert_eq!(
            barrier.get(&key).await.unwrap().unwrap(),
            i.to_string().as_bytes()
        );
    }
    // The rotation was persisted: a fresh barrier unseals into term 3.
    let fresh = Barrier::new(Arc::clone(&physical));
    unseal_with(&fresh, &shares).await;
    assert_eq!(fresh.key_status().unwrap().term, 3);
}

#[tokio::test]
async fn barrier_reload_keyring_picks_up_a_rotation() {
    let physical = backend();
    let a = Barrier::new(Arc::clone(&physical));
    let shares = a.init(1, 1).await.unwrap().shares;
    unseal_with(&a, &shares).await;
    let b = Barrier::new(Arc::clone(&physical));
    unseal_with(&b, &shares).await;

    a.rotate().await.unwrap();
    a.put("secret/new", b"term 2").await.unwrap();
    assert!(matches!(
        b.get("secret/new").await,
        Err(Error::UnknownTerm { term: 2, .. })
    ));
    b.reload_keyring().await.unwrap();
    assert_eq!(b.get("secret/new").await.unwrap().unwrap(), b"term 2");
    assert_eq!(b.key_status().unwrap().term, 2);
    b.put("secret/from-b", b"x").await.unwrap();
    assert_eq!(
        term_of(&physical.get("secret/from-b").await.unwrap().unwrap()),
        2
    );

    b.seal().await;
    assert!(matches!(b.reload_keyring().await, Err(Error::Sealed)));
}

#[tokio::test]
async fn barrier_concurrent_writes_during_rotation() {
    let (_, barrier, _) = unsealed(1, 1).await;
    let barrier = Arc::new(barrier);
    let mut tasks = Vec::new();
    for w in 0..4 {
        let b = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                b.put(&format!("secret/w{w}/{i}"), format!("{w}-{i}").as_bytes())
                    .await
                    .unwrap();
                tokio::task::yield_now().await;
            }
        }));
    }
    for _ in 0..5 {
        barrier.rotate().await.unwrap();
        tokio::task::yield_now().await;
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(barrier.key_status().unwrap().term, 6);
    for w in 0..4 {
        for i in 0..25 {
            let got = barrier
                .get(&format!("secret/w{w}/{i}"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got, format!("{w}-{i}").as_bytes());
        }
    }
}
