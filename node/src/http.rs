//! The node's local HTTP endpoint: clients and tests in other processes
//! submit signed records and ask what became of them. (The public explorer
//! API comes with its own issue.)
//!
//! - `POST /v1/records`: body = the record's canonical bytes
//!   (`application/octet-stream`). 202 `{"id", "status": "pending"}`; 400
//!   `{"code", "message"}` naming the ledger rule that refused it; 503 when
//!   the pool is full.
//! - `GET /v1/records/{id}`: `committed` (height, index), `pending`,
//!   `refused` (code, message) or 404.
//! - `GET /health`: committed height and pool size.

use crate::app::{Admission, AdmitError, SharedPool, SharedRefusals};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use shanlian_ledger::record::Record;
use shanlian_ledger::store::Store;
use shanlian_ledger::types::RecordId;
use tokio::sync::{mpsc, oneshot};

/// What the handlers share.
#[derive(Clone)]
pub struct Api {
    pub admissions: mpsc::Sender<Admission>,
    pub store: Store,
    pub pool: SharedPool,
    pub refusals: SharedRefusals,
    pub max_record_bytes: usize,
    /// Where admitted records are spread to the other nodes.
    pub gossip: Option<crate::gossip::Publisher>,
}

/// The router (no socket: tests can drive it directly).
pub fn router(api: Api) -> Router {
    Router::new()
        .route("/v1/records", post(submit))
        .route("/v1/records/{id}", get(status))
        .route("/health", get(health))
        .with_state(api)
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

async fn submit(State(api): State<Api>, body: Bytes) -> Response {
    let record = match Record::from_bytes(&body, api.max_record_bytes) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.code(), e.to_string()),
    };
    let id = record.id;
    let bytes = record.bytes.clone();
    let (reply, rx) = oneshot::channel();
    if api
        .admissions
        .send(Admission { record, reply })
        .await
        .is_err()
    {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "node.stopping",
            "the node is shutting down".into(),
        );
    }
    match rx.await {
        Ok(Ok(())) => {
            if let Some(g) = &api.gossip {
                g.publish(bytes).await;
            }
            (
                StatusCode::ACCEPTED,
                Json(json!({ "id": id.to_hex(), "status": "pending" })),
            )
                .into_response()
        }
        Ok(Err(AdmitError::Refused(r))) => error(StatusCode::BAD_REQUEST, r.code(), r.to_string()),
        Ok(Err(e @ AdmitError::Full(_))) => {
            error(StatusCode::SERVICE_UNAVAILABLE, "pool.full", e.to_string())
        }
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "node.stopping",
            "the node is shutting down".into(),
        ),
    }
}

async fn status(State(api): State<Api>, Path(id): Path<String>) -> Response {
    let Ok(id) = RecordId::from_hex(&id) else {
        return error(
            StatusCode::BAD_REQUEST,
            "request.bad_id",
            "a record id is 64 hex digits".into(),
        );
    };
    match api.store.location(&id) {
        Ok(Some(loc)) => {
            return Json(json!({ "id": id.to_hex(), "status": "committed", "height": loc.height, "index": loc.index }))
                .into_response()
        }
        Ok(None) => {}
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "store.error", e.to_string()),
    }
    if api
        .pool
        .lock()
        .map(|p| p.iter().any(|r| r.id == id))
        .unwrap_or(false)
    {
        return Json(json!({ "id": id.to_hex(), "status": "pending" })).into_response();
    }
    if let Some(r) = api.refusals.lock().ok().and_then(|m| m.get(&id).cloned()) {
        return Json(json!({ "id": id.to_hex(), "status": "refused", "code": r.code(), "message": r.to_string() }))
            .into_response();
    }
    error(
        StatusCode::NOT_FOUND,
        "record.unknown",
        "this node has not seen that record".into(),
    )
}

async fn health(State(api): State<Api>) -> Response {
    let height = api
        .store
        .tip()
        .ok()
        .flatten()
        .map(|t| t.height)
        .unwrap_or(0);
    let pool = api.pool.lock().map(|p| p.len()).unwrap_or(0);
    Json(json!({ "status": "ok", "height": height, "pool": pool })).into_response()
}
