//! The barrier's init, unseal and seal with Shamir shares.

use super::*;

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
