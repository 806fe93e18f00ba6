//! Secrets engines and auth methods. Each implements [`crate::logical::Backend`] and sees
//! only its [`crate::logical::Ctx`].

pub mod approle;
pub mod kv;
pub mod token_params;
pub mod userpass;
