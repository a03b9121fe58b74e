//! Where money is and went: donations (by receipt and by donor
//! commitment) with their flows, projects, charities and their statutory
//! ratios, members and validators, the lottery, audits, and search.

use crate::chain::parse_height;
use crate::error::extract::{Path, Query};
use crate::error::{ApiError, ApiResult};
use crate::records::{annotations_of, AnnotationsView};
use crate::views::*;
use crate::{cached, Cache, Shared};
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shanlian_ledger::compliance;
use shanlian_ledger::record::{Payload, Record};
use shanlian_ledger::state::{FundState, Location, Project, ProjectStatus};
use shanlian_ledger::store::query::LedgerReader;
use shanlian_ledger::tracing::What;
use shanlian_ledger::types::*;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

fn parse_address(s: &str) -> ApiResult<Address> {
    Address::from_hex(s)
        .map_err(|_| ApiError::bad_request("request.bad_address", "an address is 40 hex digits"))
}

/// A fund's money.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FundView {
    #[schema(value_type = FundName)]
    pub fund: Value,
    /// Everything that came in, in fen.
    pub raised: u64,
    pub refunded: u64,
    /// Everything that went out (disbursements, grants, allocations).
    pub spent: u64,
    pub balance: u64,
}

fn fund_view(f: &FundRef, s: Option<&FundState>) -> FundView {
    let d = FundState::default();
    let s = s.unwrap_or(&d);
    FundView {
        fund: fund_json(f),
        raised: s.inflow,
        refunded: s.refunded,
        spent: s.outflow,
        balance: s.balance().0,
    }
}

/// An outflow a donation reached: its record (category, purpose,
/// recipient and evidence hashes are in its payload) and its receipt
/// bundle.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutflowView {
    pub record: RecordView,
    /// Its receipt bundle (SPEC §13.2), to verify it on its own.
    #[schema(value_type = Object)]
    pub bundle: Value,
}

/// A donation and where its money went.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DonationView {
    pub charity: MemberRef,
    pub receipt: String,
    pub record: RecordView,
    #[schema(value_type = FundName)]
    pub fund: Value,
    pub amount: u64,
    pub refunded: u64,
    /// Where the donation starts on its fund's axis (SPEC §10.1).
    pub position: u64,
    /// The server's own reading of the flow (SPEC §10.4 steps). Do not trust
    /// it: verify `GET /api/v1/records/{id}/trace`, which proves the same
    /// steps against certified headers.
    #[schema(value_type = Vec<Object>)]
    pub flow: Value,
    /// Every outflow the flow reached.
    pub outflows: Vec<OutflowView>,
    /// Corrections and findings about the donation.
    pub annotations: AnnotationsView,
}

#[utoipa::path(get, path = "/api/v1/donations/{charity}/{receipt}", tag = "funds",
    params(("charity" = String, Path, description = "the charity's address, 40 hex digits", pattern = "^[0-9a-fA-F]{40}$"),
        ("receipt" = String, Path, description = "the e-receipt number")),
    responses((status = 200, body = DonationView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn donation(
    State(s): State<Shared>,
    Path((charity, receipt)): Path<(String, String)>,
) -> ApiResult<Response> {
    let charity = parse_address(&charity)?;
    let r = &*s.reader;
    let receipt = ReceiptNo(receipt);
    let d = r.donation(&charity, &receipt)?.ok_or_else(|| {
        ApiError::not_found(
            "donation.unknown",
            format!("no donation with receipt {receipt} of charity {charity}"),
        )
    })?;
    let names = Names::load(r)?;
    let c = r
        .committed(&d.record)?
        .ok_or_else(|| ApiError::internal("donation record not committed"))?;
    // The flow as this node's rows give it (the client verifies the trace
    // proof, which shows the same steps).
    let steps = flow_of(&s, &d)?;
    let mut outflows = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for step in &steps {
        if let What::Spent { outflow, .. } = &step.what {
            if seen.insert(*outflow) {
                let oc = r
                    .committed(outflow)?
                    .ok_or_else(|| ApiError::internal("traced outflow not committed"))?;
                outflows.push(OutflowView {
                    record: record_view(r, &names, &oc)?,
                    bundle: r.receipt_bundle(outflow)?.to_json(),
                });
            }
        }
    }
    Ok(cached(
        Cache::Fresh,
        Json(DonationView {
            charity: names.member(&charity),
            receipt: receipt.0.clone(),
            record: record_view(r, &names, &c)?,
            fund: fund_json(&d.fund),
            amount: d.amount.0,
            refunded: d.refunded.0,
            position: d.start,
            flow: serde_json::to_value(&steps).unwrap_or(Value::Null),
            outflows,
            annotations: annotations_of(r, &d.record)?,
        }),
    ))
}

/// A receipt: the donation's record and its receipt bundle, what a donor's
/// check needs first (the flow is `GET /api/v1/donations/…`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceiptView {
    pub id: String,
    pub height: u64,
    #[schema(value_type = FundName)]
    pub fund: Value,
    pub amount: u64,
    pub refunded: u64,
    /// The receipt bundle (SPEC §13.2): verify it against the genesis.
    #[schema(value_type = Object)]
    pub bundle: Value,
}

#[utoipa::path(get, path = "/api/v1/receipts/{charity}/{receipt}", tag = "funds",
    params(("charity" = String, Path, description = "the charity's address, 40 hex digits", pattern = "^[0-9a-fA-F]{40}$"),
        ("receipt" = String, Path, description = "the e-receipt number")),
    responses((status = 200, body = ReceiptView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn receipt(
    State(s): State<Shared>,
    Path((charity, receipt)): Path<(String, String)>,
) -> ApiResult<Response> {
    let charity = parse_address(&charity)?;
    let r = &*s.reader;
    let receipt = ReceiptNo(receipt);
    let d = r.donation(&charity, &receipt)?.ok_or_else(|| {
        ApiError::not_found(
            "donation.unknown",
            format!("no donation with receipt {receipt} of charity {charity}"),
        )
    })?;
    let bundle = r.receipt_bundle(&d.record)?;
    Ok(cached(
        Cache::Fresh,
        Json(ReceiptView {
            id: d.record.to_hex(),
            height: bundle.block.checkpoint.header.height,
            fund: fund_json(&d.fund),
            amount: d.amount.0,
            refunded: d.refunded.0,
            bundle: bundle.to_json(),
        }),
    ))
}

/// A donation's flow from the store's rows (SPEC §10.4).
fn flow_of(
    s: &Shared,
    d: &shanlian_ledger::state::Donation,
) -> ApiResult<Vec<shanlian_ledger::tracing::Step>> {
    Ok(s.reader.follow(&d.fund, d.start, d.amount.0)?)
}

/// One donation of a donor.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DonorDonation {
    pub record: RecordSummary,
    pub charity: MemberRef,
    pub receipt: String,
    pub amount: u64,
    #[schema(value_type = FundName)]
    pub fund: Value,
    pub time: Time,
}

#[utoipa::path(get, path = "/api/v1/donors/{commitment}/donations", tag = "funds",
    params(("commitment" = String, Path, description = "the donor commitment (SPEC §5), 64 hex digits: computed by the donor, never their identity", pattern = "^[0-9a-fA-F]{64}$"), PageQuery),
    responses((status = 200, body = Paged<DonorDonation>), (status = 400, body = crate::error::ErrorBody)))]
pub async fn donor_donations(
    State(s): State<Shared>,
    Path(commitment): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let c = Commitment(crate::chain::parse_hash(&commitment).map_err(|_| {
        ApiError::bad_request("request.bad_commitment", "a commitment is 64 hex digits")
    })?);
    let r = &*s.reader;
    let page = r.donations_by_donor(&c, q.after()?, q.limit()?)?;
    let names = Names::load(r)?;
    let mut items = Vec::new();
    for at in page.items {
        let rec = record_at(r, at)?;
        let Payload::RecordDonation(d) = &rec.signed.body.payload else {
            return Err(ApiError::internal("donor index names a non-donation"));
        };
        let charity = r
            .key_owner(&rec.signed.signer)?
            .ok_or_else(|| ApiError::internal("donation signer unknown"))?;
        let time = r
            .header(at.height)?
            .map(|h| h.time)
            .ok_or_else(|| ApiError::internal("header missing"))?;
        items.push(DonorDonation {
            record: record_summary(r, &names, &rec, at)?,
            charity: names.member(&charity),
            receipt: d.receipt.0.clone(),
            amount: d.amount.0,
            fund: fund_json(&d.fund),
            time: time.into(),
        });
    }
    Ok(cached(
        Cache::Fresh,
        Json(Paged {
            items,
            next: page.next.map(cursor),
        }),
    ))
}

fn record_at(r: &dyn LedgerReader, at: Location) -> ApiResult<Record> {
    r.record_at(at)?
        .ok_or_else(|| ApiError::internal(format!("indexed record {at:?} missing")))
}

// --- Projects -----------------------------------------------------------------------------------

/// A project and its money.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectView {
    pub id: String,
    pub owner: MemberRef,
    pub title: String,
    pub category: String,
    pub target: u64,
    pub start: Time,
    pub end: Time,
    /// `pending` (awaiting the bureau's approval), `active` or `closed`.
    pub status: String,
    pub public_fundraising_ref: Option<String>,
    pub approval_ref: Option<String>,
    /// blake3 of the final report, hex, once closed.
    pub final_report: Option<String>,
    pub money: FundView,
}

fn status_name(s: ProjectStatus) -> &'static str {
    match s {
        ProjectStatus::Pending => "pending",
        ProjectStatus::Active => "active",
        ProjectStatus::Closed => "closed",
    }
}

fn project_view(
    r: &dyn LedgerReader,
    names: &Names,
    id: &ProjectId,
    p: &Project,
) -> ApiResult<ProjectView> {
    let f = FundRef::Project(id.clone());
    let fs = r.fund(&f)?;
    Ok(ProjectView {
        id: id.0.clone(),
        owner: names.member(&p.owner),
        title: p.title.clone(),
        category: format!("{:?}", p.category),
        target: p.target.0,
        start: p.start.into(),
        end: p.end.into(),
        status: status_name(p.status).into(),
        public_fundraising_ref: p.public_fundraising_ref.clone(),
        approval_ref: p.approval_ref.clone(),
        final_report: p.final_report.map(hex::encode),
        money: fund_view(&f, fs.as_ref()),
    })
}

/// Filters for the project list.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectsQuery {
    /// Only this charity's (address, hex).
    #[param(pattern = "^[0-9a-fA-F]{40}$")]
    pub charity: Option<String>,
    /// `pending`, `active` or `closed`.
    #[param(pattern = "^(pending|active|closed)$")]
    pub status: Option<String>,
    /// A category (`Elderly`, `Education`, …).
    pub category: Option<String>,
    /// The last project id of the previous page.
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/projects", tag = "funds", params(ProjectsQuery),
    responses((status = 200, body = Paged<ProjectView>), (status = 400, body = crate::error::ErrorBody)))]
pub async fn projects(
    State(s): State<Shared>,
    Query(q): Query<ProjectsQuery>,
) -> ApiResult<Response> {
    let r = &*s.reader;
    let charity = q.charity.as_deref().map(parse_address).transpose()?;
    if let Some(st) = &q.status {
        if !["pending", "active", "closed"].contains(&st.as_str()) {
            return Err(ApiError::bad_request(
                "request.bad_status",
                "status is pending, active or closed",
            ));
        }
    }
    let limit = page_limit(q.limit)?;
    let names = Names::load(r)?;
    let mut all = r.projects()?;
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let mut items = Vec::new();
    let mut next = None;
    for (id, p) in all {
        if q.after.as_ref().is_some_and(|a| id.0 <= *a)
            || charity.is_some_and(|c| c != p.owner)
            || q.status
                .as_ref()
                .is_some_and(|st| st != status_name(p.status))
            || q.category
                .as_ref()
                .is_some_and(|c| !c.eq_ignore_ascii_case(&format!("{:?}", p.category)))
        {
            continue;
        }
        if items.len() == limit {
            next = items.last().map(|v: &ProjectView| v.id.clone());
            break;
        }
        items.push(project_view(r, &names, &id, &p)?);
    }
    Ok(cached(Cache::Fresh, Json(Paged { items, next })))
}

/// Money of a project by where it came from and what it went to.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Breakdown {
    pub donations: u64,
    pub grants_in: u64,
    pub welfare_allocations_in: u64,
    pub refunds: u64,
    pub charitable_activity: u64,
    pub management: u64,
    pub fundraising: u64,
    pub grants_out: u64,
    /// How many records touch the fund (the sums cover at most 200,000).
    pub records: u64,
}

/// A project in full.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectDetail {
    #[serde(flatten)]
    pub project: ProjectView,
    pub breakdown: Breakdown,
    /// The newest records touching the project's fund.
    pub recent: Vec<RecordSummary>,
}

/// Most records summed for one project's breakdown.
const BREAKDOWN_CAP: usize = 200_000;

#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "funds",
    params(("id" = String, Path, description = "the project id")),
    responses((status = 200, body = ProjectDetail), (status = 404, body = crate::error::ErrorBody)))]
pub async fn project(State(s): State<Shared>, Path(id): Path<String>) -> ApiResult<Response> {
    let r = &*s.reader;
    let id = ProjectId(id);
    let p = r
        .project(&id)?
        .ok_or_else(|| ApiError::not_found("project.unknown", format!("no project {id}")))?;
    let names = Names::load(r)?;
    let fund = FundRef::Project(id.clone());
    let mut b = Breakdown::default();
    let mut after = None;
    let mut locations = Vec::new();
    loop {
        let page = r.records_of_fund(&fund, after, shanlian_ledger::store::query::MAX_PAGE)?;
        locations.extend(page.items);
        if page.next.is_none() || locations.len() >= BREAKDOWN_CAP {
            break;
        }
        after = page.next;
    }
    b.records = locations.len() as u64;
    for at in &locations {
        let rec = record_at(r, *at)?;
        add_to_breakdown(&mut b, &rec.signed.body.payload, &fund, &id);
    }
    let mut recent = Vec::new();
    for at in locations.iter().rev().take(20) {
        recent.push(record_summary(r, &names, &record_at(r, *at)?, *at)?);
    }
    Ok(cached(
        Cache::Fresh,
        Json(ProjectDetail {
            project: project_view(r, &names, &id, &p)?,
            breakdown: b,
            recent,
        }),
    ))
}

fn add_to_breakdown(b: &mut Breakdown, p: &Payload, fund: &FundRef, id: &ProjectId) {
    use shanlian_ledger::record::WelfareRecipient;
    use shanlian_ledger::types::SpendingCategory as C;
    match p {
        Payload::RecordDonation(d) if &d.fund == fund => b.donations += d.amount.0,
        Payload::RecordRefund(r) => b.refunds += r.amount.0,
        Payload::TransferGrant(g) if &g.to == id => b.grants_in += g.amount.0,
        Payload::TransferGrant(g) if &g.from == fund => b.grants_out += g.amount.0,
        Payload::AllocateWelfareFund(a) if a.recipient == WelfareRecipient::Project(id.clone()) => {
            b.welfare_allocations_in += a.amount.0
        }
        Payload::RecordDisbursement(d) if &d.fund == fund => match d.category {
            C::CharitableActivity => b.charitable_activity += d.amount.0,
            C::Management => b.management += d.amount.0,
            C::Fundraising => b.fundraising += d.amount.0,
        },
        _ => {}
    }
}

// --- Charities and members ----------------------------------------------------------------------

/// A member of the network.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberView {
    pub address: String,
    pub role: String,
    pub name: String,
    /// Unified social credit code.
    pub uscc: String,
    pub public_key: String,
    pub suspended: bool,
    /// Voting power (0: not a validator).
    pub power: u64,
    pub admitted_height: u64,
}

#[utoipa::path(get, path = "/api/v1/members/{address}/records", tag = "members",
    params(("address" = String, Path, description = "a member's address, 40 hex digits", pattern = "^[0-9a-fA-F]{40}$"), PageQuery),
    responses((status = 200, description = "the records the member signed, in commit order", body = Paged<RecordView>)))]
pub async fn member_records(
    State(s): State<Shared>,
    Path(address): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let a = parse_address(&address)?;
    let r = &*s.reader;
    let names = Names::load(r)?;
    let page = r.records_of_member(&a, q.after()?, q.limit()?)?;
    let mut items = Vec::with_capacity(page.items.len());
    for at in page.items {
        let rec = record_at(r, at)?;
        let c = r
            .committed(&rec.id)?
            .ok_or_else(|| ApiError::internal("indexed record not committed"))?;
        items.push(record_view(r, &names, &c)?);
    }
    Ok(cached(
        Cache::Fresh,
        Json(Paged {
            items,
            next: page.next.map(cursor),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/members", tag = "members",
    responses((status = 200, body = Vec<MemberView>)))]
pub async fn members(State(s): State<Shared>) -> ApiResult<Response> {
    let mut out: Vec<MemberView> = s
        .reader
        .members()?
        .into_iter()
        .map(|(a, m)| MemberView {
            address: a.to_hex(),
            role: role_name(m.role).into(),
            name: m.name,
            uscc: m.uscc.0,
            public_key: m.key.to_hex(),
            suspended: m.suspended,
            power: m.power,
            admitted_height: m.admitted_height,
        })
        .collect();
    out.sort_by(|a, b| (&a.role, &a.name).cmp(&(&b.role, &b.name)));
    Ok(cached(Cache::Fresh, Json(out)))
}

/// One year of a charity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CharityYearView {
    pub year: u32,
    /// The ledger's totals for the year (fen).
    #[schema(value_type = Object)]
    pub totals: Value,
    /// Donations and grants received, less refunds.
    pub income: u64,
    pub spending: u64,
    /// Charity Law art. 60 against the genesis thresholds (basis points).
    #[schema(value_type = Object)]
    pub art60: Value,
}

/// A public list entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListingView {
    /// `AbnormalActivity` or `SeriousViolation`.
    pub list: String,
    pub reason: String,
    pub since: Time,
}

/// A charity in full.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CharityView {
    pub member: MemberView,
    pub general_fund: FundView,
    pub years: Vec<CharityYearView>,
    pub listings: Vec<ListingView>,
    pub projects: Vec<ProjectView>,
}

fn charity_view(
    s: &Shared,
    names: &Names,
    a: Address,
    m: shanlian_ledger::state::Member,
    listings: &[shanlian_ledger::store::query::Listed],
) -> ApiResult<CharityView> {
    let r = &*s.reader;
    let years = r.charity_years(&a)?;
    let by_year: BTreeMap<u32, _> = years.iter().cloned().collect();
    let years = years
        .iter()
        .map(|(y, t)| {
            let prev = y.checked_sub(1).and_then(|p| by_year.get(&p));
            CharityYearView {
                year: *y,
                totals: serde_json::to_value(t).unwrap_or(Value::Null),
                income: compliance::income(t),
                spending: compliance::spending(t),
                art60: serde_json::to_value(compliance::art60(*y, t, prev, &s.genesis.params))
                    .unwrap_or(Value::Null),
            }
        })
        .collect();
    let general = FundRef::General(a);
    let mut projects = Vec::new();
    for (id, p) in r.projects()? {
        if p.owner == a {
            projects.push(project_view(r, names, &id, &p)?);
        }
    }
    Ok(CharityView {
        member: MemberView {
            address: a.to_hex(),
            role: role_name(m.role).into(),
            name: m.name,
            uscc: m.uscc.0,
            public_key: m.key.to_hex(),
            suspended: m.suspended,
            power: m.power,
            admitted_height: m.admitted_height,
        },
        general_fund: fund_view(&general, r.fund(&general)?.as_ref()),
        years,
        listings: listings
            .iter()
            .filter(|((o, _), _)| *o == a)
            .map(|((_, k), l)| ListingView {
                list: format!("{k:?}"),
                reason: l.reason.clone(),
                since: l.since.into(),
            })
            .collect(),
        projects,
    })
}

#[utoipa::path(get, path = "/api/v1/charities", tag = "members",
    responses((status = 200, body = Vec<CharityView>)))]
pub async fn charities(State(s): State<Shared>) -> ApiResult<Response> {
    let r = &*s.reader;
    let names = Names::load(r)?;
    let listings = r.listings()?;
    let mut out = Vec::new();
    for (a, m) in r.members()? {
        if m.role == Role::Charity {
            out.push(charity_view(&s, &names, a, m, &listings)?);
        }
    }
    Ok(cached(Cache::Fresh, Json(out)))
}

#[utoipa::path(get, path = "/api/v1/charities/{address}", tag = "members",
    params(("address" = String, Path, description = "the charity's address, 40 hex digits", pattern = "^[0-9a-fA-F]{40}$")),
    responses((status = 200, body = CharityView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn charity(State(s): State<Shared>, Path(address): Path<String>) -> ApiResult<Response> {
    let a = parse_address(&address)?;
    let r = &*s.reader;
    let m = r
        .member(&a)?
        .filter(|m| m.role == Role::Charity)
        .ok_or_else(|| ApiError::not_found("charity.unknown", format!("no charity {a}")))?;
    let names = Names::load(r)?;
    let listings = r.listings()?;
    Ok(cached(
        Cache::Fresh,
        Json(charity_view(&s, &names, a, m, &listings)?),
    ))
}

// --- Lottery and audits -------------------------------------------------------------------------

/// A game: its split rule and its totals.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GameView {
    pub id: String,
    pub name: String,
    pub prize_bp: u32,
    pub issuance_fee_bp: u32,
    pub welfare_bp: u32,
    pub central_bp: u32,
    #[schema(value_type = Object)]
    pub totals: Value,
}

/// One year of welfare-fund allocations.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WelfareYearView {
    pub year: u32,
    /// By purpose: elderly (扶老), disabled (助残), orphans (救孤), poverty
    /// relief (济困), other.
    pub elderly: u64,
    pub disabled: u64,
    pub orphans: u64,
    pub poverty: u64,
    pub other: u64,
    /// The elderly share against the genesis minimum (basis points).
    #[schema(value_type = Object)]
    pub elderly_share: Value,
}

/// The welfare lottery's money.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LotteryView {
    pub games: Vec<GameView>,
    /// The local welfare pool (its inflow is the local welfare share of
    /// sales; its outflow the allocations).
    pub welfare_pool: FundView,
    pub years: Vec<WelfareYearView>,
    pub elderly_min_share_bp: u32,
}

#[utoipa::path(get, path = "/api/v1/lottery", tag = "lottery",
    responses((status = 200, body = LotteryView)))]
pub async fn lottery(State(s): State<Shared>) -> ApiResult<Response> {
    let r = &*s.reader;
    let mut games = Vec::new();
    for g in &s.genesis.games {
        let totals = r.game(&g.id)?.unwrap_or_default();
        games.push(GameView {
            id: g.id.0.clone(),
            name: g.name.clone(),
            prize_bp: g.prize_bp,
            issuance_fee_bp: g.issuance_fee_bp,
            welfare_bp: g.welfare_bp,
            central_bp: g.central_bp,
            totals: serde_json::to_value(totals).unwrap_or(Value::Null),
        });
    }
    let years = r
        .welfare_years()?
        .into_iter()
        .map(|(y, w)| WelfareYearView {
            year: y,
            elderly: w.by_purpose[0],
            disabled: w.by_purpose[1],
            orphans: w.by_purpose[2],
            poverty: w.by_purpose[3],
            other: w.by_purpose[4],
            elderly_share: serde_json::to_value(compliance::elderly_share(
                y,
                &w,
                &s.genesis.params,
            ))
            .unwrap_or(Value::Null),
        })
        .collect();
    let pool = FundRef::WelfarePool;
    Ok(cached(
        Cache::Fresh,
        Json(LotteryView {
            games,
            welfare_pool: fund_view(&pool, r.fund(&pool)?.as_ref()),
            years,
            elderly_min_share_bp: s.genesis.params.elderly_min_share_bp,
        }),
    ))
}

/// Records of some members, of some kinds, newest last, a page at a time.
fn records_of_role(
    s: &Shared,
    role: Role,
    keep: impl Fn(&Payload) -> bool,
    q: &PageQuery,
) -> ApiResult<Paged<RecordView>> {
    let r = &*s.reader;
    let names = Names::load(r)?;
    let limit = q.limit()?;
    let members: Vec<Address> = r
        .members()?
        .into_iter()
        .filter(|(_, m)| m.role == role)
        .map(|(a, _)| a)
        .collect();
    // Merge each member's records in commit order; scan a bounded number.
    let mut locations = Vec::new();
    for m in &members {
        let mut after = q.after()?;
        loop {
            let page = r.records_of_member(m, after, shanlian_ledger::store::query::MAX_PAGE)?;
            locations.extend(page.items);
            if page.next.is_none() || locations.len() >= 20_000 {
                break;
            }
            after = page.next;
        }
    }
    locations.sort_by_key(|l| (l.height, l.index));
    locations.dedup();
    let mut items = Vec::new();
    let mut next = None;
    for at in locations {
        let rec = record_at(r, at)?;
        if !keep(&rec.signed.body.payload) {
            continue;
        }
        if items.len() == limit {
            next = Some(cursor(Location {
                height: items.last().map_or(0, |v: &RecordView| v.height),
                index: items.last().map_or(0, |v: &RecordView| v.index),
            }));
            break;
        }
        let c = r
            .committed(&rec.id)?
            .ok_or_else(|| ApiError::internal("indexed record not committed"))?;
        items.push(record_view(r, &names, &c)?);
    }
    Ok(Paged { items, next })
}

/// Filters for lottery sales.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SalesQuery {
    pub game: Option<String>,
    pub period: Option<String>,
    pub region: Option<String>,
    #[param(pattern = "^[0-9]{1,15}\\.[0-9]{1,9}$")]
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/lottery/sales", tag = "lottery", params(SalesQuery),
    responses((status = 200, body = Paged<RecordView>)))]
pub async fn lottery_sales(
    State(s): State<Shared>,
    Query(q): Query<SalesQuery>,
) -> ApiResult<Response> {
    let page = PageQuery {
        after: q.after.clone(),
        limit: q.limit,
    };
    let out = records_of_role(
        &s,
        Role::LotteryCentre,
        |p| match p {
            Payload::RecordLotterySales(x) => {
                q.game.as_ref().is_none_or(|g| *g == x.game.0)
                    && q.period.as_ref().is_none_or(|v| *v == x.period)
                    && q.region.as_ref().is_none_or(|v| *v == x.region)
            }
            _ => false,
        },
        &page,
    )?;
    Ok(cached(Cache::Fresh, Json(out)))
}

/// Which lottery records.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LotteryRecordsQuery {
    /// `sales`, `allocations` or `payouts` (default: all three).
    #[param(pattern = "^(sales|allocations|payouts)$")]
    pub kind: Option<String>,
    #[param(pattern = "^[0-9]{1,15}\\.[0-9]{1,9}$")]
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/lottery/records", tag = "lottery", params(LotteryRecordsQuery),
    responses((status = 200, description = "the lottery centre's sales reports, welfare allocations and prize payouts, in commit order", body = Paged<RecordView>)))]
pub async fn lottery_records(
    State(s): State<Shared>,
    Query(q): Query<LotteryRecordsQuery>,
) -> ApiResult<Response> {
    let kind = q.kind.clone();
    if kind
        .as_deref()
        .is_some_and(|k| !["sales", "allocations", "payouts"].contains(&k))
    {
        return Err(ApiError::bad_request(
            "request.bad_kind",
            "kind is sales, allocations or payouts",
        ));
    }
    let page = PageQuery {
        after: q.after.clone(),
        limit: q.limit,
    };
    let out = records_of_role(
        &s,
        Role::LotteryCentre,
        |p| {
            let k = match p {
                Payload::RecordLotterySales(_) => "sales",
                Payload::AllocateWelfareFund(_) => "allocations",
                Payload::RecordPrizePayout(_) => "payouts",
                _ => return false,
            };
            kind.as_deref().is_none_or(|want| want == k)
        },
        &page,
    )?;
    Ok(cached(Cache::Fresh, Json(out)))
}

#[utoipa::path(get, path = "/api/v1/audits", tag = "audits", params(PageQuery),
    responses((status = 200, description = "auditors' attestations and findings, in commit order", body = Paged<RecordView>)))]
pub async fn audits(State(s): State<Shared>, Query(q): Query<PageQuery>) -> ApiResult<Response> {
    let out = records_of_role(
        &s,
        Role::Auditor,
        |p| matches!(p, Payload::AuditAttestation(_) | Payload::Finding(_)),
        &q,
    )?;
    Ok(cached(Cache::Fresh, Json(out)))
}

// --- Search -------------------------------------------------------------------------------------

/// One search hit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hit {
    /// `record`, `block`, `donation`, `project` or `member`.
    pub kind: String,
    /// What to look it up by.
    pub id: String,
    pub label: String,
    /// The API path that answers it.
    pub path: String,
}

/// A search.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// A receipt number, record id, block height or hash, project id or
    /// title, charity name or USCC.
    #[param(min_length = 1, max_length = 200, pattern = ".*\\S.*")]
    pub q: String,
}

#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchQuery),
    responses((status = 200, body = Vec<Hit>), (status = 400, body = crate::error::ErrorBody)))]
pub async fn search(State(s): State<Shared>, Query(q): Query<SearchQuery>) -> ApiResult<Response> {
    let text = q.q.trim();
    if text.is_empty() || text.chars().count() > 200 {
        return Err(ApiError::bad_request(
            "request.bad_query",
            "search for 1 to 200 characters",
        ));
    }
    let r = &*s.reader;
    let names = Names::load(r)?;
    let mut hits = Vec::new();
    if let Ok(h) = crate::chain::parse_hash(text) {
        if let Some(c) = r.committed(&RecordId(h))? {
            let (_, label) = describe(&c.record.signed.body.payload);
            hits.push(Hit {
                kind: "record".into(),
                id: text.to_lowercase(),
                label: format!("{} — {label}", c.record.signed.body.payload.kind()),
                path: format!("/api/v1/records/{}", text.to_lowercase()),
            });
        }
        if let Some(height) = r.height_of(&h)? {
            hits.push(Hit {
                kind: "block".into(),
                id: height.to_string(),
                label: format!("block {height}"),
                path: format!("/api/v1/blocks/{height}"),
            });
        }
    }
    if let Ok(height) = parse_height(text) {
        if r.header(height)?.is_some() {
            hits.push(Hit {
                kind: "block".into(),
                id: height.to_string(),
                label: format!("block {height}"),
                path: format!("/api/v1/blocks/{height}"),
            });
        }
    }
    let members = r.members()?;
    let receipt = ReceiptNo(text.to_string());
    for (a, m) in &members {
        if m.role == Role::Charity {
            if let Some(d) = r.donation(a, &receipt)? {
                hits.push(Hit {
                    kind: "donation".into(),
                    id: format!("{}/{}", a.to_hex(), receipt.0),
                    label: format!(
                        "{} — receipt {} ({}), record {}",
                        m.name, receipt.0, d.amount, d.record
                    ),
                    path: format!("/api/v1/donations/{}/{}", a.to_hex(), receipt.0),
                });
            }
        }
    }
    let needle = text.to_lowercase();
    for (id, p) in r.projects()? {
        if id.0.to_lowercase().contains(&needle) || p.title.to_lowercase().contains(&needle) {
            hits.push(Hit {
                kind: "project".into(),
                id: id.0.clone(),
                label: format!(
                    "{} — {}",
                    p.title,
                    names.member(&p.owner).name.unwrap_or_default()
                ),
                path: format!("/api/v1/projects/{}", id.0),
            });
        }
    }
    for (a, m) in &members {
        if m.name.to_lowercase().contains(&needle) || m.uscc.0.eq_ignore_ascii_case(text) {
            let path = if m.role == Role::Charity {
                format!("/api/v1/charities/{}", a.to_hex())
            } else {
                "/api/v1/members".into()
            };
            hits.push(Hit {
                kind: "member".into(),
                id: a.to_hex(),
                label: format!("{} ({})", m.name, role_name(m.role)),
                path,
            });
        }
    }
    hits.truncate(50);
    Ok(cached(Cache::Fresh, Json(hits)))
}

/// What a donor sees first: the totals of the chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Overview {
    pub charities: u64,
    pub projects: u64,
    /// All donations received, in fen.
    pub donations: u64,
    pub disbursed: u64,
    pub welfare_allocated: u64,
}

#[utoipa::path(get, path = "/api/v1/overview", tag = "funds",
    responses((status = 200, body = Overview)))]
pub async fn overview(State(s): State<Shared>) -> ApiResult<Response> {
    let r = &*s.reader;
    let members = r.members()?;
    let mut o = Overview {
        charities: 0,
        projects: r.projects()?.len() as u64,
        donations: 0,
        disbursed: 0,
        welfare_allocated: 0,
    };
    for (a, m) in &members {
        if m.role == Role::Charity {
            o.charities += 1;
            for (_, y) in r.charity_years(a)? {
                o.donations += y.donations.0;
                o.disbursed += y.charitable_activity.0 + y.management.0 + y.fundraising.0;
            }
        }
    }
    for (_, w) in r.welfare_years()? {
        o.welfare_allocated += w.by_purpose.iter().sum::<u64>();
    }
    Ok(cached(Cache::Fresh, Json(o)))
}
