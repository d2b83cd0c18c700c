//! `PluginDigest`: the SHA-256 of a plugin's bytes, its identity.

use sha2::{Digest as _, Sha256};

/// Lower-case hex SHA-256 of a module's bytes.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct PluginDigest(String);

impl PluginDigest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(hex::encode(Sha256::digest(bytes)))
    }

    /// Parses 64 lower-case hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 64
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Self(text.to_owned()))
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PluginDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PluginDigest {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text).ok_or_else(|| format!("not a sha256 digest: {text}"))
    }
}

impl From<PluginDigest> for String {
    fn from(d: PluginDigest) -> String {
        d.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_the_sha256_of_the_bytes() {
        assert_eq!(
            PluginDigest::of(b"").as_str(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn only_64_lower_case_hex_digits_parse() {
        assert!(PluginDigest::parse(&"a".repeat(64)).is_some());
        assert!(PluginDigest::parse(&"A".repeat(64)).is_none());
        assert!(PluginDigest::parse(&"a".repeat(63)).is_none());
        assert!(PluginDigest::parse("../../etc/passwd").is_none());
    }
}
