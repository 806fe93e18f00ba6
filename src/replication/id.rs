//! The secondary id: the name an operator gives a secondary at `secondary-token id=...`.
//!
//! It names the secondary in the activation token, in its client certificate (the
//! subject's common name) and in the primary's ledger, and it becomes part of storage keys,
//! so it is restricted to 1-64 characters of `A-Z a-z 0-9 . _ -`, not starting with `.`
//! (Vault calls it an opaque string; every id seen in practice — `us-east`, `dc2`, a UUID —
//! fits).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::ActivationError;

/// Longest id accepted (the X.520 upper bound of a common name).
pub const MAX_SECONDARY_ID_LEN: usize = 64;

/// A validated secondary id.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SecondaryId(String);

impl SecondaryId {
    /// Checks `id` against the rules above.
    pub fn new(id: impl Into<String>) -> Result<Self, ActivationError> {
        let id = id.into();
        let bad = |why: &str| Err(ActivationError::InvalidSecondaryId(why.to_string()));
        if id.is_empty() {
            return bad("the secondary id is empty");
        }
        if id.len() > MAX_SECONDARY_ID_LEN {
            return bad("the secondary id is longer than 64 characters");
        }
        if id.starts_with('.') {
            return bad("the secondary id starts with '.'");
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return bad("the secondary id may hold only letters, digits, '.', '_' and '-'");
        }
        Ok(SecondaryId(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SecondaryId {
    type Error = ActivationError;
    fn try_from(id: String) -> Result<Self, Self::Error> {
        SecondaryId::new(id)
    }
}

impl From<SecondaryId> for String {
    fn from(id: SecondaryId) -> String {
        id.0
    }
}

impl fmt::Display for SecondaryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SecondaryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_usual_ids_and_refuses_the_rest() {
        for ok in [
            "dc2",
            "us-east",
            "eu_west.1",
            "cd0463e0-a37f-7421-345e-aad53007479f",
        ] {
            assert_eq!(SecondaryId::new(ok).unwrap().as_str(), ok);
        }
        let long = "a".repeat(65);
        for bad in [
            "",
            ".hidden",
            "a/b",
            "../x",
            "with space",
            "é",
            "a\0b",
            long.as_str(),
        ] {
            assert!(
                matches!(
                    SecondaryId::new(bad),
                    Err(ActivationError::InvalidSecondaryId(_))
                ),
                "{bad:?} was accepted"
            );
        }
        assert!(SecondaryId::new("a".repeat(64)).is_ok());
    }

    #[test]
    fn serde_validates() {
        let id: SecondaryId = serde_json::from_str("\"dc2\"").unwrap();
        assert_eq!(id.as_str(), "dc2");
        assert!(serde_json::from_str::<SecondaryId>("\"a/b\"").is_err());
    }
}
