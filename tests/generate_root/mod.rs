//! generate-root end to end: the unauthenticated `sys/generate-root/*` endpoints over HTTP
//! (OTP given and generated, decode, the new token works, cancel, wrong nonce, duplicate
//! and wrong keys, sealed), OpenBao's authenticated `sys/generate-root-token/*` twin, the
//! listener option that turns the raw family off, and `vaultrs operator generate-root`.

pub(crate) mod support;

mod operator;
mod raw;
mod twin;
