//! Small helpers shared by the core: ids, timestamps, constant-time comparison.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;

use crate::clock::Clock;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` random base62 characters from the OS-seeded CSPRNG.
pub fn random_base62(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| BASE62[rng.gen_range(0..BASE62.len())] as char)
        .collect()
}

/// `n` random bytes, hex encoded.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill(&mut bytes[..]);
    hex::encode(bytes)
}

/// A random (v4) UUID in its usual text form.
pub fn uuid() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

/// Seconds since the Unix epoch (0 if the clock is before it), by the system clock.
pub fn unix_now() -> u64 {
    Clock::system().unix_now()
}

/// RFC 3339 in UTC with nanoseconds, as Go's `time.RFC3339Nano` prints it
/// (`2024-05-01T12:00:00.123456789Z`; trailing zeros of the fraction trimmed).
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    rfc3339_parts(d.as_secs(), d.subsec_nanos())
}

/// [`rfc3339`] for whole Unix seconds.
pub fn rfc3339_secs(secs: u64) -> String {
    rfc3339_parts(secs, 0)
}

/// [`rfc3339`] from Unix seconds and the nanoseconds within the second (`nanos` < 10⁹).
/// Built digit by digit: it runs on every KV v2 read.
pub(crate) fn rfc3339_parts(secs: u64, nanos: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    let mut out = String::with_capacity(32);
    // Days since 1970 from a u64 of seconds: the year is never negative.
    push_padded(&mut out, y.unsigned_abs(), 4);
    out.push('-');
    push_padded(&mut out, mo.unsigned_abs(), 2);
    out.push('-');
    push_padded(&mut out, d.unsigned_abs(), 2);
    out.push('T');
    push_padded(&mut out, h, 2);
    out.push(':');
    push_padded(&mut out, m, 2);
    out.push(':');
    push_padded(&mut out, s, 2);
    let mut frac = nanos % 1_000_000_000;
    if frac > 0 {
        let mut width = 9;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        out.push('.');
        push_padded(&mut out, u64::from(frac), width);
    }
    out.push('Z');
    out
}

/// `v` in decimal, zero-padded to at least `width` digits (≤ 20).
fn push_padded(out: &mut String, mut v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &b in &buf[i.min(buf.len() - width.min(buf.len()))..] {
        out.push(char::from(b));
    }
}

/// Constant-time equality of two byte strings (length may leak).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A crash-test hook (debug builds only): when `VAULTRS_TEST_PAUSE` names `point`, the
/// server says so on standard error and stops there for good, so that an end-to-end test
/// can `kill -9` it at exactly that point. Release builds compile it to nothing.
pub async fn test_pause(point: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("VAULTRS_TEST_PAUSE").is_ok_and(|p| p == point) {
        eprintln!("vaultrs: paused at {point}");
        std::future::pending::<()>().await;
    }
    #[cfg(not(debug_assertions))]
    let _ = point;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339_secs(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_secs(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(
            rfc3339_parts(1_700_000_000, 120_000_000),
            "2023-11-14T22:13:20.12Z"
        );
        assert_eq!(rfc3339_secs(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339_parts(0, 1), "1970-01-01T00:00:00.000000001Z");
        assert_eq!(
            rfc3339_parts(0, 999_999_999),
            "1970-01-01T00:00:00.999999999Z"
        );
        assert_eq!(rfc3339_parts(59, 500_000_000), "1970-01-01T00:00:59.5Z");
        // Past year 9999 the year just grows, as Go prints it.
        assert_eq!(rfc3339_secs(253_402_300_800), "10000-01-01T00:00:00Z");
        // Against the obvious formatting, over a spread of instants.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (secs, nanos) = (x % 4_102_444_800, (x >> 32) as u32 % 1_000_000_000);
            let nanos = if x.is_multiple_of(3) {
                nanos / 1_000_000 * 1_000_000
            } else {
                nanos
            };
            assert_eq!(rfc3339_parts(secs, nanos), slow_rfc3339(secs, nanos));
        }
    }

    fn slow_rfc3339(secs: u64, nanos: u32) -> String {
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let mo = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = if mo <= 2 { y + 1 } else { y };
        let mut out = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}");
        if nanos > 0 {
            let frac = format!("{nanos:09}");
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        out.push('Z');
        out
    }

    #[test]
    fn ids() {
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        let dashes: Vec<usize> = u.match_indices('-').map(|(i, _)| i).collect();
        assert_eq!(dashes, [8, 13, 18, 23]);
        assert!(u
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)));
        assert_ne!(uuid(), uuid());
        assert_eq!(random_base62(24).len(), 24);
        assert_ne!(random_base62(24), random_base62(24));
        assert!(ct_eq(b"abc", b"abc") && !ct_eq(b"abc", b"abd") && !ct_eq(b"a", b"ab"));
    }
}
