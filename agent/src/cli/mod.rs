//! The `rollwise` command line. `main.rs` only calls [`main`].

mod demo;
mod logs;
mod remediate;
mod render;
mod serve;
mod slack;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Result};
use crate::eval::{self, EvalGates};
use crate::evidence::{self, DEFAULT_MAX_BYTES};
use crate::judge::{Judge, JudgeConfig};
use crate::llm::config::{LlmSwitch, SelectionInputs, select};
use crate::llm::{HybridJudge, LlmConfig, LlmSelection};
use crate::logs::LogConfig;

pub use render::render_verdict;

#[derive(Debug, Parser)]
#[command(
    name = "rollwise",
    version,
    about = "Judges Argo Rollouts canary releases: promote, abort or inconclusive, with reasons you can check",
    propagate_version = true
)]
struct Cli {
    /// rollwise's own log level on stderr (error, warn, info, debug, trace); RUST_LOG overrides.
    #[arg(long, global = true, default_value = "warn", env = "ROLLWISE_LOG")]
    log_level: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Judge one evidence bundle (a JSON file in the format of evals/scenarios/FORMAT.md).
    Analyze(AnalyzeArgs),
    /// Judge every labelled scenario in a directory and score the verdicts.
    Eval(EvalArgs),
    /// Judge the bundled example scenarios and show what a user would see.
    Demo(DemoArgs),
    /// Log tools: template mining and the canary-vs-stable template diff.
    #[command(subcommand)]
    Logs(LogsCommand),
    /// Run the HTTP service Argo Rollouts (web provider, metric-ai plugin) and
    /// Flagger call at each analysis step.
    Serve(serve::ServeArgs),
    /// After an abort: find the root cause in the repository and propose a fix as a draft pull request.
    Remediate(remediate::RemediateArgs),
}

#[derive(Debug, Subcommand)]
enum LogsCommand {
    /// Read log lines on stdin, print one template id per input line, in order.
    Cluster,
    /// Print the canary-vs-stable template diff of an evidence bundle.
    Diff(LogsDiffArgs),
    /// Print the token-budgeted, redacted digest a model would read for a bundle.
    Digest(LogsDigestArgs),
}

#[derive(Debug, Args)]
struct LogsDigestArgs {
    /// The evidence bundle to digest.
    #[arg(long, value_name = "FILE")]
    evidence: PathBuf,
    /// Token budget (counted with the o200k BPE tokenizer).
    #[arg(long, value_name = "TOKENS", default_value_t = crate::logs::digest::DEFAULT_BUDGET_TOKENS)]
    budget: usize,
    #[command(flatten)]
    limits: Limits,
}

#[derive(Debug, Args)]
struct LogsDiffArgs {
    /// The evidence bundle whose logs to compare.
    #[arg(long, value_name = "FILE")]
    evidence: PathBuf,
    /// Print the diff as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Also list background templates (same rate on both versions).
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    limits: Limits,
}

#[derive(Debug, Args)]
struct AnalyzeArgs {
    /// The evidence bundle to judge.
    #[arg(long, value_name = "FILE")]
    evidence: PathBuf,
    /// Print the verdict as JSON on stdout (nothing else is printed there).
    #[arg(long)]
    json: bool,
    /// Also post the verdict to this Slack incoming webhook (a Block Kit
    /// message); whether it was delivered is said on stderr and does not
    /// change the exit code.
    #[arg(
        long,
        value_name = "URL",
        env = "ROLLWISE_SLACK_WEBHOOK",
        hide_env_values = true
    )]
    slack_webhook: Option<String>,
    #[command(flatten)]
    limits: Limits,
    #[command(flatten)]
    llm: LlmArgs,
}

/// How the model is chosen. The API key is read from ROLLWISE_LLM_API_KEY (or
/// OPENAI_API_KEY), never from a flag, so it stays out of shell history.
#[derive(Debug, Args, Clone)]
struct LlmArgs {
    /// auto (a model when --llm-url/ROLLWISE_LLM_URL is set), off, on (require
    /// one), local (the bundled SmolLM2 from .venv), or scripted:promote|abort|inconclusive
    /// (a fake model answering the same to everything, for tests and evals).
    #[arg(
        long,
        value_name = "MODE",
        default_value = "auto",
        env = "ROLLWISE_LLM"
    )]
    llm: LlmSwitch,
    /// OpenAI-compatible base URL, including /v1.
    #[arg(long, value_name = "URL", env = "ROLLWISE_LLM_URL")]
    llm_url: Option<String>,
    /// Model name sent to the endpoint.
    #[arg(long, value_name = "NAME", env = "ROLLWISE_LLM_MODEL")]
    llm_model: Option<String>,
    /// Configuration file (TOML; its [llm] table sets timeout, max tokens, temperature...).
    #[arg(long, value_name = "FILE", env = "ROLLWISE_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct Limits {
    /// Refuse evidence files larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BYTES)]
    max_evidence_bytes: u64,
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// Directory of labelled scenarios (searched recursively for *.json).
    #[arg(long, value_name = "DIR")]
    scenarios: PathBuf,
    /// Also write the full report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the Markdown report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Fail (exit 1) when the false-promote rate exceeds this (0 = no false promote allowed).
    #[arg(long, value_name = "RATE")]
    max_false_promote: Option<f64>,
    /// Fail (exit 1) when the false-abort rate exceeds this.
    #[arg(long, value_name = "RATE")]
    max_false_abort: Option<f64>,
    /// Fail (exit 1) when accuracy is below this.
    #[arg(long, value_name = "RATE")]
    min_accuracy: Option<f64>,
    /// Also run a baseline on every scenario with the same model and report both
    /// side by side (seed-plugin: the whole log of the first canary pod in the prompt).
    #[arg(long, value_name = "BASELINE")]
    baseline: Option<Baseline>,
    #[command(flatten)]
    remediate: remediate::EvalRemediateArgs,
    #[command(flatten)]
    limits: Limits,
    #[command(flatten)]
    llm: LlmArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Baseline {
    SeedPlugin,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Print one JSON document (verdicts, the captured Slack message, the page
    /// check, the remediation outcome) instead of the human view.
    #[arg(long)]
    json: bool,
    /// Keep the verdict page up until Ctrl-C instead of exiting at the end.
    #[arg(long)]
    serve: bool,
    /// The verdict page's port on 127.0.0.1 (0: any free port).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    port: u16,
    #[command(flatten)]
    llm: LlmArgs,
}

/// Parse arguments, run, and map errors to exit codes: 0 success, 1 failure or a
/// failed gate, 2 usage or input errors.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    init_tracing(&cli.log_level);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "error: {e}");
            if let Some(hint) = hint(&e) {
                let _ = writeln!(stderr, "hint: {hint}");
            }
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}

fn hint(e: &Error) -> Option<&'static str> {
    match e {
        Error::InvalidEvidence { .. } => {
            Some("the bundle format is described in evals/scenarios/FORMAT.md")
        }
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            Some("check the path; `rollwise demo` runs on bundled examples without any file")
        }
        _ => None,
    }
}

fn init_tracing(level: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let ansi = std::io::stderr().is_terminal();
    let _ = tracing::subscriber::set_global_default(log_subscriber(filter, std::io::stderr, ansi));
}

/// The process's log format: one line per event, no target, colours only
/// when `ansi` (stderr is a terminal: escape codes in a log collector's
/// lines are noise).
pub fn log_subscriber<W>(
    filter: tracing_subscriber::EnvFilter,
    writer: W,
    ansi: bool,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        .with_target(false)
        .finish()
}

fn run(cli: Cli) -> Result<ExitCode> {
    let judge = || Judge::new(JudgeConfig::default(), LogConfig::default());
    match cli.command {
        Command::Analyze(args) => {
            let hybrid = build_judge(judge, &args.llm, false)?;
            analyze(&hybrid, &args)
        }
        Command::Eval(args) if args.remediate.remediate => remediate::eval(&args),
        Command::Eval(args) => {
            let hybrid = build_judge(judge, &args.llm, false)?;
            if args.baseline.is_some() && hybrid.model_name().is_none() {
                return Err(Error::Usage(
                    "--baseline needs a model: pass --llm-url/--llm-model, --llm local or --llm scripted:VERDICT".into(),
                ));
            }
            run_eval(&hybrid, &args)
        }
        Command::Demo(args) => {
            let hybrid = build_judge(judge, &args.llm, true)?;
            demo::run(
                &hybrid,
                demo::DemoOptions {
                    json: args.json,
                    serve: args.serve,
                    port: args.port,
                },
            )
        }
        Command::Serve(args) => serve::run(args),
        Command::Remediate(args) => remediate::run(&args),
        Command::Logs(LogsCommand::Cluster) => logs::cluster(),
        Command::Logs(LogsCommand::Digest(args)) => logs::digest(
            &judge(),
            &args.evidence,
            args.limits.max_evidence_bytes,
            args.budget,
        ),
        Command::Logs(LogsCommand::Diff(args)) => logs::diff(
            &judge(),
            &args.evidence,
            args.limits.max_evidence_bytes,
            args.json,
            args.all,
        ),
    }
}

/// The `[llm]` table of the configuration file; other tables belong to other
/// parts of rollwise and are ignored here.
#[derive(Debug, Default, serde::Deserialize)]
struct ConfigFile {
    #[serde(default)]
    llm: LlmConfig,
}

fn load_config(path: Option<&std::path::Path>) -> Result<LlmConfig> {
    let file: ConfigFile = read_config(path)?;
    file.llm.validate()?;
    Ok(file.llm)
}

/// The tables `T` reads from the configuration file at `path` (each command
/// takes its own tables and leaves the others); `T::default()` without a file.
fn read_config<T: serde::de::DeserializeOwned + Default>(
    path: Option<&std::path::Path>,
) -> Result<T> {
    let Some(path) = path else {
        return Ok(T::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        what: format!("cannot read configuration {}", path.display()),
        source: e,
    })?;
    let file = path.display().to_string();
    crate::server::config::check_tables(&text, &file)?;
    toml::from_str(&text).map_err(|e| Error::Config(format!("{file}: {e}")))
}

/// The model the flags, environment and configuration file select, its
/// settings, and where the local model's venv is (if installed).
fn llm_selection(args: &LlmArgs, demo: bool) -> Result<(LlmSelection, LlmConfig, Option<PathBuf>)> {
    let cfg = load_config(args.config.as_deref())?;
    let env = |k: &str| std::env::var(k).ok();
    let inputs = SelectionInputs {
        flag_url: args.llm_url.clone(),
        flag_model: args.llm_model.clone(),
        env_url: None,
        env_model: None,
        env_key: env("ROLLWISE_LLM_API_KEY"),
        env_openai_key: env("OPENAI_API_KEY"),
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let venv = crate::llm::local::find_venv(env("ROLLWISE_VENV").as_deref(), &cwd);
    let mut selection = select(args.llm, &inputs, &cfg)?;
    if demo && args.llm == LlmSwitch::Auto && matches!(selection, LlmSelection::Off { .. }) {
        selection = match &venv {
            Some(_) => LlmSelection::Local,
            None => LlmSelection::Off {
                why: "no model configured and the local SmolLM2 is not installed (scripts/setup.sh installs it)".into(),
            },
        };
    }
    Ok((selection, cfg, venv))
}

/// Flags, environment and configuration file → the judge to use. The demo
/// prefers the bundled local model when no endpoint is configured, and falls
/// back to statistics and logs (saying so) when it cannot start.
fn build_judge(judge: impl Fn() -> Judge, args: &LlmArgs, demo: bool) -> Result<HybridJudge> {
    let (selection, cfg, venv) = llm_selection(args, demo)?;
    match HybridJudge::from_selection(judge(), &selection, cfg, venv.as_deref()) {
        Err(e) if demo && selection == LlmSelection::Local => Ok(HybridJudge::statistics_only(
            judge(),
            format!("the local model could not start: {e}"),
        )),
        other => other,
    }
}

fn analyze(hybrid: &HybridJudge, args: &AnalyzeArgs) -> Result<ExitCode> {
    if let Some(url) = &args.slack_webhook {
        crate::notify::SlackConfig::webhook(url.as_str())
            .validate()
            .map_err(|_| Error::Usage("--slack-webhook takes an http(s) URL".into()))?;
    }
    let ev = evidence::load_file(&args.evidence, args.limits.max_evidence_bytes)?;
    if !args.json {
        // stderr: stdout carries only the verdict.
        let _ = writeln!(std::io::stderr(), "rollwise: {}", hybrid.describe());
    }
    let (verdict, diff) = hybrid.analyze_with_diff(&ev);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &verdict)?;
        writeln!(out).map_err(stdout_error)?;
    } else {
        write!(out, "{}", render_verdict(&verdict)).map_err(stdout_error)?;
    }
    if let Some(url) = &args.slack_webhook {
        slack::post(&ev, verdict, diff, url)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn run_eval(hybrid: &HybridJudge, args: &EvalArgs) -> Result<ExitCode> {
    for (flag, v) in [
        ("--max-false-promote", args.max_false_promote),
        ("--max-false-abort", args.max_false_abort),
        ("--min-accuracy", args.min_accuracy),
    ] {
        if let Some(v) = v
            && !(0.0..=1.0).contains(&v)
        {
            return Err(Error::Usage(format!(
                "{flag} takes a rate between 0 and 1, got {v}"
            )));
        }
    }
    let _ = writeln!(std::io::stderr(), "rollwise eval: {}", hybrid.describe());
    let report = eval::run_dir(
        hybrid,
        &args.scenarios,
        args.limits.max_evidence_bytes,
        args.baseline.is_some(),
    )?;
    let markdown = eval::render_markdown(&report);
    match &args.report {
        Some(path) => std::fs::write(path, &markdown).map_err(|e| Error::Io {
            what: format!("cannot write report {}", path.display()),
            source: e,
        })?,
        None => {
            let mut out = std::io::stdout().lock();
            write!(out, "{markdown}").map_err(stdout_error)?;
        }
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n").map_err(|e| Error::Io {
            what: format!("cannot write JSON report {}", path.display()),
            source: e,
        })?;
    }
    let gates = EvalGates {
        max_false_promote: args.max_false_promote,
        max_false_abort: args.max_false_abort,
        min_accuracy: args.min_accuracy,
    };
    let failures = gates.check_report(&report);
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        let mut stderr = std::io::stderr().lock();
        for f in &failures {
            let _ = writeln!(stderr, "gate failed: {f}");
        }
        Ok(ExitCode::from(1))
    }
}

fn stdout_error(e: std::io::Error) -> Error {
    Error::Io {
        what: "cannot write to stdout".into(),
        source: e,
    }
}
