//! Mount tables and the router.
//!
//! Three tables, each stored as a replicated and a local half (replication ships only the
//! replicated one, see [`crate::locality`]): secret engines under `core/mounts` +
//! `local/core/mounts`, auth methods under `core/auth` + `local/core/auth`, audit devices
//! under `core/audit` + `local/core/audit`. An engine's data lives under `logical/<uuid>/`
//! (secrets) or `auth/<uuid>/` (auth methods), and under `local/` in front of that when
//! the mount is local; its cluster-local data under `local/engine/<uuid>/`. Remounting
//! changes the path, never the uuid.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::logical::{Backend, MountInfo};
use crate::metrics::RouteStats;
use crate::util::{random_hex, uuid};

const FORMAT_VERSION: u32 = 1;

/// Which table an entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Table {
    Mounts,
    Auth,
    /// Audit devices: stored like mounts, never routed.
    Audit,
}

impl Table {
    /// Storage keys of the replicated and the local half.
    pub fn keys(self) -> (&'static str, &'static str) {
        match self {
            Table::Mounts => ("core/mounts", "local/core/mounts"),
            Table::Auth => ("core/auth", "local/core/auth"),
            Table::Audit => ("core/audit", "local/core/audit"),
        }
    }

    /// Where request paths for this table's mounts start (`""` or `"auth/"`).
    pub fn route_prefix(self) -> &'static str {
        match self {
            Table::Mounts | Table::Audit => "",
            Table::Auth => "auth/",
        }
    }

    /// Where this table's engines keep their data.
    pub fn storage_prefix(self) -> &'static str {
        match self {
            Table::Mounts => "logical/",
            Table::Auth => "auth/",
            Table::Audit => "audit/",
        }
    }
}

/// Tunables of a mount (`config` in `sys/mounts`). Zero TTLs mean "the system default".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MountConfig {
    pub default_lease_ttl: u64,
    pub max_lease_ttl: u64,
    #[serde(default)]
    pub force_no_cache: bool,
    #[serde(default)]
    pub listing_visibility: String,
    #[serde(default)]
    pub token_type: String,
    #[serde(default)]
    pub audit_non_hmac_request_keys: Vec<String>,
    #[serde(default)]
    pub audit_non_hmac_response_keys: Vec<String>,
    #[serde(default)]
    pub passthrough_request_headers: Vec<String>,
    #[serde(default)]
    pub allowed_response_headers: Vec<String>,
}

/// One mounted engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MountEntry {
    pub table: Table,
    /// With its trailing `/`, without the `auth/` prefix for auth mounts.
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub uuid: String,
    pub accessor: String,
    pub local: bool,
    #[serde(default)]
    pub seal_wrap: bool,
    #[serde(default)]
    pub external_entropy_access: bool,
    /// `None` reports as `null` (non-kv mounts).
    pub options: Option<BTreeMap<String, String>>,
    pub config: MountConfig,
}

impl MountEntry {
    pub fn new(table: Table, path: &str, kind: &str, description: &str, local: bool) -> Self {
        let accessor_kind = match table {
            Table::Mounts => kind.to_owned(),
            Table::Auth => format!("auth_{kind}"),
            Table::Audit => format!("audit_{kind}"),
        };
        Self {
            table,
            path: path.to_owned(),
            kind: kind.to_owned(),
            description: description.to_owned(),
            uuid: uuid(),
            accessor: format!("{accessor_kind}_{}", random_hex(4)),
            local,
            seal_wrap: false,
            external_entropy_access: false,
            options: None,
            config: MountConfig::default(),
        }
    }

    /// The request-path prefix this mount serves (`secret/`, `auth/userpass/`).
    /// The `options` as the engines read them (a JSON object).
    pub fn options_json(&self) -> serde_json::Map<String, Value> {
        self.options
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect()
    }

    pub fn route(&self) -> String {
        format!("{}{}", self.table.route_prefix(), self.path)
    }

    /// The storage prefix of this mount's data: `logical/<uuid>/` (or `auth/`, `audit/`),
    /// under `local/` for a local mount.
    pub fn storage_prefix(&self) -> String {
        let local = if self.local {
            crate::locality::LOCAL_PREFIX
        } else {
            ""
        };
        format!("{local}{}{}/", self.table.storage_prefix(), self.uuid)
    }

    /// The storage prefix of this mount's cluster-local data (`local/engine/<uuid>/`):
    /// never replicated, whether or not the mount is local.
    pub fn local_storage_prefix(&self) -> String {
        format!("{}{}/", crate::locality::ENGINE_LOCAL_PREFIX, self.uuid)
    }

    /// The mount object as `sys/mounts` and `sys/auth` report it.
    pub fn to_json(&self) -> Value {
        let mut config = Map::new();
        config.insert(
            "default_lease_ttl".into(),
            self.config.default_lease_ttl.into(),
        );
        config.insert("max_lease_ttl".into(), self.config.max_lease_ttl.into());
        config.insert("force_no_cache".into(), self.config.force_no_cache.into());
        if self.table == Table::Auth {
            let token_type = if self.config.token_type.is_empty() {
                "default-service"
            } else {
                &self.config.token_type
            };
            config.insert("token_type".into(), token_type.into());
        }
        if !self.config.listing_visibility.is_empty() {
            config.insert(
                "listing_visibility".into(),
                self.config.listing_visibility.clone().into(),
            );
        }
        for (name, list) in [
            (
                "audit_non_hmac_request_keys",
                &self.config.audit_non_hmac_request_keys,
            ),
            (
                "audit_non_hmac_response_keys",
                &self.config.audit_non_hmac_response_keys,
            ),
            (
                "passthrough_request_headers",
                &self.config.passthrough_request_headers,
            ),
            (
                "allowed_response_headers",
                &self.config.allowed_response_headers,
            ),
        ] {
            if !list.is_empty() {
                config.insert(name.into(), list.clone().into());
            }
        }
        serde_json::json!({
            "type": self.kind,
            "description": self.description,
            "accessor": self.accessor,
            "uuid": self.uuid,
            "local": self.local,
            "seal_wrap": self.seal_wrap,
            "external_entropy_access": self.external_entropy_access,
            "options": self.options,
            "config": config,
            "plugin_version": "",
            "running_plugin_version": format!("v{}+builtin.vaultrs", env!("CARGO_PKG_VERSION")),
            "running_sha256": "",
            "deprecation_status": "supported",
        })
    }

    /// Facts handed to the engine.
    pub fn info(&self, system_default: Duration, system_max: Duration) -> MountInfo {
        let pick = |v: u64, d: Duration| if v == 0 { d } else { Duration::from_secs(v) };
        MountInfo {
            path: self.path.clone(),
            kind: self.kind.clone(),
            uuid: self.uuid.clone(),
            accessor: self.accessor.clone(),
            local: self.local,
            options: self
                .options
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                .collect(),
            default_lease_ttl: pick(self.config.default_lease_ttl, system_default),
            max_lease_ttl: pick(self.config.max_lease_ttl, system_max),
        }
    }
}

/// A stored half-table.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct StoredTable {
    pub version: u32,
    pub entries: Vec<MountEntry>,
}

impl StoredTable {
    pub fn new(entries: Vec<MountEntry>) -> Self {
        Self {
            version: FORMAT_VERSION,
            entries,
        }
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let table: StoredTable = serde_json::from_slice(bytes)
            .map_err(|e| Error::Internal(format!("decoding a mount table: {e}")))?;
        if table.version != FORMAT_VERSION {
            return Err(Error::Internal(format!(
                "mount table format version {} is not supported",
                table.version
            )));
        }
        Ok(table)
    }
}

/// How a mount is served.
#[derive(Clone)]
pub enum Handler {
    /// An engine that sees only its storage view.
    Engine(Arc<dyn Backend>),
    /// Cubbyhole: a KV v1 engine over a view scoped to the calling token.
    PerToken(Arc<dyn Backend>),
    /// The system backend (`sys/`).
    System,
    /// The token store (`auth/token/`).
    Token,
}

/// A mounted entry with its handler.
#[derive(Clone)]
pub struct Route {
    pub entry: Arc<MountEntry>,
    pub handler: Handler,
}

/// What the router derives once per mount, when it is inserted, for the engines it serves.
#[derive(Clone)]
pub struct MountFacts {
    /// The facts handed to the engine ([`MountEntry::info`]).
    pub info: Arc<MountInfo>,
    /// [`MountEntry::storage_prefix`].
    pub storage_prefix: String,
    /// [`MountEntry::local_storage_prefix`].
    pub local_prefix: String,
    /// The requests in flight on this route.
    pub gate: Arc<Gate>,
}

/// The requests in flight on one route. A request holds [`Gate::enter`]'s guard while its
/// engine runs (and, for a login, while its token is issued); disabling or moving the
/// mount takes the route out of the router, then [`Gate::retire`]s it: that waits for the
/// requests in flight and turns away any that resolved the route but had not entered yet.
/// So once `retire` returns, nothing writes the mount's data or issues a token through the
/// old route again.
#[derive(Debug, Default)]
pub struct Gate(tokio::sync::RwLock<bool>);

impl Gate {
    /// Lets a request in; `None` once the route is retired.
    pub async fn enter(&self) -> Option<tokio::sync::RwLockReadGuard<'_, bool>> {
        let guard = self.0.read().await;
        (!*guard).then_some(guard)
    }

    /// Waits for the requests in flight and closes the gate for good.
    pub async fn retire(&self) {
        *self.0.write().await = true;
    }
}

/// A mount that serves a request path (see [`Router::resolve`]).
pub struct Resolved {
    pub route: Route,
    pub facts: MountFacts,
    /// The request path relative to the mount.
    pub relative: String,
    /// What the route's requests record (`vault.route.*`), for the request's metrics to
    /// take.
    pub stats: Option<Arc<RouteStats>>,
}

#[derive(Clone)]
struct Slot {
    key: String,
    route: Route,
    facts: MountFacts,
    /// Kept, like the gate, while the same mount is re-inserted.
    stats: Arc<RouteStats>,
}

/// Longest-prefix routing over every mount of both tables.
#[derive(Clone, Default)]
pub struct Router {
    /// Sorted by route, longest first on lookup.
    routes: Vec<Slot>,
    /// The system default and maximum lease TTLs (what a mount's zero TTLs mean).
    system_ttls: (Duration, Duration),
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// A router whose mounts' zero TTLs mean `default` and `max`.
    pub fn with_system_ttls(default: Duration, max: Duration) -> Self {
        Self {
            routes: Vec::new(),
            system_ttls: (default, max),
        }
    }

    /// Adds or replaces (a tune) the route at the entry's path. The same mount re-inserted
    /// keeps its [`Gate`], so the requests in flight stay counted, and its figures.
    pub fn insert(&mut self, route: Route) {
        let key = route.entry.route();
        let (gate, stats) = match self
            .routes
            .iter()
            .find(|slot| slot.key == key && slot.route.entry.uuid == route.entry.uuid)
        {
            Some(slot) => (slot.facts.gate.clone(), slot.stats.clone()),
            None => (Arc::default(), Arc::new(RouteStats::new(key.clone()))),
        };
        let facts = MountFacts {
            info: Arc::new(route.entry.info(self.system_ttls.0, self.system_ttls.1)),
            storage_prefix: route.entry.storage_prefix(),
            local_prefix: route.entry.local_storage_prefix(),
            gate,
        };
        self.routes.retain(|slot| slot.key != key);
        self.routes.push(Slot {
            key,
            route,
            facts,
            stats,
        });
        // Longest first, so the first prefix that matches is the longest.
        self.routes
            .sort_by(|a, b| b.key.len().cmp(&a.key.len()).then(a.key.cmp(&b.key)));
    }

    /// Takes the route at `route_key` out, with the gate of its requests in flight.
    pub fn remove(&mut self, route_key: &str) -> Option<(Route, Arc<Gate>)> {
        let i = self.routes.iter().position(|slot| slot.key == route_key)?;
        let slot = self.routes.remove(i);
        Some((slot.route, slot.facts.gate))
    }

    /// Moves a mount: the route at `old_key` goes and `route` (at its entry's path) comes,
    /// in one change under the caller's write lock, so no request sees both or neither.
    /// The old route's gate, for the caller to retire.
    pub fn replace(&mut self, old_key: &str, route: Route) -> Option<Arc<Gate>> {
        let (_, gate) = self.remove(old_key)?;
        self.insert(route);
        Some(gate)
    }

    /// The slot serving `path` and the path relative to it. `secret` matches `secret/`.
    fn slot_for<'a, 'p>(&'a self, path: &'p str) -> Option<(&'a Slot, &'p str)> {
        for slot in &self.routes {
            if let Some(rest) = path.strip_prefix(slot.key.as_str()) {
                return Some((slot, rest));
            }
            if slot.key.strip_suffix('/') == Some(path) {
                return Some((slot, ""));
            }
        }
        None
    }

    /// The mount serving `path` and the path relative to it. `secret` matches `secret/`.
    pub fn matching(&self, path: &str) -> Option<(&Route, String)> {
        self.slot_for(path)
            .map(|(slot, rest)| (&slot.route, rest.to_owned()))
    }

    /// [`Router::matching`] with the mount's derived facts, owned (to outlive the lock).
    pub fn resolve(&self, path: &str) -> Option<Resolved> {
        self.slot_for(path).map(|(slot, rest)| Resolved {
            route: slot.route.clone(),
            facts: slot.facts.clone(),
            relative: rest.to_owned(),
            stats: Some(slot.stats.clone()),
        })
    }

    /// The route whose key equals `route_key`.
    pub fn get(&self, route_key: &str) -> Option<&Route> {
        self.routes
            .iter()
            .find(|slot| slot.key == route_key)
            .map(|slot| &slot.route)
    }

    /// The figures of every route.
    pub fn route_stats(&self) -> Vec<Arc<RouteStats>> {
        self.routes.iter().map(|slot| slot.stats.clone()).collect()
    }

    /// Every route, sorted by key.
    pub fn routes(&self) -> Vec<&Route> {
        let mut out: Vec<&Route> = self.routes.iter().map(|slot| &slot.route).collect();
        out.sort_by_key(|a| a.entry.route());
        out
    }

    /// The route whose replicated data holds storage key `key`, and the key relative to
    /// its view.
    pub fn owner_of_key<'k>(&self, key: &'k str) -> Option<(&Route, &'k str)> {
        self.routes.iter().find_map(|slot| {
            key.strip_prefix(slot.facts.storage_prefix.as_str())
                .map(|rest| (&slot.route, rest))
        })
    }

    /// A route key that would conflict with mounting at `route_key` (prefix either way).
    pub fn conflict(&self, route_key: &str) -> Option<String> {
        self.routes
            .iter()
            .map(|slot| &slot.key)
            .find(|k| k.starts_with(route_key) || route_key.starts_with(k.as_str()))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(table: Table, path: &str) -> Route {
        Route {
            entry: Arc::new(MountEntry::new(table, path, "kv", "", false)),
            handler: Handler::System,
        }
    }

    #[test]
    fn longest_prefix_wins() {
        let mut r = Router::new();
        r.insert(route(Table::Mounts, "secret/"));
        r.insert(route(Table::Mounts, "secret/team/"));
        r.insert(route(Table::Auth, "token/"));
        let (m, rest) = r.matching("secret/team/x").unwrap();
        assert_eq!(
            (m.entry.path.as_str(), rest.as_str()),
            ("secret/team/", "x")
        );
        let (m, rest) = r.matching("secret/other").unwrap();
        assert_eq!((m.entry.path.as_str(), rest.as_str()), ("secret/", "other"));
        let (m, rest) = r.matching("secret").unwrap();
        assert_eq!((m.entry.path.as_str(), rest.as_str()), ("secret/", ""));
        let (m, _) = r.matching("auth/token/create").unwrap();
        assert_eq!(m.entry.table, Table::Auth);
        assert!(r.matching("secrets/x").is_none());
        assert!(r.matching("token/create").is_none());
        assert_eq!(
            r.conflict("secret/team/deeper/").as_deref(),
            Some("secret/team/")
        );
        assert_eq!(r.conflict("sec/"), None);
        assert_eq!(r.conflict("auth/").as_deref(), Some("auth/token/"));
    }

    #[test]
    fn resolve_derives_the_mount_facts_once() {
        let day = Duration::from_secs(86_400);
        let mut r = Router::with_system_ttls(day, 2 * day);
        let mut entry = MountEntry::new(Table::Mounts, "secret/", "kv", "", false);
        entry.config.max_lease_ttl = 60;
        entry.options = Some(BTreeMap::from([("version".into(), "2".into())]));
        r.insert(Route {
            entry: Arc::new(entry.clone()),
            handler: Handler::System,
        });
        let a = r.resolve("secret/data/x").unwrap();
        assert_eq!(a.relative, "data/x");
        assert_eq!(a.facts.storage_prefix, entry.storage_prefix());
        let info = &a.facts.info;
        assert_eq!(
            (info.path.as_str(), info.uuid.as_str()),
            ("secret/", entry.uuid.as_str())
        );
        assert_eq!(info.default_lease_ttl, day);
        assert_eq!(info.max_lease_ttl, Duration::from_secs(60));
        assert_eq!(info.options["version"], "2");
        let b = r.resolve("secret").unwrap();
        assert!(Arc::ptr_eq(&a.facts.info, &b.facts.info));
        assert_eq!(b.relative, "");
        assert!(r.resolve("other/x").is_none());
        // Re-inserting (a tune) derives the facts again.
        entry.config.max_lease_ttl = 0;
        r.insert(Route {
            entry: Arc::new(entry),
            handler: Handler::System,
        });
        assert_eq!(
            r.resolve("secret/x").unwrap().facts.info.max_lease_ttl,
            2 * day
        );
    }

    #[tokio::test]
    async fn a_move_swaps_the_route_and_hands_back_the_old_gate() {
        let mut r = Router::new();
        let entry = MountEntry::new(Table::Mounts, "app/", "kv", "", false);
        r.insert(Route {
            entry: Arc::new(entry.clone()),
            handler: Handler::System,
        });
        let before = r.resolve("app/x").unwrap();
        // A tune re-inserts the same mount: the requests in flight stay counted.
        r.insert(Route {
            entry: Arc::new(entry.clone()),
            handler: Handler::System,
        });
        assert!(Arc::ptr_eq(
            &before.facts.gate,
            &r.resolve("app/x").unwrap().facts.gate
        ));
        let in_flight = before.facts.gate.enter().await.unwrap();

        let mut moved = entry.clone();
        moved.path = "team/app/".into();
        let gate = r
            .replace(
                "app/",
                Route {
                    entry: Arc::new(moved),
                    handler: Handler::System,
                },
            )
            .unwrap();
        assert!(r.resolve("app/x").is_none());
        let after = r.resolve("team/app/x").unwrap();
        assert_eq!(
            (after.facts.storage_prefix.as_str(), after.relative.as_str()),
            (entry.storage_prefix().as_str(), "x")
        );
        assert!(!Arc::ptr_eq(&gate, &after.facts.gate));
        assert!(r.replace("app/", route(Table::Mounts, "other/")).is_none());

        // Retiring waits for the request in flight, then turns late ones away.
        let retire = tokio::spawn({
            let gate = gate.clone();
            async move { gate.retire().await }
        });
        tokio::task::yield_now().await;
        assert!(!retire.is_finished());
        drop(in_flight);
        retire.await.unwrap();
        assert!(gate.enter().await.is_none());
        assert!(after.facts.gate.enter().await.is_some());
        let (removed, _) = r.remove("team/app/").unwrap();
        assert_eq!(removed.entry.uuid, entry.uuid);
        assert!(r.remove("team/app/").is_none());
    }

    #[test]
    fn accessors_and_json() {
        let e = MountEntry::new(Table::Auth, "userpass/", "userpass", "d", true);
        assert!(e.accessor.starts_with("auth_userpass_"));
        assert_eq!(e.accessor.len(), "auth_userpass_".len() + 8);
        let j = e.to_json();
        assert_eq!(j["config"]["token_type"], "default-service");
        assert_eq!(j["local"], true);
        assert!(j["options"].is_null());
        assert_eq!(e.route(), "auth/userpass/");
        // A local mount's data and every mount's cluster-local data are local keys.
        assert_eq!(e.storage_prefix(), format!("local/auth/{}/", e.uuid));
        assert_eq!(
            e.local_storage_prefix(),
            format!("local/engine/{}/", e.uuid)
        );
        let shared = MountEntry::new(Table::Mounts, "kv/", "kv", "", false);
        assert_eq!(shared.storage_prefix(), format!("logical/{}/", shared.uuid));
        assert!(crate::locality::is_replicated(&shared.storage_prefix()));
        assert!(crate::locality::is_local(&shared.local_storage_prefix()));
        for table in [Table::Mounts, Table::Auth, Table::Audit] {
            let (replicated, local) = table.keys();
            assert!(crate::locality::is_replicated(replicated));
            assert!(crate::locality::is_local(local));
        }
    }
}
