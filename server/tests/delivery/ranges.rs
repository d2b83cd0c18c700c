//! HEAD and `Range`: the GET headers without a body, exact slices of the
//! identity bytes, no ranges on compressed bytes, a typed 416.

use crate::{Server, error_code, go_module, go_wasm, h};

#[tokio::test]
async fn head_sends_the_get_headers_without_a_body() {
    let server = Server::start().await;
    let get = server.get(&go_wasm(), &[("accept-encoding", "br")]).await;
    let head = server
        .request(
            reqwest::Method::HEAD,
            &go_wasm(),
            &[("accept-encoding", "br")],
        )
        .await;
    assert_eq!(head.status(), 200);
    for name in [
        "content-type",
        "content-encoding",
        "content-length",
        "etag",
        "vary",
        "cache-control",
    ] {
        assert_eq!(h(head.headers(), name), h(get.headers(), name), "{name}");
    }
    assert!(head.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn range_on_identity_returns_the_exact_slice() {
    let server = Server::start().await;
    let size = go_module().size;
    let response = server.get(&go_wasm(), &[("range", "bytes=0-7")]).await;
    assert_eq!(response.status(), 206);
    assert_eq!(
        h(response.headers(), "content-range"),
        format!("bytes 0-7/{size}")
    );
    assert_eq!(&response.bytes().await.unwrap()[..], b"\0asm\x01\0\0\0");
}

#[tokio::test]
async fn range_is_ignored_on_compressed_responses() {
    let server = Server::start().await;
    let response = server
        .get(
            &go_wasm(),
            &[("range", "bytes=0-7"), ("accept-encoding", "br")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(h(response.headers(), "content-encoding"), "br");
}

#[tokio::test]
async fn range_past_the_end_is_a_typed_416() {
    let server = Server::start().await;
    let size = go_module().size;
    let response = server
        .get(&go_wasm(), &[("range", &format!("bytes={size}-"))])
        .await;
    assert_eq!(response.status(), 416);
    assert_eq!(
        h(response.headers(), "content-range"),
        format!("bytes */{size}")
    );
    // The 416 depends on the coding chosen (a range applies to identity
    // bytes only), so it varies by Accept-Encoding like the 200 would.
    assert_eq!(h(response.headers(), "vary"), "accept-encoding");
    assert_eq!(error_code(response).await, "range_not_satisfiable");
}
