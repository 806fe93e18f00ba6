//! Answers counted by HTTP status code: one atomic per code the server answers with, and
//! a locked map for any other (which the server never sends today).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::{Labels, Snapshot};

/// The status codes the server answers with (see `http::error`), in order.
const KNOWN: [u16; 18] = [
    200, 202, 204, 307, 400, 403, 404, 405, 409, 412, 413, 415, 429, 500, 501, 502, 503, 504,
];

#[derive(Debug, Default)]
pub(super) struct StatusCounts {
    known: [AtomicU64; KNOWN.len()],
    other: Mutex<BTreeMap<u16, u64>>,
}

impl StatusCounts {
    pub(super) fn record(&self, status: u16) {
        match KNOWN.binary_search(&status) {
            Ok(i) => {
                self.known[i].fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                let mut other = self.other.lock().unwrap_or_else(PoisonError::into_inner);
                let n = other.entry(status).or_default();
                *n = n.saturating_add(1);
            }
        }
    }

    /// The counts, as `name{code="200",type="2xx"}` with `labels()` first.
    pub(super) fn collect(
        &self,
        out: &mut Snapshot,
        name: &str,
        help: &'static str,
        labels: impl Fn() -> Labels,
    ) {
        let other = self
            .other
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let known = KNOWN
            .iter()
            .zip(&self.known)
            .map(|(code, n)| (*code, n.load(Ordering::Relaxed)));
        let mut all: Vec<(u16, u64)> = known.chain(other).filter(|(_, n)| *n > 0).collect();
        all.sort_unstable();
        for (code, n) in all {
            let mut l = labels();
            l.push(("code", code.to_string()));
            l.push(("type", format!("{}xx", code / 100)));
            out.counter(name, help, l, n);
        }
    }
}
