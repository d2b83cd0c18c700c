//! Browser tests of the app shell (run by `wasm-pack test --headless --chrome`).

use frontend::App;
use wasm_bindgen::JsCast as _;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn mount_in_fresh_host() -> web_sys::HtmlElement {
    let document = web_sys::window()
        .expect("window")
        .document()
        .expect("document");
    let host: web_sys::HtmlElement = document
        .create_element("div")
        .expect("div")
        .unchecked_into();
    document
        .body()
        .expect("body")
        .append_child(&host)
        .expect("append host");
    leptos::mount::mount_to(host.clone(), App).forget();
    host
}

#[wasm_bindgen_test]
fn shell_renders_title_in_the_dom() {
    let host = mount_in_fresh_host();
    let title = host
        .query_selector("#app-title")
        .expect("selector")
        .expect("title element");
    assert_eq!(title.text_content().as_deref(), Some("Wasm in Production"));
}

/// Lets the browser run its pending tasks once (`setTimeout(0)`).
async fn next_tick() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .expect("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0)
            .expect("setTimeout");
    });
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .expect("resolves");
}

#[wasm_bindgen_test]
async fn shell_lists_all_fifteen_seed_tasks_by_tier() {
    let host = mount_in_fresh_host();
    // The router renders the page once it has read the location.
    for _ in 0..50 {
        if host.query_selector("li.task").expect("selector").is_some() {
            break;
        }
        next_tick().await;
    }
    let tasks = host.query_selector_all("li.task").expect("selector");
    assert_eq!(tasks.length(), 15);
    for (tier, expected) in [("Easy", 4), ("Medium", 5), ("Hard", 6)] {
        let selector = format!("ol[data-tier='{tier}'] li.task");
        let in_tier = host.query_selector_all(&selector).expect("selector");
        assert_eq!(in_tier.length(), expected, "tasks in tier {tier}");
    }
}
