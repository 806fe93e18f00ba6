//! The vaultrs CLI: Vault-style commands that talk to a server over HTTP only.
//! It never links the server core; `vaultrs server` is handed back to the caller of
//! [`main_with`] (the binary's composition root) as plain [`ServerArgs`].
//!
//! Layout:
//! - `lib.rs`: the clap tree ([`Cli`]), [`main_with`], [`run`] and the exit-code mapping.
//! - `normalize.rs`: Vault's single-dash flags rewritten for clap, guided by the clap tree.
//! - `ui.rs`: [`Ui`], the streams, environment, format and prompter a command may touch.
//! - `client.rs`: the HTTP client, token helper and Vault's error text.
//! - `api.rs`: response shapes in Vault's field order. `output.rs`: table, json, yaml, -field.
//! - `data.rs`: `k=v`, `k=@file`, `k=-`, `-` data arguments.
//! - one file per command group: `logical.rs` (read, write, delete, list, patch, unwrap),
//!   `kv.rs`, `secrets.rs`, `auth.rs` (auth and login), `token.rs`, `policy.rs`, `audit.rs`,
//!   `lease.rs`, `operator.rs` (operator and status), `rekey.rs` (operator rekey),
//!   `snapshot.rs` (operator snapshot);
//!   `pgp_files.rs` reads PGP key files; `guard.rs` asks before wiping a cluster;
//!   `progress.rs` draws indicatif progress; `generate.rs` writes completions and man pages.
//!
//! Exit codes are Vault's: 0 success, 1 usage or local error, 2 server error or nothing found.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

pub mod api;
pub mod audit;
pub mod auth;
pub mod client;
pub mod data;
pub mod generate;
pub mod guard;
pub mod kv;
pub mod lease;
pub mod logical;
pub mod normalize;
pub mod operator;
pub mod output;
pub mod pgp_files;
pub mod policy;
pub mod progress;
pub mod rekey;
pub mod secrets;
pub mod snapshot;
pub mod token;
pub mod ui;

pub use output::Format;
pub use ui::{Env, Ui};

/// A Vault-compatible secrets server and Vault-style CLI.
///
/// Flags take Vault's single-dash form (-format=json, -field=name) as well as --long forms.
/// The server address comes from -address or VAULT_ADDR, the token from VAULT_TOKEN or
/// the file ~/.vault-token that `vaultrs login` writes.
#[derive(Debug, Parser)]
#[command(
    name = "vaultrs",
    version = concat!("v", env!("CARGO_PKG_VERSION")),
    max_term_width = 100
)]
#[command(arg_required_else_help = true, disable_help_subcommand = true)]
pub struct Cli {
    #[command(flatten)]
    pub http: HttpArgs,

    #[command(subcommand)]
    pub command: Commands,
}

/// How to reach the server, and how to print its answers. Accepted by every command.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "HTTP and output options")]
pub struct HttpArgs {
    /// Address of the server, with its scheme and port.
    #[arg(
        long,
        global = true,
        env = "VAULT_ADDR",
        hide_env_values = true,
        default_value = "https://127.0.0.1:8200",
        value_name = "URL"
    )]
    pub address: String,

    /// Path to a PEM file of CA certificates used to verify the server's TLS certificate.
    #[arg(
        long,
        global = true,
        env = "VAULT_CACERT",
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub ca_cert: Option<PathBuf>,

    /// Path to a directory of PEM files of CA certificates used to verify the server.
    #[arg(
        long,
        global = true,
        env = "VAULT_CAPATH",
        hide_env_values = true,
        value_name = "DIR"
    )]
    pub ca_path: Option<PathBuf>,

    /// Do not verify the server's TLS certificate. This is insecure; use it only for tests.
    #[arg(long, global = true, env = "VAULT_SKIP_VERIFY", hide_env_values = true,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub tls_skip_verify: bool,

    /// The namespace to send requests to (the X-Vault-Namespace header).
    #[arg(
        long,
        global = true,
        env = "VAULT_NAMESPACE",
        hide_env_values = true,
        visible_alias = "ns",
        value_name = "NAMESPACE"
    )]
    pub namespace: Option<String>,

    /// Ask the server to wrap the response in a single-use token valid for this long,
    /// such as 5m or 1h.
    #[arg(
        long,
        global = true,
        env = "VAULT_WRAP_TTL",
        hide_env_values = true,
        value_name = "DURATION"
    )]
    pub wrap_ttl: Option<String>,

    /// Output format: table, json or yaml.
    #[arg(long, global = true, env = "VAULT_FORMAT", hide_env_values = true,
          value_enum, default_value_t = Format::Table, ignore_case = true)]
    pub format: Format,

    /// Never ask for input; fail instead where a prompt would be needed.
    #[arg(long, global = true)]
    pub non_interactive: bool,
}

/// The flags of `vaultrs server`. Plain data: the server interprets them.
#[derive(Debug, Clone, Default, Args, PartialEq, Eq)]
pub struct ServerArgs {
    /// Path to a configuration file or directory. Repeat to merge several.
    #[arg(long, value_name = "PATH")]
    pub config: Vec<PathBuf>,

    /// Run a development server: in memory, initialized, unsealed, with a root token.
    #[arg(long)]
    pub dev: bool,

    /// The ID of the dev server's initial root token.
    #[arg(
        long,
        env = "VAULT_DEV_ROOT_TOKEN_ID",
        hide_env_values = true,
        value_name = "ID"
    )]
    pub dev_root_token_id: Option<String>,

    /// The address the dev server listens on (default 127.0.0.1:8200).
    #[arg(
        long,
        env = "VAULT_DEV_LISTEN_ADDRESS",
        hide_env_values = true,
        value_name = "ADDR"
    )]
    pub dev_listen_address: Option<String>,

    /// Do not write the dev server's root token to ~/.vault-token.
    #[arg(long)]
    pub dev_no_store_token: bool,

    /// Keep the dev server's data in this directory instead of in memory.
    #[arg(long, value_name = "DIR")]
    pub dev_data_dir: Option<PathBuf>,

    /// Allow the dev server to listen on an address other than loopback.
    #[arg(long)]
    pub dev_allow_remote: bool,

    /// Log level: trace, debug, info, warn or error.
    #[arg(
        long,
        env = "VAULT_LOG_LEVEL",
        hide_env_values = true,
        value_name = "LEVEL"
    )]
    pub log_level: Option<String>,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Start a server (a dev server with -dev).
    Server(ServerArgs),

    /// Read data from a path and print it.
    Read(logical::ReadArgs),
    /// Write data to a path.
    Write(logical::WriteArgs),
    /// Delete the data at a path.
    Delete(logical::DeleteArgs),
    /// List the keys under a path.
    List(logical::ListArgs),
    /// Merge data into what is stored at a path (a JSON merge patch).
    Patch(logical::WriteArgs),

    /// Work with the key/value secrets engine, version 1 or 2.
    #[command(subcommand)]
    Kv(kv::KvCommand),

    /// Enable, disable, list, tune and move secrets engines.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),

    /// Enable, disable, list, tune and move auth methods.
    #[command(subcommand)]
    Auth(auth::AuthCommand),

    /// Authenticate and store the token in ~/.vault-token.
    Login(auth::LoginArgs),

    /// Create, look up, renew and revoke tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),

    /// Write, read, list, delete and format ACL policies.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),

    /// Enable, disable and list audit devices.
    #[command(subcommand)]
    Audit(audit::AuditCommand),

    /// Look up, renew and revoke leases.
    #[command(subcommand)]
    Lease(lease::LeaseCommand),

    /// Initialize, unseal, seal and rotate the server, and generate root tokens.
    #[command(subcommand)]
    Operator(operator::OperatorCommand),

    /// Print the seal status of the server. Exits 2 when it is sealed.
    Status,

    /// Unwrap a response-wrapping token and print what it wraps.
    Unwrap(logical::UnwrapArgs),

    /// Print the version of vaultrs.
    Version,

    /// Print a shell completion script to standard output.
    Completions(generate::CompletionsArgs),

    /// Write the committed completions and man pages (for maintainers).
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}

// ---------------------------------------------------------------------------------------------
// Errors and exit codes

/// An error with a fixed exit code and a message printed as is.
#[derive(Debug)]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

impl Exit {
    /// A usage or local problem: exit 1.
    pub fn local(message: impl Into<String>) -> Exit {
        Exit {
            code: 1,
            message: message.into(),
        }
    }

    /// A problem reported by the server, or nothing found: exit 2.
    pub fn server(message: impl Into<String>) -> Exit {
        Exit {
            code: 2,
            message: message.into(),
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// The exit code for an error: the code of an [`Exit`] anywhere in the chain; 2 for server
/// and connection errors (as Vault); 1 for everything else (local errors).
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Exit>() {
            return e.code;
        }
        if cause.downcast_ref::<client::ApiError>().is_some()
            || cause.downcast_ref::<client::TransportError>().is_some()
        {
            return 2;
        }
    }
    1
}

/// Wraps an error with Vault's `Error <doing something>:` prefix.
pub(crate) fn ctx(err: anyhow::Error, what: impl fmt::Display) -> anyhow::Error {
    err.context(what.to_string())
}

// ---------------------------------------------------------------------------------------------
// Entry points

/// The clap tree with the environment taken from `env` instead of the process: every
/// `env = "..."` of the tree becomes a default taken from `env`, so tests stay hermetic.
pub fn command_with_env(env: &Env) -> clap::Command {
    fn apply(cmd: clap::Command, env: &Env) -> clap::Command {
        let cmd = cmd.mut_args(|a| {
            let Some(name) = a.get_env().and_then(|n| n.to_str()).map(str::to_string) else {
                return a;
            };
            let a = a.env(None);
            match env.get(&name) {
                Some(v) => a.default_value(v.to_string()),
                None => a,
            }
        });
        cmd.mut_subcommands(|s| apply(s, env))
    }
    apply(Cli::command(), env)
}

/// Parses argv (with the program name first). `env` replaces the process environment for
/// flags that read one; `None` lets clap read the process environment.
pub fn parse(args: Vec<OsString>, env: Option<&Env>) -> Result<Cli, clap::Error> {
    let mut cmd = match env {
        Some(env) => command_with_env(env),
        None => Cli::command(),
    };
    cmd.build();
    let argv = normalize::normalize(&cmd, args);
    let mut matches = cmd.try_get_matches_from_mut(argv)?;
    Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut cmd))
}

/// The exit code and stream for a clap error: help and version go to stdout with 0;
/// usage errors go to stderr with 1, as Vault's.
fn report_clap_error(e: &clap::Error, ui: &mut Ui) -> u8 {
    use clap::error::ErrorKind;
    let text = e.render().to_string();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            ui.raw(text);
            0
        }
        _ => {
            let _ = std::io::Write::write_all(&mut ui.err, text.as_bytes());
            1
        }
    }
}

/// The binary's `main`: parses `args`, runs the command, or hands `vaultrs server` to
/// `server`.
pub fn main_with<F>(args: impl IntoIterator<Item = OsString>, server: F) -> ExitCode
where
    F: FnOnce(ServerArgs) -> ExitCode,
{
    let args: Vec<OsString> = args.into_iter().collect();
    match parse(args, None) {
        Ok(Cli {
            command: Commands::Server(sargs),
            ..
        }) => server(sargs),
        Ok(cli) => {
            let mut ui = Ui::terminal();
            run(cli, &mut ui)
        }
        Err(e) => {
            let mut ui = Ui::terminal();
            ExitCode::from(report_clap_error(&e, &mut ui))
        }
    }
}

/// Runs a parsed command against `ui`.
pub fn run(cli: Cli, ui: &mut Ui) -> ExitCode {
    ExitCode::from(run_code(cli, ui))
}

/// Parses and runs `args` (without the program name) against `ui`, taking the environment
/// from `ui.env`. Returns the exit code. This is what the table tests drive.
pub fn execute<S: AsRef<std::ffi::OsStr>>(args: &[S], ui: &mut Ui) -> u8 {
    let mut argv = vec![OsString::from("vaultrs")];
    argv.extend(args.iter().map(|a| a.as_ref().to_os_string()));
    match parse(argv, Some(&ui.env.clone())) {
        Ok(Cli {
            command: Commands::Server(_),
            ..
        }) => {
            ui.error("vaultrs server cannot run inside the CLI test harness");
            1
        }
        Ok(cli) => run_code(cli, ui),
        Err(e) => report_clap_error(&e, ui),
    }
}

fn run_code(cli: Cli, ui: &mut Ui) -> u8 {
    ui.format = cli.http.format;
    let http = cli.http;
    let result = match cli.command {
        Commands::Server(_) => Err(Exit::local("vaultrs server is started by the binary").into()),
        Commands::Read(a) => logical::read(a, &http, ui),
        Commands::Write(a) => logical::write(a, &http, ui),
        Commands::Delete(a) => logical::delete(a, &http, ui),
        Commands::List(a) => logical::list(a, &http, ui),
        Commands::Patch(a) => logical::patch(a, &http, ui),
        Commands::Unwrap(a) => logical::unwrap(a, &http, ui),
        Commands::Kv(c) => kv::run(c, &http, ui),
        Commands::Secrets(c) => secrets::run(c, &http, ui),
        Commands::Auth(c) => auth::run(c, &http, ui),
        Commands::Login(a) => auth::login(a, &http, ui),
        Commands::Token(c) => token::run(c, &http, ui),
        Commands::Policy(c) => policy::run(c, &http, ui),
        Commands::Audit(c) => audit::run(c, &http, ui),
        Commands::Lease(c) => lease::run(c, &http, ui),
        Commands::Operator(c) => operator::run(c, &http, ui),
        Commands::Status => operator::status(&http, ui),
        Commands::Version => {
            ui.info(format!("vaultrs v{}", env!("CARGO_PKG_VERSION")));
            Ok(0)
        }
        Commands::Completions(a) => generate::completions(a, ui),
        Commands::Generate(a) => generate::generate(a, ui),
    };
    let _ = ui.out.flush();
    match result {
        Ok(code) => code,
        // The reader went away (`vaultrs ... | head`): nothing left to say to anyone.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            0
        }
        Err(e) => {
            ui.error(format!("{e:#}"));
            let _ = ui.err.flush();
            exit_code(&e)
        }
    }
}

use std::io::Write as _;

#[cfg(test)]
mod tests;
