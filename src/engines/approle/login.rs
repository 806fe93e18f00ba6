//! The login: a role id (and, when the role binds them, a secret id of that role) for the
//! role's token settings.

use std::collections::BTreeMap;

use super::secret_id::{accessor_key, remove_secret_id, secret_key, SecretIdEntry, SECRET_ID};
use super::{addr_allowed, AppRole, MAX_ID_LEN};
use crate::error::{Error, Result};
use crate::fields;
use crate::logical::{Ctx, Request, Response, ViewBatch};

/// The one answer to a refused login, whatever was wrong: it says neither which part
/// failed nor whether the role id exists.
const INVALID_CREDENTIALS: &str = "invalid role or secret ID";

fn refused() -> Error {
    Error::invalid(INVALID_CREDENTIALS)
}

impl AppRole {
    /// Checks, in order: the role id names a role; the client address is inside the role's
    /// `secret_id_bound_cidrs`; when the role binds secret ids, the secret id is one of the
    /// role's, not expired, and the address is inside its `cidr_list`. Only then is a use
    /// spent (the last one deletes the secret id), under the secret id's lock, so
    /// concurrent logins never spend the same use twice and a refused login spends none.
    pub(super) async fn login(&self, ctx: &Ctx, req: &Request) -> Result<Response> {
        let role_id = fields::string(&req.data, "role_id").unwrap_or_default();
        let role_id = role_id.trim();
        if role_id.is_empty() {
            return Err(Error::invalid("missing role_id"));
        }
        let secret_id = fields::string(&req.data, "secret_id").unwrap_or_default();
        let secret_id = secret_id.trim();
        if role_id.len() > MAX_ID_LEN || secret_id.len() > MAX_ID_LEN {
            return Err(refused());
        }
        let Some(role) = self.role_by_role_id(ctx, role_id).await? else {
            // Do the secret-id lookup a known role would cost, so that the time taken says
            // little more than the answer does.
            self.decoy_lookup(ctx, secret_id).await?;
            return Err(refused());
        };
        if !addr_allowed(req.remote_addr, &role.secret_id_bound_cidrs) {
            return Err(refused());
        }
        let mut metadata = BTreeMap::new();
        if role.bind_secret_id {
            if secret_id.is_empty() {
                return Err(refused());
            }
            let entry = self
                .spend_secret_id(ctx, &role.instance, secret_id, req)
                .await?;
            metadata = entry.metadata;
        }
        metadata.insert("role_name".into(), role.name.clone());
        Ok(Response::login(role.token.login_auth("", metadata)))
    }

    /// Hashes `secret_id` and reads a key that never exists, as a login of a known role
    /// would hash and read.
    async fn decoy_lookup(&self, ctx: &Ctx, secret_id: &str) -> Result<()> {
        if let Some(key) = self.secret_id_salt.get(&ctx.local, false).await? {
            let hash = key.hash(SECRET_ID, secret_id);
            ctx.local.get(&secret_key("none", &hash)).await?;
        }
        Ok(())
    }

    /// Checks a secret id of the role instance and spends one of its uses.
    async fn spend_secret_id(
        &self,
        ctx: &Ctx,
        instance: &str,
        secret_id: &str,
        req: &Request,
    ) -> Result<SecretIdEntry> {
        let key = self
            .secret_id_salt
            .get(&ctx.local, false)
            .await?
            .ok_or_else(refused)?;
        let hash = key.hash(SECRET_ID, secret_id);
        let _lock = self.stripe(&hash).lock().await;
        let path = secret_key(instance, &hash);
        let mut entry = ctx
            .local
            .get_json::<SecretIdEntry>(&path)
            .await?
            .ok_or_else(refused)?;
        let now = self.now_nanos();
        if entry.expired(now) {
            remove_secret_id(ctx, key, instance, &hash).await?;
            return Err(refused());
        }
        if !addr_allowed(req.remote_addr, &entry.cidr_list) {
            return Err(refused());
        }
        match entry.secret_id_num_uses {
            0 => {}
            1 => {
                let mut batch = ViewBatch::new();
                batch.delete(path);
                batch.delete(accessor_key(key, &entry.secret_id_accessor));
                ctx.local.commit(batch).await?;
            }
            _ => {
                entry.secret_id_num_uses -= 1;
                entry.last_updated_time = now;
                ctx.local.put_json(&path, &entry).await?;
            }
        }
        Ok(entry)
    }
}
