//! What the lesson panels ask the server: `/api/run/{guest}` read with its
//! headers (the typed error, the tenant, the guest's log lines), the lesson
//! endpoints (`/api/lessons/delivery`, `/api/lessons/add`), and plain GETs
//! whose headers the page reads as the browser got them.

pub use wire::lessons::{AddLesson, DeliveryLesson, HeaderProbe};

use super::{ErrorBody, failure_message, get_json};

/// Fetches `/api/lessons/delivery`: the server's own GETs of the hashed Go
/// module and of `/`, one per `Accept-Encoding`, each revalidated.
pub async fn fetch_delivery_lesson() -> Result<DeliveryLesson, String> {
    get_json("/api/lessons/delivery").await
}

/// `POST /api/lessons/add?a=&b=`: the `add` guest's export, called by the host.
pub async fn run_add(a: i32, b: i32) -> Result<AddLesson, String> {
    let url = format!("/api/lessons/add?a={a}&b={b}");
    let response = gloo_net::http::Request::post(&url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.ok() {
        let body = response.text().await.unwrap_or_default();
        return Err(failure_message(&url, response.status(), &body));
    }
    response.json().await.map_err(|e| format!("{url}: {e}"))
}

/// A GET as this page's `fetch` saw it: the browser chose the
/// `Accept-Encoding` and decoded the body.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowserGet {
    /// HTTP status the page got (304 to a revalidation the page sent itself).
    pub status: u16,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Vary`.
    pub vary: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `ETag`.
    pub etag: Option<String>,
    /// `Content-Length`: bytes on the wire (encoded).
    pub content_length: Option<u64>,
    /// Bytes the page read: decoded.
    pub decoded_bytes: u64,
}

/// GETs `url` from the page, with `If-None-Match` when given (a request
/// with a conditional header skips the HTTP cache, so the page sees the
/// server's 304 itself).
pub async fn browser_get(url: &str, if_none_match: Option<&str>) -> Result<BrowserGet, String> {
    let mut request = gloo_net::http::Request::get(url);
    if let Some(etag) = if_none_match {
        request = request.header("if-none-match", etag);
    }
    let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    let headers = response.headers();
    Ok(BrowserGet {
        status: response.status(),
        content_encoding: headers.get("content-encoding"),
        vary: headers.get("vary"),
        cache_control: headers.get("cache-control"),
        etag: headers.get("etag"),
        content_length: headers.get("content-length").and_then(|v| v.parse().ok()),
        decoded_bytes: response.binary().await.map_or(0, |b| b.len() as u64),
    })
}

/// One `POST /api/run/{guest}` as the lesson panels show it.
#[derive(Debug, Clone, PartialEq)]
pub struct GuestRun {
    /// The built-in guest.
    pub guest: String,
    /// HTTP status.
    pub status: u16,
    /// The typed error's code, when the call failed (`deadline`, `trap`, ...).
    pub code: Option<String>,
    /// The error's message, or the guest's output.
    pub body: String,
    /// `x-guest-tenant`: whom the call (and its log lines) counted for.
    pub tenant: Option<String>,
    /// `x-guest-digest`.
    pub digest: Option<String>,
    /// `x-guest-log-lines`: how many lines the guest logged.
    pub log_count: Option<u64>,
    /// The lines (`x-guest-log`), as many as the server's header budget took.
    pub log_lines: Vec<String>,
    /// Wall time from the page, request to last byte, ms.
    pub wall_ms: f64,
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// `POST /api/run/{guest}` with `input`, timed from the page.
pub async fn run_guest(guest: &str, input: &str) -> Result<GuestRun, String> {
    let url = format!("/api/run/{guest}");
    let started = now_ms();
    let response = gloo_net::http::Request::post(&url)
        .body(input.to_owned())
        .map_err(|e| format!("{url}: {e}"))?
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let text = response.text().await.map_err(|e| format!("{url}: {e}"))?;
    let wall_ms = now_ms() - started;
    let headers = response.headers();
    let error = (!response.ok())
        .then(|| serde_json::from_str::<ErrorBody>(&text).ok())
        .flatten();
    Ok(GuestRun {
        guest: guest.to_owned(),
        status: response.status(),
        code: error.as_ref().map(|e| e.error.code.clone()),
        body: error.map_or(text, |e| e.error.message),
        tenant: headers.get("x-guest-tenant"),
        digest: headers.get("x-guest-digest"),
        log_count: headers
            .get("x-guest-log-lines")
            .and_then(|v| v.parse().ok()),
        log_lines: headers
            .get("x-guest-log")
            .map(|v| log_lines(&v))
            .unwrap_or_default(),
        wall_ms,
    })
}

/// The guest's log lines from the `x-guest-log` headers, which `fetch`
/// joins with `", "`: the server percent-encodes every comma, `%` and
/// non-printable byte of a line, so splitting on `", "` is exact.
pub fn log_lines(joined: &str) -> Vec<String> {
    joined.split(", ").map(percent_decode).collect()
}

fn percent_decode(encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub use wire::lessons::{
    COMPILE_ONCE_DEFAULT_CALLS, CompileOnceLesson, FAIRNESS_DEFAULT_SECONDS, FairnessPhase,
    FairnessRun, FairnessWindow,
};

/// A lesson `POST` with no body (and the admin token when given), its JSON
/// answer or the typed error's message.
async fn post_lesson<T: for<'de> serde::Deserialize<'de>>(
    url: &str,
    admin_token: Option<&str>,
) -> Result<T, String> {
    let mut request = gloo_net::http::Request::post(url);
    if let Some(token) = admin_token {
        request = request.header("authorization", &format!("Bearer {token}"));
    }
    let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    if !response.ok() {
        let body = response.text().await.unwrap_or_default();
        return Err(failure_message(url, response.status(), &body));
    }
    response.json().await.map_err(|e| format!("{url}: {e}"))
}

/// `POST /api/lessons/compile-once?calls=N` (task 8): N compile-once calls
/// and one naive compile-per-call, timed by the server.
pub async fn run_compile_once(calls: u32) -> Result<CompileOnceLesson, String> {
    post_lesson(&format!("/api/lessons/compile-once?calls={calls}"), None).await
}

/// `POST /api/lessons/fairness?seconds=N` (task 13, admin token): starts a
/// noisy-neighbour run.
pub async fn start_fairness(seconds: u32, admin_token: &str) -> Result<FairnessRun, String> {
    let url = format!("/api/lessons/fairness?seconds={seconds}");
    post_lesson(&url, Some(admin_token)).await
}

/// `GET /api/lessons/fairness`: the current or last run.
pub async fn fetch_fairness() -> Result<FairnessRun, String> {
    get_json("/api/lessons/fairness").await
}
