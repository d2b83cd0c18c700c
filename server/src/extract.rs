//! axum's extractors with our rejection: a malformed path, query or JSON
//! body answers the documented `{"error":{"code","message"}}` body (axum's
//! `examples/error-handling`), and the request body is read only after the
//! caller is known, with the route's limit enforced while reading.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

use crate::error::ApiError;

/// [`axum::extract::Path`] rejecting with [`ApiError`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// [`axum::extract::Query`] rejecting with [`ApiError`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// [`axum::Json`] as a request body, rejecting with [`ApiError`]; the body
/// must be a JSON object ([`wire::Object`]: never a struct by position).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(wire::Object(body)) = axum::Json::from_request(request, state).await?;
        Ok(Self(body))
    }
}

/// The peer's IP address: [`crate::serve`] puts the connection's
/// [`ConnectInfo`] on every request; a router driven without a socket
/// (`oneshot`) has none, and all such requests are one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(Self(peer.map(|info| info.0.ip())))
    }
}

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// More than the limit (announced by `Content-Length`, or counted).
    TooLarge {
        /// What the client announced, when it did.
        announced: Option<u64>,
    },
    /// The body did not arrive in time, or the connection failed mid-body.
    Failed(ApiError),
}

/// Reads `body` up to `limit` bytes within `timeout` (the whole body, so a
/// client trickling a byte at a time cannot hold the connection). A
/// `Content-Length` over the limit is refused before a byte is read; a body
/// that grows past it is refused as soon as it does, so nothing over the
/// limit is ever buffered.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, BodyError> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > limit as u64) {
        return Err(BodyError::TooLarge { announced });
    }
    let read = tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await;
    match read {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(BodyError::TooLarge { announced }),
        Ok(Err(e)) => Err(BodyError::Failed(ApiError::BadRequest {
            reason: format!("reading the request body: {e}"),
        })),
        Err(_) => Err(BodyError::Failed(ApiError::RequestTimeout {
            timeout_ms: timeout.as_millis() as u64,
        })),
    }
}
