//! Content types: explicit for everything the build produces (a wrong type
//! on `.wasm` breaks `instantiateStreaming`, see seed task 1), `mime_guess`
//! for anything else.

use http::HeaderValue;

/// The `Content-Type` for a file name.
pub fn content_type_for(path: &str) -> HeaderValue {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    let known = match ext.to_ascii_lowercase().as_str() {
        "wasm" => Some("application/wasm"),
        "js" | "mjs" => Some("text/javascript; charset=utf-8"),
        "html" => Some("text/html; charset=utf-8"),
        "css" => Some("text/css; charset=utf-8"),
        "json" => Some("application/json"),
        "svg" => Some("image/svg+xml"),
        "txt" => Some("text/plain; charset=utf-8"),
        _ => None,
    };
    match known {
        Some(t) => HeaderValue::from_static(t),
        None => {
            let guess = mime_guess::from_path(path).first_or_octet_stream();
            HeaderValue::from_str(guess.as_ref())
                .unwrap_or(HeaderValue::from_static("application/octet-stream"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_outputs_get_their_exact_types() {
        assert_eq!(content_type_for("/go/a.1234abcd.wasm"), "application/wasm");
        assert_eq!(content_type_for("/x.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type_for("/index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type_for("/s.css"), "text/css; charset=utf-8");
        assert_eq!(content_type_for("/manifest.json"), "application/json");
        assert_eq!(content_type_for("/i.svg"), "image/svg+xml");
    }

    #[test]
    fn unknown_extensions_are_octet_stream() {
        assert_eq!(content_type_for("/blob.xyz123"), "application/octet-stream");
    }
}
