//! The records an earlier build stored still load, and are written back as
//! the same JSON: `server/tests/fixtures/registry-v1/` holds what commit
//! e332693 wrote to `active.json`, `modules/<digest>.json` and the NATS KV
//! bucket (its README says how they were made). A change to an HTTP body
//! cannot reach these records; a change to the records themselves fails
//! here until it reads the old ones.

use serde_json::Value;

use super::activation::Names;
use super::backend::{Backend, Local};
use super::rollout_record::{StoredDecisionKind, StoredSideStats, StoredThresholds};
use super::rollout_rules::Plan;
use super::types::{Activation, ArtifactRecord, PluginMeta};
use crate::digest::PluginDigest;

const ACTIVE_JSON: &str = include_str!("../../tests/fixtures/registry-v1/active.json");
const MODULE_META: &str = include_str!("../../tests/fixtures/registry-v1/module-meta.json");
const KV_ACTIVE: &str = include_str!("../../tests/fixtures/registry-v1/nats-kv-active.csv.json");
const KV_PLUGIN: &str = include_str!("../../tests/fixtures/registry-v1/nats-kv-plugin.json");

/// The uploads of the fixtures' run.
fn digest(which: &str) -> PluginDigest {
    let hex = match which {
        "process" => "fadff7298d65ac53dc034c10dbaac8e955f5fc60a2a5ebe43fbcb8626e5a8ff7",
        "process_flaky" => "25e6195716f56268deaaa2fb0706b0924b8b33942dfef10a411feb3b53edcd48",
        "process_v2" => "426431dfc4f844a71ba21447dd7260afb244b41a0f0de56955f976d71cecf3b8",
        _ => unreachable!("{which}"),
    };
    PluginDigest::parse(hex).unwrap()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn yesterdays_active_json_loads_with_its_running_rollout_and_every_decision() {
    let names: Names = serde_json::from_str(ACTIVE_JSON).unwrap();
    let csv = &names["csv"];
    assert_eq!(csv.active, digest("process"));
    assert_eq!(
        csv.history,
        vec![digest("process"), digest("process_v2")],
        "promoted v2 pushed process; the manual promotion pushed v2"
    );
    assert_eq!(
        csv.rollout,
        Some(Plan {
            candidate: digest("process_flaky"),
            percent: 20,
            min_calls: 500,
            thresholds: StoredThresholds {
                trap: 0.5,
                deadline: 2.0,
                memory_limit: 1.5,
                guest_error: 4.0,
                p99_ratio: 3.0,
                p99_floor_ms: 7.5,
            },
            started_at_ms: 1_796_686_199_912,
            salt: "f57ed6164345d2c44864636b92697377".into(),
        })
    );

    let kinds: Vec<_> = csv.decisions.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [
            StoredDecisionKind::RolledBack,
            StoredDecisionKind::Promoted,
            StoredDecisionKind::Aborted,
            StoredDecisionKind::PromotedManually,
        ]
    );
    let rolled_back = &csv.decisions[0];
    assert_eq!(
        (
            &rolled_back.stable,
            &rolled_back.candidate,
            &rolled_back.active
        ),
        (
            &digest("process"),
            &digest("process_flaky"),
            &digest("process")
        )
    );
    assert_eq!(
        (rolled_back.at_ms, rolled_back.after_ms, rolled_back.percent),
        (1_796_686_199_395, 994, 50)
    );
    assert_eq!(
        rolled_back.thresholds,
        StoredThresholds {
            p99_ratio: 100.0,
            ..StoredThresholds::default()
        }
    );
    assert_eq!(
        rolled_back.candidate_stats,
        StoredSideStats {
            calls: 54,
            trap: 100.0,
            deadline: 0.0,
            memory_limit: 0.0,
            guest_error: 0.0,
            p99_ms: 31.471,
        }
    );
    assert_eq!(rolled_back.stable_stats.calls, 40);
    assert_eq!(
        rolled_back.reasons,
        ["trap: 100.00% vs 0.00% (limit +1.00 points)"]
    );
    let promoted = &csv.decisions[1];
    assert_eq!(promoted.active, digest("process_v2"));
    assert!(promoted.reasons.is_empty());
    let by_hand = &csv.decisions[3];
    assert_eq!(
        (&by_hand.candidate, &by_hand.active, by_hand.percent),
        (&digest("process"), &digest("process"), 25)
    );
}

#[tokio::test]
async fn a_loaded_active_json_is_written_back_as_the_same_json() {
    let names: Names = serde_json::from_str(ACTIVE_JSON).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = Local::new(dir.path(), &names);
    // The write every activation makes: the whole table, atomically.
    local.commit("csv", Some(1), &names).await.unwrap();
    let written = std::fs::read(dir.path().join("active.json")).unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&written).unwrap(),
        json(ACTIVE_JSON)
    );
}

#[test]
fn yesterdays_nats_activation_loads_and_is_written_back_as_the_same_json() {
    let activation: Activation = serde_json::from_str(KV_ACTIVE).unwrap();
    assert_eq!(activation.active, digest("process"));
    assert_eq!(activation.decisions.len(), 4);
    assert!(activation.rollout.is_some());
    // What `Nats::commit` puts under `active.<name>`.
    let written = serde_json::to_vec(&activation).unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&written).unwrap(),
        json(KV_ACTIVE)
    );
}

#[test]
fn yesterdays_module_metadata_loads_and_is_written_back_as_the_same_json() {
    let stored: PluginMeta = serde_json::from_str(MODULE_META).unwrap();
    assert_eq!(
        (stored.digest.clone(), stored.name.as_str(), stored.size),
        (digest("process"), "csv", 4_410_818)
    );
    assert!(matches!(
        stored.artifact,
        Some(ArtifactRecord {
            size: 9_718_256,
            ..
        })
    ));
    let shared: PluginMeta = serde_json::from_str(KV_PLUGIN).unwrap();
    assert_eq!(shared.artifact, None, "artifacts stay per replica");
    for (record, text) in [(stored, MODULE_META), (shared, KV_PLUGIN)] {
        assert_eq!(serde_json::to_value(&record).unwrap(), json(text));
    }
}
