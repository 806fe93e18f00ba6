//! Client compatibility: the Rust `vaultrs` crate (0.8, imported as `vault_client`) against
//! a real `vaultrs server`. The crate deserializes strictly (see vault-api.md §0.3, §10.20),
//! so every call here also checks the shape of the server's answers. Each test starts its
//! own server.

mod support;

mod kv;
mod policies;
mod sys;
mod tokens;
mod wrapping;
