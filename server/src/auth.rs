//! Who may call what: an admin bearer token for registry changes and
//! per-tenant API keys for invocations, compared in constant time.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use subtle::ConstantTimeEq as _;

use crate::error::ApiError;
use crate::tenants::TenantId;

/// Constant-time equality (no early exit that leaks the matching prefix).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// Requires `Authorization: Bearer <admin token>`: 401 without one, 403
/// with a wrong one (or when no admin token is configured).
pub fn require_admin(headers: &HeaderMap, admin_token: Option<&str>) -> Result<(), ApiError> {
    let Some(given) = bearer(headers) else {
        return Err(ApiError::Unauthorized {
            reason: "admin routes need Authorization: Bearer <token>".into(),
        });
    };
    match admin_token {
        Some(expected) if same(given, expected) => Ok(()),
        _ => Err(ApiError::Forbidden {
            reason: "wrong admin token".into(),
        }),
    }
}

/// Proof that the request carries the admin token. As an extractor it runs
/// before the handler's body extractor, so a JSON body (`JsonBody`) is
/// never read for a caller without the token.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl axum::extract::FromRequestParts<crate::state::AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        require_admin(&parts.headers, state.config().admin_token.as_deref()).map(|()| Self)
    }
}

/// The tenant whose API key is in `Authorization: Bearer <key>`, else 401.
pub fn tenant_of(
    headers: &HeaderMap,
    keys: &BTreeMap<TenantId, String>,
) -> Result<TenantId, ApiError> {
    let given = bearer(headers).ok_or_else(|| ApiError::Unauthorized {
        reason: "tenant routes need Authorization: Bearer <api key>".into(),
    })?;
    // Check every key so timing does not depend on which tenant matched.
    let mut found = None;
    for (tenant, key) in keys {
        if same(given, key) {
            found = Some(tenant.clone());
        }
    }
    found.ok_or_else(|| ApiError::Unauthorized {
        reason: "unknown API key".into(),
    })
}
