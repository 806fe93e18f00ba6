//! The primary's activation ledger: which tokens it issued to which secondary, which it
//! has burned, which secondaries it revoked and which client certificate each holds.
//!
//! It is plain data (serde): the caller loads it, applies one change, and persists it
//! through the barrier under `local/replication/...` **before** answering the request that
//! made the change, so a token is never honoured twice even across a crash (a crash
//! between persisting and answering costs the operator a new token, never a replay).
//!
//! Rules:
//! - Each secondary id has at most one live token: issuing a new one supersedes the
//!   previous unused one ([`ActivationError::Superseded`]).
//! - Redeeming burns the token; a second use is [`ActivationError::AlreadyUsed`].
//! - An id whose secondary is active (activated, not revoked) gets no new token
//!   ([`ActivationError::SecondaryActive`]): revoke it first. An activation counts as
//!   complete once the primary saw the secondary on its cluster channel
//!   ([`ActivationLedger::note_contact`]); until then (the secondary failed at the cluster
//!   step, its token spent) a new token may be issued for the id, and it revokes the
//!   certificate of the attempt that never completed.
//! - Revoking an id refuses its tokens and its certificate; a new token lifts the id's
//!   revocation (as Vault: "not allowed to connect again unless given a new activation
//!   token"), but every certificate it held before stays revoked by serial.
//! - Burned and superseded tokens are remembered until they expire (to name the reason),
//!   then [`ActivationLedger::prune`] forgets them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::ca::RevokedSet;
use super::error::ActivationError;
use super::id::SecondaryId;
use super::token::ActivationClaims;
use crate::util::ct_eq;

/// The ledger (see the module doc).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationLedger {
    #[serde(default)]
    secondaries: BTreeMap<SecondaryId, SecondaryRecord>,
}

/// What the ledger knows of one secondary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondaryRecord {
    /// The newest issued, unused token.
    #[serde(default)]
    pending: Option<TokenRecord>,
    /// Redeemed tokens, until they expire.
    #[serde(default)]
    used: Vec<TokenRecord>,
    /// Replaced before use, until they expire.
    #[serde(default)]
    superseded: Vec<TokenRecord>,
    #[serde(default)]
    revoked: bool,
    /// Serial (hex) of the client certificate the secondary holds now.
    #[serde(default)]
    certificate_serial: Option<String>,
    /// Serials of every certificate this id held before, or held when revoked.
    #[serde(default)]
    revoked_serials: BTreeSet<String>,
    /// Unix time of the last activation.
    #[serde(default)]
    activated_at: Option<u64>,
    /// Activated (certificate issued) but not yet seen on the cluster channel. Records
    /// of earlier versions lack it: they count as complete.
    #[serde(default)]
    activation_pending: bool,
}

/// One token's one-time id and expiry.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TokenRecord {
    jti: String,
    exp: u64,
}

impl fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRecord")
            .field("jti", &"<redacted>")
            .field("exp", &self.exp)
            .finish()
    }
}

impl SecondaryRecord {
    /// Activated and not revoked.
    pub fn is_active(&self) -> bool {
        self.certificate_serial.is_some() && !self.revoked
    }

    pub fn is_revoked(&self) -> bool {
        self.revoked
    }

    /// Whether an issued token is waiting to be used.
    pub fn has_pending_token(&self) -> bool {
        self.pending.is_some()
    }

    pub fn certificate_serial(&self) -> Option<&str> {
        self.certificate_serial.as_deref()
    }

    pub fn activated_at(&self) -> Option<u64> {
        self.activated_at
    }

    /// Activated, but the secondary never reached the cluster channel with it.
    pub fn activation_pending(&self) -> bool {
        self.is_active() && self.activation_pending
    }

    fn holds(list: &[TokenRecord], jti: &str) -> bool {
        // Every entry is compared, in constant time each.
        list.iter().fold(false, |found, t| {
            found | ct_eq(t.jti.as_bytes(), jti.as_bytes())
        })
    }

    fn is_empty(&self) -> bool {
        self.pending.is_none()
            && self.used.is_empty()
            && self.superseded.is_empty()
            && !self.revoked
            && self.certificate_serial.is_none()
            && self.revoked_serials.is_empty()
    }
}

impl ActivationLedger {
    pub fn new() -> Self {
        Self::default()
    }

    /// The record of `id`, if any.
    pub fn secondary(&self, id: &SecondaryId) -> Option<&SecondaryRecord> {
        self.secondaries.get(id)
    }

    /// Every secondary the ledger knows, in id order.
    pub fn secondaries(&self) -> impl Iterator<Item = (&SecondaryId, &SecondaryRecord)> {
        self.secondaries.iter()
    }

    /// Ids of the active secondaries (status' `known_secondaries`).
    pub fn active_ids(&self) -> Vec<SecondaryId> {
        self.secondaries
            .iter()
            .filter(|(_, r)| r.is_active())
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Records a token just issued (its claims). Refused while the id is active, unless
    /// its activation never completed: then the certificate of that attempt is revoked.
    pub fn record_issued(
        &mut self,
        claims: &ActivationClaims,
        now: u64,
    ) -> Result<(), ActivationError> {
        self.prune(now);
        let record = self
            .secondaries
            .entry(claims.secondary_id.clone())
            .or_default();
        if record.is_active() && !record.activation_pending {
            return Err(ActivationError::SecondaryActive(
                claims.secondary_id.to_string(),
            ));
        }
        if let Some(serial) = record.certificate_serial.take() {
            record.revoked_serials.insert(serial);
        }
        record.activation_pending = false;
        if let Some(previous) = record.pending.take() {
            record.superseded.push(previous);
        }
        record.pending = Some(TokenRecord {
            jti: claims.jti.clone(),
            exp: claims.exp,
        });
        record.revoked = false;
        Ok(())
    }

    /// Burns the token of `claims` (already verified: signature, cluster, time), or says
    /// why it cannot be used. On error the ledger is unchanged.
    pub fn redeem(&mut self, claims: &ActivationClaims) -> Result<(), ActivationError> {
        let id = &claims.secondary_id;
        let record = self
            .secondaries
            .get_mut(id)
            .ok_or_else(|| ActivationError::UnknownSecondary(id.to_string()))?;
        if record.revoked {
            return Err(ActivationError::Revoked(id.to_string()));
        }
        if SecondaryRecord::holds(&record.used, &claims.jti) {
            return Err(ActivationError::AlreadyUsed);
        }
        match &record.pending {
            Some(p) if ct_eq(p.jti.as_bytes(), claims.jti.as_bytes()) => {
                if let Some(p) = record.pending.take() {
                    record.used.push(p);
                }
                Ok(())
            }
            _ if SecondaryRecord::holds(&record.superseded, &claims.jti) => {
                Err(ActivationError::Superseded(id.to_string()))
            }
            _ => Err(ActivationError::UnknownToken),
        }
    }

    /// Records the client certificate issued at activation; the id's previous
    /// certificate, if any, is revoked by serial.
    pub fn record_certificate(
        &mut self,
        id: &SecondaryId,
        serial: &str,
        now: u64,
    ) -> Result<(), ActivationError> {
        let record = self
            .secondaries
            .get_mut(id)
            .ok_or_else(|| ActivationError::UnknownSecondary(id.to_string()))?;
        let serial = serial.to_ascii_lowercase();
        if let Some(old) = record.certificate_serial.take() {
            if old != serial {
                record.revoked_serials.insert(old);
            }
        }
        record.certificate_serial = Some(serial);
        record.activated_at = Some(now);
        record.activation_pending = true;
        Ok(())
    }

    /// The secondary `id` reached the cluster channel with the certificate `serial`: its
    /// activation is complete. Whether the ledger changed (persist it then).
    pub fn note_contact(&mut self, id: &SecondaryId, serial: &str) -> bool {
        let Some(record) = self.secondaries.get_mut(id) else {
            return false;
        };
        let current = record
            .certificate_serial
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(serial));
        if current && record.activation_pending && !record.revoked {
            record.activation_pending = false;
            return true;
        }
        false
    }

    /// `revoke-secondary`: the id's tokens and certificate stop working. Returns whether
    /// anything changed (revoking twice is not an error).
    pub fn revoke(&mut self, id: &SecondaryId) -> Result<bool, ActivationError> {
        let record = self
            .secondaries
            .get_mut(id)
            .ok_or_else(|| ActivationError::UnknownSecondary(id.to_string()))?;
        let mut changed = !record.revoked;
        record.revoked = true;
        if let Some(p) = record.pending.take() {
            record.superseded.push(p);
            changed = true;
        }
        if let Some(serial) = record.certificate_serial.take() {
            record.revoked_serials.insert(serial);
            changed = true;
        }
        record.activation_pending = false;
        Ok(changed)
    }

    /// What the cluster listener must refuse.
    pub fn revoked_set(&self) -> RevokedSet {
        let mut set = RevokedSet::default();
        for (id, record) in &self.secondaries {
            if record.revoked {
                set.revoke_id(id.clone());
            }
            for serial in &record.revoked_serials {
                set.revoke_serial(serial);
            }
        }
        set
    }

    /// Forgets tokens that have expired by `now` (they fail verification before the
    /// ledger is asked) and records left with nothing in them.
    pub fn prune(&mut self, now: u64) {
        for record in self.secondaries.values_mut() {
            record.used.retain(|t| t.exp > now);
            record.superseded.retain(|t| t.exp > now);
            if record.pending.as_ref().is_some_and(|t| t.exp <= now) {
                record.pending = None;
            }
        }
        self.secondaries.retain(|_, r| !r.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::token::TOKEN_TYPE;

    const NOW: u64 = 1_800_000_000;

    fn claims(id: &str, jti: &str) -> ActivationClaims {
        ActivationClaims {
            secondary_id: SecondaryId::new(id).unwrap(),
            cluster_id: "c1".into(),
            addr: "https://127.0.0.1:8200".into(),
            cluster_addr: "https://127.0.0.1:8201".into(),
            iat: NOW,
            nbf: NOW - 5,
            exp: NOW + 1800,
            jti: jti.into(),
            kind: TOKEN_TYPE.into(),
        }
    }

    fn id(s: &str) -> SecondaryId {
        SecondaryId::new(s).unwrap()
    }

    #[test]
    fn a_token_is_used_once() {
        let mut ledger = ActivationLedger::new();
        let t = claims("dc2", "aa");
        assert_eq!(
            ledger.clone().redeem(&t),
            Err(ActivationError::UnknownSecondary("dc2".into()))
        );
        ledger.record_issued(&t, NOW).unwrap();
        assert!(ledger.secondary(&id("dc2")).unwrap().has_pending_token());
        ledger.redeem(&t).unwrap();
        let before = ledger.clone();
        assert_eq!(ledger.redeem(&t), Err(ActivationError::AlreadyUsed));
        assert_eq!(ledger, before, "a refused redeem changes nothing");
        // A token of the right id that the ledger never saw.
        assert_eq!(
            ledger.redeem(&claims("dc2", "bb")),
            Err(ActivationError::UnknownToken)
        );
    }

    #[test]
    fn a_newer_token_supersedes_and_an_active_id_gets_none() {
        let mut ledger = ActivationLedger::new();
        let first = claims("dc2", "01");
        let second = claims("dc2", "02");
        ledger.record_issued(&first, NOW).unwrap();
        ledger.record_issued(&second, NOW).unwrap();
        assert_eq!(
            ledger.redeem(&first),
            Err(ActivationError::Superseded("dc2".into()))
        );
        ledger.redeem(&second).unwrap();
        ledger.record_certificate(&id("dc2"), "AB01", NOW).unwrap();
        assert_eq!(ledger.active_ids(), vec![id("dc2")]);
        assert!(ledger.note_contact(&id("dc2"), "ab01"));
        assert!(!ledger.note_contact(&id("dc2"), "ab01"), "once");
        assert_eq!(
            ledger.record_issued(&claims("dc2", "03"), NOW),
            Err(ActivationError::SecondaryActive("dc2".into()))
        );
        // Other ids are independent.
        ledger.record_issued(&claims("dc3", "04"), NOW).unwrap();
        assert_eq!(
            ledger.redeem(&claims("dc3", "02")),
            Err(ActivationError::UnknownToken)
        );
    }

    #[test]
    fn revocation_refuses_tokens_and_certificates_until_a_new_token() {
        let mut ledger = ActivationLedger::new();
        let t = claims("dc2", "01");
        ledger.record_issued(&t, NOW).unwrap();
        ledger.redeem(&t).unwrap();
        ledger.record_certificate(&id("dc2"), "aa01", NOW).unwrap();
        assert!(ledger.revoke(&id("dc2")).unwrap());
        assert!(
            !ledger.revoke(&id("dc2")).unwrap(),
            "second revoke: no change"
        );
        assert!(ledger.revoke(&id("nobody")).is_err());
        let set = ledger.revoked_set();
        assert!(set.ids.contains(&id("dc2")));
        assert!(set.serials.contains("aa01"));
        assert!(ledger.active_ids().is_empty());

        // An unused token issued before the revocation is refused as revoked.
        let mut l2 = ActivationLedger::new();
        let pending = claims("dc9", "09");
        l2.record_issued(&pending, NOW).unwrap();
        l2.revoke(&id("dc9")).unwrap();
        assert_eq!(
            l2.redeem(&pending),
            Err(ActivationError::Revoked("dc9".into()))
        );

        // A new token lifts the id's revocation; the old certificate stays revoked.
        let again = claims("dc2", "02");
        ledger.record_issued(&again, NOW).unwrap();
        assert!(!ledger.revoked_set().ids.contains(&id("dc2")));
        ledger.redeem(&again).unwrap();
        ledger.record_certificate(&id("dc2"), "BB02", NOW).unwrap();
        let set = ledger.revoked_set();
        assert!(set.serials.contains("aa01"));
        assert!(!set.serials.contains("bb02"));
        assert_eq!(
            ledger.secondary(&id("dc2")).unwrap().certificate_serial(),
            Some("bb02")
        );
    }

    #[test]
    fn an_activation_never_seen_on_the_cluster_channel_can_be_redone() {
        let mut ledger = ActivationLedger::new();
        let first = claims("dc2", "01");
        ledger.record_issued(&first, NOW).unwrap();
        ledger.redeem(&first).unwrap();
        ledger.record_certificate(&id("dc2"), "aa01", NOW).unwrap();
        assert!(ledger.secondary(&id("dc2")).unwrap().activation_pending());
        // Another certificate's contact does not complete it.
        assert!(!ledger.note_contact(&id("dc2"), "ffff"));
        // A new token: the spent one stays spent, the attempt's certificate is revoked.
        let second = claims("dc2", "02");
        ledger.record_issued(&second, NOW).unwrap();
        assert!(ledger.revoked_set().serials.contains("aa01"));
        assert!(ledger.active_ids().is_empty());
        assert_eq!(ledger.redeem(&first), Err(ActivationError::AlreadyUsed));
        ledger.redeem(&second).unwrap();
        ledger.record_certificate(&id("dc2"), "bb02", NOW).unwrap();
        assert!(!ledger.note_contact(&id("dc2"), "aa01"), "the revoked one");
        assert!(ledger.note_contact(&id("dc2"), "BB02"));
        // Complete now: the existing refusal.
        assert_eq!(
            ledger.record_issued(&claims("dc2", "03"), NOW),
            Err(ActivationError::SecondaryActive("dc2".into()))
        );
        // A record of an earlier version (no flag) counts as complete.
        let json = serde_json::to_string(&ledger)
            .unwrap()
            .replace(",\"activation_pending\":false", "");
        assert!(!json.contains("activation_pending"), "{json}");
        let mut old: ActivationLedger = serde_json::from_str(&json).unwrap();
        assert!(old.record_issued(&claims("dc2", "04"), NOW).is_err());
    }

    #[test]
    fn reactivation_revokes_the_previous_certificate() {
        let mut ledger = ActivationLedger::new();
        ledger.record_issued(&claims("dc2", "01"), NOW).unwrap();
        ledger.record_certificate(&id("dc2"), "01", NOW).unwrap();
        ledger.record_certificate(&id("dc2"), "02", NOW).unwrap();
        assert_eq!(
            ledger.revoked_set().serials,
            BTreeSet::from(["01".to_string()])
        );
    }

    #[test]
    fn prune_forgets_expired_tokens_only() {
        let mut ledger = ActivationLedger::new();
        let t = claims("dc2", "01");
        ledger.record_issued(&t, NOW).unwrap();
        ledger.redeem(&t).unwrap();
        ledger.record_issued(&claims("dc3", "02"), NOW).unwrap();
        ledger.prune(t.exp - 1);
        assert_eq!(ledger.redeem(&t), Err(ActivationError::AlreadyUsed));
        ledger.prune(t.exp);
        // Both records held only tokens, now expired.
        assert_eq!(ledger.secondaries().count(), 0);

        // A revoked id survives pruning.
        ledger.record_issued(&claims("dc4", "03"), NOW).unwrap();
        ledger.revoke(&id("dc4")).unwrap();
        ledger.prune(NOW + 10 * 86_400);
        assert!(ledger.secondary(&id("dc4")).unwrap().is_revoked());
    }

    #[test]
    fn serde_round_trip_and_debug_hides_jtis() {
        let mut ledger = ActivationLedger::new();
        ledger
            .record_issued(&claims("dc2", "feedfacecafe"), NOW)
            .unwrap();
        ledger.record_certificate(&id("dc2"), "01", NOW).unwrap();
        let json = serde_json::to_string(&ledger).unwrap();
        let back: ActivationLedger = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ledger);
        assert!(!format!("{ledger:?}").contains("feedfacecafe"));
        let empty: ActivationLedger = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, ActivationLedger::new());
    }
}
