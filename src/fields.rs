//! Typed reads of request fields, with Vault's leniency: numbers and booleans may come as
//! strings, durations as seconds or Go-style strings, lists as arrays or comma-separated
//! strings. A field of the wrong type is a 400 naming the field, never a panic.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::logical::{parse_ttl, ttl_from_json};

/// Request data: a JSON object's fields.
pub type Data = Map<String, Value>;

/// A string field; numbers and booleans count as their text.
pub fn string(data: &Data, name: &str) -> Option<String> {
    match data.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A string field that is present and not empty.
pub fn non_empty(data: &Data, name: &str) -> Option<String> {
    string(data, name).filter(|s| !s.is_empty())
}

/// An integer given as a number or a numeric string ("" counts as absent).
pub fn integer(data: &Data, name: &str) -> Result<Option<i64>> {
    let bad = || Error::invalid(format!("{name} must be an integer"));
    match data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// A boolean given as a bool, a number, or Go's `strconv.ParseBool` spellings.
pub fn boolean(data: &Data, name: &str) -> Result<Option<bool>> {
    let bad = || Error::invalid(format!("{name} must be a boolean"));
    match data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) => Ok(Some(n.as_f64() != Some(0.0))),
        Some(Value::String(s)) => match s.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(Some(true)),
            "0" | "f" | "F" | "false" | "FALSE" | "False" | "" => Ok(Some(false)),
            _ => Err(bad()),
        },
        Some(_) => Err(bad()),
    }
}

/// A TTL: seconds as a number, or a string (`"90"`, `"1h30m"`, `"500ms"`), in whole
/// seconds rounded up and saturating at [`crate::logical::MAX_TTL`] (see
/// [`crate::logical::parse_ttl`]).
pub fn duration(data: &Data, name: &str) -> Result<Option<Duration>> {
    match data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Number(_)) => ttl_from_json(v)
            .map(Some)
            .ok_or_else(|| Error::invalid(format!("{name} must be a non-negative duration"))),
        Some(Value::String(s)) => parse_ttl(s)
            .map(Some)
            .ok_or_else(|| Error::invalid(format!("{name}: invalid duration {s:?}"))),
        Some(_) => Err(Error::invalid(format!("{name} must be a duration"))),
    }
}

/// A list of strings: an array of strings, or one comma-separated string.
pub fn string_list(data: &Data, name: &str) -> Result<Option<Vec<String>>> {
    match data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(|s| s.trim().to_owned()))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| Error::invalid(format!("{name} must be a list of strings"))),
        Some(_) => Err(Error::invalid(format!("{name} must be a list of strings"))),
    }
}

/// A map of string options (`options` of mounts and audit devices): numbers and booleans
/// count as their text, nulls are dropped; other values are a 400 naming the option.
pub fn string_map(
    data: &Data,
    name: &str,
) -> Result<Option<std::collections::BTreeMap<String, String>>> {
    match data.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => {
            let mut out = std::collections::BTreeMap::new();
            for (k, v) in map {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => continue,
                    _ => return Err(Error::invalid(format!("option {k:?} must be a string"))),
                };
                out.insert(k.clone(), v);
            }
            Ok(Some(out))
        }
        Some(_) => Err(Error::invalid(format!("{name} must be a map"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(v: Value) -> Data {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn lenient_but_typed() {
        let d = data(json!({
            "s": "x", "n": 5, "b": "True", "bn": 0, "d": "1h", "ds": 30,
            "l": "a, b,,c", "la": ["x", "y"], "bad": {"o": 1}, "e": ""
        }));
        assert_eq!(string(&d, "n").as_deref(), Some("5"));
        assert_eq!(non_empty(&d, "e"), None);
        assert_eq!(integer(&d, "n").unwrap(), Some(5));
        assert_eq!(integer(&d, "e").unwrap(), None);
        assert!(integer(&d, "s").is_err());
        assert_eq!(boolean(&d, "b").unwrap(), Some(true));
        assert_eq!(boolean(&d, "bn").unwrap(), Some(false));
        assert!(boolean(&d, "s").is_err());
        assert_eq!(duration(&d, "d").unwrap(), Some(Duration::from_secs(3600)));
        assert_eq!(duration(&d, "ds").unwrap(), Some(Duration::from_secs(30)));
        assert!(duration(&d, "bad").is_err());
        assert_eq!(string_list(&d, "l").unwrap().unwrap(), ["a", "b", "c"]);
        assert_eq!(string_list(&d, "la").unwrap().unwrap(), ["x", "y"]);
        assert!(string_list(&d, "bad").is_err());
        assert_eq!(string_list(&d, "missing").unwrap(), None);
        let m = data(json!({"o": {"a": "x", "n": 1, "b": true, "z": null}, "bad": {"o": [1]}}));
        let o = string_map(&m, "o").unwrap().unwrap();
        assert_eq!(
            o.into_iter().collect::<Vec<_>>(),
            [
                ("a".into(), "x".into()),
                ("b".into(), "true".into()),
                ("n".into(), "1".into())
            ]
        );
        assert!(string_map(&m, "bad").is_err());
        assert!(string_map(&d, "s").is_err());
        assert_eq!(string_map(&m, "missing").unwrap(), None);
    }
}
