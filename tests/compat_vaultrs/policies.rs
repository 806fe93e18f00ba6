//! ACL policies through the client crate: set, read, list, delete, and their enforcement.

use vault_client::api::token::requests::CreateTokenRequest;
use vault_client::{kv2, sys, token};

use super::support::{api_error, app, client, root, App};
use crate::harness::TestServer;

#[tokio::test]
async fn policies_set_read_list_delete_and_enforce() {
    let server = TestServer::dev();
    let c = root(&server);
    let hcl = "path \"secret/data/app/*\" {\n  capabilities = [\"read\"]\n}\n\npath \"secret/metadata/app/*\" {\n  capabilities = [\"list\"]\n}\n";

    sys::policy::set(&c, "app-read", hcl).await.unwrap();
    let read = sys::policy::read(&c, "app-read").await.unwrap();
    assert_eq!(read.name, "app-read");
    assert_eq!(read.rules, hcl);
    let mut list = sys::policy::list(&c).await.unwrap().policies;
    list.sort();
    assert_eq!(list, ["app-read", "default", "root"]);
    let default = sys::policy::read(&c, "default").await.unwrap();
    assert!(
        default.rules.contains("auth/token/lookup-self"),
        "{}",
        default.rules
    );

    // Enforcement through a token holding the policy.
    kv2::set(&c, "secret", "app/db", &app("pw")).await.unwrap();
    kv2::set(&c, "secret", "other", &app("pw")).await.unwrap();
    let auth = token::new(
        &c,
        Some(CreateTokenRequest::builder().policies(vec!["app-read".to_owned()])),
    )
    .await
    .unwrap();
    assert_eq!(auth.policies, ["app-read", "default"]);
    let user = client(&server, &auth.client_token);
    let got: App = kv2::read(&user, "secret", "app/db").await.unwrap();
    assert_eq!(got.password, "pw");
    assert_eq!(kv2::list(&user, "secret", "app").await.unwrap(), ["db"]);
    let (code, _) = api_error(kv2::set(&user, "secret", "app/db", &app("x")).await);
    assert_eq!(code, 403);
    let (code, _) = api_error(kv2::read::<App>(&user, "secret", "other").await);
    assert_eq!(code, 403);
    let (code, _) = api_error(sys::policy::set(&user, "mine", hcl).await);
    assert_eq!(code, 403);

    // Bad input is a 400; root and default cannot be removed.
    let (code, errors) =
        api_error(sys::policy::set(&c, "broken", "path \"x\" { capabilities = [\"fly\"] }").await);
    assert_eq!(code, 400, "{errors:?}");
    let (code, _) = api_error(sys::policy::delete(&c, "root").await);
    assert_eq!(code, 400);
    let (code, _) = api_error(sys::policy::delete(&c, "default").await);
    assert_eq!(code, 400);

    // Update, then delete.
    let hcl2 = "path \"secret/data/other\" { capabilities = [\"read\"] }";
    sys::policy::set(&c, "app-read", hcl2).await.unwrap();
    assert_eq!(sys::policy::read(&c, "app-read").await.unwrap().rules, hcl2);
    let got: App = kv2::read(&user, "secret", "other").await.unwrap();
    assert_eq!(got.user, "admin");
    sys::policy::delete(&c, "app-read").await.unwrap();
    let (code, _) = api_error(sys::policy::read(&c, "app-read").await);
    assert_eq!(code, 404);
    let list = sys::policy::list(&c).await.unwrap().policies;
    assert!(!list.contains(&"app-read".to_owned()), "{list:?}");
    let (code, _) = api_error(kv2::read::<App>(&user, "secret", "other").await);
    assert_eq!(code, 403);
}
