//! Content hashing for cache-busting file names.

use sha2::{Digest as _, Sha256};

/// Hex SHA-256 of the concatenation of `parts`.
pub fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// The 8-hex-digit prefix used in file names (`app.<sha8>.wasm`).
pub fn short(full_hex: &str) -> &str {
    &full_hex[..8]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_parts_equals_sha256_of_their_concatenation() {
        assert_eq!(sha256_hex(&[b"wasm", b"shim"]), sha256_hex(&[b"wasmshim"]));
        assert_eq!(
            sha256_hex(&[b""]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn short_hash_is_the_first_eight_hex_digits() {
        assert_eq!(short("0123456789abcdef"), "01234567");
    }
}
