//! Turning a catalog entry and request headers into a response: encoding
//! negotiation, conditional requests (ETag → 304), byte ranges and HEAD.
//! The bytes sent are always pre-compressed at build time, never compressed
//! again here.

use std::convert::Infallible;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE,
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, IF_RANGE, RANGE, VARY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::catalog::Entry;
use super::negotiate::{Encoding, negotiate_encoding};
use super::range::{RangeRequest, parse_range};
use crate::error::ApiError;

/// The response for `entry` to a GET or HEAD with `request` headers.
pub fn respond(entry: &Entry, method: &Method, request: &HeaderMap) -> Response {
    let vary = entry.is_negotiable();
    let Some(encoding) = negotiate_encoding(request.get(ACCEPT_ENCODING), &entry.available())
    else {
        let available = entry
            .available()
            .iter()
            .map(|e| e.token())
            .collect::<Vec<_>>()
            .join(", ");
        return with_vary(vary, ApiError::NotAcceptable { available }.into_response());
    };
    let variant = entry.variant(encoding);

    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, entry.content_type.clone());
    headers.insert(CACHE_CONTROL, entry.cache_control.clone());
    headers.insert(ETAG, variant.etag.clone());
    if let Some(csp) = &entry.csp {
        headers.insert(CONTENT_SECURITY_POLICY, csp.clone());
    }
    if encoding == Encoding::Identity {
        headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    } else {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding.token()));
    }

    if etag_matches(request.get(IF_NONE_MATCH), &variant.etag) {
        // A body of no known size: axum writes `Content-Length` from an
        // exact size hint, and hyper keeps it on a HEAD's 304 (a GET's it
        // drops). A 304 has no content, so it says no length (RFC 9110 §8.6).
        let none = Body::from_stream(futures::stream::empty::<Result<Bytes, Infallible>>());
        return with_vary(
            vary,
            (StatusCode::NOT_MODIFIED, headers, none).into_response(),
        );
    }

    let full = variant.bytes.clone();
    let len = full.len();
    let (status, body) = match requested_range(request, encoding, &variant.etag, len) {
        RangeRequest::Full => (StatusCode::OK, full),
        RangeRequest::Partial(range) => {
            let value = format!("bytes {}-{}/{len}", range.start, range.end - 1);
            headers.insert(CONTENT_RANGE, HeaderValue::from_str(&value).expect("ASCII"));
            (StatusCode::PARTIAL_CONTENT, full.slice(range))
        }
        RangeRequest::Unsatisfiable => {
            let mut response = ApiError::RangeNotSatisfiable { len }.into_response();
            let value = HeaderValue::from_str(&format!("bytes */{len}")).expect("ASCII");
            response.headers_mut().insert(CONTENT_RANGE, value);
            return with_vary(vary, response);
        }
    };
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(body)
    };
    with_vary(vary, (status, headers, body).into_response())
}

/// Ranges apply to identity bytes only (a range of brotli bytes is useless
/// to a client that cannot resume a brotli stream mid-way), and only while
/// `If-Range`, when present, still names the current bytes.
fn requested_range(
    request: &HeaderMap,
    encoding: Encoding,
    etag: &HeaderValue,
    len: usize,
) -> RangeRequest {
    let Some(range) = request.get(RANGE).and_then(|v| v.to_str().ok()) else {
        return RangeRequest::Full;
    };
    if encoding != Encoding::Identity {
        return RangeRequest::Full;
    }
    if let Some(if_range) = request.get(IF_RANGE)
        && if_range != etag
    {
        return RangeRequest::Full;
    }
    parse_range(range, len)
}

/// `If-None-Match` uses weak comparison: `W/"x"` matches `"x"`; `*` matches anything.
fn etag_matches(if_none_match: Option<&HeaderValue>, etag: &HeaderValue) -> bool {
    let Some(value) = if_none_match.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let ours = etag.to_str().unwrap_or_default();
    value.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == ours
    })
}

fn with_vary(vary: bool, mut response: Response) -> Response {
    if vary {
        response
            .headers_mut()
            .insert(VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_and_listed_etags_match() {
        let etag = HeaderValue::from_static("\"abc.br\"");
        let check = |v: &'static str| etag_matches(Some(&HeaderValue::from_static(v)), &etag);
        assert!(check("\"abc.br\""));
        assert!(check("W/\"abc.br\""));
        assert!(check("\"zzz\", \"abc.br\""));
        assert!(check("*"));
        assert!(
            !check("\"abc\""),
            "the identity ETag must not validate the brotli bytes"
        );
    }
}
