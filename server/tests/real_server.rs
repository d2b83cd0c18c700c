//! The real server on a real socket (port 0): binds, answers, shuts down gracefully.

use server::{AppState, Config};

#[tokio::test]
async fn real_server_answers_on_port_zero_and_shuts_down_gracefully() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<!DOCTYPE html>").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    assert_ne!(addr.port(), 0);

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(Config::with_assets_dir(site.path())).expect("state");
    let server = tokio::spawn(server::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&health.bytes().await.unwrap()).unwrap();
    assert_eq!(body["status"], "ok");

    stop.send(()).unwrap();
    server.await.unwrap().expect("graceful shutdown returns Ok");
    assert!(
        client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .is_err(),
        "the socket is closed after shutdown"
    );
}
