//! Paths and operations the backend does not serve.

use super::*;

#[tokio::test]
async fn unsupported_paths_and_operations() {
    let (e, c) = setup().await;
    ok(&e, &c, Operation::Create, "role/a", json!({})).await;
    for path in [
        "",
        "nope",
        "role/a/nope",
        "role/a/secret-id/nope",
        "tidy",
        "login/x",
        "role/a/b/c/d",
    ] {
        assert!(
            matches!(
                call(&e, &c, Operation::Update, path, json!({})).await,
                Err(Error::UnsupportedPath(_))
            ),
            "{path}"
        );
    }
    for (op, path) in [
        (Operation::Read, "login"),
        (Operation::Read, "role/a/secret-id"),
        (Operation::List, "role/a"),
        (Operation::Delete, "role/a/role-id"),
        (Operation::Read, "tidy/secret-id"),
        (Operation::Patch, "role/a"),
        (Operation::Delete, "role/a/secret-id/lookup"),
    ] {
        assert!(
            matches!(
                call(&e, &c, op, path, json!({})).await,
                Err(Error::UnsupportedOperation(_))
            ),
            "{op:?} {path}"
        );
    }
}
