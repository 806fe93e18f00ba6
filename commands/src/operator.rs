//! `vaultrs operator init|unseal|seal|key-status|rotate|generate-root` and `vaultrs status`;
//! `operator rekey` is in `rekey.rs`.

use anyhow::Result;
use base64::Engine as _;
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::Client;
use crate::output::{self, columns, table, to_go_json, to_yaml, wrap_at_length, Format};
use crate::ui::Ui;
use crate::{ctx, Exit, HttpArgs};

/// Subcommands of `vaultrs operator`.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Initialize a new server: split its root key into unseal key shares and create the
    /// first root token.
    Init {
        /// How many unseal key shares to create.
        #[arg(long, short = 'n', default_value_t = 5, value_name = "N")]
        key_shares: u32,
        /// How many shares are needed to unseal.
        #[arg(long, short = 't', default_value_t = 3, value_name = "N")]
        key_threshold: u32,
        /// Only print whether the server is initialized (exit 0 if it is, 2 if not).
        #[arg(long)]
        status: bool,
        /// Comma-separated files holding PGP public keys (binary, base64 or armored), one
        /// per share: each share is encrypted to its key.
        #[arg(long, value_name = "FILES")]
        pgp_keys: Option<String>,
        /// A file holding a PGP public key to encrypt the initial root token to.
        #[arg(long, value_name = "FILE")]
        root_token_pgp_key: Option<String>,
    },
    /// Give one unseal key share; the server unseals when enough were given.
    Unseal {
        /// Forget the shares given so far.
        #[arg(long)]
        reset: bool,
        /// The key share (hex or base64), or "-" for stdin. Asked for when not given.
        key: Option<String>,
    },
    /// Seal the server: it forgets its key and answers nothing until unsealed.
    Seal,
    /// Print the current encryption key's term, install time and use count.
    KeyStatus,
    /// Add a new encryption key; new data is written with it.
    Rotate,
    /// Generate a new root token from a quorum of unseal key shares.
    GenerateRoot(GenerateRootArgs),
    /// Generate new unseal key shares (optionally a new count and threshold) from a quorum
    /// of the current ones; the root key and stored data do not change.
    Rekey(crate::rekey::RekeyArgs),
    /// Save, restore and inspect snapshots of the server's whole encrypted storage.
    #[command(subcommand)]
    Snapshot(crate::snapshot::SnapshotCommand),
}

/// Flags of `vaultrs operator generate-root`.
#[derive(Debug, Args)]
pub struct GenerateRootArgs {
    /// Start a root token generation.
    #[arg(long)]
    pub init: bool,
    /// Cancel the root token generation in progress.
    #[arg(long)]
    pub cancel: bool,
    /// Print the status of the root token generation in progress.
    #[arg(long)]
    pub status: bool,
    /// Decode an encoded root token (with -otp); "-" reads it from stdin.
    #[arg(long, value_name = "ENCODED")]
    pub decode: Option<String>,
    /// Print a one-time password of the length the server expects.
    #[arg(long)]
    pub generate_otp: bool,
    /// The one-time password, for -init and -decode.
    #[arg(long, value_name = "OTP")]
    pub otp: Option<String>,
    /// A file holding a PGP public key (binary, base64 or armored) to encrypt the new root
    /// token to (with -init).
    #[arg(long, value_name = "FILE")]
    pub pgp_key: Option<String>,
    /// The nonce of the generation in progress (needed when the key comes from stdin).
    #[arg(long, value_name = "NONCE")]
    pub nonce: Option<String>,
    /// An unseal key share, or "-" for stdin. Asked for when not given.
    pub key: Option<String>,
}

/// `sys/seal-status`, in Vault's field order.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct SealStatus {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub initialized: bool,
    #[serde(default)]
    pub sealed: bool,
    #[serde(default)]
    pub t: i64,
    #[serde(default)]
    pub n: i64,
    #[serde(default)]
    pub progress: i64,
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub build_date: String,
    #[serde(default)]
    pub migration: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster_id: String,
    #[serde(default)]
    pub recovery_seal: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub recovery_seal_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub storage_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

/// What `vaultrs status` prints: the seal status plus the HA fields of `sys/leader`.
#[derive(Debug, Default, Serialize)]
pub struct StatusOutput {
    #[serde(flatten)]
    pub seal: SealStatus,
    pub ha_enabled: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_self: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub active_time: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub leader_address: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub leader_cluster_address: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub raft_committed_index: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub raft_applied_index: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// `sys/generate-root/attempt` and `update`, in Vault's field order.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct GenerateRootStatus {
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub started: bool,
    #[serde(default)]
    pub progress: i64,
    #[serde(default)]
    pub required: i64,
    #[serde(default)]
    pub complete: bool,
    #[serde(default)]
    pub encoded_token: String,
    #[serde(default)]
    pub encoded_root_token: String,
    #[serde(default)]
    pub pgp_fingerprint: String,
    #[serde(default)]
    pub otp: String,
    #[serde(default)]
    pub otp_length: i64,
}

fn print_serialized<T: Serialize>(ui: &mut Ui, v: &T) -> Result<()> {
    let s = match ui.format {
        Format::Yaml => to_yaml(v)?,
        _ => to_go_json(v)?,
    };
    ui.info(s);
    Ok(())
}

/// The seal-status table rows, as Vault prints them.
fn status_rows(st: &StatusOutput) -> Vec<Vec<String>> {
    let s = &st.seal;
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut row = |k: &str, v: String| out.push(vec![k.to_string(), v]);
    let prefix = if s.recovery_seal { "Recovery " } else { "" };
    row("Seal Type", s.kind.clone());
    if s.recovery_seal {
        row("Recovery Seal Type", s.recovery_seal_type.clone());
    }
    row("Initialized", s.initialized.to_string());
    row("Sealed", s.sealed.to_string());
    row(&format!("Total {prefix}Shares"), s.n.to_string());
    row("Threshold", s.t.to_string());
    if s.sealed {
        row("Unseal Progress", format!("{}/{}", s.progress, s.t));
        row("Unseal Nonce", s.nonce.clone());
    }
    if s.migration {
        row("Seal Migration in Progress", "true".into());
    }
    if !s.version.is_empty() {
        row("Version", s.version.clone());
    }
    if !s.build_date.is_empty() {
        row("Build Date", s.build_date.clone());
    }
    if !s.storage_type.is_empty() {
        row("Storage Type", s.storage_type.clone());
    }
    if !s.cluster_name.is_empty() && !s.cluster_id.is_empty() {
        row("Cluster Name", s.cluster_name.clone());
        row("Cluster ID", s.cluster_id.clone());
    }
    row("HA Enabled", st.ha_enabled.to_string());
    if st.ha_enabled && !s.sealed {
        row("HA Cluster", st.leader_cluster_address.clone());
        row(
            "HA Mode",
            if st.is_self { "active" } else { "standby" }.into(),
        );
        if st.is_self && !st.active_time.is_empty() && !st.active_time.starts_with("0001-") {
            row("Active Since", st.active_time.clone());
        }
        if !st.is_self && !st.leader_address.is_empty() {
            row("Active Node Address", st.leader_address.clone());
        }
    }
    if st.raft_committed_index > 0 {
        row("Raft Committed Index", st.raft_committed_index.to_string());
    }
    if st.raft_applied_index > 0 {
        row("Raft Applied Index", st.raft_applied_index.to_string());
    }
    out
}

/// Prints a seal status with the leader information, as Vault's `OutputSealStatus`.
fn output_seal_status(ui: &mut Ui, client: &Client, seal: SealStatus) -> Result<()> {
    let mut st = StatusOutput {
        seal,
        ..Default::default()
    };
    match client.get_json("sys/leader") {
        Ok(l) => {
            st.ha_enabled = l
                .get("ha_enabled")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            st.is_self = l.get("is_self").and_then(Value::as_bool).unwrap_or(false);
            let s = |k: &str| l.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            st.active_time = s("active_time");
            st.leader_address = s("leader_address");
            st.leader_cluster_address = s("leader_cluster_address");
            st.raft_committed_index = l
                .get("raft_committed_index")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            st.raft_applied_index = l
                .get("raft_applied_index")
                .and_then(Value::as_u64)
                .unwrap_or(0);
        }
        Err(e) if format!("{e:#}").contains("Vault is sealed") => st.ha_enabled = true,
        Err(e) => {
            return Err(Exit::local(format!("Error checking leader status: {e:#}")).into());
        }
    }
    match ui.format {
        Format::Table => ui.info(table(&["Key", "Value"], status_rows(&st))),
        _ => print_serialized(ui, &st)?,
    }
    Ok(())
}

fn seal_status(client: &Client) -> Result<SealStatus> {
    let v = client
        .get_json("sys/seal-status")
        .map_err(|e| Exit::local(format!("Error checking seal status: {e:#}")))?;
    Ok(serde_json::from_value(v)?)
}

/// `vaultrs status`: exit 0 when unsealed, 2 when sealed, 1 on errors.
pub fn status(http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    let client = Client::new(http, &ui.env)?.without_wrapping();
    let st = seal_status(&client)?;
    let sealed = st.sealed;
    output_seal_status(ui, &client, st)?;
    Ok(if sealed { 2 } else { 0 })
}

/// `02 Jan 06 15:04 UTC` (Go's RFC 822) from an RFC 3339 UTC timestamp.
fn rfc822(ts: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let utc = ts.ends_with('Z') || ts.ends_with("+00:00");
    let parse = || -> Option<String> {
        let (y, mo, d) = (ts.get(0..4)?, ts.get(5..7)?, ts.get(8..10)?);
        let (h, mi) = (ts.get(11..13)?, ts.get(14..16)?);
        let m: usize = mo.parse().ok()?;
        Some(format!(
            "{d} {} {} {h}:{mi} UTC",
            MONTHS.get(m.checked_sub(1)?)?,
            y.get(2..4)?
        ))
    };
    if utc {
        parse().unwrap_or_else(|| ts.to_string())
    } else {
        ts.to_string()
    }
}

#[derive(Serialize)]
struct KeyStatus {
    term: i64,
    install_time: String,
    encryptions: i64,
}

fn key_status(client: &Client) -> Result<KeyStatus> {
    let s = client
        .read("sys/key-status")
        .map_err(|e| ctx(e, "Error reading key status"))?
        .ok_or_else(|| Exit::server("Error reading key status: empty response"))?;
    Ok(KeyStatus {
        term: s.get("term").and_then(Value::as_i64).unwrap_or(0),
        install_time: s
            .get("install_time")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        encryptions: s.get("encryptions").and_then(Value::as_i64).unwrap_or(0),
    })
}

fn key_status_text(ks: &KeyStatus) -> String {
    columns(&[
        vec!["Key Term".into(), ks.term.to_string()],
        vec!["Install Time".into(), rfc822(&ks.install_time)],
        vec!["Encryption Count".into(), ks.encryptions.to_string()],
    ])
}

pub fn run(cmd: OperatorCommand, http: &HttpArgs, ui: &mut Ui) -> Result<u8> {
    let cmd = match cmd {
        // `inspect` needs no server, and so no client.
        OperatorCommand::Snapshot(c) => return crate::snapshot::run(c, http, ui),
        cmd => cmd,
    };
    let client = Client::new(http, &ui.env)?;
    match cmd {
        OperatorCommand::Init {
            key_shares,
            key_threshold,
            status,
            pgp_keys,
            root_token_pgp_key,
        } => {
            let pgp = InitPgp {
                keys: match pgp_keys {
                    Some(list) => crate::pgp_files::read_key_files(&list)?,
                    None => Vec::new(),
                },
                root_token: match root_token_pgp_key {
                    Some(path) => crate::pgp_files::read_key_file(&path)?,
                    None => String::new(),
                },
            };
            init(&client, ui, key_shares, key_threshold, status, &pgp)
        }
        OperatorCommand::Unseal { reset, key } => {
            let body = if reset {
                json!({ "reset": true })
            } else {
                let key = match key.as_deref() {
                    Some("-") => ui.read_stdin()?.trim().to_string(),
                    Some(k) => k.trim().to_string(),
                    None => ui
                        .read_secret("Unseal Key (will be hidden)", http.non_interactive)?
                        .trim()
                        .to_string(),
                };
                json!({ "key": key })
            };
            let v = client
                .put_json("sys/unseal", &body)
                .map_err(|e| ctx(e, "Error unsealing"))?;
            let st: SealStatus = serde_json::from_value(v)?;
            output_seal_status(ui, &client, st)?;
            Ok(0)
        }
        OperatorCommand::Seal => {
            let resp = client.send("PUT", "sys/seal", &[], None)?;
            client
                .check(&resp)
                .map_err(|e| ctx(e.into(), "Error sealing"))?;
            ui.info("Success! Vault is sealed.");
            Ok(0)
        }
        OperatorCommand::KeyStatus => {
            let ks = key_status(&client)?;
            match ui.format {
                Format::Table => ui.info(key_status_text(&ks)),
                _ => print_serialized(ui, &ks)?,
            }
            Ok(0)
        }
        OperatorCommand::Rotate => {
            let resp = client.send("PUT", "sys/rotate", &[], None)?;
            client
                .check(&resp)
                .map_err(|e| ctx(e.into(), "Error rotating key"))?;
            let ks = key_status(&client)?;
            match ui.format {
                Format::Table => {
                    ui.info("Success! Rotated key");
                    ui.info("");
                    ui.info(key_status_text(&ks));
                }
                _ => print_serialized(ui, &ks)?,
            }
            Ok(0)
        }
        OperatorCommand::GenerateRoot(a) => generate_root(&client, ui, a, http.non_interactive),
        OperatorCommand::Rekey(a) => crate::rekey::run(&client, ui, a, http.non_interactive),
        OperatorCommand::Snapshot(c) => crate::snapshot::run(c, http, ui),
    }
}

#[derive(Serialize)]
struct MachineInit {
    unseal_keys_b64: Vec<String>,
    unseal_keys_hex: Vec<String>,
    unseal_shares: u32,
    unseal_threshold: u32,
    recovery_keys_b64: Vec<String>,
    recovery_keys_hex: Vec<String>,
    recovery_keys_shares: u32,
    recovery_keys_threshold: u32,
    root_token: String,
}

/// The PGP keys of `operator init`, as the API takes them.
struct InitPgp {
    keys: Vec<String>,
    root_token: String,
}

fn init(
    client: &Client,
    ui: &mut Ui,
    shares: u32,
    threshold: u32,
    status: bool,
    pgp: &InitPgp,
) -> Result<u8> {
    if status {
        let v = client
            .get_json("sys/init")
            .map_err(|e| ctx(e, "Error checking init status"))?;
        if v.get("initialized").and_then(Value::as_bool) == Some(true) {
            ui.info("Vault is initialized");
            return Ok(0);
        }
        ui.info("Vault is not initialized");
        return Ok(2);
    }
    let v = client
        .put_json(
            "sys/init",
            &json!({
                "secret_shares": shares,
                "secret_threshold": threshold,
                "pgp_keys": pgp.keys,
                "root_token_pgp_key": pgp.root_token,
            }),
        )
        .map_err(|e| ctx(e, "Error initializing"))?;
    let list = |k: &str| -> Vec<String> {
        v.get(k)
            .and_then(|x| serde_json::from_value(x.clone()).ok())
            .unwrap_or_default()
    };
    let m = MachineInit {
        unseal_keys_b64: list("keys_base64"),
        unseal_keys_hex: list("keys"),
        unseal_shares: shares,
        unseal_threshold: threshold,
        recovery_keys_b64: list("recovery_keys_base64"),
        recovery_keys_hex: list("recovery_keys"),
        recovery_keys_shares: 0,
        recovery_keys_threshold: 0,
        root_token: v
            .get("root_token")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    };
    if ui.format != Format::Table {
        print_serialized(ui, &m)?;
        return Ok(0);
    }
    for (i, k) in m.unseal_keys_b64.iter().enumerate() {
        ui.info(format!("Unseal Key {}: {k}", i + 1));
    }
    ui.info("");
    ui.info(format!("Initial Root Token: {}", m.root_token));
    ui.info("");
    ui.info(wrap_at_length(
        &format!(
            "Vault initialized with {shares} key shares and a key threshold of {threshold}. \
             Please securely distribute the key shares printed above. When the Vault is \
             re-sealed, restarted, or stopped, you must supply at least {threshold} of these \
             keys to unseal it before it can start servicing requests."
        ),
        0,
    ));
    ui.info("");
    ui.info(wrap_at_length(
        &format!(
            "Vault does not store the generated root key. Without at least {threshold} keys \
             to reconstruct the root key, Vault will remain permanently sealed!"
        ),
        0,
    ));
    Ok(0)
}

fn print_generate_status(ui: &mut Ui, st: &GenerateRootStatus) -> Result<u8> {
    if ui.format != Format::Table {
        print_serialized(ui, st)?;
        return Ok(0);
    }
    let mut rows = vec![
        vec!["Nonce".to_string(), st.nonce.clone()],
        vec!["Started".into(), st.started.to_string()],
        vec![
            "Progress".into(),
            format!("{}/{}", st.progress, st.required),
        ],
        vec!["Complete".into(), st.complete.to_string()],
    ];
    if !st.pgp_fingerprint.is_empty() {
        rows.push(vec!["PGP Fingerprint".into(), st.pgp_fingerprint.clone()]);
    }
    if !st.encoded_token.is_empty() {
        rows.push(vec!["Encoded Token".into(), st.encoded_token.clone()]);
    } else if !st.encoded_root_token.is_empty() {
        rows.push(vec![
            "Encoded Root Token".into(),
            st.encoded_root_token.clone(),
        ]);
    }
    if !st.otp.is_empty() {
        ui.error(wrap_at_length(
            "A One-Time-Password has been generated for you and is shown in the OTP field. \
             You will need this value to decode the resulting root token, so keep it safe.",
            0,
        ));
        rows.push(vec!["OTP".into(), st.otp.clone()]);
    }
    if st.otp_length != 0 {
        rows.push(vec!["OTP Length".into(), st.otp_length.to_string()]);
    }
    ui.info(columns(&rows));
    Ok(0)
}

/// XORs an encoded root token with its one-time password, as Vault's `roottoken.DecodeToken`.
pub fn decode_root_token(encoded: &str, otp: &str, otp_length: i64) -> Result<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    let bad = |what: &str| Exit::local(format!("Error decoding root token: {what}"));
    if otp_length == 0 {
        // The legacy scheme: both base64, the result is a UUID.
        let t = STANDARD
            .decode(encoded)
            .map_err(|e| bad(&format!("error decoding base64'd token: {e}")))?;
        let o = STANDARD
            .decode(otp)
            .map_err(|e| bad(&format!("error decoding base64'd OTP value: {e}")))?;
        if t.len() != o.len() || t.is_empty() {
            return Err(bad("length of byte slices is not equivalent").into());
        }
        let x: Vec<u8> = t.iter().zip(&o).map(|(a, b)| a ^ b).collect();
        if x.len() != 16 {
            return Err(bad("decoded token is not a UUID").into());
        }
        let h: String = x.iter().map(|b| format!("{b:02x}")).collect();
        return Ok(format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        ));
    }
    let t = STANDARD_NO_PAD
        .decode(encoded.trim())
        .map_err(|e| bad(&format!("error decoding base64'd token: {e}")))?;
    let o = otp.trim().as_bytes();
    if t.len() != o.len() {
        return Err(bad(&format!(
            "length of byte slices is not equivalent: {} != {}",
            t.len(),
            o.len()
        ))
        .into());
    }
    let x: Vec<u8> = t.iter().zip(o).map(|(a, b)| a ^ b).collect();
    String::from_utf8(x).map_err(|_| bad("the decoded token is not text").into())
}

/// A one-time password of the length the server expects.
pub fn generate_otp(otp_length: i64) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    if otp_length == 0 {
        let bytes: [u8; 16] = rng.gen();
        return base64::engine::general_purpose::STANDARD.encode(bytes);
    }
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..otp_length)
        .map(|_| B62[rng.gen_range(0..B62.len())] as char)
        .collect()
}

fn attempt(client: &Client) -> Result<GenerateRootStatus> {
    let v = client
        .get_json("sys/generate-root/attempt")
        .map_err(|e| ctx(e, "Error getting root generation status"))?;
    Ok(serde_json::from_value(v)?)
}

fn generate_root(client: &Client, ui: &mut Ui, a: GenerateRootArgs, ni: bool) -> Result<u8> {
    let modes = [
        a.init,
        a.cancel,
        a.status,
        a.decode.is_some(),
        a.generate_otp,
    ]
    .iter()
    .filter(|m| **m)
    .count();
    if modes > 1 {
        return Err(Exit::local(
            "Only one of -init, -cancel, -status, -decode and -generate-otp may be given",
        )
        .into());
    }
    if a.init {
        if a.otp.is_some() && a.pgp_key.is_some() {
            return Err(
                Exit::local("Error initializing: cannot specify both -otp and -pgp-key").into(),
            );
        }
        let pgp_key = match &a.pgp_key {
            Some(path) => crate::pgp_files::read_key_file(path)?,
            None => String::new(),
        };
        let v = client
            .put_json(
                "sys/generate-root/attempt",
                &json!({ "otp": a.otp.clone().unwrap_or_default(), "pgp_key": pgp_key }),
            )
            .map_err(|e| ctx(e, "Error initializing root generation"))?;
        return print_generate_status(ui, &serde_json::from_value(v)?);
    }
    if a.cancel {
        let resp = client.send("DELETE", "sys/generate-root/attempt", &[], None)?;
        client
            .check(&resp)
            .map_err(|e| ctx(e.into(), "Error canceling root token generation"))?;
        ui.info("Success! Root token generation canceled (if it was started)");
        return Ok(0);
    }
    if a.status {
        return print_generate_status(ui, &attempt(client)?);
    }
    if let Some(enc) = a.decode {
        let Some(otp) = a.otp else {
            return Err(Exit::local("Missing -otp flag; the OTP is required to decode").into());
        };
        let enc = if enc == "-" {
            ui.read_stdin()?.trim().to_string()
        } else {
            enc
        };
        let st = attempt(client)?;
        let token = decode_root_token(&enc, &otp, st.otp_length)?;
        match ui.format {
            Format::Table => {
                output::print_field(ui, Some(Value::String(token)), "token")?;
            }
            _ => output::output_data(ui, &json!({ "token": token }))?,
        }
        return Ok(0);
    }
    if a.generate_otp {
        let st = attempt(client)?;
        let otp = generate_otp(st.otp_length);
        match ui.format {
            Format::Table => output::print_field(ui, Some(Value::String(otp)), "otp")?,
            _ => output::output_data(ui, &json!({ "otp": otp, "otp_length": st.otp_length }))?,
        }
        return Ok(0);
    }

    // Provide one key share.
    let st = attempt(client)?;
    if !st.started {
        return Err(Exit::local(
            "No root generation is in progress. Start a root generation by running \
             \"vaultrs operator generate-root -init\".",
        )
        .into());
    }
    let (key, nonce) = match a.key.as_deref() {
        Some("-") => {
            let Some(n) = a.nonce.clone() else {
                return Err(Exit::local(
                    "Missing -nonce: it is required when the key is read from stdin",
                )
                .into());
            };
            (ui.read_stdin()?.trim().to_string(), n)
        }
        Some(k) => (
            k.trim().to_string(),
            a.nonce.clone().unwrap_or(st.nonce.clone()),
        ),
        None => {
            if a.nonce.is_none() {
                ui.error(format!("Operation nonce: {}", st.nonce));
            }
            let k = ui.read_secret("Unseal Key (will be hidden)", ni)?;
            (
                k.trim().to_string(),
                a.nonce.clone().unwrap_or(st.nonce.clone()),
            )
        }
    };
    let v = client
        .put_json(
            "sys/generate-root/update",
            &json!({ "key": key, "nonce": nonce }),
        )
        .map_err(|e| ctx(e, "Error posting unseal key"))?;
    print_generate_status(ui, &serde_json::from_value(v)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_root_tokens() {
        use base64::engine::general_purpose::STANDARD_NO_PAD;
        let token = "hvs.abcdefghijklmnopqrstuvwx";
        let otp = generate_otp(token.len() as i64);
        assert_eq!(otp.len(), token.len());
        let enc: Vec<u8> = token.bytes().zip(otp.bytes()).map(|(a, b)| a ^ b).collect();
        let enc = STANDARD_NO_PAD.encode(enc);
        assert_eq!(decode_root_token(&enc, &otp, 28).unwrap(), token);
        assert!(decode_root_token(&enc, "short", 28).is_err());
        assert!(decode_root_token("!!", &otp, 28).is_err());
    }

    #[test]
    fn rfc822_times() {
        assert_eq!(rfc822("2024-03-05T07:08:09.123Z"), "05 Mar 24 07:08 UTC");
        assert_eq!(rfc822("garbage"), "garbage");
    }
}
