//! One request id from the balancer to a replica's log line.

use std::time::Duration;

use super::cluster_harness::*;
use super::{BINARY, ONE_AT_A_TIME};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_request_id_goes_through_the_balancer_to_the_answer_and_a_replicas_log_line() {
    let _one = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::start_with(BINARY.as_ref(), 2, &["--log-format", "json"]).await;
    let (status, meta) = cluster.upload(0, "csv", "process").await;
    assert_eq!(status, 201, "{meta}");
    cluster
        .wait_all_serve("csv", meta["digest"].as_str().unwrap())
        .await;
    let balancer = cluster.balancer();
    let call = |id: Option<&'static str>| {
        let mut request = cluster
            .http
            .post(format!("{}/api/invoke/csv", balancer.url()))
            .bearer_auth(KEY)
            .body("a\n1\n");
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            let id = response.headers()["x-request-id"].to_str().unwrap();
            id.to_owned()
        }
    };
    // The caller's id is kept; without one, nginx's 128-bit id is used.
    let given = call(Some("trace-through-nginx-42")).await;
    assert_eq!(given, "trace-through-nginx-42");
    let made = call(None).await;
    assert!(
        made.len() == 32 && made.bytes().all(|b| b.is_ascii_hexdigit()),
        "{made}"
    );
    for id in [given, made] {
        let logged = wait_for(Duration::from_secs(10), || async {
            cluster.replicas.iter().find_map(|r| {
                let log = std::fs::read_to_string(r.data_dir().with_extension("log")).ok()?;
                log.lines()
                    .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                    .find(|line| {
                        line["fields"]["message"] == "invocation"
                            && line["fields"]["request_id"] == id.as_str()
                    })
            })
        })
        .await;
        let line = logged.unwrap_or_else(|| panic!("no replica logged an invocation with {id}"));
        assert_eq!(line["fields"]["outcome"], "ok", "{line}");
        assert_eq!(line["fields"]["route"], "invoke", "{line}");
    }
}
