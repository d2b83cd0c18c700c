//! One JSON log line per rollout decision, with its numbers (issue: canary
//! rollouts). In a binary of its own, like `guest_log_lines.rs`: a scoped
//! `tracing` subscriber misses callsites a concurrent test thread cached.

mod common;
mod flaky_inputs;
mod plugin_api;
mod rollout_api;

use common::LogCapture;
use plugin_api::{state, upload};
use rollout_api::{Inputs, drive_until_decided, rollout_body, start};

#[tokio::test]
async fn a_decision_is_one_log_line_with_the_digests_rates_and_reasons() {
    let capture = LogCapture::default();
    let _guard = tracing::subscriber::set_default(capture.subscriber());
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    let stable = upload(&state, "csv", "process").await;
    let flaky = upload(&state, "csv", "process_flaky").await;
    start(&state, "csv", rollout_body(&flaky, 50, 20, 100.0)).await;
    let (decision, _) = drive_until_decided(&state, "csv", "log", Inputs::Trapping).await;
    assert_eq!(decision["kind"], "rolled_back");

    let lines = capture.lines();
    let decisions: Vec<_> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "rollout decision")
        .collect();
    assert_eq!(decisions.len(), 1, "one line per decision: {decisions:?}");
    let fields = &decisions[0]["fields"];
    assert_eq!(decisions[0]["level"], "INFO");
    assert_eq!(fields["plugin"], "csv");
    assert_eq!(fields["decision"], "rolled_back");
    assert_eq!(fields["stable"], stable.as_str());
    assert_eq!(fields["candidate"], flaky.as_str());
    assert_eq!(fields["active"], stable.as_str());
    assert!(fields["candidate_trap"].as_f64().unwrap() > 0.0, "{fields}");
    assert!(fields["stable_calls"].as_u64().unwrap() >= 20, "{fields}");
    assert!(
        fields["reasons"].as_str().unwrap().starts_with("trap"),
        "{fields}"
    );
    assert!(
        fields["thresholds"].as_str().unwrap().contains("p99_ratio"),
        "{fields}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "rollout started"),
        "the start is logged too"
    );
}
