//! The core's side of auditing: the audit table (`sys/audit`), `sys/audit-hash`, and the
//! trail a request leaves in the enabled devices ([`Trail`]).
//!
//! The table is a mount table of its own ([`Table::Audit`]): `core/audit` (replicated)
//! and `local/core/audit`. Each device's salt is a random UUID string stored under
//! `audit/<uuid>/salt` (`local/audit/<uuid>/salt` for a local device), so a replicated
//! device hashes alike on every cluster and a removed device's hashes cannot be
//! reproduced.
//!
//! Fail closed: with at least one device enabled, a request runs only after some device
//! recorded it, and its answer reaches the client only after some device recorded that;
//! otherwise the client gets 500 `internal error`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::mounts::{MountEntry, Resolved, Table};
use super::{Active, Caller, Core, Request, Response};
use crate::audit::{self, Device};
use crate::error::{Error, Result};
use crate::fields;
use crate::logical::Operation;
use crate::metrics::Metrics;

/// The storage key of a device's salt (local with a local device).
fn salt_key(entry: &MountEntry) -> String {
    format!("{}salt", entry.storage_prefix())
}

impl Core {
    /// The salt of a device, created on first use.
    async fn audit_salt(&self, entry: &MountEntry) -> Result<String> {
        let key = salt_key(entry);
        if let Some(bytes) = self.barrier.get(&key).await? {
            return String::from_utf8(bytes)
                .map_err(|_| Error::Internal("an audit salt is not UTF-8".into()));
        }
        if self.barrier.is_follower() && crate::locality::is_replicated(&key) {
            // Its primary wrote it with the table; it arrives with the table.
            return Err(Error::Internal(format!(
                "audit device {:?} has no salt yet",
                entry.path
            )));
        }
        let salt = crate::util::uuid();
        self.barrier.put(&key, salt.as_bytes()).await?;
        Ok(salt)
    }

    /// Opens every device of the audit table (on unseal); the broker and the table it
    /// came from. A device that cannot be set up fails the unseal, as in Vault: auditing
    /// never silently stops.
    pub(super) async fn load_audit(&self) -> Result<(audit::Broker, Vec<MountEntry>)> {
        let broker = audit::Broker::new();
        let table = self.load_table(Table::Audit).await?;
        for entry in &table {
            let salt = self.audit_salt(entry).await?;
            let options = entry.options.clone().unwrap_or_default();
            let device = Device::new(
                &entry.path,
                &entry.kind,
                &options,
                &salt,
                &self.config.audit_files,
            )?;
            broker.add(&entry.path, Arc::new(device));
        }
        Ok((broker, table))
    }

    /// Follows the stored audit table (it changed underneath): devices no longer in it
    /// are closed, new or changed ones opened. Hold `table_lock`.
    pub(super) async fn reload_audit(&self, active: &Active) -> Result<()> {
        let table = self.read_table(Table::Audit).await?;
        let old = active
            .audit_table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        // A device whose path stays is replaced by `add` below, never removed first: the
        // broker is never without it, so no request goes unaudited in between.
        for entry in &old {
            if !table.iter().any(|e| e.path == entry.path) {
                if let Some(gone) = active.audit.remove(&entry.path) {
                    gone.retire().await;
                }
            }
        }
        for entry in &table {
            if old.contains(entry) {
                continue;
            }
            let salt = self.audit_salt(entry).await?;
            let options = entry.options.clone().unwrap_or_default();
            let device = Device::new(
                &entry.path,
                &entry.kind,
                &options,
                &salt,
                &self.config.audit_files,
            )?;
            if let Some(replaced) = active.audit.add(&entry.path, Arc::new(device)) {
                replaced.retire().await;
            }
        }
        *active.audit_table.lock().unwrap_or_else(|p| p.into_inner()) = table;
        Ok(())
    }

    /// SIGHUP: every audit device reopens its file (after log rotation).
    pub fn reopen_audit_devices(&self) {
        if let Ok(active) = self.active() {
            active.audit.reopen_all();
            tracing::info!("audit devices reopened");
        }
    }

    /// Whether every audit device's last write succeeded (`sys/health`).
    pub fn audit_healthy(&self) -> bool {
        self.active().map_or(true, |a| a.audit.healthy())
    }
}

/// `sys/audit`, `sys/audit/:path` and `sys/audit-hash/:path` (relative to `sys/`).
/// `None`: not an audit endpoint.
pub(super) async fn handle(
    core: &Core,
    active: &Active,
    op: Operation,
    rel: &str,
    req: &Request,
) -> Option<Result<Response>> {
    let write = matches!(op, Operation::Update | Operation::Create);
    if matches!(rel, "audit" | "audit/") && write {
        return Some(Err(Error::invalid("backend path must be specified")));
    }
    let rel = rel.trim_end_matches('/');
    let mut response = if rel == "audit" {
        match op {
            Operation::Read => list(active),
            _ => Err(unsupported(op, rel)),
        }
    } else if let Some(path) = rel.strip_prefix("audit/") {
        match op {
            _ if write => enable(core, active, path, &req.data).await,
            Operation::Delete => disable(core, active, path).await,
            _ => Err(unsupported(op, rel)),
        }
    } else if let Some(path) = rel.strip_prefix("audit-hash/") {
        match op {
            _ if write => hash(active, path, &req.data),
            _ => Err(unsupported(op, rel)),
        }
    } else {
        return None;
    };
    if let Ok(r) = &mut response {
        r.inject_top_level = true;
    }
    Some(response)
}

fn unsupported(op: Operation, rel: &str) -> Error {
    Error::UnsupportedOperation(format!("unsupported operation {op:?} on sys/{rel}"))
}

fn normalize(path: &str) -> Result<String> {
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Err(Error::invalid("backend path must be specified"));
    }
    Ok(format!("{path}/"))
}

fn table(active: &Active) -> Vec<MountEntry> {
    active
        .audit_table
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

fn list(active: &Active) -> Result<Response> {
    let mut data = Map::new();
    for entry in table(active) {
        let mut device = Map::new();
        device.insert("type".into(), entry.kind.clone().into());
        device.insert("description".into(), entry.description.clone().into());
        device.insert(
            "options".into(),
            serde_json::to_value(entry.options.clone().unwrap_or_default()).unwrap_or(Value::Null),
        );
        device.insert("local".into(), entry.local.into());
        device.insert("path".into(), entry.path.clone().into());
        data.insert(entry.path.clone(), Value::Object(device));
    }
    Ok(Response::data(data))
}

async fn enable(
    core: &Core,
    active: &Active,
    path: &str,
    data: &Map<String, Value>,
) -> Result<Response> {
    let path = normalize(path)?;
    let kind = fields::non_empty(data, "type")
        .ok_or_else(|| Error::invalid("backend type must be specified"))?;
    let options = fields::string_map(data, "options")?.unwrap_or_default();
    let local = fields::boolean(data, "local")?.unwrap_or(false);
    let mut entry = MountEntry::new(
        Table::Audit,
        &path,
        &kind,
        &fields::string(data, "description").unwrap_or_default(),
        local,
    );
    entry.options = Some(options.clone());

    let _guard = active.table_lock.lock().await;
    let mut entries = table(active);
    if entries
        .iter()
        .any(|e| e.path.starts_with(&path) || path.starts_with(&e.path))
    {
        return Err(Error::invalid("path already in use"));
    }
    // Options are checked and the file is probed (with a throwaway salt) before anything
    // is stored.
    let salt = crate::util::uuid();
    let device = Device::new(&path, &kind, &options, &salt, &core.config.audit_files)?;
    if !device.skip_test() {
        device.probe().await?;
    }
    entries.push(entry.clone());
    core.store_table_with(
        Table::Audit,
        &entries,
        Some((salt_key(&entry), Some(salt.into_bytes()))),
    )
    .await?;
    *active.audit_table.lock().unwrap_or_else(|p| p.into_inner()) = entries;
    active.audit.add(&path, Arc::new(device));
    tracing::info!(path = %path, "enabled an audit device");
    Ok(Response::empty())
}

async fn disable(core: &Core, active: &Active, path: &str) -> Result<Response> {
    let path = normalize(path)?;
    let _guard = active.table_lock.lock().await;
    let mut entries = table(active);
    let Some(i) = entries.iter().position(|e| e.path == path) else {
        return Ok(Response::empty());
    };
    let entry = entries.remove(i);
    // The salt goes in the same commit: without it the device's hashes cannot be
    // reproduced, as in Vault.
    core.store_table_with(Table::Audit, &entries, Some((salt_key(&entry), None)))
        .await?;
    *active.audit_table.lock().unwrap_or_else(|p| p.into_inner()) = entries;
    // The device records this request's answer, then is retired before the answer
    // leaves (`Trail::finish`, `retire_disabled`): nothing reaches (or re-creates) its
    // file after the client heard it was disabled.
    let device = active.audit.remove(&path);
    tracing::info!(path = %path, "disabled an audit device");
    Ok(Response {
        disabled_audit_device: device,
        ..Response::empty()
    })
}

fn hash(active: &Active, path: &str, data: &Map<String, Value>) -> Result<Response> {
    let path = normalize(path)?;
    let input = fields::non_empty(data, "input")
        .ok_or_else(|| Error::invalid("the \"input\" parameter is empty"))?;
    let device = active
        .audit
        .get(&path)
        .ok_or_else(|| Error::invalid(format!("unknown audit backend {path}")))?;
    let mut out = Map::new();
    out.insert("hash".into(), device.hash(&input).into());
    Ok(Response::data(out))
}

// ---- the trail of one request ------------------------------------------------------------

/// What the audit devices learn of one request, filled in as it runs through the
/// pipeline. The request entry is written by [`Trail::log_request`] just before the
/// request takes effect; [`Trail::finish`] writes the response entry (or, for a request
/// refused before that point, the request entry with its error).
pub(super) struct Trail {
    auth: audit::Auth,
    request: audit::Request,
    /// The mount's `audit_non_hmac_response_keys`.
    response_non_hmac: Vec<String>,
    /// The devices that recorded the request entry, once it is written.
    logged: Option<audit::DeviceSet>,
    /// Where entries no device could record are counted.
    failures: Arc<Metrics>,
    /// The request entry could not be written (and was counted so).
    request_failed: bool,
}

impl Trail {
    pub fn new(req: &Request, failures: Arc<Metrics>) -> Self {
        let (remote_address, remote_port) = req
            .remote_addr
            .map_or((String::new(), 0), |a| (a.ip().to_string(), a.port()));
        Self {
            auth: audit::Auth::default(),
            request: audit::Request {
                id: req.id.clone(),
                operation: req.operation.as_str().into(),
                client_token: req.token.clone().unwrap_or_default(),
                path: req.path.clone(),
                data: req.data.clone(),
                remote_address,
                remote_port,
                wrap_ttl: req.wrap_ttl.map_or(0, |d| d.as_secs() as i64),
                ..audit::Request::default()
            },
            response_non_hmac: Vec::new(),
            logged: None,
            failures,
            request_failed: false,
        }
    }

    /// The path as the request runs it (its canonical spelling).
    pub fn path(&mut self, path: &str) {
        if self.request.path != path {
            self.request.path = path.to_owned();
        }
    }

    /// The ACL's operation (create vs update).
    pub fn operation(&mut self, op: Operation) {
        self.request.operation = op.as_str().into();
    }

    /// The mount serving the request.
    pub fn mount(&mut self, mount: &Resolved) {
        let info = &mount.facts.info;
        let entry = &mount.route.entry;
        self.request.mount_point = mount.route.entry.route();
        self.request.mount_type = info.kind.clone();
        self.request.mount_accessor = info.accessor.clone();
        self.request.mount_class = match entry.table {
            Table::Auth => "auth".into(),
            _ => "secret".into(),
        };
        self.request.non_hmac_keys = entry.config.audit_non_hmac_request_keys.clone();
        self.response_non_hmac = entry.config.audit_non_hmac_response_keys.clone();
    }

    /// The authenticated caller.
    pub fn caller(&mut self, caller: &Caller, allowed: bool) {
        let e = &caller.entry;
        self.request.client_token_accessor = e.accessor.clone();
        self.auth = audit::Auth {
            client_token: caller.token.clone(),
            accessor: e.accessor.clone(),
            display_name: e.display_name.clone(),
            policies: e.policies.clone(),
            token_policies: e.policies.clone(),
            policy_results: Some(audit::PolicyResults {
                allowed,
                granting_policies: Vec::new(),
            }),
            metadata: e.meta.clone().unwrap_or_default(),
            remaining_uses: e.num_uses,
            token_type: e.token_type.as_str().into(),
            // The token's TTL as issued (Vault's `te.TTL`), not a reading of the clock.
            token_ttl: i64::try_from(e.ttl).unwrap_or(i64::MAX),
            token_issue_time: crate::util::rfc3339_secs(e.creation_time),
            ..audit::Auth::default()
        };
    }

    /// Writes the request entry; the request may run only if this succeeds.
    pub async fn log_request(&mut self, broker: &audit::Broker) -> Result<()> {
        let entry = audit::Entry::request(self.auth.clone(), self.request.clone());
        let devices = broker.devices();
        let logged = audit::Broker::log_to(&devices, &entry).await;
        self.request_failed = logged.is_err();
        Self::count(&logged, &self.failures.audit.request_failures);
        logged?;
        self.logged = Some(devices);
        Ok(())
    }

    /// Writes what became of the request and returns the client's answer: `result` as
    /// it is, or a 500 when no device could record it.
    pub async fn finish(
        self,
        broker: &audit::Broker,
        mut result: Result<Response>,
    ) -> Result<Response> {
        // The device this request disabled records its answer, then is retired.
        let logged = self.log_outcome(broker, &result).await;
        retire_disabled(&mut result).await;
        logged?;
        result
    }

    /// The response entry (or, for a request refused before it ran, the request entry
    /// with its error).
    async fn log_outcome(self, broker: &audit::Broker, result: &Result<Response>) -> Result<()> {
        let error = result.as_ref().err().map(client_message);
        let Some(devices) = self.logged else {
            // Refused before it ran (no token, denied, bad input): the request entry
            // carries the error, as in Vault.
            let entry = audit::Entry::request(self.auth, self.request)
                .with_error(error.unwrap_or_default());
            let logged = broker.log(&entry).await;
            if !self.request_failed {
                // One count per request, not per attempt at its entry.
                Self::count(&logged, &self.failures.audit.request_failures);
            }
            logged?;
            return Ok(());
        };
        let mut response = audit::Response {
            mount_point: self.request.mount_point.clone(),
            mount_type: self.request.mount_type.clone(),
            mount_accessor: self.request.mount_accessor.clone(),
            non_hmac_keys: self.response_non_hmac,
            ..audit::Response::default()
        };
        if let Ok(r) = result {
            fill_response(&mut response, r);
        }
        let mut entry = audit::Entry::response(self.auth, self.request, response);
        if let Some(e) = error {
            entry = entry.with_error(e);
        }
        let logged = audit::Broker::log_to(&devices, &entry).await;
        Self::count(&logged, &self.failures.audit.response_failures);
        logged?;
        Ok(())
    }

    /// Counts an entry no device recorded (`vault.audit.log_*_failure`).
    fn count<T, E>(logged: &std::result::Result<T, E>, counter: &AtomicU64) {
        if logged.is_err() {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Retires the audit device `result` disabled, if any (a request that had no trail).
pub(super) async fn retire_disabled(result: &mut Result<Response>) {
    if let Some(device) = result
        .as_mut()
        .ok()
        .and_then(|r| r.disabled_audit_device.take())
    {
        device.retire().await;
    }
}

/// What the client is told of an error (never internal details).
fn client_message(e: &Error) -> String {
    match e {
        Error::Storage(_) | Error::Internal(_) => "internal error".into(),
        Error::NotFound => String::new(),
        other => other.to_string(),
    }
}

fn auth_of(a: &super::Auth) -> audit::Auth {
    audit::Auth {
        client_token: a.client_token.clone(),
        accessor: a.accessor.clone(),
        policies: a.policies.clone(),
        token_policies: a.token_policies.clone(),
        metadata: a
            .metadata
            .iter()
            .flatten()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect(),
        num_uses: a.num_uses,
        token_type: a.token_type.as_str().into(),
        token_ttl: a.lease_duration as i64,
        ..audit::Auth::default()
    }
}

fn fill_response(out: &mut audit::Response, r: &Response) {
    if let Some(raw) = &r.raw_body {
        // An unwrapped response: what the client receives is the wrapped answer.
        if let Some(data) = raw.get("data").and_then(Value::as_object) {
            out.data = data.clone();
        }
        if let Some(auth) = raw.get("auth").filter(|a| !a.is_null()) {
            out.auth = Some(audit::Auth {
                client_token: auth["client_token"].as_str().unwrap_or_default().into(),
                accessor: auth["accessor"].as_str().unwrap_or_default().into(),
                token_type: auth["token_type"].as_str().unwrap_or("service").into(),
                ..audit::Auth::default()
            });
        }
        return;
    }
    if let Some(data) = &r.data {
        out.data = data.clone();
    }
    out.warnings = r.warnings.clone();
    out.auth = r.auth.as_ref().map(auth_of);
    if !r.lease_id.is_empty() {
        out.secret = Some(audit::Secret {
            lease_id: r.lease_id.clone(),
        });
    }
    if let Some(w) = &r.wrap_info {
        let s = |k: &str| {
            w.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        out.wrap_info = Some(audit::WrapInfo {
            ttl: w.get("ttl").and_then(Value::as_i64).unwrap_or_default(),
            token: s("token"),
            accessor: s("accessor"),
            creation_time: s("creation_time"),
            creation_path: s("creation_path"),
            wrapped_accessor: s("wrapped_accessor"),
        });
    }
}
