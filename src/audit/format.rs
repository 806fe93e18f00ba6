//! An [`Entry`] as one JSON line of one device: hashing, list elision and Vault's shape
//! (OpenBao `audit/format.go`, `hashstructure.go`).
//!
//! Nothing is copied: the line is serialized straight from the borrowed entry through
//! small view types that hash string leaves on the way out.
//!
//! HMAC rules (unless `log_raw`): the calling token and the request's token are hashed;
//! accessors are hashed when `hmac_accessor` (the default); the wrapping token always and
//! its accessors with `hmac_accessor`; every string leaf of `request.data` and
//! `response.data`, at any depth, except where the nearest enclosing object key is one of
//! the mount's non-HMAC keys. Object keys, numbers, booleans and nulls are written as they
//! are. That "nearest key" rule is Vault's (`hashWalker` checks the innermost map key), so
//! an exempt key also exempts strings in a list under it and in nested objects' fields of
//! the same name.

use std::borrow::Cow;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::entry::{is_false, is_zero_i64, Auth, Entry, EntryKind, Request, Response, WrapInfo};
use super::hash::Salt;

/// How a device writes its lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormatConfig {
    /// `log_raw`: write every value in clear.
    pub raw: bool,
    /// `hmac_accessor` (the option defaults to true).
    pub hmac_accessor: bool,
    /// `elide_list_responses`: list responses log the number of `keys` and `key_info`.
    pub elide_list_responses: bool,
    /// Written before each line's JSON.
    pub prefix: String,
}

/// `entry` as one line (prefix, JSON, `\n`), hashed with `salt` as `config` says.
pub fn format_line(
    entry: &Entry,
    salt: &Salt,
    config: &FormatConfig,
    now: &str,
) -> serde_json::Result<Vec<u8>> {
    let hashing = Hashing {
        salt: (!config.raw).then_some(salt),
        hmac_accessor: config.hmac_accessor,
    };
    let time: &str = if entry.time.is_empty() {
        now
    } else {
        &entry.time
    };
    let is_response = entry.kind == EntryKind::Response;
    let elide = config.elide_list_responses && entry.request.operation == "list";
    let line = Line {
        time,
        kind: entry.kind.as_str(),
        auth: AuthOut::new(&entry.auth, hashing),
        request: RequestOut::new(&entry.request, hashing),
        response: is_response.then(|| ResponseOut::new(&entry.response, hashing, elide)),
        error: &entry.error,
        forwarded_from: if is_response {
            ""
        } else {
            &entry.forwarded_from
        },
        forwarded: is_response && !entry.forwarded_from.is_empty(),
    };
    let mut out = Vec::with_capacity(config.prefix.len() + 1024);
    out.extend_from_slice(config.prefix.as_bytes());
    serde_json::to_writer(&mut out, &line)?;
    out.push(b'\n');
    Ok(out)
}

/// Which values to hash: none (`salt` is `None`, i.e. `log_raw`), or tokens, data leaves
/// and, with `hmac_accessor`, accessors.
#[derive(Clone, Copy)]
struct Hashing<'a> {
    salt: Option<&'a Salt>,
    hmac_accessor: bool,
}

impl<'a> Hashing<'a> {
    fn token<'v>(&self, value: &'v str) -> Cow<'v, str> {
        match self.salt {
            Some(salt) if !value.is_empty() => Cow::Owned(salt.hash(value)),
            _ => Cow::Borrowed(value),
        }
    }

    fn accessor<'v>(&self, value: &'v str) -> Cow<'v, str> {
        if self.hmac_accessor {
            self.token(value)
        } else {
            Cow::Borrowed(value)
        }
    }
}

#[derive(Serialize)]
struct Line<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    time: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    auth: AuthOut<'a>,
    request: RequestOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<ResponseOut<'a>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    error: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    forwarded_from: &'a str,
    #[serde(skip_serializing_if = "is_false")]
    forwarded: bool,
}

#[derive(Serialize)]
struct AuthOut<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    client_token: Cow<'a, str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    accessor: Cow<'a, str>,
    #[serde(flatten)]
    rest: &'a Auth,
    token_type: &'a str,
}

impl<'a> AuthOut<'a> {
    fn new(auth: &'a Auth, hashing: Hashing<'_>) -> Self {
        AuthOut {
            client_token: hashing.token(&auth.client_token),
            accessor: hashing.accessor(&auth.accessor),
            rest: auth,
            token_type: if auth.token_type.is_empty() {
                "default"
            } else {
                &auth.token_type
            },
        }
    }
}

#[derive(Serialize)]
struct RequestOut<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    client_token: Cow<'a, str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    client_token_accessor: Cow<'a, str>,
    #[serde(flatten)]
    rest: &'a Request,
    #[serde(skip_serializing_if = "DataOut::is_empty")]
    data: DataOut<'a>,
}

impl<'a> RequestOut<'a> {
    fn new(request: &'a Request, hashing: Hashing<'a>) -> Self {
        RequestOut {
            client_token: hashing.token(&request.client_token),
            client_token_accessor: hashing.accessor(&request.client_token_accessor),
            rest: request,
            data: DataOut {
                map: &request.data,
                leaves: Leaves {
                    salt: hashing.salt,
                    exempt: &request.non_hmac_keys,
                },
                elide: false,
            },
        }
    }
}

#[derive(Serialize)]
struct ResponseOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<AuthOut<'a>>,
    #[serde(flatten)]
    rest: &'a Response,
    #[serde(skip_serializing_if = "DataOut::is_empty")]
    data: DataOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wrap_info: Option<WrapInfoOut<'a>>,
}

impl<'a> ResponseOut<'a> {
    fn new(response: &'a Response, hashing: Hashing<'a>, elide: bool) -> Self {
        ResponseOut {
            auth: response.auth.as_ref().map(|a| AuthOut::new(a, hashing)),
            rest: response,
            data: DataOut {
                map: &response.data,
                leaves: Leaves {
                    salt: hashing.salt,
                    exempt: &response.non_hmac_keys,
                },
                elide,
            },
            wrap_info: response
                .wrap_info
                .as_ref()
                .map(|w| WrapInfoOut::new(w, hashing)),
        }
    }
}

#[derive(Serialize)]
struct WrapInfoOut<'a> {
    #[serde(skip_serializing_if = "is_zero_i64")]
    ttl: i64,
    #[serde(skip_serializing_if = "str::is_empty")]
    token: Cow<'a, str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    accessor: Cow<'a, str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    creation_time: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    creation_path: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    wrapped_accessor: Cow<'a, str>,
}

impl<'a> WrapInfoOut<'a> {
    fn new(wrap: &'a WrapInfo, hashing: Hashing<'_>) -> Self {
        WrapInfoOut {
            ttl: wrap.ttl,
            token: hashing.token(&wrap.token),
            accessor: hashing.accessor(&wrap.accessor),
            creation_time: &wrap.creation_time,
            creation_path: &wrap.creation_path,
            wrapped_accessor: hashing.accessor(&wrap.wrapped_accessor),
        }
    }
}

/// How string leaves of a data map are written.
#[derive(Clone, Copy)]
struct Leaves<'a> {
    /// `None`: in clear (`log_raw`).
    salt: Option<&'a Salt>,
    /// Leaves whose nearest object key is one of these are written in clear.
    exempt: &'a [String],
}

/// A request's or response's `data`.
struct DataOut<'a> {
    map: &'a Map<String, Value>,
    leaves: Leaves<'a>,
    /// `elide_list_responses` on a list operation: `keys` (a list) and `key_info` (an
    /// object) become their number of elements, as Vault does, before any hashing.
    elide: bool,
}

impl DataOut<'_> {
    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl Serialize for DataOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.map.len()))?;
        for (key, value) in self.map {
            if self.elide {
                match (key.as_str(), value) {
                    ("keys", Value::Array(list)) => {
                        map.serialize_entry(key, &list.len())?;
                        continue;
                    }
                    ("key_info", Value::Object(info)) => {
                        map.serialize_entry(key, &info.len())?;
                        continue;
                    }
                    _ => {}
                }
            }
            map.serialize_entry(
                key,
                &LeafOut {
                    value,
                    key,
                    leaves: self.leaves,
                },
            )?;
        }
        map.end()
    }
}

/// A value inside `data`, reached under object key `key` (list elements keep their
/// list's key).
struct LeafOut<'a> {
    value: &'a Value,
    key: &'a str,
    leaves: Leaves<'a>,
}

impl Serialize for LeafOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::String(s) => match self.leaves.salt {
                Some(salt) if !self.leaves.exempt.iter().any(|k| k == self.key) => {
                    serializer.serialize_str(&salt.hash(s))
                }
                _ => serializer.serialize_str(s),
            },
            Value::Array(list) => {
                let mut seq = serializer.serialize_seq(Some(list.len()))?;
                for value in list {
                    seq.serialize_element(&LeafOut {
                        value,
                        key: self.key,
                        leaves: self.leaves,
                    })?;
                }
                seq.end()
            }
            Value::Object(object) => {
                let mut map = serializer.serialize_map(Some(object.len()))?;
                for (key, value) in object {
                    map.serialize_entry(
                        key,
                        &LeafOut {
                            value,
                            key,
                            leaves: self.leaves,
                        },
                    )?;
                }
                map.end()
            }
            other => other.serialize(serializer),
        }
    }
}
