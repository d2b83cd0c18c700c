//! The lesson panels' pure parts, in the browser (wasm-pack): the guest's
//! log lines out of the joined `x-guest-log` headers, and every task's
//! link to a page the router and the server both know.

use frontend::api::lessons::log_lines;
use frontend::tasks::TASKS;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn log_lines_split_on_the_joining_comma_and_decode_the_escapes() {
    assert_eq!(
        log_lines("converted 2 rows, a%2C b 100%25 %C3%A9, %0D%0Ax: 1"),
        ["converted 2 rows", "a, b 100% é", "\r\nx: 1"]
    );
    assert_eq!(log_lines("50% off"), ["50% off"], "a bare % stays");
}

#[wasm_bindgen_test]
fn every_task_links_to_a_page_the_server_deep_links() {
    for task in TASKS {
        assert!(
            wire::routes::is_page(task.page()),
            "task {} links to {}",
            task.number,
            task.page()
        );
    }
    assert_eq!(TASKS[14].page(), wire::routes::MEMO);
    assert_eq!(TASKS[9].page(), wire::routes::HARD);
}
