//! DNS rebinding defence: a request whose `Host` is not one of this
//! server's own names is refused (421) before routing.
//!
//! A page on `attacker.example` whose name the attacker rebinds to
//! 127.0.0.1 is same-origin with itself, so the browser lets it read what
//! the developer's loopback server answers (the demo's admin token, say).
//! The one thing it cannot change is the `Host` its requests carry: the
//! attacker's name. So, as Vite's `server.allowedHosts` and
//! webpack-dev-server's `allowedHosts` do, the server answers only its own
//! names: `localhost` (and `*.localhost`, which resolves to loopback by
//! RFC 6761), the IP it is bound to (any IP literal when bound to
//! 0.0.0.0 or ::, since a literal cannot be rebound), and each
//! `--allowed-host` (a leading `.` also allows its subdomains). Ports are
//! not compared, as in both tools: the name is what rebinding changes.
//!
//! A request with no `Host` (and no HTTP/2 authority) passes: no browser
//! sends one, so it is not a rebinding page.

pub mod names;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::HOST;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use names::{AllowedHosts, check_name};

use crate::error::ApiError;

/// Refuses a request addressed to a name that is not ours.
pub async fn check(
    State(allowed): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    let host = match request.headers().get(HOST) {
        Some(value) => Some(value.to_str().unwrap_or("(not ASCII)").to_owned()),
        None => request.uri().authority().map(|a| a.as_str().to_owned()),
    };
    match host {
        Some(host) if !allowed.allows(&host) => ApiError::HostNotAllowed { host }.into_response(),
        _ => next.run(request).await,
    }
}
