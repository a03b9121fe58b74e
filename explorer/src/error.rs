//! The one error type of the API: a status, a stable code and a message
//! meant for people. Internal failures (a store that cannot be read) are
//! logged with their detail and answered with a generic message: nothing
//! about the server's insides reaches a client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use shanlian_ledger::proofs::ProofBuildError;
use shanlian_ledger::store::StoreError;
use utoipa::ToSchema;

/// What every error answer holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable, machine-readable code (`record.unknown`, `request.bad_id`,
    /// a ledger refusal code such as `donation.duplicate_receipt`, …).
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

/// An API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                code: code.into(),
                message: message.into(),
            },
        }
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }
    /// A failure inside the server: logged, answered without detail.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(%detail, "explorer request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server.error",
            "the server could not answer; try again or ask another node",
        )
    }
    pub fn unavailable(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(self.body)).into_response();
        r.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
        r
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            // The stored value failed to decode or its check against the
            // certified headers: never an answer; the operator must repair
            // the node.
            e if e.is_corrupt() => {
                tracing::error!(detail = %e, "this node's store fails its own check: stop it and resync or restore its data folder");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "store.corrupt",
                    "this node's copy of the chain fails its own check here; ask another node",
                )
            }
            e => ApiError::internal(e),
        }
    }
}

impl From<ProofBuildError> for ApiError {
    fn from(e: ProofBuildError) -> Self {
        match e {
            ProofBuildError::UnknownRecord(id) => ApiError::not_found(
                "record.unknown",
                format!("record {id} is not committed on this node"),
            ),
            ProofBuildError::UnknownHeight(h) => ApiError::not_found(
                "block.unknown",
                format!("height {h} is not committed on this node"),
            ),
            ProofBuildError::NotTraceable(id) => ApiError::not_found(
                "trace.not_traceable",
                format!(
                    "record {id} has no trace row that way: trace an inflow (donation, grant or allocation received, lottery sales) forward and an outflow (disbursement, grant, allocation) back"
                ),
            ),
            ProofBuildError::Store(e) => ApiError::internal(e),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Extractors whose rejections are [`ApiError`]s (axum's answer plain
/// text).
pub mod extract {
    use super::ApiError;
    use axum::extract::{FromRequest, FromRequestParts, Request};
    use axum::http::request::Parts;
    use axum::http::StatusCode;
    use serde::de::DeserializeOwned;

    /// Query parameters.
    pub struct Query<T>(pub T);

    impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
        type Rejection = ApiError;
        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
            axum::extract::Query::<T>::from_request_parts(parts, state)
                .await
                .map(|q| Query(q.0))
                .map_err(|e| ApiError::bad_request("request.bad_query", e.body_text()))
        }
    }

    /// Path segments.
    pub struct Path<T>(pub T);

    impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
        type Rejection = ApiError;
        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
            axum::extract::Path::<T>::from_request_parts(parts, state)
                .await
                .map(|p| Path(p.0))
                .map_err(|e| ApiError::bad_request("request.bad_path", e.body_text()))
        }
    }

    /// The whole body, within the route's limit.
    pub struct Body(pub axum::body::Bytes);

    impl<S: Send + Sync> FromRequest<S> for Body {
        type Rejection = ApiError;
        async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
            axum::body::Bytes::from_request(req, state)
                .await
                .map(Body)
                .map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        ApiError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "request.too_large",
                            "the body is larger than this route takes",
                        )
                    } else {
                        ApiError::bad_request("request.bad_body", e.body_text())
                    }
                })
        }
    }
}
