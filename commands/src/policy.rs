//! `vaultrs policy write|read|list|delete|fmt`: ACL policies (`sys/policies/acl`).

use anyhow::{Context, Result};
use clap::Subcommand;
use serde_json::json;

use crate::client::Client;
use crate::output::{self, Format};
use crate::ui::Ui;
use crate::{ctx, Exit, HttpArgs};

/// Subcommands of `vaultrs policy`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Upload a policy from a file, or from stdin with "-".
    Write {
        /// The policy's name (stored in lower case).
        name: String,
        /// The HCL or JSON policy file, or "-" for stdin.
        #[arg(value_name = "PATH")]
        file: String,
    },
    /// Print a policy.
    Read {
        /// The policy's name.
        name: String,
    },
    /// List the names of all policies.
    List,
    /// Delete a policy. Tokens that carry it lose its permissions at once.
    Delete {
        /// The policy's name.
        name: String,
    },
    /// Check a policy file and rewrite it in the canonical HCL layout.
    Fmt {
        /// The policy file to format in place.
        #[arg(value_name = "PATH")]
        file: String,
    },
}

pub fn run(cmd: PolicyCommand, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    if let PolicyCommand::Fmt { file } = &cmd {
        return fmt(ui, file);
    }
    let client = Client::new(http, &ui.env)?;
    match cmd {
        PolicyCommand::Write { name, file } => {
            let name = name.trim().to_lowercase();
            let rules = if file == "-" {
                ui.read_stdin()?
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| Exit::local(format!("Error opening policy file: {e}")))?
            };
            client
                .write(
                    &format!("sys/policies/acl/{name}"),
                    &json!({ "policy": rules }),
                )
                .map_err(|e| ctx(e, "Error uploading policy"))?;
            ui.info(format!("Success! Uploaded policy: {name}"));
            Ok(0)
        }
        PolicyCommand::Read { name } => {
            let name = name.trim().to_lowercase();
            let secret = client
                .read(&format!("sys/policies/acl/{name}"))
                .map_err(|e| ctx(e, format!("Error reading policy named {name}")))?;
            let rules = secret
                .as_ref()
                .and_then(|s| s.get("policy").or_else(|| s.get("rules")))
                .and_then(|v| v.as_str())
                .map(str::to_string);
            let Some(rules) = rules else {
                return Err(Exit::server(format!("No policy named: {name}")).into());
            };
            match ui.format {
                Format::Table => ui.info(rules.trim()),
                _ => output::output_data(ui, &json!({ "name": name, "policy": rules }))?,
            }
            Ok(0)
        }
        PolicyCommand::List => {
            let secret = client
                .list("sys/policies/acl")
                .map_err(|e| ctx(e, "Error listing policies"))?;
            let names: Vec<String> = secret
                .as_ref()
                .and_then(|s| s.get("keys"))
                .and_then(|k| serde_json::from_value(k.clone()).ok())
                .unwrap_or_default();
            match ui.format {
                Format::Table => {
                    for n in names {
                        ui.info(n);
                    }
                }
                _ => output::output_data(ui, &json!(names))?,
            }
            Ok(0)
        }
        PolicyCommand::Delete { name } => {
            let name = name.trim().to_lowercase();
            client
                .delete(&format!("sys/policies/acl/{name}"), &[])
                .map_err(|e| ctx(e, format!("Error deleting {name}")))?;
            ui.info(format!("Success! Deleted policy: {name}"));
            Ok(0)
        }
        PolicyCommand::Fmt { .. } => unreachable!("handled above"),
    }
}

/// The keys a `path` block may hold.
const PATH_KEYS: &[&str] = &[
    "capabilities",
    "policy",
    "allowed_parameters",
    "denied_parameters",
    "required_parameters",
    "min_wrapping_ttl",
    "max_wrapping_ttl",
    "control_group",
    "mfa_methods",
    "expiration",
];

/// Checks that `text` is an HCL policy made of `path "..." { ... }` blocks, and returns
/// it in canonical layout.
pub fn format_policy(text: &str) -> Result<String> {
    let body = hcl::parse(text).context("Error parsing policy")?;
    for s in body.iter() {
        match s {
            hcl::Structure::Block(b) if b.identifier.as_str() == "path" => {
                if b.labels.len() != 1 {
                    anyhow::bail!("Error parsing policy: a path block takes exactly one path");
                }
                for inner in b.body.iter() {
                    let key = match inner {
                        hcl::Structure::Attribute(a) => a.key.as_str(),
                        hcl::Structure::Block(b) => b.identifier.as_str(),
                    };
                    if !PATH_KEYS.contains(&key) {
                        anyhow::bail!("Error parsing policy: invalid key {key:?} in a path block");
                    }
                }
            }
            hcl::Structure::Block(b) => {
                anyhow::bail!(
                    "Error parsing policy: invalid key {:?}",
                    b.identifier.as_str()
                )
            }
            hcl::Structure::Attribute(a) => {
                anyhow::bail!("Error parsing policy: invalid key {:?}", a.key.as_str())
            }
        }
    }
    use hcl::format::Format as _;
    let mut fmt = hcl::format::Formatter::builder()
        .compact_arrays(true)
        .build_vec();
    body.format(&mut fmt).context("Error formatting policy")?;
    let mut out = String::from_utf8(fmt.into_inner()).context("Error formatting policy")?;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

fn fmt(ui: &mut Ui, file: &str) -> Result<u8> {
    let path = crate::generate::expand_home(&ui.env, file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Exit::local(format!("Error opening policy file: {e}")))?;
    let formatted = format_policy(&text).map_err(|e| Exit::local(format!("{e:#}")))?;
    std::fs::write(&path, formatted)
        .map_err(|e| Exit::local(format!("Error writing policy file: {e}")))?;
    ui.info(format!("Success! Formatted policy: {file}"));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_validates() {
        let messy = "path   \"secret/data/*\"{\ncapabilities=[\"read\",\"list\"]\n}\n";
        let got = format_policy(messy).unwrap();
        assert!(got.contains("path \"secret/data/*\" {"), "{got}");
        assert!(got.contains("capabilities = [\"read\", \"list\"]"), "{got}");
        // Formatting is idempotent.
        assert_eq!(format_policy(&got).unwrap(), got);
        assert!(format_policy("nope \"x\" {}").is_err());
        assert!(format_policy("path \"x\" { bogus = 1 }").is_err());
        assert!(format_policy("path \"x\" {").is_err());
    }
}
