//! Userpass password hashes: argon2id PHC strings with a random salt, and their
//! verification. An unknown user's login is checked against a fixed dummy hash with the
//! same parameters, so a wrong password and an unknown user cost the same.
//!
//! Every hash and verification runs on the [`HashPool`]'s threads, one per core, in the
//! memory each of them maps for the purpose (`pool.rs`): a flood of logins neither
//! starves the async runtime nor leaves the allocator holding 19 MiB per thread that once
//! hashed.

use std::sync::{LazyLock, OnceLock};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

use super::pool::{HashPool, PoolStats};
use crate::error::{Error, Result};

/// Argon2id parameters (OWASP's recommendation): 19 MiB of memory, two passes, one lane.
const M_COST_KIB: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const OUTPUT_LEN: usize = 32;
/// Random salt bytes per hash (what `SaltString::generate` makes).
const SALT_LEN: usize = 16;

/// The hashing threads: one per core, each with room for one hash of [`M_COST_KIB`].
static POOL: LazyLock<Option<HashPool>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    HashPool::new(cores, M_COST_KIB as usize)
        .inspect_err(|e| tracing::error!(error = %e, "cannot start the password hashing threads"))
        .ok()
});

/// The hashing threads' figures (all zero when they could not start).
pub(super) fn pool_stats() -> PoolStats {
    POOL.as_ref().map(HashPool::stats).unwrap_or_default()
}

fn pool() -> Result<&'static HashPool> {
    POOL.as_ref()
        .ok_or_else(|| Error::Unavailable("password hashing is unavailable".into()))
}

/// The hash an unknown user's login is checked against: a random password's, with the
/// same parameters as every real hash, so both cost one identical verification. Made
/// once, on a hashing thread.
pub(super) static DUMMY_HASH: OnceLock<String> = OnceLock::new();

fn dummy_hash(memory: &mut [Block]) -> &'static str {
    DUMMY_HASH.get_or_init(|| {
        let mut secret = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(secret.as_mut());
        // Hashing with constant, valid parameters cannot fail; should it anyway, the
        // empty string does not parse and every unknown-user login is simply refused.
        hash_in(memory, secret.as_ref()).unwrap_or_default()
    })
}

/// Makes the dummy hash in the background, so that not even the first login of an
/// unknown user pays for it.
pub(super) fn warm_up() {
    if let Ok(pool) = pool() {
        pool.spawn(|memory| {
            dummy_hash(memory);
        });
    }
}

fn internal(what: &'static str) -> impl Fn(argon2::password_hash::Error) -> Error {
    move |e| Error::Internal(format!("{what}: {e}"))
}

/// A fresh PHC string for `password`, with a random salt, hashed in `memory`.
fn hash_in(memory: &mut [Block], password: &[u8]) -> Result<String> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, Some(OUTPUT_LEN))
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
    let mut salt = [0u8; SALT_LEN];
    OsRng.fill_bytes(&mut salt);
    let mut out = [0u8; OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut out, memory)
        .map_err(|e| Error::Internal(format!("hashing a password: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(internal("encoding a salt"))?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(internal("encoding parameters"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(internal("encoding a hash"))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` hashes to `hash` (with its own parameters and salt) in `memory`;
/// `None` when the hash cannot be checked here (damaged, or asking for more memory than a
/// hashing thread has).
fn matches_in(memory: &mut [Block], password: &[u8], hash: &PasswordHash<'_>) -> Option<bool> {
    let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(hash).ok()?;
    let (salt, expected) = (hash.salt?, hash.hash?);
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes).ok()?;
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = out.get_mut(..expected.len())?;
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, out, memory)
        .ok()?;
    // `Output` compares in constant time.
    Some(Output::new(out).ok()? == expected)
}

pub(super) async fn hash_password(password: Zeroizing<String>) -> Result<String> {
    pool()?
        .run(move |memory| hash_in(memory, password.as_bytes()))
        .await
}

/// The outcome of checking a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Match,
    Mismatch,
    /// The stored hash does not parse or cannot be checked (damaged storage); the password
    /// was checked against the dummy hash instead, to keep the cost the same.
    Unreadable,
}

/// Checks `password` against `stored`, or against the dummy hash when there is no user.
pub(super) async fn verify_password(
    password: Zeroizing<String>,
    stored: Option<String>,
) -> Result<Verdict> {
    pool()?
        .run(move |memory| {
            let password = password.as_bytes();
            let stored = stored.as_deref().map(PasswordHash::new);
            let checked = match &stored {
                Some(Ok(hash)) => matches_in(memory, password, hash),
                _ => None,
            };
            if checked.is_none() {
                // Whatever its outcome, a check against the dummy hash is never a match.
                if let Ok(dummy) = PasswordHash::new(dummy_hash(memory)) {
                    matches_in(memory, password, &dummy);
                }
            }
            Ok(match (stored, checked) {
                (_, Some(true)) => Verdict::Match,
                (_, Some(false)) | (None, _) => Verdict::Mismatch,
                (Some(_), None) => Verdict::Unreadable,
            })
        })
        .await
}
