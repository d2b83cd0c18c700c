//! Caching (seed task 3): immutable only for hashed files, revalidation
//! for the rest, strong per-encoding ETags and 304s.

use sha2::Digest as _;

use crate::{IMMUTABLE, Server, asset_path, decode, error_code, go_wasm, h, manifest};

#[tokio::test]
async fn hashed_files_are_immutable_for_a_year() {
    let server = Server::start().await;
    for logical in [
        "inspector.wasm",
        "inspector.wasm_exec.js",
        "frontend_bg.wasm",
        "frontend.js",
    ] {
        let response = server.get(&asset_path(logical), &[]).await;
        assert_eq!(
            h(response.headers(), "cache-control"),
            IMMUTABLE,
            "{logical}"
        );
    }
}

#[tokio::test]
async fn every_go_pair_is_served_immutable_and_brotli_decodes_to_the_manifests_bytes() {
    let server = Server::start().await;
    let manifest = manifest();
    assert!(
        manifest.go_pairs.len() >= 2,
        "a pair per pinned Go: {:?}",
        manifest.go_pairs
    );
    for pair in &manifest.go_pairs {
        assert!(manifest.serves_goroot_shim(pair), "{pair:?}");
        for file in [manifest.pair_module(pair), manifest.pair_shim(pair)] {
            let file = file.unwrap_or_else(|| panic!("a file of {pair:?} is not in the manifest"));
            let response = server.get(&file.path, &[("accept-encoding", "br")]).await;
            assert_eq!(response.status(), 200, "{}", file.path);
            assert_eq!(h(response.headers(), "cache-control"), IMMUTABLE);
            assert_eq!(h(response.headers(), "content-encoding"), "br");
            let bytes = decode("br", &response.bytes().await.unwrap());
            assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), file.sha256);
        }
    }
}

#[tokio::test]
async fn html_and_manifest_must_revalidate() {
    let server = Server::start().await;
    for path in ["/", "/index.html", "/manifest.json"] {
        let response = server.get(path, &[]).await;
        assert_eq!(h(response.headers(), "cache-control"), "no-cache", "{path}");
        assert!(
            !h(response.headers(), "etag").is_empty(),
            "{path} has an ETag"
        );
    }
}

#[tokio::test]
async fn a_missing_hashed_name_is_a_404_never_cached_forever() {
    let server = Server::start().await;
    let response = server.get("/go/inspector.00000000.wasm", &[]).await;
    assert_eq!(response.status(), 404);
    assert!(!h(response.headers(), "cache-control").contains("immutable"));
    assert_eq!(error_code(response).await, "not_found");
}

#[tokio::test]
async fn etags_are_strong_and_differ_per_encoding() {
    let server = Server::start().await;
    let mut etags = Vec::new();
    for accept in ["br", "gzip", "identity"] {
        let response = server.get(&go_wasm(), &[("accept-encoding", accept)]).await;
        let etag = h(response.headers(), "etag").to_owned();
        assert!(etag.starts_with('"'), "strong ETag: {etag}");
        etags.push(etag);
    }
    etags.dedup();
    assert_eq!(etags.len(), 3, "{etags:?}");
}

#[tokio::test]
async fn matching_if_none_match_gives_304_per_encoding_with_vary() {
    let server = Server::start().await;
    for accept in ["br", "gzip", "identity"] {
        let first = server.get(&go_wasm(), &[("accept-encoding", accept)]).await;
        let etag = h(first.headers(), "etag").to_owned();
        let second = server
            .get(
                &go_wasm(),
                &[("accept-encoding", accept), ("if-none-match", &etag)],
            )
            .await;
        assert_eq!(second.status(), 304, "{accept}");
        assert_eq!(h(second.headers(), "etag"), etag);
        assert_eq!(h(second.headers(), "vary"), "accept-encoding");
        assert!(second.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn another_encodings_etag_does_not_validate() {
    let server = Server::start().await;
    let br = server.get(&go_wasm(), &[("accept-encoding", "br")]).await;
    let br_etag = h(br.headers(), "etag").to_owned();
    let gzip = server
        .get(
            &go_wasm(),
            &[("accept-encoding", "gzip"), ("if-none-match", &br_etag)],
        )
        .await;
    assert_eq!(gzip.status(), 200);
    assert_eq!(h(gzip.headers(), "content-encoding"), "gzip");
}

#[tokio::test]
async fn html_revalidates_with_304() {
    let server = Server::start().await;
    let first = server.get("/", &[("accept-encoding", "br")]).await;
    let etag = h(first.headers(), "etag").to_owned();
    let second = server
        .get("/", &[("accept-encoding", "br"), ("if-none-match", &etag)])
        .await;
    assert_eq!(second.status(), 304);
    assert_eq!(h(second.headers(), "cache-control"), "no-cache");
}

#[tokio::test]
async fn a_304_says_no_content_length_for_get_and_head_alike() {
    let server = Server::start().await;
    for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
        for path in [go_wasm(), "/".to_owned()] {
            let answer = server
                .request(method.clone(), &path, &[("if-none-match", "*")])
                .await;
            assert_eq!(answer.status(), 304, "{method} {path}");
            assert!(
                answer.headers().get("content-length").is_none(),
                "{method} {path}: {:?}",
                answer.headers()
            );
            assert!(answer.headers().get("transfer-encoding").is_none());
        }
    }
}
