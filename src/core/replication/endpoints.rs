//! The authenticated `sys/replication/...` paths (the status paths are unauthenticated and
//! served before the token check: see `core::sys`).
//!
//! `sys/replication/primary/...` and `sys/replication/secondary/...` (Vault's older
//! spellings) are the performance ones. DR replication is not offered.

use crate::core::{Active, Core, Request, Response};
use crate::error::{Error, Result};
use crate::logical::Operation;

/// One replication operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    PrimaryEnable,
    SecondaryToken,
    RevokeSecondary,
    Demote,
    PrimaryDisable,
    SecondaryEnable,
    Promote,
    SecondaryDisable,
    UpdatePrimary,
}

fn parse(rel: &str) -> Option<Op> {
    let rest = rel.strip_prefix("replication/")?;
    let rest = rest.strip_prefix("performance/").unwrap_or(rest);
    Some(match rest.trim_end_matches('/') {
        "primary/enable" => Op::PrimaryEnable,
        "primary/secondary-token" => Op::SecondaryToken,
        "primary/revoke-secondary" => Op::RevokeSecondary,
        "primary/demote" => Op::Demote,
        "primary/disable" => Op::PrimaryDisable,
        "secondary/enable" => Op::SecondaryEnable,
        "secondary/promote" => Op::Promote,
        "secondary/disable" => Op::SecondaryDisable,
        "secondary/update-primary" => Op::UpdatePrimary,
        _ => return None,
    })
}

/// Serves `sys/<rel>` when it is a replication operation (ACL already checked; the token
/// path needs sudo, see `SUDO_PATHS`).
pub(in crate::core) async fn handle(
    core: &Core,
    active: &Active,
    op: Operation,
    rel: &str,
    req: &Request,
) -> Option<Result<Response>> {
    if rel.starts_with("replication/dr/") {
        return Some(Err(Error::invalid(
            "disaster recovery replication is not offered by vaultrs; performance \
             replication is (sys/replication/performance/...)",
        )));
    }
    let which = parse(rel)?;
    if !matches!(op, Operation::Create | Operation::Update) {
        return Some(Err(Error::UnsupportedOperation(format!(
            "unsupported operation {op:?} on sys/{rel}"
        ))));
    }
    let data = &req.data;
    Some(match which {
        Op::PrimaryEnable => core.enable_primary(active, data).await,
        Op::SecondaryToken => core.secondary_token(active, &req.path, data).await,
        Op::RevokeSecondary => core.revoke_secondary(active, data).await,
        Op::Demote => core.demote_primary(active).await,
        Op::PrimaryDisable => core.disable_primary(active).await,
        Op::SecondaryEnable => core.enable_secondary(active, data).await,
        Op::Promote => core.promote_secondary(active, data).await,
        Op::SecondaryDisable => core.disable_secondary(active).await,
        Op::UpdatePrimary => core.update_primary(active, data).await,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            parse("replication/performance/primary/enable"),
            Some(Op::PrimaryEnable)
        );
        assert_eq!(
            parse("replication/primary/secondary-token"),
            Some(Op::SecondaryToken)
        );
        assert_eq!(
            parse("replication/performance/secondary/update-primary/"),
            Some(Op::UpdatePrimary)
        );
        assert_eq!(parse("replication/performance/status"), None);
        assert_eq!(parse("mounts/x"), None);
    }
}
