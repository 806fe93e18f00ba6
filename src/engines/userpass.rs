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
//! answer the same. Hashing and verification run on blocking threads, at most one per core
//! at a time, so a flood of logins cannot starve the async runtime.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::{Mutex, MutexGuard, Semaphore};
use zeroize::Zeroizing;

use super::token_params::TokenParams;
use crate::error::{Error, Result};
use crate::fields::Data;
use crate::logical::{Backend, Ctx, LoginAuth, Operation, Request, Response};

/// Longest username accepted, in bytes (after lower-casing). The username is one segment
/// of the storage key, and the storage layer bounds segments to this length.
pub const MAX_USERNAME_LEN: usize = 240;

/// The version of the stored [`UserEntry`] layout.
const ENTRY_VERSION: u32 = 1;

/// Argon2id parameters (OWASP's recommendation): 19 MiB of memory, two passes, one lane.
const M_COST_KIB: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const OUTPUT_LEN: usize = 32;

/// The one error of a failed login, whatever failed: the user or the password.
const INVALID_CREDENTIALS: &str = "invalid username or password";

/// The userpass auth method. It holds no state of its own: users live in the mount's
/// storage, so one value can serve any number of mounts.
#[derive(Clone, Copy, Debug, Default)]
pub struct Userpass;

impl Userpass {
    /// The engine. When called inside a tokio runtime it also computes the dummy hash in
    /// the background, so that not even the first login of an unknown user pays for it.
    pub fn new() -> Self {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn_blocking(|| LazyLock::force(&DUMMY_HASH));
        }
        Userpass
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
                Ok(name) => Ok(Some(ctx.storage.get(&entry_key(&name)).await?.is_some())),
                Err(_) => Ok(Some(false)),
            },
            _ => Ok(None),
        }
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

// --- Password hashing ---------------------------------------------------------------

/// How many hashes or verifications may run at once: one per core.
static HASH_SLOTS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    Arc::new(Semaphore::new(cores))
});

/// The hash an unknown user's login is checked against: a random password's, with the
/// same parameters as every real hash, so both cost one identical verification.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut secret = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(secret.as_mut());
    // Hashing with constant, valid parameters cannot fail; should it anyway, the empty
    // string does not parse and every unknown-user login is simply refused.
    hash_blocking(secret.as_ref()).unwrap_or_default()
});

fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, Some(OUTPUT_LEN))
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A fresh PHC string for `password`, with a random salt (CPU-heavy: blocking threads only).
fn hash_blocking(password: &[u8]) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2()?
        .hash_password(password, &salt)
        .map_err(|e| Error::Internal(format!("hashing a password: {e}")))?;
    Ok(hash.to_string())
}

/// Runs `work` on a blocking thread once a hashing slot is free. The slot goes with the
/// work, so it stays taken until the work ends even if the request is dropped meanwhile.
async fn run_bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let slot = Arc::clone(&HASH_SLOTS)
        .acquire_owned()
        .await
        .map_err(|_| Error::Internal("password hashing is unavailable".into()))?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    })
    .await
    .map_err(|e| Error::Internal(format!("password hashing task failed: {e}")))
}

async fn hash_password(password: Zeroizing<String>) -> Result<String> {
    run_bounded(move || hash_blocking(password.as_bytes())).await?
}

/// The outcome of checking a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Match,
    Mismatch,
    /// The stored hash does not parse (damaged storage); the password was checked against
    /// the dummy hash instead, to keep the cost the same.
    Unreadable,
}

/// Checks `password` against `stored`, or against the dummy hash when there is no user.
async fn verify_password(password: Zeroizing<String>, stored: Option<String>) -> Result<Verdict> {
    run_bounded(move || {
        let hasher = argon2()?;
        let matches =
            |hash: &PasswordHash<'_>| hasher.verify_password(password.as_bytes(), hash).is_ok();
        // Whatever its outcome, a check against the dummy hash is never a match.
        let check_dummy = || {
            if let Ok(dummy) = PasswordHash::new(DUMMY_HASH.as_str()) {
                matches(&dummy);
            }
        };
        Ok(match stored.as_deref().map(PasswordHash::new) {
            Some(Ok(hash)) if matches(&hash) => Verdict::Match,
            Some(Ok(_)) => Verdict::Mismatch,
            Some(Err(_)) => {
                check_dummy();
                Verdict::Unreadable
            }
            None => {
                check_dummy();
                Verdict::Mismatch
            }
        })
    })
    .await?
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logical::test_support::ctx;
    use serde_json::json;
    use std::time::Duration;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    async fn up() -> Ctx {
        ctx("userpass", Map::new()).await
    }

    async fn call(c: &Ctx, op: Operation, path: &str, data: Value) -> Result<Response> {
        Userpass::new()
            .handle(c, &Request::new(op, path).with_data(obj(data)))
            .await
    }

    async fn login_as(c: &Ctx, user: &str, password: &str) -> Result<Response> {
        call(
            c,
            Operation::Update,
            &format!("login/{user}"),
            json!({ "password": password }),
        )
        .await
    }

    async fn exists(c: &Ctx, path: &str) -> Option<bool> {
        Userpass::new()
            .exists(c, &Request::new(Operation::Update, path))
            .await
            .unwrap()
    }

    /// The message of a 400, or a panic naming what came instead.
    fn invalid(r: Result<Response>) -> String {
        match r {
            Err(Error::InvalidRequest(m)) => m,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    fn keys(r: Response) -> Value {
        r.data.unwrap()["keys"].clone()
    }

    #[tokio::test]
    async fn crud() {
        let c = up().await;
        assert!(matches!(
            call(&c, Operation::Read, "users/bob", json!({})).await,
            Err(Error::NotFound)
        ));
        assert_eq!(exists(&c, "users/bob").await, Some(false));

        let r = call(
            &c,
            Operation::Create,
            "users/bob",
            json!({"password": "s3cret", "policies": "dev, ops", "token_ttl": "1h"}),
        )
        .await
        .unwrap();
        assert!(r.data.is_none() && r.auth.is_none());
        assert_eq!(exists(&c, "users/bob").await, Some(true));

        let data = call(&c, Operation::Read, "users/bob", json!({}))
            .await
            .unwrap()
            .data
            .unwrap();
        assert_eq!(data["token_policies"], json!(["dev", "ops"]));
        assert_eq!(data["policies"], json!(["dev", "ops"]));
        assert_eq!(data["token_ttl"], json!(3600));
        assert_eq!(data["token_max_ttl"], json!(0));
        assert_eq!(data["token_type"], json!("default"));
        assert!(!data.contains_key("password") && !data.contains_key("password_hash"));
        assert!(!Value::Object(data).to_string().contains("argon2"));

        // An update without a password keeps the password and the other fields.
        call(
            &c,
            Operation::Update,
            "users/bob",
            json!({"token_max_ttl": 7200}),
        )
        .await
        .unwrap();
        let data = call(&c, Operation::Read, "users/bob", json!({}))
            .await
            .unwrap()
            .data
            .unwrap();
        assert_eq!(data["token_policies"], json!(["dev", "ops"]));
        assert_eq!(
            (data["token_ttl"].clone(), data["token_max_ttl"].clone()),
            (json!(3600), json!(7200))
        );
        login_as(&c, "bob", "s3cret").await.unwrap();

        // An update with a password replaces it.
        call(
            &c,
            Operation::Update,
            "users/bob",
            json!({"password": "other"}),
        )
        .await
        .unwrap();
        assert_eq!(
            invalid(login_as(&c, "bob", "s3cret").await),
            INVALID_CREDENTIALS
        );
        login_as(&c, "bob", "other").await.unwrap();

        let r = call(&c, Operation::Delete, "users/bob", json!({}))
            .await
            .unwrap();
        assert!(r.data.is_none());
        assert!(matches!(
            call(&c, Operation::Read, "users/bob", json!({})).await,
            Err(Error::NotFound)
        ));
        assert_eq!(exists(&c, "users/bob").await, Some(false));
        assert_eq!(
            invalid(login_as(&c, "bob", "other").await),
            INVALID_CREDENTIALS
        );
        // Deleting an absent user is fine too.
        call(&c, Operation::Delete, "users/bob", json!({}))
            .await
            .unwrap();
        assert!(c.storage.keys().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn list() {
        let c = up().await;
        for path in ["users", "users/"] {
            assert!(matches!(
                call(&c, Operation::List, path, json!({})).await,
                Err(Error::NotFound)
            ));
        }
        for name in ["bob", "alice"] {
            call(
                &c,
                Operation::Update,
                &format!("users/{name}"),
                json!({"password": "pw"}),
            )
            .await
            .unwrap();
        }
        for path in ["users", "users/"] {
            let r = call(&c, Operation::List, path, json!({})).await.unwrap();
            assert_eq!(keys(r), json!(["alice", "bob"]));
        }
        assert!(matches!(
            call(&c, Operation::Read, "users/", json!({})).await,
            Err(Error::UnsupportedOperation(_))
        ));
    }

    #[tokio::test]
    async fn password_change() {
        let c = up().await;
        call(
            &c,
            Operation::Update,
            "users/bob",
            json!({"password": "old"}),
        )
        .await
        .unwrap();
        call(
            &c,
            Operation::Update,
            "users/bob/password",
            json!({"password": "new"}),
        )
        .await
        .unwrap();
        assert_eq!(
            invalid(login_as(&c, "bob", "old").await),
            INVALID_CREDENTIALS
        );
        assert!(login_as(&c, "bob", "new").await.unwrap().auth.is_some());

        assert_eq!(
            invalid(
                call(
                    &c,
                    Operation::Update,
                    "users/nobody/password",
                    json!({"password": "x"})
                )
                .await
            ),
            "username does not exist"
        );
        assert_eq!(exists(&c, "users/nobody").await, Some(false));
        for body in [json!({}), json!({"password": ""})] {
            assert_eq!(
                invalid(call(&c, Operation::Update, "users/bob/password", body).await),
                "missing password"
            );
        }
        // Still the new one.
        login_as(&c, "bob", "new").await.unwrap();
    }

    #[tokio::test]
    async fn policies_update() {
        let c = up().await;
        call(
            &c,
            Operation::Update,
            "users/bob",
            json!({"password": "pw", "token_policies": ["a"], "token_ttl": 60}),
        )
        .await
        .unwrap();
        call(
            &c,
            Operation::Update,
            "users/bob/policies",
            json!({"token_policies": "Ops, dev,dev", "token_ttl": 999}),
        )
        .await
        .unwrap();
        let data = call(&c, Operation::Read, "users/bob", json!({}))
            .await
            .unwrap()
            .data
            .unwrap();
        assert_eq!(data["token_policies"], json!(["dev", "ops"]));
        // Only the policies changed.
        assert_eq!(data["token_ttl"], json!(60));

        // The legacy name works too.
        call(
            &c,
            Operation::Update,
            "users/bob/policies",
            json!({"policies": ["x"]}),
        )
        .await
        .unwrap();
        let auth = login_as(&c, "bob", "pw").await.unwrap().auth.unwrap();
        assert_eq!(auth.policies, ["x"]);

        assert_eq!(
            invalid(
                call(
                    &c,
                    Operation::Update,
                    "users/nobody/policies",
                    json!({"policies": ["x"]})
                )
                .await
            ),
            "username does not exist"
        );
        assert_eq!(c.storage.keys().await.unwrap(), ["user/bob"]);
    }

    #[tokio::test]
    async fn login_result() {
        let c = up().await;
        call(
            &c,
            Operation::Create,
            "users/bob",
            json!({
                "password": "pw",
                "token_policies": "b,a",
                "token_ttl": "30m",
                "token_max_ttl": "2h",
                "token_num_uses": 3,
                "token_no_default_policy": true,
            }),
        )
        .await
        .unwrap();
        let r = login_as(&c, "bob", "pw").await.unwrap();
        assert!(r.data.is_none());
        let auth = r.auth.unwrap();
        assert_eq!(auth.policies, ["a", "b"]);
        assert_eq!(auth.display_name, "bob");
        assert_eq!(
            auth.metadata,
            BTreeMap::from([("username".to_owned(), "bob".to_owned())])
        );
        assert_eq!(auth.ttl, Duration::from_secs(1800));
        assert_eq!(auth.max_ttl, Duration::from_secs(7200));
        assert_eq!(auth.num_uses, 3);
        assert!(auth.no_default_policy);
        assert!(auth.renewable);
        // Create also works as the login operation.
        let r = call(
            &c,
            Operation::Create,
            "login/bob",
            json!({"password": "pw"}),
        )
        .await
        .unwrap();
        assert_eq!(r.auth.unwrap().display_name, "bob");
    }

    #[tokio::test]
    async fn unknown_user_and_wrong_password_look_the_same() {
        let c = up().await;
        call(
            &c,
            Operation::Update,
            "users/bob",
            json!({"password": "pw"}),
        )
        .await
        .unwrap();
        let wrong = login_as(&c, "bob", "nope").await;
        let unknown = login_as(&c, "alice", "nope").await;
        assert_eq!(format!("{wrong:?}"), format!("{unknown:?}"));
        assert_eq!(invalid(wrong), INVALID_CREDENTIALS);
        assert_eq!(invalid(unknown), INVALID_CREDENTIALS);
        // An empty password is refused before any lookup, for everyone alike.
        for user in ["bob", "alice"] {
            assert_eq!(invalid(login_as(&c, user, "").await), "missing password");
            assert_eq!(
                invalid(call(&c, Operation::Update, &format!("login/{user}"), json!({})).await),
                "missing password"
            );
        }
        // The correct password of one user does not open another.
        assert_eq!(
            invalid(login_as(&c, "alice", "pw").await),
            INVALID_CREDENTIALS
        );
    }

    #[tokio::test]
    async fn dummy_hash_costs_what_a_real_one_does() {
        let c = up().await;
        call(
            &c,
            Operation::Update,
            "users/bob",
            json!({"password": "pw"}),
        )
        .await
        .unwrap();
        let real: UserEntry = c.storage.get_json("user/bob").await.unwrap().unwrap();
        let real = PasswordHash::new(&real.password_hash).unwrap();
        let dummy = PasswordHash::new(&DUMMY_HASH).unwrap();
        assert_eq!(real.algorithm, dummy.algorithm);
        assert_eq!(real.version, dummy.version);
        assert_eq!(real.params, dummy.params);
        assert_eq!(real.hash.map(|h| h.len()), dummy.hash.map(|h| h.len()));
        assert_eq!(real.algorithm.as_str(), "argon2id");
        assert_eq!(real.params.to_string(), "m=19456,t=2,p=1");
    }

    #[tokio::test]
    async fn usernames_are_case_folded() {
        let c = up().await;
        call(
            &c,
            Operation::Create,
            "users/MixedCase",
            json!({"password": "pw"}),
        )
        .await
        .unwrap();
        assert_eq!(c.storage.keys().await.unwrap(), ["user/mixedcase"]);
        assert_eq!(exists(&c, "users/MIXEDCASE").await, Some(true));
        call(&c, Operation::Read, "users/mixedcase", json!({}))
            .await
            .unwrap();
        let r = login_as(&c, "MIXEDcase", "pw").await.unwrap();
        let auth = r.auth.unwrap();
        assert_eq!(auth.display_name, "mixedcase");
        assert_eq!(auth.metadata["username"], "mixedcase");
        call(
            &c,
            Operation::Update,
            "users/MIXEDCASE/password",
            json!({"password": "pw2"}),
        )
        .await
        .unwrap();
        login_as(&c, "mixedcase", "pw2").await.unwrap();
        let r = call(&c, Operation::List, "users", json!({})).await.unwrap();
        assert_eq!(keys(r), json!(["mixedcase"]));
        call(&c, Operation::Delete, "users/MixedCASE", json!({}))
            .await
            .unwrap();
        assert!(c.storage.keys().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn bad_input_changes_nothing() {
        let c = up().await;
        call(
            &c,
            Operation::Create,
            "users/bob",
            json!({"password": "pw", "token_ttl": 60, "token_policies": ["p"]}),
        )
        .await
        .unwrap();
        let keys_before = c.storage.keys().await.unwrap();
        let bob_before = c.storage.get("user/bob").await.unwrap().unwrap();

        let long = "a".repeat(MAX_USERNAME_LEN + 1);
        let cases: Vec<(Operation, String, Value, &str)> = vec![
            // New users need a password.
            (
                Operation::Create,
                "users/new".into(),
                json!({"token_ttl": 5}),
                "missing password",
            ),
            (
                Operation::Update,
                "users/new".into(),
                json!({"password": ""}),
                "missing password",
            ),
            (
                Operation::Update,
                "users/new".into(),
                json!({"password": {"a": 1}}),
                "password must be a string",
            ),
            (
                Operation::Update,
                "users/new".into(),
                json!({"password": "pw", "token_ttl": "soon"}),
                "token_ttl: invalid duration \"soon\"",
            ),
            // Existing users keep everything on a bad update.
            (
                Operation::Update,
                "users/bob".into(),
                json!({"password": ""}),
                "missing password",
            ),
            (
                Operation::Update,
                "users/bob".into(),
                json!({"password": "x", "token_max_ttl": 10}),
                "\"token_ttl\" should not be greater than \"token_max_ttl\"",
            ),
            (
                Operation::Update,
                "users/bob".into(),
                json!({"token_type": "batch"}),
                "",
            ),
            (
                Operation::Update,
                "users/bob".into(),
                json!({"token_bound_cidrs": ["10.0.0.0/8"]}),
                "",
            ),
            (
                Operation::Update,
                "users/bob".into(),
                json!({"token_num_uses": -1}),
                "token_num_uses cannot be negative",
            ),
            (
                Operation::Update,
                "users/bob/policies".into(),
                json!({"policies": {"a": 1}}),
                "policies must be a list of strings",
            ),
            (
                Operation::Update,
                "users/bob/password".into(),
                json!({"password": ""}),
                "missing password",
            ),
            (
                Operation::Update,
                "users/bob/password".into(),
                json!({"password": []}),
                "password must be a string",
            ),
            // Bad usernames, on every path.
            (
                Operation::Update,
                "users/".to_owned() + &long,
                json!({"password": "pw"}),
                "username is too long: at most 240 bytes",
            ),
            (
                Operation::Update,
                "users/a\u{7}b".into(),
                json!({"password": "pw"}),
                "username cannot contain '/', '\\' or control characters",
            ),
            (
                Operation::Update,
                "users/a\\b".into(),
                json!({"password": "pw"}),
                "username cannot contain '/', '\\' or control characters",
            ),
            (
                Operation::Update,
                "users/..".into(),
                json!({"password": "pw"}),
                "username cannot be \".\" or \"..\"",
            ),
            (
                Operation::Update,
                "users/.".into(),
                json!({"password": "pw"}),
                "username cannot be \".\" or \"..\"",
            ),
            (
                Operation::Update,
                "users//password".into(),
                json!({"password": "pw"}),
                "missing username",
            ),
            (
                Operation::Update,
                "users//policies".into(),
                json!({"policies": "a"}),
                "missing username",
            ),
            (
                Operation::Read,
                "users/a\u{0}".into(),
                json!({}),
                "username cannot contain '/', '\\' or control characters",
            ),
            (
                Operation::Delete,
                "users/..".into(),
                json!({}),
                "username cannot be \".\" or \"..\"",
            ),
            (
                Operation::Update,
                "login/".into(),
                json!({"password": "pw"}),
                "missing username",
            ),
            (
                Operation::Update,
                "login/".to_owned() + &long,
                json!({"password": "pw"}),
                "username is too long: at most 240 bytes",
            ),
            (
                Operation::Update,
                "login/bob".into(),
                json!({"password": ["pw"]}),
                "password must be a string",
            ),
        ];
        for (op, path, body, want) in cases {
            let msg = invalid(call(&c, op, &path, body.clone()).await);
            if !want.is_empty() {
                assert_eq!(msg, want, "{op:?} {path:?} {body}");
            }
            assert_eq!(
                c.storage.keys().await.unwrap(),
                keys_before,
                "{path:?} {body}"
            );
        }
        assert_eq!(
            c.storage.get("user/bob").await.unwrap().unwrap(),
            bob_before
        );
        login_as(&c, "bob", "pw").await.unwrap();
        // A username at the limit is fine.
        let longest = "b".repeat(MAX_USERNAME_LEN);
        call(
            &c,
            Operation::Create,
            &format!("users/{longest}"),
            json!({"password": "pw"}),
        )
        .await
        .unwrap();
        login_as(&c, &longest, "pw").await.unwrap();
        assert_eq!(exists(&c, &format!("users/{long}")).await, Some(false));
    }

    #[tokio::test]
    async fn no_plaintext_password_in_storage() {
        let c = up().await;
        let password = "correct horse battery staple";
        call(
            &c,
            Operation::Create,
            "users/bob",
            json!({"password": password}),
        )
        .await
        .unwrap();
        let check = |raw: Vec<u8>| {
            assert!(!raw
                .windows(password.len())
                .any(|w| w == password.as_bytes()));
            let text = String::from_utf8(raw).unwrap();
            assert!(text.contains("$argon2id$v=19$m=19456,t=2,p=1$"), "{text}");
        };
        check(c.storage.get("user/bob").await.unwrap().unwrap());
        let first: UserEntry = c.storage.get_json("user/bob").await.unwrap().unwrap();
        call(
            &c,
            Operation::Update,
            "users/bob/password",
            json!({"password": password}),
        )
        .await
        .unwrap();
        let raw = c.storage.get("user/bob").await.unwrap().unwrap();
        let second: UserEntry = serde_json::from_slice(&raw).unwrap();
        check(raw);
        // Random salts: the same password never hashes the same twice.
        assert_ne!(first.password_hash, second.password_hash);
        assert_eq!(second.version, ENTRY_VERSION);
    }

    #[tokio::test]
    async fn paths_and_operations() {
        let c = up().await;
        let up = Userpass::new();
        assert!(up.is_login_path("login/bob"));
        assert!(!up.is_login_path("users/bob"));
        assert!(!up.is_login_path("users/login/x"));
        for path in [
            "",
            "foo",
            "login",
            "login/a/b",
            "users/a/b",
            "users/a/password/x",
            "user/a",
        ] {
            assert!(
                matches!(
                    call(&c, Operation::Update, path, json!({"password": "pw"})).await,
                    Err(Error::UnsupportedPath(_))
                ),
                "{path:?}"
            );
        }
        for (op, path) in [
            (Operation::Patch, "users/bob"),
            (Operation::List, "users/bob"),
            (Operation::Read, "login/bob"),
            (Operation::Delete, "login/bob"),
            (Operation::Read, "users/bob/password"),
            (Operation::Delete, "users/bob/policies"),
            (Operation::Update, "users"),
        ] {
            assert!(
                matches!(
                    call(&c, op, path, json!({"password": "pw"})).await,
                    Err(Error::UnsupportedOperation(_))
                ),
                "{op:?} {path:?}"
            );
        }
        assert!(c.storage.keys().await.unwrap().is_empty());
        assert_eq!(exists(&c, "login/bob").await, None);
        assert_eq!(exists(&c, "users/bob/password").await, None);
        assert_eq!(exists(&c, "users").await, None);
    }
}
