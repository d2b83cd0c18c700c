//! Error answers read as `wire::ErrorBody`, the one shape every error
//! response has (`{"error": {"code", "message"}}`), in every test binary
//! that checks one.

#![allow(dead_code)] // each test binary uses a subset

/// The `code` of an error body, or `None` when `body` is not one (so a
/// success where an error was expected shows as `None`, not a panic).
pub fn code(body: &serde_json::Value) -> Option<String> {
    serde_json::from_value::<wire::ErrorBody>(body.clone())
        .ok()
        .map(|b| b.error.code)
}

/// The `code` of an error body given as bytes; panics when it is not one.
pub fn code_of_bytes(body: &[u8]) -> String {
    serde_json::from_slice::<wire::ErrorBody>(body)
        .unwrap_or_else(|e| panic!("not an error body ({e}): {}", String::from_utf8_lossy(body)))
        .error
        .code
}
