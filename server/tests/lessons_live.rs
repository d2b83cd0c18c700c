//! The live lessons of seed tasks 8 and 13 through the router, no socket:
//! `POST /api/lessons/compile-once` and the noisy-neighbour run of
//! `POST`/`GET /api/lessons/fairness`. One router per test, cloned per
//! request, as `serve` shares one between connections.

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use server::{AppState, Config};
use tower::ServiceExt as _;
use wire::lessons::{CompileOnceLesson, FairnessRun};

const ADMIN: &str = "lessons-admin-token-0123456789abcdef";

/// The attack `cargo xtask bench lessons` measures, here with a bound.
#[path = "../examples/bench_lesson_budget/attack.rs"]
mod attack;
mod error_body;

/// Held by the tests that load the CPU for seconds (a fairness run, the
/// naive compile), so the compile-once lesson's calls are not timed, or
/// cut at their deadline, beside another test's noisy neighbours.
static CPU_HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn app(config: Config) -> Router {
    server::app(AppState::new(config).expect("state"))
}

fn config(dir: &tempfile::TempDir) -> Config {
    let guests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/guests");
    assert!(
        guests.join("process.wasm").is_file(),
        "run `cargo xtask build` first"
    );
    let mut config = Config::with_assets_dir(dir.path().join("no-site"));
    config.guests_dir = guests;
    config.data_dir = dir.path().join("registry");
    config.admin_token = Some(ADMIN.into());
    config
}

async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    send_from(app, None, method, uri, token).await
}

/// [`send`] from `peer`, the address `serve` puts on a socket's requests
/// (`None`: no socket, as `oneshot` alone).
async fn send_from(
    app: &Router,
    peer: Option<std::net::SocketAddr>,
    method: &str,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(peer) = peer {
        request = request.extension(axum::extract::ConnectInfo(peer));
    }
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, headers, json)
}

#[tokio::test]
async fn starting_a_fairness_run_takes_the_admin_token_and_nothing_starts_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(&dir));
    let (status, _, body) = send(&app, "POST", "/api/lessons/fairness", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_body::code(&body).as_deref(), Some("unauthorized"));
    let wrong = Some("lessons-admin-token-0123456789abcdeX");
    let (status, _, body) = send(&app, "POST", "/api/lessons/fairness?seconds=2", wrong).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_body::code(&body).as_deref(), Some("forbidden"));
    // Credentials come before the parameters: an absurd one is still a 401.
    let (status, _, _) = send(&app, "POST", "/api/lessons/fairness?seconds=999", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, body) = send(&app, "GET", "/api/lessons/fairness", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no run was started: {body}");
}

#[tokio::test]
async fn absurd_lesson_parameters_are_typed_400s() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(&dir));
    for query in [
        "seconds=0",
        "seconds=1",
        "seconds=21",
        "seconds=-3",
        "seconds=ten",
    ] {
        let uri = format!("/api/lessons/fairness?{query}");
        let (status, _, body) = send(&app, "POST", &uri, Some(ADMIN)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(
            error_body::code(&body).as_deref(),
            Some("bad_request"),
            "{query}"
        );
    }
    for query in [
        "calls=0",
        "calls=51",
        "calls=-1",
        "calls=99999999999",
        "calls=x",
    ] {
        let uri = format!("/api/lessons/compile-once?{query}");
        let (status, _, body) = send(&app, "POST", &uri, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(
            error_body::code(&body).as_deref(),
            Some("bad_request"),
            "{query}"
        );
    }
    let (status, _, body) = send(&app, "GET", "/api/lessons/fairness", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing started: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_twenty_parallel_starts_exactly_one_runs_and_it_ends_unpolled_in_three_phases() {
    let _alone = CPU_HEAVY.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app(config(&dir));
    let starts = (0..20).map(|_| {
        let app = app.clone();
        tokio::spawn(async move {
            send(&app, "POST", "/api/lessons/fairness?seconds=3", Some(ADMIN)).await
        })
    });
    let mut accepted = 0;
    for start in futures::future::join_all(starts).await {
        let (status, headers, body) = start.unwrap();
        match status {
            StatusCode::ACCEPTED => {
                accepted += 1;
                let run: FairnessRun = serde_json::from_value(body).unwrap();
                assert!(run.running);
                assert_eq!(run.phases.len(), 3);
            }
            StatusCode::CONFLICT => {
                assert_eq!(
                    error_body::code(&body).as_deref(),
                    Some("already_running"),
                    "{body}"
                );
                assert!(headers.contains_key("retry-after"));
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(accepted, 1, "exactly one run starts");

    // Nobody polls; the run still ends.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut run = None;
    for _ in 0..100 {
        let (status, _, body) = send(&app, "GET", "/api/lessons/fairness", None).await;
        assert_eq!(status, StatusCode::OK);
        let r: FairnessRun = serde_json::from_value(body).unwrap();
        if !r.running {
            run = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let run = run.expect("the run ended within 20 s of its 3 s");
    for w in &run.windows {
        eprintln!(
            "window {} phase {}: {} well-behaved calls ({} failed), p50 {:.2} ms, p99 {:.2} ms; heavy {} ({} failed), {} refused",
            w.index,
            w.phase,
            w.good_calls,
            w.good_failed,
            w.good_p50_ms,
            w.good_p99_ms,
            w.heavy_calls,
            w.heavy_failed,
            w.heavy_refused
        );
    }
    assert_eq!(run.windows.len(), 6, "{run:#?}");
    let phases: Vec<_> = run.phases.iter().map(|p| (p.heavy, p.gated)).collect();
    assert_eq!(phases, [(false, false), (true, false), (true, true)]);
    for window in &run.windows {
        let phase = &run.phases[window.phase as usize];
        assert!(window.good_calls > 0, "{window:?}");
        assert!(window.good_p99_ms >= window.good_p50_ms, "{window:?}");
        if !phase.heavy {
            assert_eq!(window.heavy_calls + window.heavy_refused, 0, "{window:?}");
        }
    }
    let in_phase = |p: u32, f: fn(&wire::lessons::FairnessWindow) -> u64| {
        run.windows
            .iter()
            .filter(|w| w.phase == p)
            .map(f)
            .sum::<u64>()
    };
    assert!(in_phase(1, |w| w.heavy_calls) > 0, "{run:#?}");
    assert_eq!(in_phase(1, |w| w.heavy_refused), 0, "gates off refuse none");
    assert!(
        in_phase(2, |w| w.heavy_refused) > 0,
        "a gate of one refuses the rest"
    );

    // Over: the client that started it waits as long as it ran (429);
    // another client's start is accepted.
    let status =
        the_client_waits_and_another_does_not(&app, "/api/lessons/fairness?seconds=2", Some(ADMIN))
            .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

/// `uri` again from the same client: 429 `rate_limited` with a
/// `Retry-After`. Then from another client (peer 10.0.0.2): its status.
async fn the_client_waits_and_another_does_not(
    app: &Router,
    uri: &str,
    token: Option<&str>,
) -> StatusCode {
    let (status, headers, body) = send(app, "POST", uri, token).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(error_body::code(&body).as_deref(), Some("rate_limited"));
    assert!(headers.contains_key("retry-after"));
    let other = std::net::SocketAddr::from(([10, 0, 0, 2], 40_000));
    send_from(app, Some(other), "POST", uri, token).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_naive_compile_per_call_is_slower_than_the_compile_once_median_and_runs_alone() {
    let _alone = CPU_HEAVY.lock().await;
    let dir = tempfile::tempdir().unwrap();
    // A generous deadline: beside two busy loops a 50 ms call of the
    // lesson timed out (504) instead of answering (this test is about the
    // lesson, not the deadline).
    let mut config = config(&dir);
    config.sandbox_deadline_ms = 5_000;
    let app = app(config);
    let (first, second) = tokio::join!(
        send(&app, "POST", "/api/lessons/compile-once?calls=5", None),
        send(&app, "POST", "/api/lessons/compile-once?calls=5", None),
    );
    let (ok, busy) = if first.0 == StatusCode::OK {
        (first, second)
    } else {
        (second, first)
    };
    let both = format!("{} {}; {} {}", ok.0, ok.2, busy.0, busy.2);
    assert_eq!(ok.0, StatusCode::OK, "{both}");
    assert_eq!(busy.0, StatusCode::CONFLICT, "{both}");
    assert_eq!(
        error_body::code(&busy.2).as_deref(),
        Some("already_running")
    );
    let lesson: CompileOnceLesson = serde_json::from_value(ok.2).unwrap();
    eprintln!(
        "compile once p50 {:.2} ms over {:?}; naive compile {:.1} ms + call {:.2} ms; ratio {:.0}",
        lesson.p50_ms, lesson.calls_ms, lesson.naive.compile_ms, lesson.naive.call_ms, lesson.ratio
    );
    assert_eq!(lesson.guest, "process");
    assert_eq!(lesson.calls_ms.len(), 5);
    assert!(lesson.calls_ms.iter().all(|ms| *ms > 0.0), "{lesson:?}");
    assert!(
        lesson.naive.compile_ms > lesson.p50_ms,
        "compiling costs more than a whole compile-once call: {lesson:?}"
    );
    assert!(lesson.ratio > 1.0, "{lesson:?}");
    assert!(
        (lesson.naive.total_ms - lesson.naive.compile_ms - lesson.naive.call_ms).abs() < 0.01,
        "{lesson:?}"
    );

    // The same client waits as long as its compile took (429 with a
    // Retry-After); another client finds the permit given back.
    let status =
        the_client_waits_and_another_does_not(&app, "/api/lessons/compile-once?calls=1", None)
            .await;
    assert_eq!(status, StatusCode::OK);
}

/// The attack of the pipeline issue, on real sockets: two anonymous
/// clients asking for the compile-once lesson back to back, and one that
/// hangs up after 0.4 s, while a tenant calls its plugin. The naive
/// compile runs on one nice-19 thread and each client waits as long as its
/// compile took, so the tenant keeps its latency and never misses its
/// deadline. (Before, as the issue measured: 10 compiles on both cores at
/// nice 0 in 12 s; the tenant's p99 66.7 ms against 3.2 ms alone, 12
/// calls 504. `cargo xtask bench lessons --against` measures both builds.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_compile_once_requests_cannot_starve_a_tenant() {
    let _alone = CPU_HEAVY.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let tenants = dir.path().join("tenants.toml");
    std::fs::write(&tenants, attack::tenants_toml()).unwrap();
    let mut config = config(&dir);
    config.tenants_file = Some(tenants);
    let guests = config.guests_dir.clone();
    let running = server::testing::spawn(AppState::new(config).unwrap())
        .await
        .unwrap();
    let url = running.url().trim_end_matches('/').to_owned();
    let client = reqwest::Client::new();
    let upload = client
        .post(format!("{url}/api/plugins?name=csv&version=1"))
        .bearer_auth(ADMIN)
        .body(std::fs::read(guests.join("process.wasm")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 201, "{:?}", upload.text().await);

    let alone = attack::tenant(&client, &url, 3).await;
    let attackers = attack::Attack::start(&url);
    let attacked = attack::tenant(&client, &url, 8).await;
    let answers = attackers.stop().await;
    let (alone_p99, attacked_p99) = (alone.quantile(0.99), attacked.quantile(0.99));
    eprintln!(
        "tenant p99 alone {alone_p99:.2} ms ({} calls), beside the attack {attacked_p99:.2} ms ({} calls, {} x 504); attackers' answers by status (0 = hung up): {answers:?}",
        alone.latencies_ms.len(),
        attacked.latencies_ms.len(),
        attacked.deadline,
    );
    assert_eq!(
        (alone.deadline, attacked.deadline),
        (0, 0),
        "no tenant call missed its deadline"
    );
    // One client (every attacker is 127.0.0.1): each compile of T is
    // followed by a wait of T, so compiling took at most half the 8 s,
    // plus the compile under way when the window closed.
    let compiles = attack::compile_ms(&answers);
    let (total, longest) = (
        compiles.iter().sum::<f64>(),
        compiles.iter().copied().fold(0.0, f64::max),
    );
    assert!(
        total <= 4_000.0 + longest + 500.0,
        "{} compiles took {total:.0} ms of 8 s: {compiles:?}",
        attack::compiles(&answers)
    );
    // And the wait was applied: after a compile, this client got 429s.
    let waited: u32 = answers
        .iter()
        .map(|a| a.by_status.get(&429).copied().unwrap_or(0))
        .sum();
    assert!(waited > 0, "no 429 rate_limited: {answers:?}");
    // Generous (a shared CI machine): the target is 1.5x.
    assert!(
        attacked_p99 <= 3.0 * alone_p99 + 10.0,
        "p99 {attacked_p99:.2} ms beside the attack vs {alone_p99:.2} ms alone"
    );
}
