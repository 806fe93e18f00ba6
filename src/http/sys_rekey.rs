//! The unauthenticated `sys/rekey/init|update|verify` endpoints (bare objects, as Vault's
//! raw handlers), proven by key shares rather than a token; and the recovery-key family,
//! which a Shamir seal does not have. The authenticated `sys/rekey/backup` is a system
//! backend path.

use axum::http::{Method, StatusCode};
use axum::response::Response as HttpResponse;
use serde_json::{json, Map, Value};

use super::sys_raw::{field, int_field, str_field, str_list};
use super::{empty_response, json_response};
use crate::core::generate_root::decode_key;
use crate::core::rekey::{RekeyRequest, RekeyUpdate, VerifyUpdate};
use crate::core::Core;
use crate::error::Error;

/// Whether `path` (without a trailing `/`) is one of these endpoints.
pub fn is_rekey(path: &str) -> bool {
    matches!(
        path,
        "sys/rekey/init"
            | "sys/rekey/update"
            | "sys/rekey/verify"
            | "sys/rekey-recovery-key/init"
            | "sys/rekey-recovery-key/update"
            | "sys/rekey-recovery-key/verify"
    )
}

fn ok(body: Map<String, Value>) -> Result<HttpResponse, Error> {
    Ok(json_response(StatusCode::OK, &body))
}

pub async fn serve(
    core: &Core,
    method: &Method,
    path: &str,
    data: Map<String, Value>,
) -> Result<HttpResponse, Error> {
    let read = *method == Method::GET;
    let write = *method == Method::PUT || *method == Method::POST;
    let delete = *method == Method::DELETE;
    if path.starts_with("sys/rekey-recovery-key/") && (read || write || delete) {
        return Err(Error::invalid("recovery rekeying not supported"));
    }
    match path {
        "sys/rekey/init" if read => ok(core.rekey_status().await?.to_json()),
        "sys/rekey/init" if write => ok(core.rekey_init(rekey_request(&data)?).await?.to_json()),
        "sys/rekey/init" if delete => {
            core.rekey_cancel().await?;
            Ok(empty_response(StatusCode::NO_CONTENT))
        }
        "sys/rekey/update" if write => {
            let (share, nonce) = key_and_nonce(&data)?;
            match core.rekey_update(&share, nonce).await? {
                RekeyUpdate::Progress(status) => ok(status.to_json()),
                RekeyUpdate::Complete(keys) => ok(keys.to_json()),
            }
        }
        "sys/rekey/verify" if read => ok(core.rekey_verify_status().await?.to_json()),
        "sys/rekey/verify" if write => {
            let (share, nonce) = key_and_nonce(&data)?;
            match core.rekey_verify(&share, nonce).await? {
                VerifyUpdate::Progress(status) => ok(status.to_json()),
                VerifyUpdate::Complete(nonce) => {
                    ok(json_map(json!({ "nonce": nonce, "complete": true })))
                }
            }
        }
        "sys/rekey/verify" if delete => ok(core.rekey_verify_restart().await?.to_json()),
        _ => Ok(super::error::method_not_allowed()),
    }
}

fn json_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn bool_field(data: &Map<String, Value>, name: &str) -> Result<bool, Error> {
    match field(data, name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(Error::invalid(format!("'{name}' must be a boolean"))),
    }
}

fn rekey_request(data: &Map<String, Value>) -> Result<RekeyRequest, Error> {
    Ok(RekeyRequest {
        secret_shares: int_field(data, "secret_shares")?,
        secret_threshold: int_field(data, "secret_threshold")?,
        pgp_keys: str_list(data, "pgp_keys")?,
        backup: bool_field(data, "backup")?,
        require_verification: bool_field(data, "require_verification")?,
    })
}

/// `key` (hex or base64, required) and `nonce` of an update or verify body.
fn key_and_nonce(data: &Map<String, Value>) -> Result<(zeroize::Zeroizing<Vec<u8>>, &str), Error> {
    let key = match str_field(data, "key")? {
        Some(k) if !k.is_empty() => k,
        _ => {
            return Err(Error::invalid(
                "'key' must be specified in request body as JSON",
            ))
        }
    };
    let share = decode_key(key)?;
    Ok((share, str_field(data, "nonce")?.unwrap_or_default()))
}
