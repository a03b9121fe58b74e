//! Records: each one decoded with its raw bytes, its proofs (inclusion,
//! receipt bundle, trace), what corrects or questions it, and submission.

use crate::chain::parse_hash;
use crate::error::extract::Body;
use crate::error::extract::{Path, Query};
use crate::error::{ApiError, ApiResult};
use crate::submit::Pending;
use crate::views::*;
use crate::{cached, Cache, Shared};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shanlian_ledger::codec::{unframe, UnframeError as Unframe};
use shanlian_ledger::record::Record;
use shanlian_ledger::store::query::LedgerReader;
use shanlian_ledger::tracing::Direction;
use shanlian_ledger::types::*;
use utoipa::{IntoParams, ToSchema};

pub fn parse_id(s: &str) -> ApiResult<RecordId> {
    parse_hash(s)
        .map(RecordId)
        .map_err(|_| ApiError::bad_request("request.bad_id", "a record id is 64 hex digits"))
}

fn committed(r: &dyn LedgerReader, id: &RecordId) -> ApiResult<shanlian_ledger::proofs::Committed> {
    r.committed(id)?.ok_or_else(|| {
        ApiError::not_found(
            "record.unknown",
            format!("record {id} is not committed on this node (GET /api/v1/records/{id}/status says whether it is pending)"),
        )
    })
}

#[utoipa::path(get, path = "/api/v1/records/{id}", tag = "records",
    params(("id" = String, Path, description = "a record id, 64 hex digits", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = RecordView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn record(State(s): State<Shared>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let r = &*s.reader;
    let c = committed(r, &id)?;
    let names = Names::load(r)?;
    Ok(cached(Cache::Immutable, Json(record_view(r, &names, &c)?)))
}

/// The corrections and findings that name a record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnnotationsView {
    pub corrections: Vec<RecordView>,
    pub findings: Vec<RecordView>,
}

#[utoipa::path(get, path = "/api/v1/records/{id}/annotations", tag = "records",
    params(("id" = String, Path, description = "a record id, 64 hex digits", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = AnnotationsView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn annotations(State(s): State<Shared>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let r = &*s.reader;
    committed(r, &id)?;
    Ok(cached(Cache::Fresh, Json(annotations_of(r, &id)?)))
}

pub fn annotations_of(r: &dyn LedgerReader, id: &RecordId) -> ApiResult<AnnotationsView> {
    let names = Names::load(r)?;
    let mut v = AnnotationsView {
        corrections: Vec::new(),
        findings: Vec::new(),
    };
    for at in r.annotations(id)? {
        let Some(rec) = r.record_at(at)? else {
            return Err(ApiError::internal("indexed annotation missing"));
        };
        let c = r
            .committed(&rec.id)?
            .ok_or_else(|| ApiError::internal("indexed annotation not committed"))?;
        let view = record_view(r, &names, &c)?;
        match rec.signed.body.payload {
            shanlian_ledger::record::Payload::Correction(_) => v.corrections.push(view),
            _ => v.findings.push(view),
        }
    }
    Ok(v)
}

/// What became of a record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordStatus {
    pub id: String,
    /// `committed`, `pending`, `refused`, `expired` or `unknown` (this node
    /// has not seen it: submit it, or ask another node).
    pub status: String,
    pub height: Option<u64>,
    pub index: Option<u32>,
    pub code: Option<String>,
    pub message: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/records/{id}/status", tag = "records",
    params(("id" = String, Path, description = "a record id, 64 hex digits", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = RecordStatus)))]
pub async fn record_status(State(s): State<Shared>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    Ok(cached(Cache::Fresh, Json(status_of(&s, &id)?)))
}

/// What became of one record, on this node.
fn status_of(s: &Shared, id: &RecordId) -> ApiResult<RecordStatus> {
    let mut st = RecordStatus {
        id: id.to_hex(),
        status: "unknown".into(),
        height: None,
        index: None,
        code: None,
        message: None,
    };
    if let Some(c) = s.reader.committed(id)? {
        st.status = "committed".into();
        st.height = Some(c.height);
        st.index = Some(c.index);
    } else if let Some(sub) = &s.submitter {
        match sub.status(id) {
            Pending::Pending => st.status = "pending".into(),
            Pending::Refused { code, message } => {
                st.status = "refused".into();
                st.code = Some(code);
                st.message = Some(message);
            }
            Pending::Expired => {
                st.status = "expired".into();
                st.message = Some(
                    "the record expired before a block took it; sign it again with a later expiry"
                        .into(),
                );
            }
            Pending::Unknown => {}
        }
    }
    Ok(st)
}

/// The most record ids one status request may ask about.
pub const MAX_STATUS_IDS: usize = 10_000;

/// Record ids whose status is asked at once.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct StatusesQuery {
    /// Record ids; at most 10,000.
    #[schema(max_items = 10000, min_items = 1)]
    pub ids: Vec<RecordIdHex>,
}

/// A record id: 64 hex digits.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(pattern = "^[0-9a-fA-F]{64}$")]
pub struct RecordIdHex(pub String);

/// The status of many records at once: what a bulk import waits on, in one
/// request instead of one per record (answers are in the order asked).
#[utoipa::path(post, path = "/api/v1/records/status", tag = "records",
    request_body = StatusesQuery,
    responses((status = 200, body = Vec<RecordStatus>),
        (status = 400, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)))]
pub async fn record_statuses(
    State(s): State<Shared>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let q: StatusesQuery = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "request.bad_json",
            format!("expected {{\"ids\": [hex, …]}}: {e}"),
        )
    })?;
    if q.ids.len() > MAX_STATUS_IDS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.too_many_ids",
            format!("at most {MAX_STATUS_IDS} ids per request"),
        ));
    }
    if q.ids.is_empty() {
        return Err(ApiError::bad_request(
            "request.no_ids",
            "ask about at least one record id",
        ));
    }
    let out = q
        .ids
        .iter()
        .map(|h| status_of(&s, &parse_id(&h.0)?))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(cached(Cache::Fresh, Json(out)))
}

/// The log size to prove a record in.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SizeQuery {
    /// The log size (default: the newest).
    #[param(maximum = 9007199254740991.0)]
    pub size: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/records/{id}/inclusion", tag = "proofs", params(
    ("id" = String, Path, description = "a record id, 64 hex digits", pattern = "^[0-9a-fA-F]{64}$"), SizeQuery),
    responses((status = 200, description = "an RFC 9162 inclusion proof (SPEC §13.1 InclusionProof)", body = Object),
        (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn inclusion(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<SizeQuery>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let r = &*s.reader;
    let c = committed(r, &id)?;
    let newest = r.tip()?.map_or(0, |t| t.log_size);
    let size = q.size.map(safe).transpose()?.unwrap_or(newest);
    if size > newest {
        return Err(ApiError::not_found(
            "proof.beyond_log",
            format!("the log on this node has {newest} records"),
        ));
    }
    if size <= c.log_index {
        // A log that ends before the record does not hold it: there is no
        // such proof (a schema-valid question with no answer, not a bad one).
        return Err(ApiError::not_found(
            "proof.not_in_log",
            format!(
                "the record is leaf {}; a log of {size} records does not hold it \
                 (ask for {} to {newest})",
                c.log_index,
                c.log_index + 1
            ),
        ));
    }
    let p = r.inclusion_proof(c.log_index, size)?;
    let cache = if q.size.is_some() {
        Cache::Immutable
    } else {
        Cache::Fresh
    };
    Ok(cached(
        cache,
        Json(serde_json::to_value(p).unwrap_or(Value::Null)),
    ))
}

/// How far to extend a bundle.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BundleQuery {
    /// Extend the bundle to the checkpoint of this height (`latest` for
    /// the newest); by default it ends at the record's own block.
    #[param(pattern = "^([0-9]{1,15}|latest)$")]
    pub to: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/records/{id}/bundle", tag = "proofs", params(
    ("id" = String, Path, description = "a record id, 64 hex digits", pattern = "^[0-9a-fA-F]{64}$"), BundleQuery),
    responses((status = 200, description = "a receipt bundle, JSON form (SPEC §13.2)", body = Object),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn bundle(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<BundleQuery>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    bundle_json(&s, &id, q.to.as_deref())
}

pub fn bundle_json(s: &Shared, id: &RecordId, to: Option<&str>) -> ApiResult<Response> {
    let r = &*s.reader;
    let mut b = r.receipt_bundle(id)?;
    let tip = r.tip()?.map_or(0, |t| t.height);
    let (to, cache) = match to {
        None => (None, Cache::Immutable),
        Some("latest") => (Some(tip), Cache::Fresh),
        Some(h) => (Some(crate::chain::parse_height(h)?), Cache::Immutable),
    };
    if let Some(to) = to {
        if to > tip {
            return Err(ApiError::not_found(
                "block.unknown",
                format!("height {to} is not committed on this node (newest: {tip})"),
            ));
        }
        r.extend_bundle(&mut b, to)?;
    }
    Ok(cached(cache, Json(b.to_json())))
}

/// Which way to trace.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TraceQuery {
    /// `forward` (where an inflow's money went; default) or `reverse`
    /// (what an outflow drew on).
    #[param(pattern = "^(forward|reverse)$")]
    pub direction: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/records/{id}/trace", tag = "proofs", params(
    ("id" = String, Path, description = "a record id, 64 hex digits", pattern = "^[0-9a-fA-F]{64}$"), TraceQuery),
    responses((status = 200, description = "a trace proof, JSON form (SPEC §10.6), as of the newest block", body = Object),
        (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn trace(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<TraceQuery>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let direction = match q.direction.as_deref() {
        None | Some("forward") => Direction::Forward,
        Some("reverse") => Direction::Reverse,
        Some(_) => {
            return Err(ApiError::bad_request(
                "request.bad_direction",
                "direction is `forward` or `reverse`",
            ))
        }
    };
    let proof = s.reader.trace_proof(&id, direction)?;
    Ok(cached(Cache::Fresh, Json(proof.to_json())))
}

// --- Submission -------------------------------------------------------------------------------

/// A record submitted as JSON.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitJson {
    /// The canonical `SignedRecord` bytes, hex.
    #[schema(pattern = "^([0-9a-fA-F]{2})+$", min_length = 2)]
    pub record: String,
}

/// Records submitted as JSON.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBatchJson {
    /// Each record's canonical bytes, hex.
    #[schema(min_items = 1, max_items = 10000)]
    pub records: Vec<String>,
}

/// A record taken into the pool.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Submitted {
    pub id: String,
    /// `pending`: in this node's pool and written to its disk (on a node,
    /// it survives a crash of that node and is pending again when the node
    /// restarts) until a block commits it. Poll
    /// `GET /api/v1/records/{id}/status` until `committed`; resubmitting
    /// (to this node or another) is always safe — records are idempotent.
    pub status: String,
}

/// One refused record of a batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchRefusal {
    /// Its position in the batch, from 0.
    pub index: usize,
    pub code: String,
    pub message: String,
}

/// What became of a batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchResult {
    pub accepted: usize,
    /// The ids of the accepted records, in batch order.
    pub ids: Vec<String>,
    pub refused: Vec<BatchRefusal>,
}

/// Most records in one batch.
pub const MAX_BATCH: usize = 10_000;

fn is_json(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn decode_hex_record(s: &Shared, hex_bytes: &str) -> Result<Record, ApiError> {
    let bytes = hex::decode(hex_bytes)
        .map_err(|_| ApiError::bad_request("record.malformed", "the record is not hex"))?;
    decode_record(s, &bytes)
}

fn decode_record(s: &Shared, bytes: &[u8]) -> Result<Record, ApiError> {
    Record::from_bytes(bytes, s.genesis.params.max_record_bytes as usize)
        .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))
}

fn submitter(s: &Shared) -> ApiResult<&dyn crate::submit::Submitter> {
    s.submitter.as_deref().ok_or_else(|| {
        ApiError::unavailable(
            "submit.unavailable",
            "this explorer does not take records; submit to a node",
        )
    })
}

fn not_taken(n: crate::submit::NotTaken) -> ApiError {
    let status = StatusCode::from_u16(n.status).unwrap_or(StatusCode::BAD_REQUEST);
    ApiError::new(status, &n.code, n.message)
}

#[utoipa::path(post, path = "/api/v1/records", tag = "records",
    request_body(description = "the record's canonical bytes (`application/octet-stream`), or `{\"record\": hex}` (`application/json`)", content = SubmitJson),
    responses((status = 202, body = Submitted),
        (status = 400, description = "refused: the ledger rule's code and message", body = crate::error::ErrorBody),
        (status = 503, description = "the node cannot take records now", body = crate::error::ErrorBody)))]
pub async fn submit(
    State(s): State<Shared>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    let sub = submitter(&s)?;
    let rec = if is_json(&headers) {
        let j: SubmitJson = serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(
                "request.bad_json",
                format!("expected {{\"record\": hex}}: {e}"),
            )
        })?;
        decode_hex_record(&s, &j.record)?
    } else {
        decode_record(&s, &body)?
    };
    let id = rec.id;
    let mut results = sub.submit(vec![rec]).await.map_err(not_taken)?;
    match results.pop() {
        Some(Ok(())) => Ok((
            StatusCode::ACCEPTED,
            Json(Submitted {
                id: id.to_hex(),
                status: "pending".into(),
            }),
        )
            .into_response()),
        Some(Err(n)) => Err(not_taken(n)),
        None => Err(ApiError::internal("no admission result")),
    }
}

#[utoipa::path(post, path = "/api/v1/records/batch", tag = "records",
    request_body(description = "records each as a u32 little-endian length then its bytes (`application/octet-stream`), or `{\"records\": [hex…]}` (`application/json`); at most 10,000", content = SubmitBatchJson),
    responses((status = 200, body = BatchResult),
        (status = 400, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)))]
pub async fn submit_batch(
    State(s): State<Shared>,
    headers: HeaderMap,
    Body(body): Body,
) -> ApiResult<Response> {
    let sub = submitter(&s)?;
    let too_many = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.batch_too_large",
            format!("at most {MAX_BATCH} records per batch"),
        )
    };
    let decoded: Vec<Result<Record, ApiError>> = if is_json(&headers) {
        let j: SubmitBatchJson = serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(
                "request.bad_json",
                format!("expected {{\"records\": [hex, …]}}: {e}"),
            )
        })?;
        if j.records.len() > MAX_BATCH {
            return Err(too_many());
        }
        j.records.iter().map(|h| decode_hex_record(&s, h)).collect()
    } else {
        let frames = unframe(&body, MAX_BATCH).map_err(|e| match e {
            Unframe::TooMany => too_many(),
            Unframe::Truncated => ApiError::bad_request(
                "request.bad_framing",
                "a batch is records each prefixed by its length as a u32 little-endian; a length runs past the end",
            ),
        })?;
        frames.into_iter().map(|b| decode_record(&s, b)).collect()
    };
    if decoded.is_empty() {
        return Err(ApiError::bad_request(
            "request.empty_batch",
            "a batch holds at least one record",
        ));
    }
    let mut refused = Vec::new();
    let mut records = Vec::new();
    let mut index = Vec::new();
    for (i, d) in decoded.into_iter().enumerate() {
        match d {
            Ok(r) => {
                records.push(r);
                index.push(i);
            }
            Err(e) => refused.push(BatchRefusal {
                index: i,
                code: e.body.code,
                message: e.body.message,
            }),
        }
    }
    let ids: Vec<RecordId> = records.iter().map(|r| r.id).collect();
    let results = sub.submit(records).await.map_err(not_taken)?;
    let mut accepted = Vec::new();
    for ((i, id), result) in index.into_iter().zip(ids).zip(results) {
        match result {
            Ok(()) => accepted.push(id.to_hex()),
            Err(n) => refused.push(BatchRefusal {
                index: i,
                code: n.code,
                message: n.message,
            }),
        }
    }
    refused.sort_by_key(|r| r.index);
    Ok(Json(BatchResult {
        accepted: accepted.len(),
        ids: accepted,
        refused,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_and_refuse() {
        let mut b = Vec::new();
        for f in [&b"ab"[..], b"", b"xyz"] {
            b.extend_from_slice(&(f.len() as u32).to_le_bytes());
            b.extend_from_slice(f);
        }
        let got = unframe(&b, 10).ok().unwrap();
        assert_eq!(got, vec![&b"ab"[..], b"", b"xyz"]);
        assert!(matches!(unframe(&b, 2), Err(Unframe::TooMany)));
        assert!(matches!(
            unframe(&b[..b.len() - 1], 10),
            Err(Unframe::Truncated)
        ));
        assert!(matches!(unframe(&[1, 0], 10), Err(Unframe::Truncated)));
    }
}
