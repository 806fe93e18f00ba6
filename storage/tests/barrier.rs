//! The barrier: confidentiality and integrity of what reaches the physical layer, keyring
//! rotation, and init/unseal/seal with Shamir shares (OpenBao `barrier/aes_gcm_test.go`,
//! `seal` tests).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use vaultrs_storage::barrier::{
    KeyStatus, SealConfig, KEYRING_PATH, MIN_LEN, RESERVED_KEYS, ROOT_KEY_PATH, SEAL_CONFIG_PATH,
};
use vaultrs_storage::{shamir, Barrier, Batch, Error, InmemBackend, Physical};
use zeroize::Zeroizing;

type Shares = Vec<Zeroizing<Vec<u8>>>;

fn backend() -> Arc<dyn Physical> {
    Arc::new(InmemBackend::new())
}

/// An initialized (`shares`/`threshold`) and unsealed barrier, and its shares.
async fn unsealed(shares: usize, threshold: usize) -> (Arc<dyn Physical>, Barrier, Shares) {
    let physical = backend();
    let barrier = Barrier::new(Arc::clone(&physical));
    let out = barrier.init(shares, threshold).await.unwrap();
    unseal_with(&barrier, &out.shares[..threshold]).await;
    (physical, barrier, out.shares)
}

async fn unseal_with(barrier: &Barrier, shares: &[Zeroizing<Vec<u8>>]) {
    for share in shares {
        barrier.unseal(share).await.unwrap();
    }
    assert!(!barrier.is_sealed());
}

/// Every raw value in the store, by key.
async fn raw_values(physical: &Arc<dyn Physical>) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for key in physical.keys().await.unwrap() {
        let value = physical.get(&key).await.unwrap().unwrap();
        out.push((key, value));
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn term_of(ciphertext: &[u8]) -> u32 {
    u32::from_be_bytes(ciphertext[..4].try_into().unwrap())
}

// ---- confidentiality and integrity ------------------------------------------------------

#[tokio::test]
async fn barrier_plaintext_never_reaches_storage() {
    let (physical, barrier, shares) = unsealed(1, 1).await;
    let marker = b"the-known-plaintext-4f1c9a";
    barrier.put("secret/a", marker).await.unwrap();
    barrier
        .commit(
            Batch::new()
                .put("secret/b", marker.to_vec())
                .put("logical/x/data/c", [&marker[..], b" and more"].concat()),
        )
        .await
        .unwrap();
    barrier.rotate().await.unwrap();
    barrier.put("secret/d", marker).await.unwrap();
    barrier.seal().await;

    let values = raw_values(&physical).await;
    assert_eq!(values.len(), 4 + RESERVED_KEYS.len());
    for (key, value) in &values {
        assert!(!contains(value, marker), "plaintext visible at {key}");
        // The single share is the unseal key itself: it must not be stored either.
        assert!(!contains(value, &shares[0]), "unseal key visible at {key}");
        if key != SEAL_CONFIG_PATH {
            assert_eq!(value[4], 0x02, "{key} is not a v2 ciphertext");
        }
    }
}

#[tokio::test]
async fn barrier_every_flipped_byte_or_truncation_fails() {
    let (physical, barrier, _) = unsealed(1, 1).await;
    let key = "secret/tamper";
    let plaintext = b"a value worth tampering with, 40 bytes!";
    barrier.put(key, plaintext).await.unwrap();
    let original = physical.get(key).await.unwrap().unwrap();
    assert_eq!(original.len(), MIN_LEN + plaintext.len());

    for pos in 0..original.len() {
        for mask in [0x01u8, 0xff] {
            let mut bad = original.clone();
            bad[pos] ^= mask;
            physical.put(key, bad).await.unwrap();
            let got = barrier.get(key).await;
            match got {
                Err(Error::Integrity { key: ref k }) => assert_eq!(k, key),
                Err(Error::UnknownTerm { term, .. }) if pos < 4 => assert_ne!(term, 1),
                other => panic!("flip {mask:#04x} at {pos}: {other:?}"),
            }
        }
    }
    for len in 0..original.len() {
        physical.put(key, original[..len].to_vec()).await.unwrap();
        let got = barrier.get(key).await;
        assert!(
            matches!(got, Err(Error::Integrity { .. })),
            "truncated to {len}: {got:?}"
        );
    }
    let mut longer = original.clone();
    longer.push(0);
    physical.put(key, longer).await.unwrap();
    assert!(matches!(
        barrier.get(key).await,
        Err(Error::Integrity { .. })
    ));

    // Version 1 (no AAD) is never accepted.
    let mut v1 = original.clone();
    v1[4] = 0x01;
    assert!(matches!(
        barrier.decrypt(key, &v1),
        Err(Error::Integrity { .. })
    ));

    physical.put(key, original).await.unwrap();
    assert_eq!(barrier.get(key).await.unwrap().unwrap(), plaintext);
}

#[tokio::test]
async fn barrier_ciphertext_moved_to_another_key_fails() {
    let (physical, barrier, _) = unsealed(1, 1).await;
    barrier.put("secret/test", b"moving target").await.unwrap();
    let ciphertext = physical.get("secret/test").await.unwrap().unwrap();
    physical
        .put("secret/moved", ciphertext.clone())
        .await
        .unwrap();

    let got = barrier.get("secret/moved").await;
    assert!(
        matches!(got, Err(Error::Integrity { ref key }) if key == "secret/moved"),
        "{got:?}"
    );
    assert!(matches!(
        barrier.decrypt("secret/moved", &ciphertext),
        Err(Error::Integrity { .. })
    ));
    assert_eq!(
        barrier.decrypt("secret/test", &ciphertext).unwrap(),
        b"moving target"
    );
    assert_eq!(
        barrier.get("secret/test").await.unwrap().unwrap(),
        b"moving target"
    );
}

#[tokio::test]
async fn barrier_identical_plaintexts_encrypt_differently() {
    let (physical, barrier, _) = unsealed(1, 1).await;
    let a = barrier.encrypt("secret/same", b"same").unwrap();
    let b = barrier.encrypt("secret/same", b"same").unwrap();
    assert_ne!(a, b);
    assert_ne!(a[5..17], b[5..17], "nonces repeat");
    assert_eq!(barrier.decrypt("secret/same", &a).unwrap(), b"same");
    assert_eq!(barrier.decrypt("secret/same", &b).unwrap(), b"same");

    barrier.put("secret/one", b"same").await.unwrap();
    barrier.put("secret/two", b"same").await.unwrap();
    let one = physical.get("secret/one").await.unwrap().unwrap();
    let two = physical.get("secret/two").await.unwrap().unwrap();
    assert_ne!(one, two);
}

#[tokio::test]
async fn barrier_put_get_delete_list_round_trip() {
    let (_, barrier, _) = unsealed(1, 1).await;
    assert_eq!(barrier.get("secret/none").await.unwrap(), None);
    barrier.put("secret/a", b"1").await.unwrap();
    barrier.put("secret/sub/b", b"").await.unwrap();
    assert_eq!(barrier.get("secret/a").await.unwrap().unwrap(), b"1");
    assert_eq!(barrier.get("secret/sub/b").await.unwrap().unwrap(), b"");
    assert_eq!(barrier.list("secret/").await.unwrap(), ["a", "sub/"]);
    barrier.delete("secret/a").await.unwrap();
    assert_eq!(barrier.get("secret/a").await.unwrap(), None);
    // Bad keys are the physical layer's typed error, before anything is encrypted.
    let before = barrier.key_status().unwrap().encryptions;
    let got = barrier.put("../escape", b"x").await;
    assert!(matches!(got, Err(Error::InvalidKey { .. })), "{got:?}");
    assert_eq!(barrier.key_status().unwrap().encryptions, before);
}

#[tokio::test]
async fn barrier_contains_tells_presence_without_opening() {
    let (physical, barrier, _) = unsealed(1, 1).await;
    barrier.put("secret/a", b"v").await.unwrap();
    assert!(barrier.contains("secret/a").await.unwrap());
    assert!(!barrier.contains("secret/b").await.unwrap());
    // A damaged value is still there; its reader gets the integrity error.
    let mut raw = physical.get("secret/a").await.unwrap().unwrap();
    *raw.last_mut().unwrap() ^= 1;
    physical.put("secret/a", raw).await.unwrap();
    assert!(barrier.contains("secret/a").await.unwrap());
    let got = barrier.get("secret/a").await;
    assert!(matches!(got, Err(Error::Integrity { .. })), "{got:?}");
    barrier.seal().await;
    assert!(matches!(
        barrier.contains("secret/a").await,
        Err(Error::Sealed)
    ));
}

#[tokio::test]
async fn barrier_reserved_keys_are_refused() {
    let (physical, barrier, _) = unsealed(1, 1).await;
    barrier.put("core/mounts", b"table").await.unwrap();
    let before = physical.get(KEYRING_PATH).await.unwrap();
    let seq = physical.last_seq();
    for key in RESERVED_KEYS {
        let put = barrier.put(key, b"evil").await;
        assert!(
            matches!(put, Err(Error::InvalidRequest(_))),
            "put {key}: {put:?}"
        );
        let get = barrier.get(key).await;
        assert!(
            matches!(get, Err(Error::InvalidRequest(_))),
            "get {key}: {get:?}"
        );
        let has = barrier.contains(key).await;
        assert!(matches!(has, Err(Error::InvalidRequest(_))), "{has:?}");
        let del = barrier.delete(key).await;
        assert!(
            matches!(del, Err(Error::InvalidRequest(_))),
            "delete {key}: {del:?}"
        );
        let batch = Batch::new()
            .put("core/other", b"x".to_vec())
            .put(key, b"evil".to_vec());
        let com = barrier.commit(batch).await;
        assert!(
            matches!(com, Err(Error::InvalidRequest(_))),
            "commit {key}: {com:?}"
        );
        assert!(matches!(
            barrier.encrypt(key, b"x"),
            Err(Error::InvalidRequest(_))
        ));
        assert!(matches!(
            barrier.decrypt(key, &[0; 64]),
            Err(Error::InvalidRequest(_))
        ));
    }
    assert_eq!(physical.last_seq(), seq, "something was written");
    assert_eq!(physical.get(KEYRING_PATH).await.unwrap(), before);
    assert_eq!(barrier.get("core/other").await.unwrap(), None);
    assert_eq!(barrier.list("core/").await.unwrap(), ["mounts"]);
}

// ---- keyring ----------------------------------------------------------------------------

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

// ---- init, unseal, seal -----------------------------------------------------------------

#[tokio::test]
async fn seal_init_writes_everything_in_one_commit() {
    let physical = backend();
    let barrier = Barrier::new(Arc::clone(&physical));
    assert!(!barrier.is_initialized().await.unwrap());
    let before = physical.last_seq();
    let out = barrier.init(5, 3).await.unwrap();
    assert_eq!(
        physical.last_seq(),
        before + 1,
        "init must be exactly one batch"
    );
    assert_eq!(physical.keys().await.unwrap(), {
        let mut k = RESERVED_KEYS.to_vec();
        k.sort();
        k
    });
    assert!(barrier.is_initialized().await.unwrap());
    assert!(barrier.is_sealed(), "init must leave the barrier sealed");
    assert_eq!(out.shares.len(), 5);
    assert!(out.shares.iter().all(|s| s.len() == 33));
    assert_eq!(out.config, SealConfig::new(5, 3).unwrap());

    // The seal configuration is the one value stored in the clear.
    let config = physical.get(SEAL_CONFIG_PATH).await.unwrap().unwrap();
    assert_eq!(
        config,
        br#"{"version":1,"secret_shares":5,"secret_threshold":3}"#
    );
    assert_eq!(barrier.seal_config().await.unwrap(), Some(out.config));
    for key in [ROOT_KEY_PATH, KEYRING_PATH] {
        let raw = physical.get(key).await.unwrap().unwrap();
        assert_eq!((term_of(&raw), raw[4]), (0, 0x02), "{key}");
    }
}

#[tokio::test]
async fn seal_every_threshold_subset_unseals() {
    let physical = backend();
    let shares = Barrier::new(Arc::clone(&physical))
        .init(5, 3)
        .await
        .unwrap()
        .shares;
    let mut subsets = 0;
    for i in 0..5 {
        for j in i + 1..5 {
            for k in j + 1..5 {
                let barrier = Barrier::new(Arc::clone(&physical));
                let mut order = [i, j, k];
                if subsets % 2 == 1 {
                    order.reverse();
                }
                for (n, &idx) in order.iter().enumerate() {
                    let progress = barrier.unseal(&shares[idx]).await.unwrap();
                    assert_eq!((progress.threshold, progress.shares), (3, 5));
                    if n < 2 {
                        assert!(progress.sealed);
                        assert_eq!(progress.progress, n + 1);
                        assert!(!progress.nonce.is_empty());
                    } else {
                        assert!(!progress.sealed, "subset {order:?} did not unseal");
                        assert_eq!(progress.progress, 0);
                    }
                }
                let key = format!("secret/subset{subsets}");
                barrier.put(&key, b"ok").await.unwrap();
                assert_eq!(barrier.get(&key).await.unwrap().unwrap(), b"ok");
                subsets += 1;
            }
        }
    }
    assert_eq!(subsets, 10);

    // Same barrier, seal in between.
    let barrier = Barrier::new(Arc::clone(&physical));
    for start in 0..3 {
        unseal_with(&barrier, &shares[start..start + 3]).await;
        barrier.seal().await;
        assert!(barrier.is_sealed());
    }
}

#[tokio::test]
async fn seal_below_threshold_stays_sealed() {
    let physical = backend();
    let barrier = Barrier::new(Arc::clone(&physical));
    let shares = barrier.init(5, 3).await.unwrap().shares;
    barrier.unseal(&shares[3]).await.unwrap();
    let progress = barrier.unseal(&shares[1]).await.unwrap();
    assert!(progress.sealed);
    assert_eq!(progress.progress, 2);
    let status = barrier.unseal_progress().await.unwrap();
    assert_eq!(status, progress, "seal-status must show the same attempt");
    assert_eq!(status.nonce.len(), 36);
    assert!(matches!(barrier.get("secret/x").await, Err(Error::Sealed)));

    barrier.unseal_reset();
    let status = barrier.unseal_progress().await.unwrap();
    assert_eq!(
        (status.sealed, status.progress, status.nonce.as_str()),
        (true, 0, "")
    );
    // A new attempt gets a new nonce.
    let first = barrier.unseal(&shares[0]).await.unwrap();
    assert_ne!(first.nonce, progress.nonce);
}

#[tokio::test]
async fn seal_duplicate_share_is_refused_and_progress_kept() {
    let physical = backend();
    let barrier = Barrier::new(Arc::clone(&physical));
    let shares = barrier.init(5, 3).await.unwrap().shares;
    let first = barrier.unseal(&shares[2]).await.unwrap();
    let dup = barrier.unseal(&shares[2]).await;
    assert!(matches!(dup, Err(Error::DuplicateShare)), "{dup:?}");
    let status = barrier.unseal_progress().await.unwrap();
    assert_eq!((status.progress, &status.nonce), (1, &first.nonce));

    // A share of the wrong length: refused, progress kept.
    for bad in [&shares[0][..32], &[][..], &[0u8; 34][..]] {
        let got = barrier.unseal(bad).await;
        assert!(matches!(got, Err(Error::InvalidRequest(_))), "{got:?}");
    }
    assert_eq!(barrier.unseal_progress().await.unwrap().progress, 1);

    barrier.unseal(&shares[0]).await.unwrap();
    assert!(!barrier.unseal(&shares[4]).await.unwrap().sealed);
}

#[tokio::test]
async fn seal_wrong_share_is_invalid_key_and_resets() {
    let physical = backend();
    let barrier = Barrier::new(Arc::clone(&physical));
    let ours = barrier.init(5, 3).await.unwrap().shares;
    let theirs = Barrier::new(backend()).init(5, 3).await.unwrap().shares;

    barrier.unseal(&ours[0]).await.unwrap();
    barrier.unseal(&ours[1]).await.unwrap();
    let got = barrier.unseal(&theirs[2]).await;
    assert!(matches!(got, Err(Error::InvalidUnsealKey)), "{got:?}");
    assert_eq!(got.unwrap_err().to_string(), "invalid key");
    assert!(barrier.is_sealed());
    let status = barrier.unseal_progress().await.unwrap();
    assert_eq!((status.progress, status.nonce.as_str()), (0, ""));
    // Nothing of the failed attempt lingers: the right shares still work afterwards.
    unseal_with(&barrier, &ours[2..]).await;

    // Same for a single-share seal given the wrong key.
    let single = Barrier::new(backend());
    single.init(1, 1).await.unwrap();
    let got = single.unseal(&[7u8; 32]).await;
    assert!(matches!(got, Err(Error::InvalidUnsealKey)), "{got:?}");
    assert!(single.is_sealed());
}

#[tokio::test]
async fn seal_sealed_barrier_refuses_reads_and_writes() {
    let physical = backend();
    let barrier = Barrier::new(Arc::clone(&physical));
    let shares = barrier.init(1, 1).await.unwrap().shares;

    async fn assert_sealed(barrier: &Barrier) {
        assert!(barrier.is_sealed());
        assert!(matches!(barrier.get("secret/a").await, Err(Error::Sealed)));
        assert!(matches!(
            barrier.put("secret/a", b"x").await,
            Err(Error::Sealed)
        ));
        assert!(matches!(
            barrier.delete("secret/a").await,
            Err(Error::Sealed)
        ));
        assert!(matches!(barrier.list("secret/").await, Err(Error::Sealed)));
        let batch = Batch::new().put("secret/a", b"x".to_vec());
        assert!(matches!(barrier.commit(batch).await, Err(Error::Sealed)));
        assert!(matches!(
            barrier.encrypt("secret/a", b"x"),
            Err(Error::Sealed)
        ));
        assert!(matches!(
            barrier.decrypt("secret/a", &[0; 64]),
            Err(Error::Sealed)
        ));
        assert!(matches!(barrier.rotate().await, Err(Error::Sealed)));
        assert!(matches!(barrier.key_status(), Err(Error::Sealed)));
    }

    assert_sealed(&barrier).await;
    let seq = physical.last_seq();
    unseal_with(&barrier, &shares).await;
    barrier.put("secret/a", b"kept").await.unwrap();
    let ciphertext = barrier.encrypt("secret/b", b"x").unwrap();
    barrier.seal().await;
    assert_sealed(&barrier).await;
    assert!(matches!(
        barrier.decrypt("secret/b", &ciphertext),
        Err(Error::Sealed)
    ));
    assert!(physical.last_seq() > seq);

    // Unsealing again brings the data back.
    let status = barrier.unseal(&shares[0]).await.unwrap();
    assert!(!status.sealed);
    assert_eq!(barrier.get("secret/a").await.unwrap().unwrap(), b"kept");
    // Unseal while unsealed just reports the status.
    let again = barrier.unseal(b"anything").await.unwrap();
    assert_eq!((again.sealed, again.threshold, again.shares), (false, 1, 1));
}

#[tokio::test]
async fn seal_init_twice_is_refused() {
    let physical = backend();
    let barrier = Barrier::new(Arc::clone(&physical));
    barrier.init(3, 2).await.unwrap();
    let seq = physical.last_seq();
    assert!(matches!(
        barrier.init(3, 2).await,
        Err(Error::AlreadyInitialized)
    ));
    let other = Barrier::new(Arc::clone(&physical));
    assert!(matches!(
        other.init(1, 1).await,
        Err(Error::AlreadyInitialized)
    ));
    assert_eq!(physical.last_seq(), seq);
}

#[tokio::test]
async fn seal_unseal_before_init_is_not_initialized() {
    let barrier = Barrier::new(backend());
    let got = barrier.unseal(&[1u8; 33]).await;
    assert!(matches!(got, Err(Error::NotInitialized)), "{got:?}");
    let status = barrier.unseal_progress().await.unwrap();
    assert_eq!(
        (status.sealed, status.threshold, status.shares),
        (true, 0, 0)
    );
    assert_eq!(barrier.seal_config().await.unwrap(), None);
    assert!(matches!(
        barrier.verify_unseal_key(&[0u8; 32]).await,
        Err(Error::NotInitialized)
    ));
}

#[tokio::test]
async fn seal_single_share_is_the_unseal_key() {
    let physical = backend();
    let barrier = Barrier::new(Arc::clone(&physical));
    let out = barrier.init(1, 1).await.unwrap();
    assert_eq!(out.shares.len(), 1);
    assert_eq!(out.shares[0].len(), 32);
    let status = barrier.unseal(&out.shares[0]).await.unwrap();
    assert!(!status.sealed);
    assert_eq!(
        (status.threshold, status.shares, status.progress),
        (1, 1, 0)
    );
    barrier.verify_unseal_key(&out.shares[0]).await.unwrap();
}

#[tokio::test]
async fn seal_bad_bounds_are_refused() {
    let physical = backend();
    let barrier = Barrier::new(Arc::clone(&physical));
    for (shares, threshold) in [
        (0, 0),
        (0, 1),
        (1, 0),
        (3, 4),
        (256, 2),
        (256, 256),
        (5, 1),
        (2, 1),
    ] {
        let got = barrier.init(shares, threshold).await;
        assert!(
            matches!(got, Err(Error::InvalidRequest(_))),
            "{shares}/{threshold}: {got:?}"
        );
    }
    assert_eq!(physical.last_seq(), 0);
    assert!(!barrier.is_initialized().await.unwrap());
    let out = barrier.init(255, 255).await.unwrap();
    assert_eq!(out.shares.len(), 255);
}

#[tokio::test]
async fn seal_verify_unseal_key_changes_nothing() {
    let physical = backend();
    let barrier = Barrier::new(Arc::clone(&physical));
    let shares = barrier.init(5, 3).await.unwrap().shares;
    let parts: Vec<&[u8]> = shares[1..4].iter().map(|s| s.as_slice()).collect();
    let key = shamir::combine(&parts).unwrap();
    assert_eq!(key.len(), 32);
    barrier.unseal(&shares[0]).await.unwrap();

    barrier.verify_unseal_key(&key).await.unwrap();
    let mut wrong = key.to_vec();
    wrong[0] ^= 1;
    assert!(matches!(
        barrier.verify_unseal_key(&wrong).await,
        Err(Error::InvalidUnsealKey)
    ));
    assert!(matches!(
        barrier.verify_unseal_key(&key[..31]).await,
        Err(Error::InvalidUnsealKey)
    ));
    assert!(barrier.is_sealed());
    assert_eq!(barrier.unseal_progress().await.unwrap().progress, 1);
}

#[tokio::test]
async fn seal_damaged_seal_state_is_reported() {
    let physical = backend();
    let barrier = Barrier::new(Arc::clone(&physical));
    let shares = barrier.init(1, 1).await.unwrap().shares;

    // An unknown seal-config version is corrupt, not "not initialized".
    let good_config = physical.get(SEAL_CONFIG_PATH).await.unwrap().unwrap();
    physical
        .put(
            SEAL_CONFIG_PATH,
            br#"{"version":2,"secret_shares":1,"secret_threshold":1}"#.to_vec(),
        )
        .await
        .unwrap();
    assert!(matches!(
        barrier.seal_config().await,
        Err(Error::Corrupt { .. })
    ));
    assert!(matches!(
        barrier.unseal(&shares[0]).await,
        Err(Error::Corrupt { .. })
    ));
    physical.put(SEAL_CONFIG_PATH, good_config).await.unwrap();

    // A damaged keyring is an integrity failure, not a wrong key.
    let keyring = physical.get(KEYRING_PATH).await.unwrap().unwrap();
    let mut bad = keyring.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    physical.put(KEYRING_PATH, bad).await.unwrap();
    let got = barrier.unseal(&shares[0]).await;
    assert!(
        matches!(got, Err(Error::Integrity { ref key }) if key == KEYRING_PATH),
        "{got:?}"
    );
    assert!(barrier.is_sealed());
    physical.put(KEYRING_PATH, keyring).await.unwrap();

    // A missing root key is corrupt.
    let root = physical.get(ROOT_KEY_PATH).await.unwrap().unwrap();
    physical.delete(ROOT_KEY_PATH).await.unwrap();
    assert!(matches!(
        barrier.unseal(&shares[0]).await,
        Err(Error::Corrupt { .. })
    ));
    physical.put(ROOT_KEY_PATH, root).await.unwrap();

    unseal_with(&barrier, &shares).await;
}

#[tokio::test]
async fn seal_debug_output_hides_secrets() {
    let physical = backend();
    let barrier = Barrier::new(Arc::clone(&physical));
    let out = barrier.init(3, 2).await.unwrap();
    unseal_with(&barrier, &out.shares[..2]).await;
    let shown = format!("{out:?} {barrier:?}");
    for share in &out.shares {
        assert!(!shown.contains(&hex_of(share)));
        assert!(!shown.contains(&format!("{:?}", share.as_slice())));
    }
    assert!(shown.contains("sealed: false"), "{shown}");
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
