//! A snapshot archive wrapped in a gzipped tar, for Vault's raft snapshot clients.
//!
//! Vault's Go client (`bao operator raft snapshot save`, `Sys().RaftSnapshot`) reads what
//! `GET sys/storage/raft/snapshot` answers as a gzipped tar, and fails the save unless that
//! tar holds a non-empty `SHA256SUMS.sealed`. So on Vault's raft path the archive
//! ([`crate::snapshot`]) travels in this envelope:
//!
//! ```text
//! vaultrs-snapshot/00000000    the archive's bytes, in order, one tar entry per chunk
//! vaultrs-snapshot/00000001    (a tar header states its entry's size first, and the
//! ...                          archive is streamed, so each chunk is an entry)
//! SHA256SUMS.sealed            "<archive SHA-256, hex>  vaultrs.snap\n"
//! ```
//!
//! `SHA256SUMS.sealed` carries the name Vault's client looks for; nothing seals it (the
//! archive verifies itself, and a restore checks the archive's keyring against the
//! running barrier). The gzip layer stores without compressing: the entries are
//! ciphertext, which does not compress. A restore takes either form ([`is_envelope`]).
//!
//! Both halves are plain `std::io`, with bounded memory: the writer turns one chunk into
//! its envelope bytes; the reader ([`EnvelopeReader`]) yields the archive's bytes as it
//! reads, never more than the caller's buffer, whatever an entry's header claims.

use std::io::{self, Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

/// The tar entries holding the archive's bytes.
const PART_PREFIX: &str = "vaultrs-snapshot/";
/// The entry Vault's client requires (non-empty).
const SUMS: &str = "SHA256SUMS.sealed";
/// Largest `SHA256SUMS.sealed` read (it is skipped, not buffered, but bounded anyway).
const MAX_SUMS: u64 = 64 << 10;
const BLOCK: usize = 512;
/// Zero blocks accepted after the tar's end (tar writers pad to a record size).
const MAX_TRAILING_ZEROS: usize = 64 << 10;

/// Whether `prefix` (the first bytes of an upload or file) starts an envelope rather than a
/// bare archive: the gzip magic.
pub fn is_envelope(prefix: &[u8]) -> bool {
    prefix.starts_with(&[0x1f, 0x8b])
}

/// Wraps an archive, chunk by chunk, into the envelope.
pub struct EnvelopeWriter {
    gz: GzEncoder<Vec<u8>>,
    parts: u64,
}

impl Default for EnvelopeWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl EnvelopeWriter {
    pub fn new() -> Self {
        Self {
            gz: GzEncoder::new(Vec::new(), Compression::none()),
            parts: 0,
        }
    }

    fn entry(&mut self, name: &str, data: &[u8]) -> io::Result<Vec<u8>> {
        self.gz.write_all(&header(name, data.len() as u64)?)?;
        self.gz.write_all(data)?;
        self.gz
            .write_all(&[0u8; BLOCK][..padding(data.len() as u64)])?;
        self.gz.flush()?;
        Ok(std::mem::take(self.gz.get_mut()))
    }

    /// The envelope bytes of the archive's next chunk.
    pub fn part(&mut self, chunk: &[u8]) -> io::Result<Vec<u8>> {
        let name = format!("{PART_PREFIX}{:08}", self.parts);
        self.parts += 1;
        self.entry(&name, chunk)
    }

    /// The envelope's last bytes, given the archive's SHA-256 (from its trailer).
    pub fn finish(mut self, sha256: &[u8; 32]) -> io::Result<Vec<u8>> {
        let sums = format!("{}  vaultrs.snap\n", hex::encode(sha256));
        let mut out = self.entry(SUMS, sums.as_bytes())?;
        self.gz.write_all(&[0u8; 2 * BLOCK])?;
        out.extend(self.gz.finish()?);
        Ok(out)
    }
}

fn padding(size: u64) -> usize {
    (BLOCK - (size % BLOCK as u64) as usize) % BLOCK
}

/// A ustar header for a regular file `name` of `size` bytes.
fn header(name: &str, size: u64) -> io::Result<[u8; BLOCK]> {
    let mut h = [0u8; BLOCK];
    if name.len() >= 100 {
        return Err(io::Error::other("tar entry name too long"));
    }
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], 0o600);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], 0);
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    octal(&mut h[148..155], u64::from(sum));
    h[155] = b' ';
    Ok(h)
}

/// Writes `value` as zero-padded octal digits ending in NUL, filling `field`.
fn octal(field: &mut [u8], value: u64) {
    let digits = format!("{value:0width$o}", width = field.len() - 1);
    let digits = &digits.as_bytes()[digits.len() - (field.len() - 1)..];
    field[..digits.len()].copy_from_slice(digits);
    field[digits.len()] = 0;
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Parses an octal tar number field (digits, then spaces or NULs).
fn parse_octal(field: &[u8]) -> io::Result<u64> {
    let text = field
        .iter()
        .skip_while(|b| **b == b' ')
        .take_while(|b| b.is_ascii_digit())
        .map(|b| *b as char)
        .collect::<String>();
    u64::from_str_radix(if text.is_empty() { "0" } else { &text }, 8)
        .map_err(|_| invalid("a tar header has a malformed number"))
}

/// Reads the archive out of an envelope (see the module docs), as a plain [`Read`].
pub struct EnvelopeReader<R: Read> {
    gz: GzDecoder<R>,
    /// Bytes left in the current archive entry, and the padding after it.
    left: u64,
    pad: usize,
    next_part: u64,
    saw_sums: bool,
    done: bool,
}

impl<R: Read> EnvelopeReader<R> {
    /// Reads the envelope in `src` (gzip bytes).
    pub fn new(src: R) -> Self {
        Self {
            gz: GzDecoder::new(src),
            left: 0,
            pad: 0,
            next_part: 0,
            saw_sums: false,
            done: false,
        }
    }

    fn skip(&mut self, mut n: u64) -> io::Result<()> {
        let mut buf = [0u8; BLOCK];
        while n > 0 {
            let want = n.min(BLOCK as u64) as usize;
            self.gz.read_exact(&mut buf[..want])?;
            n -= want as u64;
        }
        Ok(())
    }

    /// After the tar's end: only zero padding may follow, up to the gzip trailer, which is
    /// read (and so checked) too.
    fn drain_end(&mut self) -> io::Result<()> {
        let mut buf = [0u8; BLOCK];
        let mut total = 0usize;
        loop {
            let n = self.gz.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            total += n;
            if total > MAX_TRAILING_ZEROS || buf[..n].iter().any(|b| *b != 0) {
                return Err(invalid("data after the end of the snapshot envelope"));
            }
        }
    }

    /// Moves to the next archive entry; false at the end of the tar.
    fn next_entry(&mut self) -> io::Result<bool> {
        loop {
            let mut h = [0u8; BLOCK];
            self.gz.read_exact(&mut h)?;
            if h.iter().all(|b| *b == 0) {
                if !self.saw_sums {
                    return Err(invalid("the snapshot envelope has no SHA256SUMS.sealed"));
                }
                self.drain_end()?;
                return Ok(false);
            }
            let stored = parse_octal(&h[148..156])?;
            let mut blank = h;
            blank[148..156].fill(b' ');
            if blank.iter().map(|b| u64::from(*b)).sum::<u64>() != stored {
                return Err(invalid("a tar header checksum does not match"));
            }
            let name_len = h[..100].iter().position(|b| *b == 0).unwrap_or(100);
            let name = std::str::from_utf8(&h[..name_len])
                .map_err(|_| invalid("a tar entry name is not UTF-8"))?
                .to_owned();
            let size = parse_octal(&h[124..136])?;
            if !matches!(h[156], b'0' | 0) {
                return Err(invalid(format!("tar entry {name:?} is not a regular file")));
            }
            if let Some(part) = name.strip_prefix(PART_PREFIX) {
                if self.saw_sums || part != format!("{:08}", self.next_part) {
                    return Err(invalid(format!("snapshot part {name:?} out of order")));
                }
                self.next_part += 1;
                self.left = size;
                self.pad = padding(size);
                if size > 0 {
                    return Ok(true);
                }
                self.skip(self.pad as u64)?;
            } else if name == SUMS {
                if size == 0 || size > MAX_SUMS || self.saw_sums {
                    return Err(invalid(
                        "the snapshot envelope's SHA256SUMS.sealed is malformed",
                    ));
                }
                self.saw_sums = true;
                self.skip(size + padding(size) as u64)?;
            } else if matches!(name.as_str(), "meta.json" | "state.bin" | "SHA256SUMS") {
                return Err(invalid(
                    "this is a Vault or OpenBao raft snapshot: vaultrs restores only its own \
                     snapshots",
                ));
            } else {
                return Err(invalid(format!(
                    "unexpected entry {name:?}: not a vaultrs snapshot"
                )));
            }
        }
    }
}

impl<R: Read> Read for EnvelopeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.done {
            return Ok(0);
        }
        if self.left == 0 && !self.next_entry()? {
            self.done = true;
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.gz.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the snapshot envelope ends early (truncated)",
            ));
        }
        self.left -= n as u64;
        if self.left == 0 {
            self.skip(self.pad as u64)?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(chunks: &[&[u8]]) -> Vec<u8> {
        let mut w = EnvelopeWriter::new();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(w.part(c).unwrap());
        }
        out.extend(w.finish(&[7; 32]).unwrap());
        out
    }

    #[test]
    fn envelope_round_trip() {
        let big = vec![0xa5u8; 3 * BLOCK + 17];
        let bytes = wrap(&[b"VRSSNAP1", b"", &big, b"x"]);
        assert!(is_envelope(&bytes));
        let mut got = Vec::new();
        EnvelopeReader::new(&bytes[..])
            .read_to_end(&mut got)
            .unwrap();
        let mut want = b"VRSSNAP1".to_vec();
        want.extend(&big);
        want.push(b'x');
        assert_eq!(got, want);
    }

    #[test]
    fn envelope_damage_is_an_error() {
        let bytes = wrap(&[b"VRSSNAP1 and more"]);
        for cut in 0..bytes.len() {
            let mut sink = Vec::new();
            assert!(
                EnvelopeReader::new(&bytes[..cut])
                    .read_to_end(&mut sink)
                    .is_err(),
                "cut at {cut}"
            );
        }
        // A tar whose only entry is Vault's state file is named for what it is.
        let mut gz = GzEncoder::new(Vec::new(), Compression::none());
        gz.write_all(&header("state.bin", 0).unwrap()).unwrap();
        let vault = gz.finish().unwrap();
        let err = EnvelopeReader::new(&vault[..])
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("raft snapshot"), "{err}");
    }
}
