//! The frames of the replication stream, and the bodies of the Merkle-sync calls.
//!
//! A stream is a sequence of frames, each `u32` length (big endian) then the body; a body
//! starts with its kind byte:
//!
//! - `B` batch: `u64 seq`, `u32 count`, then per change `u16 key length`, the key, `u8`
//!   0 (delete) or 1 (put) and for a put `u32 value length` and the value (ciphertext);
//! - `P` position: `u64 seq`, the primary's last sequence (a heartbeat: batches with no
//!   replicated change are not sent, so this is how the secondary learns it is current);
//! - `R` resync: the rest is a UTF-8 reason; the stream ends after it.
//!
//! Values are the primary's ciphertext: nothing here is ever plaintext. A frame is
//! refused when it claims more than it holds, more than [`MAX_FRAME`], or a key the
//! locality rule calls local.

use vaultrs_storage::{Change, Committed, Seq};

use crate::error::{Error, Result};

/// Largest frame accepted (a batch of the largest values the storage takes).
pub const MAX_FRAME: usize = 64 << 20;

/// One frame of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Batch(Committed),
    Position(Seq),
    Resync(String),
}

fn bad(what: &str) -> Error {
    Error::Internal(format!("replication stream: {what}"))
}

impl Frame {
    /// The frame with its length prefix.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        match self {
            Frame::Batch(batch) => {
                body.push(b'B');
                body.extend_from_slice(&batch.seq.to_be_bytes());
                body.extend_from_slice(&(batch.changes.len() as u32).to_be_bytes());
                for change in batch.changes.iter() {
                    body.extend_from_slice(&(change.key.len() as u16).to_be_bytes());
                    body.extend_from_slice(change.key.as_bytes());
                    match &change.value {
                        None => body.push(0),
                        Some(v) => {
                            body.push(1);
                            body.extend_from_slice(&(v.len() as u32).to_be_bytes());
                            body.extend_from_slice(v);
                        }
                    }
                }
            }
            Frame::Position(seq) => {
                body.push(b'P');
                body.extend_from_slice(&seq.to_be_bytes());
            }
            Frame::Resync(reason) => {
                body.push(b'R');
                body.extend_from_slice(reason.as_bytes());
            }
        }
        let mut out = Vec::with_capacity(body.len() + 4);
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// The first whole frame of `buf`, and how many bytes it took; `None` while `buf`
    /// holds only part of one.
    pub fn decode(buf: &[u8]) -> Result<Option<(Frame, usize)>> {
        let Some(len) = buf.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if len > MAX_FRAME {
            return Err(bad("frame too large"));
        }
        let Some(body) = buf.get(4..4 + len) else {
            return Ok(None);
        };
        Ok(Some((Self::decode_body(body)?, 4 + len)))
    }

    fn decode_body(body: &[u8]) -> Result<Frame> {
        let mut r = Reader { buf: body, at: 0 };
        match r.u8()? {
            b'B' => {
                let seq = r.u64()?;
                let count = r.u32()? as usize;
                // Each change takes at least 3 bytes: never trust the count for memory.
                let mut changes = Vec::with_capacity(count.min(body.len() / 3));
                for _ in 0..count {
                    let key_len = r.u16()? as usize;
                    let key = std::str::from_utf8(r.take(key_len)?)
                        .map_err(|_| bad("key is not UTF-8"))?
                        .to_owned();
                    if crate::locality::is_local(&key) {
                        return Err(bad("a local key in a replicated batch"));
                    }
                    let value = match r.u8()? {
                        0 => None,
                        1 => {
                            let len = r.u32()? as usize;
                            Some(r.take(len)?.to_vec())
                        }
                        _ => return Err(bad("bad change kind")),
                    };
                    changes.push(Change { key, value });
                }
                if r.at != body.len() {
                    return Err(bad("trailing bytes in a batch"));
                }
                Ok(Frame::Batch(Committed {
                    seq,
                    changes: changes.into(),
                }))
            }
            b'P' => Ok(Frame::Position(r.u64()?)),
            b'R' => Ok(Frame::Resync(
                String::from_utf8_lossy(&body[1..]).into_owned(),
            )),
            _ => Err(bad("unknown frame kind")),
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .ok_or_else(|| bad("length overflow"))?;
        let out = self
            .buf
            .get(self.at..end)
            .ok_or_else(|| bad("truncated frame"))?;
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> Frame {
        Frame::Batch(Committed {
            seq: 42,
            changes: vec![
                Change {
                    key: "logical/u/a".into(),
                    value: Some(vec![1, 2, 3]),
                },
                Change {
                    key: "sys/policy/p".into(),
                    value: None,
                },
            ]
            .into(),
        })
    }

    #[test]
    fn frames_round_trip_and_split_anywhere() {
        let frames = [
            batch(),
            Frame::Position(7),
            Frame::Resync("other log".into()),
        ];
        let bytes: Vec<u8> = frames.iter().flat_map(Frame::encode).collect();
        for cut in 0..bytes.len() {
            // Whatever arrives first, only whole frames decode.
            let mut got = Vec::new();
            let mut buf = bytes[..cut].to_vec();
            while let Some((f, n)) = Frame::decode(&buf).unwrap() {
                got.push(f);
                buf.drain(..n);
            }
            buf.extend_from_slice(&bytes[cut..]);
            while let Some((f, n)) = Frame::decode(&buf).unwrap() {
                got.push(f);
                buf.drain(..n);
            }
            assert_eq!(got, frames);
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn hostile_frames_are_refused() {
        let good = batch().encode();
        // Every truncation of the body inside a declared length.
        for cut in 5..good.len() {
            let mut f = good[..cut].to_vec();
            let len = (cut - 4) as u32;
            f[..4].copy_from_slice(&len.to_be_bytes());
            assert!(Frame::decode(&f).is_err(), "cut at {cut}");
        }
        // A local key.
        let local = Frame::Batch(Committed {
            seq: 1,
            changes: vec![Change {
                key: "local/token/x".into(),
                value: None,
            }]
            .into(),
        });
        assert!(Frame::decode(&local.encode()).is_err());
        // A huge length.
        assert!(Frame::decode(&u32::MAX.to_be_bytes()).is_err());
        // A count far beyond the bytes.
        let mut f = vec![b'B'];
        f.extend_from_slice(&1u64.to_be_bytes());
        f.extend_from_slice(&u32::MAX.to_be_bytes());
        let mut framed = (f.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(&f);
        assert!(Frame::decode(&framed).is_err());
        // Unknown kind.
        assert!(Frame::decode(&[0, 0, 0, 1, b'Z']).is_err());
    }
}
