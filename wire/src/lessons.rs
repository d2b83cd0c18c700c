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

/// Calls `POST /api/lessons/compile-once` makes at least and at most.
pub const COMPILE_ONCE_CALLS: std::ops::RangeInclusive<u32> = 1..=50;
/// Calls it makes when the query names none.
pub const COMPILE_ONCE_DEFAULT_CALLS: u32 = 20;

/// `POST /api/lessons/compile-once?calls=N` (seed task 8): N calls of a
/// built-in guest the way every request runs (a fresh instance of the
/// module compiled at start-up), then one naive call that compiles the
/// module's bytes first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompileOnceLesson {
    /// The built-in guest called.
    pub guest: String,
    /// sha256 of its module.
    pub digest: String,
    /// Size of its module, bytes.
    pub module_bytes: u64,
    /// Wall time of each compile-once call (instantiate + call), ms.
    pub calls_ms: Vec<f64>,
    /// Median of `calls_ms`.
    pub p50_ms: f64,
    /// The one naive call.
    pub naive: NaiveCall,
    /// `naive.total_ms / p50_ms`.
    pub ratio: f64,
}

/// A call that compiled its module first, as a server without a compiled
/// module cache would for every request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NaiveCall {
    /// Compiling the module's bytes (Cranelift), ms.
    pub compile_ms: f64,
    /// Instantiating the fresh module and calling it, ms.
    pub call_ms: f64,
    /// Both, ms.
    pub total_ms: f64,
}

/// Seconds a noisy-neighbour run may last (`?seconds=`).
pub const FAIRNESS_SECONDS: std::ops::RangeInclusive<u32> = 2..=20;
/// Its length when the query names none.
pub const FAIRNESS_DEFAULT_SECONDS: u32 = 10;

/// `GET`/`POST /api/lessons/fairness` (seed task 13): the current or last
/// noisy-neighbour run. Well-behaved tenants call at a fixed rate through
/// the whole run; a heavy tenant joins with its gate off, then on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessRun {
    /// Still running (windows keep coming).
    pub running: bool,
    /// Length of the run, s.
    pub seconds: u32,
    /// Length of a window, ms.
    pub window_ms: u32,
    /// Well-behaved tenants.
    pub good_tenants: u32,
    /// Calls per second each of them sends, on a fixed schedule.
    pub good_rate: u32,
    /// Rows of each well-behaved call's CSV input.
    pub good_rows: u32,
    /// Concurrent clients of the heavy tenant.
    pub heavy_clients: u32,
    /// Rows of each heavy call's CSV input.
    pub heavy_rows: u32,
    /// The phases, in order.
    pub phases: Vec<FairnessPhase>,
    /// The windows over so far (all of them once the run is over).
    pub windows: Vec<FairnessWindow>,
}

/// One phase of a run: a number of consecutive windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessPhase {
    /// What runs (`well-behaved alone`, `+ heavy, gates off`, ...).
    pub label: String,
    /// The heavy tenant calls in this phase.
    pub heavy: bool,
    /// Its gate admits one call at a time, no queue (else: all its clients).
    pub gated: bool,
    /// Index of its first window.
    pub first_window: u32,
    /// Its windows.
    pub windows: u32,
}

/// What happened in one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessWindow {
    /// Index from the start of the run.
    pub index: u32,
    /// Index of its phase.
    pub phase: u32,
    /// Well-behaved calls scheduled in it that ended.
    pub good_calls: u64,
    /// Those that did not succeed (refused, deadline, ...).
    pub good_failed: u64,
    /// Their median latency from the scheduled time, ms.
    pub good_p50_ms: f64,
    /// Their p99 latency from the scheduled time, ms.
    pub good_p99_ms: f64,
    /// Heavy calls that ended in it with an answer.
    pub heavy_calls: u64,
    /// Of those, the ones that failed (deadline, memory cap, ...).
    pub heavy_failed: u64,
    /// Heavy calls its gate refused.
    pub heavy_refused: u64,
}
