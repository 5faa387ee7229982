//! `rollwise serve`: build the service from flags, environment and the
//! configuration file, and run it until SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::{LlmArgs, llm_selection};
use crate::error::{Error, Result};
use crate::judge::{Judge, JudgeConfig};
use crate::llm::LlmJudge;
use crate::llm::hybrid::build_model;
use crate::logs::LogConfig;
use crate::server::{self, Analyzer, AppState, Metrics, ServerConfig, StateParts};

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
}

fn read_serve_config(path: Option<&PathBuf>) -> Result<ServeFile> {
    let Some(path) = path else {
        return Ok(ServeFile::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        what: format!("cannot read configuration {}", path.display()),
        source: e,
    })?;
    let f: ServeFile =
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    f.gather.validate()?;
    Ok(f)
}

pub(super) fn run(args: ServeArgs) -> Result<ExitCode> {
    let env = |k: &str| std::env::var(k).ok();
    let file = read_serve_config(args.llm.config.as_ref())?;
    let gather_cfg = file.gather;
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
        let judge = Judge::new(JudgeConfig::default(), LogConfig::default());
        // `_server` keeps the local model's process alive while we serve.
        let (analyzer, _server) = match build_model(&selection, llm_cfg, venv.as_deref())? {
            None => (Analyzer::new(judge), None),
            Some(m) => (
                Analyzer::with_llm(judge, LlmJudge::new(m.model, m.cfg)?)?,
                m.server,
            ),
        };
        let metrics = Arc::new(Metrics::new());
        let source: Option<Arc<dyn crate::gather::EvidenceSource>> =
            match (&args.evidence_dir, args.no_cluster) {
                (Some(dir), _) => Some(Arc::new(crate::gather::files::DirectorySource::load(
                    dir,
                    crate::evidence::DEFAULT_MAX_BYTES,
                )?)),
                (None, true) => None,
                (None, false) => {
                    Some(crate::gather::from_environment(&gather_cfg, Arc::clone(&metrics)).await?)
                }
            };
        let state = AppState::new(StateParts {
            cfg: cfg.clone(),
            analyzer,
            source,
            token: env("ROLLWISE_API_TOKEN"),
            hooks: Vec::new(),
            metrics,
            store: None,
        })?;
        let app = server::router(Arc::clone(&state));
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
