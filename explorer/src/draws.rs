//! Verifiable draws (SPEC §15): each draw with everything a client needs to
//! recompute its outcome itself — the entry-set root and size, every seed
//! commitment and reveal, the beacon block's header (its bytes, so the
//! client hashes it) — and the records that carried them, whose bundles
//! prove they are on the certified log.

use crate::error::extract::Path;
use crate::error::{ApiError, ApiResult};
use crate::views::{MemberRef, Names};
use crate::{cached, Cache, Shared};
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use serde::Serialize;
use shanlian_ledger::codec::encode;
use shanlian_ledger::record::DrawKind;
use shanlian_ledger::state::Draw;
use shanlian_ledger::store::query::LedgerReader;
use shanlian_ledger::types::*;
use utoipa::ToSchema;

/// One committer's seed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeedView {
    pub member: MemberRef,
    /// `seed_commitment(draw, seed)`, hex.
    pub commitment: String,
    /// The revealed seed, hex (absent until revealed).
    pub seed: Option<String>,
    /// The record that committed it.
    pub record: String,
}

/// The beacon block (height `closes + 1`), once decided.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BeaconBlock {
    pub height: u64,
    /// `encode(Header)`, hex: hash it yourself (SPEC §5) to get `B`.
    pub header: String,
    /// Its header hash, as this node computes it.
    pub hash: String,
}

/// A settled draw's outcome.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutcomeView {
    /// Height of the settling block.
    pub height: u64,
    pub block_hash: String,
    pub beacon: String,
    /// Winning entry indices, in the order drawn.
    pub winners: Vec<u64>,
    /// Committers that did not reveal in time (left out of the beacon).
    pub withheld: Vec<MemberRef>,
    /// The SettleDraw record (its bundle proves the winners are on the log).
    pub record: String,
}

/// A draw.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DrawView {
    pub draw: String,
    /// `reward` (彩民回馈抽奖) or `game`.
    pub kind: String,
    pub title: String,
    pub owner: MemberRef,
    pub entries_root: String,
    pub entries: u64,
    pub winners: u32,
    pub opened: u64,
    pub closes: u64,
    pub reveal_by: u64,
    pub invited: Vec<MemberRef>,
    /// `committing` (height ≤ closes), `revealing`, `ready` (may be
    /// settled) or `settled`.
    pub status: String,
    pub seeds: Vec<SeedView>,
    pub beacon_block: Option<BeaconBlock>,
    pub outcome: Option<OutcomeView>,
}

fn status(d: &Draw, tip: u64) -> &'static str {
    let next = tip + 1;
    if d.outcome.is_some() {
        "settled"
    } else if next <= d.closes {
        "committing"
    } else if next >= d.closes + 2
        && (next > d.reveal_by || d.seeds.iter().all(|s| s.seed.is_some()))
    {
        "ready"
    } else {
        "revealing"
    }
}

fn view(
    r: &dyn LedgerReader,
    names: &Names,
    id: &DrawId,
    d: &Draw,
    tip: u64,
) -> ApiResult<DrawView> {
    let beacon_block = match r.header(d.closes + 1)? {
        Some(h) => Some(BeaconBlock {
            height: h.height,
            header: hex::encode(encode(&h)),
            hash: hex::encode(h.hash()),
        }),
        None => None,
    };
    Ok(DrawView {
        draw: id.0.clone(),
        kind: match d.draw_kind {
            DrawKind::Reward => "reward",
            DrawKind::Game => "game",
        }
        .into(),
        title: d.title.clone(),
        owner: names.member(&d.owner),
        entries_root: hex::encode(d.entries_root),
        entries: d.entries,
        winners: d.winners,
        opened: d.opened,
        closes: d.closes,
        reveal_by: d.reveal_by,
        invited: d.invited.iter().map(|a| names.member(a)).collect(),
        status: status(d, tip).into(),
        seeds: d
            .seeds
            .iter()
            .map(|s| SeedView {
                member: names.member(&s.member),
                commitment: hex::encode(s.commitment),
                seed: s.seed.map(hex::encode),
                record: s.record.to_hex(),
            })
            .collect(),
        beacon_block,
        outcome: d.outcome.as_ref().map(|o| OutcomeView {
            height: o.height,
            block_hash: hex::encode(o.block_hash),
            beacon: hex::encode(o.beacon),
            winners: o.winners.clone(),
            withheld: o.withheld.iter().map(|a| names.member(a)).collect(),
            record: o.record.to_hex(),
        }),
    })
}

#[utoipa::path(get, path = "/api/v1/lottery/draws", tag = "lottery",
    responses((status = 200, description = "every verifiable draw, newest first (SPEC §15)", body = Vec<DrawView>)))]
pub async fn draws(State(s): State<Shared>) -> ApiResult<Response> {
    let r = &*s.reader;
    let tip = r.tip()?.map_or(0, |t| t.height);
    let names = Names::load(r)?;
    let mut all = r.draws()?;
    all.sort_by(|a, b| b.1.opened.cmp(&a.1.opened).then_with(|| a.0.cmp(&b.0)));
    let out = all
        .iter()
        .map(|(id, d)| view(r, &names, id, d, tip))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(cached(Cache::Fresh, Json(out)))
}

#[utoipa::path(get, path = "/api/v1/lottery/draws/{id}", tag = "lottery",
    params(("id" = String, Path, description = "a draw id", pattern = "^[A-Za-z0-9_./-]{1,64}$")),
    responses((status = 200, body = DrawView), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn draw(State(s): State<Shared>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = DrawId(id);
    id.check()
        .map_err(|e| ApiError::bad_request("request.bad_draw", format!("a draw id {e}")))?;
    let r = &*s.reader;
    let d = r
        .draw(&id)?
        .ok_or_else(|| ApiError::not_found("draw.unknown", format!("no draw {id}")))?;
    let tip = r.tip()?.map_or(0, |t| t.height);
    let names = Names::load(r)?;
    let v = view(r, &names, &id, &d, tip)?;
    Ok(cached(Cache::Fresh, Json(v)))
}
