//! The `rollwise` command line. `main.rs` only calls [`main`].

mod demo;
mod logs;
mod render;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::error::{Error, Result};
use crate::eval::{self, EvalGates};
use crate::evidence::{self, DEFAULT_MAX_BYTES};
use crate::judge::{Judge, JudgeConfig};
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
    #[command(flatten)]
    limits: Limits,
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
    #[command(flatten)]
    limits: Limits,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Print the demo's verdicts as JSON lines instead of the human view.
    #[arg(long)]
    json: bool,
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
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn run(cli: Cli) -> Result<ExitCode> {
    let judge = Judge::new(JudgeConfig::default(), LogConfig::default());
    match cli.command {
        Command::Analyze(args) => analyze(&judge, &args),
        Command::Eval(args) => run_eval(&judge, &args),
        Command::Demo(args) => demo::run(&judge, args.json),
        Command::Logs(LogsCommand::Cluster) => logs::cluster(),
        Command::Logs(LogsCommand::Digest(args)) => logs::digest(
            &judge,
            &args.evidence,
            args.limits.max_evidence_bytes,
            args.budget,
        ),
        Command::Logs(LogsCommand::Diff(args)) => logs::diff(
            &judge,
            &args.evidence,
            args.limits.max_evidence_bytes,
            args.json,
            args.all,
        ),
    }
}

fn analyze(judge: &Judge, args: &AnalyzeArgs) -> Result<ExitCode> {
    let ev = evidence::load_file(&args.evidence, args.limits.max_evidence_bytes)?;
    let verdict = judge.judge(&ev);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &verdict)?;
        writeln!(out).map_err(stdout_error)?;
    } else {
        write!(out, "{}", render_verdict(&verdict)).map_err(stdout_error)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn run_eval(judge: &Judge, args: &EvalArgs) -> Result<ExitCode> {
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
    let report = eval::run_dir(judge, &args.scenarios, args.limits.max_evidence_bytes)?;
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
    let failures = gates.check(&report.scores);
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
