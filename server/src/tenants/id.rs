//! `TenantId`: who a call is billed to, safe in logs and metric labels.

use std::sync::Arc;

/// `[A-Za-z0-9_-]{1,64}`. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(Arc<str>);

/// The tenant `/api/run`'s built-in demo guests are counted under. No
/// tenants-file entry may take it.
pub const DEMO: &str = "demo";

/// The tenant an upload's smoke call is counted under.
pub const REGISTRY: &str = "registry";
/// The prefix of the noisy-neighbour lesson's synthetic tenants.
pub const LESSON_PREFIX: &str = "lesson-";

/// Whether `id` belongs to the server (`demo`, `registry`, `lesson-*`):
/// a tenants file may not take it, so its metrics never mix with a
/// configured tenant's.
pub fn is_reserved(id: &str) -> bool {
    id == DEMO || id == REGISTRY || id.starts_with(LESSON_PREFIX)
}

impl TenantId {
    /// Parses an id; `None` when it is not `[A-Za-z0-9_-]{1,64}`.
    pub fn parse(text: &str) -> Option<Self> {
        let valid = (1..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| Self(Arc::from(text)))
    }

    /// The built-in demo tenant.
    pub fn demo() -> Self {
        Self(Arc::from(DEMO))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_label_safe_ids_parse() {
        assert!(TenantId::parse("acme-2_b").is_some());
        for bad in ["", "a b", "a\"b", "ä", &"x".repeat(65)] {
            assert!(TenantId::parse(bad).is_none(), "{bad:?}");
        }
        assert_eq!(TenantId::demo().as_str(), DEMO);
        for reserved in ["demo", "registry", "lesson-heavy"] {
            assert!(is_reserved(reserved), "{reserved}");
        }
        assert!(!is_reserved("acme"));
    }
}
