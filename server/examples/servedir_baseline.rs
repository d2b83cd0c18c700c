//! Baseline for `cargo xtask bench assets`: the plainest tower-http origin,
//! `ServeDir` over the built site with its `.br`/`.gz` siblings, reading the
//! disk on every request. Same cache, Vary and nosniff headers as the real server.
//!
//! Usage: `servedir_baseline <site-dir> <addr>`; prints `listening on http://ADDR/`.

use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let site = args.next().unwrap_or_else(|| "target/site".to_owned());
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let files = ServeDir::new(site).precompressed_br().precompressed_gzip();
    let app = Router::new()
        .fallback_service(files)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ))
        // ServeDir picks a precompressed variant by Accept-Encoding but does
        // not say so: without this, a shared cache could serve brotli bytes
        // to a client that cannot decode them.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}/", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
