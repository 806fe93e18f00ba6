//! The vaultrs CLI: Vault-style commands that talk to a server over HTTP only.
//! It never links the server core.
