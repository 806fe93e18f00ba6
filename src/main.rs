//! The vaultrs binary: the composition root. `vaultrs server` runs the server library; every
//! other command is the CLI (`vaultrs-commands`), which talks to a server over HTTP only.
//! This file is the one place that sees both, and turns the CLI's `ServerArgs` into the
//! server's `ServerOptions`, so the server library never imports the CLI.

use std::process::ExitCode;

use vaultrs::server::{self, ServerOptions};
use vaultrs_commands::ServerArgs;

/// mimalloc instead of glibc's malloc: glibc spent about 15% of the server's CPU per KV
/// write (its free-list consolidation runs on every large buffer a request allocates).
/// Built without transparent huge pages (`no_thp`), which would take the idle RSS from
/// about 15 to 29 MiB.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    vaultrs_commands::main_with(std::env::args_os(), |args| server::main(options(args)))
}

/// The `vaultrs server` flags as the server's options. Destructured exhaustively: a new
/// flag does not compile until it is passed on.
fn options(args: ServerArgs) -> ServerOptions {
    let ServerArgs {
        config,
        dev,
        dev_root_token_id,
        dev_listen_address,
        dev_no_store_token,
        dev_data_dir,
        dev_allow_remote,
        log_level,
    } = args;
    ServerOptions {
        config,
        dev,
        dev_root_token_id,
        dev_listen_address,
        dev_no_store_token,
        dev_data_dir,
        dev_allow_remote,
        log_level,
    }
}
