//! Shamir secret sharing over GF(2^8), share-compatible with Vault/OpenBao
//! (`sdk/helper/shamir`).
//!
//! A share is `y_1 .. y_n || x`: one y-byte per secret byte, then the share's x-coordinate.
//! Each secret byte is the constant term of its own random polynomial of degree
//! `threshold - 1`; the x-coordinates are distinct, non-zero and shuffled. Combining
//! interpolates every polynomial at `x = 0` (Lagrange).
//!
//! The field is GF(2^8) with the AES polynomial `x^8 + x^4 + x^3 + x + 1` (0x11b).
//! Multiplication and inversion are constant time: no branch and no table index depends
//! on the operands. Wrong shares do not fail here; they combine into garbage, and only the
//! barrier's authenticated decryption notices (Vault's "invalid key").

use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Most shares one split can produce (x-coordinates are the non-zero bytes).
pub const MAX_PARTS: usize = 255;

/// `a • b` in GF(2^8): eight fixed shift/xor steps, reduction by a mask, no branches.
#[inline]
fn mul(a: u8, b: u8) -> u8 {
    let mut r: u8 = 0;
    for i in (0..8).rev() {
        // r = r*x (reduced) + bit_i(b) * a
        let reduce = (r >> 7).wrapping_neg() & 0x1b;
        let take = ((b >> i) & 1).wrapping_neg() & a;
        r = (r << 1) ^ reduce ^ take;
    }
    r
}

/// The multiplicative inverse, `a^254` (so `inv(0) = 0`), by a fixed chain of squarings:
/// `a^254 = a^2 • a^4 • a^8 • a^16 • a^32 • a^64 • a^128`.
#[inline]
fn inv(a: u8) -> u8 {
    let mut power = a;
    let mut r: u8 = 1;
    for _ in 0..7 {
        power = mul(power, power);
        r = mul(r, power);
    }
    r
}

fn invalid(msg: &str) -> Error {
    Error::InvalidRequest(msg.to_owned())
}

/// Splits `secret` into `parts` shares, any `threshold` of which recombine it.
///
/// Bounds as Vault: `2 <= threshold <= parts <= 255`, and the secret is not empty.
pub fn split(secret: &[u8], parts: usize, threshold: usize) -> Result<Vec<Zeroizing<Vec<u8>>>> {
    if parts < threshold {
        return Err(invalid("parts cannot be less than threshold"));
    }
    if parts > MAX_PARTS {
        return Err(invalid("parts cannot exceed 255"));
    }
    if threshold < 2 {
        return Err(invalid("threshold must be at least 2"));
    }
    if secret.is_empty() {
        return Err(invalid("cannot split an empty secret"));
    }

    // Distinct, non-zero, shuffled x-coordinates.
    let mut xs: Vec<u8> = (1..=255u8).collect();
    xs.shuffle(&mut OsRng);
    xs.truncate(parts);

    // One random polynomial per secret byte: the coefficients of x^1 .. x^(threshold-1).
    let mut coefficients = Zeroizing::new(vec![0u8; secret.len() * (threshold - 1)]);
    OsRng.fill_bytes(&mut coefficients);

    Ok(split_with_coefficients(
        secret,
        &xs,
        threshold,
        &coefficients,
    ))
}

/// The deterministic half of [`split`]: evaluates, for every secret byte `s_i`, the
/// polynomial `s_i + c_i1 x + ... + c_i(t-1) x^(t-1)` at each of `xs`, where
/// `coefficients[i * (t-1) + j]` is `c_i(j+1)`.
fn split_with_coefficients(
    secret: &[u8],
    xs: &[u8],
    threshold: usize,
    coefficients: &[u8],
) -> Vec<Zeroizing<Vec<u8>>> {
    let degree = threshold.saturating_sub(1).max(1);
    debug_assert_eq!(coefficients.len(), secret.len() * degree);
    xs.iter()
        .map(|&x| {
            let mut share = Zeroizing::new(Vec::with_capacity(secret.len() + 1));
            for (&s, coeffs) in secret.iter().zip(coefficients.chunks_exact(degree)) {
                // Horner, from the highest coefficient down to the secret byte.
                let mut y: u8 = 0;
                for &c in coeffs.iter().rev() {
                    y = mul(y, x) ^ c;
                }
                share.push(mul(y, x) ^ s);
            }
            share.push(x);
            share
        })
        .collect()
}

/// Recombines shares made by [`split`] (or by Vault) into the secret.
///
/// Needs at least two shares of equal length (at least two bytes each) with distinct
/// x-coordinates. Shares from different splits, or too few of them, give a wrong secret,
/// not an error.
pub fn combine(parts: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>> {
    if parts.len() < 2 {
        return Err(invalid(
            "less than two parts cannot be used to reconstruct the secret",
        ));
    }
    let len = parts[0].len();
    if len < 2 {
        return Err(invalid("parts must be at least two bytes"));
    }
    if parts.iter().any(|p| p.len() != len) {
        return Err(invalid("all parts must be the same length"));
    }
    // The x-coordinates are public; checking them may branch.
    let xs: Vec<u8> = parts.iter().map(|p| p[len - 1]).collect();
    let mut seen = [false; 256];
    for &x in &xs {
        if std::mem::replace(&mut seen[usize::from(x)], true) {
            return Err(invalid("duplicate part detected"));
        }
    }

    // Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_i + x_j) (subtraction is xor).
    let basis: Vec<u8> = xs
        .iter()
        .enumerate()
        .map(|(i, &xi)| {
            xs.iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .fold(1u8, |acc, (_, &xj)| mul(acc, mul(xj, inv(xi ^ xj))))
        })
        .collect();

    let mut secret = Zeroizing::new(vec![0u8; len - 1]);
    for (idx, out) in secret.iter_mut().enumerate() {
        *out = parts
            .iter()
            .zip(&basis)
            .fold(0u8, |acc, (part, &l)| acc ^ mul(part[idx], l));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plainly written, branchy reference multiplication, to check `mul` against.
    fn slow_mul(mut a: u8, mut b: u8) -> u8 {
        let mut r = 0u8;
        while b != 0 {
            if b & 1 == 1 {
                r ^= a;
            }
            let carry = a & 0x80 != 0;
            a <<= 1;
            if carry {
                a ^= 0x1b;
            }
            b >>= 1;
        }
        r
    }

    fn refs(shares: &[Zeroizing<Vec<u8>>]) -> Vec<&[u8]> {
        shares.iter().map(|s| s.as_slice()).collect()
    }

    #[test]
    fn shamir_fips197_field_vectors() {
        // FIPS-197 §4.2: {57} • {83} = {c1}; §4.2.1: {57} • {13} = {fe}.
        assert_eq!(mul(0x57, 0x83), 0xc1);
        assert_eq!(mul(0x83, 0x57), 0xc1);
        assert_eq!(mul(0x57, 0x13), 0xfe);
        // §4.2.1 xtime chain: {57} -> {ae} -> {47} -> {8e} -> {07}.
        let chain = [0x57, 0xae, 0x47, 0x8e, 0x07];
        for w in chain.windows(2) {
            assert_eq!(mul(w[0], 0x02), w[1], "xtime({:02x})", w[0]);
        }
        assert_eq!(mul(0x57, 0x01), 0x57);
        assert_eq!(mul(0x57, 0x00), 0x00);
    }

    #[test]
    fn shamir_mul_matches_reference_for_all_pairs() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), slow_mul(a, b), "{a:02x} * {b:02x}");
            }
        }
    }

    #[test]
    fn shamir_inverse_of_every_nonzero_element() {
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1, "a = {a:02x}");
        }
        assert_eq!(inv(0), 0);
        // FIPS-197 §4.2: {53}^-1 = {ca}.
        assert_eq!(inv(0x53), 0xca);
    }

    #[test]
    fn shamir_hand_computed_vectors() {
        // f(x) = 0x2a + 0x57 x at x = 0x83 and x = 0x13, using the FIPS-197 products:
        // 0x2a ^ 0xc1 = 0xeb, 0x2a ^ 0xfe = 0xd4.
        let shares = split_with_coefficients(&[0x2a], &[0x83, 0x13], 2, &[0x57]);
        assert_eq!(shares[0].as_slice(), &[0xeb, 0x83]);
        assert_eq!(shares[1].as_slice(), &[0xd4, 0x13]);
        assert_eq!(combine(&refs(&shares)).unwrap().as_slice(), &[0x2a]);

        // Two bytes, threshold 3: f0(x) = 0x53 + 0x01 x + 0x02 x^2, f1(x) = 0x00 + 0x00 x + 0x01 x^2.
        // x=1: f0 = 53^01^02 = 50, f1 = 01
        // x=2: f0 = 53^02^(02•04 = 08) = 59, f1 = 04
        // x=3: 3•3 = 05; f0 = 53^03^(02•05 = 0a) = 5a, f1 = 05
        let shares =
            split_with_coefficients(&[0x53, 0x00], &[1, 2, 3], 3, &[0x01, 0x02, 0x00, 0x01]);
        assert_eq!(shares[0].as_slice(), &[0x50, 0x01, 1]);
        assert_eq!(shares[1].as_slice(), &[0x59, 0x04, 2]);
        assert_eq!(shares[2].as_slice(), &[0x5a, 0x05, 3]);
        assert_eq!(combine(&refs(&shares)).unwrap().as_slice(), &[0x53, 0x00]);
        // Order does not matter.
        let reversed: Vec<&[u8]> = refs(&shares).into_iter().rev().collect();
        assert_eq!(combine(&reversed).unwrap().as_slice(), &[0x53, 0x00]);
    }

    #[test]
    fn shamir_every_subset_of_threshold_or_more_recombines() {
        let secret: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(37) ^ 0xa5).collect();
        let shares = split(&secret, 5, 3).unwrap();
        assert_eq!(shares.len(), 5);
        let mut xs: Vec<u8> = shares.iter().map(|s| s[32]).collect();
        assert!(shares.iter().all(|s| s.len() == 33));
        assert!(xs.iter().all(|&x| x != 0));
        xs.sort_unstable();
        xs.dedup();
        assert_eq!(xs.len(), 5, "x-coordinates must be distinct");

        let mut checked = 0;
        for mask in 0u32..32 {
            let subset: Vec<&[u8]> = (0..5)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| shares[i].as_slice())
                .collect();
            match subset.len() {
                0 | 1 => assert!(combine(&subset).is_err()),
                2 => assert_ne!(combine(&subset).unwrap().as_slice(), secret.as_slice()),
                _ => {
                    assert_eq!(combine(&subset).unwrap().as_slice(), secret.as_slice());
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 10 + 5 + 1);
    }

    #[test]
    fn shamir_split_is_randomized() {
        let a = split(b"same secret", 3, 2).unwrap();
        let b = split(b"same secret", 3, 2).unwrap();
        assert_ne!(refs(&a), refs(&b));
    }

    #[test]
    fn shamir_max_parts() {
        let shares = split(b"k", 255, 255).unwrap();
        assert_eq!(combine(&refs(&shares)).unwrap().as_slice(), b"k");
        let shares = split(b"k", 255, 2).unwrap();
        assert_eq!(combine(&refs(&shares[100..102])).unwrap().as_slice(), b"k");
    }

    #[test]
    fn shamir_duplicate_part_refused() {
        let shares = split(b"secret", 5, 3).unwrap();
        let parts = [
            shares[0].as_slice(),
            shares[1].as_slice(),
            shares[0].as_slice(),
        ];
        assert!(
            matches!(combine(&parts), Err(Error::InvalidRequest(m)) if m.contains("duplicate"))
        );
        // Same x-coordinate, different y: still a duplicate part.
        let mut forged = shares[1].to_vec();
        forged[0] ^= 1;
        let parts = [shares[1].as_slice(), forged.as_slice()];
        assert!(matches!(combine(&parts), Err(Error::InvalidRequest(_))));
    }

    #[test]
    fn shamir_bad_bounds_refused() {
        for (parts, threshold) in [
            (0, 0),
            (1, 1),
            (5, 1),
            (3, 4),
            (256, 2),
            (256, 256),
            (5, 0),
            (2, 3),
        ] {
            assert!(
                matches!(
                    split(b"secret", parts, threshold),
                    Err(Error::InvalidRequest(_))
                ),
                "{parts}/{threshold} accepted"
            );
        }
        assert!(matches!(split(b"", 3, 2), Err(Error::InvalidRequest(_))));
    }

    #[test]
    fn shamir_bad_parts_refused() {
        let empty: [&[u8]; 0] = [];
        assert!(combine(&empty).is_err());
        assert!(combine(&[b"ab".as_slice()]).is_err());
        assert!(combine(&[b"a".as_slice(), b"b".as_slice()]).is_err());
        assert!(combine(&[b"".as_slice(), b"".as_slice()]).is_err());
        assert!(combine(&[b"abc".as_slice(), b"ab".as_slice()]).is_err());
        for err in [
            combine(&[b"a".as_slice(), b"b".as_slice()]),
            combine(&[b"abc".as_slice(), b"ab".as_slice()]),
        ] {
            assert!(matches!(err, Err(Error::InvalidRequest(_))));
        }
    }
}
