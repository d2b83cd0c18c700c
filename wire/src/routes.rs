//! The app's pages, by URL path. The frontend's router mounts one page per
//! entry and the server answers a deep link to any of them with
//! `index.html` (and only them: any other unknown path stays a typed 404),
//! so a person can link to a lesson.

/// The overview: what the app is, the 15 tasks, links to each tier.
pub const HOME: &str = "/";
/// Tasks 1–4.
pub const EASY: &str = "/easy";
/// Tasks 5–9.
pub const MEDIUM: &str = "/medium";
/// Tasks 10–14.
pub const HARD: &str = "/hard";
/// Task 15: the decision memo.
pub const MEMO: &str = "/memo";

/// Every page but [`HOME`] (which is `index.html`'s own path).
pub const PAGES: [&str; 4] = [EASY, MEDIUM, HARD, MEMO];

/// Whether `path` is one of the app's pages (exactly: no trailing slash,
/// no query, nothing below it).
pub fn is_page(path: &str) -> bool {
    path == HOME || PAGES.contains(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_page_paths_are_pages() {
        for page in ["/", "/easy", "/medium", "/hard", "/memo"] {
            assert!(is_page(page), "{page}");
        }
        for other in [
            "",
            "/easy/",
            "/easy/x",
            "/Easy",
            "/easy.wasm",
            "/api/easy",
            "//easy",
        ] {
            assert!(!is_page(other), "{other}");
        }
    }
}
