//! Secret text that never shows in `Debug` output and is wiped from memory when dropped.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// A secret string (a private key in PEM, a root token id): `Debug` prints `<redacted>`,
/// the bytes are zeroed on drop, and serde reads and writes it as a plain string (the
/// caller seals what it persists through the barrier).
#[derive(Clone)]
pub struct SecretString(String);

/// Constant-time (up to the length).
impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        crate::util::ct_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for SecretString {}

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        SecretString(value.into())
    }

    /// The secret itself; keep the borrow short and never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        SecretString(value)
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SecretString)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret_and_serde_keeps_it() {
        let s = SecretString::new("-----BEGIN PRIVATE KEY-----abc");
        assert_eq!(format!("{s:?}"), "<redacted>");
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"-----BEGIN PRIVATE KEY-----abc\"");
        let back: SecretString = serde_json::from_str(&json).unwrap();
        assert_eq!(back.expose(), s.expose());
    }
}
