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

/// A snapshot's progress: keys against the archive header's total, with bytes and their
/// rate, or (an upload) bytes against the file's size. Drawn only when standard error is a
/// terminal.
#[derive(Clone)]
pub struct SnapshotBar {
    pb: ProgressBar,
}

impl SnapshotBar {
    fn new(ui: &Ui, template: &str, what: &str, len: u64) -> Self {
        let pb = if ui.stderr_is_terminal {
            ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        pb.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_message(what.to_owned());
        Self { pb }
    }

    /// Counts keys as an archive is read (the total comes with its header).
    pub fn keys(ui: &Ui, what: &str) -> Self {
        Self::new(
            ui,
            "{msg:9} [{bar:30}] {human_pos}/{human_len} keys  {prefix}  ETA {eta}",
            what,
            0,
        )
    }

    /// Counts the bytes of an upload of `total` bytes holding `keys` keys.
    pub fn bytes(ui: &Ui, what: &str, total: u64, keys: u64) -> Self {
        let bar = Self::new(
            ui,
            "{msg:9} [{bar:30}] {bytes}/{total_bytes} ({prefix} keys)  {binary_bytes_per_sec}  ETA {eta}",
            what,
            total,
        );
        bar.pb.set_prefix(indicatif::HumanCount(keys).to_string());
        bar
    }

    /// An archive read this far.
    pub fn update(&self, p: vaultrs_storage::Progress) {
        if self.pb.is_hidden() {
            return;
        }
        self.pb.set_length(p.total_keys);
        self.pb.set_position(p.keys);
        // Formatting the byte count for every key would cost more than reading it.
        if p.keys.is_multiple_of(256) || p.keys == p.total_keys {
            let secs = self.pb.elapsed().as_secs_f64().max(1e-3);
            self.pb.set_prefix(format!(
                "{} at {}/s",
                indicatif::HumanBytes(p.bytes),
                indicatif::HumanBytes((p.bytes as f64 / secs) as u64)
            ));
        }
    }

    /// An upload this far.
    pub fn bytes_done(&self, done: u64) {
        self.pb.set_position(done);
    }

    pub fn finish(&self) {
        self.pb.finish_and_clear();
    }
}
