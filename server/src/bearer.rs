//! The bearer credential a request carries, and a constant-time
//! comparison for it. The admin check (`auth.rs`) and the tenants' API
//! keys (`tenants/`) both read credentials through here.

use axum::http::HeaderMap;
use subtle::ConstantTimeEq as _;

/// The token of `Authorization: Bearer <token>`, if there is one.
pub fn token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// Constant-time equality (no early exit that leaks the matching prefix).
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bearer_authorization_gives_a_token() {
        let mut headers = HeaderMap::new();
        assert_eq!(token(&headers), None);
        headers.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(token(&headers), None);
        headers.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(token(&headers), Some("abc"));
    }

    #[test]
    fn same_compares_whole_strings() {
        assert!(same("secret", "secret"));
        assert!(!same("secret", "secreT"));
        assert!(!same("secret", "secret2"));
        assert!(!same("", "x"));
    }
}
