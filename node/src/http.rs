//! The node's local HTTP endpoint: clients and tests in other processes
//! submit signed records and ask what became of them. (The public explorer
//! API comes with its own issue.)
//!
//! - `POST /v1/records`: body = the record's canonical bytes
//!   (`application/octet-stream`). 202 `{"id", "status": "pending"}` once
//!   the record is in this node's pool *and* its pool log on disk (it
//!   survives a crash of this node: see [`crate::pool_log`]); 400
//!   `{"code", "message"}` naming the ledger rule that refused it; 503 when
//!   the pool is full (`pool.full`) or the log could not be written
//!   (`node.disk`).
//! - `POST /v1/records/batch`: many records, each a `u32` LE length then
//!   its bytes; 200 `{"accepted", "refused": [{"index", "code", "message"}]}`.
//! - `GET /v1/blocks/{height}`: a committed block's header and record ids.
//! - `GET /v1/records/{id}`: `committed` (height, index), `pending`,
//!   `refused` (code, message), `expired`, or 404.
//! - `GET /health[?check=N]`: committed height and block time, round, pool
//!   size, connected peers per swarm; with `check=N` the last N blocks are
//!   re-checked first. 503 with the reason and the remedy once this node has
//!   found its own store wrong (see [`crate::health`]).

use crate::app::{submit_logged, Admission, AdmitError};
use crate::health::Health;
use crate::metrics::Metrics;
use crate::pool::{Dropped, PoolStatus, SharedPool};
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
use tokio::sync::mpsc;

/// What the handlers share.
#[derive(Clone)]
pub struct Api {
    pub admissions: mpsc::Sender<Admission>,
    pub store: Store,
    pub pool: SharedPool,
    pub max_record_bytes: usize,
    /// Where admitted records are spread to the other nodes.
    pub gossip: Option<crate::gossip::Publisher>,
    pub metrics: Metrics,
    pub genesis_hash: shanlian_ledger::types::Hash32,
    /// The double-signing guard, to report whether this node still signs.
    pub signer: Option<std::sync::Arc<crate::signing::SignGuard>>,
    /// Whether this node found its own store wrong.
    pub health: Health,
    /// Records answered 202 are written here first.
    pub pool_log: Option<std::sync::Arc<crate::pool_log::PoolLog>>,
}

/// Most blocks one `GET /health?check=N` re-checks.
pub const MAX_CHECK_BLOCKS: u64 = 10_000;

/// Most records in one batch request.
pub const MAX_BATCH: usize = 10_000;

/// The router (no socket: tests can drive it directly).
pub fn router(api: Api) -> Router {
    use axum::extract::DefaultBodyLimit;
    // Each route reads at most what it can use: one record's limit, or a
    // full batch of them; anything larger is 413 before it is read.
    // (A little over one record, so a record just past the genesis limit
    // gets the ledger's own `record.too_large` with its sizes.)
    let one = api.max_record_bytes + 1024;
    let batch = MAX_BATCH * (api.max_record_bytes + 4);
    Router::new()
        .route(
            "/v1/records",
            post(submit).layer(DefaultBodyLimit::max(one)),
        )
        .route(
            "/v1/records/batch",
            post(submit_batch).layer(DefaultBodyLimit::max(batch)),
        )
        .route("/v1/records/{id}", get(status))
        .route("/v1/blocks/{height}", get(block))
        .route("/health", get(health))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "request.not_found",
                "no such path: POST /v1/records, POST /v1/records/batch, GET /v1/records/{id}, GET /v1/blocks/{height}, GET /health".into(),
            )
        })
        .with_state(api)
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

fn admit_error(e: &AdmitError) -> Response {
    let status = match e {
        AdmitError::Refused(_) => StatusCode::BAD_REQUEST,
        AdmitError::Full(_) => StatusCode::SERVICE_UNAVAILABLE,
        AdmitError::Fault(_) => StatusCode::INTERNAL_SERVER_ERROR,
        AdmitError::NotDurable(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    error(status, e.code(), e.to_string())
}

/// The answer when the application loop no longer takes records: the
/// node is shutting down, or it stopped because its store is wrong.
fn stopping(api: &Api) -> Response {
    match api.health.fault() {
        Some(why) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "node.fault",
            format!("this node stopped taking records because its own store is wrong ({why}); submit to another node"),
        ),
        None => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "node.stopping",
            "the node is shutting down".into(),
        ),
    }
}

/// A store error as an answer: a value that fails its check against the
/// headers is `store.corrupt` (and this node stops consensus), never data.
fn store_error(api: &Api, e: shanlian_ledger::store::StoreError) -> Response {
    if e.is_corrupt() {
        let why = e.to_string();
        api.health.set_fault(format!("serving a request: {why}"));
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "store.corrupt",
            format!("this node's store fails its own check: {why}; ask another node"),
        )
    } else {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "store.error",
            e.to_string(),
        )
    }
}

async fn submit(State(api): State<Api>, body: Bytes) -> Response {
    let record = match Record::from_bytes(&body, api.max_record_bytes) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.code(), e.to_string()),
    };
    let id = record.id;
    let bytes = record.bytes.clone();
    let Ok(mut results) = submit_logged(
        &api.admissions,
        api.genesis_hash,
        vec![record],
        api.pool_log.as_ref(),
    )
    .await
    else {
        return stopping(&api);
    };
    match results.pop() {
        Some(Ok(())) => {
            if let Some(g) = &api.gossip {
                g.publish(bytes).await;
            }
            (
                StatusCode::ACCEPTED,
                Json(json!({ "id": id.to_hex(), "status": "pending" })),
            )
                .into_response()
        }
        Some(Err(e)) => admit_error(&e),
        None => stopping(&api),
    }
}

/// `POST /v1/records/batch`: many records in one request, each as a `u32`
/// LE length then its canonical bytes. Answers 200 with how many were
/// accepted and, for each one that was not, its index, code and message.
async fn submit_batch(State(api): State<Api>, body: Bytes) -> Response {
    // Split with a bound: a body of millions of empty frames is refused at
    // the 10,001st, not after it has all been split.
    let frames = match shanlian_ledger::codec::unframe(&body, MAX_BATCH) {
        Ok(f) => f,
        Err(shanlian_ledger::codec::UnframeError::TooMany) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request.batch_too_large",
                format!("at most {MAX_BATCH} records per batch"),
            )
        }
        Err(shanlian_ledger::codec::UnframeError::Truncated) => {
            return error(
                StatusCode::BAD_REQUEST,
                "request.bad_framing",
                "a batch is records each prefixed by its length as a u32 little-endian; a length runs past the end".into(),
            )
        }
    };
    let mut refused = Vec::new();
    let mut records = Vec::new();
    let mut index = Vec::new();
    for (i, b) in frames.into_iter().enumerate() {
        match Record::from_bytes(b, api.max_record_bytes) {
            Ok(r) => {
                records.push(r);
                index.push(i);
            }
            Err(e) => {
                refused.push(json!({ "index": i, "code": e.code(), "message": e.to_string() }))
            }
        }
    }
    let bytes: Vec<Vec<u8>> = records.iter().map(|r| r.bytes.clone()).collect();
    let Ok(results) = submit_logged(
        &api.admissions,
        api.genesis_hash,
        records,
        api.pool_log.as_ref(),
    )
    .await
    else {
        return stopping(&api);
    };
    let mut accepted = 0usize;
    for ((i, result), bytes) in index.into_iter().zip(results).zip(bytes) {
        match result {
            Ok(()) => {
                accepted += 1;
                if let Some(g) = &api.gossip {
                    g.publish(bytes).await;
                }
            }
            Err(e) => {
                refused.push(json!({ "index": i, "code": e.code(), "message": e.to_string() }))
            }
        }
    }
    refused.sort_by_key(|v| v["index"].as_u64());
    Json(json!({ "accepted": accepted, "refused": refused })).into_response()
}

/// `GET /v1/blocks/{height}`: a committed block's header fields and its
/// record ids, in order.
async fn block(State(api): State<Api>, Path(height): Path<u64>) -> Response {
    match api.store.checked_block(height) {
        Ok(Some(b)) => {
            let ids: Vec<String> = b
                .records
                .iter()
                .map(|r| RecordId::of_bytes(r).to_hex())
                .collect();
            Json(json!({
                "height": b.header.height,
                "hash": hex::encode(b.header.hash()),
                "time_ms": b.header.time.0,
                "proposer": b.header.proposer.to_hex(),
                "records": ids,
            }))
            .into_response()
        }
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "block.unknown",
            format!("no block at height {height} on this node"),
        ),
        Err(e) => store_error(&api, e),
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
        Err(e) => return store_error(&api, e),
    }
    let status = api.pool.lock().status(&id);
    match status {
        PoolStatus::Pending => Json(json!({ "id": id.to_hex(), "status": "pending" })).into_response(),
        PoolStatus::Dropped(Dropped::Refused(r)) => Json(json!({ "id": id.to_hex(), "status": "refused", "code": r.code(), "message": r.to_string() }))
            .into_response(),
        PoolStatus::Dropped(Dropped::Expired) => Json(json!({ "id": id.to_hex(), "status": "expired", "message": "the record expired before any block took it; sign it again with a later expiry" }))
            .into_response(),
        PoolStatus::Unknown => error(
            StatusCode::NOT_FOUND,
            "record.unknown",
            "this node has not seen that record".into(),
        ),
    }
}

/// `GET /health[?check=N]`: the node's state. With `check=N`, the last
/// N blocks are first re-checked against their headers, certificates,
/// indexes and the log (`Store::check_recent`); a failure stops this
/// node's consensus. 503 once this node has found its own store wrong.
async fn health(
    State(api): State<Api>,
    axum::extract::Query(q): axum::extract::Query<HealthQuery>,
) -> Response {
    let self_check = match q.check {
        None => serde_json::Value::Null,
        Some(n) if n == 0 || n > MAX_CHECK_BLOCKS => {
            return error(
                StatusCode::BAD_REQUEST,
                "request.bad_check",
                format!("check=N re-checks the last N blocks, 1 to {MAX_CHECK_BLOCKS}"),
            )
        }
        Some(n) => {
            let store = api.store.clone();
            let started = std::time::Instant::now();
            let result = tokio::task::spawn_blocking(move || store.check_recent(n)).await;
            let ms = started.elapsed().as_millis() as u64;
            match result {
                Ok(Ok(c)) => {
                    api.metrics.self_check_blocks.set(c.blocks as i64);
                    api.metrics.self_check_ok.set(1);
                    json!({ "ok": true, "tip": c.tip, "from": c.from, "blocks": c.blocks, "records": c.records, "ms": ms })
                }
                Ok(Err(e)) => {
                    api.metrics.self_check_ok.set(0);
                    let why = format!("the check of the last {n} blocks failed: {e}");
                    api.health.set_fault(why.clone());
                    json!({ "ok": false, "error": why, "ms": ms })
                }
                Err(e) => {
                    json!({ "ok": false, "error": format!("the check did not finish: {e}"), "ms": ms })
                }
            }
        }
    };
    let tip = match api.store.tip() {
        Ok(t) => t,
        Err(e) => return store_error(&api, e),
    };
    let (records, bytes) = {
        let p = api.pool.lock();
        (p.len(), p.bytes())
    };
    let m = &api.metrics;
    let signer = match api.signer.as_ref().and_then(|g| g.stopped()) {
        Some(why) => json!({ "status": "stopped", "reason": why }),
        None => json!({ "status": "ok" }),
    };
    let fault = api.health.fault();
    let mut body = json!({
        "status": if fault.is_some() { "fault" } else { "ok" },
        "signer": signer,
        "height": tip.as_ref().map(|t| t.height).unwrap_or(0),
        "block_time_ms": tip.as_ref().map(|t| t.time.0),
        "round": m.round.get(),
        "pool": { "records": records, "bytes": bytes },
        "peers": {
            "consensus": m.peers_of(crate::metrics::CONSENSUS),
            "gossip": m.peers_of(crate::metrics::GOSSIP),
        },
    });
    if !self_check.is_null() {
        body["self_check"] = self_check;
    }
    match fault {
        Some(why) => {
            body["code"] = json!("node.fault");
            body["message"] = json!(format!("consensus stopped: {why}"));
            body["remedy"] = json!(crate::health::REMEDY);
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
        None => Json(body).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct HealthQuery {
    check: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::Pool;
    use axum::body::Body;
    use axum::http::Request;
    use shanlian_ledger::testkit::{payloads as p, DevNet};
    use shanlian_ledger::types::*;
    use tower::ServiceExt;

    /// A router over a dev chain, with an admission loop that applies the
    /// node's admission (the same `app::admit`) to a copy of its state.
    fn api() -> (Router, DevNet) {
        let mut net = DevNet::on(Store::memory()).unwrap();
        net.commit_all(&[]).unwrap();
        let pool = SharedPool::new(Pool::new(1_000, 1 << 20));
        let (tx, mut rx) = mpsc::channel::<Admission>(16);
        let mut state = net.state.clone();
        let p2 = pool.clone();
        let clock = net.clock;
        tokio::spawn(async move {
            while let Some(a) = rx.recv().await {
                let results = a
                    .records
                    .into_iter()
                    .map(|(r, ok)| {
                        crate::app::admit(&mut state, &p2, &[], r, ok, clock).map(|_| ())
                    })
                    .collect();
                if let Some(reply) = a.reply {
                    let _ = reply.send(results);
                }
            }
        });
        let api = Api {
            admissions: tx,
            store: net.store.clone(),
            pool,
            max_record_bytes: 4096,
            gossip: None,
            metrics: Metrics::register("test"),
            genesis_hash: net.genesis_hash,
            signer: None,
            health: Health::new(Default::default()),
            pool_log: None,
        };
        let app = shanlian_explorer::serve::harden(router(api), std::time::Duration::from_secs(10));
        (app, net)
    }

    /// Every refusal the endpoint makes is `{code, message}` JSON, and a
    /// body past a route's own limit is refused before it is read.
    #[tokio::test]
    async fn limits_and_errors_are_json() {
        let (app, _net) = api();
        // One record's route: 4 KB records, so a 41 MB body is 413.
        let (s, v) = call(&app, "POST", "/v1/records", vec![0; 41 << 20]).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, Some("request.too_large"))
        );
        // A batch of 10,001 empty frames: 413 at the bound, named.
        let (s, v) = call(&app, "POST", "/v1/records/batch", vec![0; 4 * 10_001]).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                Some("request.batch_too_large")
            )
        );
        // 40 MB of empty frames (within the batch route's 41 MB): refused
        // at the 10,001st frame, not after splitting ten million.
        let (s, v) = call(&app, "POST", "/v1/records/batch", vec![0; 40_000_000]).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                Some("request.batch_too_large")
            )
        );
        for (method, uri, status, code) in [
            (
                "GET",
                "/nothing",
                StatusCode::NOT_FOUND,
                "request.not_found",
            ),
            (
                "DELETE",
                "/v1/records",
                StatusCode::METHOD_NOT_ALLOWED,
                "request.method_not_allowed",
            ),
            ("GET", "/v1/blocks/abc", StatusCode::BAD_REQUEST, ""),
        ] {
            let (s, v) = call(&app, method, uri, Vec::new()).await;
            assert_eq!(s, status, "{method} {uri}: {v}");
            assert!(
                v["code"]
                    .as_str()
                    .is_some_and(|c| code.is_empty() || c == code),
                "{method} {uri}: {v}"
            );
            assert!(
                v["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{method} {uri}: {v}"
            );
        }
        // A malformed record says where and what, in words.
        let (s, v) = call(&app, "POST", "/v1/records", vec![1, 2, 3]).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("record.malformed"))
        );
        let m = v["message"].as_str().unwrap();
        assert!(m.contains("at byte") && !m.contains("::"), "{m}");
    }

    async fn call(
        app: &Router,
        method: &str,
        uri: &str,
        body: Vec<u8>,
    ) -> (StatusCode, serde_json::Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    #[tokio::test]
    async fn records_are_admitted_refused_and_reported() {
        let (app, mut net) = api();
        let fund = FundRef::General(net.address("charity-federation"));
        let r = net.receipt();
        let good = net.sign("charity-federation", p::donation(r, fund.clone(), 100, 1));
        let (s, v) = call(&app, "POST", "/v1/records", good.bytes.clone()).await;
        assert_eq!(
            (s, v["status"].as_str()),
            (StatusCode::ACCEPTED, Some("pending"))
        );
        assert_eq!(v["id"], good.id.to_hex());
        let (s, v) = call(
            &app,
            "GET",
            &format!("/v1/records/{}", good.id.to_hex()),
            vec![],
        )
        .await;
        assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("pending")));
        // Resubmitting is harmless.
        let (s, _) = call(&app, "POST", "/v1/records", good.bytes.clone()).await;
        assert_eq!(s, StatusCode::ACCEPTED);
        // A record the rules refuse: 400 with the rule's code.
        let r = net.receipt();
        let wrong_role = net.sign("auditor", p::donation(r, fund.clone(), 100, 1));
        let (s, v) = call(&app, "POST", "/v1/records", wrong_role.bytes).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("signer.role"))
        );
        // Bytes that are no record.
        let (s, v) = call(&app, "POST", "/v1/records", b"junk".to_vec()).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("record.malformed"))
        );
        let (s, v) = call(&app, "POST", "/v1/records", vec![0; 5_000]).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("record.too_large"))
        );
        // Unknown and malformed ids.
        let (s, v) = call(
            &app,
            "GET",
            &format!("/v1/records/{}", "ab".repeat(32)),
            vec![],
        )
        .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("record.unknown"))
        );
        let (s, v) = call(&app, "GET", "/v1/records/xyz", vec![]).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("request.bad_id"))
        );
    }

    #[tokio::test]
    async fn batches_report_each_refusal_by_index() {
        let (app, mut net) = api();
        let fund = FundRef::General(net.address("charity-federation"));
        let mut recs = Vec::new();
        for i in 0..5u64 {
            let r = net.receipt();
            let label = if i == 3 {
                "lottery-centre"
            } else {
                "charity-federation"
            };
            recs.push(
                net.sign(label, p::donation(r, fund.clone(), 100 + i, 1))
                    .bytes,
            );
        }
        recs.insert(1, b"not a record".to_vec());
        let body = crate::gossip::frame(&recs);
        let (s, v) = call(&app, "POST", "/v1/records/batch", body).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["accepted"], 4);
        let refused = v["refused"].as_array().unwrap();
        let got: Vec<(u64, &str)> = refused
            .iter()
            .map(|r| (r["index"].as_u64().unwrap(), r["code"].as_str().unwrap()))
            .collect();
        assert_eq!(got, vec![(1, "record.malformed"), (4, "signer.role")]);
        // A length that runs past the end.
        let (s, v) = call(&app, "POST", "/v1/records/batch", vec![9, 0, 0, 0, 1]).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("request.bad_framing"))
        );
    }

    #[tokio::test]
    async fn blocks_and_health() {
        let (app, net) = api();
        let (s, v) = call(&app, "GET", "/v1/blocks/1", vec![]).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["height"], 1);
        assert_eq!(
            v["hash"],
            hex::encode(net.store.header(1).unwrap().unwrap().hash())
        );
        let (s, v) = call(&app, "GET", "/v1/blocks/99", vec![]).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("block.unknown"))
        );
        let (s, v) = call(&app, "GET", "/health", vec![]).await;
        assert_eq!(
            (s, v["status"].as_str(), v["height"].as_u64()),
            (StatusCode::OK, Some("ok"), Some(1))
        );
        assert!(v.get("self_check").is_none(), "{v}");
        let (s, v) = call(&app, "GET", "/health?check=5", vec![]).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["self_check"]["ok"], true, "{v}");
        assert_eq!(v["self_check"]["blocks"], 1, "{v}");
        for bad in ["0", "10001", "x", "-1"] {
            let (s, v) = call(&app, "GET", &format!("/health?check={bad}"), vec![]).await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "check={bad}: {v}");
            assert!(
                v["code"].is_string() && v["message"].is_string(),
                "check={bad}: {v}"
            );
        }
    }

    /// A block altered on disk is never served: 500 `store.corrupt`, and
    /// from then on /health is 503 with the reason and the remedy, and
    /// records are refused with `node.fault`.
    #[tokio::test]
    async fn a_corrupt_block_is_an_error_and_a_fault() {
        let (app, net) = api();
        let key = shanlian_ledger::keys::height_key(shanlian_ledger::keys::BLOCKS, 1);
        let mut body = net.store.raw(&key).unwrap().unwrap();
        let last = body.len() - 1;
        body[last] ^= 0x01;
        net.store.put_raw(&key, &body).unwrap();
        let (s, v) = call(&app, "GET", "/v1/blocks/1", vec![]).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::INTERNAL_SERVER_ERROR, Some("store.corrupt")),
            "{v}"
        );
        let (s, v) = call(&app, "GET", "/health", vec![]).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        assert_eq!(v["status"], "fault");
        assert_eq!(v["code"], "node.fault");
        assert!(v["message"].as_str().unwrap().contains("height 1"), "{v}");
        assert!(
            v["remedy"]
                .as_str()
                .unwrap()
                .contains("shanlian-node verify"),
            "{v}"
        );
    }
}
