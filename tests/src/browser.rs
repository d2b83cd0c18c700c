//! Debian's Chromium, headless, driven over the DevTools protocol.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::page::{Page, ScreenshotParams};
use futures::StreamExt as _;
use tokio::task::JoinHandle;

/// Debian's Chromium binary (`apt-get install chromium`, done by `cargo xtask setup`).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium with a fresh profile, closed on drop.
#[derive(Debug)]
pub struct Chromium {
    browser: Browser,
    handler: JoinHandle<()>,
    _profile: tempfile::TempDir,
}

impl Chromium {
    /// Launches Chromium headless with the flags a root user on a closed
    /// network needs (no sandbox, no background connections).
    pub async fn launch() -> anyhow::Result<Self> {
        let profile = tempfile::tempdir()?;
        let config = BrowserConfig::builder()
            .chrome_executable(CHROMIUM)
            .no_sandbox()
            .user_data_dir(profile.path())
            .window_size(1280, 900)
            .args([
                "--headless=new",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--no-first-run",
            ])
            .build()
            .map_err(anyhow::Error::msg)?;
        let (browser, mut handler) = Browser::launch(config)
            .await
            .context("launching headless Chromium")?;
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Ok(Self {
            browser,
            handler,
            _profile: profile,
        })
    }

    /// A new blank tab.
    pub async fn new_page(&self) -> anyhow::Result<Page> {
        Ok(self.browser.new_page("about:blank").await?)
    }

    /// Closes the browser and waits for the process to exit.
    pub async fn close(mut self) -> anyhow::Result<()> {
        self.browser.close().await?;
        self.browser.wait().await?;
        self.handler.abort();
        Ok(())
    }
}

/// Waits until `selector` matches an element whose text is non-empty, and returns the text.
pub async fn wait_for_text(
    page: &Page,
    selector: &str,
    timeout: Duration,
) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Ok(element) = page.find_element(selector).await
            && let Some(text) = element.inner_text().await?.filter(|t| !t.is_empty())
        {
            return Ok(text);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("no element with text matched `{selector}` within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Saves a full-page PNG to `target/e2e/<name>.png` and returns its path.
pub async fn screenshot(page: &Page, name: &str) -> anyhow::Result<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("e2e");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.png"));
    page.save_screenshot(ScreenshotParams::builder().full_page(true).build(), &path)
        .await?;
    Ok(path)
}
