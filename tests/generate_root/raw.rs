//! The unauthenticated `sys/generate-root/*` endpoints over HTTP: OTP given and generated,
//! decode, the new token works, cancel, wrong nonce, bad OTPs, duplicate and wrong keys,
//! sealing.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

use super::support::{
    assert_new_root, decode, init, is_uuid, make_otp, shamir_server, unseal, Api,
};
use crate::harness::{ConfigServer, TestServer};

#[tokio::test]
async fn http_flow_with_given_and_generated_otp_then_cancel() {
    let (_srv, root, hex_keys, b64_keys) = shamir_server("").await;
    let old_root = root.token.clone().unwrap();
    let anon = root.anon();

    // Nothing in progress: every field, Vault's values.
    let st = anon.attempt().await;
    assert_eq!(st["started"], false);
    assert_eq!(st["nonce"], "");
    assert_eq!(st["progress"], 0);
    assert_eq!(st["required"], 2);
    assert_eq!(st["complete"], false);
    assert_eq!(st["otp"], "");
    assert_eq!(st["otp_length"], 28);
    assert_eq!(st["encoded_token"], "");
    assert_eq!(st["pgp_fingerprint"], "");

    // Start with our own OTP: it is never echoed.
    let otp = make_otp(28);
    let r = anon
        .put(
            "sys/generate-root/attempt",
            json!({ "otp": otp, "pgp_key": "" }),
        )
        .await;
    let started = r.status_object();
    assert_eq!(started["started"], true);
    assert_eq!(started["otp"], "", "a given OTP is not returned");
    assert_eq!(started["progress"], 0);
    let nonce = started["nonce"].as_str().unwrap().to_owned();
    assert!(is_uuid(&nonce), "nonce {nonce:?}");

    // A second start is refused; the first attempt stands.
    anon.put("sys/generate-root/attempt", json!({}))
        .await
        .error(400, "root generation already in progress");
    assert_eq!(anon.attempt().await["nonce"], nonce);

    // Wrong nonce, missing key, garbage key.
    anon.update(&hex_keys[0], "not-the-nonce")
        .await
        .error(400, "incorrect nonce");
    anon.put("sys/generate-root/update", json!({ "nonce": nonce }))
        .await
        .error(400, "'key' must be specified");
    anon.update("not a key!", &nonce)
        .await
        .error(400, "valid hex or base64");
    assert_eq!(anon.attempt().await["progress"], 0);

    // One key (hex): progress, nothing encoded yet.
    let r = anon.update(&hex_keys[0], &nonce).await;
    let one = r.status_object();
    assert_eq!(
        (
            &one["started"],
            &one["progress"],
            &one["required"],
            &one["complete"]
        ),
        (&json!(true), &json!(1), &json!(2), &json!(false))
    );
    assert_eq!(one["nonce"], nonce);
    assert_eq!(one["encoded_token"], "");

    // The same share again, as hex or as base64: refused, progress kept.
    anon.update(&hex_keys[0], &nonce)
        .await
        .error(400, "already been provided");
    anon.update(&b64_keys[0], &nonce)
        .await
        .error(400, "already been provided");
    let st = anon.attempt().await;
    assert_eq!((&st["progress"], &st["nonce"]), (&json!(1), &json!(nonce)));

    // Field names match case-insensitively, as Go decodes them.
    let r = anon
        .put(
            "sys/generate-root/update",
            json!({ "Key": b64_keys[1], "NONCE": nonce }),
        )
        .await;
    let done = r.status_object();
    assert_eq!(done["complete"], true);
    assert_eq!(done["progress"], 2);
    assert_eq!(done["required"], 2);
    let encoded = done["encoded_token"].as_str().unwrap().to_owned();
    assert_eq!(done["encoded_root_token"], encoded.as_str());
    let token = decode(&encoded, &otp);
    assert_new_root(&root, &token, Some(&old_root)).await;

    // The attempt is over; updates now find nothing.
    let st = anon.attempt().await;
    assert_eq!((&st["started"], &st["nonce"]), (&json!(false), &json!("")));
    anon.update(&hex_keys[0], &nonce)
        .await
        .error(400, "no root generation in progress");

    // A server-generated OTP, returned in the start response only.
    let r = anon.put("sys/generate-root/attempt", json!({})).await;
    let started = r.status_object();
    let otp = started["otp"].as_str().unwrap().to_owned();
    assert_eq!(otp.len(), 28, "generated OTP {otp:?}");
    assert!(otp.chars().all(|c| c.is_ascii_alphanumeric()));
    let nonce = started["nonce"].as_str().unwrap().to_owned();
    assert_eq!(anon.attempt().await["otp"], "", "the OTP is shown once");
    anon.update(&hex_keys[2], &nonce).await.status_object();
    let done = anon.update(&b64_keys[1], &nonce).await.status_object();
    assert_eq!(done["complete"], true);
    let second = decode(done["encoded_token"].as_str().unwrap(), &otp);
    assert_new_root(&root, &second, Some(&token)).await;

    // Cancel: progress and attempt gone; cancelling again (or with nothing) is 204 too.
    let started = anon
        .put("sys/generate-root/attempt", json!({ "otp": make_otp(28) }))
        .await
        .status_object();
    let nonce = started["nonce"].as_str().unwrap().to_owned();
    anon.update(&hex_keys[0], &nonce).await.status_object();
    anon.delete("sys/generate-root/attempt").await.no_content();
    let st = anon.attempt().await;
    assert_eq!(
        (&st["started"], &st["progress"], &st["nonce"]),
        (&json!(false), &json!(0), &json!(""))
    );
    anon.delete("sys/generate-root/attempt").await.no_content();
    anon.update(&hex_keys[1], &nonce)
        .await
        .error(400, "no root generation in progress");
    // A new attempt after the cancel gets a new nonce and starts from zero.
    let again = anon
        .put("sys/generate-root/attempt", json!({}))
        .await
        .status_object();
    assert_ne!(again["nonce"], nonce.as_str());
    assert_eq!(again["progress"], 0);
    anon.delete("sys/generate-root/attempt").await.no_content();
}

#[tokio::test]
async fn bad_otps_pgp_and_methods_are_refused() {
    let srv = TestServer::dev();
    let anon = Api::new(&srv.addr, None);
    for otp in [make_otp(27), make_otp(29), make_otp(24)] {
        anon.put("sys/generate-root/attempt", json!({ "otp": otp }))
            .await
            .error(400, "OTP string is wrong length");
    }
    anon.put(
        "sys/generate-root/attempt",
        json!({ "pgp_key": "bXkgcGdwIGtleQ==" }),
    )
    .await
    .error(400, "PGP");
    anon.put("sys/generate-root/attempt", json!({ "otp": 12 }))
        .await
        .error(400, "must be a string");
    assert_eq!(anon.attempt().await["started"], false, "nothing started");
    let r = anon.call("PATCH", "sys/generate-root/attempt", None).await;
    assert_eq!(r.status, 405, "{}", r.body);
    assert_eq!(r.body, json!({ "errors": [] }));
    let r = anon.get("sys/generate-root/update").await;
    assert_eq!(r.status, 405, "{}", r.body);
}

#[tokio::test]
async fn wrong_keys_reset_progress_and_sealing_ends_the_attempt() {
    let (_srv, root, hex_keys, b64_keys) = shamir_server("").await;
    let anon = root.anon();

    // Another server: its keys are well-formed shares of a different unseal key. Before
    // init it answers 400, initialized but sealed 503.
    let other_srv = ConfigServer::start("");
    let other = Api::new(&other_srv.addr, None);
    other
        .get("sys/generate-root/attempt")
        .await
        .error(400, "not yet initialized");
    let (other_keys, _, _) = init(&other, 3, 2).await;
    other
        .get("sys/generate-root/attempt")
        .await
        .error(503, "sealed");
    other
        .put("sys/generate-root/attempt", json!({}))
        .await
        .error(503, "sealed");
    other
        .delete("sys/generate-root/attempt")
        .await
        .error(503, "sealed");

    let otp = make_otp(28);
    let nonce = anon
        .put("sys/generate-root/attempt", json!({ "otp": otp }))
        .await
        .status_object()["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    anon.update(&hex_keys[0], &nonce).await.status_object();
    // A share of the wrong length: refused, progress kept.
    anon.update(&STANDARD.encode([9u8; 32]), &nonce)
        .await
        .error(400, "must be 33 bytes");
    assert_eq!(anon.attempt().await["progress"], 1);
    // The quorum is reached with a foreign share: invalid, progress back to 0, the attempt
    // (nonce, OTP) kept.
    anon.update(&other_keys[0], &nonce)
        .await
        .error(400, "invalid key");
    let st = anon.attempt().await;
    assert_eq!(
        (&st["started"], &st["progress"], &st["nonce"]),
        (&json!(true), &json!(0), &json!(nonce))
    );
    // Two foreign shares only: as wrong.
    anon.update(&other_keys[1], &nonce).await.status_object();
    anon.update(&other_keys[2], &nonce)
        .await
        .error(400, "invalid key");
    assert_eq!(anon.attempt().await["progress"], 0);
    // The right keys still complete the same attempt with the same OTP.
    anon.update(&b64_keys[2], &nonce).await.status_object();
    let done = anon.update(&hex_keys[1], &nonce).await.status_object();
    assert_eq!(done["complete"], true);
    let token = decode(done["encoded_token"].as_str().unwrap(), &otp);
    assert_new_root(&root, &token, root.token.as_deref()).await;

    // An attempt does not survive a seal.
    let nonce = anon
        .put("sys/generate-root/attempt", json!({}))
        .await
        .status_object()["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    anon.update(&hex_keys[0], &nonce).await.status_object();
    root.put("sys/seal", json!({})).await.no_content();
    anon.get("sys/generate-root/attempt")
        .await
        .error(503, "sealed");
    anon.update(&hex_keys[1], &nonce).await.error(503, "sealed");
    unseal(&anon, &hex_keys[1..]).await;
    let st = anon.attempt().await;
    assert_eq!(
        (&st["started"], &st["progress"]),
        (&json!(false), &json!(0))
    );
}
