//! Roles: their stored form, the role-id index, and the endpoints that manage them.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{cidr_field, ignored_fields_warning, object, required, AppRole, Keyed, MAX_ID_LEN};
use crate::engines::token_params::{self, TokenParams};
use crate::error::{Error, Result};
use crate::fields::{self, Data};
use crate::logical::{Ctx, Response, ViewBatch};
use crate::util::{ct_eq, uuid};

/// Hash domain of role ids.
const ROLE_ID: &str = "role_id";

/// The fields of `role/:role_name` besides the token settings.
const ROLE_FIELDS: &[&str] = &[
    "role_id",
    "bind_secret_id",
    "secret_id_bound_cidrs",
    "bound_cidr_list",
    "secret_id_num_uses",
    "secret_id_ttl",
    "local_secret_ids",
];

/// One role, as stored at `role/<name>` in the replicated view.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct RoleEntry {
    /// Lower-cased.
    pub name: String,
    /// The login credential naming this role; indexed at `role_id/<hmac>`.
    pub role_id: String,
    /// Random, chosen at creation: names the role's folder of secret ids.
    pub instance: String,
    /// Logins need a secret id of this role.
    pub bind_secret_id: bool,
    /// Logins must come from these blocks (empty: anywhere).
    pub secret_id_bound_cidrs: Vec<String>,
    /// Default and cap of a new secret id's uses; 0: unlimited.
    pub secret_id_num_uses: i64,
    /// Default and cap of a new secret id's TTL, in seconds; 0: no expiry.
    pub secret_id_ttl: u64,
    /// Accepted and reported as Vault does; secret ids are always cluster-local here.
    pub local_secret_ids: bool,
    pub token: TokenParams,
}

#[derive(Serialize, Deserialize)]
struct RoleIdEntry {
    name: String,
}

pub(super) fn role_key(name: &str) -> String {
    format!("role/{name}")
}

fn role_id_key(key: Keyed, role_id: &str) -> String {
    format!("role_id/{}", key.hash(ROLE_ID, role_id))
}

/// The role named `name` (already checked and lower-cased).
pub(super) async fn load(ctx: &Ctx, name: &str) -> Result<Option<RoleEntry>> {
    ctx.storage.get_json(&role_key(name)).await
}

/// The role named `name`, or Vault's 400 when it does not exist.
pub(super) async fn existing(ctx: &Ctx, name: &str) -> Result<RoleEntry> {
    load(ctx, name)
        .await?
        .ok_or_else(|| Error::invalid(format!("role {name:?} does not exist")))
}

/// Vault's rule: a role must constrain logins somehow.
pub(super) fn check_constraints(role: &RoleEntry) -> Result<()> {
    if role.bind_secret_id || !role.secret_id_bound_cidrs.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(
            "at least one constraint should be enabled on the role",
        ))
    }
}

impl AppRole {
    pub(super) async fn list_roles(&self, ctx: &Ctx) -> Result<Response> {
        let names = ctx.storage.list("role/").await?;
        Response::list(names.into_iter().filter(|n| !n.ends_with('/')).collect())
    }

    pub(super) async fn read_role(&self, ctx: &Ctx, name: &str) -> Result<Response> {
        let role = load(ctx, name).await?.ok_or(Error::NotFound)?;
        let mut data = object(json!({
            "bind_secret_id": role.bind_secret_id,
            "secret_id_bound_cidrs": role.secret_id_bound_cidrs,
            "secret_id_num_uses": role.secret_id_num_uses,
            "secret_id_ttl": role.secret_id_ttl,
            "local_secret_ids": role.local_secret_ids,
        }));
        role.token.write_fields(&mut data);
        Ok(Response::data(data))
    }

    /// Creates the role, or updates the fields given (absent fields keep their value).
    pub(super) async fn write_role(&self, ctx: &Ctx, name: &str, data: &Data) -> Result<Response> {
        let _roles = self.roles.write().await;
        let current = load(ctx, name).await?;
        let creating = current.is_none();
        let mut role = current.unwrap_or_else(|| RoleEntry {
            name: name.to_owned(),
            role_id: String::new(),
            instance: uuid(),
            bind_secret_id: true,
            secret_id_bound_cidrs: Vec::new(),
            secret_id_num_uses: 0,
            secret_id_ttl: 0,
            local_secret_ids: false,
            token: TokenParams::default(),
        });
        let mut warnings = Vec::new();

        // Vault's backwards-compatible spelling.
        let mut data = data.clone();
        match data.get("token_type").and_then(Value::as_str) {
            Some("default-service") => {
                data.insert("token_type".into(), "service".into());
                warnings.push("default-service has no useful meaning; adjusting to service".into());
            }
            Some("default-batch") => {
                data.insert("token_type".into(), "batch".into());
                warnings.push("default-batch has no useful meaning; adjusting to batch".into());
            }
            _ => {}
        }
        role.token.update_from(&data)?;

        if let Some(local) = fields::boolean(&data, "local_secret_ids")? {
            if creating {
                role.local_secret_ids = local;
            } else if local != role.local_secret_ids {
                return Err(Error::invalid(
                    "local_secret_ids can only be modified during role creation",
                ));
            }
        }
        let previous_role_id = role.role_id.clone();
        match fields::string(&data, "role_id") {
            Some(id) => role.role_id = id,
            None if creating => role.role_id = uuid(),
            None => {}
        }
        if role.role_id.is_empty() {
            return Err(Error::invalid(
                "invalid role_id supplied, or failed to generate a role_id",
            ));
        }
        if role.role_id.len() > MAX_ID_LEN {
            return Err(Error::invalid(format!(
                "role_id is longer than maximum of {MAX_ID_LEN} bytes"
            )));
        }
        if let Some(bind) = fields::boolean(&data, "bind_secret_id")? {
            role.bind_secret_id = bind;
        }
        let cidrs = match cidr_field(&data, "secret_id_bound_cidrs")? {
            Some(list) => Some(list),
            None => cidr_field(&data, "bound_cidr_list")?,
        };
        if let Some(list) = cidrs {
            role.secret_id_bound_cidrs = list;
        }
        if let Some(uses) = fields::integer(&data, "secret_id_num_uses")? {
            if uses < 0 {
                return Err(Error::invalid("secret_id_num_uses cannot be negative"));
            }
            role.secret_id_num_uses = uses;
        }
        if let Some(ttl) = fields::duration(&data, "secret_id_ttl")? {
            role.secret_id_ttl = ttl.as_secs();
        }
        check_constraints(&role)?;

        let mount_max = ctx.mount.max_lease_ttl.as_secs();
        if mount_max > 0 && role.token.token_max_ttl > mount_max {
            warnings.push(
                "token_max_ttl is greater than the backend mount's maximum TTL value; \
                 issued tokens' max TTL value will be truncated"
                    .into(),
            );
        }
        warnings.extend(ignored_fields_warning(
            &data,
            &[ROLE_FIELDS, token_params::FIELDS],
        ));
        self.save_role(ctx, &role, &previous_role_id).await?;
        Ok(Response {
            warnings,
            ..Response::default()
        })
    }

    /// Writes `role` and its role-id index in one batch, after checking that no other role
    /// holds its role id. `previous_role_id` (empty for a new role) loses its index.
    pub(super) async fn save_role(
        &self,
        ctx: &Ctx,
        role: &RoleEntry,
        previous_role_id: &str,
    ) -> Result<()> {
        let key = self
            .role_id_salt
            .get(&ctx.storage, true)
            .await?
            .ok_or_else(|| Error::Internal("approle: no role-id HMAC key".into()))?;
        let index = role_id_key(key, &role.role_id);
        if let Some(owner) = ctx.storage.get_json::<RoleIdEntry>(&index).await? {
            if owner.name != role.name {
                return Err(Error::invalid("role_id already in use"));
            }
        }
        let mut batch = ViewBatch::new();
        batch.put_json(role_key(&role.name), role)?;
        if !previous_role_id.is_empty() && previous_role_id != role.role_id {
            batch.delete(role_id_key(key, previous_role_id));
        }
        batch.put_json(
            index,
            &RoleIdEntry {
                name: role.name.clone(),
            },
        )?;
        ctx.storage.commit(batch).await
    }

    /// Deletes the role, its role-id index and every secret id issued against it.
    pub(super) async fn delete_role(&self, ctx: &Ctx, name: &str) -> Result<Response> {
        let _roles = self.roles.write().await;
        let Some(role) = load(ctx, name).await? else {
            return Ok(Response::empty());
        };
        let mut batch = ViewBatch::new();
        batch.delete(role_key(name));
        if let Some(key) = self.role_id_salt.get(&ctx.storage, false).await? {
            let index = role_id_key(key, &role.role_id);
            let owner = ctx.storage.get_json::<RoleIdEntry>(&index).await?;
            if owner.is_some_and(|o| o.name == role.name) {
                batch.delete(index);
            }
        }
        // The role goes first: from then on no login can use its secret ids, and should
        // the cleanup below fail, what is left is unreachable and `tidy` removes it.
        ctx.storage.commit(batch).await?;
        self.flush_secret_ids(ctx, &role.instance).await?;
        Ok(Response::empty())
    }

    pub(super) async fn read_role_id(&self, ctx: &Ctx, name: &str) -> Result<Response> {
        let role = load(ctx, name).await?.ok_or(Error::NotFound)?;
        Ok(Response::data(object(json!({ "role_id": role.role_id }))))
    }

    pub(super) async fn write_role_id(
        &self,
        ctx: &Ctx,
        name: &str,
        data: &Data,
    ) -> Result<Response> {
        let _roles = self.roles.write().await;
        let Some(mut role) = load(ctx, name).await? else {
            return Err(Error::UnsupportedPath(format!(
                "role {name:?} does not exist"
            )));
        };
        let role_id = required(data, "role_id")?;
        if role_id.len() > MAX_ID_LEN {
            return Err(Error::invalid(format!(
                "role_id is longer than maximum of {MAX_ID_LEN} bytes"
            )));
        }
        let previous = std::mem::replace(&mut role.role_id, role_id);
        self.save_role(ctx, &role, &previous).await?;
        Ok(Response::empty())
    }

    pub(super) async fn read_local_secret_ids(&self, ctx: &Ctx, name: &str) -> Result<Response> {
        let role = load(ctx, name).await?.ok_or(Error::NotFound)?;
        Ok(Response::data(object(json!({
            "local_secret_ids": role.local_secret_ids
        }))))
    }

    /// The role whose role id is `role_id`, if any.
    pub(super) async fn role_by_role_id(
        &self,
        ctx: &Ctx,
        role_id: &str,
    ) -> Result<Option<RoleEntry>> {
        let Some(key) = self.role_id_salt.get(&ctx.storage, false).await? else {
            return Ok(None);
        };
        let index = role_id_key(key, role_id);
        let Some(owner) = ctx.storage.get_json::<RoleIdEntry>(&index).await? else {
            return Ok(None);
        };
        let Some(role) = load(ctx, &owner.name).await? else {
            return Ok(None);
        };
        // The index is found by hash; this guards against a stale index all the same.
        Ok(ct_eq(role.role_id.as_bytes(), role_id.as_bytes()).then_some(role))
    }

    /// The `instance` of every role (the folders of secret ids still in use).
    pub(super) async fn live_instances(&self, ctx: &Ctx) -> Result<HashSet<String>> {
        let mut live = HashSet::new();
        for name in ctx.storage.list("role/").await? {
            if name.ends_with('/') {
                continue;
            }
            if let Some(role) = load(ctx, &name).await? {
                live.insert(role.instance);
            }
        }
        Ok(live)
    }
}
