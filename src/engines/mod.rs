//! Secrets engines. Each implements [`crate::logical::Backend`] and sees only its
//! [`crate::logical::Ctx`].

pub mod kv;
