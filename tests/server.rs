//! `vaultrs server` as an operator meets it: the dev banner and token helper, dev restarts
//! on a kept data dir, the loopback guard, TLS listeners and graceful shutdown.

use std::time::Duration;

use crate::harness::{bin, http, TestServer};

#[tokio::test]
async fn dev_banner_token_helper_and_restart_keep_the_same_root() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // No -dev-no-store-token: the token helper file is written into the server's HOME.
    let server = TestServer::dev_in(&data, None, &[]);
    let token_file = server.home.path().join(".vault-token");
    assert_eq!(
        std::fs::read_to_string(&token_file).unwrap(),
        "root",
        "no trailing newline"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let c = http();
    let put = c
        .post(format!("{}/v1/secret/data/keep", server.addr))
        .header("X-Vault-Token", "root")
        .body(r#"{"data":{"v":"1"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    drop(server); // SIGKILL: the write was acknowledged, so it is in the log

    let server = TestServer::dev_in(&data, None, &[]);
    let health: serde_json::Value = c
        .get(format!("{}/v1/sys/health", server.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["sealed"], false, "a dev restart comes back unsealed");
    let got: serde_json::Value = c
        .get(format!("{}/v1/secret/data/keep", server.addr))
        .header("X-Vault-Token", "root")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["data"]["data"]["v"], "1");
}

#[test]
fn dev_banner_has_the_lines_scripts_grep() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(bin())
        .args([
            "server",
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            "-dev-no-store-token",
            &format!("-dev-data-dir={}", dir.path().join("d").display()),
        ])
        .env("HOME", home.path())
        .env_remove("VAULT_DEV_ROOT_TOKEN_ID")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let lines: Vec<String> = std::io::BufRead::lines(std::io::BufReader::new(stderr))
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with("Development mode should NOT"))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    let find = |prefix: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in {lines:#?}"))
            .to_owned()
    };
    let key = find("Unseal Key: ");
    assert_eq!(key.len(), 44, "base64 of a 32-byte key: {key}");
    let token = find("Root Token: ");
    assert!(token.starts_with("hvs.") && token.len() == 28, "{token}");
    let export = find("    $ export VAULT_ADDR='");
    assert!(
        export.starts_with("http://127.0.0.1:") && export.ends_with('\''),
        "{export}"
    );
    assert!(
        !home.path().join(".vault-token").exists(),
        "-dev-no-store-token"
    );
}

#[test]
fn dev_mode_refuses_a_non_loopback_address_unless_asked() {
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin())
        .args(["server", "-dev", "-dev-listen-address=0.0.0.0:0"])
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to listen on 0.0.0.0:0"), "{err}");
    assert!(!home.path().join(".vault-token").exists());
}

#[tokio::test]
async fn tls_listener_serves_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let port = crate::harness::free_port();
    let config = dir.path().join("tls.hcl");
    std::fs::write(
        &config,
        format!(
            "storage \"file\" {{ path = \"{}\" }}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n}}\n",
            dir.path().join("data").display(),
            cert_path.display(),
            key_path.display()
        ),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(bin())
        .args(["server", &format!("-config={}", config.display())])
        .env("HOME", home.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!("https://127.0.0.1:{port}/v1/sys/health");
    let mut answer = None;
    for _ in 0..300 {
        if let Ok(r) = client.get(&url).send().await {
            answer = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answer = answer.expect("the TLS listener answered");
    // Uninitialized: 501 with the health body.
    assert_eq!(answer.status(), 501);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["initialized"], false);
    // Plain HTTP on the TLS port is not served.
    let plain = http()
        .get(format!("http://127.0.0.1:{port}/v1/sys/health"))
        .send()
        .await;
    assert!(plain.map(|r| r.status() != 501).unwrap_or(true));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn sigterm_stops_cleanly_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = TestServer::dev_in(&data, None, &[]);
    let pid = server.pid();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = server.wait_exit(Duration::from_secs(30));
    assert_eq!(code, Some(0), "graceful shutdown exits 0");
    // A clean stop leaves a checkpoint covering every batch: nothing left to replay.
    let checkpoint = std::fs::read_to_string(data.join("CHECKPOINT")).unwrap();
    assert!(checkpoint.contains("\"seq\""), "{checkpoint}");
    // Every log segment after the checkpoint is empty (just its 8-byte header).
    for entry in std::fs::read_dir(data.join("wal")).unwrap() {
        let entry = entry.unwrap();
        let first: u64 = entry.file_name().to_str().unwrap()[..20].parse().unwrap();
        let seq: u64 = serde_json::from_str::<serde_json::Value>(&checkpoint).unwrap()["seq"]
            .as_u64()
            .unwrap();
        if first > seq {
            assert_eq!(entry.metadata().unwrap().len(), 8, "{:?}", entry.path());
        }
    }
}
