//! The commit log: checksummed records of whole batches in numbered segment files.
//!
//! Segment file `wal/<first seq, 20 digits>.log`: the 8-byte magic `VRSWAL01` (format
//! version 1), then records:
//!
//! ```text
//! len u32 LE | crc32 u32 LE (over seq and payload) | seq u64 LE | payload (len bytes)
//! payload = count u32 | count × (kind u8 (1 put, 0 delete) | key_len u16 | key |
//!                                [value_len u32 | value])
//! ```
//!
//! Only ciphertext reaches the log: the barrier encrypts above the physical layer.
//! Decoding never trusts a length before checking it against what is left of the file.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::physical::{Change, Committed, Seq};

pub(crate) const MAGIC: &[u8; 8] = b"VRSWAL01";
const HEADER: usize = 16;
/// Larger records are refused on write and treated as damage on read.
pub(crate) const MAX_RECORD: usize = 512 << 20;

pub(crate) fn segment_name(first_seq: Seq) -> String {
    format!("{first_seq:020}.log")
}

fn parse_segment_name(name: &str) -> Option<Seq> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Segments in `wal_dir`, sorted by their first sequence number.
pub(crate) fn list_segments(wal_dir: &Path) -> Result<Vec<(Seq, PathBuf)>> {
    let mut out = Vec::new();
    let entries = fs::read_dir(wal_dir).map_err(|e| Error::io("listing the log", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("listing the log", e))?;
        if let Some(seq) = entry.file_name().to_str().and_then(parse_segment_name) {
            out.push((seq, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Appends the encoded record for `changes` at `seq` to `buf`, whole or not at all: every
/// length is checked before the first byte is written, so a batch refused for its size
/// leaves `buf` as it was (the group it came with is still appended intact).
pub(crate) fn encode_record(buf: &mut Vec<u8>, seq: Seq, changes: &[Change]) -> Result<()> {
    encode_record_within(buf, seq, changes, MAX_RECORD)
}

fn encode_record_within(
    buf: &mut Vec<u8>,
    seq: Seq,
    changes: &[Change],
    max_payload: usize,
) -> Result<()> {
    let too_large = || Error::InvalidRequest("batch too large".into());
    let count = u32::try_from(changes.len()).map_err(|_| too_large())?;
    let mut payload_len: usize = 4;
    for change in changes {
        // Keys are validated: at most MAX_KEY_LEN (4096) bytes.
        u16::try_from(change.key.len()).map_err(|_| too_large())?;
        payload_len = payload_len.saturating_add(3 + change.key.len());
        if let Some(value) = &change.value {
            u32::try_from(value.len())
                .map_err(|_| Error::InvalidRequest("value too large".into()))?;
            payload_len = payload_len.saturating_add(4 + value.len());
        }
    }
    if payload_len > max_payload {
        return Err(too_large());
    }
    // Nothing below can fail.
    let start = buf.len();
    buf.reserve(HEADER + payload_len);
    buf.extend_from_slice(&[0; HEADER]);
    buf.extend_from_slice(&count.to_le_bytes());
    for change in changes {
        buf.push(u8::from(change.value.is_some()));
        buf.extend_from_slice(&(change.key.len() as u16).to_le_bytes());
        buf.extend_from_slice(change.key.as_bytes());
        if let Some(value) = &change.value {
            buf.extend_from_slice(&(value.len() as u32).to_le_bytes());
            buf.extend_from_slice(value);
        }
    }
    debug_assert_eq!(buf.len() - start - HEADER, payload_len);
    buf[start + 8..start + 16].copy_from_slice(&seq.to_le_bytes());
    let crc = crc32fast::hash(&buf[start + 8..]);
    buf[start..start + 4].copy_from_slice(&(payload_len as u32).to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

fn decode_payload(payload: &[u8]) -> Option<Vec<Change>> {
    let mut cur = Cursor { buf: payload };
    let count = cur.u32()? as usize;
    // Each change takes at least 3 bytes: bound the allocation by what is there.
    let mut changes = Vec::with_capacity(count.min(payload.len() / 3));
    for _ in 0..count {
        let kind = cur.u8()?;
        let key_len = cur.u16()? as usize;
        let key = std::str::from_utf8(cur.take(key_len)?).ok()?.to_owned();
        crate::key::validate_key(&key).ok()?;
        let value = match kind {
            0 => None,
            1 => {
                let len = cur.u32()? as usize;
                Some(cur.take(len)?.to_vec())
            }
            _ => return None,
        };
        changes.push(Change { key, value });
    }
    cur.buf.is_empty().then_some(changes)
}

/// What reading one segment found.
pub(crate) struct SegmentScan {
    pub records: Vec<Committed>,
    /// Byte offset just past the last good record.
    pub good_len: u64,
    /// True when bytes after `good_len` could not be decoded (a torn or damaged record).
    pub damaged: bool,
}

/// Reads every intact record of a segment, stopping at the first damaged one.
/// `expect_first` is the sequence the first record must carry (the segment's name).
pub(crate) fn scan_segment(path: &Path, expect_first: Seq) -> Result<SegmentScan> {
    let mut data = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut data))
        .map_err(|e| Error::io(format!("reading log segment {}", path.display()), e))?;
    let mut scan = SegmentScan {
        records: Vec::new(),
        good_len: 0,
        damaged: false,
    };
    if data.len() < MAGIC.len() || &data[..MAGIC.len()] != MAGIC {
        // A segment whose header never reached the disk holds no record.
        scan.damaged = !data.is_empty();
        return Ok(scan);
    }
    let mut pos = MAGIC.len();
    scan.good_len = pos as u64;
    let mut next_seq = expect_first;
    while pos < data.len() {
        let Some(record) = decode_at(&data[pos..], next_seq) else {
            scan.damaged = true;
            break;
        };
        pos += HEADER + record.1;
        scan.good_len = pos as u64;
        scan.records.push(record.0);
        next_seq += 1;
    }
    Ok(scan)
}

fn decode_at(buf: &[u8], expect_seq: Seq) -> Option<(Committed, usize)> {
    let mut cur = Cursor { buf };
    let len = cur.u32()? as usize;
    let crc = cur.u32()?;
    if len > MAX_RECORD || cur.buf.len() < 8 + len {
        return None;
    }
    let body = &cur.buf[..8 + len];
    if crc32fast::hash(body) != crc {
        return None;
    }
    let seq = u64::from_le_bytes(body[..8].try_into().ok()?);
    if seq != expect_seq {
        return None;
    }
    let changes = decode_payload(&body[8..])?;
    Some((
        Committed {
            seq,
            changes: Arc::from(changes),
        },
        len,
    ))
}

/// Creates a segment for appending, with its magic (fsynced when `durable`).
pub(crate) fn create_segment(path: &Path, durable: bool) -> io::Result<File> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(MAGIC)?;
    if durable {
        file.sync_all()?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes() -> Vec<Change> {
        vec![
            Change {
                key: "a/b".into(),
                value: Some(b"value".to_vec()),
            },
            Change {
                key: "c".into(),
                value: None,
            },
        ]
    }

    #[test]
    fn record_round_trip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(segment_name(7));
        let mut buf = MAGIC.to_vec();
        encode_record(&mut buf, 7, &changes()).unwrap();
        encode_record(&mut buf, 8, &changes()[..1]).unwrap();
        fs::write(&path, &buf).unwrap();
        let scan = scan_segment(&path, 7).unwrap();
        assert_eq!(scan.records.len(), 2);
        assert!(!scan.damaged);
        assert_eq!(&*scan.records[0].changes, &changes()[..]);
        // Every single-byte flip past the magic is detected, never decoded as other data.
        for i in MAGIC.len()..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x40;
            fs::write(&path, &bad).unwrap();
            let scan = scan_segment(&path, 7).unwrap();
            assert!(scan.damaged, "flip at {i} undetected");
            for r in &scan.records {
                assert!(r.seq == 7 && *r.changes == changes()[..]);
            }
        }
        // A record with the wrong sequence is damage, not data.
        fs::write(&path, &buf).unwrap();
        assert!(scan_segment(&path, 6).unwrap().damaged);
    }

    #[test]
    fn record_refused_for_its_size_leaves_the_buffer_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(segment_name(1));
        let mut buf = MAGIC.to_vec();
        encode_record(&mut buf, 1, &changes()).unwrap();
        let before = buf.clone();
        let big = vec![Change {
            key: "big".into(),
            value: Some(vec![7; 300]),
        }];
        // The size check fails after the first (small) change of the batch was counted.
        let mut batch = changes();
        batch.extend(big);
        assert!(matches!(
            encode_record_within(&mut buf, 2, &batch, 256),
            Err(Error::InvalidRequest(_))
        ));
        assert_eq!(buf, before, "a refused record left bytes behind");
        // The next record of the same group follows the first directly.
        encode_record(&mut buf, 2, &changes()[..1]).unwrap();
        fs::write(&path, &buf).unwrap();
        let scan = scan_segment(&path, 1).unwrap();
        assert!(!scan.damaged);
        assert_eq!(scan.records.len(), 2);
    }

    #[test]
    fn segment_names() {
        assert_eq!(parse_segment_name(&segment_name(42)), Some(42));
        assert_eq!(parse_segment_name("42.log"), None);
        assert_eq!(parse_segment_name("0000000000000000004x.log"), None);
    }
}
