//! `vaultrs operator rekey`, `operator init -pgp-keys` and `operator generate-root -pgp-key`
//! as a user runs them (the real binary) against a real config-file server: Vault's flags
//! and outputs, key files in every form, the verification round, the backup.

use std::process::Output;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::api::common::V;
use crate::api::pgp_keys::TestKey;
use crate::api::rekey::unseals_with;
use crate::generate_root::support::{cli, json_stdout, ok_stdout};
use crate::harness::ConfigServer;

struct Run {
    addr: String,
    home: tempfile::TempDir,
}

impl Run {
    fn new(srv: &ConfigServer) -> Self {
        Self {
            addr: srv.addr.clone(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        cli(&self.addr, self.home.path(), args, stdin)
    }

    fn rekey(&self, args: &[&str], stdin: &str) -> Output {
        let mut argv = vec!["operator", "rekey"];
        argv.extend_from_slice(args);
        self.run(&argv, stdin)
    }

    /// Writes `contents` to a file in the home directory; its path.
    fn file(&self, name: &str, contents: &[u8]) -> String {
        let path = self.home.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }
}

#[track_caller]
fn fails_with(out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
}

fn strings(v: &Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap()
}

#[tokio::test]
async fn cli_init_with_pgp_key_files_then_rekey_and_verify() {
    let srv = ConfigServer::start("");
    let r = Run::new(&srv);
    let v = V::at(&srv.addr, None);
    let (a, b, c) = (
        TestKey::generate("a"),
        TestKey::generate("b"),
        TestKey::generate("c"),
    );
    // Three files in Vault's three accepted forms: armored, base64 and binary.
    let fa = r.file("a.asc", a.armored().as_bytes());
    let fb = r.file("b.b64", format!("{}\n", b.public_b64).as_bytes());
    let fc = r.file("c.gpg", &STANDARD.decode(&c.public_b64).unwrap());
    let froot = r.file("root.asc", a.armored().as_bytes());
    fails_with(
        &r.run(
            &[
                "operator",
                "init",
                "-pgp-keys=keybase:jefferai",
                "-key-shares=1",
                "-key-threshold=1",
            ],
            "",
        ),
        1,
        "keybase",
    );
    fails_with(
        &r.run(&["operator", "init", "-pgp-keys=/nonexistent.asc"], ""),
        1,
        "error reading PGP key file",
    );
    let init = json_stdout(&r.run(
        &[
            "operator",
            "init",
            "-key-shares=3",
            "-key-threshold=2",
            &format!("-pgp-keys={fa},{fb},{fc}"),
            &format!("-root-token-pgp-key=@{froot}"),
            "-format=json",
        ],
        "",
    ));
    let enc = strings(&init["unseal_keys_b64"]);
    let shares: Vec<String> = enc
        .iter()
        .zip([&a, &b, &c])
        .map(|(k, owner)| owner.decrypt_b64(k).expect("encrypted to its owner"))
        .collect();
    let root = a.decrypt_b64(init["root_token"].as_str().unwrap()).unwrap();
    // Unseal through the CLI with the decrypted shares.
    ok_stdout(&r.run(&["operator", "unseal", &shares[2]], ""));
    let st = json_stdout(&r.run(&["operator", "unseal", "-format=json", &shares[0]], ""));
    assert_eq!(st["sealed"], false, "{st}");

    // -status with nothing started.
    let table = ok_stdout(&r.rekey(&["-status"], ""));
    assert!(
        table.contains("Started") && table.contains("false"),
        "{table}"
    );
    assert!(!table.contains("Rekey Progress"), "{table}");
    // A key with nothing started.
    fails_with(&r.rekey(&[&shares[0]], ""), 1, "No rekey is in progress");

    // -init: a warning about unprotected keys, then the status table.
    let out = r.rekey(&["-init", "-key-shares=4", "-key-threshold=3"], "");
    let table = ok_stdout(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("WARNING! If you lose the keys"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "Rekey Progress",
        "0/2",
        "New Shares",
        "4",
        "New Threshold",
        "Verification Required",
    ] {
        assert!(table.contains(row), "{row} missing in {table}");
    }
    let st = json_stdout(&r.rekey(&["-status", "-format=json"], ""));
    assert_eq!(
        (&st["t"], &st["n"], &st["started"]),
        (&json!(3), &json!(4), &json!(true))
    );
    let nonce = st["nonce"].as_str().unwrap().to_owned();
    fails_with(&r.rekey(&["-init"], ""), 2, "rekey already in progress");
    // A key as an argument needs -nonce, as Vault's CLI.
    fails_with(&r.rekey(&[&shares[0]], ""), 1, "Missing nonce value");
    fails_with(
        &r.rekey(&["-nonce=nope", &shares[0]], ""),
        2,
        "incorrect nonce supplied",
    );
    let table = ok_stdout(&r.rekey(&[&format!("-nonce={nonce}"), &shares[0]], ""));
    assert!(table.contains("1/2"), "{table}");
    // The last share from the prompt (standard input, no terminal): the new keys.
    let out = r.rekey(&[], &format!("{}\n", shares[1]));
    let text = ok_stdout(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("Rekey operation nonce: {nonce}"))
    );
    let new: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_once(": ").filter(|(k, _)| k.starts_with("Key ")))
        .map(|(_, v)| v.to_owned())
        .collect();
    assert_eq!(new.len(), 4, "{text}");
    assert!(
        text.contains(&format!("Operation nonce: {nonce}")),
        "{text}"
    );
    assert!(
        text.contains("Vault rekeyed with 4 key shares and a key threshold of 3"),
        "{text}"
    );

    // The new keys are in effect: seal, the old decrypted shares fail, new ones unseal.
    let admin = v.with_token(&root);
    admin.put("sys/seal", json!({})).await.no_content();
    assert!(!unseals_with(&v, &shares).await);
    assert!(unseals_with(&v, &new[1..]).await);

    // With -verify: the keys are handed out, then verified with -verify.
    let st = json_stdout(&r.rekey(
        &[
            "-init",
            "-verify",
            "-key-shares=2",
            "-key-threshold=2",
            "-format=json",
        ],
        "",
    ));
    assert_eq!(st["verification_required"], true);
    let nonce = st["nonce"].as_str().unwrap().to_owned();
    for k in &new[..2] {
        ok_stdout(&r.rekey(&[&format!("-nonce={nonce}"), k], ""));
    }
    let done = json_stdout(&r.rekey(&[&format!("-nonce={nonce}"), &new[3], "-format=json"], ""));
    assert_eq!(
        (&done["complete"], &done["verification_required"]),
        (&json!(true), &json!(true)),
        "{done}"
    );
    let vnonce = done["verification_nonce"].as_str().unwrap().to_owned();
    let newer = strings(&done["keys_base64"]);
    let vt = ok_stdout(&r.rekey(&["-verify", "-status"], ""));
    assert!(
        vt.contains("Verification Progress") && vt.contains("0/2"),
        "{vt}"
    );
    assert!(vt.contains(&vnonce), "{vt}");
    let vt = ok_stdout(&r.rekey(&["-verify", &format!("-nonce={vnonce}"), &newer[1]], ""));
    assert!(vt.contains("1/2"), "{vt}");
    let fin = ok_stdout(&r.rekey(&["-verify", &format!("-nonce={vnonce}"), "-"], &newer[0]));
    assert!(fin.contains("Rekey verification successful."), "{fin}");
    admin.put("sys/seal", json!({})).await.no_content();
    assert!(!unseals_with(&v, &new).await);
    assert!(unseals_with(&v, &newer).await);

    // -cancel works with or without an attempt.
    ok_stdout(&r.rekey(&["-init", "-key-shares=1", "-key-threshold=1"], ""));
    let out = ok_stdout(&r.rekey(&["-cancel"], ""));
    assert!(
        out.contains("Success! Canceled rekeying (if it was started)"),
        "{out}"
    );
    ok_stdout(&r.rekey(&["-cancel"], ""));
    fails_with(
        &r.rekey(&["-target=recovery", "-status"], ""),
        2,
        "recovery rekeying not supported",
    );
    fails_with(&r.rekey(&["-init", "-cancel"], ""), 1, "Only one of");
}

#[tokio::test]
async fn cli_rekey_with_pgp_backup_and_generate_root_with_pgp_key() {
    let srv = ConfigServer::start("");
    let r = Run::new(&srv);
    let v = V::at(&srv.addr, None);
    let (old, _, root) = crate::api::common::init(&v, 1, 1).await;
    crate::api::common::unseal(&v, &old[0]).await;
    let (a, b) = (TestKey::generate("a"), TestKey::generate("b"));
    let fa = r.file("a.asc", a.armored().as_bytes());
    let fb = r.file("b.asc", b.armored().as_bytes());

    let out = r.rekey(
        &[
            "-init",
            "-key-shares=2",
            "-key-threshold=2",
            &format!("-pgp-keys={fa},{fb}"),
            "-backup",
        ],
        "",
    );
    let table = ok_stdout(&out);
    assert!(table.contains("PGP Fingerprints"), "{table}");
    assert!(
        table.contains(&format!("[{} {}]", a.fingerprint, b.fingerprint)),
        "{table}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("WARNING"));
    let nonce = json_stdout(&r.rekey(&["-status", "-format=json"], ""))["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = ok_stdout(&r.rekey(&[&format!("-nonce={nonce}"), &old[0]], ""));
    assert!(
        text.contains(&format!("Key 1 fingerprint: {}; value: ", a.fingerprint)),
        "{text}"
    );
    assert!(text.contains("backed up"), "{text}");

    // -backup-retrieve needs a token with sudo (root here); then -backup-delete.
    fails_with(&r.rekey(&["-backup-retrieve"], ""), 2, "permission denied");
    let with_root = |args: &[&str]| {
        let mut argv = vec!["operator", "rekey"];
        argv.extend_from_slice(args);
        let mut cmd = std::process::Command::new(crate::harness::bin());
        cmd.args(&argv)
            .env("HOME", r.home.path())
            .env("VAULT_ADDR", &r.addr)
            .env("VAULT_TOKEN", &root)
            .env_remove("VAULT_FORMAT")
            .stdin(std::process::Stdio::null());
        cmd.output().unwrap()
    };
    let backup = json_stdout(&with_root(&["-backup-retrieve", "-format=json"]));
    let data = &backup["data"];
    assert_eq!(data["nonce"], nonce.as_str(), "{backup}");
    let for_b = strings(&data["keys_base64"][&b.fingerprint]);
    let share_b = b.decrypt_b64(&for_b[0]).expect("b's share in the backup");
    let share_a = a
        .decrypt_b64(&strings(&data["keys_base64"][&a.fingerprint])[0])
        .unwrap();
    let out = ok_stdout(&with_root(&["-backup-delete"]));
    assert!(
        out.contains("Success! Delete stored keys (if they existed)"),
        "{out}"
    );
    fails_with(
        &with_root(&["-backup-retrieve"]),
        2,
        "no backed-up keys found",
    );
    v.with_token(&root)
        .put("sys/seal", json!({}))
        .await
        .no_content();
    assert!(unseals_with(&v, &[share_a.clone(), share_b.clone()]).await);

    // generate-root -init -pgp-key=FILE: the token comes back encrypted to the key.
    let g = |args: &[&str]| {
        let mut argv = vec!["operator", "generate-root"];
        argv.extend_from_slice(args);
        r.run(&argv, "")
    };
    let st = json_stdout(&g(&["-init", &format!("-pgp-key={fb}"), "-format=json"]));
    assert_eq!(st["pgp_fingerprint"], b.fingerprint.as_str());
    let nonce = st["nonce"].as_str().unwrap().to_owned();
    ok_stdout(&g(&[&format!("-nonce={nonce}"), &share_a]));
    let done = json_stdout(&g(&[&format!("-nonce={nonce}"), &share_b, "-format=json"]));
    let token = b
        .decrypt_b64(done["encoded_token"].as_str().unwrap())
        .expect("the token is encrypted to b");
    assert!(token.starts_with("hvs."), "{token:?}");
    assert_eq!(
        v.with_token(&token)
            .get("auth/token/lookup-self")
            .await
            .data()["policies"],
        json!(["root"])
    );
    fails_with(&g(&["-init", "-pgp-key=keybase:someone"]), 1, "keybase");
}

#[tokio::test]
async fn a_rekeyed_dev_directory_says_why_it_will_not_start_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = crate::harness::TestServer::dev_in(&data, None, &[]);
    let key = server.dev_unseal_key();
    let v = V::at(&server.addr, None);
    let st = crate::api::rekey::start(&v, json!({"secret_shares": 1, "secret_threshold": 1})).await;
    crate::api::rekey::update(&v, st["nonce"].as_str().unwrap(), &[key]).await;
    drop(server);
    let out = std::process::Command::new(crate::harness::bin())
        .args([
            "server",
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            &format!("-dev-data-dir={}", data.display()),
        ])
        .env("HOME", dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no longer opens this vault (it was rekeyed"),
        "{stderr}"
    );
}
