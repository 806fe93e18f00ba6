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

mod keyring;
mod seal;
