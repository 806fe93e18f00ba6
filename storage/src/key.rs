//! Logical storage keys and their safe, injective mapping onto a directory tree.
//!
//! A key is `segment/segment/.../leaf`. Every segment is non-empty UTF-8 without control
//! characters or backslashes, is not `.` or `..`, and is at most [`MAX_SEGMENT_LEN`] bytes.
//!
//! On disk (relative to the tree root):
//! - a leaf segment `s` is the file `_s` (Vault's convention: leaves and folders of the same
//!   name never collide);
//! - a folder segment `s` is the directory `s`, or `~s` when `s` starts with `_`, `~` or `.`
//!   (so a folder can never look like a leaf file, a temp file or another folder);
//! - temporary files start with `.`, a first byte no leaf or folder name ever has.
//!
//! Hence distinct keys map to distinct files, no key maps to a folder or a temp file, and no
//! key leaves the tree. [`key_from_relative`] is the inverse used by tree walks.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// Longest key accepted, in bytes.
pub const MAX_KEY_LEN: usize = 4096;
/// Longest segment accepted, in bytes; keeps every file name (with the temp decoration)
/// below the usual 255-byte `NAME_MAX`.
pub const MAX_SEGMENT_LEN: usize = 240;

fn invalid(key: &str, reason: &'static str) -> Error {
    // Bound what an error message can echo back.
    let shown: String = key.chars().take(128).collect();
    Error::InvalidKey { key: shown, reason }
}

fn check_segment(key: &str, seg: &str) -> Result<()> {
    if seg.is_empty() {
        return Err(invalid(key, "empty path segment"));
    }
    if seg == "." || seg == ".." {
        return Err(invalid(key, "relative path segment"));
    }
    if seg.len() > MAX_SEGMENT_LEN {
        return Err(invalid(key, "path segment too long"));
    }
    if seg.chars().any(|c| c.is_control() || c == '\\') {
        return Err(invalid(key, "control character or backslash"));
    }
    Ok(())
}

/// Checks that `key` names a storable leaf.
pub fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(invalid(key, "empty key"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(invalid(key, "key too long"));
    }
    if key.starts_with('/') {
        return Err(invalid(key, "absolute key"));
    }
    key.split('/').try_for_each(|seg| check_segment(key, seg))
}

/// Checks a list prefix: empty (the root) or valid segments each followed by `/`.
pub fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    match prefix.strip_suffix('/') {
        Some(folder) => validate_key(folder),
        None => Err(invalid(prefix, "list prefix must be empty or end with '/'")),
    }
}

fn folder_component(seg: &str) -> String {
    if seg.starts_with(['_', '~', '.']) {
        format!("~{seg}")
    } else {
        seg.to_owned()
    }
}

/// The folder holding the children of `prefix` (validated by the caller).
pub(crate) fn folder_path(root: &Path, prefix: &str) -> PathBuf {
    let mut path = root.to_path_buf();
    for seg in prefix.split('/').filter(|s| !s.is_empty()) {
        path.push(folder_component(seg));
    }
    path
}

/// The file holding `key` (validated by the caller).
pub(crate) fn leaf_path(root: &Path, key: &str) -> PathBuf {
    let (folder, leaf) = match key.rsplit_once('/') {
        Some((folder, leaf)) => (folder, leaf),
        None => ("", key),
    };
    let mut path = folder_path(root, folder);
    path.push(format!("_{leaf}"));
    path
}

/// What a directory entry in the tree is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EntryName {
    Leaf(String),
    Folder(String),
    /// A temp file or anything vaultrs did not write.
    Other,
}

pub(crate) fn classify(name: &str) -> EntryName {
    if let Some(leaf) = name.strip_prefix('_') {
        return EntryName::Leaf(leaf.to_owned());
    }
    if name.starts_with('.') {
        return EntryName::Other;
    }
    if let Some(escaped) = name.strip_prefix('~') {
        return if escaped.starts_with(['_', '~', '.']) {
            EntryName::Folder(escaped.to_owned())
        } else {
            EntryName::Other
        };
    }
    EntryName::Folder(name.to_owned())
}

/// True for names of temp files this crate creates.
pub(crate) fn is_temp(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// Inverse of [`leaf_path`] for a path relative to the tree root; `None` when the path is
/// not a leaf file vaultrs wrote.
pub(crate) fn key_from_relative(rel: &Path) -> Option<String> {
    let comps: Vec<&str> = rel
        .components()
        .map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let (last, folders) = comps.split_last()?;
    let mut segs = Vec::with_capacity(comps.len());
    for f in folders {
        match classify(f) {
            EntryName::Folder(s) => segs.push(s),
            _ => return None,
        }
    }
    match classify(last) {
        EntryName::Leaf(s) => segs.push(s),
        _ => return None,
    }
    let key = segs.join("/");
    validate_key(&key).ok()?;
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_hostile_keys() {
        let long = "x".repeat(10 * 1024);
        let cases = [
            "",
            "/abs",
            "..",
            ".",
            "a/../../b",
            "a/./b",
            "a//b",
            "a/",
            "a\\b",
            "a\0b",
            "a\nb",
            "\u{7f}",
            long.as_str(),
        ];
        for key in cases {
            assert!(
                matches!(validate_key(key), Err(Error::InvalidKey { .. })),
                "{key:?} accepted"
            );
        }
    }

    #[test]
    fn mapping_round_trips_and_stays_apart() {
        let root = Path::new("/r");
        let keys = [
            "a",
            "_a",
            "~a",
            ".a",
            "a/b",
            "_a/b",
            "a/_b",
            "%2e%2e",
            "..a",
            "a..b",
            "x.tmp",
            "ünï/cödé",
        ];
        let mut files = std::collections::HashSet::new();
        for key in keys {
            validate_key(key).unwrap();
            let path = leaf_path(root, key);
            let rel = path.strip_prefix(root).unwrap();
            assert_eq!(key_from_relative(rel).as_deref(), Some(key));
            assert!(files.insert(path.clone()), "collision at {path:?}");
            // No key's file is some other key's folder.
            for other in keys {
                let folder = folder_path(root, &format!("{other}/"));
                assert_ne!(folder, path, "{key} file is {other}/ folder");
            }
            assert!(!is_temp(rel.file_name().unwrap().to_str().unwrap()));
        }
    }

    #[test]
    fn prefixes() {
        assert!(validate_prefix("").is_ok());
        assert!(validate_prefix("a/b/").is_ok());
        assert!(validate_prefix("a/b").is_err());
        assert!(validate_prefix("../").is_err());
        assert!(validate_prefix("/").is_err());
    }
}
