//! Which storage keys leave their cluster: the one locality rule.
//!
//! A key is **local** (it never leaves its cluster: replication never ships it, a
//! secondary never receives it, a wipe on activation is the only thing that touches it
//! from outside) exactly when it starts with `local/`; every other key is **replicated**.
//! The rule needs no mount table: where a mount's data lives already says whether the
//! mount is local. Everything that asks goes through [`is_local`] (the change feed and
//! Merkle filters, the secondary's applier and wipe, the tests).
//!
//! The layout (version [`LAYOUT_VERSION`]) that follows from it:
//!
//! | key | class |
//! |---|---|
//! | `core/keyring`, `core/root-key`, `core/seal-config` | replicated (a secondary unseals with the primary's keys) |
//! | `core/unseal-keys-backup` | replicated: the PGP-encrypted shares of the last rekey, when asked for |
//! | `core/mounts`, `core/auth`, `core/audit` | replicated halves of the mount tables |
//! | `sys/policy/<name>` | replicated |
//! | `sys/token/roles/<name>` | replicated (token roles) |
//! | `logical/<uuid>/`, `auth/<uuid>/`, `audit/<uuid>/` | replicated mounts' data |
//! | `local/core/mounts`, `local/core/auth`, `local/core/audit` | local halves of the tables |
//! | `local/core/cluster`, `local/core/layout`, `local/core/keyring-usage` | cluster identity, this layout's version, the keyring's encryption counters |
//! | `local/core/cleanup/<id>` | what is left to do after a mount was disabled or moved (each cluster finishes its own) |
//! | `local/token/`, `local/leases/` | tokens and their indexes, leases |
//! | `local/logical/<uuid>/`, `local/auth/<uuid>/`, `local/audit/<uuid>/` | local mounts' data |
//! | `local/engine/<uuid>/` | any engine's cluster-local data (`Ctx::local`: approle secret ids) |
//! | `local/replication/` | replication's own state |

/// The prefix of every local key.
pub const LOCAL_PREFIX: &str = "local/";

/// The storage layout this release writes (stored at [`LAYOUT_KEY`]).
pub const LAYOUT_VERSION: u32 = 1;

/// Where the data directory's layout version is kept.
pub const LAYOUT_KEY: &str = "local/core/layout";
/// This cluster's name and id.
pub const CLUSTER_KEY: &str = "local/core/cluster";
/// The token store.
pub const TOKENS_PREFIX: &str = "local/token/";
/// Token roles: configuration, replicated (unlike the tokens).
pub const TOKEN_ROLES_PREFIX: &str = "sys/token/roles/";
/// Lease records.
pub const LEASES_PREFIX: &str = "local/leases/";
/// Engines' cluster-local data: `local/engine/<mount uuid>/`.
pub const ENGINE_LOCAL_PREFIX: &str = "local/engine/";
/// Replication's own state.
pub const REPLICATION_PREFIX: &str = "local/replication/";

/// Whether `key` stays on its cluster.
pub fn is_local(key: &str) -> bool {
    key.starts_with(LOCAL_PREFIX)
}

/// [`is_replicated`] as the storage crate's key filter (feed, Merkle index).
pub fn replicated_filter() -> vaultrs_storage::KeyFilter {
    std::sync::Arc::new(is_replicated)
}

/// Whether `key` is shipped to secondaries: [`is_local`]'s complement.
pub fn is_replicated(key: &str) -> bool {
    !is_local(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        for key in [
            "core/keyring",
            "core/seal-config",
            "core/mounts",
            "sys/policy/default",
            "sys/token/roles/ci",
            "logical/u/kv2/x",
            "auth/u/user/alice",
            "audit/u/salt",
            "localx/y",
        ] {
            assert!(is_replicated(key), "{key}");
        }
        for key in [
            LAYOUT_KEY,
            CLUSTER_KEY,
            vaultrs_storage::barrier::KEYRING_USAGE_PATH,
            "local/core/mounts",
            "local/token/id/h",
            "local/leases/auth/token/create/h",
            "local/logical/u/x",
            "local/engine/u/secret_id/h",
            "local/replication/state",
        ] {
            assert!(is_local(key), "{key}");
        }
    }
}
