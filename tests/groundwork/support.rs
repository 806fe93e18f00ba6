//! An in-process server: core, storage stack and HTTP listener.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use vaultrs::core::storage::Storage;
use vaultrs::core::{Core, CoreConfig};
use vaultrs::http::HttpOptions;
use vaultrs::storage::{Barrier, Physical};

use crate::api::common::V;

pub struct Node {
    pub storage: Storage,
    pub core: Arc<Core>,
    pub addr: String,
    pub unseal_key: Vec<u8>,
    pub root: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serves `core` on a loopback port; the address.
async fn serve(core: Arc<Core>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let app = vaultrs::http::router(core, HttpOptions::default())
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, server)
}

impl Node {
    /// A new, initialized and unsealed server in `dir` (no fsyncs).
    pub async fn init(dir: &Path) -> Self {
        Self::init_with(dir, false).await
    }

    /// [`Node::init`], fsyncing every commit when `durable`.
    pub async fn init_with(dir: &Path, durable: bool) -> Self {
        Self::init_config(dir, durable, CoreConfig::default()).await
    }

    /// [`Node::init_with`] a core `config` (a manual clock, for one).
    pub async fn init_config(dir: &Path, durable: bool, config: CoreConfig) -> Self {
        let storage = Storage::open(dir, durable).await.unwrap();
        let core = Core::new(storage.clone(), config);
        let init = core.init(1, 1).await.unwrap();
        let unseal_key = init.keys[0].to_vec();
        core.unseal(&unseal_key).await.unwrap();
        let root = init.root_token.to_string();
        let (addr, server) = serve(core.clone()).await;
        let node = Self {
            storage,
            core,
            addr,
            unseal_key,
            root,
            server,
        };
        node.v()
            .post(
                "sys/mounts/secret",
                serde_json::json!({"type": "kv", "options": {"version": "2"}}),
            )
            .await
            .no_content();
        node
    }

    /// A server over the existing data directory `dir`, unsealed with `unseal_key`;
    /// `root: None` creates a root token here (tokens are local to a cluster).
    pub async fn open(
        dir: &Path,
        config: CoreConfig,
        unseal_key: &[u8],
        root: Option<&str>,
    ) -> Self {
        let storage = Storage::open(dir, false).await.unwrap();
        let core = Core::new(storage.clone(), config);
        core.unseal(unseal_key).await.unwrap();
        let root = match root {
            Some(root) => root.to_owned(),
            None => core.create_root_token(None).await.unwrap(),
        };
        let (addr, server) = serve(core.clone()).await;
        Self {
            storage,
            core,
            addr,
            unseal_key: unseal_key.to_vec(),
            root,
            server,
        }
    }

    /// Stops serving, seals and closes the storage.
    pub async fn stop(self) {
        self.server.abort();
        self.core.seal().await;
        self.storage.file.close().await.unwrap();
    }

    /// Serves the primary's side of the cluster channel on another loopback port (plain
    /// HTTP here; the server puts it behind mutual TLS); its base URL.
    pub async fn serve_cluster(&self) -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let app = vaultrs::http::cluster::router(self.core.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (addr, server)
    }

    pub fn v(&self) -> V {
        V::at(&self.addr, Some(&self.root))
    }

    /// A second barrier over the same storage and keys: it writes below the core's
    /// barrier, as a replication applier does.
    pub async fn second_barrier(&self) -> Arc<Barrier> {
        let barrier = Arc::new(Barrier::new(self.storage.physical()));
        barrier.unseal(&self.unseal_key).await.unwrap();
        barrier
    }

    /// Waits until everything committed so far is applied (caches, router, index).
    pub async fn settle(&self) {
        let last = self.storage.file.last_seq();
        let reached = self
            .core
            .wait_applied(last, Duration::from_secs(10))
            .await
            .unwrap();
        assert!(reached.seq >= last);
    }

    /// The Merkle root the server keeps equals one rebuilt from the tree.
    pub async fn assert_index_current(&self) {
        self.settle().await;
        let (_, kept) = self.core.merkle_root().unwrap();
        let filter = vaultrs::locality::replicated_filter();
        let mut rebuilt =
            vaultrs::storage::MerkleIndex::rebuild(self.storage.file.as_ref(), filter)
                .await
                .unwrap();
        assert_eq!(
            kept,
            rebuilt.root(),
            "the kept Merkle index differs from a rebuild"
        );
    }
}
