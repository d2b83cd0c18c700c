//! Every answer names its request: `x-request-id` is the caller's (1 to 64
//! characters of `A-Z a-z 0-9 . _ : -`) or a random 128-bit value, unique
//! across restarts and replicas. The [`layer`] runs outside everything
//! else, so errors (404, 413, 421, 429) carry one too, and the handlers,
//! the trace span and the invocation log line read the same value.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The header a request id travels in, both ways.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// A checked request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// A new random id: 128 bits, hex.
    pub fn random() -> Self {
        Self(crate::random::hex::<16>())
    }

    /// The caller's id, when it is 1 to 64 characters of `A-Z a-z 0-9 . _ : -`.
    pub fn parse(value: &HeaderValue) -> Result<Self, ApiError> {
        let valid = (1..=64).contains(&value.len())
            && value
                .as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b".:_-".contains(b));
        if valid {
            Ok(Self(value.to_str().expect("checked ASCII").to_owned()))
        } else {
            Err(ApiError::BadRequest {
                reason: "x-request-id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -".into(),
            })
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn header_value(&self) -> HeaderValue {
        HeaderValue::from_str(&self.0).expect("checked or generated ASCII")
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Gives the request its id (a malformed one is a typed 400) and puts it
/// on the answer, whatever the answer is.
pub async fn layer(mut request: Request, next: Next) -> Response {
    let given = request.headers().get(&HEADER).map(RequestId::parse);
    let (id, mut response) = match given.transpose() {
        Err(e) => (RequestId::random(), e.into_response()),
        Ok(given) => {
            let id = given.unwrap_or_else(RequestId::random);
            request.extensions_mut().insert(id.clone());
            (id, next.run(request).await)
        }
    };
    response.headers_mut().insert(HEADER, id.header_value());
    response
}

/// The request's id; a handler driven without [`layer`] gets a fresh one.
impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(parts
            .extensions
            .get::<Self>()
            .cloned()
            .unwrap_or_else(Self::random))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callers_id_is_kept_when_it_is_short_and_plain() {
        let id = RequestId::parse(&HeaderValue::from_static("retry-7.a:b_c")).unwrap();
        assert_eq!(id.as_str(), "retry-7.a:b_c");
        for bad in ["", "a b", "a/b", &"x".repeat(65)] {
            let value = HeaderValue::from_str(bad).unwrap();
            assert_eq!(RequestId::parse(&value).unwrap_err().code(), "bad_request");
        }
    }

    #[test]
    fn new_ids_are_128_random_bits_that_do_not_repeat() {
        let ids: std::collections::BTreeSet<_> = (0..1000).map(|_| RequestId::random().0).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 32));
    }
}
