//! Tests of `Acl`, one file per concern; the helpers they share are here.

use super::*;
use serde_json::json;
use Operation::*;

mod capabilities;
mod matching;
mod parameters;

fn acl(policies: &[(&str, &str)]) -> Acl {
    let parsed: Vec<Arc<Policy>> = policies
        .iter()
        .map(|(name, text)| Arc::new(Policy::parse(name, text).unwrap()))
        .collect();
    Acl::new(&parsed)
}

/// Each case: policies, then (operation, path, allowed) checks.
type Case<'a> = (
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a [(Operation, &'a str, bool)],
);

fn run(cases: &[Case<'_>]) {
    for (what, policies, checks) in cases {
        let acl = acl(policies);
        for (op, path, want) in *checks {
            let got = acl.allowed(*op, path).allowed;
            assert_eq!(
                got,
                *want,
                "{what}: {op:?} {path:?} → {:?}",
                acl.capabilities(path)
            );
        }
    }
}
