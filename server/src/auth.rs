//! Who may change the registry: the admin bearer token, compared in
//! constant time. Tenants' API keys are checked by `Tenants::authenticate`.

use axum::http::HeaderMap;

use crate::bearer;
use crate::error::ApiError;

/// Requires `Authorization: Bearer <admin token>`: 401 without one, 403
/// with a wrong one (or when no admin token is configured).
pub fn require_admin(headers: &HeaderMap, admin_token: Option<&str>) -> Result<(), ApiError> {
    let Some(given) = bearer::token(headers) else {
        return Err(ApiError::Unauthorized {
            reason: "admin routes need Authorization: Bearer <token>".into(),
        });
    };
    match admin_token {
        Some(expected) if bearer::same(given, expected) => Ok(()),
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
