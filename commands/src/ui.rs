//! The terminal a command talks to: output and error streams, standard input, the
//! environment, the output format and the prompter. Everything a command reads from or
//! writes to the outside world goes through [`Ui`], so tests build one with captured
//! buffers, a fixed environment and scripted answers.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Read, Write};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};

use crate::output::Format;

/// A snapshot of the environment variables the CLI reads (`VAULT_TOKEN`, `HOME`, ...).
#[derive(Clone, Debug, Default)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    /// The variables of this process.
    pub fn from_process() -> Self {
        Env(std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect())
    }

    /// An environment with exactly these variables.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env(pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect())
    }

    /// The value of `name`, if it is set and not empty (as Vault reads its variables).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_string(), value.to_string());
    }
}

/// Asks the user questions. The terminal implementation uses `dialoguer`; tests script it.
pub trait Prompter {
    /// A yes/no question; `default` is the answer on a bare Enter.
    fn confirm(&mut self, question: &str, default: bool) -> Result<bool>;
    /// A secret read without echo.
    fn secret(&mut self, question: &str) -> Result<String>;
    /// A line of text; `default` is the answer on a bare Enter.
    fn input(&mut self, question: &str, default: &str) -> Result<String>;
}

/// Prompts on the controlling terminal with `dialoguer`.
pub struct TerminalPrompter;

impl Prompter for TerminalPrompter {
    fn confirm(&mut self, question: &str, default: bool) -> Result<bool> {
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(default)
            .interact()
            .context("Error reading the answer from the terminal")
    }

    fn secret(&mut self, question: &str) -> Result<String> {
        dialoguer::Password::new()
            .with_prompt(question)
            .allow_empty_password(true)
            .interact()
            .context("Error reading from the terminal")
    }

    fn input(&mut self, question: &str, default: &str) -> Result<String> {
        dialoguer::Input::<String>::new()
            .with_prompt(question)
            .default(default.to_string())
            .interact_text()
            .context("Error reading from the terminal")
    }
}

/// Answers prompts from a script, for tests. Running out of answers is an error, never a hang.
#[derive(Default)]
pub struct ScriptedPrompter {
    pub answers: std::collections::VecDeque<String>,
    /// Every question asked, in order.
    pub asked: Arc<Mutex<Vec<String>>>,
}

impl ScriptedPrompter {
    fn next(&mut self, question: &str) -> Result<String> {
        self.asked.lock().unwrap().push(question.to_string());
        match self.answers.pop_front() {
            Some(a) => Ok(a),
            None => bail!("no scripted answer for prompt {question:?}"),
        }
    }
}

impl Prompter for ScriptedPrompter {
    fn confirm(&mut self, question: &str, default: bool) -> Result<bool> {
        let a = self.next(question)?;
        Ok(match a.trim().to_ascii_lowercase().as_str() {
            "" => default,
            "y" | "yes" => true,
            _ => false,
        })
    }

    fn secret(&mut self, question: &str) -> Result<String> {
        self.next(question)
    }

    fn input(&mut self, question: &str, default: &str) -> Result<String> {
        let a = self.next(question)?;
        Ok(if a.trim().is_empty() {
            default.to_string()
        } else {
            a.trim().to_string()
        })
    }
}

/// An in-memory writer whose contents the test reads back after the command ran.
#[derive(Clone, Default)]
pub struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Everything a command may touch outside its arguments.
pub struct Ui {
    pub out: Box<dyn Write>,
    pub err: Box<dyn Write>,
    pub stdin: Box<dyn Read>,
    /// Standard output is a terminal: raw `-field` values get a newline, progress is drawn.
    pub stdout_is_terminal: bool,
    /// Standard error is a terminal: snapshot progress bars are drawn there.
    pub stderr_is_terminal: bool,
    /// A person can answer prompts (standard input and standard error are terminals).
    pub interactive: bool,
    pub env: Env,
    pub format: Format,
    pub prompter: Box<dyn Prompter>,
}

impl Ui {
    /// The process's own streams and environment.
    pub fn terminal() -> Self {
        let stdin_tty = io::stdin().is_terminal();
        let stderr_tty = io::stderr().is_terminal();
        Ui {
            out: Box::new(io::stdout()),
            err: Box::new(io::stderr()),
            stdin: Box::new(io::stdin()),
            stdout_is_terminal: io::stdout().is_terminal(),
            stderr_is_terminal: stderr_tty,
            interactive: stdin_tty && stderr_tty,
            env: Env::from_process(),
            format: Format::Table,
            prompter: Box::new(TerminalPrompter),
        }
    }

    /// A Ui with captured output, the given stdin bytes, no terminal and no answers.
    pub fn captured(env: Env, stdin: &[u8]) -> (Self, SharedBuf, SharedBuf) {
        let out = SharedBuf::default();
        let err = SharedBuf::default();
        let ui = Ui {
            out: Box::new(out.clone()),
            err: Box::new(err.clone()),
            stdin: Box::new(io::Cursor::new(stdin.to_vec())),
            stdout_is_terminal: false,
            stderr_is_terminal: false,
            interactive: false,
            env,
            format: Format::Table,
            prompter: Box::new(ScriptedPrompter::default()),
        };
        (ui, out, err)
    }

    /// Writes a line to standard output.
    pub fn info(&mut self, line: impl AsRef<str>) {
        let _ = writeln!(self.out, "{}", line.as_ref());
    }

    /// Writes text to standard output with no newline added.
    pub fn raw(&mut self, text: impl AsRef<str>) {
        let _ = write!(self.out, "{}", text.as_ref());
    }

    /// Writes a line to standard error.
    pub fn error(&mut self, line: impl AsRef<str>) {
        let _ = writeln!(self.err, "{}", line.as_ref());
    }

    /// Reads all of standard input.
    pub fn read_stdin(&mut self) -> Result<String> {
        let mut s = String::new();
        self.stdin
            .read_to_string(&mut s)
            .context("Error reading from stdin")?;
        Ok(s)
    }

    /// Reads one secret: from the terminal without echo when there is one, otherwise one
    /// line of standard input. An empty standard input is an error, never a wait.
    pub fn read_secret(&mut self, question: &str, non_interactive: bool) -> Result<String> {
        if non_interactive {
            bail!("{question} was not given and -non-interactive forbids asking for it");
        }
        if self.interactive {
            return self.prompter.secret(question);
        }
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match self.stdin.read(&mut byte)? {
                0 => break,
                _ if byte[0] == b'\n' => break,
                _ => line.push(byte[0]),
            }
        }
        let line = String::from_utf8(line).context("stdin is not UTF-8")?;
        let line = line.trim_end_matches('\r').to_string();
        if line.is_empty() {
            bail!("{question} was not given, and there is no terminal to ask for it");
        }
        Ok(line)
    }
}
