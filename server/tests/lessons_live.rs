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
    let mut request = Request::builder().method(method).uri(uri);
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
    assert_eq!(body["error"]["code"], "unauthorized");
    let wrong = Some("lessons-admin-token-0123456789abcdeX");
    let (status, _, body) = send(&app, "POST", "/api/lessons/fairness?seconds=2", wrong).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "forbidden");
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
        assert_eq!(body["error"]["code"], "bad_request", "{query}");
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
        assert_eq!(body["error"]["code"], "bad_request", "{query}");
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
                assert_eq!(body["error"]["code"], "already_running", "{body}");
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

    // Over: the next start is accepted.
    let (status, _, body) =
        send(&app, "POST", "/api/lessons/fairness?seconds=2", Some(ADMIN)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
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
    assert_eq!(busy.2["error"]["code"], "already_running");
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
    let (status, headers, body) =
        send(&app, "POST", "/api/lessons/compile-once?calls=1", None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(headers.contains_key("retry-after"));
    let other = std::net::SocketAddr::from(([10, 0, 0, 2], 40_000));
    let request = Request::post("/api/lessons/compile-once?calls=1")
        .extension(axum::extract::ConnectInfo(other))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// The p99 of `samples` (ms).
fn p99(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[(samples.len() * 99 / 100).min(samples.len() - 1)]
}

/// `acme` calls its plugin back to back for `seconds` on `url`: latencies
/// (ms) and how many answered 504.
async fn tenant_calls(client: &reqwest::Client, url: &str, seconds: u64) -> (Vec<f64>, usize) {
    let end = std::time::Instant::now() + Duration::from_secs(seconds);
    let (mut took, mut deadline) = (Vec::new(), 0);
    while std::time::Instant::now() < end {
        let started = std::time::Instant::now();
        let answer = client
            .post(format!("{url}/api/invoke/csv"))
            .bearer_auth(ACME)
            .body("name,qty\nbolt,4\nnut,10\n")
            .send()
            .await
            .unwrap();
        let status = answer.status();
        answer.bytes().await.unwrap();
        took.push(started.elapsed().as_secs_f64() * 1e3);
        deadline += usize::from(status == 504);
        assert!(status == 200 || status == 504, "{status}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (took, deadline)
}

const ACME: &str = "acme-key-0123456789";

/// The attack of the pipeline issue, on real sockets: two anonymous
/// clients asking for the compile-once lesson back to back, and one that
/// hangs up after 0.4 s, while a tenant calls its plugin. The naive
/// compile runs on one nice-19 thread and each client waits as long as its
/// compile took, so the tenant keeps its latency and never misses its
/// deadline. (Before: 10 compiles on both cores at nice 0 in 12 s; the
/// tenant's p99 66.7 ms against 3.2 ms alone, 12 calls 504.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_compile_once_requests_cannot_starve_a_tenant() {
    let _alone = CPU_HEAVY.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let tenants = dir.path().join("tenants.toml");
    std::fs::write(
        &tenants,
        format!("[[tenant]]\nid = \"acme\"\napi_key = \"{ACME}\"\n"),
    )
    .unwrap();
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

    let (mut alone, alone_504) = tenant_calls(&client, &url, 3).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut attackers = Vec::new();
    for hang_up in [None, None, Some(Duration::from_millis(400))] {
        let (url, stop) = (url.clone(), std::sync::Arc::clone(&stop));
        attackers.push(tokio::spawn(async move {
            let mut client = reqwest::Client::builder();
            if let Some(after) = hang_up {
                client = client.timeout(after);
            }
            let client = client.build().unwrap();
            let mut answers = std::collections::BTreeMap::<u16, u32>::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let status = client
                    .post(format!("{url}/api/lessons/compile-once?calls=1"))
                    .send()
                    .await
                    .map_or(0, |a| a.status().as_u16());
                *answers.entry(status).or_default() += 1;
                // Ask again at once, but not in a busy loop of 409s: the
                // load under test is the compiles, not an HTTP flood.
                if status != 200 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            answers
        }));
    }
    let (mut attacked, attacked_504) = tenant_calls(&client, &url, 8).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut answers = Vec::new();
    for attacker in attackers {
        answers.push(attacker.await.unwrap());
    }
    let (alone_p99, attacked_p99) = (p99(&mut alone), p99(&mut attacked));
    eprintln!(
        "tenant p99 alone {alone_p99:.2} ms ({} calls), beside the attack {attacked_p99:.2} ms ({} calls, {attacked_504} x 504); attackers' answers by status (0 = hung up): {answers:?}",
        alone.len(),
        attacked.len()
    );
    assert_eq!(
        (alone_504, attacked_504),
        (0, 0),
        "no tenant call missed its deadline"
    );
    let compiles: u32 = answers
        .iter()
        .map(|a| a.get(&200).copied().unwrap_or(0))
        .sum();
    assert!(
        compiles <= 3,
        "{compiles} compiles in 8 s: the per-client wait holds"
    );
    // Generous (a shared CI machine): the target is 1.5x.
    assert!(
        attacked_p99 <= 3.0 * alone_p99 + 10.0,
        "p99 {attacked_p99:.2} ms beside the attack vs {alone_p99:.2} ms alone"
    );
}
