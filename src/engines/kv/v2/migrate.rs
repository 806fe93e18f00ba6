//! Moving a KV v2 mount's data between storage layouts.

#[cfg(test)]
mod tests;
