//! The server core: seal lifecycle, mount tables, tokens, policies and the request
//! pipeline.
//!
//! A request runs through small named steps ([`Core::handle`]):
//! `authenticate` (token → entry and ACL) → `route` (longest mount prefix) →
//! `operation_for_acl` (create vs update) → `authorize` (ACL, sudo paths) → enter the
//! route's [`mounts::Gate`] (held to the answer) → audit hook → `consume_use` → `dispatch`
//! (engine with a storage view; or the system backend; or the token store) → `maybe_wrap`
//! (response wrapping). Engines never see the core.

mod auditing;
mod authz;
mod batch_tokens;
mod cleanup;
mod expiration;
mod follow;
pub mod forward;
pub mod generate_root;
mod invalidate;
mod layout;
mod login;
mod metrics;
pub mod mounts;
pub mod policy_store;
pub mod rekey;
pub(crate) mod replication;
pub mod request;
pub mod seal_keys;
pub mod snapshot;
pub mod storage;
mod sys;
mod tables;
mod token_backend;
mod token_create;
mod token_roles;
pub mod tokens;
mod ttl;
mod wrapping;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use vaultrs_storage::barrier::UnsealProgress;
use vaultrs_storage::{Barrier, MerkleIndex, Position};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::logical::{Ctx, Operation, StorageView};
use crate::metrics::Observed;
use crate::policy::Acl;
use mounts::{Handler, MountEntry, Resolved, Route, Router, Table};
use policy_store::PolicyStore;
pub use request::{Auth, Request, Response};
use tokens::{NewToken, TokenEntry, TokenStore};

/// Vault's system-wide default and maximum lease TTL: 768h (32 days).
pub const SYSTEM_TTL: Duration = Duration::from_secs(768 * 3600);

/// Where policies are stored (replicated).
const POLICY_PREFIX: &str = "sys/policy/";

/// Core settings from the server configuration.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    pub default_lease_ttl: Duration,
    pub max_lease_ttl: Duration,
    /// Reported as `storage_type` in seal status.
    pub storage_type: String,
    /// What `file` audit devices may write.
    pub audit_files: crate::audit::FileRules,
    /// Follower mode (a replication secondary): replicated keys are written only by the
    /// replication applier, below the barrier; the core writes local keys only, and a
    /// request that would write a replicated key gets [`Error::Follower`].
    pub follower: bool,
    /// Vault's `telemetry { prometheus_retention_time }`: zero leaves `sys/metrics`
    /// without its Prometheus format, as Vault does when it is unset.
    pub prometheus_retention_time: Duration,
    /// What token TTLs and leases are measured against (the system clock; tests move a
    /// manual one instead of waiting).
    pub clock: crate::clock::Clock,
    /// This server's API address (`api_addr`, or the dev listener's): activation tokens
    /// carry it.
    pub api_addr: Option<String>,
    /// The cluster listener's address (`cluster_addr`, or the dev cluster listener's):
    /// what a primary advertises unless `primary_cluster_addr` says otherwise.
    pub cluster_addr: Option<String>,
    /// A dev server (`-dev`): a dev primary hands its root token id to dev secondaries.
    pub dev: bool,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            default_lease_ttl: SYSTEM_TTL,
            max_lease_ttl: SYSTEM_TTL,
            storage_type: "file".into(),
            audit_files: crate::audit::FileRules::default(),
            follower: false,
            prometheus_retention_time: Duration::ZERO,
            clock: crate::clock::Clock::system(),
            api_addr: None,
            cluster_addr: None,
            dev: false,
        }
    }
}

/// What an unsealed core holds.
pub(crate) struct Active {
    /// This cluster's name and id (local to the cluster).
    cluster: (String, String),
    router: RwLock<Router>,
    tokens: TokenStore,
    policies: PolicyStore,
    /// Serializes mount table changes.
    table_lock: tokio::sync::Mutex<()>,
    /// The enabled audit devices, and the table they were enabled from.
    audit: crate::audit::Broker,
    audit_table: std::sync::Mutex<Vec<MountEntry>>,
    /// Background work of this unsealed period (the expiration manager, the storage
    /// follower, mount moves). Seal asks it to stop through `stop` and waits: work a task
    /// has started (a revocation, an invalidation) finishes first.
    tasks: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    stop: tokio::sync::watch::Sender<bool>,
    /// The Merkle index of the replicated keys, kept current by the storage follower.
    merkle: std::sync::Mutex<MerkleIndex>,
    /// Mount moves (`sys/remount`) of this unsealed period and how they ended.
    remounts: sys::remount::Migrations,
    /// Replication's live parts (a primary's CA and ledger, a secondary's replica).
    replication: RwLock<replication::Live>,
}

impl Active {
    fn router(&self) -> std::sync::RwLockReadGuard<'_, Router> {
        self.router.read().unwrap_or_else(|p| p.into_inner())
    }

    fn router_mut(&self) -> std::sync::RwLockWriteGuard<'_, Router> {
        self.router.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `task` until the core seals (it watches `stop`).
    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tokio::spawn(task));
    }

    /// Asks the background tasks to stop and waits for them: what one has started
    /// finishes. One that does not end in time is cut off, and said so.
    async fn stop_tasks(&self) {
        self.stop.send_replace(true);
        let tasks: Vec<_> = self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        for mut task in tasks {
            if tokio::time::timeout(TASK_STOP_TIMEOUT, &mut task)
                .await
                .is_err()
            {
                tracing::warn!("a background task did not stop in time; cutting it off");
                task.abort();
            }
        }
    }
}

/// How long seal waits for a background task to finish what it started.
const TASK_STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The authenticated caller of a request.
pub(crate) struct Caller {
    pub token: String,
    pub hash: String,
    pub entry: Arc<TokenEntry>,
    pub acl: Arc<Acl>,
    /// The token has a use limit (fixed at authentication: spending its last use clears
    /// the entry's count, not this).
    pub limited: bool,
}

/// The result of `sys/init`: the key shares and the initial root token, shown once.
pub struct InitResult {
    pub keys: Vec<Zeroizing<Vec<u8>>>,
    pub root_token: Zeroizing<String>,
}

/// Seal state as `sys/seal-status` reports it.
#[derive(Clone, Debug)]
pub struct SealStatus {
    pub initialized: bool,
    pub sealed: bool,
    pub threshold: usize,
    pub shares: usize,
    pub progress: usize,
    pub nonce: String,
}

/// The server core. Cheap to share behind an `Arc`.
pub struct Core {
    /// This core, for the background tasks it starts.
    me: std::sync::Weak<Core>,
    storage: storage::Storage,
    barrier: Arc<Barrier>,
    /// The last batch whose consequences (caches, router, Merkle index) are applied: every
    /// read sees it ([`Core::wait_applied`]).
    applied: tokio::sync::watch::Sender<Position>,
    /// The replication state, read on unseal ([`Core::replication_state`]).
    replication: RwLock<crate::replication::state::State>,
    /// On a secondary: where writes of replicated data go ([`forward`]).
    forwarder: RwLock<Option<Arc<dyn forward::Forwarder>>>,
    /// Serializes replication mode changes.
    replication_change: tokio::sync::Mutex<()>,
    /// The cluster listener's TLS configuration while this core is an unsealed primary.
    cluster_tls: tokio::sync::watch::Sender<Option<Arc<rustls::ServerConfig>>>,
    /// Bumped when who the cluster listener may serve changes (a revocation, a mode
    /// change, seal): open streams check again at once.
    peers_changed: tokio::sync::watch::Sender<u64>,
    /// A dev server's initial root token id (dev primaries hand it to dev secondaries).
    dev_root: RwLock<Option<String>>,
    config: CoreConfig,
    active: RwLock<Option<Arc<Active>>>,
    /// Serializes seal and unseal transitions.
    transition: tokio::sync::Mutex<()>,
    /// The root generation attempt, if any (in memory only).
    generate_root: generate_root::GenerateRoot,
    /// The rekey attempt, if any (in memory only).
    rekey: rekey::Rekey,
    /// What `sys/metrics` reports.
    metrics: Arc<crate::metrics::Metrics>,
}

/// Paths that need `sudo` on top of the operation's capability (Vault's root paths).
/// `sys/auth` itself (listing auth methods) is not one, as in Vault.
const SUDO_PATHS: &[&str] = &[
    "sys/auth/*",
    "sys/audit",
    "sys/audit/*",
    "sys/rotate",
    "sys/rotate/keyring",
    "sys/raw",
    "sys/seal",
    "sys/remount",
    "sys/raw/*",
    "sys/leases/revoke-prefix/*",
    "sys/leases/revoke-force/*",
    "sys/leases/lookup/*",
    "sys/revoke-prefix/*",
    "sys/revoke-force/*",
    "sys/generate-root-token/attempt",
    "sys/generate-root-token/update",
    "sys/rekey/backup",
    "sys/rekey/recovery-key-backup",
    "sys/replication/performance/primary/secondary-token",
    "sys/replication/primary/secondary-token",
    "auth/token/accessors",
    "auth/token/revoke-orphan",
    "sys/storage/snapshot",
    "sys/storage/snapshot-restore",
    "sys/storage/snapshot-force",
    "sys/storage/raft/snapshot",
    "sys/storage/raft/snapshot-force",
];

/// Vault's answer for a path no mount serves.
pub(super) fn no_route(path: &str) -> Error {
    Error::UnsupportedPath(format!(
        "no handler for route {path:?}. route entry not found."
    ))
}

fn needs_sudo(path: &str) -> bool {
    SUDO_PATHS.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => path == *p || path.strip_suffix('/') == Some(p),
    })
}

impl Core {
    pub fn new(storage: storage::Storage, config: CoreConfig) -> Arc<Self> {
        let barrier = storage.barrier.clone();
        let applied = tokio::sync::watch::channel(storage.feed.position()).0;
        Arc::new_cyclic(|me| Self {
            metrics: metrics::registry(me.clone(), &config),
            me: me.clone(),
            storage,
            barrier,
            applied,
            replication: RwLock::new(Default::default()),
            forwarder: RwLock::new(None),
            replication_change: tokio::sync::Mutex::new(()),
            cluster_tls: tokio::sync::watch::channel(None).0,
            peers_changed: tokio::sync::watch::channel(0).0,
            dev_root: RwLock::new(None),
            config,
            active: RwLock::new(None),
            transition: tokio::sync::Mutex::new(()),
            generate_root: generate_root::GenerateRoot::default(),
            rekey: rekey::Rekey::default(),
        })
    }

    pub fn barrier(&self) -> &Arc<Barrier> {
        &self.barrier
    }

    /// The storage stack under this core.
    pub fn storage(&self) -> &storage::Storage {
        &self.storage
    }

    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    pub fn is_sealed(&self) -> bool {
        self.active
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }

    pub(crate) fn active(&self) -> Result<Arc<Active>> {
        self.active
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(Error::Sealed)
    }

    pub async fn seal_status(&self) -> Result<SealStatus> {
        let progress = self.barrier.unseal_progress().await?;
        let initialized = self.barrier.is_initialized().await?;
        Ok(SealStatus {
            initialized,
            sealed: self.is_sealed(),
            threshold: progress.threshold,
            shares: progress.shares,
            progress: progress.progress,
            nonce: progress.nonce,
        })
    }

    /// Initializes the barrier, creates the root token, and leaves the core sealed.
    pub async fn init(&self, shares: usize, threshold: usize) -> Result<InitResult> {
        let _guard = self.transition.lock().await;
        let output = self.barrier.init(shares, threshold).await?;
        for share in output.shares.iter().take(threshold) {
            self.barrier.unseal(share).await?;
        }
        let result = async {
            let active = self.activate().await?;
            let token = self.create_root_token_in(&active, None).await?;
            Ok::<_, Error>(token)
        }
        .await;
        self.deactivate().await;
        Ok(InitResult {
            keys: output.shares,
            root_token: Zeroizing::new(result?),
        })
    }

    /// Submits one unseal key share; unseals the core at the threshold.
    pub async fn unseal(&self, share: &[u8]) -> Result<UnsealProgress> {
        let _guard = self.transition.lock().await;
        let progress = self.barrier.unseal(share).await?;
        if !progress.sealed && self.is_sealed() {
            if let Err(e) = self.activate().await {
                tracing::error!(error = %e, "post-unseal setup failed; sealing again");
                self.deactivate().await;
                return Err(e);
            }
            tracing::info!("vault is unsealed");
        }
        Ok(progress)
    }

    pub fn unseal_reset(&self) {
        self.barrier.unseal_reset();
    }

    /// Seals: drops every key and the active state.
    pub async fn seal(&self) {
        let _guard = self.transition.lock().await;
        self.deactivate().await;
        tracing::info!("vault is sealed");
    }

    async fn deactivate(&self) {
        self.stop_active().await;
        self.barrier.seal().await;
    }

    /// Drops the active state (its background tasks finish what they started) and any
    /// generate-root or rekey attempt; the barrier is left to the caller.
    async fn stop_active(&self) {
        let active = self
            .active
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(active) = active {
            self.stop_replication(&active);
            active.stop_tasks().await;
        }
        self.generate_root.discard();
        self.rekey.discard().await;
    }

    /// Loads (or on first unseal creates) the mount tables, tokens and policies.
    async fn activate(&self) -> Result<Arc<Active>> {
        self.load_replication().await?;
        layout::ensure_current(&self.barrier, self.barrier.is_follower()).await?;
        // Follow the feed from here: what is committed from now on is invalidated and
        // indexed; everything before is read below and by the index rebuild.
        let position = self.storage.feed.position();
        let subscription = self.storage.feed.subscribe(position)?;
        let merkle = follow::rebuild_index(&self.storage).await?;
        let tokens = TokenStore::load(self.barrier.clone(), self.config.clock.clone()).await?;
        let policies = PolicyStore::load(
            StorageView::new(self.barrier.clone(), POLICY_PREFIX),
            !self.barrier.is_follower(),
        )
        .await?;
        let mut router =
            Router::with_system_ttls(self.config.default_lease_ttl, self.config.max_lease_ttl);
        for table in [Table::Mounts, Table::Auth] {
            for entry in self.load_table(table).await? {
                match self.handler_for(&entry) {
                    Ok(handler) => router.insert(Route {
                        entry: Arc::new(entry),
                        handler,
                    }),
                    Err(e) => tracing::error!(path = %entry.route(), error = %e, "cannot mount"),
                }
            }
        }
        let cluster = self.cluster_info().await?;
        let (audit, audit_table) = self.load_audit().await?;
        let active = Arc::new(Active {
            audit,
            audit_table: std::sync::Mutex::new(audit_table),
            cluster,
            router: RwLock::new(router),
            tokens,
            policies,
            table_lock: tokio::sync::Mutex::new(()),
            tasks: std::sync::Mutex::new(Vec::new()),
            stop: tokio::sync::watch::channel(false).0,
            merkle: std::sync::Mutex::new(merkle),
            remounts: sys::remount::Migrations::default(),
            replication: replication::new_live(),
        });
        // What a crash left of a mount's disable or move is finished before any request.
        if let Err(e) = cleanup::resume(self, &active).await {
            tracing::error!(error = %e, "could not resume pending mount cleanups");
        }
        self.applied.send_replace(position);
        active.spawn(follow::run(
            self.me.clone(),
            Arc::downgrade(&active),
            subscription,
            active.stop.subscribe(),
        ));
        active.spawn(expiration::run(
            self.me.clone(),
            Arc::downgrade(&active),
            active.stop.subscribe(),
        ));
        self.start_replication(&active).await;
        *self.active.write().unwrap_or_else(|p| p.into_inner()) = Some(active.clone());
        Ok(active)
    }

    /// A dev server's initial root token id, remembered for dev secondaries.
    pub fn set_dev_root_token(&self, id: &str) {
        *self.dev_root.write().unwrap_or_else(|p| p.into_inner()) = Some(id.to_owned());
    }

    fn dev_root_token(&self) -> Option<String> {
        if !self.config.dev {
            return None;
        }
        self.dev_root
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Creates a root token (dev mode and init); `id` picks its value.
    pub async fn create_root_token(&self, id: Option<String>) -> Result<String> {
        let active = self.active()?;
        self.create_root_token_in(&active, id).await
    }

    async fn create_root_token_in(&self, active: &Active, id: Option<String>) -> Result<String> {
        let custom = id.is_some();
        let (token, _) = active
            .tokens
            .create(NewToken {
                id,
                policies: vec!["root".into()],
                display_name: "root".into(),
                path: if custom {
                    "auth/token/create".into()
                } else {
                    "auth/token/root".into()
                },
                renewable: false,
                ..NewToken::default()
            })
            .await?;
        Ok(token)
    }

    /// Whether a token exists and is live (dev mode restarts check their stored root).
    pub async fn token_exists(&self, token: &str) -> Result<bool> {
        Ok(self.active()?.tokens.lookup(token).await?.is_some())
    }

    /// Runs one request through the pipeline; with audit devices enabled, leaves its
    /// trail in them (and refuses it when none can record it).
    pub async fn handle(&self, req: Request) -> Result<Response> {
        self.handle_observed(req, &mut Observed::default()).await
    }

    /// [`Core::handle`], noting in `seen` what the metrics need (the mount, the operation).
    pub async fn handle_observed(&self, req: Request, seen: &mut Observed) -> Result<Response> {
        let active = self.active()?;
        if active.audit.is_empty() {
            let mut result = self.run(&active, &req, None, seen).await;
            // A device enabled after this request began, and disabled by it.
            auditing::retire_disabled(&mut result).await;
            return result;
        }
        let mut trail = auditing::Trail::new(&req, self.metrics.clone());
        let result = self.run(&active, &req, Some(&mut trail), seen).await;
        trail.finish(&active.audit, result).await
    }

    async fn run(
        &self,
        active: &Active,
        req: &Request,
        mut trail: Option<&mut auditing::Trail>,
        seen: &mut Observed,
    ) -> Result<Response> {
        if let Some(endpoint) = sys::unauthenticated(&req.path) {
            if let Some(t) = trail.as_deref_mut() {
                t.log_request(&active.audit).await?;
            }
            return sys::handle_unauthenticated(self, active, req, endpoint).await;
        }
        let mut resolved = active.router().resolve(&req.path);
        seen.route = resolved.as_mut().and_then(|m| m.stats.take());
        let (req, mount) = self.canonical(req, resolved)?;
        let req: &Request = &req;
        if let Some(t) = trail.as_deref_mut() {
            t.path(&req.path);
            if let Some(m) = &mount {
                t.mount(m);
            }
        }
        if let Some(mount) = &mount {
            if let Handler::Engine(backend) = &mount.route.handler {
                if backend.is_login_path(&mount.relative) {
                    seen.login = true;
                    if let Some(t) = trail.as_deref_mut() {
                        t.log_request(&active.audit).await?;
                    }
                    let _in_flight = mount
                        .facts
                        .gate
                        .enter()
                        .await
                        .ok_or_else(|| no_route(&req.path))?;
                    seen.dispatched = Some(req.operation);
                    return self.login(active, mount, backend, req).await;
                }
            }
        }
        let mut caller = match self.authenticate(active, req.token.as_deref()).await {
            Ok(caller) => caller,
            Err(Error::PermissionDenied) => {
                self.decoy_authorization(active, mount.as_ref(), req).await;
                return Err(Error::PermissionDenied);
            }
            Err(e) => return Err(e),
        };
        let operation = self
            .operation_for_acl(active, &caller.hash, mount.as_ref(), req)
            .await?;
        let authorized = self.authorize(&caller, operation, &req.path, &req.data, req.wrap_ttl);
        if let Some(t) = trail.as_deref_mut() {
            t.operation(operation);
            t.caller(&caller, authorized.is_ok());
        }
        if let Err(e) = authorized {
            // As in Vault, a refused request still spends a use of a limited token (a
            // wrapping token tried on a path it may not use is gone).
            let last_use = self.consume_use(active, &mut caller).await?;
            self.finish_use(active, &caller, last_use).await?;
            return Err(e);
        }
        let Some(mount) = mount else {
            return Err(no_route(&req.path));
        };
        // Held until the answer is ready: a disable or move of the mount waits for it.
        let _in_flight = mount
            .facts
            .gate
            .enter()
            .await
            .ok_or_else(|| no_route(&req.path))?;
        if let Some(t) = trail {
            t.log_request(&active.audit).await?;
        }
        let last_use = self.consume_use(active, &mut caller).await?;
        seen.dispatched = Some(operation);
        let result = async {
            let response = match self.dispatch(active, &caller, &mount, operation, req).await {
                // A write of replicated data on a secondary: the primary makes it.
                Err(Error::Follower) => self.forward(&caller, req).await?,
                other => other?,
            };
            self.maybe_wrap(active, response, req).await
        }
        .await;
        self.finish_use(active, &caller, last_use).await?;
        result
    }

    /// After a request that spent a use of the caller's token: the token goes if that was
    /// its last use (as in Vault, the last use runs in full first).
    async fn finish_use(&self, active: &Active, caller: &Caller, last_use: bool) -> Result<()> {
        if last_use {
            self.revoke_tree(active, &caller.hash).await?;
        }
        Ok(())
    }

    /// The request as both the ACL and the handler see it: the handler's one spelling of
    /// the object its path names ([`Backend::canonical_path`]), fixed before anything else
    /// looks at the path.
    fn canonical<'r>(
        &self,
        req: &'r Request,
        mount: Option<Resolved>,
    ) -> Result<(std::borrow::Cow<'r, Request>, Option<Resolved>)> {
        use std::borrow::Cow;
        let Some(mut mount) = mount else {
            return Ok((Cow::Borrowed(req), None));
        };
        let canonical = match &mount.route.handler {
            Handler::Engine(b) | Handler::PerToken(b) => {
                b.canonical_path(req.operation, &mount.relative)?
            }
            Handler::System => sys::canonical_path(req.operation, &mount.relative)?,
            Handler::Token => token_backend::canonical_path(req.operation, &mount.relative)?,
        };
        let Some(relative) = canonical else {
            return Ok((Cow::Borrowed(req), Some(mount)));
        };
        let mut owned = req.clone();
        owned.path = format!("{}{relative}", mount.route.entry.route());
        mount.relative = relative;
        Ok((Cow::Owned(owned), Some(mount)))
    }

    /// The default and max lease TTLs of the mount serving `path`, as tuned now (the
    /// system's when no mount serves it).
    pub(super) fn mount_ttls(&self, active: &Active, path: &str) -> (Duration, Duration) {
        match active.router().resolve(path) {
            Some(mount) => (
                mount.facts.info.default_lease_ttl,
                mount.facts.info.max_lease_ttl,
            ),
            None => (self.config.default_lease_ttl, self.config.max_lease_ttl),
        }
    }

    /// Asks the auth method that issued a token whether it may still be renewed (the user
    /// or role must still exist and grant the same; Vault's renew callbacks).
    pub(super) async fn check_renewal(&self, active: &Active, entry: &TokenEntry) -> Result<()> {
        let Some(mount) = active.router().resolve(&entry.path) else {
            return Ok(());
        };
        let Handler::Engine(backend) = &mount.route.handler else {
            return Ok(());
        };
        if !backend.is_login_path(&mount.relative) {
            return Ok(());
        }
        let login = crate::logical::LoginAuth {
            policies: entry.policies.clone(),
            metadata: entry.meta.clone().unwrap_or_default(),
            ..Default::default()
        };
        backend
            .renew_login(&self.engine_ctx(&mount, ""), &login)
            .await
    }

    /// The engine's view: its mount's storage, scoped to the caller's token for per-token
    /// mounts (cubbyhole).
    fn engine_ctx(&self, mount: &Resolved, token_hash: &str) -> Ctx {
        let facts = &mount.facts;
        let prefix = match &mount.route.handler {
            Handler::PerToken(_) => {
                let hash = token_hash;
                let mut prefix = String::with_capacity(facts.storage_prefix.len() + hash.len() + 1);
                prefix.push_str(&facts.storage_prefix);
                prefix.push_str(hash);
                prefix.push('/');
                prefix
            }
            _ => facts.storage_prefix.clone(),
        };
        Ctx {
            storage: StorageView::new(self.barrier.clone(), prefix),
            local: StorageView::new(self.barrier.clone(), facts.local_prefix.clone()),
            mount: facts.info.clone(),
        }
    }

    async fn dispatch(
        &self,
        active: &Active,
        caller: &Caller,
        mount: &Resolved,
        operation: Operation,
        req: &Request,
    ) -> Result<Response> {
        let relative = mount.relative.as_str();
        match &mount.route.handler {
            Handler::PerToken(_) if caller.entry.is_batch() => Err(Error::invalid(
                "cubbyhole operations are only supported by \"service\" type tokens",
            )),
            Handler::Engine(backend) | Handler::PerToken(backend) => {
                let ctx = self.engine_ctx(mount, &caller.hash);
                let lreq =
                    crate::logical::Request::new(operation, relative).with_data(req.data.clone());
                Ok(backend.handle(&ctx, &lreq).await?.into())
            }
            Handler::System => sys::handle(self, active, caller, operation, relative, req).await,
            Handler::Token => {
                token_backend::handle(self, active, caller, operation, relative, req).await
            }
        }
    }

    /// Deletes the cubbyhole data of revoked tokens (best effort: it is unreachable anyway).
    async fn purge_cubbyholes(&self, active: &Active, hashes: &[String]) {
        let Some(route) = active.router().get("cubbyhole/").cloned() else {
            return;
        };
        for hash in hashes {
            let view = StorageView::new(
                self.barrier.clone(),
                format!("{}{hash}/", route.entry.storage_prefix()),
            );
            let result = async {
                let keys = view.keys().await?;
                if keys.is_empty() {
                    return Ok::<_, Error>(());
                }
                let mut batch = crate::logical::ViewBatch::new();
                for key in keys {
                    batch.delete(key);
                }
                view.commit(batch).await
            }
            .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "could not purge a revoked token's cubbyhole");
            }
        }
    }

    /// Revokes a token tree and clears the revoked tokens' cubbyholes.
    async fn revoke_tree(&self, active: &Active, hash: &str) -> Result<()> {
        let revoked = active.tokens.revoke_tree(hash).await?;
        self.purge_cubbyholes(active, &revoked).await;
        Ok(())
    }
}
