//! # shanlian-explorer
//!
//! The public face of a Shanlian node: a JSON API under `/api/v1` (its
//! OpenAPI 3.1 document at `/api/openapi.json`, browsable at `/api/docs/`)
//! and the donor's web page at `/`. Every node serves it on its own public
//! port, beside the local submission endpoint.
//!
//! The explorer is untrusted by design. Whatever matters comes with what a
//! client needs to check it against the genesis alone: receipt bundles
//! (SPEC §13), trace proofs (SPEC §10.6), checkpoints with their governance
//! evidence and consistency proofs. Summaries the server computes for
//! reading (a donation's flow, a charity's ratios) say so, and point to the
//! proof that checks them.
//!
//! * [`chain`]: status, genesis, blocks, checkpoints, log proofs, the SSE
//!   stream of blocks;
//! * [`records`]: records, their proofs and annotations, submission;
//! * [`funds`]: donations, donors, projects, charities, members, lottery,
//!   audits, search;
//! * [`submit`]: the seam to the node's admission;
//! * [`error`]: the one error type (`{code, message}`, no internals).
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod chain;
#[cfg(feature = "dev")]
pub mod dev;
pub mod draws;
pub mod error;
pub mod funds;
pub mod records;
pub mod serve;
pub mod submit;
pub mod views;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use error::ApiError;
use shanlian_ledger::genesis::Genesis;
use shanlian_ledger::store::query::LedgerReader;
use shanlian_ledger::types::Hash32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What every handler shares.
pub struct Inner {
    pub reader: Arc<dyn LedgerReader>,
    pub submitter: Option<Arc<dyn submit::Submitter>>,
    pub genesis: Genesis,
    pub genesis_hash: Hash32,
    /// Heights of newly committed blocks.
    pub events: broadcast::Sender<u64>,
}

pub type Shared = Arc<Inner>;

/// How the explorer is served.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The built web page (`explorer/web/dist`); none: the API only.
    pub web_dir: Option<PathBuf>,
    /// Longest time to produce a response (not to stream one).
    pub request_timeout: Duration,
    /// Most connections open at once (bounded by a quarter of the file
    /// limit); more wait in the kernel's backlog.
    pub max_connections: usize,
    /// A connection that has not sent a request head within this is closed.
    pub header_timeout: Duration,
    /// Requests per second one client (IP address) may make on average,
    /// and in a burst; 0 turns rate limiting off.
    pub rate_per_second: u32,
    pub burst: u32,
    /// Most requests handled at once; more are answered 503 at once.
    pub max_in_flight: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            web_dir: None,
            request_timeout: Duration::from_secs(10),
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            rate_per_second: 200,
            burst: 400,
            max_in_flight: 512,
        }
    }
}

/// The explorer of one node.
#[derive(Clone)]
pub struct Explorer {
    shared: Shared,
    settings: Settings,
}

/// Tells the explorer (its event stream) that blocks were committed.
#[derive(Clone)]
pub struct Notifier(broadcast::Sender<u64>);

impl Notifier {
    pub fn committed(&self, height: u64) {
        let _ = self.0.send(height);
    }
}

/// Cache policies.
#[derive(Debug, Clone, Copy)]
pub enum Cache {
    /// Never changes (a committed block, a record, a proof at a fixed size).
    Immutable,
    /// Depends on the tip: revalidate every time.
    Fresh,
}

/// A JSON answer with its cache policy.
pub fn cached(cache: Cache, body: impl IntoResponse) -> Response {
    let mut r = body.into_response();
    let v = match cache {
        Cache::Immutable => "public, max-age=31536000, immutable",
        Cache::Fresh => "no-cache",
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(v));
    r
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Shanlian explorer API",
        description = "The public API of a Shanlian (善链) node: blocks, records and their proofs, donations and where their money went, projects, charities, the welfare lottery, audits. Proof formats are those of docs/SPEC.md; verify them against the genesis, not against this server.",
        version = "1"
    ),
    tags(
        (name = "chain", description = "Status, genesis, blocks and the block stream"),
        (name = "records", description = "Records and submission"),
        (name = "proofs", description = "What a client verifies: inclusion and consistency proofs, checkpoints, receipt bundles, trace proofs"),
        (name = "funds", description = "Donations, donors, projects"),
        (name = "members", description = "Members, validators, charities"),
        (name = "lottery", description = "The welfare lottery"),
        (name = "audits", description = "Attestations and findings"),
        (name = "search", description = "Search")
    )
)]
struct ApiDoc;

/// The answers any route can give besides its own: a bad request, a
/// timeout, a body too large (submissions), rate limiting, a server error
/// and overload — all as `{code, message}`.
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::HttpMethod;
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        let common = [
            ("400", "the request is not valid (its `code` says how)"),
            ("408", "the request took too long"),
            (
                "429",
                "too many requests from this address (see Retry-After)",
            ),
            ("500", "the server failed"),
            ("503", "the server is busy or cannot take records now"),
        ];
        for (_, item) in openapi.paths.paths.iter_mut() {
            for method in [HttpMethod::Get, HttpMethod::Post] {
                let op = match method {
                    HttpMethod::Get => item.get.as_mut(),
                    _ => item.post.as_mut(),
                };
                let Some(op) = op else { continue };
                for (code, what) in common {
                    op.responses
                        .responses
                        .entry(code.into())
                        .or_insert_with(|| error(what).into());
                }
                if method == HttpMethod::Get {
                    op.responses
                        .responses
                        .entry("404".into())
                        .or_insert_with(|| error("not found on this node").into());
                }
                if method == HttpMethod::Post {
                    op.responses
                        .responses
                        .entry("413".into())
                        .or_insert_with(|| {
                            error("the body is larger than this route takes").into()
                        });
                }
            }
        }
    }
}

impl Explorer {
    pub fn new(
        reader: Arc<dyn LedgerReader>,
        submitter: Option<Arc<dyn submit::Submitter>>,
        genesis: Genesis,
        settings: Settings,
    ) -> Explorer {
        let (events, _) = broadcast::channel(1024);
        Explorer {
            shared: Arc::new(Inner {
                reader,
                submitter,
                genesis_hash: genesis.hash(),
                genesis,
                events,
            }),
            settings,
        }
    }

    pub fn notifier(&self) -> Notifier {
        Notifier(self.shared.events.clone())
    }

    /// The API routes and their OpenAPI document.
    fn api(&self) -> (Router<Shared>, utoipa::openapi::OpenApi) {
        let max = self.shared.genesis.params.max_record_bytes as usize;
        let single = OpenApiRouter::new()
            .routes(routes!(records::submit))
            .layer(DefaultBodyLimit::max(2 * max + 64));
        let batch = OpenApiRouter::new()
            .routes(routes!(records::submit_batch))
            .layer(DefaultBodyLimit::max(
                records::MAX_BATCH * (2 * max + 8) + 64,
            ));
        let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
            .routes(routes!(chain::status))
            .routes(routes!(chain::genesis))
            .routes(routes!(chain::blocks))
            .routes(routes!(chain::block))
            .routes(routes!(chain::block_by_hash))
            .routes(routes!(chain::raw_block))
            .routes(routes!(chain::raw_blocks))
            .routes(routes!(chain::checkpoint_proof))
            .routes(routes!(chain::checkpoint))
            .routes(routes!(chain::consistency))
            .routes(routes!(chain::events))
            .routes(routes!(records::record))
            .routes(routes!(records::record_status))
            .routes(routes!(records::record_statuses))
            .routes(routes!(records::annotations))
            .routes(routes!(records::inclusion))
            .routes(routes!(records::bundle))
            .routes(routes!(records::trace))
            .routes(routes!(funds::overview))
            .routes(routes!(funds::donation))
            .routes(routes!(funds::receipt))
            .routes(routes!(funds::donor_donations))
            .routes(routes!(funds::projects))
            .routes(routes!(funds::project))
            .routes(routes!(funds::members))
            .routes(routes!(funds::member_records))
            .routes(routes!(funds::charities))
            .routes(routes!(funds::charity))
            .routes(routes!(funds::lottery))
            .routes(routes!(funds::lottery_sales))
            .routes(routes!(funds::lottery_records))
            .routes(routes!(draws::draws))
            .routes(routes!(draws::draw))
            .routes(routes!(funds::audits))
            .routes(routes!(funds::search))
            .merge(single)
            .merge(batch)
            .split_for_parts();
        let mut doc = doc;
        utoipa::Modify::modify(&CommonResponses, &mut doc);
        (router, doc)
    }

    /// The OpenAPI document.
    pub fn openapi(&self) -> utoipa::openapi::OpenApi {
        self.api().1
    }

    /// Everything the explorer serves, with its hardening layers (except
    /// per-client rate limiting, which needs the peer address: see
    /// [`Explorer::serve`]).
    pub fn router(&self) -> Router {
        use tower::ServiceBuilder;
        use tower_http::cors::CorsLayer;
        let (api, doc) = self.api();
        let doc = Arc::new(doc);
        let mut app = api
            .route(
                "/api/openapi.json",
                get(move || {
                    let doc = doc.clone();
                    async move { cached(Cache::Fresh, Json(doc.as_ref().clone())) }
                }),
            )
            .route("/api/{*rest}", axum::routing::any(not_found))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .with_state(self.shared.clone());
        if let Some(dir) = &self.settings.web_dir {
            // The API's documentation page, built from swagger-ui-dist.
            app = app.nest_service(
                "/api/docs",
                tower_http::services::ServeDir::new(dir.join("api-docs"))
                    .append_index_html_on_directories(true),
            );
            // The page is one HTML file that routes itself: unknown paths
            // get it too.
            let files = tower_http::services::ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .fallback(tower_http::services::ServeFile::new(dir.join("index.html")));
            app = app.fallback_service(files);
        }
        let cors = CorsLayer::new()
            .allow_origin(tower_http::cors::Any)
            .allow_methods([Method::GET, Method::HEAD])
            .allow_headers([header::CONTENT_TYPE, header::CACHE_CONTROL]);
        serve::harden(app.layer(cors), self.settings.request_timeout).layer(
            ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(overloaded))
                .load_shed()
                .concurrency_limit(self.settings.max_in_flight),
        )
    }

    /// Serves the explorer on `listener` until `shutdown` resolves, with
    /// per-client rate limiting by peer IP address.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let mut app = self.router();
        if self.settings.rate_per_second > 0 {
            let period_ms = (1000 / u64::from(self.settings.rate_per_second)).max(1);
            let config = tower_governor::governor::GovernorConfigBuilder::default()
                .per_millisecond(period_ms)
                .burst_size(self.settings.burst.max(1))
                .finish();
            if let Some(config) = config {
                let config = Arc::new(config);
                let limiter = config.limiter().clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        limiter.retain_recent();
                    }
                });
                app = app
                    .layer(tower_governor::GovernorLayer::new(config).error_handler(rate_limited));
            }
        }
        let limits =
            serve::Limits::new(self.settings.max_connections, self.settings.header_timeout);
        serve::serve(listener, app, limits, shutdown).await
    }
}

fn rate_limited(e: tower_governor::GovernorError) -> Response {
    match e {
        tower_governor::GovernorError::TooManyRequests { wait_time, .. } => {
            let mut r = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "request.rate_limited",
                format!("too many requests from this address; retry in {wait_time} s"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&wait_time.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        other => ApiError::internal(format!("rate limiter: {other}")).into_response(),
    }
}

async fn overloaded(e: tower::BoxError) -> Response {
    if e.is::<tower::load_shed::error::Overloaded>() {
        let mut r = ApiError::unavailable("server.busy", "the server is busy; retry shortly")
            .into_response();
        // Temporary, unlike the other 503s (a node that is faulty,
        // stopping, or takes no records): clients wait and retry.
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        r
    } else {
        ApiError::internal(e).into_response()
    }
}

async fn not_found() -> Response {
    ApiError::not_found("request.not_found", "no such path; see /api/openapi.json").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "request.method_not_allowed",
        "that method is not allowed on this path; see /api/openapi.json",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shed load is the one 503 a client should wait out: it says when to
    /// retry; the others (a faulty node, one stopping) do not.
    #[tokio::test]
    async fn a_busy_answer_says_when_to_retry() {
        let r = overloaded(Box::new(tower::load_shed::error::Overloaded::new())).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers().get(header::RETRY_AFTER).unwrap(), "1");
        let r = ApiError::unavailable("node.fault", "submit to another node").into_response();
        assert!(r.headers().get(header::RETRY_AFTER).is_none());
    }
}
