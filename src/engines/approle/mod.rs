//! The `approle` auth method (Vault's `builtin/credential/approle`): a machine logs in
//! with a role id and (unless the role says otherwise) a secret id, and gets a token with
//! the role's [`TokenParams`](crate::engines::token_params::TokenParams).
//!
//! Paths, relative to the mount:
//! - `role/` LIST: the role names.
//! - `role/:role_name` create, update, read, delete: `bind_secret_id`,
//!   `secret_id_bound_cidrs`, `secret_id_num_uses`, `secret_id_ttl`, `local_secret_ids`,
//!   `role_id` and the token settings.
//! - `role/:role_name/role-id` read, update: the role id (unique across roles).
//! - `role/:role_name/local-secret-ids` read.
//! - `role/:role_name/<field>` read, update, delete: one setting of the role
//!   (`policies`, `secret-id-ttl`, `token-ttl`, `bind-secret-id`, ...: `role_fields.rs`).
//! - `role/:role_name/secret-id` update: a new secret id; LIST: the accessors of its ids.
//! - `role/:role_name/custom-secret-id` update: a secret id of the caller's choosing.
//! - `role/:role_name/secret-id/lookup|destroy` `{secret_id}`, and
//!   `role/:role_name/secret-id-accessor/lookup|destroy` `{secret_id_accessor}`.
//! - `login` update `{role_id, secret_id}` (no token needed).
//! - `tidy/secret-id` update: removes expired secret ids (and any left by deleted roles).
//!
//! Role names are lower-cased, as Vault does for roles created since 0.9: lookups ignore
//! case and the stored, listed and reported name is the lower-case one.
//!
//! Storage. In the mount's (replicated) view: `salt`, the HMAC key of role ids;
//! `role/<name>`, the role; `role_id/<hmac of the role id>`, the role's name. In the
//! cluster-local view, whatever the role's `local_secret_ids` says (that flag is accepted
//! and reported, but every secret id here is local): `salt`, the HMAC key of secret ids and
//! accessors; `secret_id/<role instance>/<hmac of the secret id>`, the secret id's
//! properties; `accessor/<hmac of the accessor>`, where its secret id lives.
//!
//! **Invariant:** no secret id reaches storage in plaintext, and a secret id is found by its
//! keyed hash, never by comparing it with stored bytes. Every role gets a random `instance`
//! when created, naming its folder of secret ids, so a role deleted and created again under
//! the same name never sees the old secret ids, on this cluster or another one.
//!
//! Locks: `roles` (held for writing by every role change, for reading by secret-id changes),
//! then one stripe per secret id (its hash): two logins cannot spend the same last use, and
//! changes to a secret id and its accessor are one batch.

mod login;
mod role;
mod role_fields;
mod secret_id;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::sync::atomic::AtomicBool;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use ipnet::IpNet;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::{Mutex, MutexGuard, RwLock};

use crate::error::{Error, Result};
use crate::fields::Data;
use crate::logical::{Backend, Ctx, LoginAuth, Operation, Request, Response, StorageView};

/// Longest role name, in bytes: the name is one segment of a storage key, and the storage
/// layer bounds segments to this length.
pub const MAX_ROLE_NAME_LEN: usize = vaultrs_storage::key::MAX_SEGMENT_LEN;

/// Longest role id or secret id, in bytes (Vault's bound on what it hashes).
const MAX_ID_LEN: usize = 4096;

/// Secret-id lock stripes.
const STRIPES: usize = 64;

/// Where each view keeps its HMAC key.
const SALT_KEY: &str = "salt";

/// The AppRole auth method. One value serves one mount: it caches the mount's HMAC keys and
/// holds its locks. Build it with [`AppRole::new`] and share it (`Arc<dyn Backend>`).
pub struct AppRole {
    /// The HMAC key of role ids, in the replicated view.
    role_id_salt: Salt,
    /// The HMAC key of secret ids and accessors, in the local view.
    secret_id_salt: Salt,
    roles: RwLock<()>,
    stripes: Box<[Mutex<()>]>,
    tidying: AtomicBool,
    /// Seconds added to the clock, so tests can expire secret ids without sleeping.
    #[cfg(test)]
    skew_secs: std::sync::atomic::AtomicU64,
}

impl Default for AppRole {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for AppRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRole").finish_non_exhaustive()
    }
}

impl AppRole {
    pub fn new() -> Self {
        Self {
            role_id_salt: Salt::default(),
            secret_id_salt: Salt::default(),
            roles: RwLock::new(()),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            tidying: AtomicBool::new(false),
            #[cfg(test)]
            skew_secs: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Nanoseconds since the Unix epoch.
    fn now_nanos(&self) -> u64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        #[cfg(test)]
        let now = now.saturating_add(
            self.skew_secs
                .load(std::sync::atomic::Ordering::SeqCst)
                .saturating_mul(1_000_000_000),
        );
        now
    }

    /// The lock of the secret id whose hash is `hash`.
    fn stripe(&self, hash: &str) -> &Mutex<()> {
        let index = hash.bytes().take(8).fold(0usize, |acc, b| {
            acc.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        &self.stripes[index % STRIPES]
    }

    /// Every secret-id lock, taken in order (the only order anyone takes several in).
    async fn lock_all_stripes(&self) -> Vec<MutexGuard<'_, ()>> {
        let mut guards = Vec::with_capacity(STRIPES);
        for stripe in self.stripes.iter() {
            guards.push(stripe.lock().await);
        }
        guards
    }
}

/// What a request path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route<'a> {
    Login,
    Roles,
    Role(&'a str),
    RoleId(&'a str),
    LocalSecretIds(&'a str),
    RoleField(&'a str, role_fields::Field),
    SecretId(&'a str),
    CustomSecretId(&'a str),
    SecretIdLookup(&'a str),
    SecretIdDestroy(&'a str),
    AccessorLookup(&'a str),
    AccessorDestroy(&'a str),
    Tidy,
}

fn route(path: &str) -> Option<Route<'_>> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let parts: Vec<&str> = path.split('/').collect();
    Some(match parts.as_slice() {
        ["login"] => Route::Login,
        ["role"] => Route::Roles,
        ["role", name] => Route::Role(name),
        ["role", name, "role-id"] => Route::RoleId(name),
        ["role", name, "local-secret-ids"] => Route::LocalSecretIds(name),
        ["role", name, "secret-id"] => Route::SecretId(name),
        ["role", name, "custom-secret-id"] => Route::CustomSecretId(name),
        ["role", name, "secret-id", "lookup"] => Route::SecretIdLookup(name),
        ["role", name, "secret-id", "destroy"] => Route::SecretIdDestroy(name),
        ["role", name, "secret-id-accessor", "lookup"] => Route::AccessorLookup(name),
        ["role", name, "secret-id-accessor", "destroy"] => Route::AccessorDestroy(name),
        ["role", name, field] => Route::RoleField(name, role_fields::Field::parse(field)?),
        ["tidy", "secret-id"] => Route::Tidy,
        _ => return None,
    })
}

#[async_trait]
impl Backend for AppRole {
    async fn handle(&self, ctx: &Ctx, req: &Request) -> Result<Response> {
        use Operation::{Create, Delete, List, Read, Update};
        let Some(route) = route(&req.path) else {
            return Err(Error::UnsupportedPath("unsupported path".into()));
        };
        let data = &req.data;
        match (route, req.operation) {
            (Route::Login, Create | Update) => self.login(ctx, req).await,
            (Route::Roles, List) => self.list_roles(ctx).await,
            (Route::Role(name), Read) => self.read_role(ctx, &role_name(name)?).await,
            (Route::Role(name), Create | Update) => {
                self.write_role(ctx, &role_name(name)?, data).await
            }
            (Route::Role(name), Delete) => self.delete_role(ctx, &role_name(name)?).await,
            (Route::RoleId(name), Read) => self.read_role_id(ctx, &role_name(name)?).await,
            (Route::RoleId(name), Create | Update) => {
                self.write_role_id(ctx, &role_name(name)?, data).await
            }
            (Route::LocalSecretIds(name), Read) => {
                self.read_local_secret_ids(ctx, &role_name(name)?).await
            }
            (Route::RoleField(name, field), Read) => {
                self.read_role_field(ctx, &role_name(name)?, field).await
            }
            (Route::RoleField(name, field), Create | Update) => {
                self.write_role_field(ctx, &role_name(name)?, field, data)
                    .await
            }
            (Route::RoleField(name, field), Delete) => {
                self.delete_role_field(ctx, &role_name(name)?, field).await
            }
            (Route::SecretId(name), Create | Update) => {
                self.create_secret_id(ctx, &role_name(name)?, data, false)
                    .await
            }
            (Route::SecretId(name), List) => self.list_secret_ids(ctx, &role_name(name)?).await,
            (Route::CustomSecretId(name), Create | Update) => {
                self.create_secret_id(ctx, &role_name(name)?, data, true)
                    .await
            }
            (Route::SecretIdLookup(name), Create | Update) => {
                self.lookup_secret_id(ctx, &role_name(name)?, data).await
            }
            (Route::SecretIdDestroy(name), Create | Update | Delete) => {
                self.destroy_secret_id(ctx, &role_name(name)?, data).await
            }
            (Route::AccessorLookup(name), Create | Update) => {
                self.lookup_accessor(ctx, &role_name(name)?, data).await
            }
            (Route::AccessorDestroy(name), Create | Update | Delete) => {
                self.destroy_accessor(ctx, &role_name(name)?, data).await
            }
            (Route::Tidy, Create | Update) => self.tidy(ctx).await,
            _ => Err(Error::UnsupportedOperation("unsupported operation".into())),
        }
    }

    async fn exists(&self, ctx: &Ctx, req: &Request) -> Result<Option<bool>> {
        match route(&req.path) {
            Some(Route::Role(name)) => match role_name(name) {
                Ok(name) => Ok(Some(ctx.storage.contains(&role::role_key(&name)).await?)),
                Err(_) => Ok(Some(false)),
            },
            _ => Ok(None),
        }
    }

    /// Role names are case-insensitive (as Vault's) and a trailing `/` names nothing more:
    /// `role/Admin/role-id/` is `role/admin/role-id`.
    fn canonical_path(&self, op: Operation, path: &str) -> Result<Option<String>> {
        let trimmed = crate::logical::drop_trailing_slash(op, path);
        let path_now = trimmed.as_deref().unwrap_or(path);
        if let Some(rest) = path_now.strip_prefix("role/") {
            let (name, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            if !name.is_empty() {
                let canonical = role_name(name)?;
                if canonical != name {
                    return Ok(Some(format!("role/{canonical}{tail}")));
                }
            }
        }
        Ok(trimmed)
    }

    fn is_login_path(&self, path: &str) -> bool {
        route(path) == Some(Route::Login)
    }

    /// As Vault: the role the token was issued for must still exist.
    async fn renew_login(&self, ctx: &Ctx, login: &LoginAuth) -> Result<()> {
        let name = login.metadata.get("role_name").map_or("", String::as_str);
        let exists = match role_name(name) {
            Ok(name) => role::load(ctx, &name).await?.is_some(),
            Err(_) => false,
        };
        if !exists {
            return Err(Error::invalid(format!(
                "role {name:?} does not exist during renewal"
            )));
        }
        Ok(())
    }

    /// The replicated view's HMAC key is the one thing cached from storage (roles are
    /// read per request; the secret id key lives in the local view, which only this
    /// cluster writes).
    fn invalidate(&self, key: &str) {
        if SALT_KEY.starts_with(key) {
            self.role_id_salt.forget();
        }
    }
}

/// Checks a role name from a path and lower-cases it, as Vault does. Names are Vault's
/// `GenericNameRegex`: letters, digits, `_`, `-`, `.` and `@`, starting and ending with a
/// letter, a digit or `_`.
fn role_name(raw: &str) -> Result<String> {
    if raw.is_empty() {
        return Err(Error::invalid("missing role_name"));
    }
    if raw.len() > MAX_ROLE_NAME_LEN {
        return Err(Error::invalid(format!(
            "role_name is longer than maximum of {MAX_ROLE_NAME_LEN} bytes"
        )));
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let inner_ok = raw.chars().all(|c| word(c) || matches!(c, '-' | '.' | '@'));
    let ends_ok = raw.starts_with(word) && raw.ends_with(word);
    if !(inner_ok && ends_ok) {
        return Err(Error::invalid(format!(
            "invalid role_name {raw:?}: use letters, digits, '_', '-', '.' and '@', \
             starting and ending with a letter, a digit or '_'"
        )));
    }
    Ok(raw.to_ascii_lowercase())
}

/// A lazily loaded (or created) HMAC key, kept at [`SALT_KEY`] in one view and cached.
/// [`Salt::forget`] drops the cached key when storage changed underneath (a replicated
/// salt arriving, a restore); a load that raced with it does not cache what it read.
#[derive(Default)]
struct Salt {
    cached: std::sync::RwLock<(u64, Option<[u8; 32]>)>,
    /// Serializes creation, so two first uses never store two keys.
    create: Mutex<()>,
}

#[derive(Serialize, Deserialize)]
struct SaltEntry {
    /// 32 random bytes, hex encoded.
    key: String,
}

async fn read_salt(view: &StorageView) -> Result<Option<[u8; 32]>> {
    let Some(entry) = view.get_json::<SaltEntry>(SALT_KEY).await? else {
        return Ok(None);
    };
    let mut key = [0u8; 32];
    hex::decode_to_slice(&entry.key, &mut key)
        .map_err(|_| Error::Internal("approle: malformed HMAC key in storage".into()))?;
    Ok(Some(key))
}

impl Salt {
    /// The cached key, and the generation it belongs to.
    fn cached(&self) -> (u64, Option<[u8; 32]>) {
        *self.cached.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Caches `key`, read in `generation`, unless it was forgotten since.
    fn remember(&self, generation: u64, key: [u8; 32]) {
        let mut cached = self.cached.write().unwrap_or_else(|p| p.into_inner());
        if cached.0 == generation {
            cached.1 = Some(key);
        }
    }

    /// Drops the cached key: the next use reads it again.
    fn forget(&self) {
        let mut cached = self.cached.write().unwrap_or_else(|p| p.into_inner());
        cached.0 += 1;
        cached.1 = None;
    }

    /// The key of `view`. Without `create`, `None` when the key does not exist yet: then
    /// nothing was ever hashed with it, so nothing can be found by hash either.
    async fn get(&self, view: &StorageView, create: bool) -> Result<Option<Keyed>> {
        let (generation, cached) = self.cached();
        if let Some(key) = cached {
            return Ok(Some(Keyed(key)));
        }
        if !create {
            let Some(stored) = read_salt(view).await? else {
                return Ok(None);
            };
            self.remember(generation, stored);
            return Ok(Some(Keyed(stored)));
        }
        let _creating = self.create.lock().await;
        let (generation, cached) = self.cached();
        if let Some(key) = cached {
            return Ok(Some(Keyed(key)));
        }
        let key = match read_salt(view).await? {
            Some(stored) => stored,
            None => {
                let mut key = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut key);
                let entry = SaltEntry {
                    key: hex::encode(key),
                };
                view.put_json(SALT_KEY, &entry).await?;
                key
            }
        };
        self.remember(generation, key);
        Ok(Some(Keyed(key)))
    }
}

/// An HMAC-SHA256 key in use.
#[derive(Clone, Copy)]
struct Keyed([u8; 32]);

impl Keyed {
    /// The hex HMAC of `value`, with a `domain` so hashes of different kinds never collide.
    fn hash(&self, domain: &str, value: &str) -> String {
        // HMAC takes keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts 32-byte keys"));
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// A network from a CIDR block or a single address.
fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

/// The CIDR list `name` of `data` (absent: `None`), every block checked.
fn cidr_field(data: &Data, name: &str) -> Result<Option<Vec<String>>> {
    let Some(list) = crate::fields::string_list(data, name)? else {
        return Ok(None);
    };
    let list: Vec<String> = list.into_iter().filter(|s| !s.is_empty()).collect();
    if let Some(bad) = list.iter().find(|s| parse_net(s).is_none()) {
        return Err(Error::invalid(format!(
            "invalid CIDR block {bad:?} in {name}"
        )));
    }
    Ok(Some(list))
}

/// Whether `addr` may use something bound to `cidrs` (an empty list binds nothing).
fn addr_allowed(addr: Option<IpAddr>, cidrs: &[String]) -> bool {
    if cidrs.is_empty() {
        return true;
    }
    let Some(addr) = addr.map(|a| a.to_canonical()) else {
        return false;
    };
    cidrs
        .iter()
        .filter_map(|c| parse_net(c))
        .any(|net| net.contains(&addr))
}

/// Whether every block of `inner` lies inside a block of `outer` (an empty `outer` allows
/// anything).
fn cidrs_within(inner: &[String], outer: &[String]) -> bool {
    if outer.is_empty() {
        return true;
    }
    let outer: Vec<IpNet> = outer.iter().filter_map(|c| parse_net(c)).collect();
    inner
        .iter()
        .all(|c| parse_net(c).is_some_and(|net| outer.iter().any(|o| o.contains(&net))))
}

/// Vault's warning for request fields an endpoint does not know.
fn ignored_fields_warning(data: &Data, known: &[&[&str]]) -> Option<String> {
    let mut extra: Vec<&str> = data
        .keys()
        .map(String::as_str)
        .filter(|k| !known.iter().any(|list| list.contains(k)))
        .collect();
    if extra.is_empty() {
        return None;
    }
    extra.sort_unstable();
    Some(format!(
        "Endpoint ignored these unrecognized parameters: [{}]",
        extra.join(" ")
    ))
}

/// A string field that must be present and non-empty, else `missing <name>`.
fn required(data: &Data, name: &str) -> Result<String> {
    match crate::fields::string(data, name) {
        Some(s) if !s.is_empty() => Ok(s),
        _ if matches!(data.get(name), Some(v) if !v.is_null() && !v.is_string()) => {
            Err(Error::invalid(format!("{name} must be a string")))
        }
        _ => Err(Error::invalid(format!("missing {name}"))),
    }
}

/// A JSON object's fields, for responses.
fn object(value: Value) -> Data {
    match value {
        Value::Object(map) => map,
        _ => Data::new(),
    }
}
