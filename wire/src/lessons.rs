//! Bodies of the lesson endpoints (`server/src/lessons.rs`): what the server
//! did on the page's behalf where a browser cannot (choose its own
//! `Accept-Encoding`) or where the call has no HTTP shape of its own
//! (`add(i32, i32)`).

use serde::{Deserialize, Serialize};

/// `GET /api/lessons/delivery` (seed tasks 3 and 5): the hashed Go module
/// and the HTML entry point, each requested once per `Accept-Encoding`,
/// then revalidated with the ETag that came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryLesson {
    /// One row per (path, `Accept-Encoding`).
    pub probes: Vec<HeaderProbe>,
}

/// One request to the asset responder and its revalidation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeaderProbe {
    /// URL path asked for.
    pub path: String,
    /// The `Accept-Encoding` sent (`br`, `gzip`, `identity`).
    pub accept_encoding: String,
    /// Status of the plain GET.
    pub status: u16,
    /// `Content-Encoding` of the answer (absent for identity).
    pub content_encoding: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Vary`.
    pub vary: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `ETag`.
    pub etag: Option<String>,
    /// Body bytes sent (as encoded on the wire).
    pub bytes: u64,
    /// Status of the same GET with `If-None-Match: <etag>`.
    pub revalidation_status: u16,
    /// Body bytes of that revalidation.
    pub revalidation_bytes: u64,
}

/// `POST /api/lessons/add` (seed task 4): the `add` guest's export called
/// with two integers by the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddLesson {
    /// First argument.
    pub a: i32,
    /// Second argument.
    pub b: i32,
    /// What the guest returned.
    pub sum: i32,
    /// sha256 of the guest module.
    pub digest: String,
    /// Wall time of the call (a fresh instance included), ms.
    pub duration_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_probe_has_no_content_encoding_in_the_json() {
        let probe = HeaderProbe {
            path: "/".into(),
            accept_encoding: "identity".into(),
            status: 200,
            content_encoding: None,
            content_type: Some("text/html; charset=utf-8".into()),
            vary: Some("accept-encoding".into()),
            cache_control: Some("no-cache".into()),
            etag: Some("\"ab\"".into()),
            bytes: 10,
            revalidation_status: 304,
            revalidation_bytes: 0,
        };
        let json = serde_json::to_value(&probe).unwrap();
        assert!(json["content_encoding"].is_null());
        assert_eq!(serde_json::from_value::<HeaderProbe>(json).unwrap(), probe);
    }
}
