//! The wipe guard. Enabling a cluster as a replication secondary wipes everything it holds
//! (secrets, policies, auth methods, tokens) and replaces it with the primary's data, so
//! the CLI asks first:
//!
//! - in a terminal, it offers to save a storage snapshot of the cluster first (the one
//!   `vaultrs operator snapshot save` takes, to a file it asks for), then asks for
//!   confirmation; a snapshot that fails stops everything before the write is sent;
//! - `-f`/`-force` answers every question, for scripts (and takes no snapshot);
//! - without a terminal and without `-force` it refuses, sends nothing, and never waits
//!   for input.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::client::Client;
use crate::output::wrap_at_length;
use crate::progress;
use crate::snapshot;
use crate::ui::Ui;
use crate::Exit;

/// The paths whose write wipes the cluster that receives it.
const WIPING_PATHS: &[&str] = &[
    "sys/replication/performance/secondary/enable",
    "sys/replication/dr/secondary/enable",
    "sys/replication/secondary/enable",
];

/// Whether writing to `path` (already sanitized) wipes the cluster.
pub fn wipes_cluster(path: &str) -> bool {
    WIPING_PATHS.contains(&path)
}

/// Returns `Ok` when the write may proceed. Errors mean nothing may be sent.
pub fn confirm_wipe(
    ui: &mut Ui,
    client: &Client,
    path: &str,
    force: bool,
    non_interactive: bool,
) -> Result<()> {
    if force {
        return Ok(());
    }
    if !ui.interactive || non_interactive {
        return Err(Exit::local(wrap_at_length(
            &format!(
                "Refusing to write {path} without confirmation: it wipes every secret, \
                 policy, auth method and token on this cluster and replaces them with the \
                 primary's data, and there is no terminal to ask. Nothing was sent. Re-run \
                 with -force to proceed."
            ),
            0,
        ))
        .into());
    }
    ui.error(wrap_at_length(
        &format!(
            "WARNING! Writing {path} turns this cluster into a replication secondary. \
             It wipes every secret, policy, auth method and token stored here, including \
             the token you are using, and replaces them with the primary's data."
        ),
        0,
    ));
    ui.error("");
    if ui
        .prompter
        .confirm("Save a storage snapshot of this cluster first?", true)?
    {
        let file = ui
            .prompter
            .input("Snapshot file", &snapshot::default_file_name())?;
        let info = snapshot::save(client, ui, Path::new(&file)).map_err(|e| {
            e.context(format!(
                "Error saving the snapshot to {file}. Nothing was sent"
            ))
        })?;
        ui.error(format!(
            "Snapshot of {} keys saved to {file}.",
            info.header.keys
        ));
        ui.error("");
    }
    if !ui.prompter.confirm(
        "Wipe this cluster and enable it as a replication secondary?",
        false,
    )? {
        return Err(Exit::local("Canceled. Nothing was sent.").into());
    }
    Ok(())
}

/// After a secondary was enabled: in a terminal, show progress until it has bootstrapped
/// from the primary (or a minute passed). Without a terminal, return at once, as Vault does.
pub fn wait_for_secondary(ui: &mut Ui, client: &Client) {
    if !ui.stdout_is_terminal {
        return;
    }
    let status_path = "sys/replication/status";
    let pb = progress::spinner(
        ui,
        "Waiting for the secondary to bootstrap from the primary",
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut done = false;
    while Instant::now() < deadline {
        if let Ok(Some(s)) = client.without_wrapping().read(status_path) {
            let state = |kind: &str| {
                s.get(kind)
                    .and_then(|p| p.get("state"))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            if [state("performance"), state("dr")]
                .iter()
                .flatten()
                .any(|st| st == "stream-wals")
            {
                done = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    pb.finish_and_clear();
    if done {
        ui.error("The secondary has bootstrapped and is streaming from the primary.");
    } else {
        ui.error(
            "The secondary is still bootstrapping; follow it with \
             `vaultrs read sys/replication/status`.",
        );
    }
}
