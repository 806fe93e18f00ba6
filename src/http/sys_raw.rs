//! The unauthenticated `sys/` endpoints that answer bare JSON objects: `init`,
//! `seal-status`, `unseal`, `health`, `leader`, `generate-root/attempt|update` (unless
//! the listener turns them off), and the `rekey` family (in [`super::sys_rekey`]).

use axum::http::{Method, StatusCode};
use axum::response::Response as HttpResponse;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::{empty_response, json_response};
use crate::core::generate_root::decode_key;
use crate::core::seal_keys::{validate_split, InitPgp};
use crate::core::Core;
use crate::error::Error;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Whether `path` is one of the raw endpoints. With `generate_root` false (the listener's
/// `disable_unauthed_generate_root_endpoints`) the generate-root family is not: as in
/// OpenBao, it then goes through the authenticated pipeline, which has no such path.
pub fn is_raw(path: &str, generate_root: bool) -> bool {
    match path.trim_end_matches('/') {
        "sys/init" | "sys/seal-status" | "sys/unseal" | "sys/health" | "sys/leader" => true,
        "sys/generate-root/attempt" | "sys/generate-root/update" => generate_root,
        trimmed => super::sys_rekey::is_rekey(trimmed),
    }
}

/// Field lookup by case-insensitive name, as Go's JSON decoding matches struct fields.
pub(super) fn field<'a>(data: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    data.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

pub(super) fn int_field(data: &Map<String, Value>, name: &str) -> Result<i64, Error> {
    match field(data, name) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| Error::invalid(format!("{name} must be an integer"))),
    }
}

pub async fn serve(
    core: &Core,
    method: &Method,
    path: &str,
    query: &Map<String, Value>,
    data: Map<String, Value>,
) -> Result<HttpResponse, Error> {
    let is_read = *method == Method::GET || *method == Method::HEAD;
    let is_write = *method == Method::PUT || *method == Method::POST;
    let trimmed = path.trim_end_matches('/');
    if super::sys_rekey::is_rekey(trimmed) {
        return super::sys_rekey::serve(core, method, trimmed, data).await;
    }
    match trimmed {
        "sys/init" if is_read => {
            let initialized = core.barrier().is_initialized().await?;
            Ok(json_response(
                StatusCode::OK,
                &json!({ "initialized": initialized }),
            ))
        }
        "sys/init" if is_write => init(core, &data).await,
        "sys/seal-status" if is_read => {
            Ok(json_response(StatusCode::OK, &seal_status(core).await?))
        }
        "sys/unseal" if is_write => unseal(core, &data).await,
        "sys/generate-root/attempt" if is_read => Ok(json_response(
            StatusCode::OK,
            &core.generate_root_status().await?.to_json(),
        )),
        "sys/generate-root/attempt" if is_write => generate_root_init(core, &data).await,
        "sys/generate-root/attempt" if *method == Method::DELETE => {
            core.generate_root_cancel()?;
            Ok(empty_response(StatusCode::NO_CONTENT))
        }
        "sys/generate-root/update" if is_write => generate_root_update(core, &data).await,
        "sys/health" if is_read => health(core, query, *method == Method::HEAD).await,
        "sys/leader" if is_read => Ok(json_response(
            StatusCode::OK,
            &json!({
                "ha_enabled": false,
                "is_self": false,
                "active_time": "0001-01-01T00:00:00Z",
                "leader_address": "",
                "leader_cluster_address": "",
                "performance_standby": false,
                "performance_standby_last_remote_wal": 0,
            }),
        )),
        _ => Ok(super::error::method_not_allowed()),
    }
}

async fn init(core: &Core, data: &Map<String, Value>) -> Result<HttpResponse, Error> {
    let shares = int_field(data, "secret_shares")?;
    let threshold = int_field(data, "secret_threshold")?;
    for name in ["recovery_shares", "recovery_threshold"] {
        if int_field(data, name)? > 0 || !str_list(data, "recovery_pgp_keys")?.is_empty() {
            return Err(Error::invalid(
                "parameters recovery_shares,recovery_threshold,recovery_pgp_keys not applicable to seal type shamir",
            ));
        }
    }
    validate_split(shares, threshold)?;
    let pgp = InitPgp::parse(
        &str_list(data, "pgp_keys")?,
        str_field(data, "root_token_pgp_key")?,
        shares as usize,
    )?;
    let result = core
        .init_with_pgp(shares as usize, threshold as usize, &pgp)
        .await?;
    let keys: Vec<String> = result.keys.iter().map(|k| hex::encode(&k[..])).collect();
    let keys_b64: Vec<String> = result
        .keys
        .iter()
        .map(|k| base64::engine::general_purpose::STANDARD.encode(&k[..]))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "keys": keys, "keys_base64": keys_b64, "root_token": result.root_token.as_str() }),
    ))
}

async fn seal_status(core: &Core) -> Result<Value, Error> {
    let status = core.seal_status().await?;
    let mut body = json!({
        "type": "shamir",
        "initialized": status.initialized,
        "sealed": status.sealed,
        "t": status.threshold,
        "n": status.shares,
        "progress": status.progress,
        "nonce": status.nonce,
        "version": VERSION,
        "build_date": "",
        "migration": false,
        "recovery_seal": false,
        "storage_type": core.config().storage_type,
    });
    if !status.sealed {
        if let Some((name, id)) = core.cluster_identity() {
            body["cluster_name"] = name.into();
            body["cluster_id"] = id.into();
        }
    }
    Ok(body)
}

/// A list of strings by case-insensitive name; JSON null and absent are empty.
pub(super) fn str_list(data: &Map<String, Value>, name: &str) -> Result<Vec<String>, Error> {
    let bad = || Error::invalid(format!("'{name}' must be a list of strings"));
    match field(data, name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
            .collect(),
        Some(_) => Err(bad()),
    }
}

/// A string field by case-insensitive name; JSON null and absent are `None`.
pub(super) fn str_field<'a>(
    data: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, Error> {
    match field(data, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::invalid(format!("'{name}' must be a string"))),
    }
}

async fn generate_root_init(core: &Core, data: &Map<String, Value>) -> Result<HttpResponse, Error> {
    let otp = str_field(data, "otp")?;
    let pgp_key = str_field(data, "pgp_key")?;
    let status = core.generate_root_init(otp, pgp_key).await?;
    Ok(json_response(StatusCode::OK, &status.to_json()))
}

async fn generate_root_update(
    core: &Core,
    data: &Map<String, Value>,
) -> Result<HttpResponse, Error> {
    let key = match str_field(data, "key")? {
        Some(k) if !k.is_empty() => k,
        _ => {
            return Err(Error::invalid(
                "'key' must be specified in request body as JSON",
            ))
        }
    };
    let share = decode_key(key)?;
    let nonce = str_field(data, "nonce")?.unwrap_or_default();
    let status = core.generate_root_update(&share, nonce).await?;
    Ok(json_response(StatusCode::OK, &status.to_json()))
}

async fn unseal(core: &Core, data: &Map<String, Value>) -> Result<HttpResponse, Error> {
    let reset = matches!(field(data, "reset"), Some(Value::Bool(true)));
    if reset {
        if !core.is_sealed() {
            return Err(Error::invalid("vault is unsealed"));
        }
        core.unseal_reset();
        return Ok(json_response(StatusCode::OK, &seal_status(core).await?));
    }
    let key = match field(data, "key") {
        Some(Value::String(k)) if !k.is_empty() => k.clone(),
        _ => {
            return Err(Error::invalid(
                "'key' must be specified in request body as JSON, or 'reset' set to true",
            ))
        }
    };
    if !core.barrier().is_initialized().await? {
        return Err(Error::NotInitialized);
    }
    let key = decode_key(&key)?;
    if core.is_sealed() {
        core.unseal(&key).await?;
    }
    Ok(json_response(StatusCode::OK, &seal_status(core).await?))
}

/// The status-code overrides of `sys/health`, all parsed up front as Vault does: any bad
/// value is a 400 whatever the state.
struct HealthCodes {
    active: StatusCode,
    sealed: StatusCode,
    uninit: StatusCode,
}

fn health_codes(query: &Map<String, Value>) -> Option<HealthCodes> {
    let code = |name: &str, default: u16| -> Option<StatusCode> {
        match query.get(name) {
            None => StatusCode::from_u16(default).ok(),
            Some(Value::String(s)) => s
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok()),
            Some(_) => None,
        }
    };
    for flag in ["standbyok", "perfstandbyok"] {
        match query.get(flag) {
            None => {}
            Some(Value::String(s))
                if matches!(
                    s.as_str(),
                    "1" | "t"
                        | "T"
                        | "true"
                        | "TRUE"
                        | "True"
                        | "0"
                        | "f"
                        | "F"
                        | "false"
                        | "FALSE"
                        | "False"
                ) => {}
            Some(_) => return None,
        }
    }
    for (name, default) in [
        ("standbycode", 429),
        ("drsecondarycode", 472),
        ("performancestandbycode", 473),
        ("removedcode", 530),
        ("haunhealthycode", 474),
    ] {
        code(name, default)?;
    }
    Some(HealthCodes {
        active: code("activecode", 200)?,
        sealed: code("sealedcode", 503)?,
        uninit: code("uninitcode", 501)?,
    })
}

async fn health(
    core: &Core,
    query: &Map<String, Value>,
    head: bool,
) -> Result<HttpResponse, Error> {
    let Some(codes) = health_codes(query) else {
        return Ok(super::error::refusal(StatusCode::BAD_REQUEST, Vec::new()));
    };
    let initialized = core.barrier().is_initialized().await?;
    let sealed = core.is_sealed();
    let status = if !initialized {
        codes.uninit
    } else if sealed {
        codes.sealed
    } else {
        codes.active
    };
    let mut body = json!({
        "initialized": initialized,
        "sealed": sealed,
        "standby": false,
        "performance_standby": false,
        "replication_performance_mode": core.replication_mode().as_str(),
        "replication_dr_mode": "disabled",
        "server_time_utc": crate::util::unix_now(),
        "version": VERSION,
        "enterprise": false,
    });
    if !sealed {
        if let Some((name, id)) = core.cluster_identity() {
            body["cluster_name"] = name.into();
            body["cluster_id"] = id.into();
        }
        // Not in Vault's answer: present only while some audit device's last write failed
        // (with every device failing, requests are refused until one recovers).
        if !core.audit_healthy() {
            body["audit_degraded"] = true.into();
        }
    }
    if head {
        let mut resp = json_response(status, &Value::Null);
        *resp.body_mut() = axum::body::Body::empty();
        return Ok(resp);
    }
    Ok(json_response(status, &body))
}
