//! `rollwise serve`: build the service from flags, environment and the
//! configuration file, and run it until SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::{LlmArgs, llm_selection};
use crate::error::{Error, Result};
use crate::gather::EvidenceSource;
use crate::gather::files::DirectorySource;
use crate::judge::{Judge, JudgeConfig};
use crate::llm::ChatModel;
use crate::llm::LlmJudge;
use crate::llm::hybrid::build_model;
use crate::logs::LogConfig;
use crate::notify::Notifier;
use crate::server::hooks::{ObservedModel, RemediationHook, SlackHook};
use crate::server::{self, Analyzer, AppState, Metrics, ServerConfig, StateParts, VerdictHook};
use crate::store::{Store, StoreConfig, StoreUrl};
use rollwise_tools::github::GithubConfig;

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    /// Address to listen on (overrides [server] listen).
    #[arg(long, value_name = "ADDR", env = "ROLLWISE_LISTEN")]
    listen: Option<String>,
    /// Serve without a cluster: only /v1/verdicts judges (bundles sent in the
    /// body); the gathering endpoints answer 503.
    #[arg(long, conflicts_with = "evidence_dir")]
    no_cluster: bool,
    /// Replay mode: answer /v1/analyze from the evidence bundles in DIR
    /// (matched by namespace, rollout and canary hash) instead of a cluster.
    #[arg(long, value_name = "DIR")]
    evidence_dir: Option<PathBuf>,
    /// Where the history lives (overrides [store] url): `memory`,
    /// `sqlite://PATH` (default: sqlite://rollwise-history.db, in the working
    /// directory; the deploy/ manifests use /var/lib/rollwise/history.db) or
    /// `postgres://user:password@host/db` for several replicas.
    #[arg(
        long,
        value_name = "URL",
        env = "ROLLWISE_STORE_URL",
        hide_env_values = true
    )]
    store: Option<String>,
    #[command(flatten)]
    llm: LlmArgs,
}

/// The tables of the configuration file `serve` reads (others are ignored).
#[derive(Debug, Default, serde::Deserialize)]
struct ServeFile {
    #[serde(default)]
    server: ServerConfig,
    #[serde(default)]
    gather: crate::gather::GatherConfig,
    /// Present: verdicts are announced on Slack.
    #[serde(default)]
    slack: Option<crate::notify::SlackConfig>,
    #[serde(default)]
    remediate: crate::remediate::RemediationConfig,
    #[serde(default)]
    store: StoreConfig,
}

fn read_serve_config(path: Option<&PathBuf>) -> Result<ServeFile> {
    let f: ServeFile = super::read_config(path.map(PathBuf::as_path))?;
    f.gather.validate()?;
    f.remediate.validate()?;
    f.store.validate()?;
    Ok(f)
}

pub(super) fn run(args: ServeArgs) -> Result<ExitCode> {
    let env = |k: &str| std::env::var(k).ok();
    let file = read_serve_config(args.llm.config.as_ref())?;
    let gather_cfg = file.gather;
    let remediate_cfg = file.remediate;
    // [slack], or just ROLLWISE_SLACK_WEBHOOK (the deploy/ Secret).
    let slack_cfg = match (
        file.slack,
        env("ROLLWISE_SLACK_WEBHOOK").filter(|u| !u.is_empty()),
    ) {
        (Some(mut c), hook) => {
            if c.webhook_url.is_none() && c.bot_token.is_none() {
                c.webhook_url = hook;
            }
            Some(c)
        }
        (None, Some(hook)) => Some(crate::notify::SlackConfig::webhook(hook)),
        (None, None) => None,
    };
    let mut store_cfg = file.store;
    if let Some(u) = &args.store {
        store_cfg.url = u.clone();
    }
    let store_url = store_cfg.parsed_url()?;
    let retention = store_cfg.retention()?;
    let mut cfg = file.server.with_env(env);
    if let Some(l) = &args.listen {
        cfg.listen = l.clone();
    }
    cfg.validate()?;
    let (selection, llm_cfg, venv) = llm_selection(&args.llm, false)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Io {
            what: "cannot start the async runtime".into(),
            source: e,
        })?;
    rt.block_on(async move {
        let metrics = Arc::new(Metrics::new());
        let judge = Judge::new(JudgeConfig::default(), LogConfig::default());
        // `_server` keeps the local model's process alive while we serve.
        let (analyzer, model, _server) = match build_model(&selection, llm_cfg, venv.as_deref())? {
            None => (Analyzer::new(judge), None, None),
            Some(m) => {
                let observed: Arc<dyn ChatModel> = Arc::new(ObservedModel {
                    inner: m.model,
                    metrics: Arc::clone(&metrics),
                });
                (
                    Analyzer::with_llm(judge, LlmJudge::new(Arc::clone(&observed), m.cfg)?)?,
                    Some(observed),
                    m.server,
                )
            }
        };
        let (source, reader): (Option<Arc<dyn EvidenceSource>>, _) =
            match (&args.evidence_dir, args.no_cluster) {
                (Some(dir), _) => (
                    Some(Arc::new(DirectorySource::load(
                        dir,
                        crate::evidence::DEFAULT_MAX_BYTES,
                    )?)),
                    None,
                ),
                (None, true) => (None, None),
                (None, false) => {
                    let (s, r) =
                        crate::gather::from_environment(&gather_cfg, metrics.clone()).await?;
                    (Some(s), Some(r))
                }
            };
        let public_url = cfg.public_url();
        let mut hooks: Vec<Arc<dyn VerdictHook>> = Vec::new();
        let notifier = match slack_cfg {
            Some(mut c) => {
                c.page_url = c.page_url.or_else(|| Some(public_url.clone()));
                let n = Arc::new(Notifier::new(c)?);
                hooks.push(Arc::new(SlackHook::new(Arc::clone(&n))));
                Some(n)
            }
            None => None,
        };
        if remediate_cfg.after_abort {
            match &model {
                Some(m) => {
                    let github = GithubConfig::from_env(env)
                        .map_err(|e| Error::Config(format!("remediation: {e}")))?;
                    hooks.push(Arc::new(RemediationHook::new(
                        remediate_cfg,
                        Arc::clone(m),
                        github,
                        reader,
                        Arc::clone(&metrics),
                        notifier.clone(),
                    )));
                }
                None => tracing::warn!(
                    "[remediate] after_abort is set but no model is configured: no remediation"
                ),
            }
        }
        let store = match &store_url {
            StoreUrl::Memory => Store::memory(cfg.store_capacity),
            url => Store::open(url).await?,
        };
        tracing::info!(store = %store_url.redacted(), shared = store.is_shared(), "history store open");
        let sweep_metrics = Arc::clone(&metrics);
        let _sweeper = crate::store::sweep::spawn(
            store.clone(),
            retention,
            crate::store::sweep::SWEEP_EVERY,
            move |e| sweep_metrics.store_error("sweep", e),
        );
        let mut cfg = cfg.clone();
        cfg.slack_signing_secret = env("ROLLWISE_SLACK_SIGNING_SECRET")
            .filter(|s| !s.trim().is_empty())
            .map(crate::server::config::SigningSecret);
        let state = AppState::new(StateParts {
            cfg: cfg.clone(),
            analyzer,
            source,
            token: env("ROLLWISE_API_TOKEN"),
            hooks,
            metrics,
            store: Some(store),
            holder: Some(crate::store::holder_identity(env)),
        })?;
        let app = server::app(Arc::clone(&state))?;
        let listener = tokio::net::TcpListener::bind(&cfg.listen)
            .await
            .map_err(|e| Error::Io {
                what: format!("cannot listen on {}", cfg.listen),
                source: e,
            })?;
        server::serve(listener, app, state, server::shutdown_signal()).await
    })?;
    Ok(ExitCode::SUCCESS)
}
