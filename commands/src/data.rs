//! Data arguments, as Vault's CLI reads them:
//!
//! - `key=value`; a repeated key collects its values into a list;
//! - `key=@file` reads the value from a file (`key=\@x` is the literal `@x`);
//! - `key=-` reads the value from standard input;
//! - `-` alone reads a JSON object from standard input and merges it in.
//!
//! Standard input can be consumed once.

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};

use crate::ui::Ui;
use crate::Exit;

/// Parses data arguments into a JSON object.
pub fn parse(ui: &mut Ui, args: &[String]) -> Result<Map<String, Value>> {
    parse_inner(ui, args)
        .map_err(|e| Exit::local(format!("Failed to parse K=V data: {e:#}")).into())
}

fn parse_inner(ui: &mut Ui, args: &[String]) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    let mut stdin_used = false;
    for raw in args {
        if raw.is_empty() {
            continue;
        }
        let Some((key, value)) = raw.split_once('=') else {
            if raw == "-" {
                if stdin_used {
                    bail!("stdin already consumed");
                }
                stdin_used = true;
                let text = ui.read_stdin()?;
                let obj: Map<String, Value> =
                    serde_json::from_str(&text).context("stdin is not a JSON object")?;
                out.extend(obj);
                continue;
            }
            bail!("format must be key=value");
        };
        let value = if let Some(file) = value.strip_prefix('@') {
            std::fs::read_to_string(file).with_context(|| format!("error reading file {file}"))?
        } else if let Some(lit) = value.strip_prefix("\\@") {
            format!("@{lit}")
        } else if value == "-" {
            if stdin_used {
                bail!("stdin already consumed");
            }
            stdin_used = true;
            ui.read_stdin()?
        } else {
            value.to_string()
        };
        match out.get_mut(key) {
            Some(Value::Array(list)) => list.push(Value::String(value)),
            Some(existing) => {
                let prev = existing.take();
                *existing = Value::Array(vec![prev, Value::String(value)]);
            }
            None => {
                out.insert(key.to_string(), Value::String(value));
            }
        }
    }
    Ok(out)
}

/// Parses `key=value` pairs whose values must be strings (auth configuration, options).
pub fn parse_strings(ui: &mut Ui, args: &[String]) -> Result<Map<String, Value>> {
    let m = parse(ui, args)?;
    for (k, v) in &m {
        if !v.is_string() {
            return Err(Exit::local(format!(
                "Failed to parse K=V data: the value of {k:?} must be a single string"
            ))
            .into());
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::Env;
    use serde_json::json;

    fn run(args: &[&str], stdin: &str) -> Result<Value> {
        let (mut ui, _, _) = Ui::captured(Env::default(), stdin.as_bytes());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse(&mut ui, &args).map(Value::Object)
    }

    #[test]
    fn table() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v.txt");
        std::fs::write(&file, "from-file\n").unwrap();
        let at_file = format!("k=@{}", file.display());
        let cases: Vec<(Vec<&str>, &str, Value)> = vec![
            (vec!["a=b", "c=d"], "", json!({"a": "b", "c": "d"})),
            (vec!["a=b=c"], "", json!({"a": "b=c"})),
            (vec!["a=-v"], "", json!({"a": "-v"})),
            (vec!["a="], "", json!({"a": ""})),
            (vec!["a=1", "a=2", "a=3"], "", json!({"a": ["1", "2", "3"]})),
            (vec![&at_file], "", json!({"k": "from-file\n"})),
            (vec!["k=\\@lit"], "", json!({"k": "@lit"})),
            (vec!["k=-"], "s3cr3t", json!({"k": "s3cr3t"})),
            (
                vec!["-"],
                r#"{"a": 1, "b": {"c": true}}"#,
                json!({"a": 1, "b": {"c": true}}),
            ),
            (
                vec!["-", "x=y"],
                r#"{"a": "1"}"#,
                json!({"a": "1", "x": "y"}),
            ),
            (vec![""], "", json!({})),
        ];
        for (args, stdin, want) in cases {
            assert_eq!(run(&args, stdin).unwrap(), want, "{args:?}");
        }
    }

    #[test]
    fn errors() {
        for (args, stdin, want) in [
            (vec!["novalue"], "", "format must be key=value"),
            (vec!["k=-", "j=-"], "x", "stdin already consumed"),
            (vec!["-"], "[1]", "stdin is not a JSON object"),
            (vec!["k=@/nonexistent/file"], "", "error reading file"),
        ] {
            let e = run(&args, stdin).unwrap_err();
            let msg = format!("{e:#}");
            assert!(msg.starts_with("Failed to parse K=V data: "), "{msg}");
            assert!(msg.contains(want), "{args:?}: {msg}");
            assert_eq!(crate::exit_code(&e), 1);
        }
    }
}
