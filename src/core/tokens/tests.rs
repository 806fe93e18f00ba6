use super::cache::CACHE_CAPACITY;
use super::*;
use crate::logical::test_support::unsealed_barrier;

async fn store() -> Arc<TokenStore> {
    Arc::new(
        TokenStore::load(unsealed_barrier().await, Clock::system())
            .await
            .unwrap(),
    )
}

async fn new_token(store: &TokenStore, new: NewToken) -> (String, String) {
    let (token, _) = store
        .create(NewToken {
            policies: vec!["default".into()],
            path: "auth/token/create".into(),
            ..new
        })
        .await
        .unwrap();
    let hash = store.hash(&token);
    (token, hash)
}

fn cached(store: &TokenStore, hash: &str) -> Option<Arc<TokenEntry>> {
    store.cache.get(hash).ok()
}

#[tokio::test]
async fn lookups_are_cached_and_shared() {
    let s = store().await;
    let (token, hash) = new_token(&s, NewToken::default()).await;
    let (h, first) = s.lookup_shared(&token).await.unwrap().unwrap();
    assert_eq!(h, hash);
    let (_, second) = s.lookup_shared(&token).await.unwrap().unwrap();
    assert!(
        Arc::ptr_eq(&first, &second),
        "the second lookup is a cache hit"
    );
    assert!(cached(&s, &hash).is_some());
    assert!(s.lookup("hvs.unknown").await.unwrap().is_none());
    assert!(s.lookup("").await.unwrap().is_none());
}

#[tokio::test]
async fn the_known_set_follows_creates_revokes_and_reloads() {
    let barrier = unsealed_barrier().await;
    let open = || async {
        TokenStore::load(barrier.clone(), Clock::system())
            .await
            .unwrap()
    };
    let s = open().await;
    let (a, ha) = new_token(&s, NewToken::default()).await;
    let (_, hb) = new_token(&s, NewToken::default()).await;
    assert!(s.is_known(&ha) && s.is_known(&hb));
    assert!(!s.is_known(&s.hash("hvs.unknown")));
    assert!(!s.is_known("not hex"));
    s.revoke_tree(&hb).await.unwrap();
    assert!(!s.is_known(&hb));
    // A fresh store (an unseal) knows exactly what storage holds.
    let reopened = open().await;
    assert!(reopened.is_known(&ha) && !reopened.is_known(&hb));
    assert!(reopened.lookup(&a).await.unwrap().is_some());
}

#[tokio::test]
async fn revoked_tokens_are_never_served() {
    let s = store().await;
    let (parent, parent_hash) = new_token(&s, NewToken::default()).await;
    let (child, child_hash) = new_token(
        &s,
        NewToken {
            parent: Some(parent_hash.clone()),
            ..NewToken::default()
        },
    )
    .await;
    assert!(s.lookup(&parent).await.unwrap().is_some());
    assert!(s.lookup(&child).await.unwrap().is_some());
    assert!(cached(&s, &child_hash).is_some());
    let revoked = s.revoke_tree(&parent_hash).await.unwrap();
    assert_eq!(revoked.len(), 2);
    assert!(cached(&s, &parent_hash).is_none());
    assert!(cached(&s, &child_hash).is_none());
    assert!(s.lookup(&parent).await.unwrap().is_none());
    assert!(s.lookup(&child).await.unwrap().is_none());
    assert!(s.lookup_hash(&child_hash).await.unwrap().is_none());
}

#[tokio::test]
async fn revoke_orphan_updates_the_children() {
    let s = store().await;
    let (parent, parent_hash) = new_token(&s, NewToken::default()).await;
    let (child, _) = new_token(
        &s,
        NewToken {
            parent: Some(parent_hash.clone()),
            ..NewToken::default()
        },
    )
    .await;
    let (_, entry) = s.lookup(&child).await.unwrap().unwrap();
    assert_eq!(entry.parent.as_deref(), Some(parent_hash.as_str()));
    s.revoke_orphan(&parent_hash).await.unwrap();
    assert!(s.lookup(&parent).await.unwrap().is_none());
    let (_, entry) = s.lookup(&child).await.unwrap().unwrap();
    assert!(entry.orphan(), "the cached child entry was replaced");
}

#[tokio::test]
async fn expiry_is_checked_on_every_hit() {
    let clock = Clock::manual(std::time::SystemTime::now());
    let s = TokenStore::load(unsealed_barrier().await, clock.clone())
        .await
        .unwrap();
    let (token, hash) = new_token(
        &s,
        NewToken {
            ttl: Duration::from_secs(1),
            ..NewToken::default()
        },
    )
    .await;
    assert!(s.lookup(&token).await.unwrap().is_some());
    assert!(cached(&s, &hash).is_some());
    // A 1 s token lives its whole second, wherever in a second it was issued.
    clock.advance(Duration::from_millis(999));
    assert!(s.lookup(&token).await.unwrap().is_some());
    clock.advance(Duration::from_millis(1001));
    assert!(
        cached(&s, &hash).is_some(),
        "still cached; the hit must check the clock"
    );
    assert!(s.lookup(&token).await.unwrap().is_none());
    // Revoking is the expiration manager's work (with cubbyholes and children): the
    // lease is queued for it, and revoking drops the lease with the entry.
    assert_eq!(s.expiry().len(), 1);
    let stored: TokenEntry = s
        .view
        .get_json(&format!("id/{hash}"))
        .await
        .unwrap()
        .unwrap();
    let lease = lease_id(&stored.path, &hash);
    assert!(s.lease(&lease).await.unwrap().is_some());
    s.revoke_tree(&hash).await.unwrap();
    assert!(cached(&s, &hash).is_none());
    assert!(s.view.get(&format!("id/{hash}")).await.unwrap().is_none());
    assert!(s.lease(&lease).await.unwrap().is_none());
    assert!(s.expiry().is_empty());
}

#[tokio::test]
async fn renewals_replace_the_cached_entry() {
    let s = store().await;
    let (token, hash) = new_token(
        &s,
        NewToken {
            ttl: Duration::from_secs(60),
            renewable: true,
            ..NewToken::default()
        },
    )
    .await;
    let (_, before) = s.lookup(&token).await.unwrap().unwrap();
    let (renewed, granted) = s
        .renew(
            &hash,
            &before,
            Some(Duration::from_secs(3600)),
            Duration::from_secs(7200),
        )
        .await
        .unwrap();
    assert_eq!(granted, 3600);
    assert!(renewed.expire_time > before.expire_time);
    let (_, after) = s.lookup(&token).await.unwrap().unwrap();
    assert_eq!(after.expire_time, renewed.expire_time);
    assert_eq!(after.last_renewal, renewed.last_renewal);
}

#[tokio::test]
async fn used_up_tokens_are_never_served() {
    let s = store().await;
    let (token, hash) = new_token(
        &s,
        NewToken {
            num_uses: 2,
            ..NewToken::default()
        },
    )
    .await;
    let (_, entry) = s.lookup(&token).await.unwrap().unwrap();
    assert_eq!(entry.num_uses, 2);
    match s.use_token(&hash, &entry).await.unwrap() {
        TokenUse::Counted(e) => assert_eq!(e.num_uses, 1),
        other => panic!("{other:?}"),
    }
    let (_, entry) = s.lookup(&token).await.unwrap().unwrap();
    assert_eq!(entry.num_uses, 1, "not the stale cached count");
    assert!(matches!(
        s.use_token(&hash, &entry).await.unwrap(),
        TokenUse::Last(_)
    ));
    assert!(
        s.lookup(&token).await.unwrap().is_none(),
        "spent while its last use runs"
    );
    assert!(s.use_token(&hash, &entry).await.is_err());
    s.revoke_tree(&hash).await.unwrap();
    assert!(s.lookup(&token).await.unwrap().is_none());
}

#[tokio::test]
async fn a_miss_that_raced_with_a_change_does_not_fill() {
    let s = store().await;
    let (_, hash) = new_token(&s, NewToken::default()).await;
    let stale = Arc::new(s.lookup_hash(&hash).await.unwrap().unwrap());
    // Empties the cache for `hash` (a change that started and ended).
    drop(s.cache.begin_change(vec![hash.clone()]));
    // A miss that took its ticket before a change ended.
    let ticket = s.cache.get(&hash).unwrap_err();
    drop(s.cache.begin_change(vec![hash.clone()]));
    s.cache.fill(&hash, ticket, &stale);
    assert!(cached(&s, &hash).is_none());
    // A miss during a change.
    let change = s.cache.begin_change(vec![hash.clone()]);
    let ticket = s.cache.get(&hash).unwrap_err();
    s.cache.fill(&hash, ticket, &stale);
    assert!(cached(&s, &hash).is_none());
    drop(change);
    // An undisturbed miss fills.
    let ticket = s.cache.get(&hash).unwrap_err();
    s.cache.fill(&hash, ticket, &stale);
    assert!(cached(&s, &hash).is_some());
}

#[tokio::test]
async fn the_cache_is_bounded() {
    let s = store().await;
    let entry = Arc::new(
        s.lookup_hash(&new_token(&s, NewToken::default()).await.1)
            .await
            .unwrap()
            .unwrap(),
    );
    for i in 0..CACHE_CAPACITY * 2 {
        let hash = s.hash(&format!("t{i}"));
        let ticket = s.cache.get(&hash).unwrap_err();
        s.cache.fill(&hash, ticket, &entry);
    }
    let total: usize = s
        .cache
        .shards
        .iter()
        .map(|m| m.lock().unwrap().entries.len())
        .sum();
    assert!(total <= CACHE_CAPACITY, "{total}");
}

#[tokio::test]
async fn a_dropped_change_still_keeps_the_cache_coherent() {
    let s = store().await;
    let (token, hash) = new_token(&s, NewToken::default()).await;
    assert!(s.lookup(&token).await.unwrap().is_some());
    let mut batch = ViewBatch::new();
    batch.delete(format!("id/{hash}"));
    // The request is dropped after its first poll, with the commit handed over.
    {
        let mut commit =
            std::pin::pin!(s.commit_tokens(vec![hash.clone()], batch, ViewBatch::new()));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(std::future::Future::poll(commit.as_mut(), &mut cx).is_pending());
    }
    for _ in 0..100 {
        s.lookup(&token).await.unwrap();
        tokio::task::yield_now().await;
    }
    // The commit lands in its own task: once it has, the token is gone for good.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s.lookup(&token).await.unwrap().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the commit never landed"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(s.lookup(&token).await.unwrap().is_none());
    assert!(cached(&s, &hash).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_lookups_never_resurrect_a_revoked_token() {
    let s = store().await;
    for _ in 0..50 {
        let (token, hash) = new_token(&s, NewToken::default()).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let looper = {
            let (s, token, stop) = (s.clone(), token.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    s.lookup(&token).await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        };
        tokio::task::yield_now().await;
        s.revoke_tree(&hash).await.unwrap();
        for _ in 0..20 {
            assert!(s.lookup(&token).await.unwrap().is_none());
            tokio::task::yield_now().await;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        looper.await.unwrap();
        assert!(s.lookup(&token).await.unwrap().is_none());
        assert!(cached(&s, &hash).is_none());
    }
}
