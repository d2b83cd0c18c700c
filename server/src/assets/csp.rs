//! The Content-Security-Policy of HTML documents: scripts only from our own
//! origin plus the exact inline scripts the build wrote (by sha256),
//! `'wasm-unsafe-eval'` so WebAssembly may compile, nothing else.

use base64::Engine as _;
use http::HeaderValue;
use sha2::{Digest as _, Sha256};

/// The CSP for an HTML document with these bytes.
pub fn csp_for_html(html: &str) -> HeaderValue {
    let hashes: String = inline_scripts(html)
        .map(|body| {
            let digest = Sha256::digest(body.as_bytes());
            format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).expect("the policy is ASCII")
}

/// Bodies of `<script>` elements without a `src` attribute.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    let mut rest = html;
    std::iter::from_fn(move || {
        loop {
            let open = rest.find("<script")?;
            let after_open = &rest[open..];
            let tag_end = after_open.find('>')?;
            let tag = &after_open[..tag_end];
            let body_start = &after_open[tag_end + 1..];
            let close = body_start.find("</script>")?;
            let body = &body_start[..close];
            rest = &body_start[close + "</script>".len()..];
            if !tag.contains("src=") {
                return Some(body);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_allowed_by_their_exact_hash() {
        let html =
            "<head><script type=\"module\">alert(1)</script><script src=\"/a.js\"></script></head>";
        let csp = csp_for_html(html);
        let csp = csp.to_str().unwrap();
        // sha256("alert(1)") in base64.
        let expected =
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"alert(1)"));
        assert!(csp.contains(&format!("'sha256-{expected}'")), "{csp}");
        assert_eq!(
            csp.matches("'sha256-").count(),
            1,
            "external scripts need no hash"
        );
        assert!(csp.contains("'wasm-unsafe-eval'"));
        assert!(!csp.contains("'unsafe-inline'"));
        assert!(!csp.contains("'unsafe-eval'"));
    }
}
