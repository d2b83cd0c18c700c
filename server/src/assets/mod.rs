//! Static delivery of the built site (`cargo xtask build` output).

use std::path::Path;

use axum::Router;
use axum::http::Uri;
use axum::response::IntoResponse;
use tower_http::services::ServeDir;

use crate::error::ApiError;

/// Routes that serve the asset root: `/` is `index.html`, anything else is a file
/// below the root, or a typed 404.
pub fn router(assets_dir: &Path) -> Router {
    let files = ServeDir::new(assets_dir)
        .append_index_html_on_directories(true)
        .not_found_service(axum::routing::any(not_found));
    Router::new().fallback_service(files)
}

async fn not_found(uri: Uri) -> impl IntoResponse {
    ApiError::NotFound {
        path: uri.path().to_owned(),
    }
}
