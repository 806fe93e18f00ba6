//! `vaultrs operator generate-root`: OTP generation, init, keys, decode, status, cancel.

use serde_json::json;

use super::support::{assert_new_root, cli, decode, json_stdout, ok_stdout, shamir_server};

#[tokio::test]
async fn cli_generate_otp_init_keys_decode_status_and_cancel() {
    let (_srv, root, hex_keys, b64_keys) = shamir_server("").await;
    let home = tempfile::tempdir().unwrap();
    let addr = root.addr.clone();
    let run = |args: &[&str], stdin: &str| {
        let mut argv = vec!["operator", "generate-root"];
        argv.extend_from_slice(args);
        cli(&addr, home.path(), &argv, stdin)
    };

    // Status with nothing started.
    let st = json_stdout(&run(&["-status", "-format=json"], ""));
    assert_eq!(
        (&st["started"], &st["required"], &st["otp_length"]),
        (&json!(false), &json!(2), &json!(28))
    );
    let table = ok_stdout(&run(&["-status"], ""));
    assert!(
        table.contains("Started") && table.contains("false"),
        "{table}"
    );
    assert!(table.contains("0/2"), "{table}");

    // Giving a key with nothing started is an error.
    let out = run(&[&hex_keys[0]], "");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No root generation is in progress"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // -generate-otp, then -init -otp.
    let otp = ok_stdout(&run(&["-generate-otp"], "")).trim().to_owned();
    assert_eq!(otp.len(), 28, "{otp:?}");
    let st = json_stdout(&run(&["-init", &format!("-otp={otp}"), "-format=json"], ""));
    assert_eq!((&st["started"], &st["otp"]), (&json!(true), &json!("")));
    let nonce = st["nonce"].as_str().unwrap().to_owned();
    // Starting twice fails.
    let out = run(&["-init"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already in progress"));

    // A wrong nonce is refused.
    let out = run(&["-nonce=nope", &hex_keys[0]], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("incorrect nonce"));

    // First key as an argument (table output), second from the prompt (standard input).
    let table = ok_stdout(&run(&[&format!("-nonce={nonce}"), &hex_keys[0]], ""));
    assert!(table.contains("1/2"), "{table}");
    let done = json_stdout(&run(&["-format=json"], &format!("{}\n", b64_keys[1])));
    assert_eq!(done["complete"], true, "{done}");
    let encoded = done["encoded_token"].as_str().unwrap().to_owned();
    assert_eq!(done["encoded_root_token"], encoded.as_str());

    // -decode=ENCODED -otp=OTP, and -decode=- with the encoded token on standard input.
    let token = ok_stdout(&run(
        &[&format!("-decode={encoded}"), &format!("-otp={otp}")],
        "",
    ))
    .trim()
    .to_owned();
    assert_eq!(token, decode(&encoded, &otp));
    let from_stdin = ok_stdout(&run(
        &["-decode=-", &format!("-otp={otp}")],
        &format!("{encoded}\n"),
    ))
    .trim()
    .to_owned();
    assert_eq!(from_stdin, token);
    let as_json = json_stdout(&run(
        &["-decode=-", &format!("-otp={otp}"), "-format=json"],
        &encoded,
    ));
    assert_eq!(as_json["token"], token.as_str(), "{as_json}");
    assert_new_root(&root, &token, root.token.as_deref()).await;

    // -init with a server-generated OTP, a key from stdin with -nonce and "-", cancel.
    let st = json_stdout(&run(&["-init", "-format=json"], ""));
    let otp2 = st["otp"].as_str().unwrap().to_owned();
    assert_eq!(otp2.len(), 28);
    let nonce = st["nonce"].as_str().unwrap().to_owned();
    let table = ok_stdout(&run(
        &[&format!("-nonce={nonce}"), "-"],
        &format!("{}\n", hex_keys[2]),
    ));
    assert!(table.contains("1/2"), "{table}");
    let out = run(&["-cancel"], "");
    assert!(
        ok_stdout(&out).contains("Success! Root token generation canceled"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let st = json_stdout(&run(&["-status", "-format=json"], ""));
    assert_eq!(
        (&st["started"], &st["progress"]),
        (&json!(false), &json!(0))
    );
    // Cancel with nothing running still succeeds.
    ok_stdout(&run(&["-cancel"], ""));
}
