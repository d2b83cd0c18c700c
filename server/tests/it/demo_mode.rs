//! Demo mode (`--demo`, what `cargo xtask run` passes): what it creates, and
//! that a production configuration (an admin token or a tenants file, as
//! flags or environment variables) never gets any of it.

use crate::common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use server::sandbox::CpuClass;
use server::tenants::TenantId;
use server::{AppState, Config, StartupError};
use wire::{DemoKeys, ErrorBody};

const BINARY: &str = env!("CARGO_BIN_EXE_wip-server");
const ADMIN_TOKEN: &str = "production-admin-token-0123456789abcdef";

/// A configuration asking for the demo, in its own directories, with the
/// two guests the demo registers (so a test that finds no plugin proves
/// none was registered, not that none could be).
fn demo_config(dirs: &Dirs) -> Config {
    let mut config = Config::with_assets_dir(dirs.site.path());
    config.guests_dir = dirs.guests.path().to_owned();
    config.data_dir = dirs.data.path().to_owned();
    config.demo = true;
    config
}

struct Dirs {
    site: tempfile::TempDir,
    guests: tempfile::TempDir,
    data: tempfile::TempDir,
}

fn dirs() -> Dirs {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<!DOCTYPE html>").unwrap();
    let guests = tempfile::tempdir().unwrap();
    for (guest, _) in server::demo::VERSIONS {
        let name = format!("{guest}.wasm");
        std::fs::write(guests.path().join(&name), common::guest(guest)).unwrap();
    }
    Dirs {
        site,
        guests,
        data: tempfile::tempdir().unwrap(),
    }
}

fn tenants_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("tenants.toml");
    std::fs::write(
        &path,
        "[[tenant]]\nid = \"acme\"\napi_key = \"acme-key-0123456789\"\n",
    )
    .unwrap();
    path
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

/// Nothing of the demo: no generated credentials, no demo tenant, no
/// plugin, and `/api/demo` a typed 404.
async fn assert_no_demo(state: &AppState) {
    assert!(state.demo().is_none());
    for id in ["alpha", "bravo", "heavy"] {
        let id = TenantId::parse(id).unwrap();
        assert!(
            state.tenants().admit(&id).await.is_err(),
            "demo tenant {id} exists"
        );
    }
    assert!(
        state.registry().plugins().is_empty(),
        "a plugin was registered"
    );
    let (status, _, body) = common::send(state, get("/api/demo")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(body.error.code, "not_found");
}

#[tokio::test]
async fn demo_data_is_never_loaded_when_an_admin_token_is_given() {
    let dirs = dirs();
    let mut config = demo_config(&dirs);
    config.admin_token = Some(ADMIN_TOKEN.into());
    let state = AppState::new(config).unwrap();
    assert_no_demo(&state).await;
    assert_eq!(state.config().admin_token.as_deref(), Some(ADMIN_TOKEN));
}

#[tokio::test]
async fn demo_data_is_never_loaded_when_a_tenants_file_is_given() {
    let dirs = dirs();
    let mut config = demo_config(&dirs);
    config.tenants_file = Some(tenants_file(dirs.data.path()));
    let state = AppState::new(config).unwrap();
    assert_no_demo(&state).await;
    assert!(
        state.config().admin_token.is_none(),
        "a token was generated"
    );
    let acme = TenantId::parse("acme").unwrap();
    assert!(state.tenants().admit(&acme).await.is_ok());
}

/// Starts the binary with `--demo` and `env`, returns it with everything it
/// printed up to its `listening on` line and the URL there.
fn start_binary(dirs: &Dirs, env: &[(&str, &str)]) -> (Child, String, String) {
    let mut child = Command::new(BINARY)
        .args(["--demo", "--addr", "127.0.0.1:0", "--log-format", "json"])
        .arg("--assets-dir")
        .arg(dirs.site.path())
        .arg("--data-dir")
        .arg(dirs.data.path())
        .arg("--guests-dir")
        .arg(dirs.guests.path())
        // The in-process tests' shared cache: the binary maps the built-in
        // guests instead of compiling both on each of its three starts.
        .arg("--builtins-cache-dir")
        .arg(Config::with_assets_dir(dirs.site.path()).builtins_cache())
        .env_remove("WIP_ADMIN_TOKEN")
        .env_remove("WIP_TENANTS_FILE")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut printed = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the server printed `listening on` before exiting")
            .unwrap();
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.trim_end_matches('/').to_owned();
        }
        printed.push_str(&line);
        printed.push('\n');
    };
    (child, printed, url)
}

#[tokio::test]
async fn demo_data_is_never_loaded_when_production_credentials_come_from_the_environment() {
    let dirs = dirs();
    let tenants = tenants_file(dirs.data.path());
    let tenants = tenants.to_str().unwrap();
    for env in [
        [("WIP_ADMIN_TOKEN", ADMIN_TOKEN)].as_slice(),
        &[("WIP_TENANTS_FILE", tenants)],
    ] {
        let (mut child, printed, url) = start_binary(&dirs, env);
        let answer = reqwest::get(format!("{url}/api/demo")).await.unwrap();
        let status = answer.status();
        let body = answer.text().await.unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(status, 404, "{env:?}: {body}");
        assert!(body.contains("not_found"), "{body}");
        assert!(
            !printed.contains("demo-admin-") && !printed.contains("demo mode:"),
            "{env:?}: the start printed demo keys:\n{printed}"
        );
    }
}

#[tokio::test]
async fn the_binary_in_demo_mode_prints_the_keys_it_serves() {
    let dirs = dirs();
    let (mut child, printed, url) = start_binary(&dirs, &[]);
    let keys: DemoKeys = reqwest::get(format!("{url}/api/demo"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(printed.contains(&keys.admin_token), "{printed}");
    for tenant in &keys.tenants {
        assert!(printed.contains(&tenant.api_key), "{printed}");
    }
}

#[tokio::test]
async fn demo_mode_creates_three_tenants_a_token_and_process_v1_active_beside_v2() {
    let dirs = dirs();
    let state = AppState::new(demo_config(&dirs)).unwrap();

    let (status, headers, body) = common::send(&state, get("/api/demo")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let keys: DemoKeys = serde_json::from_slice(&body).unwrap();
    assert_eq!(&keys, state.demo().unwrap().keys());
    assert!(keys.admin_token.len() >= server::config::MIN_ADMIN_TOKEN_BYTES);
    assert_eq!(
        state.config().admin_token.as_deref(),
        Some(keys.admin_token.as_str())
    );
    let classes: Vec<_> = keys.tenants.iter().map(|t| t.cpu.as_str()).collect();
    assert_eq!(classes, ["normal", "normal", "background"]);
    let server_limits = state.sandbox().limits().per_call();
    for tenant in &keys.tenants {
        let id = TenantId::parse(&tenant.id).unwrap();
        let cpu = state.tenants().call_options(&id, server_limits).cpu;
        let expected = if tenant.cpu == "background" {
            CpuClass::Background
        } else {
            CpuClass::Normal
        };
        assert_eq!(cpu, expected, "{}", tenant.id);
    }

    // Both versions stored under the name, v1 (the `process` guest) active.
    let mut versions: Vec<_> = state
        .registry()
        .plugins()
        .into_iter()
        .map(|p| (p.name, p.version))
        .collect();
    versions.sort();
    assert_eq!(
        versions,
        [
            ("process".into(), "1".into()),
            ("process".into(), "2".into())
        ]
    );
    let v1 = server::digest::PluginDigest::of(&common::guest("process"));
    assert_eq!(state.registry().activations()["process"].active, v1);

    // The tenant keys invoke it; the wrong key does not.
    for (key, expected) in [
        (keys.tenants[0].api_key.as_str(), StatusCode::OK),
        ("demo-alpha-not-the-key-0000", StatusCode::UNAUTHORIZED),
    ] {
        let request = Request::post("/api/invoke/process")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::from("name,qty\nbolt,4\n"))
            .unwrap();
        let (status, headers, _) = common::send(&state, request).await;
        assert_eq!(status, expected);
        if status == StatusCode::OK {
            assert_eq!(headers["x-guest-digest"], v1.to_string());
        }
    }
}

#[test]
fn demo_mode_refuses_an_address_that_is_not_loopback() {
    let dirs = dirs();
    let mut config = demo_config(&dirs);
    config.addr = "0.0.0.0:8080".parse().unwrap();
    assert!(matches!(
        AppState::new(config),
        Err(StartupError::Demo(
            server::demo::DemoError::NotLoopback { .. }
        ))
    ));
}

/// `GET path` addressed to `host`, as a browser sends it to a page's origin.
fn get_as(host: &str, path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, host)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn a_rebound_name_gets_421_on_every_route_and_never_the_demo_keys() {
    let dirs = dirs();
    let state = AppState::new(demo_config(&dirs)).unwrap();
    let token = state.demo().unwrap().keys().admin_token.clone();
    for path in [
        "/api/demo",
        "/",
        "/api/plugins",
        "/metrics",
        "/healthz",
        "/nope",
    ] {
        let (status, headers, body) =
            common::send(&state, get_as("rebind.attacker.example:8080", path)).await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{path}");
        let error: ErrorBody = serde_json::from_slice(&body).unwrap();
        assert_eq!(error.error.code, "host_not_allowed", "{path}");
        assert!(headers.contains_key("x-request-id"), "{path}");
        assert!(!String::from_utf8_lossy(&body).contains(&token));
    }
    for host in ["localhost:8080", "127.0.0.1:8080", "LOCALHOST"] {
        let (status, _, body) = common::send(&state, get_as(host, "/api/demo")).await;
        assert_eq!(status, StatusCode::OK, "{host}");
        assert!(String::from_utf8_lossy(&body).contains(&token), "{host}");
    }
}

#[tokio::test]
async fn the_binary_in_demo_mode_refuses_a_rebound_host_and_serves_an_allowed_one() {
    let dirs = dirs();
    let (mut child, _, url) = start_binary(&dirs, &[("WIP_ALLOWED_HOSTS", "wip.test")]);
    let client = reqwest::Client::new();
    let ask = |host: &'static str| {
        client
            .get(format!("{url}/api/demo"))
            .header("host", host)
            .send()
    };
    let rebound = ask("rebind.attacker.example:8080").await.unwrap();
    let (rebound_status, rebound_body) = (rebound.status(), rebound.text().await.unwrap());
    let allowed = ask("wip.test:8080").await.unwrap().status();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(rebound_status, 421, "{rebound_body}");
    assert!(rebound_body.contains("host_not_allowed"), "{rebound_body}");
    assert!(!rebound_body.contains("admin"), "{rebound_body}");
    assert_eq!(allowed, 200);
}
