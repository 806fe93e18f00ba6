//! Vault's flag style on top of clap.
//!
//! Vault's CLI takes single-dash long flags (`-format=json`, `-field password`, `-local`,
//! `-dev-root-token-id=x`) and Go-style booleans (`-local=true`). clap takes `--format=json`.
//! [`normalize`] rewrites argv before clap parses it, and only the tokens that name a long flag
//! of the command being parsed: the set of flags comes from the clap `Command` tree itself,
//! so clap stays the single source of truth for what exists and how it parses.
//!
//! Untouched: `-` (stdin), short flags such as `-f`, negative numbers, data arguments such as
//! `k=-v`, unknown flags (clap reports them), and everything after `--`.

use std::ffi::{OsStr, OsString};

use clap::{Arg, ArgAction, Command};

/// Rewrites `args` (including the program name) for `cmd`, which must have been built
/// (`Command::build`), so that global flags have been propagated to every subcommand.
pub fn normalize(cmd: &Command, args: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.into_iter();
    if let Some(bin) = it.next() {
        out.push(bin);
    }
    let mut cur = cmd;
    let mut positional_seen = false;
    while let Some(tok) = it.next() {
        let Some(s) = tok.to_str() else {
            out.push(tok);
            continue;
        };
        if s == "--" {
            out.push(tok);
            out.extend(it);
            break;
        }
        if !s.starts_with('-') || s == "-" {
            if !positional_seen {
                if let Some(sub) = find_subcommand(cur, s) {
                    cur = sub;
                    out.push(tok);
                    continue;
                }
            }
            positional_seen = true;
            out.push(tok);
            continue;
        }
        let body = s.strip_prefix("--").unwrap_or(&s[1..]);
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let Some(arg) = find_long(cur, name) else {
            out.push(tok);
            continue;
        };
        // Use the flag's canonical long name, so aliases keep working too.
        let long = arg.get_long().unwrap_or(name);
        if takes_value(arg) {
            match value {
                Some(v) => out.push(OsString::from(format!("--{long}={v}"))),
                None => {
                    // Go's flag package takes the next token as the value, whatever it
                    // looks like (`-field -`); glue it on so clap does the same.
                    match it.next() {
                        Some(next) => {
                            let mut joined = OsString::from(format!("--{long}="));
                            joined.push(next);
                            out.push(joined);
                        }
                        None => out.push(OsString::from(format!("--{long}"))),
                    }
                }
            }
        } else {
            match value.map(parse_bool) {
                None | Some(Some(true)) => out.push(OsString::from(format!("--{long}"))),
                // `-local=false` is the default: drop it.
                Some(Some(false)) => {}
                // Not a boolean: let clap report the unexpected value.
                Some(None) => out.push(OsString::from(format!("--{long}={}", value.unwrap()))),
            }
        }
    }
    out
}

fn find_subcommand<'a>(cmd: &'a Command, name: &str) -> Option<&'a Command> {
    cmd.get_subcommands()
        .find(|c| c.get_name() == name || c.get_all_aliases().any(|a| a == name))
}

fn find_long<'a>(cmd: &'a Command, name: &str) -> Option<&'a Arg> {
    if name.is_empty() {
        return None;
    }
    cmd.get_arguments().find(|a| {
        a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name))
    })
}

fn takes_value(arg: &Arg) -> bool {
    !matches!(
        arg.get_action(),
        ArgAction::SetTrue
            | ArgAction::SetFalse
            | ArgAction::Count
            | ArgAction::Help
            | ArgAction::HelpShort
            | ArgAction::HelpLong
            | ArgAction::Version
    )
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Convenience for tests and callers holding `&str`s.
pub fn normalize_strs<S: AsRef<OsStr>>(cmd: &Command, args: &[S]) -> Vec<String> {
    normalize(
        cmd,
        args.iter().map(|a| a.as_ref().to_os_string()).collect(),
    )
    .into_iter()
    .map(|a| a.to_string_lossy().into_owned())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn table() {
        let mut cmd = crate::Cli::command();
        cmd.build();
        let cases: &[(&str, &str)] = &[
            // single-dash long flags, with `=` and with a separate value
            (
                "vaultrs read -format=json secret/x",
                "vaultrs read --format=json secret/x",
            ),
            (
                "vaultrs read -format json secret/x",
                "vaultrs read --format=json secret/x",
            ),
            (
                "vaultrs read --format json secret/x",
                "vaultrs read --format=json secret/x",
            ),
            (
                "vaultrs kv get -field=password secret/x",
                "vaultrs kv get --field=password secret/x",
            ),
            (
                "vaultrs kv get -version=2 -mount=secret x",
                "vaultrs kv get --version=2 --mount=secret x",
            ),
            // global flags before the subcommand
            (
                "vaultrs -address http://a:1 status",
                "vaultrs --address=http://a:1 status",
            ),
            // booleans, Go style
            (
                "vaultrs secrets enable -local -path=x kv",
                "vaultrs secrets enable --local --path=x kv",
            ),
            (
                "vaultrs secrets enable -local=true kv",
                "vaultrs secrets enable --local kv",
            ),
            (
                "vaultrs secrets enable -local=false kv",
                "vaultrs secrets enable kv",
            ),
            (
                "vaultrs secrets enable -local=maybe kv",
                "vaultrs secrets enable --local=maybe kv",
            ),
            // short flags stay short
            ("vaultrs write -f sys/rotate", "vaultrs write -f sys/rotate"),
            (
                "vaultrs write -force sys/rotate",
                "vaultrs write --force sys/rotate",
            ),
            // stdin, negative numbers and data arguments are left alone
            ("vaultrs write secret/x -", "vaultrs write secret/x -"),
            (
                "vaultrs write secret/x k=-v a=-",
                "vaultrs write secret/x k=-v a=-",
            ),
            (
                "vaultrs kv put -cas=-1 secret/x a=b",
                "vaultrs kv put --cas=-1 secret/x a=b",
            ),
            (
                "vaultrs kv put -cas -1 secret/x a=b",
                "vaultrs kv put --cas=-1 secret/x a=b",
            ),
            // a value that looks like a flag is still the value
            (
                "vaultrs read -field -x secret/x",
                "vaultrs read --field=-x secret/x",
            ),
            // unknown flags are clap's to report
            ("vaultrs read -nope secret/x", "vaultrs read -nope secret/x"),
            // a flag of another command is unknown here
            (
                "vaultrs read -local secret/x",
                "vaultrs read -local secret/x",
            ),
            // after `--` nothing is touched
            (
                "vaultrs write secret/x -- -format=json",
                "vaultrs write secret/x -- -format=json",
            ),
            // the server's flags
            (
                "vaultrs server -dev -dev-root-token-id=root -dev-listen-address 127.0.0.1:0",
                "vaultrs server --dev --dev-root-token-id=root --dev-listen-address=127.0.0.1:0",
            ),
            // help and version
            ("vaultrs -help", "vaultrs --help"),
            ("vaultrs -version", "vaultrs --version"),
            ("vaultrs kv -help", "vaultrs kv --help"),
            // a positional equal to a subcommand name is a positional once one was seen
            ("vaultrs read secret/x get", "vaultrs read secret/x get"),
        ];
        for (input, want) in cases {
            let args: Vec<&str> = input.split(' ').collect();
            let got = normalize_strs(&cmd, &args).join(" ");
            assert_eq!(&got, want, "normalize({input:?})");
        }
    }
}
