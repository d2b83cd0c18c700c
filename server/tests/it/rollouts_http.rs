//! Canary rollouts over HTTP (docs/rollouts.md): a candidate with a latent
//! bug is rolled back by the numbers, a good one promoted, and every answer
//! names the side that served it.

use crate::error_body;
use crate::plugin_api;
use crate::rollout_api;

use axum::http::StatusCode;

use plugin_api::{ACME, ADMIN, call, json, state, upload};
use rollout_api::{Inputs, drive_until_decided, invoke, rollout_body, start, status};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flaky_candidate_is_rolled_back_and_a_good_one_promoted() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir);
    let v1 = upload(&state, "csv", "process").await;
    let flaky = upload(&state, "csv", "process_flaky").await;
    let v2 = upload(&state, "csv", "process_v2").await;

    let path = "/api/plugins/csv/rollout";
    for bearer in [None, Some(ACME)] {
        let (code, _, _) = call(
            &state,
            "PUT",
            path,
            bearer,
            rollout_body(&flaky, 50, 40, 100.0),
        )
        .await;
        assert!(
            matches!(code, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
            "{code}"
        );
    }
    let started = start(&state, "csv", rollout_body(&flaky, 50, 40, 100.0)).await;
    assert_eq!(
        (started["stable"].as_str(), started["candidate"].as_str()),
        (Some(&*v1), Some(&*flaky))
    );

    // While it runs: no manual switch, and a retried request id keeps its digest.
    let activate = serde_json::to_vec(&wire::ActivateRequest::digest(&v2)).unwrap();
    let (code, _, body) = call(
        &state,
        "PUT",
        "/api/plugins/csv/active",
        Some(ADMIN),
        activate,
    )
    .await;
    assert_eq!(
        (code, error_body::code(&json(&body)).as_deref()),
        (StatusCode::CONFLICT, Some("rollout_in_progress"))
    );
    let mut roles = std::collections::BTreeSet::new();
    for i in 0..20 {
        let id = format!("retry-{i}");
        let (_, first) = invoke(&state, "csv", &id, "a,b\n1,2\n").await;
        let (_, again) = invoke(&state, "csv", &id, "a,b\n1,2\n").await;
        assert_eq!(first["x-guest-digest"], again["x-guest-digest"], "{id}");
        assert_eq!(first["x-request-id"], id.as_str());
        roles.insert(first["x-rollout-role"].to_str().unwrap().to_owned());
    }
    assert_eq!(roles.len(), 2, "20 ids at 50% reach both sides: {roles:?}");
    let live = status(&state, "csv").await;
    assert!(
        live["rollout"]["candidate_stats"]["calls"]
            .as_u64()
            .unwrap()
            > 0,
        "{live}"
    );

    let (decision, failed) = drive_until_decided(&state, "csv", "flaky", Inputs::Trapping).await;
    assert_eq!(decision["kind"], "rolled_back", "{decision}");
    assert!(
        decision["reasons"][0].as_str().unwrap().starts_with("trap"),
        "{decision}"
    );
    assert!(
        decision["candidate_stats"]["trap"].as_f64().unwrap() > 0.0,
        "{decision}"
    );
    assert_eq!(decision["active"].as_str(), Some(&*v1));
    assert!(
        failed >= 1,
        "the canary cost at least the trap that decided it"
    );
    assert_eq!(
        status(&state, "csv").await["activation"]["active"].as_str(),
        Some(&*v1)
    );

    start(&state, "csv", rollout_body(&v2, 50, 30, 100.0)).await;
    let (decision, failed) = drive_until_decided(&state, "csv", "good", Inputs::Any).await;
    assert_eq!(
        (decision["kind"].as_str(), failed),
        (Some("promoted"), 0),
        "{decision}"
    );
    let now = status(&state, "csv").await;
    assert_eq!(now["activation"]["active"].as_str(), Some(&*v2));
    assert_eq!(
        now["activation"]["history"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_str(),
        Some(&*v1)
    );
    assert_eq!(now["decisions"].as_array().unwrap().len(), 2);

    let (_, _, metrics) = call(&state, "GET", "/metrics", None, vec![]).await;
    let metrics = String::from_utf8(metrics).unwrap();
    for line in [
        r#"wip_rollout_decisions_total{decision="rolled_back",plugin="csv"} 1"#,
        r#"wip_rollout_decisions_total{decision="promoted",plugin="csv"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
    assert!(metrics.contains(&format!(
        r#"digest="{flaky}",outcome="trap",plugin="csv",role="candidate""#
    )));
    assert!(
        !metrics.contains("wip_rollout_share_percent{"),
        "no rollout runs:\n{metrics}"
    );
}
