//! `vaultrs operator rekey`: new unseal key shares from a quorum of the current ones, with
//! Vault's flags and output (`command/operator_rekey.go`): `-init` (with `-key-shares`,
//! `-key-threshold`, `-pgp-keys`, `-backup`, `-verify`), `-status`, `-cancel`, giving one
//! share (an argument, `-` for stdin, or a prompt; `-nonce`), `-verify` for the
//! verification round, `-backup-retrieve` and `-backup-delete`.

use anyhow::Result;
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::Client;
use crate::output::{self, table, to_go_json, to_yaml, wrap_at_length, Format};
use crate::ui::Ui;
use crate::{ctx, Exit};

/// Flags of `vaultrs operator rekey`.
#[derive(Debug, Args)]
pub struct RekeyArgs {
    /// Start a rekey; customize the new split with -key-shares and -key-threshold.
    #[arg(long)]
    pub init: bool,
    /// Cancel the rekey in progress (with -verify: restart only the verification). The
    /// current unseal keys stay valid.
    #[arg(long)]
    pub cancel: bool,
    /// Print the status of the rekey in progress (with -verify: of its verification).
    #[arg(long)]
    pub status: bool,
    /// How many new unseal key shares to create.
    #[arg(long, short = 'n', default_value_t = 5, value_name = "N")]
    pub key_shares: u32,
    /// How many new shares are needed to unseal.
    #[arg(long, short = 't', default_value_t = 3, value_name = "N")]
    pub key_threshold: u32,
    /// The nonce of the rekey in progress (needed when the key is an argument or stdin).
    #[arg(long, value_name = "NONCE")]
    pub nonce: Option<String>,
    /// What to rekey: "barrier" (the unseal keys) or "recovery" (auto-unseal only).
    #[arg(long, default_value = "barrier", value_name = "TARGET")]
    pub target: String,
    /// With -init: the new keys take effect only once a threshold of them is given back.
    /// With -status, -cancel or a key: act on that verification.
    #[arg(long)]
    pub verify: bool,
    /// Comma-separated files holding PGP public keys (binary, base64 or armored), one per
    /// new share: each share is encrypted to its key.
    #[arg(long, value_name = "FILES")]
    pub pgp_keys: Option<String>,
    /// With -pgp-keys: keep the encrypted shares on the server (sys/rekey/backup).
    #[arg(long)]
    pub backup: bool,
    /// Print the backed-up encrypted shares.
    #[arg(long)]
    pub backup_retrieve: bool,
    /// Delete the backed-up encrypted shares.
    #[arg(long)]
    pub backup_delete: bool,
    /// A current unseal key share (or a new one, with -verify), or "-" for stdin. Asked
    /// for when not given.
    pub key: Option<String>,
}

/// `sys/rekey/init`, in Vault's field order.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RekeyStatus {
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub started: bool,
    #[serde(default)]
    pub t: i64,
    #[serde(default)]
    pub n: i64,
    #[serde(default)]
    pub progress: i64,
    #[serde(default)]
    pub required: i64,
    #[serde(default)]
    pub pgp_fingerprints: Option<Vec<String>>,
    #[serde(default)]
    pub backup: bool,
    #[serde(default)]
    pub verification_required: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub verification_nonce: String,
}

/// `sys/rekey/update` once complete, in Vault's field order.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RekeyUpdate {
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub complete: bool,
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub keys_base64: Vec<String>,
    #[serde(default)]
    pub pgp_fingerprints: Option<Vec<String>>,
    #[serde(default)]
    pub backup: bool,
    #[serde(default)]
    pub verification_required: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub verification_nonce: String,
}

/// `sys/rekey/verify`, in Vault's field order.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct VerifyStatus {
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub started: bool,
    #[serde(default)]
    pub t: i64,
    #[serde(default)]
    pub n: i64,
    #[serde(default)]
    pub progress: i64,
}

/// The endpoints of one target.
struct Paths {
    init: &'static str,
    update: &'static str,
    verify: &'static str,
    backup: &'static str,
}

fn paths(target: &str) -> Result<Paths> {
    match target.trim().to_ascii_lowercase().as_str() {
        "barrier" => Ok(Paths {
            init: "sys/rekey/init",
            update: "sys/rekey/update",
            verify: "sys/rekey/verify",
            backup: "sys/rekey/backup",
        }),
        "recovery" | "hsm" => Ok(Paths {
            init: "sys/rekey-recovery-key/init",
            update: "sys/rekey-recovery-key/update",
            verify: "sys/rekey-recovery-key/verify",
            backup: "sys/rekey/recovery-key-backup",
        }),
        other => Err(Exit::local(format!("Unknown target: {other}")).into()),
    }
}

fn print_serialized<T: Serialize>(ui: &mut Ui, v: &T) -> Result<()> {
    let s = match ui.format {
        Format::Yaml => to_yaml(v)?,
        _ => to_go_json(v)?,
    };
    ui.info(s);
    Ok(())
}

/// Go's `%s` of a string slice: `[a b]`.
fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

fn print_status(ui: &mut Ui, st: &RekeyStatus) -> Result<u8> {
    if ui.format != Format::Table {
        print_serialized(ui, st)?;
        return Ok(0);
    }
    let mut rows = vec![
        vec!["Nonce".to_string(), st.nonce.clone()],
        vec!["Started".into(), st.started.to_string()],
    ];
    if st.started {
        rows.push(vec![
            "Rekey Progress".into(),
            format!("{}/{}", st.progress, st.required),
        ]);
        rows.push(vec!["New Shares".into(), st.n.to_string()]);
        rows.push(vec!["New Threshold".into(), st.t.to_string()]);
        rows.push(vec![
            "Verification Required".into(),
            st.verification_required.to_string(),
        ]);
    }
    if let Some(fps) = st.pgp_fingerprints.as_ref().filter(|f| !f.is_empty()) {
        rows.push(vec!["PGP Fingerprints".into(), go_list(fps)]);
        rows.push(vec!["Backup".into(), st.backup.to_string()]);
    }
    ui.info(table(&["Key", "Value"], rows));
    Ok(0)
}

fn print_verify_status(ui: &mut Ui, st: &VerifyStatus) -> Result<u8> {
    if ui.format != Format::Table {
        print_serialized(ui, st)?;
        return Ok(0);
    }
    let rows = vec![
        vec!["Nonce".to_string(), st.nonce.clone()],
        vec!["Started".into(), st.started.to_string()],
        vec!["New Shares".into(), st.n.to_string()],
        vec!["New Threshold".into(), st.t.to_string()],
        vec![
            "Verification Progress".into(),
            format!("{}/{}", st.progress, st.t),
        ],
    ];
    ui.info(table(&["Key", "Value"], rows));
    Ok(0)
}

fn status(client: &Client, p: &Paths) -> Result<RekeyStatus> {
    let v = client
        .get_json(p.init)
        .map_err(|e| ctx(e, "Error reading rekey status"))?;
    Ok(serde_json::from_value(v)?)
}

fn verify_status(client: &Client, p: &Paths) -> Result<VerifyStatus> {
    let v = client
        .get_json(p.verify)
        .map_err(|e| ctx(e, "Error reading rekey verification status"))?;
    Ok(serde_json::from_value(v)?)
}

pub fn run(client: &Client, ui: &mut Ui, a: RekeyArgs, non_interactive: bool) -> Result<u8> {
    let p = paths(&a.target)?;
    let modes = [
        a.init,
        a.cancel,
        a.status,
        a.backup_retrieve,
        a.backup_delete,
    ]
    .iter()
    .filter(|m| **m)
    .count();
    if modes > 1 {
        return Err(Exit::local(
            "Only one of -init, -cancel, -status, -backup-retrieve and -backup-delete may be given",
        )
        .into());
    }
    if a.backup_delete {
        let resp = client.send("DELETE", p.backup, &[], None)?;
        client
            .check(&resp)
            .map_err(|e| ctx(e.into(), "Error deleting rekey stored keys"))?;
        ui.info("Success! Delete stored keys (if they existed)");
        return Ok(0);
    }
    if a.backup_retrieve {
        let secret = client
            .read(p.backup)
            .map_err(|e| ctx(e, "Error retrieving rekey stored keys"))?
            .ok_or_else(|| Exit::server("Error retrieving rekey stored keys: none found"))?;
        output::output_secret(ui, &secret)?;
        return Ok(0);
    }
    if a.cancel {
        let path = if a.verify { p.verify } else { p.init };
        let resp = client.send("DELETE", path, &[], None)?;
        client
            .check(&resp)
            .map_err(|e| ctx(e.into(), "Error canceling rekey"))?;
        ui.info("Success! Canceled rekeying (if it was started)");
        return Ok(0);
    }
    if a.init {
        return init(client, ui, &p, &a);
    }
    if a.status {
        return if a.verify {
            print_verify_status(ui, &verify_status(client, &p)?)
        } else {
            print_status(ui, &status(client, &p)?)
        };
    }
    provide(client, ui, &p, &a, non_interactive)
}

fn init(client: &Client, ui: &mut Ui, p: &Paths, a: &RekeyArgs) -> Result<u8> {
    let pgp_keys = match &a.pgp_keys {
        Some(list) => crate::pgp_files::read_key_files(list)?,
        None => Vec::new(),
    };
    let body = json!({
        "secret_shares": a.key_shares,
        "secret_threshold": a.key_threshold,
        "pgp_keys": pgp_keys,
        "backup": a.backup,
        "require_verification": a.verify,
    });
    let v = client
        .put_json(p.init, &body)
        .map_err(|e| ctx(e, "Error initializing rekey"))?;
    if ui.format == Format::Table {
        if pgp_keys.is_empty() {
            ui.error(wrap_at_length(
                "WARNING! If you lose the keys after they are returned, there is no recovery. \
                 Consider canceling this operation and re-initializing with the -pgp-keys \
                 flag to protect the returned unseal keys along with -backup to allow \
                 recovery of the encrypted keys in case of emergency. You can delete the \
                 stored keys later using the -backup-delete flag.",
                0,
            ));
            ui.info("");
        } else if !a.backup {
            ui.error(wrap_at_length(
                "WARNING! You are using PGP keys for encrypted the resulting unseal keys, but \
                 you did not enable the option to backup the keys to Vault's core. If you \
                 lose the encrypted keys after they are returned, you will not be able to \
                 recover them. Consider canceling this operation and re-running with -backup \
                 to allow recovery of the encrypted unseal keys in case of emergency. You can \
                 delete the stored keys later using the -backup-delete flag.",
                0,
            ));
            ui.info("");
        }
    }
    print_status(ui, &serde_json::from_value(v)?)
}

/// Gives one share to the update (or, with -verify, the verification) endpoint.
fn provide(
    client: &Client,
    ui: &mut Ui,
    p: &Paths,
    a: &RekeyArgs,
    non_interactive: bool,
) -> Result<u8> {
    let (started, status_nonce) = if a.verify {
        let st = verify_status(client, p)?;
        (st.started, st.nonce)
    } else {
        let st = status(client, p)?;
        (st.started, st.nonce)
    };
    if !started {
        return Err(Exit::local(wrap_at_length(
            "No rekey is in progress. Start a rekey process by running \
             \"vaultrs operator rekey -init\".",
            0,
        ))
        .into());
    }
    let (key, nonce) = match a.key.as_deref() {
        Some("-") => (ui.read_stdin()?, a.nonce.clone().unwrap_or_default()),
        Some(k) => (k.to_string(), a.nonce.clone().unwrap_or_default()),
        None => {
            ui.error(format!("Rekey operation nonce: {status_nonce}"));
            let k = ui.read_secret("Unseal Key (will be hidden)", non_interactive)?;
            (k, a.nonce.clone().unwrap_or(status_nonce))
        }
    };
    let key = key.trim().to_string();
    if nonce.is_empty() {
        return Err(Exit::local("Missing nonce value: specify it via the -nonce flag").into());
    }
    let path = if a.verify { p.verify } else { p.update };
    let v = client
        .put_json(path, &json!({ "key": key, "nonce": nonce }))
        .map_err(|e| ctx(e, "Error posting unseal key"))?;
    let complete = v.get("complete").and_then(Value::as_bool) == Some(true);
    if !complete {
        return if a.verify {
            print_verify_status(ui, &verify_status(client, p)?)
        } else {
            print_status(ui, &status(client, p)?)
        };
    }
    if a.verify {
        if ui.format == Format::Table {
            ui.info("Rekey verification successful.");
        } else {
            output::output_data(ui, &v)?;
        }
        return Ok(0);
    }
    print_new_keys(client, ui, p, &serde_json::from_value(v)?)
}

fn print_new_keys(client: &Client, ui: &mut Ui, p: &Paths, r: &RekeyUpdate) -> Result<u8> {
    if ui.format != Format::Table {
        print_serialized(ui, r)?;
        return Ok(0);
    }
    ui.info("");
    let fps = r.pgp_fingerprints.clone().unwrap_or_default();
    let shown = if r.keys_base64.len() == r.keys.len() {
        &r.keys_base64
    } else {
        &r.keys
    };
    for (i, key) in shown.iter().enumerate() {
        match fps.get(i) {
            Some(fp) => ui.info(format!("Key {} fingerprint: {fp}; value: {key}", i + 1)),
            None => ui.info(format!("Key {}: {key}", i + 1)),
        }
    }
    ui.info("");
    ui.info(format!("Operation nonce: {}", r.nonce));
    if !fps.is_empty() && r.backup {
        ui.info("");
        ui.info(wrap_at_length(
            "The encrypted unseal keys are backed up to \"core/unseal-keys-backup\" in the \
             storage backend. Remove these keys at any time using \"vaultrs operator rekey \
             -backup-delete\". vaultrs replaces them at the next rekey.",
            0,
        ));
    }
    let (n, t) = (shown.len(), share_threshold(client, p, r)?);
    ui.info("");
    if !r.verification_required {
        ui.info(wrap_at_length(
            &format!(
                "Vault rekeyed with {n} key shares and a key threshold of {t}. Please \
                 securely distribute the key shares printed above. When Vault is re-sealed, \
                 restarted, or stopped, you must supply at least {t} of these keys to unseal \
                 it before it can start servicing requests."
            ),
            0,
        ));
        return Ok(0);
    }
    ui.info(wrap_at_length(
        &format!(
            "Vault has created a new key, split into {n} key shares and a key threshold of \
             {t}. These will not be active until after verification is complete. Please \
             securely distribute the key shares printed above. When Vault is re-sealed, \
             restarted, or stopped, you must supply at least {t} of these keys to unseal it \
             before it can start servicing requests."
        ),
        0,
    ));
    ui.info("");
    ui.error(wrap_at_length(
        "Again, these key shares are _not_ valid until verification is performed. Do not \
         lose or discard your current key shares until after verification is complete or \
         you will be unable to unseal Vault. If you cancel the rekey process or seal Vault \
         before verification is complete the new shares will be discarded and the current \
         shares will remain valid.",
        0,
    ));
    ui.info("");
    ui.error(wrap_at_length(
        "The current verification status, including initial nonce, is shown below.",
        0,
    ));
    ui.info("");
    print_verify_status(ui, &verify_status(client, p)?)
}

/// The new threshold: from the verification status while one is pending, else from the
/// seal status the rekey just changed.
fn share_threshold(client: &Client, p: &Paths, r: &RekeyUpdate) -> Result<i64> {
    if r.verification_required {
        return Ok(verify_status(client, p)?.t);
    }
    let s = client
        .get_json("sys/seal-status")
        .map_err(|e| ctx(e, "Error checking seal status"))?;
    Ok(s.get("t").and_then(Value::as_i64).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_status_shapes() {
        assert_eq!(paths("barrier").unwrap().init, "sys/rekey/init");
        assert_eq!(
            paths("Recovery").unwrap().backup,
            "sys/rekey/recovery-key-backup"
        );
        assert!(paths("nope").is_err());
        let st: RekeyStatus = serde_json::from_value(json!({
            "nonce": "n", "started": true, "t": 3, "n": 5, "progress": 1, "required": 2,
            "pgp_fingerprints": null, "backup": false, "verification_required": false
        }))
        .unwrap();
        let out = to_go_json(&st).unwrap();
        assert!(!out.contains("verification_nonce"), "{out}");
        assert!(out.contains("\"pgp_fingerprints\": null"), "{out}");
        assert_eq!(go_list(&["a".into(), "b".into()]), "[a b]");
    }
}
