//! The `userpass` auth method (Vault's `builtin/credential/userpass`): users with a
//! password and token settings, and a login that trades a correct password for a token.
//!
//! Paths, relative to the mount:
//! - `users/` LIST: the usernames.
//! - `users/:username` create, update, read, delete: the password and the token settings
//!   of [`TokenParams`]. Reads never show the password or its hash.
//! - `users/:username/password` update: a new password.
//! - `users/:username/policies` update: new `token_policies` (or legacy `policies`).
//! - `login/:username` update `{password}`: the login (no token needed).
//!
//! Usernames are lower-cased everywhere, as Vault does. Each user is one JSON entry at
//! `user/<username>` in the mount's storage, holding an argon2id hash of the password (a
//! PHC string with a random salt) and the token settings.
//!
//! A login for an unknown user verifies the given password against a fixed dummy hash
//! with the same parameters, so a wrong password and an unknown user cost the same and
//! answer the same (`password.rs`: hashing and verification).

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::{Mutex, MutexGuard};
use zeroize::Zeroizing;

use self::password::{hash_password, verify_password, Verdict};
use super::token_params::TokenParams;
use crate::error::{Error, Result};
use crate::fields::Data;
use crate::logical::{Backend, Ctx, LoginAuth, Operation, Request, Response};

/// Longest username accepted, in bytes (after lower-casing). The username is one segment
/// of the storage key, and the storage layer bounds segments to this length.
pub const MAX_USERNAME_LEN: usize = 240;

/// The version of the stored [`UserEntry`] layout.
const ENTRY_VERSION: u32 = 1;

/// The one error of a failed login, whatever failed: the user or the password.
const INVALID_CREDENTIALS: &str = "invalid username or password";

/// The userpass auth method. It holds no state of its own: users live in the mount's
/// storage, so one value can serve any number of mounts.
#[derive(Clone, Copy, Debug, Default)]
pub struct Userpass;

impl Userpass {
    /// The engine. It also has the dummy hash made in the background, so that not even
    /// the first login of an unknown user pays for it.
    pub fn new() -> Self {
        password::warm_up();
        Userpass
    }

    /// How busy the password hashing threads are (shared by every userpass mount).
    pub fn hashing_stats() -> PoolStats {
        password::pool_stats()
    }
}

/// What a request path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route<'a> {
    Users,
    User(&'a str),
    Password(&'a str),
    Policies(&'a str),
    Login(&'a str),
}

fn route(path: &str) -> Option<Route<'_>> {
    if path == "users" || path == "users/" {
        return Some(Route::Users);
    }
    if let Some(rest) = path.strip_prefix("users/") {
        return match rest.split_once('/') {
            None => Some(Route::User(rest)),
            Some((name, "password")) => Some(Route::Password(name)),
            Some((name, "policies")) => Some(Route::Policies(name)),
            Some(_) => None,
        };
    }
    match path.strip_prefix("login/") {
        Some(name) if !name.contains('/') => Some(Route::Login(name)),
        _ => None,
    }
}

#[async_trait]
impl Backend for Userpass {
    async fn handle(&self, ctx: &Ctx, req: &Request) -> Result<Response> {
        let Some(route) = route(&req.path) else {
            return Err(Error::UnsupportedPath("unsupported path".into()));
        };
        let data = &req.data;
        match (route, req.operation) {
            (Route::Users, Operation::List) => list_users(ctx).await,
            (Route::User(name), Operation::Read) => read_user(ctx, name).await,
            (Route::User(name), Operation::Create | Operation::Update) => {
                write_user(ctx, name, data).await
            }
            (Route::User(name), Operation::Delete) => delete_user(ctx, name).await,
            (Route::Password(name), Operation::Create | Operation::Update) => {
                set_password(ctx, name, data).await
            }
            (Route::Policies(name), Operation::Create | Operation::Update) => {
                set_policies(ctx, name, data).await
            }
            (Route::Login(name), Operation::Create | Operation::Update) => {
                login(ctx, name, data).await
            }
            _ => Err(Error::UnsupportedOperation("unsupported operation".into())),
        }
    }

    async fn exists(&self, ctx: &Ctx, req: &Request) -> Result<Option<bool>> {
        match route(&req.path) {
            Some(Route::User(name)) => match username(name) {
                Ok(name) => Ok(Some(ctx.storage.contains(&entry_key(&name)).await?)),
                Err(_) => Ok(Some(false)),
            },
            _ => Ok(None),
        }
    }

    /// User names are case-insensitive (as Vault's): `users/ALICE` is `users/alice`.
    fn canonical_path(&self, _op: Operation, path: &str) -> Result<Option<String>> {
        let (head, name, tail) = match route(path) {
            Some(Route::User(name)) => ("users/", name, ""),
            Some(Route::Password(name)) => ("users/", name, "/password"),
            Some(Route::Policies(name)) => ("users/", name, "/policies"),
            Some(Route::Login(name)) => ("login/", name, ""),
            Some(Route::Users) | None => return Ok(None),
        };
        let canonical = username(name)?;
        Ok((canonical != name).then(|| format!("{head}{canonical}{tail}")))
    }

    fn is_login_path(&self, path: &str) -> bool {
        path.starts_with("login/")
    }

    /// As Vault: the user must still exist and still have the token's policies.
    async fn renew_login(&self, ctx: &Ctx, login: &LoginAuth) -> Result<()> {
        let name = login.metadata.get("username").map_or("", String::as_str);
        let Some(user) = (match username(name) {
            Ok(name) => load(ctx, &name).await?,
            Err(_) => None,
        }) else {
            return Err(Error::invalid("the user no longer exists; not renewing"));
        };
        let mut granted =
            crate::engines::token_params::normalize_policies(user.token.token_policies.clone());
        granted.retain(|p| p != "default");
        let mut held = login.policies.clone();
        held.retain(|p| p != "default");
        if granted != held {
            return Err(Error::invalid("policies have changed, not renewing"));
        }
        Ok(())
    }
}

/// One user as stored at `user/<username>`.
#[derive(Clone, Serialize, Deserialize)]
struct UserEntry {
    version: u32,
    /// The argon2id PHC string (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).
    password_hash: String,
    token: TokenParams,
}

fn entry_key(username: &str) -> String {
    format!("user/{username}")
}

/// Checks a username from a path and lower-cases it, as Vault does.
fn username(raw: &str) -> Result<String> {
    if raw.is_empty() {
        return Err(Error::invalid("missing username"));
    }
    let name = raw.to_lowercase();
    if name.len() > MAX_USERNAME_LEN {
        return Err(Error::invalid(format!(
            "username is too long: at most {MAX_USERNAME_LEN} bytes"
        )));
    }
    if name == "." || name == ".." {
        return Err(Error::invalid("username cannot be \".\" or \"..\""));
    }
    if name
        .chars()
        .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err(Error::invalid(
            "username cannot contain '/', '\\' or control characters",
        ));
    }
    Ok(name)
}

/// The `password` field: absent, or its text (numbers and booleans count as their text,
/// as Vault's weak decoding does). Any other type is refused.
fn password_field(data: &Data) -> Result<Option<Zeroizing<String>>> {
    match data.get("password") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(Zeroizing::new(s.clone()))),
        Some(Value::Number(n)) => Ok(Some(Zeroizing::new(n.to_string()))),
        Some(Value::Bool(b)) => Ok(Some(Zeroizing::new(b.to_string()))),
        Some(_) => Err(Error::invalid("password must be a string")),
    }
}

/// The `password` field, which must be present and not empty.
fn required_password(data: &Data) -> Result<Zeroizing<String>> {
    match password_field(data)? {
        Some(p) if !p.is_empty() => Ok(p),
        _ => Err(Error::invalid("missing password")),
    }
}

async fn load(ctx: &Ctx, username: &str) -> Result<Option<UserEntry>> {
    let entry: Option<UserEntry> = ctx.storage.get_json(&entry_key(username)).await?;
    match entry {
        Some(e) if e.version != ENTRY_VERSION => Err(Error::Internal(format!(
            "userpass entry of {username:?} has unsupported version {}",
            e.version
        ))),
        other => Ok(other),
    }
}

async fn store(ctx: &Ctx, username: &str, entry: &UserEntry) -> Result<()> {
    ctx.storage.put_json(&entry_key(username), entry).await
}

async fn list_users(ctx: &Ctx) -> Result<Response> {
    let keys = ctx
        .storage
        .list("user/")
        .await?
        .into_iter()
        .filter(|k| !k.ends_with('/'))
        .collect();
    Response::list(keys)
}

async fn read_user(ctx: &Ctx, raw: &str) -> Result<Response> {
    let name = username(raw)?;
    let Some(entry) = load(ctx, &name).await? else {
        return Err(Error::NotFound);
    };
    let mut data = Map::new();
    entry.token.write_fields(&mut data);
    Ok(Response::data(data))
}

async fn delete_user(ctx: &Ctx, raw: &str) -> Result<Response> {
    let name = username(raw)?;
    let _guard = lock_user(ctx, &name).await;
    ctx.storage.delete(&entry_key(&name)).await?;
    Ok(Response::empty())
}

/// Creates a user, or updates one keeping the fields the request leaves out.
async fn write_user(ctx: &Ctx, raw: &str, data: &Data) -> Result<Response> {
    let name = username(raw)?;
    let password = password_field(data)?;
    if password.as_ref().is_some_and(|p| p.is_empty()) {
        return Err(Error::invalid("missing password"));
    }
    let _guard = lock_user(ctx, &name).await;
    let existing = load(ctx, &name).await?;
    if existing.is_none() && password.is_none() {
        return Err(Error::invalid("missing password"));
    }
    let mut token = existing
        .as_ref()
        .map(|e| e.token.clone())
        .unwrap_or_default();
    token.update_from(data)?;
    // Every check has passed: only now pay for the hash.
    let password_hash = match (password, existing) {
        (Some(password), _) => hash_password(password).await?,
        (None, Some(existing)) => existing.password_hash,
        (None, None) => return Err(Error::invalid("missing password")),
    };
    let entry = UserEntry {
        version: ENTRY_VERSION,
        password_hash,
        token,
    };
    store(ctx, &name, &entry).await?;
    Ok(Response::empty())
}

async fn set_password(ctx: &Ctx, raw: &str, data: &Data) -> Result<Response> {
    let name = username(raw)?;
    let _guard = lock_user(ctx, &name).await;
    let Some(mut entry) = load(ctx, &name).await? else {
        return Err(Error::invalid("username does not exist"));
    };
    let password = required_password(data)?;
    entry.password_hash = hash_password(password).await?;
    store(ctx, &name, &entry).await?;
    Ok(Response::empty())
}

async fn set_policies(ctx: &Ctx, raw: &str, data: &Data) -> Result<Response> {
    let name = username(raw)?;
    let _guard = lock_user(ctx, &name).await;
    let Some(mut entry) = load(ctx, &name).await? else {
        return Err(Error::invalid("username does not exist"));
    };
    // Only the policy fields count here, whatever else the body carries.
    let policies: Data = data
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "token_policies" | "policies"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    entry.token.update_from(&policies)?;
    store(ctx, &name, &entry).await?;
    Ok(Response::empty())
}

async fn login(ctx: &Ctx, raw: &str, data: &Data) -> Result<Response> {
    let name = username(raw)?;
    // Refusing an empty password before any lookup tells nothing about the user.
    let password = required_password(data)?;
    let entry = load(ctx, &name).await?;
    let stored = entry.as_ref().map(|e| e.password_hash.clone());
    // Exactly one full verification, against the user's hash or the dummy one.
    let verdict = verify_password(password, stored).await?;
    let entry = match (verdict, entry) {
        (Verdict::Match, Some(entry)) => entry,
        (Verdict::Unreadable, _) => {
            tracing::error!(username = %name, "userpass: the stored password hash is unreadable");
            return Err(Error::Internal(
                "a stored userpass password hash is unreadable".into(),
            ));
        }
        _ => return Err(Error::invalid(INVALID_CREDENTIALS)),
    };
    let metadata = BTreeMap::from([("username".to_owned(), name.clone())]);
    Ok(Response::login(entry.token.login_auth(name, metadata)))
}

// --- Per-user locks -----------------------------------------------------------------

const LOCK_STRIPES: usize = 64;

static LOCKS: LazyLock<Vec<Mutex<()>>> =
    LazyLock::new(|| (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect());

/// Serializes the read-modify-write cycles on one user of one mount (striped locks).
async fn lock_user(ctx: &Ctx, username: &str) -> MutexGuard<'static, ()> {
    let mut hasher = DefaultHasher::new();
    (ctx.storage.prefix(), username).hash(&mut hasher);
    // The remainder is below LOCK_STRIPES, so it fits a usize.
    let idx = (hasher.finish() % LOCK_STRIPES as u64) as usize;
    LOCKS[idx].lock().await
}

mod password;
mod pool;
pub use self::pool::PoolStats;
#[cfg(test)]
mod tests;
