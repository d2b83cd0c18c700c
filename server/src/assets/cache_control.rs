//! Caching policy (seed task 3): content-hashed files are immutable for a
//! year; everything else (the HTML entry point, the manifest) must be
//! revalidated on every use, which ETags make cheap (304).

use http::HeaderValue;

/// For files whose name changes whenever their bytes do.
pub const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// For files that keep their name across deployments.
pub const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");
/// For the wrong-MIME demo and API answers that must never be reused.
pub const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// The `Cache-Control` a file gets.
pub fn cache_control_for(hashed: bool) -> HeaderValue {
    if hashed { IMMUTABLE } else { REVALIDATE }
}
