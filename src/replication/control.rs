//! The small control messages of the cluster channel, besides the data path:
//!
//! - [`Ack`] (`POST /cluster/v1/ack`): a secondary says which primary position it has
//!   applied, at least once per heartbeat. The primary's status and lag figures come from
//!   these, not from the frames it sent: a partitioned secondary stops acknowledging even
//!   while its TCP stream looks open. The answer ([`AckAnswer`]) tells the secondary the
//!   primary's own last position, which is how a secondary knows its lag.
//! - [`Superseded`] (`POST /cluster/v1/superseded`): a secondary promoted with `force`
//!   tells the primary it left (with its client certificate of that primary's cluster CA)
//!   that a newer epoch of the same cluster took over; that primary steps down.
//!
//! Both carry client numbers: the receiver never trusts them for more than comparison,
//! and every arithmetic on them saturates.

use serde::{Deserialize, Serialize};
use vaultrs_storage::{LogId, Position};

/// How often a secondary acknowledges (the primary's [`crate::http::cluster::HEARTBEAT`]
/// is 2 s: at least once per heartbeat).
pub const ACK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// A secondary counts as connected while its last acknowledgement is younger than this
/// (three heartbeats).
pub const CONNECTED_WITHIN: std::time::Duration = std::time::Duration::from_secs(6);

/// A secondary's acknowledgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The primary log and sequence applied up to.
    pub log_id: LogId,
    pub seq: u64,
    /// The highest promotion epoch the secondary has seen of its replication set.
    #[serde(default)]
    pub epoch: u64,
    /// How long its previous acknowledgement took, round trip (Vault's
    /// `last_heartbeat_duration_ms`).
    #[serde(default)]
    pub rtt_ms: u64,
}

impl Ack {
    pub fn position(&self) -> Position {
        Position::new(self.log_id, self.seq)
    }
}

/// The primary's answer to an [`Ack`]: where it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckAnswer {
    pub log_id: LogId,
    pub seq: u64,
    pub epoch: u64,
}

/// A promoted secondary's notice to the primary it left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Superseded {
    /// The replication set (the same on both sides after a promotion).
    pub cluster_id: String,
    /// The promoted secondary's epoch.
    pub epoch: u64,
}

/// WALs between `acked` and the primary's `current` position: when the acknowledged
/// position is of another log (the primary's log was reset, a resync is due), all of
/// `current`'s.
pub fn wal_lag(current: Position, acked: Option<Position>) -> u64 {
    match acked {
        Some(a) if a.log_id == current.log_id => current.seq.saturating_sub(a.seq),
        _ => current.seq,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_saturates_and_counts_another_log_whole() {
        let log = LogId::random();
        let now = Position::new(log, 10);
        assert_eq!(wal_lag(now, Some(Position::new(log, 7))), 3);
        // A secondary claiming more than the primary has: no lag, no underflow.
        assert_eq!(wal_lag(now, Some(Position::new(log, u64::MAX))), 0);
        assert_eq!(wal_lag(now, Some(Position::new(LogId::random(), 9))), 10);
        assert_eq!(wal_lag(now, None), 10);
    }

    #[test]
    fn ack_wire_form() {
        let log = LogId::random();
        let ack: Ack = serde_json::from_str(&format!(r#"{{"log_id":"{log}","seq":5}}"#)).unwrap();
        assert_eq!(ack.position(), Position::new(log, 5));
        assert_eq!((ack.epoch, ack.rtt_ms), (0, 0));
        assert!(serde_json::from_str::<Ack>(r#"{"log_id":"zz","seq":5}"#).is_err());
        assert!(serde_json::from_str::<Ack>(&format!(r#"{{"log_id":"{log}","seq":-1}}"#)).is_err());
    }
}
