//! `rollwise remediate`: judge a bundle and, on abort, run the remediation
//! agent against a repository: a local working tree (read from disk, always a
//! dry run) or a GitHub / GitHub Enterprise URL (`ROLLWISE_GITHUB_API_URL`,
//! `ROLLWISE_GITHUB_TOKEN` or a GitHub App). `--dry-run` sends no write
//! request anywhere: writes go to an in-memory recorder, and the diff and the
//! pull request body are printed instead.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use rollwise_tools::github::{
    DryRunWriter, GithubConfig, GithubRepo, LocalRepo, NoObserver, RepoReader, RepoRef, RepoWriter,
};

use super::{LlmArgs, load_config, stdout_error};
use crate::error::{Error, Result};
use crate::evidence::{self, DEFAULT_MAX_BYTES, Decision};
use crate::judge::Judge;
use crate::llm::config::{SelectionInputs, select};
use crate::llm::local::{LOCAL_MODEL_NAME, LocalServer, find_venv};
use crate::llm::openai::{OpenAiChat, ToolMode};
use crate::llm::scripted::ScriptedModel;
use crate::llm::{ChatModel, LlmSelection, ToolTurn};
use crate::remediate::{
    Bounds, RemediationConfig, RemediationOutcome, Remediator, RepoTarget, policy_for,
};

#[derive(Debug, Args)]
pub(super) struct RemediateArgs {
    /// The evidence bundle of the aborted canary.
    #[arg(long, value_name = "FILE")]
    evidence: PathBuf,
    /// The service's repository: a local directory, or https://github.com/OWNER/NAME (or a GHE URL).
    #[arg(long, value_name = "PATH_OR_URL")]
    repo: String,
    /// Propose the change without writing anything: print the diff and the PR body.
    #[arg(long)]
    dry_run: bool,
    /// Base branch of the pull request (default: the repository's default branch).
    #[arg(long, value_name = "BRANCH")]
    base: Option<String>,
    /// Repositories writes are allowed on (OWNER/NAME, repeatable); also
    /// ROLLWISE_GITHUB_ALLOWED_REPOS (comma-separated). Not needed with --dry-run.
    #[arg(long = "allow-repo", value_name = "OWNER/NAME")]
    allow_repo: Vec<String>,
    /// Replay agent turns from a JSON file (a list of {content, tool_calls}) instead of a model.
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// Run even when the verdict is not abort.
    #[arg(long)]
    force: bool,
    /// Most model turns.
    #[arg(long, value_name = "N", default_value_t = Bounds::default().max_steps)]
    max_steps: u32,
    /// Most tokens (prompt + completion) over the run.
    #[arg(long, value_name = "N", default_value_t = Bounds::default().max_tokens)]
    max_tokens: u64,
    /// Most seconds for the run.
    #[arg(long, value_name = "SECONDS", default_value_t = Bounds::default().wall_time.as_secs())]
    max_seconds: u64,
    /// Print the outcome (with the transcript) as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// No model: localize the failure in the release diff of a local git
    /// repository (--repo PATH) and propose reverting the top suspect commit.
    /// Without this flag, a model run that opens no pull request falls back
    /// to the same revert proposal when --repo is a local git repository.
    #[arg(long, conflicts_with = "script")]
    no_model: bool,
    #[command(flatten)]
    llm: LlmArgs,
}

/// Longest string argument the bundled local model may write (a file's
/// content included): it repeats phrases until a bound, and 2000 characters
/// fit the fixture files a 135M model could possibly fix.
const LOCAL_STRING_LIMIT: u64 = 2000;

/// The model and, for the local one, the server it needs alive.
struct AgentModel {
    model: Arc<dyn ChatModel>,
    _server: Option<LocalServer>,
}

fn load_script(path: &Path) -> Result<Vec<ToolTurn>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        what: format!("cannot read agent script {}", path.display()),
        source: e,
    })?;
    serde_json::from_str(&text)
        .map_err(|e| Error::Config(format!("agent script {}: {e}", path.display())))
}

/// `rollwise eval --remediate`: the remediation part of the eval.
#[derive(Debug, Args)]
pub(super) struct EvalRemediateArgs {
    /// Score remediation instead of verdicts: scenarios with `expected.remediation`
    /// run the agent (dry run) on their fixture repository.
    #[arg(long)]
    pub(super) remediate: bool,
    /// Where fixture repositories live.
    #[arg(long, value_name = "DIR", default_value = "evals/fixtures")]
    fixtures: PathBuf,
    /// Replay agent scripts from DIR/<scenario name>.json instead of a model.
    #[arg(long, value_name = "DIR")]
    remediation_scripts: Option<PathBuf>,
    /// No model: localize the failure in the fixture's release diff and
    /// propose reverting the top suspect commit; score suspects, files, the
    /// PR and whether the fixture's tests pass after it.
    #[arg(long, conflicts_with = "remediation_scripts")]
    no_model: bool,
}

pub(super) fn eval(args: &super::EvalArgs) -> Result<ExitCode> {
    let files = crate::eval::scenario_files(&args.scenarios)?;
    let mut scenarios = Vec::new();
    for f in files {
        let ev = evidence::load_file(&f, args.limits.max_evidence_bytes)?;
        scenarios.push((f, ev));
    }
    let r = &args.remediate;
    if r.no_model {
        let report = crate::remediate::eval::run_no_model(&scenarios, &r.fixtures)?;
        let command = format!(
            "rollwise eval --remediate --no-model --scenarios {}",
            args.scenarios.display()
        );
        let markdown = crate::remediate::eval::render_no_model_markdown(&report, &command);
        return write_reports(args, &markdown, &report);
    }
    let rt = crate::runtime::current_thread()?;
    let _entered = rt.enter();
    let shared = match &r.remediation_scripts {
        Some(_) => None,
        None => Some(build_model(&args.llm, None)?),
    };
    let name = shared.as_ref().map_or_else(
        || "scripted replay".to_owned(),
        |m| m.model.name().to_owned(),
    );
    let model_for = |ev: &crate::evidence::Evidence| -> Result<Arc<dyn ChatModel>> {
        match (&shared, &r.remediation_scripts) {
            (Some(m), _) => Ok(m.model.clone()),
            (None, Some(dir)) => {
                let turns = load_script(&dir.join(format!("{}.json", ev.name)))?;
                Ok(Arc::new(ScriptedModel::tool_turns(
                    turns.into_iter().map(Ok).collect(),
                )?))
            }
            (None, None) => Err(Error::Usage("no model".into())),
        }
    };
    let report = crate::remediate::eval::run(
        &scenarios,
        &r.fixtures,
        &name,
        &model_for,
        Bounds::default(),
    )?;
    let markdown = crate::remediate::eval::render_markdown(&report);
    write_reports(args, &markdown, &report)
}

fn write_reports<T: serde::Serialize>(
    args: &super::EvalArgs,
    markdown: &str,
    report: &T,
) -> Result<ExitCode> {
    match &args.report {
        Some(path) => std::fs::write(path, markdown).map_err(|e| Error::Io {
            what: format!("cannot write report {}", path.display()),
            source: e,
        })?,
        None => write!(std::io::stdout().lock(), "{markdown}").map_err(stdout_error)?,
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(report)?;
        std::fs::write(path, json + "\n").map_err(|e| Error::Io {
            what: format!("cannot write JSON report {}", path.display()),
            source: e,
        })?;
    }
    Ok(ExitCode::SUCCESS)
}

fn build_model(llm: &LlmArgs, script: Option<&Path>) -> Result<AgentModel> {
    if let Some(path) = script {
        let turns = load_script(path)?.into_iter().map(Ok).collect();
        return Ok(AgentModel {
            model: Arc::new(ScriptedModel::tool_turns(turns)?),
            _server: None,
        });
    }
    let cfg = load_config(llm.config.as_deref())?;
    let env = |k: &str| std::env::var(k).ok();
    let inputs = SelectionInputs {
        flag_url: llm.llm_url.clone(),
        flag_model: llm.llm_model.clone(),
        env_url: None,
        env_model: None,
        env_key: env("ROLLWISE_LLM_API_KEY"),
        env_openai_key: env("OPENAI_API_KEY"),
    };
    // Agent turns are longer than verdicts: at least two minutes each.
    let timeout = cfg.timeout().max(Duration::from_secs(120));
    match select(llm.llm, &inputs, &cfg)? {
        LlmSelection::Endpoint {
            url,
            model,
            api_key,
        } => Ok(AgentModel {
            model: Arc::new(OpenAiChat::new(&url, &model, api_key, timeout)?),
            _server: None,
        }),
        LlmSelection::Local => {
            let cwd = std::env::current_dir().unwrap_or_default();
            let venv = find_venv(env("ROLLWISE_VENV").as_deref(), &cwd).ok_or_else(|| {
                Error::Config("the local model is not installed: run scripts/setup.sh".into())
            })?;
            let server = LocalServer::start(&venv, cfg.local_threads)?;
            let chat = OpenAiChat::new(server.base_url(), LOCAL_MODEL_NAME, None, timeout)?
                .with_tool_mode(ToolMode::JsonSchema)
                .with_json_string_limit(LOCAL_STRING_LIMIT);
            Ok(AgentModel {
                model: Arc::new(chat),
                _server: Some(server),
            })
        }
        LlmSelection::Scripted(_) => Err(Error::Usage(
            "a scripted verdict cannot drive the agent: pass --script FILE".into(),
        )),
        LlmSelection::Off { why } => Err(Error::Usage(format!(
            "remediation needs a model ({why}): pass --llm-url/--llm-model, --llm local or --script FILE"
        ))),
    }
}

/// The `[remediate]` table of `--config`, if any.
fn remediation_config(path: Option<&Path>) -> Result<RemediationConfig> {
    #[derive(Default, serde::Deserialize)]
    struct File {
        #[serde(default)]
        remediate: RemediationConfig,
    }
    let f: File = super::read_config(path)?;
    f.remediate.validate()?;
    Ok(f.remediate)
}

/// `ROLLWISE_GITHUB_ALLOWED_REPOS`, `--allow-repo` and `[remediate] allowed_repos`.
fn allowlist(args: &RemediateArgs, cfg: &RemediationConfig) -> Result<Vec<RepoRef>> {
    let mut out = cfg.allowlist()?;
    let env = std::env::var("ROLLWISE_GITHUB_ALLOWED_REPOS").unwrap_or_default();
    let more: Result<Vec<RepoRef>> = env
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .chain(args.allow_repo.iter().map(String::as_str))
        .map(|s| RepoRef::parse(s).map_err(|e| Error::Usage(e.to_string())))
        .collect();
    out.extend(more?);
    Ok(out)
}

fn tools_err(e: rollwise_tools::Error) -> Error {
    Error::Config(e.to_string())
}

pub(super) fn run(args: &RemediateArgs) -> Result<ExitCode> {
    let rcfg = remediation_config(args.llm.config.as_deref())?;
    let ev = evidence::load_file(&args.evidence, DEFAULT_MAX_BYTES)?;
    let judge = Judge::default();
    let assessment = judge.assess(&ev);
    let counter = crate::logs::digest::TokenCounter::new()?;
    let digest = crate::llm::hybrid::log_digest(&judge, &counter, &ev, &assessment, 1500);
    let logs = assessment.logs.clone();
    let verdict = judge.decide(&ev, assessment, None);
    let mut err = std::io::stderr().lock();
    if verdict.verdict != Decision::Abort && !args.force {
        let _ = writeln!(
            err,
            "rollwise remediate: the verdict is {}, not abort; nothing to fix (--force runs anyway)",
            verdict.verdict
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rt = crate::runtime::current_thread()?;
    // The GitHub client spawns its request buffer on the runtime.
    let _entered = rt.enter();
    let local = Path::new(&args.repo);
    let (reader, writer, repo): (Arc<dyn RepoReader>, Arc<dyn RepoWriter>, RepoRef) = if local
        .is_dir()
    {
        if !args.dry_run {
            return Err(Error::Usage(
                    "a local repository is only read: pass --dry-run (or a GitHub URL to open a pull request)".into(),
                ));
        }
        let r = LocalRepo::open(local).map_err(tools_err)?;
        let repo = r.repo().clone();
        (Arc::new(r), Arc::new(DryRunWriter::new()), repo)
    } else {
        let repo = RepoRef::parse(&args.repo).map_err(|e| Error::Usage(e.to_string()))?;
        crate::tls::install_crypto_provider();
        let cfg = GithubConfig::from_env(|k| std::env::var(k).ok()).map_err(tools_err)?;
        let gh =
            Arc::new(GithubRepo::new(repo.clone(), cfg, Arc::new(NoObserver)).map_err(tools_err)?);
        let writer: Arc<dyn RepoWriter> = if args.dry_run {
            Arc::new(DryRunWriter::new())
        } else {
            gh.clone()
        };
        (gh, writer, repo)
    };
    if let Some(found) = rcfg.repo_for(&ev)
        && found != repo
        && !local.is_dir()
    {
        let _ = writeln!(
            err,
            "rollwise remediate: warning: the Rollout names {found}, working on {repo} as asked"
        );
    }
    // A dry run writes only to memory, so it may "write" anywhere it reads.
    let allow = if args.dry_run {
        vec![repo.clone()]
    } else {
        let allow = allowlist(args, &rcfg)?;
        if !allow.contains(&repo) {
            return Err(Error::Usage(format!(
                "{repo} is not on the allowlist: pass --allow-repo {repo} or set ROLLWISE_GITHUB_ALLOWED_REPOS"
            )));
        }
        allow
    };
    // A local git repository has a release diff: the revert is possible.
    let git_dir = (local.is_dir() && local.join(".git").exists()).then(|| local.to_path_buf());
    let revert = |reader: Arc<dyn RepoReader>, writer: Arc<dyn RepoWriter>, base: String| {
        let policy = policy_for(&ev, repo.clone(), allow.clone(), &base);
        let target = RepoTarget {
            policy,
            reader,
            writer,
        };
        let logs = &logs;
        let verdict = &verdict;
        let ev = &ev;
        let git_dir = git_dir.clone();
        async move {
            let Some(dir) = git_dir else {
                return Err(Error::Usage(
                    "a revert proposal needs the release diff: pass --repo with a local git clone (the GitHub compare path is not built yet)".into(),
                ));
            };
            crate::remediate::revert_run(ev, verdict, logs, &dir, target).await
        }
    };
    if args.no_model {
        let outcome = rt.block_on(async {
            let base = match &args.base {
                Some(b) => b.clone(),
                None => reader.default_branch().await.map_err(tools_err)?,
            };
            let _ = writeln!(
                err,
                "rollwise remediate: no model: localizing and proposing a revert on {repo}{}",
                if args.dry_run { ", dry run" } else { "" }
            );
            revert(reader.clone(), writer.clone(), base).await
        })?;
        print_outcome(&outcome, args)?;
        return Ok(ExitCode::SUCCESS);
    }
    let model = build_model(&args.llm, args.script.as_deref())?;
    let bounds = Bounds {
        max_steps: args.max_steps,
        max_tokens: args.max_tokens,
        wall_time: Duration::from_secs(args.max_seconds),
        ..Bounds::default()
    };
    let outcome = rt.block_on(async {
        let base = match &args.base {
            Some(b) => b.clone(),
            None => reader.default_branch().await.map_err(tools_err)?,
        };
        let policy = policy_for(&ev, repo.clone(), allow.clone(), &base);
        let remediator = Remediator::new(model.model.clone(), bounds)?;
        let _ = writeln!(
            err,
            "rollwise remediate: {} on {repo} (branch {}){}",
            model.model.name(),
            policy.branch,
            if args.dry_run { ", dry run" } else { "" }
        );
        remediator
            .run(
                &ev,
                &verdict,
                &digest.text,
                RepoTarget {
                    policy,
                    reader: reader.clone(),
                    writer: writer.clone(),
                },
                Vec::new(),
            )
            .await
            .map(|o| (o, base))
    })?;
    let (outcome, base) = outcome;
    // The model's fix did not come: the revert is the fix that is always there.
    let outcome = if outcome.pr.is_none() && git_dir.is_some() {
        let _ = writeln!(
            err,
            "rollwise remediate: the model opened no pull request ({}); proposing a revert",
            outcome.stop.as_str()
        );
        rt.block_on(revert(reader, writer, base))?
    } else {
        outcome
    };
    print_outcome(&outcome, args)?;
    Ok(match outcome.stop {
        crate::remediate::StopReason::Finished => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}

fn print_outcome(o: &RemediationOutcome, args: &RemediateArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, o)?;
        writeln!(out).map_err(stdout_error)?;
        return Ok(());
    }
    let mut s = format!(
        "stopped: {} after {} step(s), {} + {} tokens, {} ms\n",
        o.stop.as_str(),
        o.steps,
        o.prompt_tokens,
        o.completion_tokens,
        o.duration_ms
    );
    if let crate::remediate::StopReason::FatalTool { tool, error } = &o.stop {
        s.push_str(&format!("  {tool}: {error}\n"));
    }
    if let crate::remediate::StopReason::Model { error } = &o.stop {
        s.push_str(&format!("  model: {error}\n"));
    }
    if let Some(m) = &o.final_message {
        s.push_str(&format!("agent: {m}\n"));
    }
    match (&o.pr, args.dry_run) {
        (Some(_), true) => s.push_str(&format!(
            "dry run: would open a draft pull request from {}\n",
            o.branch
        )),
        (Some(pr), false) => s.push_str(&format!(
            "draft pull request #{} {}: {}\n",
            pr.number,
            if o.pr_updated { "updated" } else { "opened" },
            pr.url
        )),
        (None, _) => s.push_str("no pull request\n"),
    }
    if !o.diff.is_empty() {
        s.push('\n');
        s.push_str(&o.diff);
    }
    if let (Some(title), Some(body)) = (&o.pr_title, &o.pr_body) {
        s.push_str(&format!("\n--- pull request ---\n{title}\n\n{body}\n"));
    }
    write!(out, "{s}").map_err(stdout_error)
}
