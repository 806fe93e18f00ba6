//! PGP-encrypted key shares against real servers, as Vault's API takes them (base64 of a
//! binary public key): `pgp_keys` and `root_token_pgp_key` for `sys/init`, `pgp_keys` and
//! `backup` for a rekey (with `sys/rekey/backup`), `pgp_key` for generate-root. The test
//! makes its key pairs with the same crate the server uses, decrypts what the server hands
//! out, and unseals with it; one test does the same with `gpg` (an RSA key), when present.

use std::path::Path;
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use pgp::composed::{
    EncryptionCaps, KeyType, Message, SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey,
    SubkeyParamsBuilder,
};
use pgp::crypto::ecc_curve::ECCCurve;
use pgp::ser::Serialize;
use pgp::types::KeyDetails;
use serde_json::{json, Value};

use super::common::{assert_injected, keys, unhex, unseal, V};
use super::rekey::{start, unseals_with, update};
use crate::harness::ConfigServer;

/// A key pair: an Ed25519 primary and a Curve25519 encryption subkey.
pub struct TestKey {
    pub secret: SignedSecretKey,
    /// Base64 of the public key's binary form, as Vault's API takes it.
    pub public_b64: String,
    pub fingerprint: String,
}

impl TestKey {
    pub fn generate(name: &str) -> Self {
        let mut sub = SubkeyParamsBuilder::default();
        sub.key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
            .can_encrypt(EncryptionCaps::All);
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(format!("{name} <{name}@example.com>"))
            .subkeys(vec![sub.build().unwrap()]);
        let secret = params.build().unwrap().generate(rand::rngs::OsRng).unwrap();
        let mut public = Vec::new();
        SignedPublicKey::from(secret.clone())
            .to_writer(&mut public)
            .unwrap();
        Self {
            fingerprint: format!("{:x}", secret.fingerprint()),
            public_b64: STANDARD.encode(public),
            secret,
        }
    }

    /// The ASCII-armored public key (what `gpg --armor --export` writes).
    pub fn armored(&self) -> String {
        SignedPublicKey::from(self.secret.clone())
            .to_armored_string(Default::default())
            .unwrap()
    }

    /// Decrypts a base64 message; `None` when it is not for this key.
    pub fn decrypt_b64(&self, b64: &str) -> Option<String> {
        let bytes = STANDARD.decode(b64).unwrap();
        let msg = Message::from_bytes(&bytes[..]).ok()?;
        let mut plain = msg.decrypt(&"".into(), &self.secret).ok()?;
        Some(String::from_utf8(plain.as_data_vec().ok()?).unwrap())
    }
}

fn strings(v: &Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap()
}

#[tokio::test]
async fn init_with_pgp_keys_hands_out_shares_only_their_owners_can_read() {
    let srv = ConfigServer::start("");
    let v = V::at(&srv.addr, None);
    let ops: Vec<TestKey> = ["a", "b", "c"]
        .iter()
        .map(|n| TestKey::generate(n))
        .collect();
    let root_key = TestKey::generate("root");
    let body = v
        .put(
            "sys/init",
            json!({
                "secret_shares": 3,
                "secret_threshold": 2,
                "pgp_keys": ops.iter().map(|k| k.public_b64.clone()).collect::<Vec<_>>(),
                "root_token_pgp_key": root_key.public_b64,
            }),
        )
        .await
        .json_at(200);
    assert_eq!(keys(&body), ["keys", "keys_base64", "root_token"]);
    let (hex_keys, b64_keys) = (strings(&body["keys"]), strings(&body["keys_base64"]));
    let mut shares = Vec::new();
    for (i, (h, b)) in hex_keys.iter().zip(&b64_keys).enumerate() {
        assert_eq!(unhex(h), STANDARD.decode(b).unwrap(), "same message twice");
        // Only operator i can read share i; it is the share's hex text, as with Vault.
        for (j, op) in ops.iter().enumerate() {
            assert_eq!(op.decrypt_b64(b).is_some(), i == j, "share {i}, key {j}");
        }
        let share = ops[i].decrypt_b64(b).unwrap();
        assert_eq!(share.len(), 66, "{share:?}");
        assert!(share.chars().all(|c| c.is_ascii_hexdigit()));
        shares.push(share);
    }
    let root = root_key
        .decrypt_b64(body["root_token"].as_str().unwrap())
        .expect("the root token is encrypted to its key");
    assert!(root.starts_with("hvs."), "{root:?}");
    assert!(!body["root_token"].as_str().unwrap().starts_with("hvs."));

    // The decrypted shares unseal; the decrypted token is root.
    assert!(unseals_with(&v, &shares[1..]).await);
    let me = v
        .with_token(&root)
        .get("auth/token/lookup-self")
        .await
        .data();
    assert_eq!(me["policies"], json!(["root"]));
}

#[tokio::test]
async fn bad_pgp_keys_are_refused_before_anything_happens() {
    let srv = ConfigServer::start("");
    let v = V::at(&srv.addr, None);
    let good = TestKey::generate("good");
    for (keys, msg) in [
        (json!(["keybase:jefferai"]), "keybase"),
        (json!(["not base64!"]), "error decoding given PGP key"),
        (json!(["AAAA"]), "error parsing given PGP key"),
        (
            json!([good.public_b64, good.public_b64]),
            "count mismatch between number of provided PGP keys and number of shares",
        ),
    ] {
        v.put(
            "sys/init",
            json!({"secret_shares": 1, "secret_threshold": 1, "pgp_keys": keys}),
        )
        .await
        .error_containing(400, msg);
    }
    v.put(
        "sys/init",
        json!({"secret_shares": 1, "secret_threshold": 1, "root_token_pgp_key": "AAAA"}),
    )
    .await
    .error_containing(400, "error parsing given PGP key");
    v.put(
        "sys/init",
        json!({"secret_shares": 1, "secret_threshold": 1, "pgp_keys": "x"}),
    )
    .await
    .errors(400, &["'pgp_keys' must be a list of strings"]);
    // Still uninitialized: a bad key never costs the shares.
    assert_eq!(
        v.get("sys/init").await.json_at(200),
        json!({"initialized": false})
    );
}

#[tokio::test]
async fn rekey_with_pgp_keys_and_a_backup() {
    let srv = ConfigServer::start("");
    let v = V::at(&srv.addr, None);
    let (old, _, root) = super::common::init(&v, 1, 1).await;
    unseal(&v, &old[0]).await;
    let admin = v.with_token(&root);
    let (a, b) = (TestKey::generate("a"), TestKey::generate("b"));
    // Three shares: two to `a`, one to `b`.
    let pgp_keys = json!([a.public_b64, b.public_b64, a.public_b64]);
    let st = start(
        &v,
        json!({"secret_shares": 3, "secret_threshold": 2, "pgp_keys": pgp_keys, "backup": true}),
    )
    .await;
    let fps = json!([a.fingerprint, b.fingerprint, a.fingerprint]);
    assert_eq!(
        (&st["pgp_fingerprints"], &st["backup"]),
        (&fps, &json!(true))
    );
    assert_eq!(
        v.get("sys/rekey/init").await.json_at(200)["pgp_fingerprints"],
        fps
    );
    let nonce = st["nonce"].as_str().unwrap().to_owned();
    let done = update(&v, &nonce, &old).await;
    assert_eq!(
        (
            &done["complete"],
            &done["pgp_fingerprints"],
            &done["backup"]
        ),
        (&json!(true), &fps, &json!(true))
    );
    let b64_keys = strings(&done["keys_base64"]);
    let owners = [&a, &b, &a];
    let shares: Vec<String> = b64_keys
        .iter()
        .zip(owners)
        .map(|(k, owner)| owner.decrypt_b64(k).expect("share for its owner"))
        .collect();

    // The backup: by fingerprint, hex and base64, and the rekey's nonce; injected at the
    // top level like Vault's legacy sys paths.
    let body = admin.get("sys/rekey/backup").await.ok();
    assert_injected("sys/rekey/backup", &body);
    let data = &body["data"];
    assert_eq!(data["nonce"], nonce.as_str());
    assert_eq!(
        data["keys_base64"],
        json!({ a.fingerprint.clone(): [b64_keys[0], b64_keys[2]], b.fingerprint.clone(): [b64_keys[1]] })
    );
    let backed_hex = strings(&data["keys"][&b.fingerprint]);
    assert_eq!(
        unhex(&backed_hex[0]),
        STANDARD.decode(&b64_keys[1]).unwrap()
    );

    // The decrypted new shares unseal (after a restart too); the old one does not.
    admin.put("sys/seal", json!({})).await.no_content();
    assert!(!unseals_with(&v, &old).await);
    assert!(unseals_with(&v, &shares[1..]).await);

    // A rekey without a backup drops the stale one; deleting is idempotent.
    let st = start(&v, json!({"secret_shares": 1, "secret_threshold": 1})).await;
    update(&v, st["nonce"].as_str().unwrap(), &shares[..2]).await;
    admin
        .get("sys/rekey/backup")
        .await
        .errors(400, &["no backed-up keys found"]);
    admin.delete("sys/rekey/backup").await.no_content();

    // Bad keys for a rekey are 400 and start nothing.
    v.put(
        "sys/rekey/init",
        json!({"secret_shares": 1, "secret_threshold": 1, "pgp_keys": ["keybase:x"]}),
    )
    .await
    .error_containing(400, "keybase");
    assert_eq!(v.get("sys/rekey/init").await.json_at(200)["started"], false);
}

#[tokio::test]
async fn generate_root_encrypts_the_token_to_a_pgp_key() {
    let srv = ConfigServer::start("");
    let v = V::at(&srv.addr, None);
    let (old, _, _) = super::common::init(&v, 3, 2).await;
    for k in &old[..2] {
        unseal(&v, k).await;
    }
    let key = TestKey::generate("gen");
    v.put(
        "sys/generate-root/attempt",
        json!({"otp": "x".repeat(28), "pgp_key": key.public_b64}),
    )
    .await
    .errors(400, &["only one of 'otp' and 'pgp_key' may be given"]);
    let st = v
        .put(
            "sys/generate-root/attempt",
            json!({"pgp_key": key.public_b64}),
        )
        .await
        .json_at(200);
    assert_eq!(
        (&st["started"], &st["pgp_fingerprint"], &st["otp"]),
        (&json!(true), &json!(key.fingerprint), &json!(""))
    );
    let nonce = st["nonce"].as_str().unwrap().to_owned();
    assert_eq!(
        v.get("sys/generate-root/attempt").await.json_at(200)["pgp_fingerprint"],
        key.fingerprint.as_str()
    );
    let st = v
        .put(
            "sys/generate-root/update",
            json!({"key": old[2], "nonce": nonce}),
        )
        .await
        .json_at(200);
    assert_eq!(st["pgp_fingerprint"], key.fingerprint.as_str());
    let done = v
        .put(
            "sys/generate-root/update",
            json!({"key": old[0], "nonce": nonce}),
        )
        .await
        .json_at(200);
    assert_eq!(done["complete"], true);
    let encoded = done["encoded_token"].as_str().unwrap();
    assert_eq!(done["encoded_root_token"], encoded);
    let token = key.decrypt_b64(encoded).expect("encrypted to the key");
    let me = v
        .with_token(&token)
        .get("auth/token/lookup-self")
        .await
        .data();
    assert_eq!(me["policies"], json!(["root"]));
}

/// `gpg` with a private home; `None` when gpg is not installed.
fn gpg(home: &Path, args: &[&str], stdin: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut child = Command::new("gpg")
        .arg("--homedir")
        .arg(home)
        .args([
            "--batch",
            "--quiet",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "gpg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

/// An RSA key made by gpg (primary, plus an encryption subkey): (gpg home, fingerprint,
/// base64 binary public key, armored public key). `None` without gpg.
pub fn gpg_rsa_key() -> Option<(tempfile::TempDir, String, String, String)> {
    let home = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        home.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let uid = "vaultrs test <ops@example.com>";
    gpg(
        home.path(),
        &["--quick-gen-key", uid, "rsa2048", "cert", "never"],
        b"",
    )?;
    let listing = String::from_utf8(gpg(
        home.path(),
        &["--with-colons", "--list-keys", uid],
        b"",
    )?)
    .unwrap();
    let fpr = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .map(|l| l.trim_matches(':').to_lowercase())
        .unwrap();
    gpg(
        home.path(),
        &["--quick-add-key", &fpr, "rsa2048", "encr", "never"],
        b"",
    )?;
    let binary = gpg(home.path(), &["--export", &fpr], b"")?;
    let armored =
        String::from_utf8(gpg(home.path(), &["--armor", "--export", &fpr], b"")?).unwrap();
    Some((home, fpr, STANDARD.encode(binary), armored))
}

#[tokio::test]
async fn shares_encrypted_to_a_gpg_rsa_key_decrypt_with_gpg() {
    let Some((home, fpr, public_b64, _)) = gpg_rsa_key() else {
        eprintln!("gpg not installed: skipping the gpg interop test");
        return;
    };
    let srv = ConfigServer::start("");
    let v = V::at(&srv.addr, None);
    let body = v
        .put(
            "sys/init",
            json!({"secret_shares": 1, "secret_threshold": 1, "pgp_keys": [public_b64]}),
        )
        .await
        .json_at(200);
    let message = STANDARD
        .decode(body["keys_base64"][0].as_str().unwrap())
        .unwrap();
    // Vault's documented recipe: base64 -d | gpg -dq.
    let share = gpg(home.path(), &["--decrypt"], &message).unwrap();
    let share = String::from_utf8(share).unwrap();
    assert!(unseals_with(&v, &[share.trim().to_owned()]).await);
    let st = start(
        &v,
        json!({"secret_shares": 1, "secret_threshold": 1, "pgp_keys": [public_b64]}),
    )
    .await;
    assert_eq!(st["pgp_fingerprints"], json!([fpr]));
}
