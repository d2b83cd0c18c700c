//! Records every response a page receives (the DevTools Network tab, as data).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chromiumoxide::cdp::browser_protocol::network::{
    EnableParams, EventResponseReceived, EventResponseReceivedExtraInfo,
};
use chromiumoxide::page::Page;
use futures::StreamExt as _;

/// One response as the browser saw it.
#[derive(Debug, Clone)]
pub struct Response {
    /// DevTools request id.
    pub request_id: String,
    /// Full request URL.
    pub url: String,
    /// HTTP status as the page sees it (a revalidated response shows the
    /// cached 200; see [`NetworkLog::wire_status`] for what the server sent).
    pub status: i64,
    /// MIME type the browser derived from `Content-Type`.
    pub mime_type: String,
    /// Response headers, names lower-cased.
    pub headers: HashMap<String, String>,
    /// Served from the browser's disk cache (no network transfer).
    pub from_disk_cache: bool,
}

impl Response {
    /// URL path (after the origin).
    pub fn path(&self) -> &str {
        let after_scheme = self.url.find("://").map_or(0, |i| i + 3);
        self.url[after_scheme..]
            .find('/')
            .map_or("/", |i| &self.url[after_scheme + i..])
    }

    /// A header by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// Responses recorded so far on one page.
#[derive(Debug, Clone, Default)]
pub struct NetworkLog {
    responses: Arc<Mutex<Vec<Response>>>,
    wire_statuses: Arc<Mutex<HashMap<String, i64>>>,
}

impl NetworkLog {
    /// Enables the Network domain on `page` and starts recording.
    pub async fn attach(page: &Page) -> anyhow::Result<Self> {
        let log = Self::default();
        let mut events = page.event_listener::<EventResponseReceived>().await?;
        let mut extra = page
            .event_listener::<EventResponseReceivedExtraInfo>()
            .await?;
        page.execute(EnableParams::default()).await?;
        let wire = Arc::clone(&log.wire_statuses);
        tokio::spawn(async move {
            while let Some(event) = extra.next().await {
                wire.lock()
                    .expect("network log lock")
                    .insert(event.request_id.inner().clone(), event.status_code);
            }
        });
        let responses = Arc::clone(&log.responses);
        tokio::spawn(async move {
            while let Some(event) = events.next().await {
                let r = &event.response;
                let headers = match serde_json::to_value(&r.headers) {
                    Ok(serde_json::Value::Object(map)) => map
                        .into_iter()
                        .map(|(k, v)| {
                            (
                                k.to_ascii_lowercase(),
                                v.as_str().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect(),
                    _ => HashMap::new(),
                };
                responses.lock().expect("network log lock").push(Response {
                    request_id: event.request_id.inner().clone(),
                    url: r.url.clone(),
                    status: r.status,
                    mime_type: r.mime_type.clone(),
                    headers,
                    from_disk_cache: r.from_disk_cache.unwrap_or(false),
                });
            }
        });
        Ok(log)
    }

    /// Everything recorded so far.
    pub fn responses(&self) -> Vec<Response> {
        self.responses.lock().expect("network log lock").clone()
    }

    /// The status the server actually sent on the wire for `response`
    /// (304 for a revalidation), if it went to the network at all.
    pub fn wire_status(&self, response: &Response) -> Option<i64> {
        self.wire_statuses
            .lock()
            .expect("network log lock")
            .get(&response.request_id)
            .copied()
    }

    /// Responses whose URL path satisfies `pred`.
    pub fn matching(&self, pred: impl Fn(&str) -> bool) -> Vec<Response> {
        self.responses()
            .into_iter()
            .filter(|r| pred(r.path()))
            .collect()
    }
}
