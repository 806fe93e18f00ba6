//! Positions in a commit log: `(log id, seq)`.
//!
//! A sequence number only means something within one log. A data directory gets a random
//! [`LogId`] when it is created, keeps it for its whole life, and gets a new one when its
//! content is replaced wholesale (a wipe or a restore): the batches numbered under the old
//! id are no longer what the store holds, so a reader positioned in the old log has to
//! resynchronise ([`crate::Error::Resync`]) instead of resuming. Within one log id, sequence
//! numbers never go backwards.

use std::fmt;
use std::str::FromStr;

use rand::RngCore;

use crate::error::Error;
use crate::physical::Seq;

/// The identity of a commit log: 16 random bytes, shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogId([u8; 16]);

impl LogId {
    /// A fresh random id (from the operating system's generator via `rand`).
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogId({self})")
    }
}

impl FromStr for LogId {
    type Err = Error;

    /// Parses 32 hex digits (either case).
    fn from_str(s: &str) -> Result<Self, Error> {
        let mut bytes = [0u8; 16];
        if s.len() != 32 || hex::decode_to_slice(s, &mut bytes).is_err() {
            return Err(Error::InvalidRequest(format!(
                "a log id is 32 hex digits, got {:?}",
                s.chars().take(40).collect::<String>()
            )));
        }
        Ok(Self(bytes))
    }
}

impl serde::Serialize for LogId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for LogId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A position in a commit log: batch `seq` of log `log_id` (0: before the first batch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub log_id: LogId,
    pub seq: Seq,
}

impl Position {
    pub fn new(log_id: LogId, seq: Seq) -> Self {
        Self { log_id, seq }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.log_id, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_id_round_trips_and_rejects_junk() {
        let id = LogId::random();
        assert_ne!(id, LogId::random());
        let text = id.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(text.parse::<LogId>().unwrap(), id);
        assert_eq!(text.to_uppercase().parse::<LogId>().unwrap(), id);
        let json = serde_json::to_string(&Position::new(id, 7)).unwrap();
        assert_eq!(json, format!(r#"{{"log_id":"{text}","seq":7}}"#));
        assert_eq!(
            serde_json::from_str::<Position>(&json).unwrap(),
            Position::new(id, 7)
        );
        for bad in [
            "",
            "00",
            &"g".repeat(32),
            &"0".repeat(33),
            "ü".repeat(16).as_str(),
        ] {
            assert!(
                matches!(bad.parse::<LogId>(), Err(Error::InvalidRequest(_))),
                "{bad:?}"
            );
        }
        assert!(serde_json::from_str::<LogId>("\"abc\"").is_err());
    }
}
