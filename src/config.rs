//! The server configuration file: HCL as Vault writes it, or JSON.
//!
//! ```hcl
//! storage "file" { path = "/var/lib/vaultrs" }
//! listener "tcp" {
//!   address       = "127.0.0.1:8200"
//!   tls_disable   = true            # or tls_cert_file + tls_key_file
//!   max_request_size = 33554432
//!   telemetry { unauthenticated_metrics_access = true }
//! }
//! telemetry {
//!   prometheus_retention_time = "24h"   # 0 turns sys/metrics?format=prometheus off
//!   disable_hostname = true
//! }
//! api_addr      = "http://127.0.0.1:8200"
//! cluster_addr  = "https://127.0.0.1:8201"
//! disable_mlock = true
//! ui            = true
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::logical::ttl_from_json;

/// One TCP listener.
#[derive(Clone, Debug, PartialEq)]
pub struct Listener {
    pub address: String,
    pub tls: Option<Tls>,
    pub max_request_size: usize,
    pub disable_unauthed_generate_root_endpoints: bool,
    /// `telemetry { unauthenticated_metrics_access }`: `sys/metrics` without a token.
    pub unauthenticated_metrics_access: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// The parsed configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub storage_path: PathBuf,
    pub listeners: Vec<Listener>,
    pub api_addr: Option<String>,
    pub cluster_addr: Option<String>,
    pub default_lease_ttl: Option<Duration>,
    pub max_lease_ttl: Option<Duration>,
    pub log_level: Option<String>,
    /// Vault's `allow_audit_log_prefixing`: lets `file` audit devices take `prefix`.
    pub allow_audit_log_prefixing: bool,
    /// The top-level `telemetry { prometheus_retention_time }`: zero (no `telemetry`
    /// block, or an explicit 0) leaves `sys/metrics` without its Prometheus format.
    pub prometheus_retention_time: Duration,
}

/// Vault's `prometheus_retention_time` when a `telemetry` block does not set it (and in
/// dev mode): 24 hours.
pub const PROMETHEUS_DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Vault's default `max_request_size`: 32 MiB.
pub const DEFAULT_MAX_REQUEST_SIZE: usize = 32 << 20;

fn truthy(v: &Value) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(n.as_i64() != Some(0)),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" | "" => Ok(false),
            _ => Err(Error::invalid(format!("expected a boolean, got {s:?}"))),
        },
        _ => Err(Error::invalid("expected a boolean")),
    }
}

fn string(v: &Value, what: &str) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(Error::invalid(format!("{what} must be a string"))),
    }
}

/// The body of an unlabelled block (`telemetry { ... }`): HCL and JSON give an object or a
/// list of one; Vault allows one block.
fn single_block<'a>(
    root: &'a Map<String, Value>,
    kind: &str,
) -> Result<Option<&'a Map<String, Value>>> {
    match root.get(kind) {
        None => Ok(None),
        Some(Value::Object(body)) => Ok(Some(body)),
        Some(Value::Array(items)) => match items.as_slice() {
            [Value::Object(body)] => Ok(Some(body)),
            [] => Ok(None),
            _ => Err(Error::invalid(format!(
                "only one '{kind}' block is permitted"
            ))),
        },
        Some(_) => Err(Error::invalid(format!("{kind} must be a block"))),
    }
}

/// The top-level `telemetry` block's `prometheus_retention_time` (Vault's default, 24h,
/// when the block leaves it out; zero without a block). The block's other settings
/// (`disable_hostname`, sinks) are accepted and have nothing to change here.
fn prometheus_retention(root: &Map<String, Value>) -> Result<Duration> {
    let Some(telemetry) = single_block(root, "telemetry")? else {
        return Ok(Duration::ZERO);
    };
    match telemetry.get("prometheus_retention_time") {
        None => Ok(PROMETHEUS_DEFAULT_RETENTION),
        Some(v) => ttl_from_json(v)
            .ok_or_else(|| Error::invalid(format!("invalid prometheus_retention_time: {v}"))),
    }
}

/// The bodies of `kind "label" { ... }` blocks: HCL and JSON give objects or lists of them.
fn blocks<'a>(root: &'a Map<String, Value>, kind: &str) -> Vec<(&'a str, &'a Map<String, Value>)> {
    let mut out = Vec::new();
    let mut push_labelled = |v: &'a Value| {
        if let Value::Object(labels) = v {
            for (label, body) in labels {
                match body {
                    Value::Object(b) => out.push((label.as_str(), b)),
                    Value::Array(items) => {
                        for item in items {
                            if let Value::Object(b) = item {
                                out.push((label.as_str(), b));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    };
    match root.get(kind) {
        Some(Value::Array(items)) => items.iter().for_each(&mut push_labelled),
        Some(v) => push_labelled(v),
        None => {}
    }
    out
}

impl Config {
    /// Reads and parses `path` (JSON when it ends in `.json`, HCL otherwise).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::invalid(format!("reading {}: {e}", path.display())))?;
        let is_json = path.extension().is_some_and(|e| e == "json");
        Self::parse(&text, is_json)
    }

    pub fn parse(text: &str, is_json: bool) -> Result<Self> {
        let value: Value = if is_json {
            serde_json::from_str(text)
                .map_err(|e| Error::invalid(format!("invalid JSON config: {e}")))?
        } else {
            hcl::from_str(text).map_err(|e| Error::invalid(format!("invalid HCL config: {e}")))?
        };
        let Value::Object(root) = value else {
            return Err(Error::invalid("the configuration must be an object"));
        };
        let storage = blocks(&root, "storage");
        let storage_path = match storage.as_slice() {
            [("file", body)] => PathBuf::from(string(
                body.get("path")
                    .ok_or_else(|| Error::invalid("storage \"file\" needs a path"))?,
                "storage path",
            )?),
            [(other, _)] => {
                return Err(Error::invalid(format!(
                    "storage {other:?} is not supported: use storage \"file\""
                )))
            }
            [] => return Err(Error::invalid("a storage \"file\" block is required")),
            _ => return Err(Error::invalid("exactly one storage block is allowed")),
        };
        let mut listeners = Vec::new();
        for (kind, body) in blocks(&root, "listener") {
            if kind != "tcp" {
                return Err(Error::invalid(format!(
                    "listener {kind:?} is not supported"
                )));
            }
            let address = body
                .get("address")
                .map(|v| string(v, "address"))
                .transpose()?
                .unwrap_or_else(|| "127.0.0.1:8200".into());
            let tls_disable = body
                .get("tls_disable")
                .map(truthy)
                .transpose()?
                .unwrap_or(false);
            let tls =
                if tls_disable {
                    None
                } else {
                    let cert = body
                        .get("tls_cert_file")
                        .map(|v| string(v, "tls_cert_file"))
                        .transpose()?;
                    let key = body
                        .get("tls_key_file")
                        .map(|v| string(v, "tls_key_file"))
                        .transpose()?;
                    match (cert, key) {
                        (Some(c), Some(k)) => Some(Tls {
                            cert_file: c.into(),
                            key_file: k.into(),
                        }),
                        _ => return Err(Error::invalid(
                            "listener: set tls_cert_file and tls_key_file, or tls_disable = true",
                        )),
                    }
                };
            let max_request_size = match body.get("max_request_size") {
                None => DEFAULT_MAX_REQUEST_SIZE,
                Some(v) => {
                    let n = v
                        .as_i64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                        .ok_or_else(|| Error::invalid("max_request_size must be an integer"))?;
                    match n {
                        0 => DEFAULT_MAX_REQUEST_SIZE,
                        n if n < 0 => usize::MAX,
                        n => n as usize,
                    }
                }
            };
            let disable_unauthed = body
                .get("disable_unauthed_generate_root_endpoints")
                .map(truthy)
                .transpose()?
                .unwrap_or(false);
            let unauthenticated_metrics_access = single_block(body, "telemetry")?
                .and_then(|t| t.get("unauthenticated_metrics_access"))
                .map(truthy)
                .transpose()?
                .unwrap_or(false);
            listeners.push(Listener {
                address,
                tls,
                max_request_size,
                disable_unauthed_generate_root_endpoints: disable_unauthed,
                unauthenticated_metrics_access,
            });
        }
        if listeners.is_empty() {
            return Err(Error::invalid(
                "at least one listener \"tcp\" block is required",
            ));
        }
        let opt_string = |k: &str| root.get(k).map(|v| string(v, k)).transpose();
        let duration = |k: &str| -> Result<Option<Duration>> {
            match root.get(k) {
                None => Ok(None),
                Some(v) => ttl_from_json(v)
                    .map(Some)
                    .ok_or_else(|| Error::invalid(format!("invalid {k}: {v}"))),
            }
        };
        let allow_audit_log_prefixing = root
            .get("allow_audit_log_prefixing")
            .map(truthy)
            .transpose()?
            .unwrap_or(false);
        // Accepted for compatibility; vaultrs never swaps and serves no UI.
        for flag in ["disable_mlock", "ui"] {
            if let Some(v) = root.get(flag) {
                truthy(v)?;
            }
        }
        Ok(Config {
            storage_path,
            listeners,
            api_addr: opt_string("api_addr")?,
            cluster_addr: opt_string("cluster_addr")?,
            default_lease_ttl: duration("default_lease_ttl")?,
            max_lease_ttl: duration("max_lease_ttl")?,
            log_level: opt_string("log_level")?,
            allow_audit_log_prefixing,
            prometheus_retention_time: prometheus_retention(&root)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hcl_as_vault_writes_it() {
        let c = Config::parse(
            r#"
            storage "file" { path = "/tmp/v" }
            listener "tcp" {
              address = "127.0.0.1:8300"
              tls_disable = 1
              max_request_size = 1024
            }
            api_addr = "http://127.0.0.1:8300"
            cluster_addr = "https://127.0.0.1:8301"
            disable_mlock = true
            ui = true
            default_lease_ttl = "1h"
            "#,
            false,
        )
        .unwrap();
        assert_eq!(c.storage_path, PathBuf::from("/tmp/v"));
        assert_eq!(c.listeners[0].address, "127.0.0.1:8300");
        assert_eq!(c.listeners[0].tls, None);
        assert_eq!(c.listeners[0].max_request_size, 1024);
        assert_eq!(c.default_lease_ttl, Some(Duration::from_secs(3600)));
    }

    #[test]
    fn json_and_tls() {
        let c = Config::parse(
            r#"{"storage": {"file": {"path": "/d"}},
                "listener": [{"tcp": {"address": "0.0.0.0:8200", "tls_cert_file": "c.pem", "tls_key_file": "k.pem"}}]}"#,
            true,
        )
        .unwrap();
        assert_eq!(
            c.listeners[0].tls.as_ref().unwrap().cert_file,
            PathBuf::from("c.pem")
        );
        assert_eq!(c.listeners[0].max_request_size, DEFAULT_MAX_REQUEST_SIZE);
    }

    #[test]
    fn telemetry_blocks_in_hcl_and_json() {
        let base = r#"storage "file" { path = "/d" }"#;
        let parse = |rest: &str| Config::parse(&format!("{base}\n{rest}"), false);
        let c = parse(r#"listener "tcp" { tls_disable = true }"#).unwrap();
        assert!(!c.listeners[0].unauthenticated_metrics_access);
        assert_eq!(c.prometheus_retention_time, Duration::ZERO);
        let c = parse(
            r#"listener "tcp" {
                 tls_disable = true
                 telemetry { unauthenticated_metrics_access = true }
               }
               telemetry { disable_hostname = true }"#,
        )
        .unwrap();
        assert!(c.listeners[0].unauthenticated_metrics_access);
        assert_eq!(c.prometheus_retention_time, PROMETHEUS_DEFAULT_RETENTION);
        let c = parse(
            r#"listener "tcp" { tls_disable = true }
               telemetry { prometheus_retention_time = "30s" }"#,
        )
        .unwrap();
        assert_eq!(c.prometheus_retention_time, Duration::from_secs(30));
        let c = parse(
            r#"listener "tcp" { tls_disable = true }
               telemetry { prometheus_retention_time = 0 }"#,
        )
        .unwrap();
        assert_eq!(c.prometheus_retention_time, Duration::ZERO);

        let c = Config::parse(
            r#"{"storage": {"file": {"path": "/d"}},
                "listener": {"tcp": {"tls_disable": true,
                                     "telemetry": {"unauthenticated_metrics_access": "true"}}},
                "telemetry": {"prometheus_retention_time": "1h"}}"#,
            true,
        )
        .unwrap();
        assert!(c.listeners[0].unauthenticated_metrics_access);
        assert_eq!(c.prometheus_retention_time, Duration::from_secs(3600));

        for bad in [
            r#"listener "tcp" { tls_disable = true } telemetry { prometheus_retention_time = "soon" }"#,
            r#"listener "tcp" {
                 tls_disable = true
                 telemetry { unauthenticated_metrics_access = "perhaps" }
               }"#,
            r#"listener "tcp" { tls_disable = true } telemetry {} telemetry {}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        for bad in [
            r#"storage "consul" { path = "x" } listener "tcp" { tls_disable = true }"#,
            r#"listener "tcp" { tls_disable = true }"#,
            r#"storage "file" { path = "x" }"#,
            r#"storage "file" { path = "x" } listener "tcp" { }"#,
            r#"storage "file" { path = "x" } listener "tcp" { tls_disable = "maybe" }"#,
            "storage {{{",
        ] {
            assert!(Config::parse(bad, false).is_err(), "{bad}");
        }
    }
}
