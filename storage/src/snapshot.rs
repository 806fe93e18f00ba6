//! Snapshot archives: the whole encrypted store as of one log position, as a stream.
//!
//! A snapshot holds ciphertext only (what the physical layer stores; plaintext never gets
//! here) and is read and written as a stream with bounded memory: one entry at a time.
//! The file backend writes them ([`crate::FileBackend::snapshot`]) and restores them
//! ([`crate::FileBackend::restore`]); [`inspect`] checks one without restoring it.
//!
//! # Format (version 1)
//!
//! ```text
//! magic "VRSSNAP1" (8 bytes)
//! header_len u32 LE | header (JSON, header_len bytes) | crc32(header) u32 LE
//!     header = {"version":1,"log_id":"<32 hex>","seq":N,"keys":K}
//! K entries, keys strictly ascending (so no key twice):
//!     0x01 | key_len u16 LE | key (UTF-8) | value_len u32 LE | value | crc32 u32 LE
//!     (the crc covers the entry from its 0x01 through the value)
//! trailer:
//!     0x00 | entry count u64 LE | SHA-256 of every byte before this field
//! nothing after the trailer
//! ```
//!
//! The per-entry CRC finds damage early (a restore stops at the first bad entry); the final
//! SHA-256 covers the whole stream, so a restore only commits once it matched. Readers
//! never trust a length before checking it against its limit, and allocate as bytes
//! arrive, not as lengths claim.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{Error, Result};
use crate::key::{validate_key, MAX_KEY_LEN};
use crate::physical::Seq;
use crate::position::LogId;

/// The first bytes of every snapshot.
pub const MAGIC: &[u8; 8] = b"VRSSNAP1";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Largest header accepted.
const MAX_HEADER: u32 = 64 << 10;
/// Largest value accepted (the commit log's record limit).
pub const MAX_VALUE: u32 = 512 << 20;

const TAG_ENTRY: u8 = 1;
const TAG_END: u8 = 0;

/// What a snapshot says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    pub version: u32,
    /// The log the snapshot was taken from, and its position in it: the snapshot holds the
    /// store exactly as of batch `seq`.
    pub log_id: LogId,
    pub seq: Seq,
    /// Number of entries.
    pub keys: u64,
}

/// How far a snapshot or restore has got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Entries done.
    pub keys: u64,
    /// Snapshot bytes done.
    pub bytes: u64,
    /// Entries in the whole snapshot.
    pub total_keys: u64,
}

/// A complete, verified snapshot: its header, size and checksum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub header: SnapshotHeader,
    /// Size of the stream in bytes.
    pub bytes: u64,
    /// The SHA-256 in its trailer (of everything before it).
    pub sha256: [u8; 32],
}

fn corrupt(reason: impl Into<String>) -> Error {
    Error::corrupt("snapshot", reason)
}

/// Encodes a snapshot into byte chunks; the caller sends them on.
pub(crate) struct Encoder {
    hasher: Sha256,
    entries: u64,
    bytes: u64,
    last_key: Option<String>,
}

impl Encoder {
    /// The encoder and the header's bytes.
    pub(crate) fn start(header: &SnapshotHeader, out: &mut Vec<u8>) -> Result<Self> {
        let json = serde_json::to_vec(header)
            .map_err(|e| Error::io("encoding a snapshot header", std::io::Error::other(e)))?;
        let mut enc = Self {
            hasher: Sha256::new(),
            entries: 0,
            bytes: 0,
            last_key: None,
        };
        let start = out.len();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        out.extend_from_slice(&crc32fast::hash(&json).to_le_bytes());
        enc.absorb(&out[start..]);
        Ok(enc)
    }

    fn absorb(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.bytes += bytes.len() as u64;
    }

    /// Appends one entry; keys must come in strictly ascending order.
    pub(crate) fn entry(&mut self, key: &str, value: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if self.last_key.as_deref().is_some_and(|last| last >= key) {
            return Err(Error::InvalidRequest(
                "snapshot entries must come in ascending key order".into(),
            ));
        }
        let value_len = u32::try_from(value.len())
            .ok()
            .filter(|l| *l <= MAX_VALUE)
            .ok_or_else(|| Error::InvalidRequest(format!("value of {key:?} too large")))?;
        let start = out.len();
        out.push(TAG_ENTRY);
        out.extend_from_slice(&(key.len() as u16).to_le_bytes());
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&value_len.to_le_bytes());
        out.extend_from_slice(value);
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_le_bytes());
        self.absorb(&out[start..]);
        self.entries += 1;
        self.last_key = Some(key.to_owned());
        Ok(())
    }

    pub(crate) fn entries(&self) -> u64 {
        self.entries
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends the trailer; the stream's size and checksum.
    pub(crate) fn finish(mut self, out: &mut Vec<u8>) -> (u64, [u8; 32]) {
        let start = out.len();
        out.push(TAG_END);
        out.extend_from_slice(&self.entries.to_le_bytes());
        self.absorb(&out[start..]);
        let sha: [u8; 32] = self.hasher.finalize().into();
        out.extend_from_slice(&sha);
        (self.bytes + 32, sha)
    }
}

/// Reads and verifies a snapshot stream entry by entry.
pub struct SnapshotReader<R> {
    src: R,
    hasher: Sha256,
    header: SnapshotHeader,
    entries: u64,
    bytes: u64,
    last_key: Option<String>,
    done: Option<SnapshotInfo>,
}

fn truncated(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        corrupt("the stream ends early (truncated)")
    } else {
        Error::io("reading a snapshot", e)
    }
}

impl<R: AsyncRead + Unpin> SnapshotReader<R> {
    /// Reads and checks the magic and the header.
    pub async fn open(mut src: R) -> Result<Self> {
        let mut head = [0u8; 12];
        src.read_exact(&mut head).await.map_err(truncated)?;
        if &head[..8] != MAGIC {
            return Err(corrupt("not a vaultrs snapshot (bad magic)"));
        }
        let len = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        if len > MAX_HEADER {
            return Err(corrupt(format!("header of {len} bytes")));
        }
        let mut json = Vec::new();
        (&mut src)
            .take(u64::from(len))
            .read_to_end(&mut json)
            .await
            .map_err(truncated)?;
        if json.len() != len as usize {
            return Err(corrupt("the stream ends early (truncated)"));
        }
        let mut crc = [0u8; 4];
        src.read_exact(&mut crc).await.map_err(truncated)?;
        if crc32fast::hash(&json) != u32::from_le_bytes(crc) {
            return Err(corrupt("header checksum mismatch"));
        }
        let header: SnapshotHeader =
            serde_json::from_slice(&json).map_err(|e| corrupt(format!("header: {e}")))?;
        if header.version != FORMAT_VERSION {
            return Err(corrupt(format!(
                "unknown format version {}",
                header.version
            )));
        }
        let mut hasher = Sha256::new();
        hasher.update(head);
        hasher.update(&json);
        hasher.update(crc);
        Ok(Self {
            src,
            hasher,
            header,
            entries: 0,
            bytes: 12 + u64::from(len) + 4,
            last_key: None,
            done: None,
        })
    }

    pub fn header(&self) -> &SnapshotHeader {
        &self.header
    }

    pub fn progress(&self) -> Progress {
        Progress {
            keys: self.entries,
            bytes: self.bytes,
            total_keys: self.header.keys,
        }
    }

    async fn read(&mut self, buf: &mut [u8]) -> Result<()> {
        self.src.read_exact(buf).await.map_err(truncated)?;
        self.hasher.update(&*buf);
        self.bytes += buf.len() as u64;
        Ok(())
    }

    /// The next entry, verified; `None` after the trailer, once the count and the SHA-256
    /// matched and nothing follows it.
    pub async fn next_entry(&mut self) -> Result<Option<(String, Vec<u8>)>> {
        if self.done.is_some() {
            return Ok(None);
        }
        let mut tag = [0u8; 1];
        self.read(&mut tag).await?;
        match tag[0] {
            TAG_ENTRY => self.entry().await.map(Some),
            TAG_END => {
                self.trailer().await?;
                Ok(None)
            }
            other => Err(corrupt(format!("unknown record tag {other}"))),
        }
    }

    async fn entry(&mut self) -> Result<(String, Vec<u8>)> {
        if self.entries >= self.header.keys {
            return Err(corrupt("more entries than the header says"));
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(&[TAG_ENTRY]);
        let mut len = [0u8; 2];
        self.read(&mut len).await?;
        crc.update(&len);
        let key_len = usize::from(u16::from_le_bytes(len));
        if key_len > MAX_KEY_LEN {
            return Err(corrupt(format!("key of {key_len} bytes")));
        }
        let mut key = vec![0u8; key_len];
        self.read(&mut key).await?;
        crc.update(&key);
        let mut len = [0u8; 4];
        self.read(&mut len).await?;
        crc.update(&len);
        let value_len = u32::from_le_bytes(len);
        if value_len > MAX_VALUE {
            return Err(corrupt(format!("value of {value_len} bytes")));
        }
        let mut value = Vec::new();
        (&mut self.src)
            .take(u64::from(value_len))
            .read_to_end(&mut value)
            .await
            .map_err(truncated)?;
        if value.len() != value_len as usize {
            return Err(corrupt("the stream ends early (truncated)"));
        }
        self.hasher.update(&value);
        self.bytes += value.len() as u64;
        crc.update(&value);
        let mut stored = [0u8; 4];
        self.read(&mut stored).await?;
        if crc.finalize() != u32::from_le_bytes(stored) {
            return Err(corrupt(format!("entry {} checksum mismatch", self.entries)));
        }
        let key = String::from_utf8(key).map_err(|_| corrupt("a key is not UTF-8"))?;
        validate_key(&key).map_err(|e| corrupt(e.to_string()))?;
        if self
            .last_key
            .as_deref()
            .is_some_and(|last| last >= key.as_str())
        {
            return Err(corrupt("keys out of order or repeated"));
        }
        self.last_key = Some(key.clone());
        self.entries += 1;
        Ok((key, value))
    }

    async fn trailer(&mut self) -> Result<()> {
        let mut count = [0u8; 8];
        self.read(&mut count).await?;
        let count = u64::from_le_bytes(count);
        if count != self.entries || count != self.header.keys {
            return Err(corrupt(format!(
                "{} entries read, header says {}, trailer says {count}",
                self.entries, self.header.keys
            )));
        }
        let expect: [u8; 32] = self.hasher.clone().finalize().into();
        let mut sha = [0u8; 32];
        self.src.read_exact(&mut sha).await.map_err(truncated)?;
        self.bytes += 32;
        if sha != expect {
            return Err(corrupt("SHA-256 mismatch"));
        }
        let mut extra = [0u8; 1];
        let n = self
            .src
            .read(&mut extra)
            .await
            .map_err(|e| Error::io("reading a snapshot", e))?;
        if n != 0 {
            return Err(corrupt("bytes after the trailer"));
        }
        self.done = Some(SnapshotInfo {
            header: self.header.clone(),
            bytes: self.bytes,
            sha256: sha,
        });
        Ok(())
    }

    /// The verified snapshot, once [`next_entry`](Self::next_entry) returned `None`.
    pub fn info(&self) -> Option<&SnapshotInfo> {
        self.done.as_ref()
    }
}

/// Reads a whole snapshot and verifies it (header, every entry's checksum and key, order,
/// count, SHA-256) without restoring anything. Bounded memory: one entry at a time.
pub async fn inspect<R: AsyncRead + Unpin>(src: R) -> Result<SnapshotInfo> {
    let mut reader = SnapshotReader::open(src).await?;
    while reader.next_entry().await?.is_some() {}
    reader.info().cloned().ok_or_else(|| corrupt("no trailer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let header = SnapshotHeader {
            version: FORMAT_VERSION,
            log_id: LogId::from_bytes([7; 16]),
            seq: 42,
            keys: entries.len() as u64,
        };
        let mut out = Vec::new();
        let mut enc = Encoder::start(&header, &mut out).unwrap();
        for (k, v) in entries {
            enc.entry(k, v, &mut out).unwrap();
        }
        let (bytes, _) = enc.finish(&mut out);
        assert_eq!(bytes, out.len() as u64);
        out
    }

    #[tokio::test]
    async fn snapshot_round_trip_and_every_flip_is_caught() {
        let entries: &[(&str, &[u8])] = &[("a", b"one"), ("a/b", b""), ("z/y", b"\x00\xff")];
        let bytes = encode(entries);
        let info = inspect(&bytes[..]).await.unwrap();
        assert_eq!((info.header.seq, info.header.keys), (42, 3));
        let mut reader = SnapshotReader::open(&bytes[..]).await.unwrap();
        let mut got = Vec::new();
        while let Some(e) = reader.next_entry().await.unwrap() {
            got.push(e);
        }
        assert_eq!(got.len(), 3);
        assert_eq!(
            (got[2].0.as_str(), &got[2].1[..]),
            ("z/y", &b"\x00\xff"[..])
        );
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(
                matches!(inspect(&bad[..]).await, Err(Error::Corrupt { .. })),
                "flip at {i} undetected"
            );
        }
        for cut in 0..bytes.len() {
            assert!(inspect(&bytes[..cut]).await.is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(inspect(&longer[..]).await.is_err());
    }

    #[test]
    fn snapshot_encoder_refuses_unordered_keys() {
        let header = SnapshotHeader {
            version: FORMAT_VERSION,
            log_id: LogId::random(),
            seq: 0,
            keys: 2,
        };
        let mut out = Vec::new();
        let mut enc = Encoder::start(&header, &mut out).unwrap();
        enc.entry("b", b"", &mut out).unwrap();
        assert!(enc.entry("a", b"", &mut out).is_err());
        assert!(enc.entry("b", b"", &mut out).is_err());
    }
}
