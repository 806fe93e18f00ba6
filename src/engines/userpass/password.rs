//! Userpass password hashes: argon2id PHC strings with a random salt, and their
//! verification. An unknown user's login is checked against a fixed dummy hash with the
//! same parameters, so a wrong password and an unknown user cost the same.
//!
//! Hashing and verification run on blocking threads, at most one per core at a time, so a
//! flood of logins cannot starve the async runtime.

use std::sync::{Arc, LazyLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use rand::RngCore;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Argon2id parameters (OWASP's recommendation): 19 MiB of memory, two passes, one lane.
const M_COST_KIB: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const OUTPUT_LEN: usize = 32;

/// How many hashes or verifications may run at once: one per core.
static HASH_SLOTS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    Arc::new(Semaphore::new(cores))
});

/// The hash an unknown user's login is checked against: a random password's, with the
/// same parameters as every real hash, so both cost one identical verification.
pub(super) static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut secret = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(secret.as_mut());
    // Hashing with constant, valid parameters cannot fail; should it anyway, the empty
    // string does not parse and every unknown-user login is simply refused.
    hash_blocking(secret.as_ref()).unwrap_or_default()
});

fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(M_COST_KIB, T_COST, P_COST, Some(OUTPUT_LEN))
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A fresh PHC string for `password`, with a random salt (CPU-heavy: blocking threads only).
fn hash_blocking(password: &[u8]) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2()?
        .hash_password(password, &salt)
        .map_err(|e| Error::Internal(format!("hashing a password: {e}")))?;
    Ok(hash.to_string())
}

/// Runs `work` on a blocking thread once a hashing slot is free. The slot goes with the
/// work, so it stays taken until the work ends even if the request is dropped meanwhile.
async fn run_bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let slot = Arc::clone(&HASH_SLOTS)
        .acquire_owned()
        .await
        .map_err(|_| Error::Internal("password hashing is unavailable".into()))?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    })
    .await
    .map_err(|e| Error::Internal(format!("password hashing task failed: {e}")))
}

pub(super) async fn hash_password(password: Zeroizing<String>) -> Result<String> {
    run_bounded(move || hash_blocking(password.as_bytes())).await?
}

/// The outcome of checking a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Match,
    Mismatch,
    /// The stored hash does not parse (damaged storage); the password was checked against
    /// the dummy hash instead, to keep the cost the same.
    Unreadable,
}

/// Checks `password` against `stored`, or against the dummy hash when there is no user.
pub(super) async fn verify_password(
    password: Zeroizing<String>,
    stored: Option<String>,
) -> Result<Verdict> {
    run_bounded(move || {
        let hasher = argon2()?;
        let matches =
            |hash: &PasswordHash<'_>| hasher.verify_password(password.as_bytes(), hash).is_ok();
        // Whatever its outcome, a check against the dummy hash is never a match.
        let check_dummy = || {
            if let Ok(dummy) = PasswordHash::new(DUMMY_HASH.as_str()) {
                matches(&dummy);
            }
        };
        Ok(match stored.as_deref().map(PasswordHash::new) {
            Some(Ok(hash)) if matches(&hash) => Verdict::Match,
            Some(Ok(_)) => Verdict::Mismatch,
            Some(Err(_)) => {
                check_dummy();
                Verdict::Unreadable
            }
            None => {
                check_dummy();
                Verdict::Mismatch
            }
        })
    })
    .await?
}
