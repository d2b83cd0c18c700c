//! The sandbox dashboard (seed tasks 12–14, on `/hard`) in headless Chromium: invoke a
//! registry plugin as a tenant, see the output and the live metrics.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use e2e::browser::{screenshot, wait_for_text};
use e2e::{Chromium, TestServer};
use server::registry::{Registry, Upload, ValidationLimits};
use server::sandbox::{Sandbox, SandboxLimits};

const KEY: &str = "acme-key-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_invokes_a_plugin_and_shows_live_metrics() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let guests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/guests");
    // Seed the registry on disk the way an admin upload would.
    let registry_dir = data.path().join("registry");
    {
        let sandbox = Arc::new(Sandbox::new(SandboxLimits {
            memory_pages: 256,
            deadline: Duration::from_secs(1),
            slots: 2,
            max_input_bytes: 1 << 20,
            pooling: false,
            ..server::config::SANDBOX_DEFAULTS
        })?);
        let validation = ValidationLimits {
            smoke_budget: Duration::from_secs(20),
            retry_after_secs: 1,
            ..server::config::VALIDATION_DEFAULTS
        };
        let pipeline = server::pipeline::Pipeline::for_sandbox(Arc::clone(&sandbox));
        let registry = Registry::open(&registry_dir, sandbox, validation)?;
        let upload = Upload {
            name: "csv".into(),
            version: "1".into(),
            bytes: std::fs::read(guests.join("process.wasm"))?.into(),
            smoke_input: None,
        };
        registry.upload(upload, &pipeline, "e2e-setup").await?;
    }
    let tenants = data.path().join("tenants.toml");
    std::fs::write(
        &tenants,
        format!("[[tenant]]\nid = \"acme\"\napi_key = \"{KEY}\"\n"),
    )?;
    let server = TestServer::start_with(|config| {
        config.data_dir = registry_dir;
        config.tenants_file = Some(tenants);
        config.sandbox_deadline_ms = 1000;
    })
    .await;
    let chromium = Chromium::launch().await?;
    let page = chromium.new_page().await?;
    page.goto(format!("{}/hard", server.url())).await?;
    wait_for_text(&page, "#sb-registry tr.plugin", Duration::from_secs(30)).await?;

    page.find_element("#sb-key")
        .await?
        .click()
        .await?
        .type_str(KEY)
        .await?;
    page.find_element("#sb-invoke").await?.click().await?;
    let reply = wait_for_text(&page, "#sb-reply", Duration::from_secs(30)).await?;
    assert!(reply.starts_with("HTTP 200"), "{reply}");
    assert!(reply.contains("csv2json/1"), "{reply}");

    let stats = wait_for_text(&page, "#sb-stats tr.stat", Duration::from_secs(10)).await?;
    assert!(stats.contains("acme"), "{stats}");
    assert!(stats.contains("ok: 1"), "{stats}");
    let registry = wait_for_text(&page, "#sb-registry", Duration::from_secs(5)).await?;
    assert!(registry.contains("(active)"), "{registry}");
    page.find_element("#sandbox")
        .await?
        .scroll_into_view()
        .await?;
    screenshot(&page, "sandbox-dashboard").await?;
    chromium.close().await?;
    server.stop().await;
    Ok(())
}
