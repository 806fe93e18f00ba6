//! The vaultrs binary: the composition root. The server and the CLI are wired in here as
//! they land; until then it only reports its version.

use std::process::ExitCode;

fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    match arg.as_deref() {
        None | Some("version" | "-version" | "--version") => {
            println!("vaultrs v{}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!(
                "vaultrs: {other:?} is not available yet: this build has the storage layer only"
            );
            ExitCode::from(1)
        }
    }
}
