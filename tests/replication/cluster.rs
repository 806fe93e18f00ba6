//! The multi-process harness of the replication tests: a [`Node`] is one real server
//! process (dev or config mode), a [`Cluster`] a primary whose cluster listener sits
//! behind a [`Proxy`] (the address its activation tokens advertise, so every secondary's
//! cluster traffic crosses it) and the servers that become its secondaries.
//!
//! Convergence ([`wait_converged`]) is checked twice: on status (the secondary streams,
//! has applied the primary's last log sequence, and the Merkle roots are equal), and key
//! by key on the replicated ciphertext the two data directories hold ([`replicated_tree`]
//! reads the files themselves, so it needs no server and trusts none).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::api::common::{init, unseal, V};
use crate::harness::proxy::Proxy;
use crate::harness::{free_port, ConfigServer, TestServer};

/// How long convergence may take before a test fails (generous: a loaded 2-core machine).
pub const CONVERGE_WITHIN: Duration = Duration::from_secs(90);

/// `sys/replication/performance/...`
pub fn perf(path: &str) -> String {
    format!("sys/replication/performance/{path}")
}

/// One server process.
pub enum Proc {
    Dev { _server: TestServer },
    Config(ConfigServer),
}

/// A server and what the tests know of it.
pub struct Node {
    pub proc: Proc,
    /// `http://127.0.0.1:PORT`
    pub addr: String,
    /// Its own cluster listener, `https://127.0.0.1:PORT`.
    pub cluster_addr: String,
    pub data_dir: PathBuf,
    /// A root token that works on it now (none on a config-mode secondary: tokens are
    /// local, and activation wiped its own).
    pub token: String,
    /// The unseal keys that open it now (config mode; a secondary's are its primary's).
    pub keys: Vec<String>,
}

impl Node {
    /// A dev server whose root token id is `root`.
    pub fn dev(root: &str) -> Self {
        let server = TestServer::dev_with_root(root);
        assert!(
            server.cluster_addr.starts_with("https://127.0.0.1:"),
            "no cluster listener address logged: {:?}",
            server.cluster_addr
        );
        Self {
            addr: server.addr.clone(),
            cluster_addr: server.cluster_addr.clone(),
            data_dir: server.data_dir.clone(),
            token: root.to_owned(),
            keys: Vec::new(),
            proc: Proc::Dev { _server: server },
        }
    }

    /// A config-mode server with a `cluster_addr`, initialized (3 shares, threshold 2),
    /// unsealed, and with `secret/` mounted as KV v2 (as in dev mode).
    pub async fn config() -> Self {
        let cluster_addr = format!("https://127.0.0.1:{}", free_port());
        let server = ConfigServer::start_with("", &format!("cluster_addr = \"{cluster_addr}\""));
        let (keys, _, root) = init(&V::at(&server.addr, None), 3, 2).await;
        let node = Self {
            addr: server.addr.clone(),
            cluster_addr,
            data_dir: server.data_dir.clone(),
            token: root,
            keys,
            proc: Proc::Config(server),
        };
        node.unseal_with(&node.keys).await;
        node.v()
            .enable("secret", json!({"type": "kv", "options": {"version": "2"}}))
            .await;
        node
    }

    pub fn is_dev(&self) -> bool {
        matches!(self.proc, Proc::Dev { .. })
    }

    /// A client with this node's root token.
    pub fn v(&self) -> V {
        V::at(&self.addr, Some(&self.token))
    }

    /// `sys/replication/performance/status` (unauthenticated): its `data`. Panics with
    /// the server's log (config mode) when it does not answer.
    pub async fn status(&self) -> Value {
        let anon = V::at(&self.addr, None);
        if let Err(e) = anon.req("GET", &perf("status")).send().await {
            panic!(
                "{} does not answer ({e}); its log:\n{}",
                self.addr,
                self.log()
            );
        }
        anon.get(&perf("status")).await.data()
    }

    /// Submits `keys` one by one until the node reports itself unsealed.
    pub async fn unseal_with(&self, keys: &[String]) {
        let anon = V::at(&self.addr, None);
        for key in keys {
            if unseal(&anon, key).await["sealed"] == false {
                return;
            }
        }
        panic!("{} is still sealed after {} keys", self.addr, keys.len());
    }

    fn config_server(&mut self) -> &mut ConfigServer {
        match &mut self.proc {
            Proc::Config(server) => server,
            Proc::Dev { .. } => panic!("a dev server cannot be restarted on its data here"),
        }
    }

    /// `kill -9` (config mode).
    pub fn kill(&mut self) {
        self.config_server().kill();
    }

    /// Starts the killed process again on the same data and ports; it comes up sealed.
    pub fn restart(&mut self) {
        self.config_server().restart();
    }

    /// The server's log so far (config mode; empty for dev servers).
    pub fn log(&self) -> String {
        match &self.proc {
            Proc::Config(server) => server.log_text(),
            Proc::Dev { .. } => String::new(),
        }
    }
}

/// A primary with secondaries-to-be, and the proxy in front of its cluster listener.
pub struct Cluster {
    pub primary: Node,
    pub secondaries: Vec<Node>,
    pub proxy: Proxy,
}

impl Cluster {
    /// Dev servers: an enabled primary (root token `primary-root`) and `n` servers not
    /// activated yet (root tokens `secondary-<i>-root`).
    pub async fn dev(n: usize) -> Self {
        let primary = Node::dev("primary-root");
        let secondaries = (0..n)
            .map(|i| Node::dev(&format!("secondary-{i}-root")))
            .collect();
        Self::enable(primary, secondaries).await
    }

    /// Config-mode servers, each initialized and unsealed: an enabled primary and `n`
    /// servers not activated yet.
    pub async fn config(n: usize) -> Self {
        let primary = Node::config().await;
        let mut secondaries = Vec::new();
        for _ in 0..n {
            secondaries.push(Node::config().await);
        }
        Self::enable(primary, secondaries).await
    }

    async fn enable(primary: Node, secondaries: Vec<Node>) -> Self {
        let proxy = Proxy::start(&primary.cluster_addr);
        primary
            .v()
            .post(
                &perf("primary/enable"),
                json!({ "primary_cluster_addr": proxy.https() }),
            )
            .await
            .no_content();
        Self {
            primary,
            secondaries,
            proxy,
        }
    }

    /// A new activation token for secondary `id`.
    pub async fn token(&self, id: &str, ttl: &str) -> String {
        activation_token(&self.primary, id, ttl).await
    }

    /// Secondary `i` enabled with a new token for `id`; its token and keys become what
    /// works on it after the wipe. Does not wait for the bootstrap.
    pub async fn enable_secondary(&mut self, i: usize, id: &str) {
        let token = self.token(id, "30m").await;
        let secondary = &mut self.secondaries[i];
        let answer = secondary
            .v()
            .post(&perf("secondary/enable"), json!({ "token": token }))
            .await
            .ok();
        assert!(
            answer["warnings"][0]
                .as_str()
                .is_some_and(|w| w.contains("wiped")),
            "the enable answer says the cluster was wiped: {answer}"
        );
        adopt(&self.primary, secondary);
    }

    /// [`Cluster::enable_secondary`], then waits until it converged.
    pub async fn activate(&mut self, i: usize, id: &str) {
        self.enable_secondary(i, id).await;
        wait_converged(&self.primary, &self.secondaries[i]).await;
    }

    /// Waits until every secondary converged with the primary.
    pub async fn all_converged(&self) {
        for secondary in &self.secondaries {
            wait_converged(&self.primary, secondary).await;
        }
    }
}

/// A secondary of `primary` now: in dev mode the primary's root token id came along;
/// otherwise no token of it works there. It unseals with the primary's keys.
pub fn adopt(primary: &Node, secondary: &mut Node) {
    secondary.token = if primary.is_dev() && secondary.is_dev() {
        primary.token.clone()
    } else {
        String::new()
    };
    secondary.keys = primary.keys.clone();
}

/// A new activation token of `primary` for secondary `id`: the JWT in `wrap_info`.
pub async fn activation_token(primary: &Node, id: &str, ttl: &str) -> String {
    let body = primary
        .v()
        .post(
            &perf("primary/secondary-token"),
            json!({ "id": id, "ttl": ttl }),
        )
        .await
        .ok();
    let token = body["wrap_info"]["token"].as_str().unwrap().to_owned();
    assert_eq!(token.split('.').count(), 3, "not a JWT: {token}");
    token
}

/// Polls `node`'s replication status until `ready` holds; that status. Panics with the
/// last status after `limit`.
pub async fn wait_status(
    node: &Node,
    what: &str,
    limit: Duration,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let status = node.status().await;
        if ready(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}; status of {}: {status:#}",
            node.addr
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `secondary` converged with `primary`: it streams, has applied the
/// primary's last sequence, their Merkle roots are equal, and their data directories hold
/// the same replicated keys with the same ciphertext.
pub async fn wait_converged(primary: &Node, secondary: &Node) {
    let deadline = Instant::now() + CONVERGE_WITHIN;
    loop {
        let p = primary.status().await;
        let s = secondary.status().await;
        let caught_up = s["state"] == "stream-wals"
            && s["last_remote_wal"].as_u64().unwrap_or(0)
                >= p["last_wal"].as_u64().unwrap_or(u64::MAX)
            && s["merkle_root"] == p["merkle_root"]
            && s["cluster_id"] == p["cluster_id"];
        let last = if caught_up {
            let ours = replicated_tree(&primary.data_dir);
            let theirs = replicated_tree(&secondary.data_dir);
            match (ours, theirs) {
                (Some(a), Some(b)) if a == b => return,
                (Some(a), Some(b)) => tree_diff(&a, &b),
                _ => "a file went away while the trees were read".into(),
            }
        } else {
            format!("primary {p:#}\nsecondary {s:#}")
        };
        assert!(
            Instant::now() < deadline,
            "{} did not converge with {} within {CONVERGE_WITHIN:?}: {last}",
            secondary.addr,
            primary.addr
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The replicated keys (`vaultrs::locality::is_replicated`) of the data directory `dir`
/// and the ciphertext its tree holds for each; `None` when a file went away while it was
/// read (the server is writing: read again).
///
/// The tree is the backend's layout (`vaultrs::storage::key`): a leaf `s` is the file
/// `_s`, a folder is `s` (or `~s` when `s` starts with `_`, `~` or `.`), temporary files
/// start with `.`.
pub fn replicated_tree(dir: &Path) -> Option<BTreeMap<String, Vec<u8>>> {
    all_keys(dir).map(|tree| {
        tree.into_iter()
            .filter(|(k, _)| vaultrs::locality::is_replicated(k))
            .collect()
    })
}

/// Every key of the data directory `dir`'s tree, local ones too (see [`replicated_tree`]).
pub fn all_keys(dir: &Path) -> Option<BTreeMap<String, Vec<u8>>> {
    fn walk(path: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) -> Option<()> {
        let entries = match std::fs::read_dir(path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => panic!("reading {}: {e}", path.display()),
        };
        for entry in entries {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().expect("UTF-8 tree names");
            if name.starts_with('.') {
                continue;
            }
            let file_type = entry.file_type().ok()?;
            if file_type.is_dir() {
                let segment = name.strip_prefix('~').unwrap_or(&name);
                walk(&entry.path(), &format!("{prefix}{segment}/"), out)?;
            } else if let Some(leaf) = name.strip_prefix('_') {
                match std::fs::read(entry.path()) {
                    Ok(value) => {
                        out.insert(format!("{prefix}{leaf}"), value);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
                    Err(e) => panic!("reading {}: {e}", entry.path().display()),
                }
            }
        }
        Some(())
    }
    let mut out = BTreeMap::new();
    walk(&dir.join("tree"), "", &mut out)?;
    Some(out)
}

/// What differs between two trees (a few keys of each kind).
pub fn tree_diff(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> String {
    let only_a: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).take(5).collect();
    let only_b: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).take(5).collect();
    let differ: Vec<_> = a
        .iter()
        .filter(|(k, v)| b.get(*k).is_some_and(|w| w != *v))
        .map(|(k, _)| k)
        .take(5)
        .collect();
    format!(
        "{} vs {} keys; only on the primary {only_a:?}, only on the secondary {only_b:?}, \
         different ciphertext {differ:?}",
        a.len(),
        b.len()
    )
}

/// The bytes of ciphertext in a tree.
pub fn tree_bytes(tree: &BTreeMap<String, Vec<u8>>) -> u64 {
    tree.values().map(|v| v.len() as u64).sum()
}

/// Writes `n` KV v2 secrets `secret/data/<prefix>/<i>`, each a `size`-byte string, eight
/// requests at a time (so the primary's group commit batches them).
pub async fn write_many(v: &V, prefix: &str, n: usize, size: usize) {
    const WORKERS: usize = 8;
    let value = "x".repeat(size);
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let (v, prefix, value) = (v.clone(), prefix.to_owned(), value.clone());
        tasks.push(tokio::spawn(async move {
            for i in (w..n).step_by(WORKERS) {
                v.post(
                    &format!("secret/data/{prefix}/{i}"),
                    json!({ "data": { "i": i, "v": value } }),
                )
                .await
                .ok();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// Writes distinct KV v2 secrets in the background until stopped, tolerating a server
/// that goes away and comes back; the paths whose write was acknowledged.
pub struct Writer {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl Writer {
    pub fn start(v: &V, prefix: &str) -> Self {
        let stop = tokio::sync::watch::channel(false).0;
        let (v, prefix, stopped) = (v.clone(), prefix.to_owned(), stop.subscribe());
        let task = tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut n = 0u64;
            while !*stopped.borrow() {
                let path = format!("secret/data/{prefix}/{n}");
                n += 1;
                let sent = v
                    .req("POST", &path)
                    .timeout(Duration::from_secs(5))
                    .json(&json!({ "data": { "n": n } }))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => acked.push(path),
                    _ => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
            acked
        });
        Self { stop, task }
    }

    /// Stops; the acknowledged paths.
    pub async fn stop(self) -> Vec<String> {
        self.stop.send_replace(true);
        self.task.await.unwrap()
    }
}

/// A KV v2 secret's `data` as `node` serves it (`None`: not found).
pub async fn kv_get(v: &V, path: &str) -> Option<Value> {
    let resp = v.get(path).await;
    if resp.status == 404 {
        return None;
    }
    Some(resp.data()["data"].clone())
}
