//! Browser tests of the loading logic (run by `wasm-pack test --headless --chrome`).

use std::cell::Cell;
use std::rc::Rc;

use frontend::api::{app_wasm_url, failure_message, go_asset, parse_manifest};
use frontend::components::inspector_view::ReportTable;
use frontend::go_wasm::JsBytes;
use frontend::inspection::Inspection;
use frontend::once::OnceGuard;
use frontend::progress::{Progress, decoded_total};
use wasm_bindgen::JsCast as _;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn progress_total_is_the_decoded_size_not_content_length_of_brotli_bytes() {
    // 2.45 MB decoded, 0.54 MB on the wire as brotli.
    assert_eq!(
        decoded_total(Some(2_452_489), Some(540_616), Some("br")),
        Some(2_452_489)
    );
    // Without a manifest size, an encoded Content-Length is useless: indeterminate.
    assert_eq!(decoded_total(None, Some(540_616), Some("br")), None);
    // Identity: Content-Length is the decoded size.
    assert_eq!(decoded_total(None, Some(1000), None), Some(1000));
    assert_eq!(
        decoded_total(None, Some(1000), Some("identity")),
        Some(1000)
    );
    assert_eq!(decoded_total(None, None, None), None);
}

#[wasm_bindgen_test]
fn streamed_chunks_kept_in_js_join_to_the_exact_bytes_in_order() {
    let chunks: [&[u8]; 4] = [&[1, 2], &[3], &[], &[4, 5, 6]];
    let bytes: JsBytes = chunks.into_iter().collect();
    assert_eq!(bytes.len(), 6);
    assert_eq!(bytes.to_vec(), vec![1, 2, 3, 4, 5, 6]);

    let single: JsBytes = std::iter::once(&[9u8, 8, 7][..]).collect();
    assert_eq!(single.to_vec(), vec![9, 8, 7]);

    let empty = JsBytes::default();
    assert!(empty.is_empty());
    assert!(empty.to_vec().is_empty());
}

#[wasm_bindgen_test]
fn progress_ends_at_exactly_100_and_never_exceeds_it() {
    let at = |received| Progress {
        received,
        total: Some(2_000),
        elapsed_ms: 100.0,
    };
    assert_eq!(at(0).percent(), Some(0));
    assert_eq!(
        at(1_999).percent(),
        Some(99),
        "not 100 before the last byte"
    );
    assert_eq!(at(2_000).percent(), Some(100));
    assert_eq!(at(2_500).fraction(), Some(1.0), "clamped");
    let unknown = Progress {
        received: 10,
        total: None,
        elapsed_ms: 1.0,
    };
    assert_eq!(unknown.fraction(), None, "indeterminate");
    assert!((at(2_000).mb_per_s() - 0.02).abs() < 1e-9);
}

#[wasm_bindgen_test]
async fn once_guard_runs_the_load_once_for_concurrent_callers() {
    let guard: OnceGuard<u32, String> = OnceGuard::default();
    let starts = Rc::new(Cell::new(0));
    let call = || {
        let starts = starts.clone();
        guard.get_or_start(move || {
            starts.set(starts.get() + 1);
            async move {
                // Yield to the event loop so the calls genuinely overlap.
                wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(
                    &wasm_bindgen::JsValue::from(1),
                ))
                .await
                .unwrap();
                Ok::<u32, String>(42)
            }
        })
    };
    let (a, b, c) = futures::join!(call(), call(), call());
    assert_eq!((a, b, c), (Ok(42), Ok(42), Ok(42)));
    assert_eq!(starts.get(), 1, "three concurrent clicks, one load");
    assert_eq!(call().await, Ok(42));
    assert_eq!(starts.get(), 1, "a later click reuses the loaded module");
}

#[wasm_bindgen_test]
async fn once_guard_allows_a_retry_after_a_failure() {
    let guard: OnceGuard<u32, String> = OnceGuard::default();
    let attempt = Rc::new(Cell::new(0));
    let call = || {
        let attempt = attempt.clone();
        guard.get_or_start(move || {
            attempt.set(attempt.get() + 1);
            let n = attempt.get();
            async move {
                if n == 1 {
                    Err("network down".to_owned())
                } else {
                    Ok(n)
                }
            }
        })
    };
    assert_eq!(call().await, Err("network down".to_owned()));
    assert!(!guard.is_started(), "the failure is forgotten");
    assert_eq!(call().await, Ok(2));
}

#[wasm_bindgen_test]
fn manifest_gives_the_hashed_go_pair_and_its_decoded_size() {
    let manifest = parse_manifest(
        r#"{"go":{"version":"go1.27.3","shim_sha256":"ab"},"assets":{
            "inspector.wasm":{"path":"/go/inspector.1a2b3c4d.wasm","hashed":true,"sha256":"x","size":2500000,"gzip_size":700000,"brotli_size":540000},
            "inspector.wasm_exec.js":{"path":"/go/wasm_exec.1a2b3c4d.js","hashed":true,"sha256":"y","size":17000,"gzip_size":4000,"brotli_size":3700},
            "frontend_bg.wasm":{"path":"/frontend-0123456789abcdef_bg.wasm","hashed":true,"sha256":"z","size":70000,"gzip_size":null,"brotli_size":null}}}"#,
    )
    .unwrap();
    let go = go_asset(&manifest, "inspector").unwrap();
    assert_eq!(go.wasm_url, "/go/inspector.1a2b3c4d.wasm");
    assert_eq!(go.shim_url, "/go/wasm_exec.1a2b3c4d.js");
    assert_eq!(go.decoded_size, Some(2_500_000));
    assert_eq!(
        app_wasm_url(&manifest),
        Some("/frontend-0123456789abcdef_bg.wasm")
    );
    assert!(go_asset(&manifest, "missing").is_none());
    assert!(parse_manifest("{not json").is_err());
}

#[wasm_bindgen_test]
fn a_failed_fetch_reports_the_servers_error_code_and_message() {
    assert_eq!(
        failure_message(
            "/api/plugins",
            404,
            r#"{"error":{"code":"not_found","message":"no such path"}}"#
        ),
        "/api/plugins: HTTP 404 not_found: no such path"
    );
    assert_eq!(
        failure_message("/api/stats", 502, "<html>bad gateway</html>"),
        "/api/stats: HTTP 502"
    );
}

#[wasm_bindgen_test]
fn inspector_rejection_is_parsed_as_a_typed_error() {
    let parsed = Inspection::parse(
        r#"{"ok":false,"error":{"code":"not_wasm","message":"bad magic","offset":0}}"#,
    )
    .unwrap();
    assert_eq!(
        parsed,
        Inspection::Rejected {
            code: "not_wasm".into(),
            message: "bad magic".into()
        }
    );
}

#[wasm_bindgen_test]
fn inspector_report_renders_one_row_per_section() {
    let parsed = Inspection::parse(
        r#"{"ok":true,"size":1000,"gzip_size":400,"version":1,
            "sections":[{"id":1,"name":"type","offset":8,"size":10},{"id":10,"name":"code","offset":20,"size":900},{"id":0,"name":"producers","offset":930,"size":60}],
            "imports":[{"module":"gojs","name":"runtime.wasmExit","kind":"func"}],
            "exports":[{"name":"run","kind":"func","index":3},{"name":"mem","kind":"memory","index":0}],
            "custom_sections":[{"name":"producers","size":60}]}"#,
    )
    .unwrap();
    let Inspection::Module(report) = parsed else {
        panic!("expected a module")
    };
    let document = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&host).unwrap();
    let report = *report;
    leptos::mount::mount_to(
        host.clone(),
        move || leptos::view! { <ReportTable report=report.clone() /> },
    )
    .forget();

    assert_eq!(host.query_selector_all("tr.section").unwrap().length(), 3);
    let summary = host
        .query_selector("#inspect-summary")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    assert!(summary.contains("1000 B"), "{summary}");
    assert!(summary.contains("400 B (40.0%)"), "{summary}");
    assert!(summary.contains("run (func)"), "{summary}");
    assert!(summary.contains("producers (60 B)"), "{summary}");
}
