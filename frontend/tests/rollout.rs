//! Browser tests of the dashboard's rollout panel (run by `wasm-pack test
//! --headless --chrome`): what an operator sees while a canary runs and
//! once the server has decided.

use frontend::components::rollout_view::RolloutView;
use leptos::prelude::*;
use wasm_bindgen::JsCast as _;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wire::{Activation, Decision, DecisionKind, PluginStatus, Rollout, SideStats, Thresholds};

wasm_bindgen_test_configure!(run_in_browser);

const STABLE: &str = "aaaaaaaaaaaa0000000000000000000000000000000000000000000000000000";
const CANDIDATE: &str = "bbbbbbbbbbbb0000000000000000000000000000000000000000000000000000";

fn side(calls: u64, trap: f64) -> SideStats {
    SideStats {
        calls,
        trap,
        p99_ms: 3.25,
        ..SideStats::default()
    }
}

fn status(rollout: Option<Rollout>, decisions: Vec<Decision>) -> PluginStatus {
    PluginStatus {
        name: "process".into(),
        activation: Activation {
            active: STABLE.into(),
            history: Vec::new(),
        },
        rollout,
        decisions,
    }
}

fn mount(status: PluginStatus) -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&host).unwrap();
    leptos::mount::mount_to(host.clone(), move || {
        let (status, _) = signal(Some(status.clone()));
        view! { <RolloutView status=status /> }
    })
    .forget();
    host
}

fn text(host: &web_sys::HtmlElement, selector: &str) -> String {
    host.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector}"))
        .text_content()
        .unwrap_or_default()
}

#[wasm_bindgen_test]
fn a_running_rollout_shows_stable_and_candidate_side_by_side() {
    let host = mount(status(
        Some(Rollout {
            stable: STABLE.into(),
            candidate: CANDIDATE.into(),
            percent: 10,
            min_calls: 100,
            thresholds: Thresholds::default(),
            started_at_ms: 0,
            stable_stats: side(412, 0.0),
            candidate_stats: side(47, 8.5),
        }),
        Vec::new(),
    ));
    let rows = host.query_selector_all("tr.rollout-side").unwrap();
    assert_eq!(rows.length(), 2);
    let candidate = text(&host, "tr.rollout-side[data-role=candidate]");
    for expected in ["bbbbbbbbbbbb", "10%", "47", "8.5%", "3.25"] {
        assert!(candidate.contains(expected), "{expected} in {candidate}");
    }
    assert!(text(&host, "tr.rollout-side[data-role=stable]").contains("90%"));
    assert!(text(&host, "#sb-rollout-progress").contains("47 of 100 calls"));
    assert!(host.query_selector("#sb-decision").unwrap().is_none());
}

#[wasm_bindgen_test]
fn a_rollback_shows_its_kind_time_and_reasons() {
    let reason = "trap: 9.00% vs 0.00% (limit +1.00 points)";
    let host = mount(status(
        None,
        vec![Decision {
            kind: DecisionKind::RolledBack,
            at_ms: 0,
            after_ms: 2345,
            stable: STABLE.into(),
            candidate: CANDIDATE.into(),
            active: STABLE.into(),
            percent: 10,
            thresholds: Thresholds::default(),
            stable_stats: side(900, 0.0),
            candidate_stats: side(100, 9.0),
            reasons: vec![reason.into()],
        }],
    ));
    let decision = host.query_selector("#sb-decision").unwrap().unwrap();
    assert_eq!(
        decision.get_attribute("data-kind").as_deref(),
        Some("rolled_back")
    );
    let summary = text(&host, "#sb-decision .decision-summary");
    assert!(summary.contains("rolled_back after 2.3 s"), "{summary}");
    assert_eq!(text(&host, "#sb-decision li.reason"), reason);
    assert!(text(&host, ".rollout-idle").contains("aaaaaaaaaaaa is active"));
}
