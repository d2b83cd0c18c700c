//! `Accept-Encoding` negotiation (seed task 5): br / gzip / identity with
//! q-values, `Vary` on every answer, a typed 406, and every encoding
//! decoding to the bytes the manifest hashed.

use sha2::{Digest as _, Sha256};

use crate::{Server, decode, error_code, go_module, go_wasm, h, manifest};

#[tokio::test]
async fn brotli_client_gets_br_with_vary_and_its_exact_length() {
    let server = Server::start().await;
    let response = server
        .get(
            &go_wasm(),
            &[("accept-encoding", "gzip, deflate, br, zstd")],
        )
        .await;
    let headers = response.headers().clone();
    assert_eq!(h(&headers, "content-encoding"), "br");
    assert_eq!(h(&headers, "vary"), "accept-encoding");
    assert_eq!(h(&headers, "content-type"), "application/wasm");
    let body = response.bytes().await.unwrap();
    assert_eq!(h(&headers, "content-length"), body.len().to_string());
    assert_eq!(body.len() as u64, go_module().brotli_size.unwrap());
}

#[tokio::test]
async fn gzip_only_client_gets_gzip() {
    let server = Server::start().await;
    let response = server.get(&go_wasm(), &[("accept-encoding", "gzip")]).await;
    assert_eq!(h(response.headers(), "content-encoding"), "gzip");
    assert_eq!(h(response.headers(), "vary"), "accept-encoding");
}

#[tokio::test]
async fn client_without_accept_encoding_gets_identity_still_with_vary() {
    let server = Server::start().await;
    let response = server.get(&go_wasm(), &[]).await;
    assert_eq!(h(response.headers(), "content-encoding"), "");
    assert_eq!(h(response.headers(), "vary"), "accept-encoding");
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len() as u64, go_module().size);
}

#[tokio::test]
async fn br_with_q0_is_never_sent() {
    let server = Server::start().await;
    let response = server
        .get(&go_wasm(), &[("accept-encoding", "br;q=0, gzip")])
        .await;
    assert_eq!(h(response.headers(), "content-encoding"), "gzip");
    let response = server
        .get(&go_wasm(), &[("accept-encoding", "br;q=0")])
        .await;
    assert_eq!(h(response.headers(), "content-encoding"), "");
}

#[tokio::test]
async fn higher_q_wins_over_the_servers_preference() {
    let server = Server::start().await;
    let response = server
        .get(&go_wasm(), &[("accept-encoding", "gzip;q=0.5, br;q=0.1")])
        .await;
    assert_eq!(h(response.headers(), "content-encoding"), "gzip");
}

#[tokio::test]
async fn star_accepts_brotli() {
    let server = Server::start().await;
    let response = server.get(&go_wasm(), &[("accept-encoding", "*")]).await;
    assert_eq!(h(response.headers(), "content-encoding"), "br");
}

#[tokio::test]
async fn identity_q0_is_honoured_with_a_compressed_variant() {
    let server = Server::start().await;
    let response = server
        .get(&go_wasm(), &[("accept-encoding", "identity;q=0, gzip")])
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(h(response.headers(), "content-encoding"), "gzip");
}

#[tokio::test]
async fn nothing_acceptable_is_a_typed_406() {
    let server = Server::start().await;
    let response = server
        .get(&go_wasm(), &[("accept-encoding", "identity;q=0, *;q=0")])
        .await;
    assert_eq!(response.status(), 406);
    assert_eq!(h(response.headers(), "vary"), "accept-encoding");
    assert_eq!(error_code(response).await, "not_acceptable");
}

#[tokio::test]
async fn every_encoding_of_every_asset_decodes_to_the_manifest_sha256() {
    let server = Server::start().await;
    let manifest = manifest();
    assert!(
        manifest.assets.len() >= 6,
        "manifest lists the app and the Go pair"
    );
    for (logical, asset) in &manifest.assets {
        for accept in ["br", "gzip", "identity"] {
            let response = server
                .get(&asset.path, &[("accept-encoding", accept)])
                .await;
            assert_eq!(response.status(), 200, "{logical} {accept}");
            let encoding = h(response.headers(), "content-encoding").to_owned();
            let raw = decode(&encoding, &response.bytes().await.unwrap());
            assert_eq!(
                hex::encode(Sha256::digest(&raw)),
                asset.sha256,
                "{logical} sent as {encoding:?}"
            );
        }
    }
}
