//! The narrow contract between the core and the engines (Vault's `sdk/logical`).
//!
//! An engine sees a [`Request`] relative to its mount and a [`Ctx`] holding its
//! [`StorageView`] and mount facts. It never sees the core, tokens or other mounts.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use vaultrs_storage::{Barrier, Batch};

use crate::error::{Error, Result};

/// What a request asks for. `Create` is `Update` on a path that does not exist yet (the
/// core asks [`Backend::exists`] to tell them apart, for ACLs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Read,
    Create,
    Update,
    Patch,
    Delete,
    List,
}

impl Operation {
    /// The name Vault logs and shows (`read`, `create`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Patch => "patch",
            Operation::Delete => "delete",
            Operation::List => "list",
        }
    }
}

/// A request as an engine sees it.
#[derive(Clone, Debug)]
pub struct Request {
    pub operation: Operation,
    /// Relative to the mount, without a leading `/` (may be empty).
    pub path: String,
    /// The JSON body's fields; for reads and lists, the query parameters.
    pub data: Map<String, Value>,
    /// The client's address, when the request came over the network (CIDR bindings).
    pub remote_addr: Option<std::net::IpAddr>,
}

impl Request {
    pub fn new(operation: Operation, path: impl Into<String>) -> Self {
        Self {
            operation,
            path: path.into(),
            data: Map::new(),
            remote_addr: None,
        }
    }

    pub fn with_remote_addr(mut self, addr: Option<std::net::IpAddr>) -> Self {
        self.remote_addr = addr;
        self
    }

    pub fn with_data(mut self, data: Map<String, Value>) -> Self {
        self.data = data;
        self
    }

    /// A string field, accepting numbers and booleans as their text (as Vault does).
    pub fn str_field(&self, name: &str) -> Option<String> {
        crate::fields::string(&self.data, name)
    }

    /// An integer field given as a number or a numeric string.
    pub fn int_field(&self, name: &str) -> Result<Option<i64>> {
        crate::fields::integer(&self.data, name)
    }

    /// A boolean field given as a bool, a number or a string.
    pub fn bool_field(&self, name: &str) -> Result<Option<bool>> {
        crate::fields::boolean(&self.data, name)
    }

    /// A duration field: seconds as a number, or a Go-style string (`"90s"`, `"1h30m"`).
    pub fn duration_field(&self, name: &str) -> Result<Option<Duration>> {
        crate::fields::duration(&self.data, name)
    }
}

/// `path` without its trailing `/`, for every operation but LIST (where the `/` names the
/// folder); `None` when there is none to drop. Handlers that read `x/` as `x` canonicalize
/// with it (see [`Backend::canonical_path`]).
pub fn drop_trailing_slash(operation: Operation, path: &str) -> Option<String> {
    if operation == Operation::List {
        return None;
    }
    path.strip_suffix('/').map(str::to_owned)
}

/// Parses Vault's durations: plain seconds (`"30"`), or Go-style units (`"1h30m"`,
/// `"10s"`, `"500ms"`, `"2d"` is not Go but Vault accepts `d`). Empty means zero.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return Some(Duration::ZERO);
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        let secs = number * scale;
        if !secs.is_finite() || !(0.0..=1e12).contains(&secs) {
            return None;
        }
        total += Duration::from_secs_f64(secs);
    }
    Some(total)
}

/// The longest TTL anything holds: Go's largest `time.Duration` (about 292 years), which
/// is also where Vault's parsing stops. Longer TTLs saturate to it, so no sum of a
/// timestamp and a client-given TTL can overflow.
pub const MAX_TTL: Duration = Duration::from_secs(i64::MAX as u64 / 1_000_000_000);

/// A TTL from [`parse_duration`]'s syntax, in whole seconds: a fraction of a second rounds
/// up (a TTL that rounded down to zero would mean "never expires"), and anything past
/// [`MAX_TTL`] saturates to it.
pub fn parse_ttl(s: &str) -> Option<Duration> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        // Plain seconds, however many digits: saturating, never refused for size.
        let secs = s.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_TTL));
    }
    parse_duration(s).map(whole_seconds)
}

/// A TTL given in JSON: seconds as a number (fractions round up) or a string for
/// [`parse_ttl`]. `None` for anything else (negative numbers, other types).
pub fn ttl_from_json(value: &Value) -> Option<Duration> {
    match value {
        Value::Number(n) => match n.as_u64() {
            Some(secs) => Some(Duration::from_secs(secs).min(MAX_TTL)),
            None => n
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| whole_seconds(Duration::from_secs_f64(f.min(MAX_TTL.as_secs_f64())))),
        },
        Value::String(s) => parse_ttl(s),
        _ => None,
    }
}

/// `d` rounded up to whole seconds, at most [`MAX_TTL`].
fn whole_seconds(d: Duration) -> Duration {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    Duration::from_secs(secs).min(MAX_TTL)
}

/// What an engine answers.
#[derive(Clone, Debug, Default)]
pub struct Response {
    pub data: Option<Map<String, Value>>,
    pub warnings: Vec<String>,
    /// The lease duration to report (KV v1's `ttl` field); no lease is registered.
    pub lease_duration: Option<Duration>,
    /// Answer 404 but still send `data` (KV v2 reads of deleted or destroyed versions).
    pub not_found_with_data: bool,
    /// A successful login: the core issues a token (and its lease) from it.
    pub auth: Option<LoginAuth>,
    /// Work was started, not finished (tidy endpoints): HTTP 202, as Vault answers.
    pub accepted: bool,
}

/// What an auth method grants on a successful login. The core turns it into a token
/// (service or batch, see [`LoginAuth::token_type`]): it adds the `default` policy (unless `no_default_policy`), picks the TTLs against
/// the mount's, names the token `<mount type>-<display_name>`, registers its lease and
/// answers with Vault's `auth` block. Engines never create tokens themselves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoginAuth {
    /// The token's policies as the method configures them (without `default`).
    pub policies: Vec<String>,
    pub no_default_policy: bool,
    /// Shown as the token's `meta` and the login's `auth.metadata` (e.g. `username`).
    pub metadata: std::collections::BTreeMap<String, String>,
    /// Who logged in, e.g. the username or role name.
    pub display_name: String,
    /// Zero: the mount's default lease TTL.
    pub ttl: Duration,
    /// Zero: the mount's max lease TTL. Renewals never go past it.
    pub max_ttl: Duration,
    /// Zero: none. A hard cap on the token's life, renewals included.
    pub explicit_max_ttl: Duration,
    /// Non-zero: a periodic token renewed by this much each time.
    pub period: Duration,
    /// Zero: unlimited.
    pub num_uses: i64,
    pub renewable: bool,
    /// The method's `token_type` setting (`""`/`default`, `service`, `batch`,
    /// `default-service`, `default-batch`); the mount's tuned `token_type` has the last
    /// word, as in Vault.
    pub token_type: String,
}

impl Response {
    /// A response with `data`.
    pub fn data(data: Map<String, Value>) -> Self {
        Self {
            data: Some(data),
            ..Self::default()
        }
    }

    /// A response with no body (HTTP 204).
    pub fn empty() -> Self {
        Self::default()
    }

    /// A login answer (no `data`).
    pub fn login(auth: LoginAuth) -> Self {
        Self {
            auth: Some(auth),
            ..Self::default()
        }
    }

    /// A LIST answer: `{"keys": [...]}`; an empty list is Vault's 404.
    pub fn list(keys: Vec<String>) -> Result<Self> {
        if keys.is_empty() {
            return Err(Error::NotFound);
        }
        let mut data = Map::new();
        data.insert("keys".into(), Value::from(keys));
        Ok(Self::data(data))
    }
}

/// Facts about the mount an engine serves.
#[derive(Clone, Debug, Default)]
pub struct MountInfo {
    /// The mount path with its trailing `/`, e.g. `secret/`.
    pub path: String,
    pub kind: String,
    pub uuid: String,
    pub accessor: String,
    pub local: bool,
    /// `options` as given at enable/tune time (e.g. `version` for kv).
    pub options: Map<String, Value>,
    pub default_lease_ttl: Duration,
    pub max_lease_ttl: Duration,
}

/// What a request runs against: the mount's storage and facts.
#[derive(Clone)]
pub struct Ctx {
    /// The mount's storage; replicated unless the mount is local.
    pub storage: StorageView,
    /// Storage that always stays on this cluster, whatever the mount (approle secret ids).
    /// Its keys start with `local/`, which replication never ships.
    pub local: StorageView,
    pub mount: Arc<MountInfo>,
}

/// An engine (a secrets engine or an auth method).
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Serves one request.
    async fn handle(&self, ctx: &Ctx, req: &Request) -> Result<Response>;

    /// Whether the target of a write exists, so the core can tell `Create` from `Update`
    /// for ACLs. It answers from the path alone: `req` carries no data. `None`: the
    /// distinction does not apply (checked as `Update`).
    async fn exists(&self, _ctx: &Ctx, _req: &Request) -> Result<Option<bool>> {
        Ok(None)
    }

    /// The one spelling of the object `path` (relative to the mount) names, for engines
    /// that fold names (lower case, a trailing `/`). The core asks before it authorizes a
    /// request and then runs it on the answer, so the ACL and the handler always see the
    /// same object: a deny on `users/alice` is never checked against `users/ALICE` while
    /// the handler acts on `alice`. `None`: `path` is canonical already. An error refuses
    /// the request (400).
    fn canonical_path(&self, _operation: Operation, _path: &str) -> Result<Option<String>> {
        Ok(None)
    }

    /// Whether `path` (relative to the mount) is served without a token: an auth
    /// method's login endpoints. The request then reaches [`Backend::handle`] with no ACL
    /// check, and a [`Response::auth`] it returns becomes a token.
    fn is_login_path(&self, _path: &str) -> bool {
        false
    }

    /// A token this auth method issued asks to be renewed. `login` holds what the token
    /// carries (its policies without `default`, its metadata). An error refuses the
    /// renewal: the user or role is gone, or no longer grants the same policies.
    async fn renew_login(&self, _ctx: &Ctx, _login: &LoginAuth) -> Result<()> {
        Ok(())
    }

    /// Storage under this engine's view changed underneath it (`key` relative to the
    /// view; a prefix stands for every key under it, `""` for the whole view): drop
    /// whatever is cached of it. Called for replicated keys only: the engine's local view
    /// is written by this cluster alone.
    fn invalidate(&self, _key: &str) {}
}

/// A prefix-scoped view of barrier storage: an engine's whole world.
#[derive(Clone)]
pub struct StorageView {
    barrier: Arc<Barrier>,
    prefix: String,
}

impl std::fmt::Debug for StorageView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageView")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Changes to several keys of one view, committed atomically.
#[derive(Debug, Default)]
pub struct ViewBatch {
    changes: Vec<(String, Option<Vec<u8>>)>,
}

impl ViewBatch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&mut self, key: impl Into<String>, value: Vec<u8>) -> &mut Self {
        self.changes.push((key.into(), Some(value)));
        self
    }

    pub fn put_json<T: Serialize>(
        &mut self,
        key: impl Into<String>,
        value: &T,
    ) -> Result<&mut Self> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(self.put(key, bytes))
    }

    pub fn delete(&mut self, key: impl Into<String>) -> &mut Self {
        self.changes.push((key.into(), None));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

impl StorageView {
    /// A view of `barrier` under `prefix` (empty, or ending in `/`).
    pub fn new(barrier: Arc<Barrier>, prefix: impl Into<String>) -> Self {
        Self {
            barrier,
            prefix: prefix.into(),
        }
    }

    /// A narrower view under `sub` (ending in `/`).
    pub fn sub(&self, sub: &str) -> Self {
        Self {
            barrier: self.barrier.clone(),
            prefix: format!("{}{sub}", self.prefix),
        }
    }

    /// The full storage prefix of this view.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.barrier.get(&self.full(key)).await?)
    }

    /// Whether `key` holds a value (nothing is decrypted).
    pub async fn contains(&self, key: &str) -> Result<bool> {
        Ok(self.barrier.contains(&self.full(key)).await?)
    }

    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.get(key).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Error::Internal(format!("decoding stored entry {}: {e}", self.full(key)))
            }),
        }
    }

    pub async fn put(&self, key: &str, value: &[u8]) -> Result<()> {
        self.barrier.put(&self.full(key), value).await?;
        Ok(())
    }

    pub async fn put_json<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::Internal(e.to_string()))?;
        self.put(key, &bytes).await
    }

    pub async fn delete(&self, key: &str) -> Result<()> {
        self.barrier.delete(&self.full(key)).await?;
        Ok(())
    }

    /// Direct children of `prefix` (empty or ending in `/`), folders ending in `/`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self.barrier.list(&self.full(prefix)).await?)
    }

    /// Commits `batch` atomically (every key under this view).
    pub async fn commit(&self, batch: ViewBatch) -> Result<()> {
        Self::commit_views(vec![(self, batch)]).await
    }

    /// Commits several views' batches as one atomic change (the views share a barrier).
    pub async fn commit_views(parts: Vec<(&StorageView, ViewBatch)>) -> Result<()> {
        let Some((first, _)) = parts.first() else {
            return Ok(());
        };
        let barrier = first.barrier.clone();
        let mut full = Batch::new();
        for (view, batch) in parts {
            debug_assert!(Arc::ptr_eq(&view.barrier, &barrier));
            for (key, value) in batch.changes {
                full = match value {
                    Some(v) => full.put(view.full(&key), v),
                    None => full.delete(view.full(&key)),
                };
            }
        }
        barrier.commit(full).await?;
        Ok(())
    }

    /// Every key under this view, relative to it, sorted (recursive).
    pub async fn keys(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut folders = vec![String::new()];
        while let Some(folder) = folders.pop() {
            for child in self.list(&folder).await? {
                let path = format!("{folder}{child}");
                if child.ends_with('/') {
                    folders.push(path);
                } else {
                    out.push(path);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Test support: an unsealed barrier over memory and a context for one mount.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use vaultrs_storage::InmemBackend;

    pub async fn unsealed_barrier() -> Arc<Barrier> {
        let barrier = Arc::new(Barrier::new(Arc::new(InmemBackend::new())));
        let init = barrier.init(1, 1).await.unwrap();
        barrier.unseal(&init.shares[0]).await.unwrap();
        barrier
    }

    pub async fn ctx(kind: &str, options: Map<String, Value>) -> Ctx {
        let barrier = unsealed_barrier().await;
        Ctx {
            storage: StorageView::new(barrier.clone(), "logical/test-uuid/"),
            local: StorageView::new(barrier, "local/logical/test-uuid/"),
            mount: Arc::new(MountInfo {
                path: "test/".into(),
                kind: kind.into(),
                uuid: "test-uuid".into(),
                accessor: format!("{kind}_test"),
                local: false,
                options,
                default_lease_ttl: Duration::from_secs(768 * 3600),
                max_lease_ttl: Duration::from_secs(768 * 3600),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(
            parse_duration("768h"),
            Some(Duration::from_secs(768 * 3600))
        );
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration(""), Some(Duration::ZERO));
        assert_eq!(parse_duration("1x"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("-5s"), None);
        assert_eq!(parse_duration("1e400s"), None);
    }

    #[test]
    fn ttls_are_whole_seconds_that_never_round_to_zero_or_overflow() {
        let secs = Duration::from_secs;
        for (text, want) in [
            ("500ms", Some(secs(1))),
            ("1ns", Some(secs(1))),
            ("5ms", Some(secs(1))),
            (".5s", Some(secs(1))),
            ("1.5s", Some(secs(2))),
            ("0", Some(secs(0))),
            ("", Some(secs(0))),
            ("1h", Some(secs(3600))),
            ("18446744073709551615", Some(MAX_TTL)),
            ("99999999999999999999999999", Some(MAX_TTL)),
            ("9223372036", Some(MAX_TTL)),
            ("-1", None),
            ("1y", None),
        ] {
            assert_eq!(parse_ttl(text), want, "{text:?}");
        }
        let json = |v: Value| ttl_from_json(&v);
        assert_eq!(json(serde_json::json!(0.25)), Some(secs(1)));
        assert_eq!(json(serde_json::json!(u64::MAX)), Some(MAX_TTL));
        assert_eq!(json(serde_json::json!(1e300)), Some(MAX_TTL));
        assert_eq!(json(serde_json::json!(-1)), None);
        assert_eq!(json(serde_json::json!("500ms")), Some(secs(1)));
        assert_eq!(json(serde_json::json!(true)), None);
    }
}
