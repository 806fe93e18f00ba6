//! How unseal key shares (and an initial root token) are handed out: in the clear, or
//! each encrypted to its operator's PGP key (Vault's `pgp_keys` and `root_token_pgp_key`),
//! for `sys/init` and for a rekey ([`super::rekey`]).
//!
//! Keys are parsed and checked before anything takes effect; the shares are encrypted
//! after, in the order the keys were given.

use vaultrs_storage::barrier::SealConfig;
use zeroize::Zeroizing;

use super::{Core, InitResult};
use crate::error::{Error, Result};
use crate::pgp::{self, PublicKey};

/// The PGP keys of a `sys/init`: one per share (or none), and one for the root token.
#[derive(Debug, Default)]
pub struct InitPgp {
    pub shares: Vec<PublicKey>,
    pub root_token: Option<PublicKey>,
}

impl InitPgp {
    /// Parses `pgp_keys` and `root_token_pgp_key` (empty ones are absent) and checks the
    /// key count against `shares`.
    pub fn parse(
        pgp_keys: &[String],
        root_token_pgp_key: Option<&str>,
        shares: usize,
    ) -> Result<Self> {
        let keys = pgp::parse_keys(pgp_keys)?;
        check_count(
            &keys,
            shares,
            "count mismatch between number of provided PGP keys and number of shares",
        )?;
        let root_token = root_token_pgp_key
            .filter(|k| !k.trim().is_empty())
            .map(PublicKey::parse)
            .transpose()?;
        Ok(Self {
            shares: keys,
            root_token,
        })
    }
}

/// Vault's `SealConfig.Validate` bounds on a split, with its messages.
pub fn validate_split(shares: i64, threshold: i64) -> Result<SealConfig> {
    let fail = |m: &str| Err(Error::invalid(m));
    if shares < 1 {
        return fail("shares must be at least one");
    }
    if threshold < 1 {
        return fail("threshold must be at least one");
    }
    if shares > 1 && threshold < 2 {
        return fail("threshold must be greater than one for multiple shares");
    }
    if shares > 255 {
        return fail("shares must be less than 256");
    }
    if threshold > shares {
        return fail("threshold cannot be larger than shares");
    }
    // In bounds now: both fit a usize, and the storage layer agrees.
    SealConfig::new(shares as usize, threshold as usize).map_err(Error::from)
}

/// `keys` is empty or has one key per share.
pub(super) fn check_count(keys: &[PublicKey], shares: usize, message: &str) -> Result<()> {
    if keys.is_empty() || keys.len() == shares {
        Ok(())
    } else {
        Err(Error::invalid(message))
    }
}

/// The shares as handed out: unchanged without keys, else each encrypted to its key.
pub(super) fn deliver(
    shares: Vec<Zeroizing<Vec<u8>>>,
    keys: &[PublicKey],
) -> Result<Vec<Zeroizing<Vec<u8>>>> {
    if keys.is_empty() {
        return Ok(shares);
    }
    let encrypted = pgp::encrypt_shares(&shares, keys)?;
    Ok(encrypted.into_iter().map(Zeroizing::new).collect())
}

impl Core {
    /// The seal configuration whose threshold a quorum of shares must reach (generate-root,
    /// rekey): 400 `server is not yet initialized` before init, then 503 while sealed.
    pub(super) async fn quorum_config(&self) -> Result<SealConfig> {
        let config = self
            .barrier
            .seal_config()
            .await?
            .ok_or_else(|| Error::invalid("server is not yet initialized"))?;
        self.active()?;
        Ok(config)
    }

    /// `sys/init` with PGP keys: [`Core::init`], then the shares encrypted to their keys
    /// and the root token to its own (base64 of the message, as Vault's `root_token`).
    pub async fn init_with_pgp(
        &self,
        shares: usize,
        threshold: usize,
        pgp: &InitPgp,
    ) -> Result<InitResult> {
        check_count(
            &pgp.shares,
            shares,
            "count mismatch between number of provided PGP keys and number of shares",
        )?;
        let result = self.init(shares, threshold).await?;
        let keys = deliver(result.keys, &pgp.shares)?;
        let root_token = match &pgp.root_token {
            None => result.root_token,
            Some(key) => {
                use base64::Engine as _;
                let sealed = key.encrypt(result.root_token.as_bytes())?;
                Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(sealed))
            }
        };
        Ok(InitResult { keys, root_token })
    }
}
