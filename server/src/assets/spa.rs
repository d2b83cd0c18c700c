//! Deep links into the app: the browser app routes on the client
//! (`leptos_router`), so a person who opens or reloads `/hard` must get
//! `index.html` (revalidated: `no-cache`, like `/`). Only the app's own
//! pages ([`wire::routes`]) fall back to it: any other unknown path, a
//! mistyped hashed name or a traversal probe, stays a typed 404, never an
//! HTML page a script or a cache could take for the file it asked for.

/// The catalog path to serve for a request to `path` that matched no file:
/// `index.html` for an app page, nothing otherwise.
pub fn fallback_for(path: &str) -> Option<&'static str> {
    wire::routes::is_page(path).then_some("/index.html")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_pages_fall_back_to_index_html() {
        for page in wire::routes::PAGES {
            assert_eq!(fallback_for(page), Some("/index.html"), "{page}");
        }
    }

    #[test]
    fn anything_else_has_no_fallback() {
        for path in [
            "/no/such/file.wasm",
            "/go/inspector.00000000.wasm",
            "//etc/passwd",
            "/%2e%2e/etc/passwd",
            "/hard/",
            "/hard/x",
            "/api/hard",
            "/metrics2",
        ] {
            assert_eq!(fallback_for(path), None, "{path}");
        }
    }
}
