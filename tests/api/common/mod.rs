//! Shared helpers for the HTTP API tests (and the other end-to-end tests): a small Vault
//! client over reqwest, exact-shape assertions, value formats, a raw-socket client (for
//! paths reqwest would normalize), and a data-directory inspector. Everything is
//! re-exported here: tests import `crate::api::common::...`.

#![allow(dead_code)]

mod client;
mod data_dir;
mod formats;
mod raw_http;
mod response;

pub use client::*;
pub use data_dir::*;
pub use formats::*;
pub use raw_http::*;
pub use response::*;
