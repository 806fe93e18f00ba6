//! A cluster's replication state: its mode and what it knows of the other side.
//! Persisted (sealed by the barrier) at [`STATE_KEY`], a local key: each cluster has its
//! own, and replication never ships it.

use serde::{Deserialize, Serialize};

/// Where the state is kept.
pub const STATE_KEY: &str = "local/replication/state";

/// Version of the stored form.
const VERSION: u32 = 1;

/// The performance replication mode of a cluster.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Disabled,
    Primary,
    Secondary,
}

impl Mode {
    /// As `sys/health` and the status endpoints say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Disabled => "disabled",
            Mode::Primary => "primary",
            Mode::Secondary => "secondary",
        }
    }
}

/// A secondary as its primary knows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondaryRecord {
    /// The id given to `primary/secondary-token`.
    pub id: String,
    /// Revoked secondaries are refused on the cluster channel.
    #[serde(default)]
    pub revoked: bool,
    #[serde(default)]
    pub api_address: String,
    #[serde(default)]
    pub cluster_address: String,
}

/// The stored replication state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    pub mode: Mode,
    /// The replication set's id: made by the primary at `primary/enable`, learned by a
    /// secondary at activation. A secondary applies nothing from another cluster id.
    #[serde(default)]
    pub cluster_id: String,
    /// Raised by every promotion: a secondary never applies a stream of an older epoch.
    #[serde(default)]
    pub epoch: u64,
    /// On a primary, the cluster address it advertises; on a secondary, its primary's.
    #[serde(default)]
    pub primary_cluster_addr: String,
    /// On a secondary: its primary's API address and its own id.
    #[serde(default)]
    pub primary_api_addr: String,
    #[serde(default)]
    pub secondary_id: String,
    /// On a primary: the secondaries it issued activation tokens for.
    #[serde(default)]
    pub secondaries: Vec<SecondaryRecord>,
}

impl State {
    /// A fresh primary state for the replication set `cluster_id`.
    pub fn primary(cluster_id: String, primary_cluster_addr: String) -> Self {
        Self {
            version: VERSION,
            mode: Mode::Primary,
            cluster_id,
            epoch: 1,
            primary_cluster_addr,
            ..Self::default()
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        // Plain data with string keys: serializing it cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> crate::Result<Self> {
        serde_json::from_slice(bytes)
            .map_err(|e| crate::Error::Internal(format!("replication state: {e}")))
    }

    /// Whether this cluster follows a primary (replicated keys are written only by the
    /// replica).
    pub fn is_follower(&self) -> bool {
        self.mode == Mode::Secondary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_reads_older_forms() {
        let mut s = State::primary("c1".into(), "https://127.0.0.1:8201".into());
        s.secondaries.push(SecondaryRecord {
            id: "east".into(),
            ..SecondaryRecord::default()
        });
        assert_eq!(State::decode(&s.encode()).unwrap(), s);
        let minimal = State::decode(br#"{"version":1,"mode":"secondary"}"#).unwrap();
        assert!(minimal.is_follower());
        assert!(State::decode(b"{").is_err());
        assert_eq!(Mode::default().as_str(), "disabled");
    }
}
