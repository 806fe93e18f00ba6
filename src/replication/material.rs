//! What each side of replication keeps sealed in its own storage, under
//! `local/replication/` (local keys: they never leave the cluster).
//!
//! - A primary: its cluster CA, its activation-token signing key and the activation
//!   ledger ([`PrimaryMaterial`], at [`PRIMARY_KEY`]).
//! - A secondary: the activation bundle it was given ([`ActivationBundle`], at
//!   [`SECONDARY_KEY`]): the cluster CA it trusts, its client certificate and key, and the
//!   primary's addresses.
//!
//! Both are written through the barrier (sealed), one key each, and read at unseal.

use serde::{Deserialize, Serialize};

use super::bundle::ActivationBundle;
use super::ca::ClusterCaState;
use super::ledger::ActivationLedger;
use super::token::JwtSigningKeyState;
use crate::error::{Error, Result};

/// Where a primary keeps its [`PrimaryMaterial`].
pub const PRIMARY_KEY: &str = "local/replication/primary";
/// Where a secondary keeps its [`ActivationBundle`].
pub const SECONDARY_KEY: &str = "local/replication/secondary";

/// A primary's secrets and ledger.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PrimaryMaterial {
    pub version: u32,
    pub ca: ClusterCaState,
    pub signing_key: JwtSigningKeyState,
    #[serde(default)]
    pub ledger: ActivationLedger,
}

impl PrimaryMaterial {
    pub fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self)
            .map_err(|e| Error::Internal(format!("encoding replication material: {e}")))
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::Internal(format!("replication material: {e}")))
    }
}

/// Encodes a secondary's bundle for [`SECONDARY_KEY`].
pub fn encode_bundle(bundle: &ActivationBundle) -> Result<Vec<u8>> {
    serde_json::to_vec(bundle)
        .map_err(|e| Error::Internal(format!("encoding the activation bundle: {e}")))
}

/// Decodes what [`encode_bundle`] wrote.
pub fn decode_bundle(bytes: &[u8]) -> Result<ActivationBundle> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::Internal(format!("stored activation bundle: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::ca::ClusterCa;
    use crate::replication::token::JwtSigningKey;

    #[test]
    fn primary_material_round_trips() {
        let ca = ClusterCa::generate("c-1", 1_800_000_000).unwrap();
        let key = JwtSigningKey::generate().unwrap();
        let m = PrimaryMaterial {
            version: 1,
            ca: ca.state(),
            signing_key: key.state(),
            ledger: ActivationLedger::new(),
        };
        let back = PrimaryMaterial::decode(&m.encode().unwrap()).unwrap();
        assert_eq!(back.ca.cert_pem, m.ca.cert_pem);
        assert_eq!(back.ca.key_pem.expose(), m.ca.key_pem.expose());
        assert_eq!(
            back.signing_key.private_key.expose(),
            m.signing_key.private_key.expose()
        );
        // What was stored loads back into working keys.
        ClusterCa::from_state(&back.ca).unwrap();
        JwtSigningKey::from_state(&back.signing_key).unwrap();
        assert!(PrimaryMaterial::decode(b"{}").is_err());
    }
}
