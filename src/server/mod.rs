//! `vaultrs server`: dev mode and config-file mode, listeners, TLS, graceful shutdown.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Map};
use vaultrs_storage::FileBackend;

use crate::config::{Config, Listener};
use crate::core::storage::Storage;
use crate::core::{Core, CoreConfig, Request};
use crate::error::{Error, Result};
use crate::http::{self, HttpOptions};
use crate::logical::Operation;

mod cluster;

/// What `vaultrs server` was asked to do (from the CLI's flags).
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    pub config: Vec<PathBuf>,
    pub dev: bool,
    pub dev_root_token_id: Option<String>,
    pub dev_listen_address: Option<String>,
    pub dev_no_store_token: bool,
    pub dev_data_dir: Option<PathBuf>,
    pub dev_allow_remote: bool,
    pub log_level: Option<String>,
}

/// Runs the server until SIGINT/SIGTERM; the exit code for `main`.
pub fn main(options: ServerOptions) -> ExitCode {
    init_logging(options.log_level.as_deref());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("vaultrs")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error starting the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(level: Option<&str>) {
    let level = level
        .map(str::to_owned)
        .or_else(|| std::env::var("VAULT_LOG_LEVEL").ok())
        .unwrap_or_else(|| "info".into());
    let filter =
        tracing_subscriber::EnvFilter::try_new(format!("vaultrs={level},vaultrs_storage={level}"))
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Dev mode or config mode, then serve.
pub async fn run(options: ServerOptions) -> Result<()> {
    if options.dev {
        run_dev(options).await
    } else {
        let path = match options.config.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(Error::invalid(
                    "no configuration given: use -config=FILE, or -dev for a dev server",
                ))
            }
            _ => return Err(Error::invalid("only one -config file is supported")),
        };
        let config = Config::load(&path)?;
        run_config(config, &path).await
    }
}

fn is_loopback(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .map(|a| a.ip().is_loopback())
        .unwrap_or_else(|_| addr.starts_with("localhost:"))
}

/// A dev server: initialized with one share, unsealed, `secret/` mounted as KV v2.
async fn run_dev(options: ServerOptions) -> Result<()> {
    let address = options
        .dev_listen_address
        .clone()
        .unwrap_or_else(|| "127.0.0.1:8200".into());
    if !is_loopback(&address) && !options.dev_allow_remote {
        return Err(Error::invalid(format!(
            "refusing to listen on {address} in dev mode: dev servers are unsealed and hold a \
             well-known root token; pass -dev-allow-remote to do it anyway"
        )));
    }
    let (data_dir, _temp) = match &options.dev_data_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp = tempfile::Builder::new()
                .prefix("vaultrs-dev-")
                .tempdir()
                .map_err(|e| Error::Internal(format!("creating a temp dir: {e}")))?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    let kept = options.dev_data_dir.is_some();
    let shutdown = shutdown_signal();
    let socket = bind(&address)?;
    let local = socket
        .local_addr()
        .map_err(|e| Error::Internal(e.to_string()))?;
    let cluster_socket = cluster::bind_default(&local)?;
    let cluster_local = cluster_socket
        .local_addr()
        .map_err(|e| Error::Internal(e.to_string()))?;
    // Fsyncs only for a kept directory: a temporary one is removed at exit.
    let storage = Storage::open(&data_dir, kept).await?;
    let core = Core::new(
        storage.clone(),
        CoreConfig {
            storage_type: "file".into(),
            audit_files: audit_rules(false, [data_dir.clone()]),
            // Vault's dev configuration: `telemetry { prometheus_retention_time = "24h" }`.
            prometheus_retention_time: crate::config::PROMETHEUS_DEFAULT_RETENTION,
            api_addr: Some(format!("http://{local}")),
            cluster_addr: Some(format!("https://{cluster_local}")),
            dev: true,
            ..CoreConfig::default()
        },
    );
    let (unseal_key, root_token) =
        dev_setup(&core, &data_dir, kept, options.dev_root_token_id.clone()).await?;
    core.set_dev_root_token(&root_token);
    tracing::info!(cluster_addr = %format!("https://{cluster_local}"), "cluster listener bound");

    if !options.dev_no_store_token {
        if let Err(e) = store_token_helper(&root_token) {
            tracing::warn!(error = %e, "could not write ~/.vault-token");
        }
    }
    print_dev_banner(
        &local,
        &cluster_local,
        &unseal_key,
        &root_token,
        &data_dir,
        options.dev_data_dir.is_some(),
    );
    let listener = Listener {
        address: local.to_string(),
        tls: None,
        max_request_size: crate::config::DEFAULT_MAX_REQUEST_SIZE,
        disable_unauthed_generate_root_endpoints: false,
        unauthenticated_metrics_access: false,
    };
    serve(
        core,
        vec![(listener, socket)],
        cluster_socket,
        storage.file,
        shutdown,
    )
    .await
}

/// Binds a listening socket (port 0 picks a free port).
fn bind(address: &str) -> Result<std::net::TcpListener> {
    let socket = std::net::TcpListener::bind(address)
        .map_err(|e| Error::invalid(format!("cannot listen on {address}: {e}")))?;
    socket
        .set_nonblocking(true)
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(socket)
}

/// First start: init 1/1, unseal, root token (custom id if asked), `secret/` as KV v2.
/// With a kept data dir (`-dev-data-dir`), the unseal key and root token are stored 0600
/// beside the data so a restart on the same dir comes back unsealed with the same token;
/// later starts unseal with the kept key.
async fn dev_setup(
    core: &Arc<Core>,
    data_dir: &Path,
    kept: bool,
    custom_root: Option<String>,
) -> Result<(String, String)> {
    let key_file = data_dir.join("dev-unseal-key");
    let token_file = data_dir.join("dev-root-token");
    if core.barrier().is_initialized().await? {
        let key = std::fs::read_to_string(&key_file).map_err(|_| {
            Error::invalid(format!(
                "{} holds an initialized vault that is not a dev vault (no dev-unseal-key)",
                data_dir.display()
            ))
        })?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map_err(|_| Error::invalid("dev-unseal-key is damaged"))?;
        core.unseal(&raw).await.map_err(|e| match e {
            Error::Storage(vaultrs_storage::Error::InvalidUnsealKey) => Error::invalid(format!(
                "{} no longer opens this vault (it was rekeyed, or it became a replication \
                 secondary, which unseals with its primary's keys): serve the directory with \
                 -config and unseal it with its current keys",
                key_file.display()
            )),
            e => e,
        })?;
        let mut token = std::fs::read_to_string(&token_file)
            .map_err(|e| Error::Internal(format!("reading dev-root-token: {e}")))?;
        if let Some(custom) = custom_root {
            if custom != token {
                if !core.token_exists(&custom).await? {
                    core.create_root_token(Some(custom.clone())).await?;
                }
                token = custom;
                write_private(&token_file, token.as_bytes())?;
            }
        }
        return Ok((key.trim().to_owned(), token));
    }
    let init = core.init(1, 1).await?;
    let share = init.keys[0].clone();
    core.unseal(&share).await?;
    let mut token = init.root_token.to_string();
    if let Some(custom) = custom_root {
        let generated = token.clone();
        token = core.create_root_token(Some(custom)).await?;
        core.handle(Request::new(Operation::Update, "auth/token/revoke-self").token(generated))
            .await?;
    }
    let mut mount = Map::new();
    mount.insert("type".into(), "kv".into());
    mount.insert("description".into(), "key/value secret storage".into());
    mount.insert("options".into(), json!({ "version": "2" }));
    core.handle(
        Request::new(Operation::Update, "sys/mounts/secret")
            .token(token.clone())
            .data(mount),
    )
    .await?;
    let key = base64::engine::general_purpose::STANDARD.encode(&share[..]);
    if kept {
        write_private(&key_file, key.as_bytes())?;
        write_private(&token_file, token.as_bytes())?;
    }
    Ok((key, token))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let failed = |e: std::io::Error| Error::Internal(format!("writing {}: {e}", path.display()));
    let temp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&temp)
        .map_err(failed)?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(failed)?;
    std::fs::rename(&temp, path).map_err(failed)
}

/// What `file` audit devices may write: never `own_files` (the data directory, the
/// configuration and TLS files) nor the token helper file.
fn audit_rules(
    allow_prefix: bool,
    own_files: impl IntoIterator<Item = PathBuf>,
) -> crate::audit::FileRules {
    let token_helper = std::env::var_os("HOME").map(|home| Path::new(&home).join(".vault-token"));
    crate::audit::FileRules::protecting(allow_prefix, own_files.into_iter().chain(token_helper))
}

/// Writes `~/.vault-token` as Vault's token helper does: 0600, no trailing newline.
fn store_token_helper(token: &str) -> Result<()> {
    let home = std::env::var_os("HOME").ok_or_else(|| Error::Internal("HOME is not set".into()))?;
    write_private(&Path::new(&home).join(".vault-token"), token.as_bytes())
}

fn print_dev_banner(
    addr: &SocketAddr,
    cluster: &SocketAddr,
    key: &str,
    token: &str,
    dir: &Path,
    kept: bool,
) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "==> Vault server configuration:\n");
    let rows = [
        ("Api Address", format!("http://{addr}")),
        ("Cluster Address", format!("https://{cluster}")),
        (
            "Listener 1",
            format!("tcp (addr: \"{addr}\", tls: \"disabled\")"),
        ),
        ("Storage", format!("file (path: {})", dir.display())),
        ("Version", format!("vaultrs v{}", env!("CARGO_PKG_VERSION"))),
    ];
    for (key, value) in rows {
        let _ = writeln!(out, "{key:>24}: {value}");
    }
    let _ = writeln!(
        out,
        "\n==> Vault server started! Log data will stream in below:\n"
    );
    let _ = out.flush();
    let storage_note = if kept {
        format!("In this mode, Vault keeps its data in {}", dir.display())
    } else {
        "In this mode, Vault runs on a temporary directory removed at exit".to_owned()
    };
    eprintln!(
        "WARNING! dev mode is enabled! {storage_note}\n\
         and starts unsealed with a single unseal key. The root token is already\n\
         authenticated to the CLI, so you can immediately begin using Vault.\n\
         \n\
         You may need to set the following environment variables:\n\
         \n    $ export VAULT_ADDR='http://{addr}'\n\
         \n\
         The unseal key and root token are displayed below in case you want to\n\
         seal/unseal the Vault or re-authenticate.\n\
         \n\
         Unseal Key: {key}\n\
         Root Token: {token}\n\
         \n\
         Development mode should NOT be used in production installations!\n"
    );
}

/// A server from a configuration file: starts uninitialized or sealed, as Vault does.
async fn run_config(config: Config, config_path: &Path) -> Result<()> {
    let shutdown = shutdown_signal();
    let storage = Storage::open(&config.storage_path, true).await?;
    let own_files = [config.storage_path.clone(), config_path.to_path_buf()]
        .into_iter()
        .chain(
            config
                .listeners
                .iter()
                .filter_map(|l| l.tls.as_ref())
                .flat_map(|tls| [tls.cert_file.clone(), tls.key_file.clone()]),
        );
    let mut listeners = Vec::new();
    for listener in &config.listeners {
        let socket = bind(&listener.address)?;
        listeners.push((listener.clone(), socket));
    }
    let first = listeners
        .first()
        .map(|(l, s)| (l.tls.is_some(), s.local_addr()))
        .ok_or_else(|| Error::invalid("the configuration has no listener"))?;
    let (first_tls, first_addr) = (
        first.0,
        first.1.map_err(|e| Error::Internal(e.to_string()))?,
    );
    let cluster_socket = match &config.cluster_addr {
        Some(addr) => bind(&cluster::bind_address(addr)?)?,
        None => cluster::bind_default(&first_addr)?,
    };
    let cluster_local = cluster_socket
        .local_addr()
        .map_err(|e| Error::Internal(e.to_string()))?;
    let scheme = if first_tls { "https" } else { "http" };
    let mut core_config = CoreConfig {
        audit_files: audit_rules(config.allow_audit_log_prefixing, own_files),
        prometheus_retention_time: config.prometheus_retention_time,
        api_addr: Some(
            config
                .api_addr
                .clone()
                .unwrap_or_else(|| format!("{scheme}://{first_addr}")),
        ),
        cluster_addr: Some(
            config
                .cluster_addr
                .clone()
                .unwrap_or_else(|| format!("https://{cluster_local}")),
        ),
        ..CoreConfig::default()
    };
    if let Some(ttl) = config.default_lease_ttl {
        core_config.default_lease_ttl = ttl;
    }
    if let Some(ttl) = config.max_lease_ttl {
        core_config.max_lease_ttl = ttl;
    }
    let core = Core::new(storage.clone(), core_config);
    let mut out = std::io::stdout();
    let _ = writeln!(out, "==> Vault server configuration:\n");
    for (i, l) in config.listeners.iter().enumerate() {
        let tls = if l.tls.is_some() {
            "enabled"
        } else {
            "disabled"
        };
        let _ = writeln!(
            out,
            "{:>24}: tcp (addr: \"{}\", tls: \"{tls}\")",
            format!("Listener {}", i + 1),
            l.address
        );
    }
    let _ = writeln!(
        out,
        "{:>24}: {}",
        "Cluster Address",
        core.config().cluster_addr.as_deref().unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "{:>24}: file (path: {})",
        "Storage",
        config.storage_path.display()
    );
    let _ = writeln!(
        out,
        "{:>24}: vaultrs v{}",
        "Version",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(
        out,
        "\n==> Vault server started! Log data will stream in below:\n"
    );
    let _ = out.flush();
    serve(core, listeners, cluster_socket, storage.file, shutdown).await
}

/// Serves every listener until a shutdown signal, then drains requests and checkpoints.
async fn serve(
    core: Arc<Core>,
    listeners: Vec<(Listener, std::net::TcpListener)>,
    cluster_socket: std::net::TcpListener,
    storage: Arc<FileBackend>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let handle = axum_server::Handle::new();
    let mut tasks = Vec::new();
    let cluster = cluster::spawn(core.clone(), cluster_socket);
    for (listener, socket) in listeners {
        let app = http::router(
            core.clone(),
            HttpOptions {
                max_request_size: listener.max_request_size,
                disable_unauthed_generate_root_endpoints: listener
                    .disable_unauthed_generate_root_endpoints,
                unauthenticated_metrics_access: listener.unauthenticated_metrics_access,
            },
        );
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let handle = handle.clone();
        match listener.tls {
            None => {
                let server = axum_server::from_tcp(socket).handle(handle);
                tasks.push(tokio::spawn(async move { server.serve(service).await }));
            }
            Some(tls) => {
                // ring is the one provider compiled in; a second install is a no-op error.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let rustls = axum_server::tls_rustls::RustlsConfig::from_pem_file(
                    &tls.cert_file,
                    &tls.key_file,
                )
                .await
                .map_err(|e| Error::invalid(format!("loading TLS certificate and key: {e}")))?;
                let server = axum_server::from_tcp_rustls(socket, rustls).handle(handle);
                tasks.push(tokio::spawn(async move { server.serve(service).await }));
            }
        }
    }
    // SIGHUP: audit devices reopen their files (log rotation), as Vault's do.
    let reload = tokio::spawn({
        let core = core.clone();
        async move {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut hup) = signal(SignalKind::hangup()) else {
                return;
            };
            while hup.recv().await.is_some() {
                core.reopen_audit_devices();
            }
        }
    });
    shutdown.await;
    reload.abort();
    tracing::info!("shutting down: finishing in-flight requests");
    handle.graceful_shutdown(Some(Duration::from_secs(30)));
    for task in tasks {
        let _ = task.await;
    }
    core.seal().await;
    cluster.abort();
    storage.close().await?;
    Ok(())
}

/// Resolves on SIGTERM or SIGINT. Built before any listener answers, so a signal sent as
/// soon as the server is seen up is never met by the default action (an abrupt kill).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate()).ok();
    let int = signal(SignalKind::interrupt()).ok();
    async move {
        let term = async {
            match term {
                Some(mut t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        let int = async {
            match int {
                Some(mut i) => {
                    i.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = term => {}
            _ = int => {}
        }
    }
}
