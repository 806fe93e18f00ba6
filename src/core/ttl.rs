//! Token TTL arithmetic: Vault's `CalculateTTL`, in whole seconds that saturate.
//!
//! Every TTL a token gets, at issue and at each renewal, is decided here, from the
//! limits in force: the issuing mount's default and max lease TTLs (the system's when the
//! mount sets none), the auth method's own max (a user's or role's `token_max_ttl`), the
//! token's explicit max TTL and its period. Inputs are seconds already capped at
//! [`crate::logical::MAX_TTL`] by the field parsers, and every sum here saturates as
//! well, so no input makes a sum wrap (the wrapped sum was a token that was dead on
//! arrival). Times are unix seconds passed in by the caller: the functions are pure, so
//! tests run them at any instant without waiting for one.

/// What limits a token's life, in seconds (0: unset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TtlLimits {
    /// The issuing mount's default lease TTL (never 0 in practice: the system's default
    /// when the mount sets none).
    pub mount_default: u64,
    /// The issuing mount's max lease TTL as tuned now (the system's when unset).
    pub mount_max: u64,
    /// The auth method's own max for this token (0: none).
    pub backend_max: u64,
    /// A hard cap on the token's life from its issue, renewals included (0: none).
    pub explicit_max: u64,
    /// A periodic token's renewal period (0: not periodic).
    pub period: u64,
}

/// A TTL granted at issue, and the warnings Vault gives when it had to cap one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Granted {
    pub ttl: u64,
    pub warnings: Vec<String>,
}

impl TtlLimits {
    /// The effective max TTL: the smallest of the mount's max, the method's max and the
    /// explicit max that are set, and at least one second.
    pub fn max(&self) -> u64 {
        let mut max = self.mount_max;
        for limit in [self.backend_max, self.explicit_max] {
            if limit > 0 && (max == 0 || limit < max) {
                max = limit;
            }
        }
        if max == 0 {
            max = crate::logical::MAX_TTL.as_secs();
        }
        max.max(1)
    }

    /// The TTL of a token issued now that asks for `requested` seconds (0: the mount's
    /// default): a periodic token lives its period, anything else what it asked for; both
    /// capped by [`TtlLimits::max`], with Vault's warning when capped.
    pub fn at_issue(&self, requested: u64) -> Granted {
        let max = self.max();
        let mut warnings = Vec::new();
        let ttl = if self.period > 0 {
            if self.period > max {
                warnings.push(format!(
                    "period of {:?} exceeded the effective max_ttl of {:?}; period value is capped accordingly",
                    human_duration(self.period),
                    human_duration(max)
                ));
            }
            self.period.min(max)
        } else {
            let wanted = if requested > 0 {
                requested
            } else {
                self.mount_default.max(1)
            };
            if wanted > max {
                warnings.push(format!(
                    "TTL of {:?} exceeded the effective max_ttl of {:?}; TTL value is capped accordingly",
                    human_duration(wanted),
                    human_duration(max)
                ));
            }
            wanted.min(max)
        };
        Granted { ttl, warnings }
    }

    /// The expiry (unix seconds) a renewal at `now` gives a token issued at `issued`
    /// whose lease ends at `current`: `increment` seconds from now (0: the token's
    /// `original_ttl`), or its period for a periodic token, never past the issue time plus
    /// the effective max (the explicit max alone for a periodic token).
    ///
    /// A cap never takes back what was granted before: when the limits were lowered after
    /// the token was issued, the renewal keeps the current expiry rather than cutting it.
    /// Only an explicit increment shorter than what is left shortens the lease, as Vault's
    /// does.
    pub fn renewal(
        &self,
        increment: u64,
        original_ttl: u64,
        issued: u64,
        current: u64,
        now: u64,
    ) -> u64 {
        let max = self.max();
        let (ttl, cap) = if self.period > 0 {
            let cap = (self.explicit_max > 0).then(|| issued.saturating_add(self.explicit_max));
            (self.period.min(max), cap)
        } else {
            let ttl = match (increment, original_ttl) {
                (0, 0) => self.mount_default.max(1),
                (0, ttl) => ttl,
                (inc, _) => inc,
            };
            (ttl, Some(issued.saturating_add(max)))
        };
        let wanted = now.saturating_add(ttl);
        match cap {
            Some(cap) => wanted.min(cap.max(current)),
            None => wanted,
        }
    }
}

/// A duration as Go prints it, without zero units (`humanDuration` in Vault's
/// `framework`): `1h`, `1h30m`, `45s`, `768h`.
pub fn human_duration(secs: u64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logical::MAX_TTL;

    const DAY: u64 = 86_400;
    const SYSTEM: u64 = 768 * 3600;

    fn limits() -> TtlLimits {
        TtlLimits {
            mount_default: SYSTEM,
            mount_max: SYSTEM,
            ..TtlLimits::default()
        }
    }

    /// Durations at the edges: what the field parsers can hand in.
    fn edges() -> Vec<u64> {
        let max = MAX_TTL.as_secs();
        vec![
            0,
            1,
            2,
            59,
            3600,
            SYSTEM - 1,
            SYSTEM,
            SYSTEM + 1,
            max - 1,
            max,
        ]
    }

    #[test]
    fn issue_caps_at_the_effective_max() {
        let l = limits();
        assert_eq!(l.at_issue(0).ttl, SYSTEM, "no TTL: the mount default");
        assert_eq!(
            l.at_issue(3600),
            Granted {
                ttl: 3600,
                warnings: vec![]
            }
        );
        let capped = l.at_issue(MAX_TTL.as_secs());
        assert_eq!(capped.ttl, SYSTEM);
        assert_eq!(
            capped.warnings,
            ["TTL of \"2562047h47m16s\" exceeded the effective max_ttl of \"768h\"; TTL value is capped accordingly"]
        );
        let periodic = TtlLimits {
            period: u64::MAX,
            ..l
        }
        .at_issue(60);
        assert_eq!(periodic.ttl, SYSTEM, "a period is capped like a TTL");
        assert!(periodic.warnings[0].starts_with("period of"));
        let explicit = TtlLimits {
            explicit_max: 300,
            ..l
        };
        assert_eq!(explicit.at_issue(1800).ttl, 300);
        let backend = TtlLimits {
            backend_max: 7200,
            ..l
        };
        assert_eq!(backend.at_issue(0).ttl, 7200);
        assert_eq!(human_duration(5400), "1h30m");
        assert_eq!(human_duration(45), "45s");
    }

    /// Property: for every combination of edge inputs, a token's TTL is positive and at
    /// most every limit set; a renewal lands in the future, within the caps, and never
    /// before the current expiry unless the increment asked for less than is left.
    #[test]
    fn no_input_overflows_or_kills_a_token() {
        let now = 1_800_000_000u64;
        for mount_max in [1, 3600, SYSTEM, MAX_TTL.as_secs()] {
            for &explicit_max in &edges() {
                for &period in &edges() {
                    for &requested in &edges() {
                        let l = TtlLimits {
                            mount_default: SYSTEM.min(mount_max),
                            mount_max,
                            backend_max: 0,
                            explicit_max,
                            period,
                        };
                        let ttl = l.at_issue(requested).ttl;
                        assert!(ttl >= 1, "{l:?} {requested}");
                        assert!(ttl <= mount_max, "{l:?} {requested}");
                        if explicit_max > 0 {
                            assert!(ttl <= explicit_max, "{l:?} {requested}");
                        }
                        let expiry = now + ttl;
                        for &increment in &edges() {
                            for later in [0, ttl / 2, ttl - 1] {
                                let at = now + later;
                                let renewed = l.renewal(increment, ttl, now, expiry, at);
                                assert!(renewed > at, "{l:?} +{increment} at {later}");
                                if period == 0 && explicit_max > 0 {
                                    assert!(renewed <= now + explicit_max.max(ttl));
                                }
                                if increment == 0 || increment >= expiry - at {
                                    assert!(
                                        renewed >= expiry.min(at + l.max()),
                                        "{l:?} +{increment} at {later}: {renewed} < {expiry}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn renewals_follow_vault() {
        let now = 1_000_000u64;
        let l = limits();
        // An increment from now, capped at issue + max.
        assert_eq!(l.renewal(7200, 3600, now, now + 3600, now + 10), now + 7210);
        assert_eq!(l.renewal(600, 3600, now, now + 3600, now), now + 600);
        assert_eq!(l.renewal(0, 3600, now, now + 3600, now + 5), now + 3605);
        assert_eq!(
            l.renewal(u64::MAX, 3600, now, now + 3600, now + 5),
            now + SYSTEM
        );
        // Periodic: the period each time, past the max; only the explicit max caps it.
        let p = TtlLimits { period: DAY, ..l };
        assert_eq!(
            p.renewal(5, DAY, now, now + DAY, now + 40 * DAY),
            now + 41 * DAY
        );
        let pe = TtlLimits {
            explicit_max: 2 * DAY,
            ..p
        };
        assert_eq!(pe.renewal(0, DAY, now, now + DAY, now + DAY), now + 2 * DAY);
        // A lowered mount max never takes back what was granted.
        let lowered = TtlLimits { mount_max: 60, ..l };
        assert_eq!(
            lowered.renewal(u64::MAX, 3600, now, now + 3600, now + 100),
            now + 3600
        );
    }
}
