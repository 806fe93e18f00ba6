//! Shell completions and man pages, generated from the same clap tree that parses argv.
//!
//! `vaultrs completions <shell>` prints a script. The committed copies in `completions/` and
//! `man/` are written by `cargo run -p vaultrs-commands --example generate-docs` (or
//! `vaultrs generate all`), and a test fails when they are stale.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell;

use crate::ui::{Env, Ui};
use crate::Cli;

/// Arguments of `vaultrs completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// What `vaultrs generate` writes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum What {
    /// Completion scripts for every supported shell, into DIR (default: completions).
    Completions,
    /// Man pages for every command, into DIR (default: man).
    Man,
    /// Both, into completions/ and man/ under DIR (default: the current directory).
    All,
}

/// Arguments of the hidden `vaultrs generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to generate.
    #[arg(value_enum)]
    pub what: What,
    /// Where to write it.
    pub dir: Option<PathBuf>,
}

/// The file each shell's completion script is committed as.
pub const SHELLS: &[(Shell, &str)] = &[
    (Shell::Bash, "vaultrs.bash"),
    (Shell::Zsh, "_vaultrs"),
    (Shell::Fish, "vaultrs.fish"),
    (Shell::Elvish, "vaultrs.elv"),
    (Shell::PowerShell, "_vaultrs.ps1"),
];

fn completion(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "vaultrs", &mut buf);
    buf
}

/// Every completion script: (file name, contents).
pub fn completion_files() -> Vec<(String, Vec<u8>)> {
    SHELLS
        .iter()
        .map(|(shell, name)| (name.to_string(), completion(*shell)))
        .collect()
}

/// Every man page, one per visible command: (file name, contents).
pub fn man_files() -> Result<Vec<(String, Vec<u8>)>> {
    fn walk(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
        let man = clap_mangen::Man::new(cmd.clone());
        let mut buf = Vec::new();
        man.render(&mut buf)?;
        out.push((man.get_filename(), buf));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out)?;
        }
        Ok(())
    }
    let mut cmd = Cli::command();
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, &mut out)?;
    Ok(out)
}

fn write_files(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("Error creating {}", dir.display()))?;
    for (name, bytes) in files {
        let p = dir.join(name);
        std::fs::write(&p, bytes).with_context(|| format!("Error writing {}", p.display()))?;
    }
    Ok(())
}

/// Writes `completions/` and `man/` under `root`, removing stale generated files.
pub fn write_all(root: &Path) -> Result<()> {
    let man_dir = root.join("man");
    if man_dir.exists() {
        for e in std::fs::read_dir(&man_dir)?.flatten() {
            if e.path().extension().is_some_and(|x| x == "1") {
                std::fs::remove_file(e.path())?;
            }
        }
    }
    write_files(&root.join("completions"), &completion_files())?;
    write_files(&man_dir, &man_files()?)?;
    Ok(())
}

pub fn completions(a: CompletionsArgs, ui: &mut Ui) -> Result<u8> {
    ui.out.write_all(&completion(a.shell))?;
    Ok(0)
}

pub fn generate(a: GenerateArgs, ui: &mut Ui) -> Result<u8> {
    match a.what {
        What::Completions => {
            let dir = a.dir.unwrap_or_else(|| PathBuf::from("completions"));
            write_files(&dir, &completion_files())?;
            ui.info(format!("Wrote completions to {}", dir.display()));
        }
        What::Man => {
            let dir = a.dir.unwrap_or_else(|| PathBuf::from("man"));
            write_files(&dir, &man_files()?)?;
            ui.info(format!("Wrote man pages to {}", dir.display()));
        }
        What::All => {
            let root = a.dir.unwrap_or_else(|| PathBuf::from("."));
            write_all(&root)?;
            ui.info(format!(
                "Wrote completions/ and man/ under {}",
                root.display()
            ));
        }
    }
    Ok(0)
}

/// Expands a leading `~/` with `HOME`.
pub fn expand_home(env: &Env, p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), env.get("HOME")) {
        (Some(rest), Some(home)) => Path::new(home).join(rest),
        _ => PathBuf::from(p),
    }
}

use std::io::Write as _;
