//! PGP public key files for `-pgp-keys`, `-pgp-key` and `-root-token-pgp-key`, read as
//! Vault's CLI reads them (`pgpkeys.ReadPGPFile`): an ASCII-armored key is de-armored, a
//! file already holding base64 is sent as it is, anything else is taken as the binary key
//! and base64-encoded. A leading `@` on a path is dropped. `keybase:<user>` is refused:
//! fetching keys from Keybase needs its web service, which vaultrs does not call.
//!
//! The server parses and checks the keys; this only gets them into the API's form.

use anyhow::Result;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::Exit;

const BEGIN: &str = "-----BEGIN PGP ";
const END: &str = "-----END PGP ";

/// The keys of a comma-separated `-pgp-keys` value, each base64 of its binary form.
pub fn read_key_files(list: &str) -> Result<Vec<String>> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(read_key_file)
        .collect()
}

/// One key file (see the module docs).
pub fn read_key_file(path: &str) -> Result<String> {
    if path.starts_with("keybase:") {
        return Err(Exit::local(format!(
            "{path}: keybase: PGP keys are not supported; export the public key to a file \
             (gpg --export NAME > key.gpg) and give its path"
        ))
        .into());
    }
    let path = path.strip_prefix('@').unwrap_or(path);
    let bytes = std::fs::read(path)
        .map_err(|e| Exit::local(format!("error reading PGP key file {path:?}: {e}")))?;
    encode_key(&bytes).map_err(|m| Exit::local(format!("{path}: {m}")).into())
}

/// The API form of a key file's contents.
fn encode_key(bytes: &[u8]) -> Result<String, String> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if text.contains(BEGIN) {
            return dearmor(text).map(|binary| STANDARD.encode(binary));
        }
        let compact: String = text.split_whitespace().collect();
        if !compact.is_empty() && STANDARD.decode(&compact).is_ok() {
            return Ok(compact);
        }
    }
    if bytes.is_empty() {
        return Err("the PGP key file is empty".into());
    }
    Ok(STANDARD.encode(bytes))
}

/// The binary packets of the one public key block in `text`.
fn dearmor(text: &str) -> Result<Vec<u8>, String> {
    let mut lines = text.lines().map(str::trim);
    let begin = lines
        .find(|l| l.starts_with(BEGIN))
        .ok_or("no armored PGP block found")?;
    if begin.contains("PRIVATE") || begin.contains("SECRET") {
        return Err("the file holds a private key; give the public key (gpg --export)".into());
    }
    if !begin.contains("PUBLIC KEY BLOCK") {
        return Err(format!("expected a PGP public key block, found {begin:?}"));
    }
    // Armor headers ("Version: ...") end at the first blank line, if there are any.
    let rest: Vec<&str> = lines.collect();
    let body_start = if rest.first().is_some_and(|l| l.contains(": ")) {
        rest.iter()
            .position(|l| l.is_empty())
            .map_or(rest.len(), |i| i + 1)
    } else {
        0
    };
    let mut body = String::new();
    let mut ended = false;
    for line in &rest[body_start..] {
        if line.starts_with(END) {
            ended = true;
            break;
        }
        // The CRC-24 checksum line.
        if line.starts_with('=') {
            continue;
        }
        body.push_str(line);
    }
    if !ended {
        return Err("the armored PGP block has no END line".into());
    }
    if text.matches(BEGIN).count() > 1 {
        return Err("more than one key found in the file".into());
    }
    STANDARD
        .decode(body)
        .map_err(|e| format!("the armored PGP block is not valid base64: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARMORED: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: test\n\nmQEN\nBFAA\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n";

    #[test]
    fn key_files_in_every_form() {
        // Armored: the body, de-armored (checksum and headers dropped), re-encoded.
        let binary = STANDARD.decode("mQENBFAA").unwrap();
        assert_eq!(
            encode_key(ARMORED.as_bytes()).unwrap(),
            STANDARD.encode(&binary)
        );
        let bare = ARMORED.replace("Comment: test\n\n", "");
        assert_eq!(
            encode_key(bare.as_bytes()).unwrap(),
            STANDARD.encode(&binary)
        );
        // Base64 already: sent as it is (a trailing newline is fine).
        assert_eq!(encode_key(b"mQENBFAA\n").unwrap(), "mQENBFAA");
        // Binary: base64-encoded.
        assert_eq!(encode_key(&[0x99, 0x01, 0xff]).unwrap(), "mQH/");
        assert!(encode_key(b"").is_err());
        assert!(encode_key(
            b"-----BEGIN PGP PRIVATE KEY BLOCK-----\nx\n-----END PGP PRIVATE KEY BLOCK-----"
        )
        .unwrap_err()
        .contains("private key"));
        assert!(encode_key(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQ==\n").is_err());
        let two = format!("{ARMORED}{ARMORED}");
        assert!(encode_key(two.as_bytes())
            .unwrap_err()
            .contains("more than one"));
    }

    #[test]
    fn keybase_and_missing_files_are_local_errors() {
        let e = read_key_files("keybase:jefferai").unwrap_err();
        assert!(e.to_string().contains("keybase"), "{e}");
        let e = read_key_file("/nonexistent/key.asc").unwrap_err();
        assert!(e.to_string().contains("error reading PGP key file"), "{e}");
    }
}
