//! The chain itself: status, genesis, blocks, checkpoints, log proofs and
//! the stream of committed blocks.

use crate::error::extract::{Path, Query};
use crate::error::{ApiError, ApiResult};
use crate::views::*;
use crate::{cached, Cache, Shared};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::Response;
use axum::Json;
use futures_util::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shanlian_ledger::block::BlockData;
use shanlian_ledger::record::Record;
use shanlian_ledger::state::Location;
use shanlian_ledger::types::*;
use std::convert::Infallible;
use tokio_stream::wrappers::BroadcastStream;
use utoipa::{IntoParams, ToSchema};

/// A validator in force.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValidatorView {
    pub member: MemberRef,
    /// Its signing key, hex.
    pub public_key: String,
    pub power: u64,
}

/// Where the chain is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusView {
    pub chain_id: String,
    /// blake3 of the canonical genesis bytes, hex: what a client pins.
    pub genesis_hash: String,
    /// The newest committed height (0 before the first block).
    pub height: u64,
    pub time: Option<Time>,
    pub log_size: u64,
    /// The newest signed checkpoint (SPEC §7.4 JSON form): verify its
    /// certificate against the validator set followed from genesis.
    #[schema(value_type = Option<Object>)]
    pub checkpoint: Option<Value>,
    /// The validator set that decides the next block.
    pub validators: Vec<ValidatorView>,
}

#[utoipa::path(get, path = "/api/v1/status", tag = "chain",
    responses((status = 200, body = StatusView)))]
pub async fn status(State(s): State<Shared>) -> ApiResult<Response> {
    let r = &*s.reader;
    let tip = r.tip()?;
    let height = tip.as_ref().map_or(0, |t| t.height);
    let names = Names::load(r)?;
    let set = r.validator_set_at(height + 1)?;
    let checkpoint = if height > 0 {
        Some(serde_json::to_value(r.signed_checkpoint(height)?).unwrap_or(Value::Null))
    } else {
        None
    };
    let view = StatusView {
        chain_id: s.genesis.chain_id.clone(),
        genesis_hash: hex::encode(s.genesis_hash),
        height,
        time: tip.as_ref().map(|t| t.time.into()),
        log_size: tip.as_ref().map_or(0, |t| t.log_size),
        checkpoint,
        validators: set
            .validators
            .iter()
            .map(|v| ValidatorView {
                member: names.member(&v.address),
                public_key: v.public_key.to_hex(),
                power: v.power,
            })
            .collect(),
    };
    Ok(cached(Cache::Fresh, Json(view)))
}

/// The genesis file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GenesisView {
    /// blake3 of its canonical bytes, hex.
    pub hash: String,
    pub chain_id: String,
    /// The canonical TOML form: save it, check its hash, verify with it.
    pub toml: String,
}

#[utoipa::path(get, path = "/api/v1/genesis", tag = "chain",
    responses((status = 200, body = GenesisView)))]
pub async fn genesis(State(s): State<Shared>) -> Response {
    cached(
        Cache::Immutable,
        Json(GenesisView {
            hash: hex::encode(s.genesis_hash),
            chain_id: s.genesis.chain_id.clone(),
            toml: s.genesis.to_toml(),
        }),
    )
}

pub fn block_summary(names: &Names, b: &BlockData) -> BlockSummary {
    let h = &b.header;
    BlockSummary {
        height: h.height,
        hash: hex::encode(h.hash()),
        time: h.time.into(),
        proposer: names.member(&h.proposer),
        records: b.records.len() as u64,
        log_size: h.log_size,
    }
}

/// Listing blocks, newest first.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BlocksQuery {
    /// Blocks below this height (default: from the newest).
    #[param(maximum = 9007199254740991.0)]
    pub before: Option<u64>,
    /// At most this many (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/blocks", tag = "chain", params(BlocksQuery),
    responses((status = 200, body = Paged<BlockSummary>)))]
pub async fn blocks(State(s): State<Shared>, Query(q): Query<BlocksQuery>) -> ApiResult<Response> {
    let r = &*s.reader;
    let tip = r.tip()?.map_or(0, |t| t.height);
    let top = q
        .before
        .map(safe)
        .transpose()?
        .map_or(tip, |b| b.saturating_sub(1).min(tip));
    let limit = page_limit(q.limit)? as u64;
    let names = Names::load(r)?;
    let mut items = Vec::new();
    let mut h = top;
    while h >= 1 && (items.len() as u64) < limit {
        let b = r
            .block(h)?
            .ok_or_else(|| ApiError::internal(format!("block {h} below the tip is missing")))?;
        items.push(block_summary(&names, &b));
        h -= 1;
    }
    let next = (h >= 1).then(|| (h + 1).to_string());
    Ok(cached(Cache::Fresh, Json(Paged { items, next })))
}

/// A block: its header, certificate and records.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BlockView {
    #[serde(flatten)]
    pub summary: BlockSummary,
    /// The header (SPEC §2.5 JSON form).
    #[schema(value_type = Object)]
    pub header: Value,
    /// This node's commit certificate for it.
    #[schema(value_type = Object)]
    pub certificate: Value,
    pub records_list: Vec<RecordSummary>,
}

fn block_view(s: &Shared, height: u64) -> ApiResult<Response> {
    let r = &*s.reader;
    let b = r.block(height)?.ok_or_else(|| {
        ApiError::not_found(
            "block.unknown",
            format!("no block at height {height} on this node"),
        )
    })?;
    let cert = r
        .certificate(height)?
        .ok_or_else(|| ApiError::internal(format!("certificate {height} missing")))?;
    let names = Names::load(r)?;
    let max = s.genesis.params.max_record_bytes as usize;
    let mut list = Vec::with_capacity(b.records.len());
    for (i, bytes) in b.records.iter().enumerate() {
        let rec = Record::from_bytes(bytes, max).map_err(ApiError::internal)?;
        let at = Location {
            height,
            index: i as u32,
        };
        list.push(record_summary(r, &names, &rec, at)?);
    }
    Ok(cached(
        Cache::Immutable,
        Json(BlockView {
            summary: block_summary(&names, &b),
            header: serde_json::to_value(&b.header).unwrap_or(Value::Null),
            certificate: serde_json::to_value(&cert).unwrap_or(Value::Null),
            records_list: list,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/blocks/{height}", tag = "chain",
    params(("height" = u64, Path, description = "a committed height", maximum = 9007199254740991.0)),
    responses((status = 200, body = BlockView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn block(State(s): State<Shared>, Path(height): Path<String>) -> ApiResult<Response> {
    let height = parse_height(&height)?;
    block_view(&s, height)
}

/// A block as committed: its canonical bytes and this node's certificate,
/// for clients that replay the chain themselves.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RawBlock {
    pub height: u64,
    /// `encode(BlockData)`, hex (SPEC §2.5).
    pub block: String,
    /// `encode(CommitCertificate)`, hex.
    pub certificate: String,
}

#[utoipa::path(get, path = "/api/v1/blocks/{height}/raw", tag = "chain",
    params(("height" = u64, Path, description = "a committed height", maximum = 9007199254740991.0)),
    responses((status = 200, body = RawBlock), (status = 404, body = crate::error::ErrorBody)))]
pub async fn raw_block(State(s): State<Shared>, Path(height): Path<String>) -> ApiResult<Response> {
    let height = parse_height(&height)?;
    let r = &*s.reader;
    let b = r.block(height)?.ok_or_else(|| {
        ApiError::not_found(
            "block.unknown",
            format!("no block at height {height} on this node"),
        )
    })?;
    let cert = r
        .certificate(height)?
        .ok_or_else(|| ApiError::internal(format!("certificate {height} missing")))?;
    Ok(cached(
        Cache::Immutable,
        Json(RawBlock {
            height,
            block: hex::encode(shanlian_ledger::codec::encode(&b)),
            certificate: hex::encode(shanlian_ledger::codec::encode(&cert)),
        }),
    ))
}

/// Most hex characters of blocks one `/api/v1/blocks/raw` answer carries,
/// 4 MiB of block bytes (the first block is always sent, however large).
pub const RAW_RANGE_BYTES: usize = 8 << 20;

/// A run of committed blocks, oldest first.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawRangeQuery {
    /// The first height.
    #[param(minimum = 1, maximum = 9007199254740991.0)]
    pub from: u64,
    /// At most this many blocks (1–200, default 50); fewer when the tip is
    /// reached or the answer reaches 4 MiB of block bytes.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
}

/// Blocks as committed, for clients that download and replay the chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RawRange {
    /// `from` onward, consecutive; empty when `from` is above the tip.
    pub blocks: Vec<RawBlock>,
    /// This node's newest height when it answered.
    pub tip: u64,
}

#[utoipa::path(get, path = "/api/v1/blocks/raw", tag = "chain", params(RawRangeQuery),
    responses((status = 200, body = RawRange), (status = 400, body = crate::error::ErrorBody)))]
pub async fn raw_blocks(
    State(s): State<Shared>,
    Query(q): Query<RawRangeQuery>,
) -> ApiResult<Response> {
    let from = safe(q.from)?;
    if from == 0 {
        return Err(ApiError::bad_request(
            "request.bad_height",
            "from is a height of at least 1",
        ));
    }
    let limit = page_limit(q.limit)? as u64;
    let r = &*s.reader;
    let tip = r.tip()?.map_or(0, |t| t.height);
    let mut blocks = Vec::new();
    let mut bytes = 0usize;
    let mut h = from;
    while h <= tip
        && (blocks.len() as u64) < limit
        && (blocks.is_empty() || bytes < RAW_RANGE_BYTES)
    {
        let b = r
            .block(h)?
            .ok_or_else(|| ApiError::internal(format!("block {h} below the tip is missing")))?;
        let cert = r
            .certificate(h)?
            .ok_or_else(|| ApiError::internal(format!("certificate {h} missing")))?;
        let block = hex::encode(shanlian_ledger::codec::encode(&b));
        bytes += block.len();
        blocks.push(RawBlock {
            height: h,
            block,
            certificate: hex::encode(shanlian_ledger::codec::encode(&cert)),
        });
        h += 1;
    }
    // Fresh, not immutable: `tip` moves.
    Ok(cached(Cache::Fresh, Json(RawRange { blocks, tip })))
}

#[utoipa::path(get, path = "/api/v1/blocks/hash/{hash}", tag = "chain",
    params(("hash" = String, Path, description = "a header hash, 64 hex digits", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = BlockView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn block_by_hash(
    State(s): State<Shared>,
    Path(hash): Path<String>,
) -> ApiResult<Response> {
    let h = parse_hash(&hash)?;
    let height = s
        .reader
        .height_of(&h)?
        .ok_or_else(|| ApiError::not_found("block.unknown", "no committed header has that hash"))?;
    block_view(&s, height)
}

pub fn parse_height(s: &str) -> ApiResult<u64> {
    s.parse::<u64>()
        .ok()
        .filter(|h| *h <= MAX_SAFE)
        .ok_or_else(|| {
            ApiError::bad_request(
                "request.bad_height",
                "a height is a non-negative integer (at most 2^53 − 1)",
            )
        })
}

pub fn parse_hash(s: &str) -> ApiResult<Hash32> {
    let mut h = [0u8; 32];
    hex::decode_to_slice(s, &mut h)
        .map_err(|_| ApiError::bad_request("request.bad_hash", "a hash is 64 hex digits"))?;
    Ok(h)
}

#[utoipa::path(get, path = "/api/v1/checkpoints/{height}", tag = "proofs",
    params(("height" = String, Path, description = "a committed height, or `latest`", pattern = "^([0-9]{1,15}|latest)$")),
    responses((status = 200, description = "a signed checkpoint (SPEC §7.4)", body = Object),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn checkpoint(
    State(s): State<Shared>,
    Path(height): Path<String>,
) -> ApiResult<Response> {
    let (height, cache) = if height == "latest" {
        let h = s.reader.tip()?.map_or(0, |t| t.height);
        if h == 0 {
            return Err(ApiError::not_found(
                "block.unknown",
                "no block is committed yet",
            ));
        }
        (h, Cache::Fresh)
    } else {
        (parse_height(&height)?, Cache::Immutable)
    };
    let c = s.reader.signed_checkpoint(height)?;
    Ok(cached(
        cache,
        Json(serde_json::to_value(c).unwrap_or(Value::Null)),
    ))
}

/// Two sizes of the log.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SizesQuery {
    /// The older log size.
    #[param(minimum = 1, maximum = 9007199254740991.0)]
    pub from: u64,
    /// The newer log size.
    #[param(minimum = 1, maximum = 9007199254740991.0)]
    pub to: u64,
}

#[utoipa::path(get, path = "/api/v1/proofs/consistency", tag = "proofs", params(SizesQuery),
    responses((status = 200, description = "an RFC 9162 consistency proof (SPEC §13.1)", body = Object),
        (status = 400, body = crate::error::ErrorBody)))]
pub async fn consistency(
    State(s): State<Shared>,
    Query(q): Query<SizesQuery>,
) -> ApiResult<Response> {
    let size = s.reader.tip()?.map_or(0, |t| t.log_size);
    let (from, to) = (safe(q.from)?, safe(q.to)?);
    if from == 0 || from > to {
        return Err(ApiError::bad_request(
            "proof.bad_sizes",
            "need 0 < from ≤ to",
        ));
    }
    if to > size {
        return Err(ApiError::not_found(
            "proof.beyond_log",
            format!("the log on this node has {size} records"),
        ));
    }
    let p = s.reader.consistency_proof(from, to)?;
    Ok(cached(
        Cache::Immutable,
        Json(serde_json::to_value(p).unwrap_or(Value::Null)),
    ))
}

/// From a checkpoint a client trusted to a newer one.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HeightsQuery {
    /// The height of the checkpoint the client remembers.
    #[param(minimum = 1, maximum = 9007199254740991.0)]
    pub from: u64,
    /// The newer height (default: the newest).
    #[param(minimum = 1, maximum = 9007199254740991.0)]
    pub to: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/checkpoints/proof", tag = "proofs", params(HeightsQuery),
    responses((status = 200, description = "a checkpoint proof (SPEC §13.6): the governance evidence from genesis, both signed checkpoints, the consistency proof between their logs", body = Object),
        (status = 400, body = crate::error::ErrorBody)))]
pub async fn checkpoint_proof(
    State(s): State<Shared>,
    Query(q): Query<HeightsQuery>,
) -> ApiResult<Response> {
    let r = &*s.reader;
    let tip = r.tip()?.map_or(0, |t| t.height);
    let to = q.to.map(safe).transpose()?.unwrap_or(tip);
    if safe(q.from)? == 0 || q.from > to {
        return Err(ApiError::bad_request(
            "proof.bad_heights",
            "need 0 < from ≤ to",
        ));
    }
    if to > tip {
        return Err(ApiError::not_found(
            "block.unknown",
            format!("the newest height on this node is {tip}"),
        ));
    }
    let old = r.signed_checkpoint(q.from)?;
    let new = r.signed_checkpoint(to)?;
    let steps = r.validator_evidence(to)?;
    let consistency = if old.header.log_size > 0 && old.header.log_size < new.header.log_size {
        Some(r.consistency_proof(old.header.log_size, new.header.log_size)?)
    } else {
        None
    };
    let cache = if q.to.is_some() {
        Cache::Immutable
    } else {
        Cache::Fresh
    };
    let p = shanlian_ledger::bundle::CheckpointProof {
        validators: steps,
        old,
        new,
        consistency,
    };
    Ok(cached(
        cache,
        Json(serde_json::to_value(p).unwrap_or(Value::Null)),
    ))
}

/// Where the stream starts.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Send the committed blocks from this height first (at most the last
    /// 200), then new ones as they commit.
    #[param(maximum = 9007199254740991.0)]
    pub from: Option<u64>,
}

fn block_event(s: &Shared, h: u64) -> Option<Event> {
    let b = s.reader.block(h).ok()??;
    let names = Names::load(&*s.reader).ok()?;
    let data = serde_json::to_string(&block_summary(&names, &b)).ok()?;
    Some(Event::default().event("block").id(h.to_string()).data(data))
}

#[utoipa::path(get, path = "/api/v1/events", tag = "chain", params(EventsQuery),
    responses((status = 200, description = "Server-Sent Events: one `block` event (a BlockSummary) per committed block", content_type = "text/event-stream")))]
pub async fn events(
    State(s): State<Shared>,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let live = BroadcastStream::new(s.events.subscribe());
    let tip = s.reader.tip()?.map_or(0, |t| t.height);
    let next = q
        .from
        .map(safe)
        .transpose()?
        .map(|f| f.max(tip.saturating_sub(199)).max(1))
        .unwrap_or(tip + 1);
    // Every height from `next` to the newest known, one event each; a
    // notification may stand for several blocks (or be missed when the
    // client lags): the gap is filled from the store.
    let stream = stream::unfold(
        (live, next, tip, s),
        |(mut live, mut next, mut top, s)| async move {
            loop {
                if next <= top {
                    let h = next;
                    next += 1;
                    if let Some(e) = block_event(&s, h) {
                        return Some((Ok(e), (live, next, top, s)));
                    }
                    continue;
                }
                match live.next().await {
                    Some(Ok(h)) => top = top.max(h),
                    Some(Err(_lagged)) => {
                        top = s.reader.tip().ok().flatten().map_or(top, |t| t.height);
                    }
                    None => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
