//! The clap tree is consistent, and the committed completions and man pages match it.

use clap::CommandFactory;

use crate::Cli;

#[test]
fn clap_tree_is_consistent() {
    Cli::command().debug_assert();
}

/// The committed completions/ and man/ match the clap tree. Regenerate with
/// `cargo run -p vaultrs-commands --example generate-docs`.
#[test]
fn docs_are_fresh() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut stale = Vec::new();
    let mut check = |dir: &str, files: Vec<(String, Vec<u8>)>| {
        let d = root.join(dir);
        for (name, want) in &files {
            match std::fs::read(d.join(name)) {
                Ok(have) if &have == want => {}
                _ => stale.push(format!("{dir}/{name}")),
            }
        }
        // Generated files for commands that no longer exist are stale too.
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if !n.starts_with('.') && !files.iter().any(|(f, _)| *f == n) {
                    stale.push(format!("{dir}/{n} (no longer generated)"));
                }
            }
        }
    };
    check("completions", crate::generate::completion_files());
    check("man", crate::generate::man_files().unwrap());
    assert!(
        stale.is_empty(),
        "stale generated docs: {stale:?}\nrun: cargo run -p vaultrs-commands --example generate-docs"
    );
}
