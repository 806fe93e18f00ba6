//! A device's salt and its HMAC (Vault's `sdk/helper/salt` `GetIdentifiedHMAC`).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What every hashed value starts with.
pub const HASH_PREFIX: &str = "hmac-sha256:";

/// The keyed HMAC-SHA256 of one device: key = the salt string's bytes.
///
/// The keyed state is computed once and cloned per value. The salt itself is not kept
/// and never printed.
#[derive(Clone)]
pub struct Salt {
    mac: Hmac<Sha256>,
}

impl Salt {
    pub fn new(salt: &str) -> Self {
        // HMAC takes keys of any length (long ones are hashed first): this cannot fail.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(salt.as_bytes())
            .expect("HMAC accepts keys of any length");
        Salt { mac }
    }

    /// `hmac-sha256:` + hex(HMAC-SHA256(salt, value)).
    pub fn hash(&self, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(HASH_PREFIX.len() + 2 * digest.len());
        out.push_str(HASH_PREFIX);
        out.push_str(&hex::encode(digest));
        out
    }
}

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salt(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_value() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            Salt::new("Jefe").hash("what do ya want for nothing?"),
            "hmac-sha256:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(format!("{:?}", Salt::new("secret")), "Salt(..)");
    }
}
