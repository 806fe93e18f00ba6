//! Response wrapping through the client crate: wrap, lookup, unwrap.

use vault_client::api::kv2::requests::ReadSecretRequest;
use vault_client::api::kv2::responses::ReadSecretResponse;
use vault_client::api::token::requests::LookupTokenSelfRequest;
use vault_client::api::token::responses::LookupTokenResponse;
use vault_client::api::ResponseWrapper;
use vault_client::error::ClientError;
use vault_client::{kv2, sys};

use super::support::{api_error, app, client, is_rfc3339, root};
use crate::harness::TestServer;

#[tokio::test]
async fn response_wrapping_wrap_lookup_unwrap() {
    let server = TestServer::dev();
    let c = root(&server);
    kv2::set(&c, "secret", "wrapped", &app("hidden"))
        .await
        .unwrap();

    // Wrap a KV v2 read.
    let endpoint = ReadSecretRequest::builder()
        .mount("secret")
        .path("wrapped")
        .build()
        .unwrap();
    let wrapped = endpoint.wrap(&c).await.unwrap();
    assert_eq!(wrapped.info.ttl, 600);
    assert_eq!(wrapped.info.creation_path, "secret/data/wrapped");
    assert!(
        is_rfc3339(&wrapped.info.creation_time),
        "{}",
        wrapped.info.creation_time
    );
    assert!(!wrapped.info.token.is_empty());
    assert!(!wrapped.info.accessor.is_empty());

    let info = wrapped.lookup(&c).await.unwrap();
    assert_eq!(info.creation_path, "secret/data/wrapped");
    assert_eq!(info.creation_ttl, 600);
    assert_eq!(info.creation_time, wrapped.info.creation_time);
    // sys::wrapping::lookup needs no token at all.
    let anonymous = client(&server, "");
    let info = sys::wrapping::lookup(&anonymous, &wrapped.info.token)
        .await
        .unwrap();
    assert_eq!(info.creation_path, "secret/data/wrapped");

    let secret: ReadSecretResponse = wrapped.unwrap(&c).await.unwrap();
    assert_eq!(secret.data["password"], "hidden");
    assert_eq!(secret.metadata.version, 1);

    // Single use: a second unwrap and a lookup both fail.
    let (code, errors) = api_error(wrapped.unwrap(&c).await);
    assert_eq!(code, 400);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("wrapping token is not valid")),
        "{errors:?}"
    );
    match wrapped.lookup(&c).await {
        Err(ClientError::WrapInvalidError) => {}
        other => panic!("expected WrapInvalidError, got {other:?}"),
    }

    // Wrap a token self-lookup, then unwrap with the wrapping token itself as the
    // client token (no body).
    let wrapped = LookupTokenSelfRequest::builder()
        .build()
        .unwrap()
        .wrap(&c)
        .await
        .unwrap();
    assert_eq!(wrapped.info.creation_path, "auth/token/lookup-self");
    let holder = client(&server, &wrapped.info.token);
    let looked: LookupTokenResponse = sys::wrapping::unwrap(&holder, None).await.unwrap();
    assert_eq!(looked.id, "root");
    assert_eq!(looked.policies, ["root"]);
    let (code, _) = api_error(sys::wrapping::unwrap::<LookupTokenResponse>(&holder, None).await);
    assert!(code == 400 || code == 403, "{code}");

    // Unwrapping a garbage token is a 400.
    let (code, _) =
        api_error(sys::wrapping::unwrap::<serde_json::Value>(&c, Some("hvs.nope")).await);
    assert_eq!(code, 400);
}
