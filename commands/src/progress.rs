//! Progress for long work (moving a mount, a secondary bootstrapping, snapshots), drawn with
//! indicatif on standard error, and only when standard output is a terminal: scripts and
//! pipes get no progress noise.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ui::Ui;

/// A spinner with a message; hidden when standard output is not a terminal.
pub fn spinner(ui: &Ui, message: impl Into<String>) -> ProgressBar {
    let pb = if ui.stdout_is_terminal {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(message.into());
    if ui.stdout_is_terminal {
        pb.enable_steady_tick(Duration::from_millis(120));
    }
    pb
}
