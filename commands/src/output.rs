//! Output in Vault's three formats.
//!
//! - `table`: aligned columns as Vault's CLI prints them (`Key    Value`, four spaces between
//!   columns, empty cells shown as `n/a`, TTL-like fields as durations such as `768h`).
//! - `json`: what Vault's Go CLI prints: `json.MarshalIndent` with two spaces, struct fields in
//!   Vault's order, map keys sorted, and `<`, `>`, `&` escaped as `\u003c`, `\u003e`, `\u0026`.
//! - `yaml`: the same value as YAML, keys sorted.

use std::fmt::Write as _;

use anyhow::{bail, Result};
use serde::Serialize;
use serde_json::Value;

use crate::api::Secret;
use crate::ui::Ui;
use crate::Exit;

/// The output format (`-format`, `VAULT_FORMAT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned key/value tables, for people.
    #[default]
    Table,
    /// JSON, as Vault prints it.
    Json,
    /// YAML.
    #[value(alias = "yml")]
    Yaml,
}

/// Vault wraps its prose at this width.
const MAX_LINE_LENGTH: usize = 78;

// ---------------------------------------------------------------------------------------------
// JSON

/// Serializes `value` as Go's `json.MarshalIndent(v, "", "  ")` does.
pub fn to_go_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, GoFormatter::default());
    value.serialize(&mut ser)?;
    Ok(String::from_utf8(buf)?)
}

/// serde_json's pretty printer with Go's HTML-safe string escaping.
#[derive(Default)]
struct GoFormatter {
    inner: serde_json::ser::PrettyFormatter<'static>,
}

macro_rules! delegate {
    ($($name:ident ( $($arg:ident : $ty:ty),* );)*) => {
        $(fn $name<W: ?Sized + std::io::Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> std::io::Result<()> {
            self.inner.$name(w $(, $arg)*)
        })*
    };
}

impl serde_json::ser::Formatter for GoFormatter {
    delegate! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        end_object_key();
        begin_object_value();
        end_object_value();
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            w.write_all(&fragment.as_bytes()[start..i])?;
            w.write_all(esc.as_bytes())?;
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

/// A JSON value whose objects serialize with their keys sorted, as Go marshals maps.
pub struct Sorted<'a>(pub &'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut map = s.serialize_map(Some(keys.len()))?;
                for k in keys {
                    map.serialize_entry(k, &Sorted(&m[k]))?;
                }
                map.end()
            }
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&Sorted(v))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

/// Serde helper: serialize an optional JSON object with sorted keys.
pub fn serialize_sorted_map<S: serde::Serializer>(
    v: &Option<serde_json::Map<String, Value>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        Some(m) => Sorted(&Value::Object(m.clone())).serialize(s),
    }
}

// ---------------------------------------------------------------------------------------------
// YAML

/// YAML of any serializable value, keys sorted (Vault converts its JSON to YAML).
pub fn to_yaml<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let v = serde_json::to_value(value)?;
    let s = serde_yaml_ng::to_string(&Sorted(&v))?;
    Ok(s.trim().to_string())
}

// ---------------------------------------------------------------------------------------------
// Go's %v and durations

/// Formats a decoded JSON value as Go's `fmt.Sprintf("%v", v)` does.
pub fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_value).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", go_value(&m[k])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub fn go_quoted_list(items: &[String]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_default())
        .collect();
    format!("[{}]", parts.join(" "))
}

/// Seconds as Vault prints durations: `768h`, `1h30m`, `45s`, `0s`.
pub fn human_duration(secs: i64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let neg = secs < 0;
    let mut rest = secs.unsigned_abs();
    let h = rest / 3600;
    rest %= 3600;
    let m = rest / 60;
    let s = rest % 60;
    // Go's Duration.String(), then Vault drops the "0s" and "0m" tails.
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if h > 0 {
        let _ = write!(out, "{h}h{m}m{s}s");
    } else if m > 0 {
        let _ = write!(out, "{m}m{s}s");
    } else {
        let _ = write!(out, "{s}s");
    }
    if out.ends_with("m0s") {
        out.truncate(out.len() - 2);
    }
    if let Some(idx) = out.find("h0m") {
        if idx > 0 {
            out.replace_range(idx + 1..idx + 3, "");
        }
    }
    out
}

/// Whether Vault prints this field as a duration.
pub fn looks_like_duration(k: &str) -> bool {
    k == "period"
        || k.ends_with("_period")
        || k == "ttl"
        || k.ends_with("_ttl")
        || k == "duration"
        || k.ends_with("_duration")
        || k == "lease_max"
        || k == "ttl_max"
}

/// A table cell for field `k`: durations for integer TTL-like fields, `%v` otherwise.
fn cell(k: &str, v: &Value) -> String {
    if looks_like_duration(k) {
        if let Some(i) = v.as_i64() {
            return human_duration(i);
        }
    }
    go_value(v)
}

/// An RFC 3339 timestamp as Go's `time.Time.String()` prints it
/// (`2024-01-02 03:04:05.123 +0000 UTC`). Unparseable input is returned unchanged.
pub fn go_time_string(rfc3339: &str) -> String {
    let s = rfc3339.trim();
    if s.len() < 20 || s.as_bytes().get(10) != Some(&b'T') {
        return s.to_string();
    }
    let (date, rest) = s.split_at(10);
    let rest = &rest[1..];
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let mut clock = clock.to_string();
    if let Some(dot) = clock.find('.') {
        let frac = clock[dot + 1..].trim_end_matches('0').to_string();
        clock.truncate(dot);
        if !frac.is_empty() {
            clock.push('.');
            clock.push_str(&frac);
        }
    }
    let zone = match zone {
        "Z" | "z" | "" => "+0000 UTC".to_string(),
        z => {
            let off = z.replace(':', "");
            format!("{off} {off}")
        }
    };
    format!("{date} {clock} {zone}")
}

// ---------------------------------------------------------------------------------------------
// Tables

/// Lays out rows as Vault's `columnize` does: cells trimmed, empty cells shown as `n/a`,
/// columns padded to their widest cell and joined by four spaces; the last column unpadded.
pub fn columns(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| {
                    let t = c.trim();
                    if t.is_empty() {
                        "n/a".to_string()
                    } else {
                        t.to_string()
                    }
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = Vec::new();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            let w = c.chars().count();
            if widths.len() <= i {
                widths.push(w);
            } else if widths[i] < w {
                widths[i] = w;
            }
        }
    }
    let mut out = String::new();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                out.push_str(c);
            } else {
                out.push_str(c);
                let pad = widths[i] - c.chars().count();
                out.extend(std::iter::repeat_n(' ', pad + 4));
            }
        }
        out.push('\n');
    }
    out.pop();
    out
}

/// A table with a header row and a dashed underline, as Vault's `tableOutput`.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut all = Vec::with_capacity(rows.len() + 2);
    all.push(header.iter().map(|h| h.to_string()).collect());
    all.push(header.iter().map(|h| "-".repeat(h.len())).collect());
    all.extend(rows);
    columns(&all)
}

/// Wraps prose at Vault's line length, indenting every line by `pad` spaces.
pub fn wrap_at_length(s: &str, pad: usize) -> String {
    let width = MAX_LINE_LENGTH.saturating_sub(pad);
    let mut lines = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    let indent = " ".repeat(pad);
    lines
        .into_iter()
        .map(|l| format!("{indent}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Prints the warnings of a response to standard error, as Vault's table output does.
pub fn print_warnings(ui: &mut Ui, warnings: Option<&Vec<String>>) {
    if let Some(ws) = warnings.filter(|w| !w.is_empty()) {
        ui.error("WARNING! The following warnings were returned from Vault:\n");
        for w in ws {
            ui.error(wrap_at_length(&format!("* {w}"), 2));
            ui.error("");
        }
    }
}

/// The `Key Value` rows Vault prints for a response.
pub fn secret_rows(secret: &Secret) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let row = |k: &str, v: String| vec![k.to_string(), v];
    if secret.lease_duration > 0 {
        if !secret.lease_id.is_empty() {
            out.push(row("lease_id", secret.lease_id.clone()));
            out.push(row("lease_duration", human_duration(secret.lease_duration)));
            out.push(row("lease_renewable", secret.renewable.to_string()));
        } else {
            out.push(row(
                "refresh_interval",
                human_duration(secret.lease_duration),
            ));
        }
    }
    if let Some(auth) = &secret.auth {
        out.push(row("token", auth.client_token.clone()));
        out.push(row("token_accessor", auth.accessor.clone()));
        out.push(row(
            "token_duration",
            if auth.lease_duration == 0 {
                "∞".to_string()
            } else {
                human_duration(auth.lease_duration)
            },
        ));
        out.push(row("token_renewable", auth.renewable.to_string()));
        let list = |l: &Option<Vec<String>>| go_quoted_list(l.as_deref().unwrap_or(&[]));
        out.push(row("token_policies", list(&auth.token_policies)));
        out.push(row("identity_policies", list(&auth.identity_policies)));
        out.push(row("policies", list(&auth.policies)));
        if let Some(meta) = &auth.metadata {
            for (k, v) in meta {
                out.push(row(&format!("token_meta_{k}"), go_value(v)));
            }
        }
    }
    if let Some(w) = &secret.wrap_info {
        out.push(row("wrapping_token:", w.token.clone()));
        out.push(row("wrapping_accessor:", w.accessor.clone()));
        out.push(row("wrapping_token_ttl:", human_duration(w.ttl)));
        out.push(row(
            "wrapping_token_creation_time:",
            go_time_string(&w.creation_time),
        ));
        out.push(row(
            "wrapping_token_creation_path:",
            w.creation_path.clone(),
        ));
        if !w.wrapped_accessor.is_empty() {
            out.push(row("wrapped_accessor:", w.wrapped_accessor.clone()));
        }
    }
    if let Some(data) = &secret.data {
        let mut keys: Vec<&String> = data.keys().collect();
        keys.sort();
        for k in keys {
            out.push(row(k, cell(k, &data[k])));
        }
    }
    out
}

/// Prints a whole response in the chosen format (Vault's `OutputSecret`).
pub fn output_secret(ui: &mut Ui, secret: &Secret) -> Result<()> {
    match ui.format {
        Format::Table => {
            print_warnings(ui, secret.warnings.as_ref());
            let rows = secret_rows(secret);
            if !rows.is_empty() {
                ui.info(table(&["Key", "Value"], rows));
            }
        }
        Format::Json => {
            let s = to_go_json(secret)?;
            ui.info(s);
        }
        Format::Yaml => {
            let s = to_yaml(secret)?;
            ui.info(s);
        }
    }
    Ok(())
}

/// Prints a map or list in the chosen format (Vault's `OutputData`).
pub fn output_data(ui: &mut Ui, data: &Value) -> Result<()> {
    match ui.format {
        Format::Table => match data {
            Value::Object(m) => {
                if m.is_empty() {
                    return Ok(());
                }
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let rows = keys
                    .into_iter()
                    .map(|k| vec![k.clone(), cell(k, &m[k])])
                    .collect();
                ui.info(table(&["Key", "Value"], rows));
            }
            Value::Array(a) => {
                let rows: Vec<Vec<String>> = a.iter().map(|v| vec![go_value(v)]).collect();
                if !rows.is_empty() {
                    ui.info(columns(&rows));
                }
            }
            other => ui.info(go_value(other)),
        },
        Format::Json => {
            let s = to_go_json(&Sorted(data))?;
            ui.info(s);
        }
        Format::Yaml => {
            let s = to_yaml(data)?;
            ui.info(s);
        }
    }
    Ok(())
}

/// Prints the `keys` of a list response (Vault's `OutputList`).
pub fn output_list(ui: &mut Ui, secret: &Secret) -> Result<()> {
    let keys = secret
        .data
        .as_ref()
        .and_then(|d| d.get("keys"))
        .cloned()
        .unwrap_or(Value::Null);
    match ui.format {
        Format::Table => {
            print_warnings(ui, secret.warnings.as_ref());
            let Value::Array(items) = &keys else {
                bail!("error: table formatter cannot output list for this data type");
            };
            let mut names: Vec<String> = Vec::with_capacity(items.len());
            for v in items {
                match v {
                    Value::String(s) => names.push(s.clone()),
                    other => bail!("{} is not a string", go_value(other)),
                }
            }
            names.sort();
            if !names.is_empty() {
                let rows = names.into_iter().map(|n| vec![n]).collect();
                ui.info(table(&["Keys"], rows));
            }
            Ok(())
        }
        _ => output_data(ui, &keys),
    }
}

/// The value `-field` selects from a response, as Vault's `RawField` does: token fields
/// from `auth`, wrapping fields from `wrap_info`, envelope fields, else a key of `data`.
pub fn raw_field(secret: &Secret, field: &str) -> Option<Value> {
    let data_field = |f: &str| secret.data.as_ref().and_then(|d| d.get(f)).cloned();
    let strings = |l: &Option<Vec<String>>| -> Value {
        match l {
            None => Value::Null,
            Some(l) => Value::from(l.clone()),
        }
    };
    let v = if let Some(a) = &secret.auth {
        match field {
            "token" => Value::from(a.client_token.clone()),
            "token_accessor" => Value::from(a.accessor.clone()),
            "token_duration" => Value::from(a.lease_duration),
            "token_renewable" => Value::from(a.renewable),
            "token_policies" => strings(&a.token_policies),
            "identity_policies" => strings(&a.identity_policies),
            "policies" => strings(&a.policies),
            f => data_field(f).unwrap_or(Value::Null),
        }
    } else if let Some(w) = &secret.wrap_info {
        match field {
            "wrapping_token" => Value::from(w.token.clone()),
            "wrapping_accessor" => Value::from(w.accessor.clone()),
            "wrapping_token_ttl" => Value::from(w.ttl),
            "wrapping_token_creation_time" => Value::from(w.creation_time.clone()),
            "wrapping_token_creation_path" => Value::from(w.creation_path.clone()),
            "wrapped_accessor" => Value::from(w.wrapped_accessor.clone()),
            f => data_field(f).unwrap_or(Value::Null),
        }
    } else {
        match field {
            "lease_duration" | "refresh_interval" => Value::from(secret.lease_duration),
            "lease_id" => Value::from(secret.lease_id.clone()),
            "request_id" => Value::from(secret.request_id.clone()),
            "renewable" => Value::from(secret.renewable),
            "data" => data_field("data").unwrap_or_else(|| match &secret.data {
                Some(d) => Value::Object(d.clone()),
                None => Value::Null,
            }),
            f => data_field(f).unwrap_or(Value::Null),
        }
    };
    (!v.is_null()).then_some(v)
}

/// Prints one field of a response or map (`-field`). Table format prints the bare value,
/// with a newline only when standard output is a terminal, so `$(vaultrs ... -field=x)`
/// and pipes get the exact bytes.
pub fn print_field(ui: &mut Ui, value: Option<Value>, field: &str) -> Result<()> {
    let Some(v) = value else {
        return Err(Exit::local(format!("Field {field:?} not present in secret")).into());
    };
    let text = match ui.format {
        Format::Table => go_value(&v),
        Format::Json => to_go_json(&Sorted(&v))?,
        Format::Yaml => to_yaml(&v)?,
    };
    if ui.stdout_is_terminal {
        ui.info(text);
    } else {
        ui.raw(text);
    }
    Ok(())
}

/// `-field` on a whole response.
pub fn print_secret_field(ui: &mut Ui, secret: &Secret, field: &str) -> Result<()> {
    print_field(ui, raw_field(secret, field), field)
}

/// `-field` on a plain map.
pub fn print_map_field(ui: &mut Ui, map: &Value, field: &str) -> Result<()> {
    print_field(ui, map.get(field).filter(|v| !v.is_null()).cloned(), field)
}

/// A section header padded with equal signs (`====== Data ======`), as `vault kv get`.
pub fn pad_equal_signs(header: &str, total_len: usize) -> String {
    let mut n = total_len as isize - (header.len() as isize + 2);
    if n <= 0 {
        n = 4;
    }
    if n % 2 != 0 {
        n += 1;
    }
    let side = "=".repeat((n / 2) as usize);
    format!("{side} {header} {side}")
}

/// The header for a map section: as wide as the longest key plus the columns.
pub fn header_for_map(header: &str, data: &serde_json::Map<String, Value>) -> String {
    let max_key = data.keys().map(|k| k.len()).max().unwrap_or(0);
    pad_equal_signs(header, max_key + 4 + 5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn human_durations() {
        for (secs, want) in [
            (0, "0s"),
            (45, "45s"),
            (60, "1m"),
            (90, "1m30s"),
            (3600, "1h"),
            (3660, "1h1m"),
            (3601, "1h1s"),
            (2764800, "768h"),
            (-30, "-30s"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn go_values() {
        for (v, want) in [
            (json!(null), "<nil>"),
            (json!("s"), "s"),
            (json!(12), "12"),
            (json!(true), "true"),
            (json!(["a", "b"]), "[a b]"),
            (json!({"version": "2", "a": 1}), "map[a:1 version:2]"),
            (json!({}), "map[]"),
        ] {
            assert_eq!(go_value(&v), want);
        }
        assert_eq!(
            go_quoted_list(&["default".into(), "a\"b".into()]),
            r#"["default" "a\"b"]"#
        );
        assert_eq!(go_quoted_list(&[]), "[]");
    }

    #[test]
    fn go_json_escapes_like_go() {
        let v = json!({"b": "<a&b>", "a": [1, {"z": null, "y": "\u{2028}"}], "e": {}, "l": []});
        let got = to_go_json(&Sorted(&v)).unwrap();
        let want = "{\n  \"a\": [\n    1,\n    {\n      \"y\": \"\\u2028\",\n      \"z\": null\n    }\n  ],\n  \"b\": \"\\u003ca\\u0026b\\u003e\",\n  \"e\": {},\n  \"l\": []\n}";
        assert_eq!(got, want);
    }

    #[test]
    fn columnize_like_vault() {
        let got = table(
            &["Key", "Value"],
            vec![
                vec!["refresh_interval".into(), "768h".into()],
                vec!["foo".into(), "".into()],
            ],
        );
        assert_eq!(
            got,
            "Key                 Value\n---                 -----\nrefresh_interval    768h\nfoo                 n/a"
        );
    }

    #[test]
    fn equal_sign_headers() {
        assert_eq!(
            pad_equal_signs("Secret Path", "secret/data/hello".len()),
            "== Secret Path =="
        );
        assert_eq!(
            pad_equal_signs("Secret Path", "secret/data/foo".len()),
            "= Secret Path ="
        );
        assert_eq!(
            pad_equal_signs("Secret Path", "kv/data/a".len()),
            "== Secret Path =="
        );
        let m = json!({"created_time": 1, "version": 2});
        assert_eq!(
            header_for_map("Metadata", m.as_object().unwrap()),
            "====== Metadata ======"
        );
        let d = json!({"foo": "bar"});
        assert_eq!(
            header_for_map("Data", d.as_object().unwrap()),
            "=== Data ==="
        );
    }

    #[test]
    fn go_times() {
        assert_eq!(
            go_time_string("2024-01-02T03:04:05.120000Z"),
            "2024-01-02 03:04:05.12 +0000 UTC"
        );
        assert_eq!(
            go_time_string("2016-09-28T14:41:00.56961496-04:00"),
            "2016-09-28 14:41:00.56961496 -0400 -0400"
        );
        assert_eq!(go_time_string("garbage"), "garbage");
    }

    #[test]
    fn wrapping() {
        let long = "word ".repeat(30);
        let w = wrap_at_length(long.trim(), 2);
        assert!(w.lines().all(|l| l.len() <= 78 && l.starts_with("  ")));
    }
}
