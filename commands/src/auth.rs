//! `vaultrs auth enable|disable|list|tune|move` (auth method mounts, `sys/auth`) and
//! `vaultrs login`.

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use crate::api::{mounts_from, Secret, SecretAuth};
use crate::client::{store_token, Client};
use crate::logical::{ensure_trailing_slash, sanitize_path};
use crate::output::{self, wrap_at_length, Format};
use crate::secrets::{print_mounts, MountKind, TuneArgs};
use crate::ui::Ui;
use crate::{ctx, data, Exit, HttpArgs};

/// Subcommands of `vaultrs auth`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Enable an auth method at a path (by default the method's type, such as userpass/).
    Enable {
        /// The path to enable the method at.
        #[arg(long, value_name = "PATH")]
        path: Option<String>,

        /// Keep this method on this cluster only: it is not replicated to performance
        /// secondaries.
        #[arg(long)]
        local: bool,

        /// Wrap the method's storage in an extra layer of encryption (seal wrapping).
        #[arg(long)]
        seal_wrap: bool,

        #[command(flatten)]
        tune: TuneArgs,

        /// The type of auth method, such as userpass or approle.
        #[arg(value_name = "TYPE")]
        kind: String,
    },
    /// Disable the auth method at a path, revoking every token it issued.
    Disable {
        /// The method's path, such as userpass/.
        path: String,
    },
    /// List the enabled auth methods.
    List {
        /// Show TTLs, token types, replication (local or replicated) and more.
        #[arg(long)]
        detailed: bool,
    },
    /// Change the settings of an enabled auth method.
    Tune {
        #[command(flatten)]
        tune: TuneArgs,

        /// The method's path.
        path: String,
    },
    /// Move an auth method to a new path, keeping its configuration and users. Every
    /// token it issued at the old path is revoked.
    Move {
        /// The method's current path, such as userpass/ (or auth/userpass/).
        source: String,
        /// The new path, such as corp-userpass/ (or auth/corp-userpass/).
        destination: String,
    },
}

/// `path` as `sys/remount` names an auth method: under `auth/`.
fn auth_path(path: &str) -> String {
    let path = sanitize_path(path);
    if path.starts_with("auth/") {
        path
    } else {
        format!("auth/{path}")
    }
}

/// Arguments of `vaultrs login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The type of auth method: token (the default), userpass, ldap, approle, ...
    #[arg(long, default_value = "token", value_name = "TYPE")]
    pub method: String,

    /// The path the auth method is enabled at (by default its type).
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,

    /// Do not store the token in ~/.vault-token; only print it.
    #[arg(long)]
    pub no_store: bool,

    /// Store the token but do not print it.
    #[arg(long)]
    pub no_print: bool,

    /// Print only the token, without storing it (-field=token -no-store).
    #[arg(long)]
    pub token_only: bool,

    /// Print only this field of the response.
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,

    /// A token (for -method=token), or key=value pairs for the method, such as
    /// username=alice. The password is asked for when it is not given.
    #[arg(value_name = "TOKEN | K=V")]
    pub args: Vec<String>,
}

pub fn run(cmd: AuthCommand, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    let client = Client::new(http, &ui.env)?;
    match cmd {
        AuthCommand::Enable {
            path,
            local,
            seal_wrap,
            tune,
            kind,
        } => {
            let mut config = Map::new();
            if let Some(v) = &tune.default_lease_ttl {
                config.insert("default_lease_ttl".into(), json!(v));
            }
            if let Some(v) = &tune.max_lease_ttl {
                config.insert("max_lease_ttl".into(), json!(v));
            }
            let mut options = data::parse_strings(ui, &tune.options)?;
            if let Some(v) = tune.version {
                options.insert("version".into(), json!(v.to_string()));
            }
            let mount = ensure_trailing_slash(&sanitize_path(path.as_deref().unwrap_or(&kind)));
            let body = json!({
                "type": kind,
                "description": tune.description.clone().unwrap_or_default(),
                "config": config,
                "local": local,
                "seal_wrap": seal_wrap,
                "options": if options.is_empty() { Value::Null } else { Value::Object(options) },
            });
            client
                .write(&format!("sys/auth/{}", mount.trim_end_matches('/')), &body)
                .map_err(|e| ctx(e, "Error enabling"))?;
            ui.info(format!("Success! Enabled {kind} auth method at: {mount}"));
            Ok(0)
        }
        AuthCommand::Disable { path } => {
            let mount = ensure_trailing_slash(&sanitize_path(&path));
            client
                .delete(&format!("sys/auth/{}", mount.trim_end_matches('/')), &[])
                .map_err(|e| ctx(e, format!("Error disabling auth method at {mount}")))?;
            ui.info(format!(
                "Success! Disabled the auth method (if it existed) at: {mount}"
            ));
            Ok(0)
        }
        AuthCommand::List { detailed } => {
            let secret = client
                .read("sys/auth")
                .map_err(|e| ctx(e, "Error listing enabled authentications"))?
                .unwrap_or_default();
            print_mounts(ui, &mounts_from(&secret), detailed, MountKind::Auth)?;
            Ok(0)
        }
        AuthCommand::Tune { tune, path } => {
            let mut body = Map::new();
            if let Some(v) = &tune.default_lease_ttl {
                body.insert("default_lease_ttl".into(), json!(v));
            }
            if let Some(v) = &tune.max_lease_ttl {
                body.insert("max_lease_ttl".into(), json!(v));
            }
            if let Some(d) = &tune.description {
                body.insert("description".into(), json!(d));
            }
            let mut options = data::parse_strings(ui, &tune.options)?;
            if let Some(v) = tune.version {
                options.insert("version".into(), json!(v.to_string()));
            }
            if !options.is_empty() {
                body.insert("options".into(), Value::Object(options));
            }
            let mount = ensure_trailing_slash(&sanitize_path(&path));
            client
                .write(
                    &format!("sys/auth/{}/tune", mount.trim_end_matches('/')),
                    &Value::Object(body),
                )
                .map_err(|e| ctx(e, "Error tuning auth method"))?;
            ui.info(format!("Success! Tuned the auth method at: {mount}"));
            Ok(0)
        }
        AuthCommand::Move {
            source,
            destination,
        } => crate::secrets::remount(
            &client,
            ui,
            &auth_path(&source),
            &auth_path(&destination),
            "auth method",
        ),
    }
}

/// Logs in with a token: looks it up (`auth/token/lookup-self`) and builds the `auth` block
/// from the answer, as Vault's token login does.
fn token_login(client: &Client, ui: &mut Ui, cfg: &Map<String, Value>, ni: bool) -> Result<Secret> {
    let mut token = cfg
        .get("token")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if token.is_empty() {
        token = ui.read_secret("Token (will be hidden)", ni)?;
    } else if token == "-" {
        token = ui.read_stdin()?;
    }
    let token = token.trim().to_string();
    if token.is_empty() {
        return Err(Exit::local(
            "A token must be passed to auth, please view the help for more information",
        )
        .into());
    }
    let mut c = client.without_wrapping();
    c.token = Some(token.clone());
    let looked = c
        .read("auth/token/lookup-self")
        .map_err(|e| ctx(e, "error looking up token"))?
        .ok_or_else(|| Exit::server("empty response from lookup-self"))?;
    let strings = |k: &str| -> Option<Vec<String>> {
        looked
            .get(k)
            .and_then(|v| serde_json::from_value::<Vec<String>>(v.clone()).ok())
    };
    let token_policies = strings("policies");
    let identity_policies = strings("identity_policies");
    let mut all = token_policies.clone().unwrap_or_default();
    all.extend(identity_policies.clone().unwrap_or_default());
    let metadata = looked
        .get("meta")
        .and_then(|m| serde_json::from_value(m.clone()).ok());
    Ok(Secret {
        auth: Some(SecretAuth {
            client_token: token,
            accessor: looked
                .get("accessor")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            policies: Some(all),
            token_policies,
            identity_policies,
            metadata,
            lease_duration: looked.get("ttl").and_then(Value::as_i64).unwrap_or(0),
            renewable: looked
                .get("renewable")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The methods `login -method` knows: Vault's CLI handlers that take key=value pairs, and
/// approle (which Vault's CLI lacks: it logs in at `auth/<path>/login`).
const LOGIN_METHODS: &[&str] = &["token", "userpass", "ldap", "radius", "okta", "approle"];

pub fn login(a: LoginArgs, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    let no_store = a.no_store || a.token_only;
    let field = if a.token_only {
        Some("token".to_string())
    } else {
        a.field.clone()
    };
    if no_store && a.no_print {
        return Err(Exit::local("-no-store and -no-print cannot be used together").into());
    }
    let method = sanitize_path(&a.method);
    let method = if method.is_empty() {
        "token".to_string()
    } else {
        method
    };
    if !LOGIN_METHODS.contains(&method.as_str()) {
        return Err(Exit::local(format!(
            "Unknown auth method: {method}. Use \"vaultrs auth list\" to see the complete list \
             of auth methods. Additionally, some auth methods are only available via the HTTP \
             API."
        ))
        .into());
    }
    let mount = sanitize_path(a.path.as_deref().unwrap_or(&method));

    let mut args = a.args.clone();
    if method == "token" && args.first().is_some_and(|t| !t.contains('=')) {
        args[0] = format!("token={}", args[0]);
    }
    let cfg = data::parse_strings(ui, &args).map_err(|e| {
        Exit::local(format!(
            "Error parsing configuration: {}",
            format!("{e:#}").trim_start_matches("Failed to parse K=V data: ")
        ))
    })?;

    let mut client = Client::new(http, &ui.env)?;
    if method != "token" {
        client.token = None;
    }
    let ni = http.non_interactive;
    let secret = match method.as_str() {
        "token" => token_login(&client, ui, &cfg, ni),
        "userpass" | "ldap" | "radius" | "okta" => {
            let username = cfg
                .get("username")
                .and_then(Value::as_str)
                .filter(|u| !u.is_empty())
                .map(str::to_string)
                .or_else(|| ui.env.get("USER").map(str::to_string))
                .ok_or_else(|| Exit::local("'username' must be specified"))?;
            let password = match cfg.get("password").and_then(Value::as_str) {
                Some(p) => p.to_string(),
                None => ui.read_secret("Password (will be hidden)", ni)?,
            };
            let mut body = cfg.clone();
            body.remove("username");
            body.insert("password".into(), json!(password));
            client
                .write(
                    &format!("auth/{mount}/login/{username}"),
                    &Value::Object(body),
                )
                .and_then(|s| {
                    s.ok_or_else(|| Exit::server("empty response from credential provider").into())
                })
        }
        // Vault's CLI has no approle handler; vaultrs logs in with role_id and secret_id
        // at `auth/<path>/login` (what `vault write auth/approle/login` does).
        _ => client
            .write(&format!("auth/{mount}/login"), &Value::Object(cfg.clone()))
            .and_then(|s| {
                s.ok_or_else(|| Exit::server("empty response from credential provider").into())
            }),
    };
    let mut secret = secret.map_err(|e| ctx(e, "Error authenticating"))?;

    // A wrapped login answer: keep it wrapped when asked to, unwrap it otherwise.
    if secret.auth.is_none() {
        if let Some(w) = secret.wrap_info.clone() {
            if w.wrapped_accessor.is_empty() {
                return Err(Exit::server(
                    "Error extracting token: wrapped response does not contain a token",
                )
                .into());
            }
            if a.token_only {
                output::print_secret_field(ui, &secret, "wrapping_token")?;
                return Ok(0);
            }
            if no_store {
                output::output_secret(ui, &secret)?;
                return Ok(0);
            }
            let mut c = client.without_wrapping();
            c.token = Some(w.token.clone());
            secret = c
                .write("sys/wrapping/unwrap", &json!({}))
                .map_err(|e| ctx(e, "Error extracting token"))?
                .ok_or_else(|| Exit::server("Error extracting token: empty unwrap response"))?;
        }
    }
    let Some(auth) = secret.auth.clone() else {
        return Err(Exit::server(
            "Vault returned a secret, but the secret has no authentication information attached.",
        )
        .into());
    };

    if !no_store {
        if let Err(e) = store_token(&ui.env, &auth.client_token) {
            ui.error(format!("Error storing token: {e:#}"));
            ui.error(
                wrap_at_length(
                    "Authentication was successful, but the token was not persisted. The \
                 resulting token is shown below for your records.",
                    0,
                ) + "\n",
            );
            output::output_secret(ui, &secret)?;
            return Ok(2);
        }
        if ui.env.get("VAULT_TOKEN").is_some() {
            ui.error(
                wrap_at_length(
                    "WARNING! The VAULT_TOKEN environment variable is set! The value of this \
                 variable will take precedence; if this is unwanted please unset VAULT_TOKEN \
                 or update its value accordingly.",
                    0,
                ) + "\n",
            );
        }
    } else if !a.token_only {
        ui.error(
            wrap_at_length(
                "The token was not stored in token helper. Set the VAULT_TOKEN environment \
             variable or pass the token below with each request to Vault.",
                0,
            ) + "\n",
        );
    }
    if a.no_print {
        return Ok(0);
    }
    if let Some(f) = field {
        output::print_secret_field(ui, &secret, &f)?;
        return Ok(0);
    }
    if ui.format == Format::Table {
        ui.info(
            wrap_at_length(
                "Success! You are now authenticated. The token information displayed below \
                 is already stored in the token helper. You do NOT need to run \"vaultrs \
                 login\" again. Future requests will automatically use this token.",
                0,
            ) + "\n",
        );
    }
    output::output_secret(ui, &secret)?;
    Ok(0)
}
