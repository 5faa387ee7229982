//! The handlers. Each parses and checks its input (400/422 naming the field),
//! then runs or joins an analysis and answers within the caller's deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::api::{
    A2aReply, A2aRequest, AnalyzeReply, AnalyzeRequest, ApiError, FlaggerRequest, WindowSpec,
};
use super::cache::{self, AnalysisKey, Lookup, Ticket};
use super::{AppState, bounded, validate};
use crate::evidence::{Decision, Evidence};
use crate::gather::{GatherRequest, PodSelector};
use crate::judge::Severity;
use crate::store::{AnalysisRecord, Claim, Origin};
use crate::verdict::{RolloutSummary, Verdict};

// ---------------------------------------------------------------- middleware

/// 401 unless the request carries the configured bearer token.
pub async fn require_token(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if !bearer_ok(&st, req.headers()) {
        return ApiError::unauthorized().into_response();
    }
    next.run(req).await
}

/// The token as `Authorization: Bearer <token>`, or as the password of
/// HTTP Basic auth (any user name): a client that can only be given a URL
/// sends `http://user:<token>@host/` as Basic (Go's net/http does, which is
/// how the metric-ai plugin can authenticate).
fn bearer_ok(st: &AppState, headers: &HeaderMap) -> bool {
    let Some(want) = &st.token else {
        return true;
    };
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if let Some(g) = value.strip_prefix("Bearer ") {
        return constant_time_eq(g.trim().as_bytes(), want.as_bytes());
    }
    value
        .strip_prefix("Basic ")
        .and_then(|b| base64_decode(b.trim()))
        .and_then(|raw| {
            let at = raw.iter().position(|&c| c == b':')?;
            Some(constant_time_eq(&raw[at + 1..], want.as_bytes()))
        })
        .unwrap_or(false)
}

/// Standard base64 with padding (RFC 4648 section 4); `None` when malformed.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    let bytes = s.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) || bytes.len() > 4096 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let last = i == bytes.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let b = n.to_be_bytes();
        out.extend_from_slice(&b[1..4 - pad]);
    }
    Some(out)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Counts requests by route and status for `/metrics`.
pub async fn count_requests(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    st.metrics.http_request(&route, resp.status().as_u16());
    resp
}

// ---------------------------------------------------------------- parsing

/// Parse a JSON body: 413 when too large, 400 when not JSON or not the
/// endpoint's shape, naming the path of the field that is wrong.
pub(super) fn parse_json<T: DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let bytes = body.map_err(body_error)?;
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_data() && path != "." {
            ApiError::invalid_field(&path, inner.to_string())
        } else {
            ApiError::bad_request(format!(
                "the body is not valid JSON for this endpoint: {inner}"
            ))
        }
    })
}

/// A body that could not be read: 413 when over the limit.
fn body_error(r: BytesRejection) -> ApiError {
    if bounded::is_body_timeout(&r) {
        return ApiError::body_timeout();
    }
    let status = r.status();
    let mut e = ApiError::bad_request(r.body_text());
    e.status = status;
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        e.error.code = "body_too_large";
        e.error.message =
            format!("the request body is over this endpoint's bound of {SMALL_BODY_BYTES} bytes");
    }
    e
}

/// A body read by hand that failed: 408 past the body timeout, 413 past
/// the bound, else 400.
fn read_error(e: &axum::Error) -> ApiError {
    if bounded::is_body_timeout(e) {
        return ApiError::body_timeout();
    }
    if bounded::is_length_limit(e) {
        return ApiError::body_too_large(&format!(
            "this endpoint's bound of {SMALL_BODY_BYTES} bytes"
        ));
    }
    ApiError::bad_request(format!("the request body could not be read: {e}"))
}

fn window_of(st: &AppState, w: Option<&WindowSpec>) -> Result<Duration, ApiError> {
    let Some(w) = w else {
        return Ok(st.default_window);
    };
    let d = w
        .duration()
        .map_err(|e| ApiError::invalid_field("window", e))?;
    if d < Duration::from_secs(30) || d > st.max_window {
        return Err(ApiError::invalid_field(
            "window",
            format!(
                "the window must be between 30s and {}s",
                st.max_window.as_secs()
            ),
        ));
    }
    Ok(d)
}

/// The caller's own deadline (`X-Rollwise-Deadline: <seconds>`), never longer
/// than the configured one.
fn deadline_of(st: &AppState, headers: &HeaderMap) -> Duration {
    headers
        .get("x-rollwise-deadline")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s).min(st.deadline))
        .unwrap_or(st.deadline)
}

// ---------------------------------------------------------------- analyses

/// What an analysis judges: evidence to gather, or a bundle already here.
enum Input {
    Gather(GatherRequest),
    Bundle(Arc<Evidence>),
}

fn new_id() -> String {
    // Time in ms plus 32 random-enough bits from the std hasher's per-process
    // random keys: unique per process, sortable by time, not guessable.
    use std::hash::{BuildHasher, Hasher};
    let now = jiff::Timestamp::now().as_millisecond();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(now);
    format!("{:011x}{:08x}", now, h.finish() as u32)
}

/// Run, join or reuse the analysis for `key`, answering within `deadline`.
async fn run_keyed(
    st: &Arc<AppState>,
    key: AnalysisKey,
    origin: Origin,
    input: Input,
    extra: Option<String>,
    deadline: Duration,
) -> Result<Arc<AnalysisRecord>, ApiError> {
    let (rx, id) = match st.cache.lookup(key, new_id) {
        Lookup::Done(rec) => {
            st.metrics.cache_lookup("cached");
            return Ok(rec);
        }
        Lookup::Running { rx, id } => {
            st.metrics.cache_lookup("joined");
            tracing::debug!(analysis = %id, "joining a running analysis");
            (rx, id)
        }
        Lookup::Start(ticket) => {
            st.metrics.cache_lookup("started");
            let id = ticket.id.clone();
            (start(st, ticket, origin, input, extra)?, id)
        }
    };
    wait(st, rx, &id, deadline).await
}

/// Start an analysis in a task of its own (it outlives the request). The
/// task queues for an analysis slot: the caller waits for the verdict up to
/// its deadline (then 503 with Retry-After, and the analysis keeps its place
/// so the retry finds it done); a task still without a slot after the
/// analysis timeout is answered inconclusive, like one that ran out of time.
/// With the queue full, nothing is started: 503 `queue_full`.
fn start(
    st: &Arc<AppState>,
    ticket: Ticket,
    origin: Origin,
    input: Input,
    extra: Option<String>,
) -> Result<tokio::sync::watch::Receiver<cache::Outcome>, ApiError> {
    let place = st
        .queue
        .enter()
        .ok_or_else(|| ApiError::queue_full(retry_after(st)))?;
    let rx = ticket.subscribe();
    let st2 = Arc::clone(st);
    let span = tracing::info_span!("analysis", id = %ticket.id, origin = ?origin);
    tokio::spawn(
        async move {
            let _place = place;
            // The analysis timeout counts from here: waiting is part of it.
            let until = Instant::now() + st2.analysis_timeout;
            let queued =
                tokio::time::timeout_at(until.into(), Arc::clone(&st2.permits).acquire_owned())
                    .await;
            let Ok(Ok(permit)) = queued else {
                tracing::warn!("no analysis slot came free within the analysis timeout");
                let why = format!(
                    "no analysis slot came free within {}s (the server is overloaded)",
                    st2.analysis_timeout.as_secs()
                );
                let rec = unjudged(ticket.id.clone(), origin, &input, why);
                ticket.finish(Arc::clone(&rec));
                st2.history.insert(rec, None).await;
                return;
            };
            let digest = ticket.key().digest();
            let claim = format!("analyze/{digest}");
            if let Some(rec) = another_replica(&st2, &digest, &claim).await {
                // Answered from the record another replica stored: its
                // hooks already ran there.
                st2.metrics.cache_lookup("replica");
                ticket.finish(rec);
                return;
            }
            let run = (permit, until);
            let rec = analyse(&st2, ticket.id.clone(), origin, input, extra, run).await;
            // The verdict is answered first; the history follows.
            ticket.finish(Arc::clone(&rec));
            st2.history.insert(Arc::clone(&rec), Some(&digest)).await;
            if st2.history.store.is_shared() {
                st2.history.release(&claim, &st2.history.holder).await;
            }
            after(&st2, rec);
        }
        .instrument(span),
    );
    Ok(rx)
}

/// How often a replica that lost the claim for a key looks for the winner's
/// record.
const REPLICA_POLL: Duration = Duration::from_millis(200);

/// With a shared store (several replicas), one analysis per key: a fresh
/// record for the key answers; else the claim `analyze/<digest>` decides
/// who analyses, and the others poll for its record until the claim
/// expires, when one of them takes over. `None`: analyse here (the claim is
/// ours, or the store cannot tell: better twice than not at all). With a
/// store of this process alone, the in-process single-flight is all there is.
async fn another_replica(st: &AppState, digest: &str, claim: &str) -> Option<Arc<AnalysisRecord>> {
    let h = &st.history;
    if !h.store.is_shared() {
        return None;
    }
    // Above the longest an analysis may run, so a live holder keeps it.
    let ttl = st.analysis_timeout + Duration::from_secs(15);
    let fresh_ms = i64::try_from(st.cache.ttl().as_millis()).unwrap_or(i64::MAX);
    let give_up = Instant::now() + ttl * 2;
    let fresh = || h.latest_for_key(digest, crate::store::now_ms().saturating_sub(fresh_ms));
    loop {
        // Claim first, then look: the holder stores its record before it
        // releases the claim, so a record finished just before our claim is
        // seen here, and one finished while we wait is seen on the next look.
        match h.claim(claim, &h.holder, ttl).await {
            Ok(Claim::Won) => {
                let rec = fresh().await;
                if rec.is_some() {
                    h.release(claim, &h.holder).await;
                }
                return rec;
            }
            // The store cannot tell who analyses; a record it can still read answers.
            Err(()) => return fresh().await,
            Ok(Claim::HeldBy { holder, expires_ms }) => {
                if let Some(rec) = fresh().await {
                    return Some(rec);
                }
                tracing::debug!(%holder, expires_ms, "another replica is analysing this key");
                if Instant::now() >= give_up {
                    return None;
                }
                tokio::time::sleep(REPLICA_POLL).await;
            }
        }
    }
}

async fn wait(
    st: &AppState,
    rx: tokio::sync::watch::Receiver<cache::Outcome>,
    id: &str,
    deadline: Duration,
) -> Result<Arc<AnalysisRecord>, ApiError> {
    match cache::wait_for(rx, deadline).await {
        Ok(Some(rec)) => Ok(rec),
        Ok(None) => Err(ApiError::still_running(id, retry_after(st))),
        Err(()) => Err(analysis_failed()),
    }
}

fn analysis_failed() -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "analysis_failed",
        "the analysis stopped without a verdict (see the server log); call again to start a new one",
    )
}

/// Gather (if needed) and judge, within the analysis timeout. Never fails:
/// every failure is an inconclusive verdict that says why.
async fn analyse(
    st: &AppState,
    id: String,
    origin: Origin,
    input: Input,
    extra: Option<String>,
    (slot, until): (tokio::sync::OwnedSemaphorePermit, Instant),
) -> Arc<AnalysisRecord> {
    let started = Instant::now();
    st.metrics.in_flight().inc();
    let fallback = fallback_summary(&input);
    let work = async {
        let ev = match input {
            Input::Bundle(ev) => ev,
            Input::Gather(req) => match &st.source {
                None => return Err("no cluster is configured for this server".to_owned()),
                Some(src) => match src.gather(&req).await {
                    Ok(ev) => Arc::new(ev),
                    Err(e) => return Err(e.to_string()),
                },
            },
        };
        let judged = st
            .analyzer
            .analyze(Arc::clone(&ev), extra, until, Some(slot))
            .await;
        Ok((ev, judged))
    };
    let (verdict, ev, templates) = match tokio::time::timeout_at(until.into(), work).await {
        Ok(Ok((ev, j))) => (j.verdict, Some(ev), j.templates),
        Ok(Err(why)) => (Verdict::could_not_judge(fallback, why), None, None),
        Err(_) => (
            Verdict::could_not_judge(
                fallback,
                format!(
                    "the analysis ran out of time after {}s",
                    st.analysis_timeout.as_secs()
                ),
            ),
            None,
            None,
        ),
    };
    st.metrics.in_flight().dec();
    let took = started.elapsed();
    let endpoint = origin.as_str();
    st.metrics
        .analysis_finished(endpoint, verdict.verdict, took, &verdict.usage);
    tracing::info!(
        verdict = verdict.verdict.as_str(),
        confidence = verdict.confidence,
        ms = took.as_millis() as u64,
        "analysis finished"
    );
    let created = jiff::Timestamp::now().as_millisecond();
    let ev = ev.unwrap_or_else(|| Arc::new(empty_evidence(&verdict.rollout)));
    Arc::new(AnalysisRecord::new(
        id, origin, created, verdict, &ev, templates,
    ))
}

/// Who the analysis is about, before any evidence is in.
fn fallback_summary(input: &Input) -> RolloutSummary {
    match input {
        Input::Gather(g) => RolloutSummary {
            scenario: format!("{}/{}", g.namespace, g.rollout),
            namespace: g.namespace.clone(),
            name: g.rollout.clone(),
            canary_hash: match &g.canary {
                PodSelector::Hash(h) => Some(h.clone()),
                _ => None,
            },
            stable_hash: match &g.stable {
                PodSelector::Hash(h) => Some(h.clone()),
                _ => None,
            },
            canary_image: None,
        },
        Input::Bundle(ev) => RolloutSummary::of(ev),
    }
}

/// The record of an analysis that never ran: inconclusive, saying why.
fn unjudged(id: String, origin: Origin, input: &Input, why: String) -> Arc<AnalysisRecord> {
    let verdict = Verdict::could_not_judge(fallback_summary(input), why);
    let created = jiff::Timestamp::now().as_millisecond();
    let ev = Arc::new(empty_evidence(&verdict.rollout));
    Arc::new(AnalysisRecord::new(id, origin, created, verdict, &ev, None))
}

/// The record of an analysis that had no evidence (gathering failed).
fn empty_evidence(r: &RolloutSummary) -> Evidence {
    Evidence {
        version: crate::evidence::SUPPORTED_VERSION,
        name: r.scenario.clone(),
        description: None,
        rollout: crate::evidence::RolloutRef {
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            canary_hash: r.canary_hash.clone(),
            stable_hash: r.stable_hash.clone(),
            canary_image: r.canary_image.clone(),
            stable_image: None,
            canary_weight: None,
            step: None,
            repo: None,
            revision: None,
            stable_revision: None,
            baseline: false,
            strategy: None,
        },
        window: None,
        traffic: None,
        metrics: Vec::new(),
        pods: Default::default(),
        events: Vec::new(),
        logs: Default::default(),
        expected: None,
        gaps: Vec::new(),
        planted_secrets: Vec::new(),
    }
}

/// Run the hooks (Slack, remediation) without holding anyone up.
/// The hooks run in order, in one task of their own: Slack's message is
/// posted (and recorded) before the remediation agent starts, so its
/// follow-up can thread under it.
fn after(st: &Arc<AppState>, rec: Arc<AnalysisRecord>) {
    if st.hooks.is_empty() {
        return;
    }
    let hooks = st.hooks.clone();
    let history = st.history.clone();
    let slot = st.hook_slot();
    tokio::spawn(async move {
        let _slot = slot;
        for hook in hooks {
            hook.after(Arc::clone(&rec), history.clone()).await;
        }
    });
}

// ---------------------------------------------------------------- routes

/// `POST /v1/analyze` (Argo's web provider).
pub async fn analyze(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AnalyzeReply>, ApiError> {
    let req: AnalyzeRequest = parse_json(body)?;
    validate::namespace("namespace", &req.namespace)?;
    validate::object_name("rollout", &req.rollout)?;
    let canary = req.canary_hash.as_deref().ok_or_else(|| {
        ApiError::invalid_field(
            "canaryHash",
            "required: set it from podTemplateHashValue: Latest",
        )
    })?;
    let (stable, stable_field) = match (req.stable_hash.as_deref(), req.baseline_hash.as_deref()) {
        (Some(s), None) => (s, "stableHash"),
        (None, Some(b)) => (b, "baselineHash"),
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_field(
                "baselineHash",
                "give stableHash or baselineHash, not both: the canary is compared with one of them",
            ));
        }
        (None, None) => {
            return Err(ApiError::invalid_field(
                "stableHash",
                "required: set it from podTemplateHashValue: Stable (or baselineHash from an Experiment's baseline)",
            ));
        }
    };
    validate::hash("canaryHash", canary)?;
    validate::hash(stable_field, stable)?;
    if canary == stable {
        return Err(ApiError::invalid_field(
            "canaryHash",
            "the canary and stable hashes are equal: there is no canary to judge",
        ));
    }
    for (name, q) in &req.queries {
        validate::query(&format!("queries.{name}"), q)?;
    }
    let window = window_of(&st, req.window.as_ref())?;
    let key = AnalysisKey {
        endpoint: "analyze",
        namespace: req.namespace.clone(),
        rollout: req.rollout.clone(),
        canary: canary.to_owned(),
        stable: match stable_field {
            "baselineHash" => format!("baseline:{stable}"),
            _ => stable.to_owned(),
        },
        window_secs: window.as_secs(),
        extra: extra_key(&req.queries, req.extra_prompt.as_deref()),
    };
    let gather = GatherRequest {
        namespace: req.namespace,
        rollout: req.rollout,
        read_rollout: true,
        canary: PodSelector::Hash(canary.to_owned()),
        stable: match stable_field {
            "baselineHash" => PodSelector::Baseline(stable.to_owned()),
            _ => PodSelector::Hash(stable.to_owned()),
        },
        window,
        end: jiff::Timestamp::now(),
        queries: req.queries,
    };
    ensure_source(&st)?;
    let deadline = deadline_of(&st, &headers);
    let rec = run_keyed(
        &st,
        key,
        Origin::Analyze,
        Input::Gather(gather),
        req.extra_prompt,
        deadline,
    )
    .await?;
    Ok(Json(AnalyzeReply::from_record(&rec, &st.public_url)))
}

fn ensure_source(st: &AppState) -> Result<(), ApiError> {
    if st.source.is_none() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_cluster",
            "this server has no cluster configured, so it cannot gather evidence; use POST /v1/verdicts with a bundle, or run it in the cluster",
        ));
    }
    Ok(())
}

fn extra_key(queries: &std::collections::BTreeMap<String, String>, extra: Option<&str>) -> String {
    let mut s = String::new();
    for (k, v) in queries {
        s.push_str(k);
        s.push('\u{1}');
        s.push_str(v);
        s.push('\u{2}');
    }
    s.push_str(extra.unwrap_or_default());
    s
}

/// `POST /v1/verdicts`: judge the evidence bundle in the body.
///
/// The body is read as sent within the read budget (KiB as declared, room for
/// `max-concurrent-analyses` bodies of `max-body-bytes`) and hashed while it
/// arrives. The same bundle within the cache TTL is the same analysis: its
/// verdict is answered from the cache or joined while it runs, with no slot
/// and no parse. A new bundle takes a queue place and then an analysis slot
/// (queueing up to the deadline), and only then is clipped (every string at
/// [`MAX_STRING_BYTES`], log lines past the budgets dropped, each a gap) and
/// parsed.
pub async fn verdicts(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<AnalyzeReply>, ApiError> {
    let deadline = deadline_of(&st, &headers);
    let until = tokio::time::Instant::now() + deadline;
    let retry = retry_after(&st);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > st.cfg.max_body_bytes as u64) {
        return Err(ApiError::body_too_large("[server] max-body-bytes"));
    }
    let kib = super::body_kib(declared, st.cfg.max_body_bytes);
    let budget =
        tokio::time::timeout_at(until, Arc::clone(&st.read_budget).acquire_many_owned(kib))
            .await
            .map_err(|_| ApiError::overloaded(retry))?
            .map_err(|_| ApiError::overloaded(retry))?;
    let raw = tokio::time::timeout_at(until, bounded::read_raw(body, st.cfg.max_body_bytes))
        .await
        .map_err(|_| ApiError::body_timeout())??;
    let key = AnalysisKey {
        endpoint: "verdicts",
        namespace: String::new(),
        rollout: String::new(),
        canary: String::new(),
        stable: String::new(),
        window_secs: 0,
        extra: raw.digest().to_owned(),
    };
    let remaining = || until.saturating_duration_since(tokio::time::Instant::now());
    let ticket = match st.cache.lookup(key, new_id) {
        Lookup::Done(rec) => {
            st.metrics.cache_lookup("cached");
            return Ok(Json(AnalyzeReply::from_record(&rec, &st.public_url)));
        }
        Lookup::Running { rx, id } => {
            st.metrics.cache_lookup("joined");
            drop((raw, budget));
            let rec = wait(&st, rx, &id, remaining()).await?;
            return Ok(Json(AnalyzeReply::from_record(&rec, &st.public_url)));
        }
        Lookup::Start(ticket) => {
            st.metrics.cache_lookup("started");
            ticket
        }
    };
    // Without a place or a slot the ticket is dropped: nothing is cached.
    let place = st.queue.enter().ok_or(ApiError::queue_full(retry))?;
    let permit = tokio::time::timeout_at(until, Arc::clone(&st.permits).acquire_owned())
        .await
        .map_err(|_| ApiError::overloaded(retry))?
        .map_err(|_| ApiError::overloaded(retry))?;
    let bounds = bounded::Bounds {
        max_string: MAX_STRING_BYTES,
        max_pod_log: MAX_POD_LOG_BYTES,
        max_log: MAX_LOG_BYTES,
    };
    let (bytes, clipped) = raw.clip(bounds);
    drop((raw, budget));
    // A bundle that does not parse drops its ticket: nothing is cached.
    let mut ev = parse_bundle(&bytes)?;
    drop(bytes);
    ev.gaps.extend(clipped.gaps(&bounds));
    let id = ticket.id.clone();
    let rx = ticket.subscribe();
    let st2 = Arc::clone(&st);
    let span = tracing::info_span!("analysis", id = %id, origin = "verdicts");
    let task_id = id.clone();
    tokio::spawn(
        async move {
            let _place = place;
            let run = (permit, Instant::now() + st2.analysis_timeout);
            let rec = analyse(
                &st2,
                task_id,
                Origin::Verdicts,
                Input::Bundle(Arc::new(ev)),
                None,
                run,
            )
            .await;
            // Stored before it is answered: the page the reply links exists.
            st2.history.insert(Arc::clone(&rec), None).await;
            ticket.finish(Arc::clone(&rec));
            after(&st2, rec);
        }
        .instrument(span),
    );
    let rec = wait(&st, rx, &id, remaining()).await?;
    Ok(Json(AnalyzeReply::from_record(&rec, &st.public_url)))
}

/// The longest string a bundle may carry (a log line): longer ones are
/// clipped while the body is read.
pub const MAX_STRING_BYTES: usize = 64 * 1024;

/// Log line bytes a bundle keeps per pod: what `rollwise serve` itself
/// reads from a pod at most (`[gather.kube] max-log-bytes`' default).
pub const MAX_POD_LOG_BYTES: usize = 2 * 1024 * 1024;

/// Log line bytes a bundle keeps in all (eight pods at the per-pod bound):
/// well below the body bound, so many pods cannot carry a whole body of
/// lines into the judge.
pub const MAX_LOG_BYTES: usize = 16 * 1024 * 1024;

/// The bound on every body but a bundle's: an analyze, a2a or Flagger
/// request is a few hundred bytes.
pub const SMALL_BODY_BYTES: usize = 64 * 1024;

/// The most of a Flagger body read before its caller is known: enough for
/// a webhook whose metadata carries the token, too little to cost memory.
pub const FLAGGER_UNAUTHENTICATED_BYTES: usize = 8 * 1024;

fn retry_after(st: &AppState) -> Duration {
    Duration::from_secs(st.cfg.retry_after_secs)
}

/// Parse a bundle and check the names in it with the rules the other routes
/// apply (they reach the page, the store and the remediation agent).
fn parse_bundle(bytes: &[u8]) -> Result<Evidence, ApiError> {
    let source = crate::evidence::BundleSource::Named("request body".into());
    let ev = crate::evidence::parse_bytes(bytes, &source).map_err(|e| match e {
        crate::Error::InvalidEvidence { ref field, .. } if !field.is_empty() => {
            ApiError::invalid_field(field, e.to_string())
        }
        other => ApiError::bad_request(other.to_string()),
    })?;
    let r = &ev.rollout;
    validate::namespace("rollout.namespace", &r.namespace)?;
    validate::object_name("rollout.name", &r.name)?;
    if let Some(h) = &r.canary_hash {
        validate::hash("rollout.canaryHash", h)?;
    }
    if let Some(h) = &r.stable_hash {
        validate::hash("rollout.stableHash", h)?;
    }
    Ok(ev)
}

/// `POST /a2a/analyze`: the metric-ai plugin's agent contract.
pub async fn a2a(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: A2aRequest = parse_json(body)?;
    let c = req.context;
    validate::namespace("context.namespace", &c.namespace)?;
    validate::object_name("context.rolloutName", &c.rollout_name)?;
    let side = |field: &str, sel: &Option<String>| -> Result<PodSelector, ApiError> {
        match sel.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => {
                validate::selector(field, s)?;
                Ok(PodSelector::Labels(s.to_owned()))
            }
            None => Ok(PodSelector::FromRollout),
        }
    };
    let canary = side("context.canarySelector", &c.canary_selector)?;
    let stable = side("context.stableSelector", &c.stable_selector)?;
    ensure_source(&st)?;
    let key = AnalysisKey {
        endpoint: "a2a",
        namespace: c.namespace.clone(),
        rollout: c.rollout_name.clone(),
        canary: c.canary_selector.clone().unwrap_or_default(),
        stable: c.stable_selector.clone().unwrap_or_default(),
        window_secs: st.default_window.as_secs(),
        extra: c.extra_prompt.clone().unwrap_or_default(),
    };
    let gather = GatherRequest {
        namespace: c.namespace,
        rollout: c.rollout_name,
        read_rollout: true,
        canary,
        stable,
        window: st.default_window,
        end: jiff::Timestamp::now(),
        queries: Default::default(),
    };
    // The plugin waits up to A2A_CALLER_TIMEOUT for its agent: wait for the
    // analysis itself rather than answer "still running" after the
    // web provider's deadline.
    let deadline = deadline_of(&st, &headers);
    let deadline = if headers.contains_key("x-rollwise-deadline") {
        deadline
    } else {
        st.analysis_timeout
            .max(st.deadline)
            .min(A2A_CALLER_TIMEOUT.saturating_sub(Duration::from_secs(10)))
    };
    match run_keyed(
        &st,
        key,
        Origin::A2a,
        Input::Gather(gather),
        c.extra_prompt,
        deadline,
    )
    .await
    {
        Ok(rec) => Ok(Json(a2a_reply(&rec, &st.public_url)).into_response()),
        Err(e) if e.status == StatusCode::SERVICE_UNAVAILABLE => Ok(a2a_unavailable(&e)),
        Err(e) => Err(e),
    }
}

/// How long the metric-ai plugin's HTTP client waits for its agent.
pub const A2A_CALLER_TIMEOUT: Duration = Duration::from_secs(300);

/// A verdict not ready in time (or no slot), in the plugin's reply shape:
/// `promote: false`, confidence 0, the reason and the analysis id in
/// `analysis`. The status stays 503 (with Retry-After): the plugin reads a
/// non-200 as an error measurement, which Argo measures again, where a 200
/// with `promote: false` would be a failed one and abort the Rollout.
fn a2a_unavailable(e: &ApiError) -> Response {
    let reply = A2aReply {
        analysis: format!("no verdict yet: {}", e.error.message),
        root_cause: String::new(),
        remediation: match &e.error.analysis_id {
            Some(id) => {
                format!("call again: analysis {id} is still running and its verdict will be cached")
            }
            None => "call again shortly".into(),
        },
        promote: false,
        confidence: 0,
        pr_link: None,
        model_results: Vec::new(),
        voting_rationale: None,
    };
    let mut resp = (StatusCode::SERVICE_UNAVAILABLE, Json(reply)).into_response();
    if let Some(d) = e.retry_after
        && let Ok(v) = axum::http::HeaderValue::from_str(&d.as_secs().max(1).to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// The plugin promotes on `promote: true` only; inconclusive is not promote.
pub fn a2a_reply(rec: &AnalysisRecord, public_url: &str) -> A2aReply {
    let v = &rec.verdict;
    let decisive = v
        .reasons
        .iter()
        .find(|r| matches!(r.severity, Severity::Critical | Severity::Regression))
        .or_else(|| v.reasons.iter().find(|r| r.severity == Severity::Concern));
    let mut analysis = v.summary.clone();
    for r in v.reasons.iter().take(super::api::REPLY_REASONS) {
        analysis.push_str("\n- ");
        analysis.push_str(&r.detail);
    }
    let url = super::api::analysis_url(public_url, &rec.id);
    let remediation = match (&rec.pr, v.verdict) {
        (Some(pr), _) => format!("draft fix proposed: {}", pr.url),
        (None, Decision::Promote) => String::new(),
        (None, _) => format!("see the evidence at {url}"),
    };
    let root_cause = match v.verdict {
        Decision::Promote => String::new(),
        _ => decisive.map(|r| r.detail.clone()).unwrap_or_default(),
    };
    let promote = v.verdict == Decision::Promote;
    let judge = match &v.model {
        Some(m) => format!("rollwise (statistics, log templates, advice of {m})"),
        None => "rollwise (statistics, log templates)".to_owned(),
    };
    A2aReply {
        model_results: vec![super::api::A2aModelResult {
            model_name: judge,
            analysis: v.summary.clone(),
            root_cause: root_cause.clone(),
            remediation: remediation.clone(),
            promote,
            confidence: v.confidence,
            execution_time_ms: v.usage.latency_ms,
            error: None,
        }],
        voting_rationale: Some(format!(
            "one rule, no vote: {} from statistics and the log template diff; a model's advice can only add caution; inconclusive is not promote",
            v.verdict.as_str()
        )),
        pr_link: rec.pr.as_ref().map(|p| p.url.clone()),
        analysis,
        root_cause,
        remediation,
        promote,
        confidence: v.confidence,
    }
}

/// `POST /v1/flagger`: Flagger's rollout webhook. 200 lets the canary
/// advance; 412 (abort or inconclusive) halts it.
pub async fn flagger(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // Unauthenticated callers learn nothing, not even why the body is wrong.
    // Without the header, the token can only be in `metadata.token`: such a
    // body is read only when it fits FLAGGER_UNAUTHENTICATED_BYTES, a bound
    // checked on the declared length before a byte of it is read.
    let header_ok = bearer_ok(&st, &headers);
    let limit = if header_ok {
        SMALL_BODY_BYTES
    } else {
        FLAGGER_UNAUTHENTICATED_BYTES
    };
    if !header_ok && axum::body::HttpBody::size_hint(&body).lower() > limit as u64 {
        return Err(ApiError::unauthorized());
    }
    let bytes = axum::body::to_bytes(body, limit).await;
    let req: FlaggerRequest = match bytes {
        Ok(b) => match parse_json(Ok(b)) {
            Ok(r) => r,
            Err(e) if header_ok => return Err(e),
            Err(_) => return Err(ApiError::unauthorized()),
        },
        Err(e) if header_ok => return Err(read_error(&e)),
        Err(_) => return Err(ApiError::unauthorized()),
    };
    let meta_ok = match (&st.token, req.metadata.get("token")) {
        (Some(want), Some(got)) => constant_time_eq(got.trim().as_bytes(), want.as_bytes()),
        _ => false,
    };
    if !header_ok && !meta_ok {
        return Err(ApiError::unauthorized());
    }
    validate::namespace("namespace", &req.namespace)?;
    validate::object_name("name", &req.name)?;
    let canary_sel = req
        .metadata
        .get("canarySelector")
        .cloned()
        .unwrap_or_else(|| format!("app={}", req.name));
    let stable_sel = req
        .metadata
        .get("stableSelector")
        .cloned()
        .unwrap_or_else(|| format!("app={}-primary", req.name));
    validate::selector("metadata.canarySelector", &canary_sel)?;
    validate::selector("metadata.stableSelector", &stable_sel)?;
    let window = match req.metadata.get("window") {
        Some(w) => window_of(&st, Some(&WindowSpec::Text(w.clone()))).map_err(|mut e| {
            e.error.field = Some("metadata.window".into());
            e
        })?,
        None => st.default_window,
    };
    ensure_source(&st)?;
    let key = AnalysisKey {
        endpoint: "flagger",
        namespace: req.namespace.clone(),
        rollout: req.name.clone(),
        canary: canary_sel.clone(),
        stable: stable_sel.clone(),
        window_secs: window.as_secs(),
        extra: req.phase.clone().unwrap_or_default(),
    };
    let gather = GatherRequest {
        namespace: req.namespace,
        rollout: req.name,
        read_rollout: false,
        canary: PodSelector::Labels(canary_sel),
        stable: PodSelector::Labels(stable_sel),
        window,
        end: jiff::Timestamp::now(),
        queries: Default::default(),
    };
    let deadline = deadline_of(&st, &headers);
    let rec = run_keyed(
        &st,
        key,
        Origin::Flagger,
        Input::Gather(gather),
        None,
        deadline,
    )
    .await?;
    let reply = AnalyzeReply::from_record(&rec, &st.public_url);
    let status = if reply.verdict == Decision::Promote {
        StatusCode::OK
    } else {
        StatusCode::PRECONDITION_FAILED
    };
    Ok((status, Json(reply)).into_response())
}

pub async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 when every dependency answers, 503 listing the ones that do not.
pub async fn readyz(State(st): State<Arc<AppState>>) -> Response {
    let mut checks = match &st.source {
        Some(src) => src.check_ready().await,
        None => Vec::new(),
    };
    checks.push((
        "llm".into(),
        Ok(st
            .analyzer
            .model_name()
            .map(|m| format!("model {m} configured (not called by readyz)"))
            .unwrap_or_else(|| "no model: statistics and logs alone".into())),
    ));
    let ok = checks.iter().all(|(_, r)| r.is_ok());
    let body: serde_json::Map<String, serde_json::Value> = checks
        .into_iter()
        .map(|(name, r)| {
            let v = match r {
                Ok(detail) => serde_json::json!({"ok": true, "detail": detail}),
                Err(e) => serde_json::json!({"ok": false, "detail": e}),
            };
            (name, v)
        })
        .collect();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(serde_json::json!({"ready": ok, "checks": body})),
    )
        .into_response()
}

pub async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        st.metrics.encode(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::base64_decode;

    #[test]
    fn base64_decodes_the_rfc_vectors_and_refuses_garbage() {
        for (enc, dec) in [
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYmFy", "foobar"),
            ("cm9sbHdpc2U6czNjcjN0LXQwa2Vu", "rollwise:s3cr3t-t0ken"),
        ] {
            assert_eq!(base64_decode(enc).as_deref(), Some(dec.as_bytes()), "{enc}");
        }
        for bad in ["", "Zg=", "Z===", "Zg==Zm9v", "Zm9*", "Zm 9"] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }
}
