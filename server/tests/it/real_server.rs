//! The real server on a real socket (port 0): binds, answers, shuts down gracefully.

use server::{AppState, Config};

#[tokio::test]
async fn real_server_answers_on_port_zero_and_shuts_down_gracefully() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<!DOCTYPE html>").unwrap();
    let state = AppState::new(Config::with_assets_dir(site.path())).expect("state");
    let server = server::testing::spawn(state).await.expect("bind port 0");
    let addr = server.addr();
    assert_ne!(addr.port(), 0);

    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&health.bytes().await.unwrap()).unwrap();
    assert_eq!(body["status"], "ok");

    server.stop().await.expect("graceful shutdown returns Ok");
    assert!(
        client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .is_err(),
        "the socket is closed after shutdown"
    );
}
