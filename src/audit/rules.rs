//! What a `file` audit device may do with files: the hardening against Vault's
//! CVE-2025-6000 class, where whoever may enable an audit device through the API could
//! write a file of their choosing (an executable one, starting with `#!/bin/sh` given as
//! the `prefix`) or loosen an existing file's mode.
//!
//! - `prefix` is refused unless the server configuration sets `allow_audit_log_prefixing`
//!   (Vault 1.20.1's rule).
//! - A mode with an execute, setuid, setgid or sticky bit is refused; an existing file is
//!   never made more permissive than it is (its mode is only ever narrowed), and an
//!   existing executable file is never written to.
//! - Files of the server itself (its data directory, configuration, TLS files, the token
//!   helper file `~/.vault-token`) are refused, also when reached through a symlink.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Permission bits no audit file may carry: execute for anyone, setuid, setgid, sticky.
pub const FORBIDDEN_MODE_BITS: u32 = 0o7111;

/// The server's rules for `file` audit devices.
#[derive(Clone, Debug, Default)]
pub struct FileRules {
    /// Vault's `allow_audit_log_prefixing` (off unless the configuration turns it on).
    pub allow_prefix: bool,
    /// Files and folders no audit device may write, nor anything under them.
    pub protected: Vec<PathBuf>,
}

impl FileRules {
    /// Rules that protect `paths` (made absolute and resolved where they exist).
    pub fn protecting(allow_prefix: bool, paths: impl IntoIterator<Item = PathBuf>) -> Self {
        Self {
            allow_prefix,
            protected: paths.into_iter().map(|p| resolve(&p)).collect(),
        }
    }

    /// Checks a device's `prefix` option.
    pub fn check_prefix(&self, prefix: &str) -> Result<()> {
        if prefix.is_empty() || self.allow_prefix {
            return Ok(());
        }
        Err(Error::invalid(
            "audit log prefixing is disabled: set allow_audit_log_prefixing = true in the \
             server configuration to use the \"prefix\" option",
        ))
    }

    /// Checks the file a device would write: not one of the server's own, not an existing
    /// executable file.
    pub fn check_file(&self, path: &Path) -> Result<()> {
        let target = resolve(path);
        if let Some(hit) = self.protected.iter().find(|p| target.starts_with(p)) {
            return Err(Error::invalid(format!(
                "file_path {:?} is a file of this server ({}): audit devices cannot write it",
                path.display(),
                hit.display()
            )));
        }
        if let Ok(meta) = std::fs::metadata(&target) {
            if meta.is_file() && meta.permissions().mode() & FORBIDDEN_MODE_BITS != 0 {
                return Err(Error::invalid(format!(
                    "file_path {:?} is an executable file: audit devices cannot write it",
                    path.display()
                )));
            }
        }
        Ok(())
    }
}

/// Checks an audit file `mode` (already parsed from octal).
pub fn check_mode(mode: u32) -> Result<()> {
    if mode & FORBIDDEN_MODE_BITS != 0 {
        return Err(Error::invalid(format!(
            "invalid mode {mode:04o}: file audit devices cannot use executable (or setuid, \
             setgid, sticky) modes; use 0600 or 0644"
        )));
    }
    Ok(())
}

/// The mode to give an existing file asked to be `wanted`: never more permissive than it
/// already is. `None`: leave it as it is.
pub fn narrowed_mode(current: u32, wanted: u32) -> Option<u32> {
    let current = current & 0o7777;
    let next = current & wanted & !FORBIDDEN_MODE_BITS;
    (next != current).then_some(next)
}

/// `path` made absolute with symlinks resolved, as far as it exists: the longest existing
/// ancestor is canonicalized and the rest appended.
fn resolve(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path))
    };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        for bad in [0o755, 0o700, 0o4600, 0o2600, 0o1600, 0o777, 0o610] {
            assert!(check_mode(bad).is_err(), "{bad:o}");
        }
        for good in [0o600, 0o644, 0o666, 0o640, 0o000] {
            assert!(check_mode(good).is_ok(), "{good:o}");
        }
        // Only ever narrowed.
        assert_eq!(narrowed_mode(0o600, 0o666), None);
        assert_eq!(narrowed_mode(0o644, 0o600), Some(0o600));
        assert_eq!(narrowed_mode(0o755, 0o644), Some(0o644));
        assert_eq!(narrowed_mode(0o100600, 0o600), None);
    }

    #[test]
    fn protected_files_and_folders_also_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let token = dir.path().join(".vault-token");
        std::fs::write(&token, "t").unwrap();
        let rules = FileRules::protecting(false, [data.clone(), token.clone()]);
        assert!(rules.check_file(&data.join("tree/x")).is_err());
        assert!(rules.check_file(&data).is_err());
        assert!(rules.check_file(&token).is_err());
        assert!(rules
            .check_file(&dir.path().join("data/../.vault-token"))
            .is_err());
        let link = dir.path().join("innocent.log");
        std::os::unix::fs::symlink(&token, &link).unwrap();
        assert!(rules.check_file(&link).is_err());
        let dir_link = dir.path().join("logs");
        std::os::unix::fs::symlink(&data, &dir_link).unwrap();
        assert!(rules.check_file(&dir_link.join("audit.log")).is_err());
        assert!(rules.check_file(&dir.path().join("audit.log")).is_ok());

        let script = dir.path().join("run.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(rules.check_file(&script).is_err());

        assert!(rules.check_prefix("").is_ok());
        assert!(rules.check_prefix("#!/bin/sh\n").is_err());
        assert!(FileRules::protecting(true, [])
            .check_prefix("vault:")
            .is_ok());
    }
}
