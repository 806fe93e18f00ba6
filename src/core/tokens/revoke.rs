//! Revocation: a token with all its descendants in one commit, or a token alone with its
//! children made orphans; the parent index and the `revoking` marks that keep a child
//! from being created under a token whose revocation has started.

use super::super::expiration::lease_id;
use super::{stripe_of, TokenEntry, TokenStore, MAX_TREE_DEPTH};
use crate::error::Result;
use crate::logical::ViewBatch;

impl TokenStore {
    async fn children(&self, hash: &str) -> Result<Vec<String>> {
        Ok(self
            .view
            .list(&format!("parent/{hash}/"))
            .await?
            .into_iter()
            .filter(|c| !c.ends_with('/'))
            .collect())
    }

    pub(super) fn is_revoking(&self, hash: &str) -> bool {
        self.revoking
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(hash)
    }

    /// Whether `hash` is stored and not on its last use (read from storage, not the cache).
    pub(super) async fn is_live_in_storage(&self, hash: &str) -> Result<bool> {
        Ok(self
            .view
            .get_json::<TokenEntry>(&format!("id/{hash}"))
            .await?
            .is_some_and(|e| e.num_uses >= 0 && !e.expired(self.clock.unix_now())))
    }

    /// Marks `hash` as being revoked, after any child creation under it in flight has
    /// committed; no child is created under it from now on.
    async fn start_revoking(&self, hash: &str) {
        let _guard = self.use_locks[stripe_of(hash)].lock().await;
        self.revoking
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(hash.to_owned());
    }

    fn end_revoking(&self, hashes: &[String]) {
        let mut set = self.revoking.lock().unwrap_or_else(|p| p.into_inner());
        for hash in hashes {
            set.remove(hash);
        }
    }

    /// Revokes a token and all its descendants in one commit; returns their hashes.
    pub async fn revoke_tree(&self, hash: &str) -> Result<Vec<String>> {
        let mut revoked = Vec::new();
        let result = self.revoke_tree_marked(hash, &mut revoked).await;
        self.end_revoking(&revoked);
        result?;
        self.forget_tokens(&revoked);
        Ok(revoked)
    }

    /// [`TokenStore::revoke_tree`]; every token it reaches is marked in `revoked` (and in
    /// `revoking`) before its children are listed.
    async fn revoke_tree_marked(&self, hash: &str, revoked: &mut Vec<String>) -> Result<()> {
        let mut stack = vec![(hash.to_owned(), 0usize)];
        let mut batch = ViewBatch::new();
        let mut leases = ViewBatch::new();
        while let Some((current, depth)) = stack.pop() {
            if depth > MAX_TREE_DEPTH || revoked.contains(&current) {
                continue;
            }
            self.start_revoking(&current).await;
            revoked.push(current.clone());
            for child in self.children(&current).await? {
                batch.delete(format!("parent/{current}/{child}"));
                stack.push((child, depth + 1));
            }
            self.delete_entry(&current, &mut batch, &mut leases).await?;
        }
        if !batch.is_empty() {
            self.commit_tokens(revoked.clone(), batch, leases).await?;
        }
        Ok(())
    }

    /// Revokes only this token; its children become orphans.
    pub async fn revoke_orphan(&self, hash: &str) -> Result<Vec<String>> {
        self.start_revoking(hash).await;
        let result = self.revoke_orphan_marked(hash).await;
        self.end_revoking(&[hash.to_owned()]);
        result
    }

    async fn revoke_orphan_marked(&self, hash: &str) -> Result<Vec<String>> {
        let mut batch = ViewBatch::new();
        let mut changed = vec![hash.to_owned()];
        for child in self.children(hash).await? {
            batch.delete(format!("parent/{hash}/{child}"));
            if let Some(mut entry) = self
                .view
                .get_json::<TokenEntry>(&format!("id/{child}"))
                .await?
            {
                entry.parent = None;
                batch.put_json(format!("id/{child}"), &entry)?;
            }
            changed.push(child);
        }
        let mut leases = ViewBatch::new();
        self.delete_entry(hash, &mut batch, &mut leases).await?;
        self.commit_tokens(changed, batch, leases).await?;
        let revoked = vec![hash.to_owned()];
        self.forget_tokens(&revoked);
        Ok(revoked)
    }

    async fn delete_entry(
        &self,
        hash: &str,
        batch: &mut ViewBatch,
        leases: &mut ViewBatch,
    ) -> Result<()> {
        if let Some(entry) = self
            .view
            .get_json::<TokenEntry>(&format!("id/{hash}"))
            .await?
        {
            if entry.expire_time.is_some() {
                leases.delete(lease_id(&entry.path, hash));
            }
            batch.delete(format!("accessor/{}", self.hash(&entry.accessor)));
            if let Some(parent) = &entry.parent {
                batch.delete(format!("parent/{parent}/{hash}"));
            }
        }
        batch.delete(format!("id/{hash}"));
        Ok(())
    }
}
