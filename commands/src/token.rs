//! `vaultrs token create|lookup|renew|revoke|capabilities` (`auth/token/*`).

use anyhow::Result;
use clap::Subcommand;
use serde_json::{json, Map, Value};

use crate::client::Client;
use crate::logical::{print_secret, sanitize_path};
use crate::output::{self, Format};
use crate::ui::Ui;
use crate::{ctx, data, Exit, HttpArgs};

/// Subcommands of `vaultrs token`.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum TokenCommand {
    /// Create a token, a child of the token the CLI authenticates with unless -orphan.
    Create {
        /// A custom ID for the token (needs root or sudo).
        #[arg(long, value_name = "ID")]
        id: Option<String>,
        /// A policy to attach. Repeat for several.
        #[arg(long = "policy", value_name = "NAME")]
        policies: Vec<String>,
        /// A key=value pair of metadata. Repeat for several.
        #[arg(long, value_name = "K=V")]
        metadata: Vec<String>,
        /// The token's time to live, such as 30m or 24h.
        #[arg(long, value_name = "DURATION")]
        ttl: Option<String>,
        /// A hard limit on the token's lifetime, renewals included.
        #[arg(long, value_name = "DURATION")]
        explicit_max_ttl: Option<String>,
        /// Make a periodic token, renewable forever by this period.
        #[arg(long, value_name = "DURATION")]
        period: Option<String>,
        /// Whether the token can be renewed (true or false).
        #[arg(long, value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
        renewable: Option<bool>,
        /// Create a token with no parent: it outlives the token that made it.
        #[arg(long)]
        orphan: bool,
        /// Do not attach the "default" policy.
        #[arg(long)]
        no_default_policy: bool,
        /// A name shown in audit logs and lookups.
        #[arg(long, value_name = "NAME")]
        display_name: Option<String>,
        /// How many times the token can be used (0: unlimited).
        #[arg(long, value_name = "N")]
        use_limit: Option<u64>,
        /// The token type: service or batch.
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// Create the token from this token role.
        #[arg(long, value_name = "NAME")]
        role: Option<String>,
        /// Print only this field of the response, such as token.
        #[arg(long, value_name = "NAME")]
        field: Option<String>,
    },
    /// Print a token's properties (the CLI's own token when none is given).
    Lookup {
        /// Treat the argument as a token accessor.
        #[arg(long)]
        accessor: bool,
        /// The token or accessor.
        token: Option<String>,
    },
    /// Renew a token's lease (the CLI's own token when none is given).
    Renew {
        /// Ask for this much more time, such as 1h.
        #[arg(long, short = 'i', value_name = "DURATION")]
        increment: Option<String>,
        /// Treat the argument as a token accessor.
        #[arg(long)]
        accessor: bool,
        /// The token or accessor.
        token: Option<String>,
    },
    /// Revoke a token and, unless -mode=orphan, all of its children.
    Revoke {
        /// Revoke the token the CLI authenticates with.
        #[arg(long = "self")]
        revoke_self: bool,
        /// Treat the argument as a token accessor.
        #[arg(long)]
        accessor: bool,
        /// "orphan" keeps the token's children, making them orphans.
        #[arg(long, value_name = "MODE", value_parser = ["", "orphan", "path"])]
        mode: Option<String>,
        /// The token or accessor (or a path prefix with -mode=path).
        token: Option<String>,
    },
    /// Print the capabilities a token has on a path.
    Capabilities {
        /// Treat the token argument as an accessor.
        #[arg(long)]
        accessor: bool,
        /// [TOKEN] PATH: with one argument, the CLI's own token on PATH.
        #[arg(value_name = "TOKEN PATH", num_args = 1..=2, required = true)]
        args: Vec<String>,
    },
}

pub fn run(cmd: TokenCommand, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    let client = Client::new(http, &ui.env)?;
    match cmd {
        TokenCommand::Create {
            id,
            policies,
            metadata,
            ttl,
            explicit_max_ttl,
            period,
            renewable,
            orphan,
            no_default_policy,
            display_name,
            use_limit,
            kind,
            role,
            field,
        } => {
            let meta = data::parse_strings(ui, &metadata)?;
            let mut body = Map::new();
            let mut put = |k: &str, v: Value| {
                body.insert(k.to_string(), v);
            };
            if let Some(v) = id {
                put("id", json!(v));
            }
            let policies: Vec<String> = policies
                .iter()
                .flat_map(|p| p.split(','))
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
            if !policies.is_empty() {
                put("policies", json!(policies));
            }
            if !meta.is_empty() {
                put("meta", Value::Object(meta));
            }
            if let Some(v) = ttl {
                put("ttl", json!(v));
            }
            if let Some(v) = explicit_max_ttl {
                put("explicit_max_ttl", json!(v));
            }
            if let Some(v) = period {
                put("period", json!(v));
            }
            if let Some(v) = renewable {
                put("renewable", json!(v));
            }
            if no_default_policy {
                put("no_default_policy", json!(true));
            }
            if let Some(v) = display_name {
                put("display_name", json!(v));
            }
            if let Some(v) = use_limit {
                put("num_uses", json!(v));
            }
            if let Some(v) = kind {
                put("type", json!(v));
            }
            let path = match (&role, orphan) {
                (Some(r), _) => format!("auth/token/create/{}", sanitize_path(r)),
                (None, true) => "auth/token/create-orphan".to_string(),
                (None, false) => "auth/token/create".to_string(),
            };
            let secret = client
                .write(&path, &Value::Object(body))
                .map_err(|e| ctx(e, "Error creating token"))?
                .ok_or_else(|| Exit::server("Error creating token: empty response"))?;
            print_secret(ui, &secret, field.as_deref())?;
            Ok(0)
        }
        TokenCommand::Lookup { accessor, token } => {
            let secret = match (token, accessor) {
                (None, true) => {
                    return Err(Exit::local("Not enough arguments (expected 1, got 0)").into())
                }
                (None, false) => client.read("auth/token/lookup-self"),
                (Some(a), true) => {
                    client.write("auth/token/lookup-accessor", &json!({ "accessor": a }))
                }
                (Some(t), false) => client.write("auth/token/lookup", &json!({ "token": t })),
            }
            .map_err(|e| ctx(e, "Error looking up token"))?
            .ok_or_else(|| Exit::server("Error looking up token: empty response"))?;
            output::output_secret(ui, &secret)?;
            Ok(0)
        }
        TokenCommand::Renew {
            increment,
            accessor,
            token,
        } => {
            let mut body = Map::new();
            if let Some(i) = increment {
                body.insert("increment".into(), json!(i));
            }
            let path = match (&token, accessor) {
                (None, true) => {
                    return Err(Exit::local("Not enough arguments (expected 1, got 0)").into())
                }
                (None, false) => "auth/token/renew-self",
                (Some(a), true) => {
                    body.insert("accessor".into(), json!(a));
                    "auth/token/renew-accessor"
                }
                (Some(t), false) => {
                    body.insert("token".into(), json!(t));
                    "auth/token/renew"
                }
            };
            let secret = client
                .write(path, &Value::Object(body))
                .map_err(|e| ctx(e, "Error renewing token"))?
                .ok_or_else(|| Exit::server("Error renewing token: empty response"))?;
            output::output_secret(ui, &secret)?;
            Ok(0)
        }
        TokenCommand::Revoke {
            revoke_self,
            accessor,
            mode,
            token,
        } => {
            let mode = mode.unwrap_or_default();
            let result =
                match (revoke_self, token) {
                    (true, Some(_)) => return Err(Exit::local(
                        "Too many arguments: -self revokes the CLI's own token and takes no token",
                    )
                    .into()),
                    (true, None) => client.write("auth/token/revoke-self", &json!({})),
                    (false, None) => {
                        return Err(Exit::local("Not enough arguments (expected 1, got 0)").into())
                    }
                    (false, Some(t)) => {
                        if accessor {
                            if !mode.is_empty() {
                                return Err(Exit::local(
                                    "Use of -mode is not supported with -accessor",
                                )
                                .into());
                            }
                            client.write("auth/token/revoke-accessor", &json!({ "accessor": t }))
                        } else if mode == "orphan" {
                            client.write("auth/token/revoke-orphan", &json!({ "token": t }))
                        } else if mode == "path" {
                            client.write(
                                &format!("sys/leases/revoke-prefix/{}", sanitize_path(&t)),
                                &json!({}),
                            )
                        } else {
                            client.write("auth/token/revoke", &json!({ "token": t }))
                        }
                    }
                };
            result.map_err(|e| ctx(e, "Error revoking token"))?;
            ui.info("Success! Revoked token (if it existed)");
            Ok(0)
        }
        TokenCommand::Capabilities { accessor, args } => {
            let (token, path) = match args.as_slice() {
                [p] => (None, sanitize_path(p)),
                [t, p] => (Some(t.clone()), sanitize_path(p)),
                _ => return Err(Exit::local("Expected [TOKEN] PATH").into()),
            };
            let secret = match (&token, accessor) {
                (None, true) => {
                    return Err(Exit::local("-accessor needs a token accessor and a path").into())
                }
                (None, false) => client.write("sys/capabilities-self", &json!({ "paths": [path] })),
                (Some(a), true) => client.write(
                    "sys/capabilities-accessor",
                    &json!({ "accessor": a, "paths": [path] }),
                ),
                (Some(t), false) => {
                    client.write("sys/capabilities", &json!({ "token": t, "paths": [path] }))
                }
            }
            .map_err(|e| ctx(e, "Error listing capabilities"))?
            .unwrap_or_default();
            let caps = secret
                .get(&path)
                .or_else(|| secret.get("capabilities"))
                .and_then(|v| serde_json::from_value::<Vec<String>>(v.clone()).ok())
                .unwrap_or_default();
            let mut sorted = caps.clone();
            sorted.sort();
            match ui.format {
                Format::Table => ui.info(sorted.join(", ")),
                _ => output::output_data(ui, &json!(caps))?,
            }
            Ok(0)
        }
    }
}
