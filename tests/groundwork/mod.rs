//! Replication groundwork, driven in process: a real core over a real data directory,
//! served by the real HTTP layer on a loopback port, with the storage stack in the
//! test's hands, so a test can write below the barrier as a replication applier will
//! (a second barrier over the same keys) and read the feed, the cache and the Merkle
//! index the server keeps.

mod disconnect;
mod follower;
mod invalidate;
mod rekey;
mod replica;
pub mod support;
