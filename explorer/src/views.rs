//! What the API answers, as JSON. Ledger structures that a client verifies
//! (headers, certificates, checkpoints, bundles, trace proofs) travel in the
//! JSON form docs/SPEC.md gives them; everything else is a view made for
//! reading, and says so where it is the server's own summary.

use crate::error::ApiResult;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shanlian_ledger::record::{Payload, Record};
use shanlian_ledger::state::Location;
use shanlian_ledger::store::query::LedgerReader;
use shanlian_ledger::types::*;
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

/// A member as lists name it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberRef {
    /// 20-byte address, hex.
    pub address: String,
    /// The member's registered name (absent for a key no member holds).
    pub name: Option<String>,
    pub role: Option<String>,
}

/// Names of members by address and by any key they held, read once per
/// request.
pub struct Names {
    by_address: HashMap<Address, (String, Role)>,
}

impl Names {
    pub fn load(r: &dyn LedgerReader) -> ApiResult<Names> {
        let by_address = r
            .members()?
            .into_iter()
            .map(|(a, m)| (a, (m.name, m.role)))
            .collect();
        Ok(Names { by_address })
    }
    pub fn member(&self, a: &Address) -> MemberRef {
        let m = self.by_address.get(a);
        MemberRef {
            address: a.to_hex(),
            name: m.map(|(n, _)| n.clone()),
            role: m.map(|(_, r)| role_name(*r).to_string()),
        }
    }
    pub fn signer(&self, r: &dyn LedgerReader, key: &PublicKey) -> ApiResult<MemberRef> {
        Ok(match r.key_owner(key)? {
            Some(a) => self.member(&a),
            None => MemberRef {
                address: Address::of_key(key).to_hex(),
                name: None,
                role: None,
            },
        })
    }
}

pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::Bureau => "bureau",
        Role::Charity => "charity",
        Role::LotteryCentre => "lottery_centre",
        Role::Auditor => "auditor",
    }
}

/// A fund named in JSON: `{"General": address}`, `{"Project": id}` or
/// `"WelfarePool"` (the ledger's own JSON form).
pub fn fund_json(f: &FundRef) -> Value {
    serde_json::to_value(f).unwrap_or(Value::Null)
}

/// Milliseconds and their UTC reading.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Time {
    /// UTC milliseconds since 1970.
    pub ms: u64,
    /// RFC 3339, UTC.
    pub utc: String,
}

impl From<Timestamp> for Time {
    fn from(t: Timestamp) -> Self {
        Time {
            ms: t.0,
            utc: t.to_string(),
        }
    }
}

/// One line of a block list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BlockSummary {
    pub height: u64,
    /// The header hash, hex.
    pub hash: String,
    pub time: Time,
    pub proposer: MemberRef,
    /// How many records the block holds.
    pub records: u64,
    /// The log size after the block.
    pub log_size: u64,
}

/// One line of a record list: what it is and who signed it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordSummary {
    pub id: String,
    pub height: u64,
    pub index: u32,
    /// The payload kind (`RecordDonation`, `RecordDisbursement`, …).
    pub kind: String,
    pub signer: MemberRef,
    /// The money it moves, in fen, when it moves money.
    pub amount: Option<u64>,
    /// A short description (receipt number, project, purpose, …).
    pub label: String,
}

/// A committed record, decoded, with its raw bytes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordView {
    pub id: String,
    pub height: u64,
    pub index: u32,
    /// Its position in the log.
    pub log_index: u64,
    /// The block's time.
    pub time: Time,
    pub kind: String,
    pub signer: MemberRef,
    /// The signing key, hex.
    pub signer_key: String,
    pub created: Time,
    pub expires: Time,
    pub nonce: u64,
    /// The payload, decoded (SPEC §2.2 field names).
    #[schema(value_type = Object)]
    pub payload: Value,
    /// The canonical `SignedRecord` bytes, hex.
    pub bytes: String,
}

/// The amount a payload moves, and a short label.
pub fn describe(p: &Payload) -> (Option<u64>, String) {
    match p {
        Payload::RecordDonation(d) => (Some(d.amount.0), format!("receipt {}", d.receipt)),
        Payload::RecordDisbursement(d) => (Some(d.amount.0), d.purpose.clone()),
        Payload::RecordRefund(r) => (Some(r.amount.0), format!("refund of receipt {}", r.receipt)),
        Payload::TransferGrant(g) => (Some(g.amount.0), format!("grant to project {}", g.to)),
        Payload::RecordLotterySales(s) => (
            Some(s.sales.0),
            format!("{} period {} region {}", s.game, s.period, s.region),
        ),
        Payload::AllocateWelfareFund(a) => (Some(a.amount.0), format!("{:?}", a.purpose)),
        Payload::RecordPrizePayout(pp) => (Some(pp.amount.0), format!("{} {}", pp.game, pp.period)),
        Payload::RegisterProject(r) => (Some(r.target.0), format!("{} {}", r.project, r.title)),
        Payload::CloseProject(c) => (None, format!("close {}", c.project)),
        Payload::ApproveProject(a) => (None, format!("approve {}", a.project)),
        Payload::AdmitMember(m) => (None, m.name.clone()),
        Payload::Correction(c) => (None, format!("{}: {}", c.field, c.corrected)),
        Payload::Finding(f) => (None, f.text.clone()),
        Payload::AuditAttestation(a) => (None, format!("log of height {}", a.height)),
        Payload::OpenDraw(d) => (None, format!("draw {} {}", d.draw, d.title)),
        Payload::CommitDrawSeed(c) => (None, format!("seed committed to draw {}", c.draw)),
        Payload::RevealDrawSeed(r) => (None, format!("seed revealed for draw {}", r.draw)),
        Payload::SettleDraw(d) => (
            None,
            format!("draw {} settled: {} winners", d.draw, d.winners.len()),
        ),
        other => (None, other.kind().to_string()),
    }
}

pub fn record_summary(
    r: &dyn LedgerReader,
    names: &Names,
    rec: &Record,
    at: Location,
) -> ApiResult<RecordSummary> {
    let (amount, label) = describe(&rec.signed.body.payload);
    Ok(RecordSummary {
        id: rec.id.to_hex(),
        height: at.height,
        index: at.index,
        kind: rec.signed.body.payload.kind().to_string(),
        signer: names.signer(r, &rec.signed.signer)?,
        amount,
        label,
    })
}

pub fn record_view(
    r: &dyn LedgerReader,
    names: &Names,
    c: &shanlian_ledger::proofs::Committed,
) -> ApiResult<RecordView> {
    let rec = &c.record;
    let time = r
        .header(c.height)?
        .map(|h| h.time)
        .ok_or_else(|| crate::error::ApiError::internal("header of a committed record"))?;
    let body = &rec.signed.body;
    Ok(RecordView {
        id: rec.id.to_hex(),
        height: c.height,
        index: c.index,
        log_index: c.log_index,
        time: time.into(),
        kind: body.payload.kind().to_string(),
        signer: names.signer(r, &rec.signed.signer)?,
        signer_key: rec.signed.signer.to_hex(),
        created: body.created.into(),
        expires: body.expires.into(),
        nonce: body.nonce,
        payload: serde_json::to_value(&body.payload).unwrap_or(Value::Null),
        bytes: hex::encode(&rec.bytes),
    })
}

/// A page of a list and the cursor to ask for the next one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Paged<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// Paging parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next` cursor of the previous page.
    #[param(pattern = "^[0-9]{1,15}\\.[0-9]{1,9}$")]
    pub after: Option<String>,
    /// At most this many items (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
}

/// The most items one page holds.
pub const MAX_LIMIT: usize = 200;

/// A page size: 1 to [`MAX_LIMIT`], 50 if not given.
pub fn page_limit(limit: Option<usize>) -> ApiResult<usize> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(crate::error::ApiError::bad_request(
            "request.bad_limit",
            format!("limit is 1 to {MAX_LIMIT}"),
        )),
    }
}

/// The largest height, size or position the API takes (2^53 − 1, what a
/// JavaScript number holds exactly).
pub const MAX_SAFE: u64 = (1 << 53) - 1;

/// A height, size or position from a request, at most [`MAX_SAFE`].
pub fn safe(v: u64) -> ApiResult<u64> {
    if v > MAX_SAFE {
        return Err(crate::error::ApiError::bad_request(
            "request.bad_query",
            format!("{v} is beyond any height or size (at most {MAX_SAFE})"),
        ));
    }
    Ok(v)
}

/// A fund as JSON: `{"General": address}`, `{"Project": id}` or
/// `"WelfarePool"`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub enum FundName {
    /// A charity's general fund, by the charity's address (hex).
    General(String),
    /// A project's fund, by project id.
    Project(String),
    /// The local public-welfare pool of lottery sales.
    WelfarePool,
}

impl PageQuery {
    pub fn limit(&self) -> ApiResult<usize> {
        page_limit(self.limit)
    }
    /// The cursor as a location (`height.index`).
    pub fn after(&self) -> ApiResult<Option<Location>> {
        self.after.as_deref().map(parse_cursor).transpose()
    }
}

pub fn parse_cursor(s: &str) -> ApiResult<Location> {
    let bad = || {
        crate::error::ApiError::bad_request(
            "request.bad_cursor",
            "a cursor is the `next` value of a previous page (height.index)",
        )
    };
    let (h, i) = s.split_once('.').ok_or_else(bad)?;
    let height: u64 = h.parse().map_err(|_| bad())?;
    if height > MAX_SAFE {
        return Err(bad());
    }
    Ok(Location {
        height,
        index: i.parse().map_err(|_| bad())?,
    })
}

pub fn cursor(l: Location) -> String {
    format!("{}.{}", l.height, l.index)
}
