//! Secret ids: their stored form (cluster-local, keyed by hash), and the endpoints that
//! issue, list, look up, destroy and tidy them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::role::{self, existing};
use super::{
    cidr_field, cidrs_within, ignored_fields_warning, object, required, AppRole, Keyed, MAX_ID_LEN,
};
use crate::error::{Error, Result};
use crate::fields::{self, Data};
use crate::logical::{Ctx, Response, ViewBatch};
use crate::util::uuid;

/// Hash domains of secret ids and their accessors.
pub(super) const SECRET_ID: &str = "secret_id";
const ACCESSOR: &str = "accessor";

/// The fields of `role/:role_name/secret-id` (`custom-secret-id` adds `secret_id`).
const SECRET_ID_FIELDS: &[&str] = &[
    "metadata",
    "cidr_list",
    "token_bound_cidrs",
    "num_uses",
    "ttl",
];

/// What Vault shows for a time that was never set (Go's zero `time.Time`).
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// One secret id, as stored at `secret_id/<role instance>/<hmac of the secret id>` in the
/// local view. The secret id itself is not stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct SecretIdEntry {
    pub secret_id_accessor: String,
    /// Logins left; 0: unlimited.
    pub secret_id_num_uses: i64,
    /// Seconds it lives; 0: no expiry.
    pub secret_id_ttl: u64,
    /// Unix nanoseconds.
    pub creation_time: u64,
    /// Unix nanoseconds; 0: never.
    pub expiration_time: u64,
    /// Unix nanoseconds.
    pub last_updated_time: u64,
    pub metadata: BTreeMap<String, String>,
    /// Logins must come from these blocks (empty: anywhere the role allows).
    pub cidr_list: Vec<String>,
}

impl SecretIdEntry {
    pub(super) fn expired(&self, now_nanos: u64) -> bool {
        self.expiration_time != 0 && now_nanos >= self.expiration_time
    }

    fn to_data(&self) -> Data {
        object(json!({
            "secret_id_accessor": self.secret_id_accessor,
            "secret_id_num_uses": self.secret_id_num_uses,
            "secret_id_ttl": self.secret_id_ttl,
            "creation_time": time_text(self.creation_time),
            "expiration_time": time_text(self.expiration_time),
            "last_updated_time": time_text(self.last_updated_time),
            "metadata": self.metadata,
            "cidr_list": self.cidr_list,
            "token_bound_cidrs": [],
        }))
    }
}

/// The accessor index, at `accessor/<hmac of the accessor>` in the local view.
#[derive(Serialize, Deserialize)]
struct AccessorEntry {
    /// The role instance the secret id belongs to.
    instance: String,
    secret_id_hmac: String,
}

pub(super) fn secret_key(instance: &str, hash: &str) -> String {
    format!("secret_id/{instance}/{hash}")
}

pub(super) fn accessor_key(key: Keyed, accessor: &str) -> String {
    format!("accessor/{}", key.hash(ACCESSOR, accessor))
}

/// RFC 3339 with nanoseconds, as Vault shows these times.
fn time_text(nanos: u64) -> String {
    if nanos == 0 {
        return ZERO_TIME.into();
    }
    // The remainder is below 10⁹, so it fits a u32.
    crate::util::rfc3339_parts(nanos / 1_000_000_000, (nanos % 1_000_000_000) as u32)
}

/// `metadata` as Vault's `ParseArbitraryKeyValues` reads it: a JSON object of strings (as
/// a string, base64 encoded, or as the object itself), or `key=value` pairs separated by
/// commas.
pub(super) fn parse_metadata(value: Option<&Value>) -> Result<BTreeMap<String, String>> {
    let bad = |why: &str| Error::invalid(format!("failed to parse metadata: {why}"));
    let from_object = |map: &serde_json::Map<String, Value>| {
        map.iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(bad("values must be strings")),
            })
            .collect::<Result<BTreeMap<_, _>>>()
    };
    let text = match value {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(map)) => return from_object(map),
        Some(Value::String(s)) => s.trim(),
        Some(_) => return Err(bad("expected a JSON object of strings")),
    };
    if text.is_empty() {
        return Ok(BTreeMap::new());
    }
    let as_json = |bytes: &[u8]| match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Some(from_object(&map)),
        _ => None,
    };
    if let Some(parsed) = as_json(text.as_bytes()) {
        return parsed;
    }
    if text.starts_with('{') {
        return Err(bad("invalid JSON"));
    }
    if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(text) {
        if let Some(parsed) = as_json(&decoded) {
            return parsed;
        }
    }
    text.split(',')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
            _ => Err(bad("expected a JSON object or key=value pairs")),
        })
        .collect()
}

/// Clears the tidy flag when a tidy ends, however it ends.
struct TidyGuard<'a>(&'a AtomicBool);

impl Drop for TidyGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl AppRole {
    /// Issues a secret id against the role: a random one, or (`custom`) the `secret_id`
    /// field. The role's `secret_id_num_uses` and `secret_id_ttl` are the defaults and the
    /// caps of `num_uses` and `ttl`; the mount's max lease TTL caps the TTL too.
    pub(super) async fn create_secret_id(
        &self,
        ctx: &Ctx,
        name: &str,
        data: &Data,
        custom: bool,
    ) -> Result<Response> {
        let secret_id = if custom {
            let id = required(data, "secret_id")?;
            if id.len() > MAX_ID_LEN {
                return Err(Error::invalid(format!(
                    "secret_id is longer than maximum of {MAX_ID_LEN} bytes"
                )));
            }
            id
        } else {
            uuid()
        };
        let _roles = self.roles.read().await;
        let role = role::load(ctx, name)
            .await?
            .ok_or_else(|| Error::UnsupportedPath(format!("role {name:?} does not exist")))?;
        if !role.bind_secret_id {
            return Err(Error::invalid("bind_secret_id is not set on the role"));
        }
        let cidr_list = cidr_field(data, "cidr_list")?.unwrap_or_default();
        if !cidrs_within(&cidr_list, &role.secret_id_bound_cidrs) {
            return Err(Error::invalid(
                "cidr_list must lie within the role's secret_id_bound_cidrs",
            ));
        }
        if fields::string_list(data, "token_bound_cidrs")?.is_some_and(|l| !l.is_empty()) {
            return Err(Error::invalid(
                "token_bound_cidrs is not supported by this server: tokens cannot be bound to addresses",
            ));
        }
        let num_uses = match fields::integer(data, "num_uses")? {
            None => role.secret_id_num_uses,
            Some(n) if n < 0 => return Err(Error::invalid("num_uses cannot be negative")),
            Some(n) if role.secret_id_num_uses > 0 && (n == 0 || n > role.secret_id_num_uses) => {
                return Err(Error::invalid(
                    "num_uses cannot be higher than the role's secret_id_num_uses",
                ))
            }
            Some(n) => n,
        };
        let ttl = match fields::duration(data, "ttl")?.map(|d| d.as_secs()) {
            None => role.secret_id_ttl,
            Some(t) if role.secret_id_ttl > 0 && (t == 0 || t > role.secret_id_ttl) => {
                return Err(Error::invalid(
                    "ttl cannot be longer than the role's secret_id_ttl",
                ))
            }
            Some(t) => t,
        };
        let mount_max = ctx.mount.max_lease_ttl.as_secs();
        let ttl = if mount_max > 0 {
            ttl.min(mount_max)
        } else {
            ttl
        };
        let metadata = parse_metadata(data.get("metadata"))?;
        let mut known = SECRET_ID_FIELDS.to_vec();
        if custom {
            known.push("secret_id");
        }
        let warnings: Vec<String> = ignored_fields_warning(data, &[&known])
            .into_iter()
            .collect();

        let key = self
            .secret_id_salt
            .get(&ctx.local, true)
            .await?
            .ok_or_else(|| Error::Internal("approle: no secret-id HMAC key".into()))?;
        let hash = key.hash(SECRET_ID, &secret_id);
        let _lock = self.stripe(&hash).lock().await;
        let path = secret_key(&role.instance, &hash);
        if ctx.local.get(&path).await?.is_some() {
            return Err(Error::invalid("SecretID is already registered"));
        }
        let now = self.now_nanos();
        let entry = SecretIdEntry {
            secret_id_accessor: uuid(),
            secret_id_num_uses: num_uses,
            secret_id_ttl: ttl,
            creation_time: now,
            expiration_time: if ttl > 0 {
                now.saturating_add(ttl.saturating_mul(1_000_000_000))
            } else {
                0
            },
            last_updated_time: now,
            metadata,
            cidr_list,
        };
        let mut batch = ViewBatch::new();
        batch.put_json(path, &entry)?;
        batch.put_json(
            accessor_key(key, &entry.secret_id_accessor),
            &AccessorEntry {
                instance: role.instance.clone(),
                secret_id_hmac: hash,
            },
        )?;
        ctx.local.commit(batch).await?;
        Ok(Response {
            data: Some(object(json!({
                "secret_id": secret_id,
                "secret_id_accessor": entry.secret_id_accessor,
                "secret_id_ttl": ttl,
                "secret_id_num_uses": num_uses,
            }))),
            warnings,
            ..Response::default()
        })
    }

    /// The accessors of the role's secret ids (Vault's 404 when there are none).
    pub(super) async fn list_secret_ids(&self, ctx: &Ctx, name: &str) -> Result<Response> {
        let role = existing(ctx, name).await?;
        let mut accessors = Vec::new();
        for hash in ctx
            .local
            .list(&format!("secret_id/{}/", role.instance))
            .await?
        {
            if hash.ends_with('/') {
                continue;
            }
            let path = secret_key(&role.instance, &hash);
            if let Some(entry) = ctx.local.get_json::<SecretIdEntry>(&path).await? {
                accessors.push(entry.secret_id_accessor);
            }
        }
        accessors.sort();
        Response::list(accessors)
    }

    /// The properties of a secret id. An unknown one answers 204, as Vault does.
    pub(super) async fn lookup_secret_id(
        &self,
        ctx: &Ctx,
        name: &str,
        data: &Data,
    ) -> Result<Response> {
        let secret_id = required(data, "secret_id")?;
        let role = existing(ctx, name).await?;
        let Some(key) = self.secret_id_salt.get(&ctx.local, false).await? else {
            return Ok(Response::empty());
        };
        let path = secret_key(&role.instance, &key.hash(SECRET_ID, &secret_id));
        Ok(match ctx.local.get_json::<SecretIdEntry>(&path).await? {
            Some(entry) => Response::data(entry.to_data()),
            None => Response::empty(),
        })
    }

    /// Destroys a secret id; an unknown one is no error (204), as in Vault.
    pub(super) async fn destroy_secret_id(
        &self,
        ctx: &Ctx,
        name: &str,
        data: &Data,
    ) -> Result<Response> {
        let secret_id = required(data, "secret_id")?;
        let _roles = self.roles.read().await;
        let role = existing(ctx, name).await?;
        let Some(key) = self.secret_id_salt.get(&ctx.local, false).await? else {
            return Ok(Response::empty());
        };
        let hash = key.hash(SECRET_ID, &secret_id);
        let _lock = self.stripe(&hash).lock().await;
        remove_secret_id(ctx, key, &role.instance, &hash).await?;
        Ok(Response::empty())
    }

    /// The accessor index entry of `accessor` if it names a secret id of `instance`.
    async fn accessor_entry(
        &self,
        ctx: &Ctx,
        instance: &str,
        accessor: &str,
    ) -> Result<Option<(Keyed, AccessorEntry)>> {
        let Some(key) = self.secret_id_salt.get(&ctx.local, false).await? else {
            return Ok(None);
        };
        let entry = ctx
            .local
            .get_json::<AccessorEntry>(&accessor_key(key, accessor))
            .await?;
        Ok(entry.filter(|e| e.instance == instance).map(|e| (key, e)))
    }

    /// The properties of the secret id behind an accessor (404 when unknown, as Vault).
    pub(super) async fn lookup_accessor(
        &self,
        ctx: &Ctx,
        name: &str,
        data: &Data,
    ) -> Result<Response> {
        let accessor = required(data, "secret_id_accessor")?;
        let role = existing(ctx, name).await?;
        let Some((_, index)) = self.accessor_entry(ctx, &role.instance, &accessor).await? else {
            return Err(Error::NotFound);
        };
        let path = secret_key(&role.instance, &index.secret_id_hmac);
        match ctx.local.get_json::<SecretIdEntry>(&path).await? {
            Some(entry) => Ok(Response::data(entry.to_data())),
            None => Err(Error::NotFound),
        }
    }

    /// Destroys the secret id behind an accessor (404 when unknown).
    pub(super) async fn destroy_accessor(
        &self,
        ctx: &Ctx,
        name: &str,
        data: &Data,
    ) -> Result<Response> {
        let accessor = required(data, "secret_id_accessor")?;
        let _roles = self.roles.read().await;
        let role = existing(ctx, name).await?;
        let Some((key, index)) = self.accessor_entry(ctx, &role.instance, &accessor).await? else {
            return Err(Error::NotFound);
        };
        let _lock = self.stripe(&index.secret_id_hmac).lock().await;
        if remove_secret_id(ctx, key, &role.instance, &index.secret_id_hmac).await? {
            Ok(Response::empty())
        } else {
            Err(Error::NotFound)
        }
    }

    /// Deletes every secret id of a role instance (the role is being deleted), in one batch.
    pub(super) async fn flush_secret_ids(&self, ctx: &Ctx, instance: &str) -> Result<()> {
        let Some(key) = self.secret_id_salt.get(&ctx.local, false).await? else {
            return Ok(());
        };
        let _all = self.lock_all_stripes().await;
        let mut batch = ViewBatch::new();
        for hash in ctx.local.list(&format!("secret_id/{instance}/")).await? {
            if hash.ends_with('/') {
                continue;
            }
            let path = secret_key(instance, &hash);
            if let Some(entry) = ctx.local.get_json::<SecretIdEntry>(&path).await? {
                batch.delete(accessor_key(key, &entry.secret_id_accessor));
            }
            batch.delete(path);
        }
        if !batch.is_empty() {
            ctx.local.commit(batch).await?;
        }
        Ok(())
    }

    /// Removes expired secret ids, those of roles that no longer exist, and accessor
    /// entries whose secret id is gone. Runs to the end before answering, with Vault's
    /// warning.
    pub(super) async fn tidy(&self, ctx: &Ctx) -> Result<Response> {
        if self.tidying.swap(true, Ordering::SeqCst) {
            return Ok(Response {
                warnings: vec!["Tidy operation already in progress.".into()],
                ..Response::default()
            });
        }
        let _guard = TidyGuard(&self.tidying);
        let removed = self.tidy_secret_ids(ctx).await?;
        tracing::debug!(mount = %ctx.mount.path, removed, "approle: tidied secret ids");
        Ok(Response {
            warnings: vec![
                "Tidy operation successfully started. Any information from the \
                            operation will be printed to Vault's server logs."
                    .into(),
            ],
            accepted: true,
            ..Response::default()
        })
    }

    async fn tidy_secret_ids(&self, ctx: &Ctx) -> Result<usize> {
        let _roles = self.roles.read().await;
        let Some(key) = self.secret_id_salt.get(&ctx.local, false).await? else {
            return Ok(0);
        };
        let mut removed = 0;
        let mut live = self.live_instances(ctx).await?;
        for folder in ctx.local.list("secret_id/").await? {
            let Some(instance) = folder.strip_suffix('/') else {
                continue;
            };
            if !live.contains(instance) {
                // Roles may arrive by replication while this runs: look again before
                // taking the folder for an orphan.
                live = self.live_instances(ctx).await?;
            }
            let orphan = !live.contains(instance);
            for hash in ctx.local.list(&format!("secret_id/{folder}")).await? {
                if hash.ends_with('/') {
                    continue;
                }
                let _lock = self.stripe(&hash).lock().await;
                let path = secret_key(instance, &hash);
                let Some(entry) = ctx.local.get_json::<SecretIdEntry>(&path).await? else {
                    continue;
                };
                if orphan || entry.expired(self.now_nanos()) {
                    let mut batch = ViewBatch::new();
                    batch.delete(path);
                    batch.delete(accessor_key(key, &entry.secret_id_accessor));
                    ctx.local.commit(batch).await?;
                    removed += 1;
                }
            }
        }
        for hashed in ctx.local.list("accessor/").await? {
            if hashed.ends_with('/') {
                continue;
            }
            let path = format!("accessor/{hashed}");
            let Some(index) = ctx.local.get_json::<AccessorEntry>(&path).await? else {
                continue;
            };
            let _lock = self.stripe(&index.secret_id_hmac).lock().await;
            let target = secret_key(&index.instance, &index.secret_id_hmac);
            if ctx.local.get(&target).await?.is_none() && ctx.local.get(&path).await?.is_some() {
                ctx.local.delete(&path).await?;
            }
        }
        Ok(removed)
    }
}

/// Deletes a secret id and its accessor entry in one batch; whether it existed. The
/// caller holds the secret id's stripe.
pub(super) async fn remove_secret_id(
    ctx: &Ctx,
    key: Keyed,
    instance: &str,
    hash: &str,
) -> Result<bool> {
    let path = secret_key(instance, hash);
    let Some(entry) = ctx.local.get_json::<SecretIdEntry>(&path).await? else {
        return Ok(false);
    };
    let mut batch = ViewBatch::new();
    batch.delete(path);
    batch.delete(accessor_key(key, &entry.secret_id_accessor));
    ctx.local.commit(batch).await?;
    Ok(true)
}
