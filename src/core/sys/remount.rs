//! `sys/remount` and `sys/remount/status/:migration_id`: moving a secrets engine or an
//! auth method to a new path, as Vault ≥ 1.10 does.
//!
//! The request is checked at once (Vault's rules and messages: protected mounts, a source
//! that must be mounted, a target that must not exist or nest with a mount, no move
//! between the secrets and the auth tables) and answered with a `migration_id`; the move
//! itself runs in the background and its status (`in-progress`, `success`, `failure`) is
//! kept in memory for this unsealed period, as in Vault. The answer waits up to
//! [`ANSWER_WAIT`] for the move ("Vault returns a migration ID when the remount operation
//! completes", its API docs say): a client's first status poll then usually finds it
//! finished, which spares Vault's CLI its ten-second sleep between polls.
//!
//! A mount's data is keyed by its uuid (`logical/<uuid>/`, `auth/<uuid>/`, under
//! `local/` for a local mount), never by its path, so a move rewrites no data key: it is a
//! table change. The move, under the table lock:
//! 1. revokes the leases issued under the old path (Vault's order; on failure nothing has
//!    changed and the move fails);
//! 2. commits the table with the entry's new path, with a [`cleanup`](super::super::cleanup)
//!    record that revokes under the old path again, in one batch;
//! 3. swaps the route in the router in one write (the old path stops answering as the new
//!    one starts);
//! 4. waits for the requests still running on the old route and then revokes under the
//!    old path again, removing the record: so a token a login was issuing through the old
//!    path while the move ran goes too. A crash after step 2 finishes step 4 on unseal.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use super::super::cleanup::{self, Pending};
use super::super::mounts::{MountEntry, Route, Table};
use super::super::{Active, Core, Response};
use super::mounts::{find, normalize_mount_path, table_entries, PROTECTED};
use crate::error::{Error, Result};
use crate::fields;
use crate::logical::Operation;

/// How long the answer waits for the move to finish before answering `in-progress`.
const ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How many moves are remembered (the oldest finished ones are forgotten first).
const REMEMBERED: usize = 256;

/// Where a move stands (`migration_info.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    InProgress,
    Success,
    Failure,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "in-progress",
            Status::Success => "success",
            Status::Failure => "failure",
        }
    }
}

#[derive(Clone, Debug)]
struct Migration {
    id: String,
    source: String,
    target: String,
    status: Status,
}

/// The moves of this unsealed period, oldest first.
#[derive(Default)]
pub(in crate::core) struct Migrations(Mutex<Vec<Migration>>);

impl Migrations {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Migration>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn start(&self, source: &str, target: &str) -> String {
        let id = crate::util::uuid();
        let mut all = self.lock();
        while all.len() >= REMEMBERED {
            match all.iter().position(|m| m.status != Status::InProgress) {
                Some(i) => drop(all.remove(i)),
                None => break,
            }
        }
        all.push(Migration {
            id: id.clone(),
            source: source.to_owned(),
            target: target.to_owned(),
            status: Status::InProgress,
        });
        id
    }

    fn set(&self, id: &str, status: Status) {
        if let Some(m) = self.lock().iter_mut().find(|m| m.id == id) {
            m.status = status;
        }
    }

    fn get(&self, id: &str) -> Option<Migration> {
        self.lock().iter().find(|m| m.id == id).cloned()
    }
}

/// `sys/remount` and `sys/remount/status/:id` (relative to `sys/`); `None`: neither.
pub(super) async fn handle(
    core: &Core,
    active: &Active,
    op: Operation,
    rel: &str,
    data: &Map<String, Value>,
) -> Option<Result<Response>> {
    let rel = rel.trim_end_matches('/');
    if rel == "remount" {
        return Some(match op {
            Operation::Create | Operation::Update => start(core, active, data).await,
            _ => Err(super::unsupported(op, rel)),
        });
    }
    let id = rel.strip_prefix("remount/status")?;
    let id = match id.strip_prefix('/') {
        Some(id) => id,
        None if id.is_empty() => "",
        None => return None,
    };
    Some(match op {
        Operation::Read => status(active, id),
        _ => Err(super::unsupported(op, rel)),
    })
}

fn status(active: &Active, id: &str) -> Result<Response> {
    if id.is_empty() {
        return Err(Error::invalid("migrationID must be specified"));
    }
    let m = active.remounts.get(id).ok_or(Error::NotFound)?;
    let mut info = Map::new();
    info.insert("source_mount".into(), m.source.into());
    info.insert("target_mount".into(), m.target.into());
    info.insert("status".into(), m.status.as_str().into());
    let mut data = Map::new();
    data.insert("migration_id".into(), m.id.into());
    data.insert("migration_info".into(), info.into());
    Ok(Response::data(data))
}

/// A checked move: which table, and the paths within it (without `auth/`).
#[derive(Debug, PartialEq, Eq)]
struct Move {
    table: Table,
    /// The request paths as given, sanitized: `secret/`, `auth/userpass/`.
    source: String,
    target: String,
    /// The mount paths within the table: `secret/`, `userpass/`.
    from: String,
    to: String,
}

/// `path` without a leading `/`, with one trailing `/` (Vault's `sanitizePath`).
fn sanitize(path: &str) -> String {
    let trimmed = path.trim_start_matches('/');
    if trimmed.ends_with('/') {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/")
    }
}

/// Vault's checks of `from` and `to` that need no mount table, in Vault's order.
fn parse_move(data: &Map<String, Value>) -> Result<Move> {
    let from = fields::string(data, "from").unwrap_or_default();
    let to = fields::string(data, "to").unwrap_or_default();
    if from.is_empty() || to.is_empty() {
        return Err(Error::invalid(
            "both 'from' and 'to' path must be specified as a string",
        ));
    }
    for (name, path) in [("from", &from), ("to", &to)] {
        if path.starts_with(' ') || path.ends_with(' ') {
            return Err(Error::invalid(format!(
                "'{name}' path cannot contain trailing whitespace"
            )));
        }
    }
    let (source, target) = (sanitize(&from), sanitize(&to));
    let auth = Table::Auth.route_prefix();
    let table = if source.starts_with(auth) {
        Table::Auth
    } else {
        Table::Mounts
    };
    let relative = |p: &str| p.strip_prefix(table.route_prefix()).unwrap_or(p).to_owned();
    normalize_mount_path(&relative(&target))
        .map_err(|e| Error::invalid(format!("invalid destination mount: {e}")))?;
    if table == Table::Auth {
        if !target.starts_with(auth) {
            return Err(Error::invalid(format!(
                "cannot remount auth mount to non-auth mount {target:?}"
            )));
        }
        // Vault's protected auth mount: the token store.
        if source.starts_with("auth/token") {
            return Err(Error::invalid(format!("cannot remount {source:?}")));
        }
        if target.starts_with("auth/token") {
            return Err(Error::invalid(format!(
                "cannot remount to destination {target:?}"
            )));
        }
    } else {
        for p in PROTECTED {
            if source.starts_with(p) {
                return Err(Error::invalid(format!("cannot remount {source:?}")));
            }
            if target.starts_with(p) {
                return Err(Error::invalid(format!(
                    "cannot remount to destination {target}"
                )));
            }
        }
    }
    Ok(Move {
        table,
        from: relative(&source),
        to: relative(&target),
        source,
        target,
    })
}

/// The mount to move, checked against the tables as they are now.
fn checked_source(active: &Active, m: &Move, follower: bool) -> Result<Route> {
    let route = find(active, m.table, &m.from)
        .ok()
        .flatten()
        .ok_or_else(|| Error::invalid(format!("no matching mount at {:?}", m.source)))?;
    if let Some(existing) = active.router().conflict(&m.target) {
        return Err(Error::invalid(format!(
            "path already in use at {existing:?}"
        )));
    }
    if follower && !route.entry.local {
        return Err(Error::invalid(
            "cannot remount a non-local mount on a replication secondary",
        ));
    }
    Ok(route)
}

/// Checks the move, starts it in the background, and answers its migration id once it
/// finished or [`ANSWER_WAIT`] passed.
async fn start(core: &Core, active: &Active, data: &Map<String, Value>) -> Result<Response> {
    let m = parse_move(data)?;
    let route = checked_source(active, &m, core.barrier.is_follower())?;
    let core = core
        .me
        .upgrade()
        .ok_or_else(|| Error::Internal("the core is gone".into()))?;
    let active = core.active()?;
    let id = active.remounts.start(&m.source, &m.target);
    let (done, finished) = tokio::sync::oneshot::channel::<()>();
    let task = {
        let (active, id) = (active.clone(), id.clone());
        let uuid = route.entry.uuid.clone();
        tokio::spawn(async move {
            tracing::info!(migration_id = %id, from = %m.source, to = %m.target, "moving a mount");
            let status = match move_mount(&core, &active, &m, &uuid).await {
                Ok(()) => {
                    tracing::info!(migration_id = %id, "mount move finished");
                    Status::Success
                }
                Err(e) => {
                    tracing::error!(migration_id = %id, error = %e, "mount move failed");
                    Status::Failure
                }
            };
            active.remounts.set(&id, status);
            let _ = done.send(());
        })
    };
    {
        let mut tasks = active.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }
    // Finished, failed, or still going: the status endpoint tells which.
    let _ = tokio::time::timeout(ANSWER_WAIT, finished).await;
    let mut data = Map::new();
    data.insert("migration_id".into(), id.into());
    let mut resp = Response::data(data);
    resp.warnings.push(
        "Mount move has been queued. Progress will be reported in Vault's server log, tagged \
         with the returned migration_id"
            .into(),
    );
    Ok(resp)
}

/// The move itself (see the module docs for the steps and why they are safe).
async fn move_mount(core: &Core, active: &Active, m: &Move, uuid: &str) -> Result<()> {
    let _guard = active.table_lock.lock().await;
    // Checked again: the tables may have changed since the request was answered.
    let route = checked_source(active, m, core.barrier.is_follower())?;
    if route.entry.uuid != uuid {
        return Err(Error::invalid(format!(
            "no matching mount at {:?}",
            m.source
        )));
    }
    let old_key = route.entry.route();
    super::super::expiration::revoke_prefix(core, active, &old_key, false).await?;

    let mut entry: MountEntry = (*route.entry).clone();
    entry.path.clone_from(&m.to);
    let entries: Vec<MountEntry> = table_entries(active, m.table)
        .into_iter()
        .map(|e| {
            if e.uuid == entry.uuid {
                entry.clone()
            } else {
                e
            }
        })
        .collect();
    let pending = Pending::revoke(&old_key);
    core.store_table_with(m.table, &entries, Some(pending.entry()?))
        .await?;
    crate::util::test_pause("remount-after-table").await;
    let moved = Route {
        entry: Arc::new(entry),
        handler: route.handler.clone(),
    };
    let gate = active
        .router_mut()
        .replace(&old_key, moved)
        .ok_or_else(|| Error::Internal(format!("route {old_key} vanished while moving")))?;
    gate.retire().await;
    cleanup::finish(core, active, pending).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Move> {
        parse_move(v.as_object().unwrap())
    }

    fn refused(v: Value) -> String {
        match parse(v) {
            Err(Error::InvalidRequest(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn moves_parse_with_vaults_rules() {
        assert_eq!(
            parse(json!({"from": "/secret", "to": "kv/"})).unwrap(),
            Move {
                table: Table::Mounts,
                source: "secret/".into(),
                target: "kv/".into(),
                from: "secret/".into(),
                to: "kv/".into(),
            }
        );
        let m = parse(json!({"from": "auth/userpass", "to": "auth/up2"})).unwrap();
        assert_eq!(
            (m.table, m.from.as_str(), m.to.as_str(), m.source.as_str()),
            (Table::Auth, "userpass/", "up2/", "auth/userpass/")
        );
        for (body, msg) in [
            (
                json!({"from": "secret"}),
                "both 'from' and 'to' path must be specified as a string",
            ),
            (
                json!({"from": "secret ", "to": "kv"}),
                "'from' path cannot contain trailing whitespace",
            ),
            (
                json!({"from": "sys", "to": "kv"}),
                "cannot remount \"sys/\"",
            ),
            (
                json!({"from": "cubbyhole/", "to": "kv"}),
                "cannot remount \"cubbyhole/\"",
            ),
            (
                json!({"from": "secret", "to": "sys/x"}),
                "cannot remount to destination sys/x/",
            ),
            (
                json!({"from": "secret", "to": "auth/up"}),
                "cannot remount to destination auth/up/",
            ),
            (
                json!({"from": "auth/userpass", "to": "up"}),
                "cannot remount auth mount to non-auth mount \"up/\"",
            ),
            (
                json!({"from": "auth/token", "to": "auth/t2"}),
                "cannot remount \"auth/token/\"",
            ),
            (
                json!({"from": "auth/userpass", "to": "auth/token2"}),
                "cannot remount to destination \"auth/token2/\"",
            ),
        ] {
            assert_eq!(refused(body.clone()), msg, "{body}");
        }
        assert!(refused(json!({"from": "secret", "to": "a/../b"}))
            .starts_with("invalid destination mount: "));
        assert!(refused(json!({"from": "auth/userpass", "to": "auth/"}))
            .starts_with("invalid destination mount: "));
    }

    #[test]
    fn migrations_remember_a_bounded_number() {
        let all = Migrations::default();
        let first = all.start("a/", "b/");
        all.set(&first, Status::Success);
        let running = all.start("c/", "d/");
        for _ in 0..REMEMBERED {
            let id = all.start("x/", "y/");
            all.set(&id, Status::Failure);
        }
        assert!(
            all.get(&first).is_none(),
            "the oldest finished move is forgotten"
        );
        assert_eq!(all.get(&running).unwrap().status, Status::InProgress);
        assert!(all.lock().len() <= REMEMBERED);
    }
}
