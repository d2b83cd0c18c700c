//! `GET /api/lessons/throttled/{profile}/{*asset}` (seed task 7 on a real
//! network): a catalog asset as the asset responder sends it, but delayed by
//! the profile's round trip and paced to its download bandwidth.
//!
//! A page cannot throttle its own network (DevTools can, the bench does), so
//! the loading-modes panel asks the server to play a slow link. The answer
//! goes through [`respond::respond`], so `Content-Type`, `Content-Encoding`,
//! `ETag`, `Vary`, ranges and 304s are the real ones; only `Cache-Control`
//! becomes `no-store`, because a cached copy would skip the link the lesson
//! is about (and one asset under four URLs has no business in a cache).
//!
//! What an attacker finds: a profile or asset the server does not know is a
//! typed 404 (the path is only a key into the in-memory catalog, so no
//! traversal); at most `--lesson-throttled-streams` paced answers at once,
//! and at most half of them (rounded up) for one client (peer IP), so one
//! client cannot hold them all; the next one a 503 `busy` with
//! `Retry-After` at once (no queue); a client that disconnects frees its
//! place when hyper drops the body, and one that stops reading loses it
//! after twice the transfer time plus a grace.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::get;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use wire::network::{NetworkProfile, PROFILES, THROTTLED_PREFIX};

use crate::assets::cache_control::NO_STORE;
use crate::assets::respond;
use crate::error::ApiError;
use crate::extract::{ClientIp, Path};
use crate::state::AppState;

use super::places::Place;

/// Bytes released at a time: small enough that progress moves smoothly on
/// the slowest profile (16 KiB is 80 ms at 1.6 Mbit/s).
const CHUNK_BYTES: usize = 16 * 1024;

/// The throttled-asset route.
pub(super) fn router() -> Router<AppState> {
    Router::new().route(
        &format!("{THROTTLED_PREFIX}/{{profile}}/{{*asset}}"),
        get(throttled),
    )
}

async fn throttled(
    State(state): State<AppState>,
    client: ClientIp,
    Path((profile, asset)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let profile = NetworkProfile::by_name(&profile).ok_or_else(|| ApiError::NotFound {
        path: format!(
            "{THROTTLED_PREFIX}/{profile}: no such network profile (known: {})",
            PROFILES.map(|p| p.name).join(", ")
        ),
    })?;
    let catalog = state.catalog();
    let path = format!("/{asset}");
    let entry = catalog.get(&path).ok_or_else(|| ApiError::NotFound {
        path: format!("{THROTTLED_PREFIX}/{}{path}", profile.name),
    })?;
    let mut admission = Admission::new(state.throttled_places().admit(client)?);
    let response = respond::respond(entry, &method, &headers);
    tokio::time::sleep(Duration::from_millis(profile.rtt_ms.into())).await;

    let (mut parts, body) = response.into_parts();
    let bytes = super::in_memory_body(body).await?;
    parts.headers.insert(CACHE_CONTROL, NO_STORE);
    let deadline = Instant::now()
        + Duration::from_secs_f64(2.0 * profile.transfer_ms(bytes.len() as u64) / 1e3)
        + state.config().lesson_slow_reader_grace();
    admission.expire_at(deadline);
    Ok(Response::from_parts(
        parts,
        paced(bytes, profile, admission),
    ))
}

/// `bytes` in [`CHUNK_BYTES`] chunks, each released when the profile's
/// bandwidth would have delivered its last byte, counted from the first.
/// The admission lives as long as the body: hyper drops the body when the
/// client goes away, and that frees the place.
fn paced(bytes: Bytes, profile: NetworkProfile, admission: Admission) -> Body {
    let start = Instant::now();
    let chunks = futures::stream::unfold(
        (bytes, 0_usize, admission),
        move |(bytes, sent, admission)| async move {
            if sent >= bytes.len() {
                return None;
            }
            let end = (sent + CHUNK_BYTES).min(bytes.len());
            let due = profile.transfer_ms(end as u64);
            tokio::time::sleep_until(start + Duration::from_secs_f64(due / 1e3)).await;
            let chunk = bytes.slice(sent..end);
            Some((Ok::<_, Infallible>(chunk), (bytes, end, admission)))
        },
    );
    Body::from_stream(chunks)
}

/// A place in the gate: released when dropped, or by a watchdog at the
/// deadline, whichever comes first.
#[derive(Debug)]
struct Admission {
    permit: Arc<Mutex<Option<Place>>>,
    watchdog: Option<AbortHandle>,
}

impl Admission {
    fn new(permit: Place) -> Self {
        Self {
            permit: Arc::new(Mutex::new(Some(permit))),
            watchdog: None,
        }
    }

    /// A reader that has not finished by `deadline` (it stopped reading, so
    /// hyper stopped polling the body) gives its place back anyway.
    fn expire_at(&mut self, deadline: Instant) {
        let permit = Arc::clone(&self.permit);
        let task = tokio::spawn(async move {
            tokio::time::sleep_until(deadline).await;
            release(&permit);
        });
        self.watchdog = Some(task.abort_handle());
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        release(&self.permit);
        if let Some(watchdog) = &self.watchdog {
            watchdog.abort();
        }
    }
}

fn release(permit: &Mutex<Option<Place>>) {
    permit.lock().unwrap_or_else(PoisonError::into_inner).take();
}

#[cfg(test)]
#[path = "throttle_tests.rs"]
mod tests;
