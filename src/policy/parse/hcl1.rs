//! A parser for the HCL1 subset that policies use (Vault reads them with hashicorp/hcl v1,
//! whose syntax differs from HCL2's: several `key = value` on one line, commas between
//! items, quoted keys in `key { ... }` objects). Items are `key ["label"...] = value` or
//! `key ["label"...] { ... }`; values are strings, numbers, booleans, lists and objects;
//! comments are `#`, `//` and `/* */`. Nothing is evaluated. Nesting is capped at
//! [`MAX_DEPTH`], so the recursion is bounded.

use serde_json::{Map, Number, Value};

pub(super) const MAX_DEPTH: usize = 32;

pub(super) struct Item {
    pub keys: Vec<String>,
    pub value: Value,
}

/// The top-level items, in order (repeated keys are kept).
pub(super) fn parse(text: &str) -> Result<Vec<Item>, String> {
    let mut parser = Parser { text, pos: 0 };
    parser.items(false, 0).map_err(|msg| {
        let before = text.get(..parser.pos).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("line {line}, column {column}: {msg}")
    })
}

struct Parser<'a> {
    text: &'a str,
    /// Always on a character boundary.
    pos: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Skips whitespace and comments.
    fn skip(&mut self) -> Result<(), String> {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with('#') || trimmed.starts_with("//") {
                self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
            } else if let Some(body) = trimmed.strip_prefix("/*") {
                let end = body.find("*/").ok_or("unterminated comment")?;
                self.pos += end + 4;
            } else {
                return Ok(());
            }
        }
    }

    /// Items up to the end of input, or up to and including `}` when `in_object`.
    fn items(&mut self, in_object: bool, depth: usize) -> Result<Vec<Item>, String> {
        let mut items = Vec::new();
        loop {
            self.skip()?;
            match self.peek() {
                None if in_object => return Err("unexpected end of input, expected '}'".into()),
                None => return Ok(items),
                Some(b'}') if in_object => {
                    self.pos += 1;
                    return Ok(items);
                }
                _ => {}
            }
            items.push(self.item(depth)?);
            self.skip()?;
            if self.peek() == Some(b',') {
                self.pos += 1;
            }
        }
    }

    fn item(&mut self, depth: usize) -> Result<Item, String> {
        let mut keys = vec![self.key()?];
        loop {
            self.skip()?;
            match self.peek() {
                Some(b'=') if keys.len() == 1 => {
                    self.pos += 1;
                    let value = self.value(depth)?;
                    return Ok(Item { keys, value });
                }
                Some(b'{') => {
                    self.pos += 1;
                    let value = self.object(depth + 1)?;
                    return Ok(Item { keys, value });
                }
                Some(c) if c == b'"' || is_ident_start(c) => keys.push(self.key()?),
                _ if keys.len() > 1 => return Err("expected '{' after the labels".into()),
                _ => return Err("expected '=' or '{'".into()),
            }
        }
    }

    fn key(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(c) if is_ident_start(c) => Ok(self.ident().to_owned()),
            _ => Err("expected a key".into()),
        }
    }

    fn ident(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        self.skip()?;
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                self.object(depth + 1)
            }
            Some(b'[') => {
                self.pos += 1;
                self.list(depth + 1)
            }
            Some(b'"') => self.string().map(Value::String),
            Some(b'<') if self.rest().starts_with("<<") => {
                Err("heredocs are not supported in policies".into())
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => self.number(),
            Some(c) if is_ident_start(c) => match self.ident() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                other => Err(format!(
                    "unexpected {other:?}: only literal values are allowed"
                )),
            },
            Some(_) => {
                let c = self.rest().chars().next().unwrap_or_default();
                Err(format!("unexpected character {c:?}"))
            }
            None => Err("unexpected end of input, expected a value".into()),
        }
    }

    /// After `{`: the items up to `}` as an object; `a "b" { }` nests as `a = { b = { } }`.
    fn object(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        let mut map = Map::new();
        for item in self.items(true, depth)? {
            let mut keys = item.keys;
            let mut value = item.value;
            while keys.len() > 1 {
                let inner = keys.pop().unwrap_or_default();
                value = Value::Object(Map::from_iter([(inner, value)]));
            }
            let key = keys.pop().unwrap_or_default();
            if map.contains_key(&key) {
                return Err(format!("duplicate key {key:?}"));
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }

    /// After `[`: values separated by commas (a trailing comma is fine) up to `]`.
    fn list(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        let mut values = Vec::new();
        loop {
            self.skip()?;
            if self.peek() == Some(b']') {
                self.pos += 1;
                return Ok(Value::Array(values));
            }
            values.push(self.value(depth)?);
            self.skip()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {}
                _ => return Err("expected ',' or ']' in a list".into()),
            }
        }
    }

    /// A double-quoted string with Go-style escapes; it may not span lines.
    fn string(&mut self) -> Result<String, String> {
        let body = &self.rest()[1..];
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += 1 + i + 1;
                    return Ok(out);
                }
                '\n' => break,
                '\\' => {
                    let escaped = match chars.next().map(|(_, e)| e) {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('\'') => '\'',
                        Some('a') => '\u{7}',
                        Some('b') => '\u{8}',
                        Some('f') => '\u{c}',
                        Some('v') => '\u{b}',
                        Some(u @ ('u' | 'U')) => {
                            let len = if u == 'u' { 4 } else { 8 };
                            let hex: String = chars.by_ref().take(len).map(|(_, h)| h).collect();
                            u32::from_str_radix(&hex, 16)
                                .ok()
                                .filter(|_| hex.len() == len)
                                .and_then(char::from_u32)
                                .ok_or("invalid unicode escape in string")?
                        }
                        Some(other) => return Err(format!("invalid escape \\{other} in string")),
                        None => break,
                    };
                    out.push(escaped);
                }
                c => out.push(c),
            }
        }
        Err("unterminated string".into())
    }

    fn number(&mut self) -> Result<Value, String> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')))
            .unwrap_or(rest.len());
        let token = &rest[..len];
        let value = match token.parse::<i64>() {
            Ok(i) => Value::Number(i.into()),
            Err(_) => token
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("invalid number {token:?}"))?,
        };
        self.pos += len;
        Ok(value)
    }
}
