//! Regenerates the committed shell completions (`completions/`) and man pages (`man/`) at
//! the workspace root from the CLI's clap tree:
//!
//! ```sh
//! cargo run -p vaultrs-commands --example generate-docs
//! ```

fn main() -> anyhow::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    vaultrs_commands::generate::write_all(&root)?;
    println!("Wrote completions/ and man/ under {}", root.display());
    Ok(())
}
