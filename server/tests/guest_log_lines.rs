//! The guest's log lines reach the host's logger tagged with tenant, guest
//! and digest (seed task 11). In a binary of its own: a scoped `tracing`
//! subscriber only sees callsites whose interest no concurrent test thread
//! has cached while no subscriber was set.

mod common;
mod guest_calls;
use common::*;
use guest_calls::*;

use bytes::Bytes;

#[tokio::test]
async fn log_lines_are_emitted_tagged_with_tenant_guest_and_digest() {
    let capture = LogCapture::default();
    let _guard = tracing::subscriber::set_default(capture.subscriber());
    let input = Bytes::from_static(b"a\n1\n");
    let call = SANDBOX
        .invoke(
            &builtin("process"),
            "tenant-42",
            input,
            options(256, GENEROUS),
        )
        .await;
    call.result.unwrap();
    let lines = capture.lines();
    let line = lines
        .iter()
        .find(|v| v["target"] == "guest")
        .unwrap_or_else(|| panic!("no guest log line in {lines:?}"));
    let digest = SANDBOX.guest_info(&builtin("process")).unwrap().digest;
    assert_eq!(line["fields"]["message"], "converted 1 rows");
    assert_eq!(line["fields"]["tenant"], "tenant-42");
    assert_eq!(line["fields"]["guest"], "process");
    assert_eq!(line["fields"]["digest"], digest.as_str());
}
