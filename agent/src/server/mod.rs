//! `rollwise serve`: the HTTP service Argo Rollouts (web provider or the
//! metric-ai plugin) and Flagger call at each analysis step.
//!
//! Routes (all analyze endpoints need `Authorization: Bearer <token>`):
//! * `POST /v1/analyze`: gather evidence from the cluster, judge, reply small JSON.
//! * `POST /v1/verdicts`: judge an evidence bundle sent in the body.
//! * `POST /a2a/analyze`: rollouts-plugin-metric-ai's agent contract.
//! * `POST /v1/flagger`: Flagger's rollout webhook (200 advances, 412 halts).
//! * `GET /healthz`, `GET /readyz`, `GET /metrics`.
//!
//! See `plugin/README.md` for the AnalysisTemplate and how Argo's phases follow.

pub mod analyzer;
pub mod api;
mod bounded;
pub mod cache;
pub mod config;
mod feedback;
pub mod history;
pub mod hooks;
mod listen;
pub mod metrics;
mod routes;
mod validate;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::sync::Semaphore;

pub use analyzer::{Analyzer, Judged};
pub use config::ServerConfig;
pub use history::History;
pub use metrics::Metrics;

use crate::error::{Error, Result};
use crate::gather::EvidenceSource;
use crate::llm::BoxFuture;
use crate::store::{AnalysisRecord, Store};
use cache::AnalysisCache;

/// Something to do with every finished analysis (post to Slack, start the
/// remediation agent). The hooks run one after another, in the order given,
/// in a task of their own after the reply is decided: they can neither change
/// the verdict nor delay the answer to the caller. They record what they
/// did through `history` (whose failures are logged and counted, never theirs).
pub trait VerdictHook: Send + Sync + std::fmt::Debug {
    fn after<'a>(&'a self, rec: Arc<AnalysisRecord>, history: History) -> BoxFuture<'a, ()>;
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct AppState {
    pub cfg: ServerConfig,
    pub public_url: String,
    pub analyzer: Analyzer,
    /// Where `/v1/analyze`, `/a2a/analyze` and Flagger get evidence; `None`
    /// when no cluster is configured (those routes then answer 503).
    pub source: Option<Arc<dyn EvidenceSource>>,
    /// The history (page, PR dedupe, cross-replica answers); see [`History`].
    pub history: History,
    pub cache: Arc<AnalysisCache>,
    pub metrics: Arc<Metrics>,
    /// The bearer token the analyze endpoints require (`None`: open, only with
    /// `allow-unauthenticated`).
    pub token: Option<String>,
    pub hooks: Vec<Arc<dyn VerdictHook>>,
    permits: Arc<Semaphore>,
    /// Bodies of `/v1/verdicts` being read or held, in KiB as declared
    /// (`max-concurrent-analyses` x `max-body-bytes` in all): what bounds the
    /// memory of bundles before their analysis has a slot.
    read_budget: Arc<Semaphore>,
    /// Analyses running or waiting for one of `permits`.
    queue: cache::AnalysisQueue,
    /// One permit per running hook task, so shutdown can wait for them.
    hook_slots: Arc<Semaphore>,
    deadline: Duration,
    body_timeout: Duration,
    analysis_timeout: Duration,
    default_window: Duration,
    max_window: Duration,
}

/// How to build the state; `AppState::new` checks it.
#[derive(Debug)]
pub struct StateParts {
    pub cfg: ServerConfig,
    pub analyzer: Analyzer,
    pub source: Option<Arc<dyn EvidenceSource>>,
    pub token: Option<String>,
    pub hooks: Vec<Arc<dyn VerdictHook>>,
    pub metrics: Arc<Metrics>,
    /// `None`: a memory store of `[server] store-capacity` analyses.
    pub store: Option<Store>,
    /// Who this process is in claims; `None`: `rollwise-<random>`.
    pub holder: Option<String>,
}

/// The most finished analyses the verdict cache keeps.
pub const CACHE_MAX_ENTRIES: usize = 10_000;
/// The most bytes (records as JSON) the verdict cache keeps.
pub const CACHE_MAX_BYTES: usize = 256 << 20;

/// The read budget in KiB: room for `max-concurrent-analyses` bodies of
/// `max-body-bytes` each, so the bound on held bundles is what it was when
/// each read needed an analysis slot, while small bodies read side by side.
fn read_budget_kib(cfg: &ServerConfig) -> usize {
    let total = cfg
        .max_concurrent_analyses
        .saturating_mul(cfg.max_body_bytes.div_ceil(1024));
    total.min(Semaphore::MAX_PERMITS).min(u32::MAX as usize)
}

/// KiB of the read budget one body takes: its declared length, else (chunked)
/// the most it may be.
pub(crate) fn body_kib(declared: Option<u64>, max_body: usize) -> u32 {
    let bytes = declared
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(max_body)
        .min(max_body);
    u32::try_from(bytes.div_ceil(1024).max(1)).unwrap_or(u32::MAX)
}

impl AppState {
    pub fn new(p: StateParts) -> Result<Arc<Self>> {
        p.cfg.validate()?;
        let token = p.token.filter(|t| !t.trim().is_empty());
        if token.is_none() && !p.cfg.allow_unauthenticated {
            return Err(Error::Config(
                "no API token: set ROLLWISE_API_TOKEN (Argo sends it from a Secret in the AnalysisTemplate's headers), or set [server] allow-unauthenticated = true for a local trial".into(),
            ));
        }
        let (default_window, max_window) = p.cfg.window_bounds()?;
        Ok(Arc::new(AppState {
            public_url: p.cfg.public_url(),
            deadline: p.cfg.deadline()?,
            body_timeout: p.cfg.body_timeout()?,
            analysis_timeout: p.cfg.analysis_timeout()?,
            cache: AnalysisCache::new(p.cfg.cache_ttl()?, CACHE_MAX_ENTRIES, CACHE_MAX_BYTES),
            history: History {
                store: p
                    .store
                    .unwrap_or_else(|| Store::memory(p.cfg.store_capacity)),
                metrics: Arc::clone(&p.metrics),
                holder: p
                    .holder
                    .unwrap_or_else(|| crate::store::holder_identity(|_| None)),
            },
            permits: Arc::new(Semaphore::new(p.cfg.max_concurrent_analyses)),
            read_budget: Arc::new(Semaphore::new(read_budget_kib(&p.cfg))),
            queue: cache::AnalysisQueue::new(
                p.cfg.max_concurrent_analyses,
                p.cfg.max_queued_analyses,
            ),
            hook_slots: Arc::new(Semaphore::new(HOOK_SLOTS)),
            default_window,
            max_window,
            analyzer: p.analyzer,
            source: p.source,
            metrics: p.metrics,
            token,
            hooks: p.hooks,
            cfg: p.cfg,
        }))
    }

    /// Wait until every running analysis is done (graceful shutdown), at most
    /// one analysis timeout, then for the hooks they started (the Slack
    /// message, a remediation) at most [`HOOK_DRAIN`]. A remediation cut off
    /// there keeps its claim until the claim expires.
    pub async fn drain(&self) {
        let all = u32::try_from(self.cfg.max_concurrent_analyses).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(
            self.analysis_timeout + Duration::from_secs(1),
            self.permits.acquire_many(all),
        )
        .await;
        let hooks = u32::try_from(HOOK_SLOTS).unwrap_or(u32::MAX);
        if tokio::time::timeout(HOOK_DRAIN, self.hook_slots.acquire_many(hooks))
            .await
            .is_err()
        {
            tracing::warn!(
                running = HOOK_SLOTS - self.hook_slots.available_permits(),
                "shutting down with verdict hooks still running"
            );
        }
    }

    /// A slot for one hook task, held until it ends; `None` when all are
    /// taken (the task then runs untracked rather than not at all).
    pub(crate) fn hook_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.hook_slots).try_acquire_owned().ok()
    }
}

/// Hook tasks tracked for graceful shutdown.
const HOOK_SLOTS: usize = 256;
/// How long shutdown waits for running hooks after the analyses: a Slack post
/// (bounded by its own timeouts) fits; a long remediation may not.
pub const HOOK_DRAIN: Duration = Duration::from_secs(20);

/// The whole service as one router (the verdict page is merged by the caller).
pub fn router(state: Arc<AppState>) -> Router {
    let analyze = Router::new()
        .route("/v1/analyze", post(routes::analyze))
        .route("/v1/verdicts", post(routes::verdicts))
        .route("/a2a/analyze", post(routes::a2a))
        .route("/v1/analyses/{id}/feedback", post(feedback::api))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            routes::require_token,
        ));
    Router::new()
        .merge(analyze)
        // Flagger cannot send headers: its handler also takes the token from
        // the webhook's metadata (`metadata.token`).
        .route("/v1/flagger", post(routes::flagger))
        // Slack signs its requests; the route checks the signature itself.
        .route("/v1/slack/interactions", post(feedback::slack))
        // Every body but a bundle's is small; `/v1/verdicts` reads its own
        // (bounded by `[server] max-body-bytes`, strings clipped).
        .layer(DefaultBodyLimit::max(routes::SMALL_BODY_BYTES))
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/metrics", get(routes::metrics))
        .layer(axum::middleware::from_fn_with_state(
            state.body_timeout,
            bounded::body_deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            routes::count_requests,
        ))
        .with_state(state)
}

/// The service as `rollwise serve` runs it: [`router`] and the verdict
/// pages over the state's history, readable as [`crate::page::auth`] says
/// (the API token, its login cookie, or `[server] page-user-header`).
pub fn app(state: Arc<AppState>) -> Result<Router> {
    let access = crate::page::auth::PageAccess::new(
        state.token.as_deref(),
        state.cfg.page_user_header.as_deref(),
    )?;
    let pages = crate::page::router(
        state.history.store.clone(),
        crate::page::PageConfig {
            public_url: Some(state.public_url.clone()),
            access,
        },
    );
    Ok(router(state).merge(pages))
}

/// Serve `app` on `listener` until `shutdown` resolves, then let running
/// analyses finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = listener.local_addr().ok();
    tracing::info!(?addr, "rollwise serving");
    let limits = listen::Limits {
        header_timeout: state.cfg.header_timeout()?,
        max_connections: state.cfg.max_connections,
        drain: state.deadline + state.body_timeout + Duration::from_secs(1),
    };
    listen::run(listener, app, limits, shutdown).await;
    tracing::info!("draining running analyses");
    state.drain().await;
    Ok(())
}

/// Resolves on SIGTERM (Kubernetes) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
