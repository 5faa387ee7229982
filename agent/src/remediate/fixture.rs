//! Remediation fixtures (`evals/fixtures/<name>/`): a recipe of a real git
//! history (`fixture.json`, `commits/NNN-slug/`) that `evals/fixtures/build.py`
//! turns into a repository, and the fixture's test command, which passes at
//! the stable revision and fails at the canary one.
//!
//! A toolchain a fixture needs and this machine lacks is an error that names
//! the install step: a fixture that cannot run is a failure, never a skip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::release::git;
use crate::error::{Error, Result};

/// Most time one test run may take.
const TEST_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureSpec {
    pub language: String,
    /// Commands the fixture's `test` and `run` need on PATH.
    #[serde(default)]
    pub needs: Vec<String>,
    pub test: Vec<String>,
    #[serde(default)]
    pub run: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub stable: String,
    pub canary: String,
    /// The commit directory (`NNN-slug`) whose commit introduces the bug.
    pub bug_commit: String,
    #[serde(default)]
    pub bug: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BuiltCommit {
    pub dir: String,
    pub sha: String,
    pub subject: String,
}

#[derive(Debug, Clone, Deserialize)]
struct BuildOutput {
    commits: Vec<BuiltCommit>,
}

/// A fixture's repository, built into a directory of its own (removed on drop).
#[derive(Debug)]
pub struct BuiltFixture {
    pub name: String,
    pub spec: FixtureSpec,
    /// The repository: `main` checked out at the last commit (the canary).
    pub repo: PathBuf,
    pub commits: Vec<BuiltCommit>,
    scratch: PathBuf,
}

impl Drop for BuiltFixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// How to install a command a fixture needs.
fn install_step(cmd: &str) -> &'static str {
    match cmd {
        "python3" => "apt-get install python3",
        "node" => "apt-get install nodejs (Node 20)",
        "javac" | "java" => "apt-get install openjdk-17-jdk-headless",
        "cargo" => "install Rust with rustup (https://rustup.rs)",
        "git" => "apt-get install git",
        _ => "install it",
    }
}

/// `cmd` on PATH, or an error naming how to install it.
pub fn require(cmd: &str) -> Result<()> {
    let found = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| {
            let p = d.join(cmd);
            p.is_file()
        })
    });
    if found {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{cmd} is not installed, and the fixture needs it: {}",
            install_step(cmd)
        )))
    }
}

/// Whether `dir` holds a fixture recipe (a fixture without one, such as a
/// working tree with no history, cannot be built).
pub fn has_recipe(fixtures: &Path, name: &str) -> bool {
    fixtures.join(name).join("fixture.json").is_file()
}

/// Creates a directory under `parent` no other run uses (process id, time,
/// and a suffix counted up while the name is taken).
fn fresh_dir(parent: &Path, name: &str) -> Result<PathBuf> {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    for n in 0..1000 {
        let d = parent.join(format!("rollwise-{}-{t}-{n}-{name}", std::process::id()));
        match std::fs::create_dir(&d) {
            Ok(()) => return Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(format!("cannot create {}", d.display()))(e)),
        }
    }
    Err(Error::Config(format!(
        "no free scratch directory under {}",
        parent.display()
    )))
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { what, source }
}

impl BuiltFixture {
    /// Builds fixture `name` of `fixtures` (a fixture name, never a path).
    pub fn build(fixtures: &Path, name: &str) -> Result<Self> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(Error::Config(format!("fixture name {name:?}")));
        }
        let dir = fixtures.join(name);
        let spec_path = dir.join("fixture.json");
        let text = std::fs::read_to_string(&spec_path)
            .map_err(io(format!("cannot read {}", spec_path.display())))?;
        let spec: FixtureSpec = serde_json::from_str(&text)
            .map_err(|e| Error::Config(format!("{}: {e}", spec_path.display())))?;
        require("python3")?;
        require("git")?;
        for cmd in &spec.needs {
            require(cmd)?;
        }
        let scratch = fresh_dir(&std::env::temp_dir(), name)?;
        let repo = scratch.join(name);
        let out = Command::new("python3")
            .arg(fixtures.join("build.py"))
            .arg(&dir)
            .arg(&repo)
            .output()
            .map_err(io("cannot run python3 evals/fixtures/build.py".into()))?;
        let mut built = BuiltFixture {
            name: name.to_owned(),
            spec,
            repo,
            commits: Vec::new(),
            scratch,
        };
        if !out.status.success() {
            return Err(Error::Config(format!(
                "build.py {name}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let parsed: BuildOutput = serde_json::from_slice(&out.stdout)
            .map_err(|e| Error::Config(format!("build.py {name} printed no commit list: {e}")))?;
        built.commits = parsed.commits;
        Ok(built)
    }

    /// The commit that introduces the bug.
    pub fn bug_sha(&self) -> Option<&str> {
        self.commits
            .iter()
            .find(|c| c.dir == self.spec.bug_commit)
            .map(|c| c.sha.as_str())
    }

    /// A fresh checkout of `rev` in a directory of its own (inside this
    /// fixture's scratch directory).
    pub fn checkout(&self, rev: &str) -> Result<PathBuf> {
        let dir = fresh_dir(&self.scratch, "checkout")?.join("tree");
        let d = dir.to_string_lossy().into_owned();
        git(
            &self.repo,
            &["worktree", "add", "--detach", "--quiet", &d, rev],
        )?;
        Ok(dir)
    }

    /// Runs the fixture's test command in `dir`.
    pub fn run_tests(&self, dir: &Path) -> Result<TestRun> {
        let (cmd, args) = self
            .spec
            .test
            .split_first()
            .ok_or_else(|| Error::Config(format!("{}: empty test command", self.name)))?;
        require(cmd)?;
        let start = Instant::now();
        let mut child = Command::new(cmd)
            .args(args)
            .current_dir(dir)
            .envs(&self.spec.env)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io(format!("cannot run {cmd}")))?;
        loop {
            if child
                .try_wait()
                .map_err(io(format!("waiting for {cmd}")))?
                .is_some()
            {
                break;
            }
            if start.elapsed() > TEST_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(TestRun {
                    passed: false,
                    tail: format!("timed out after {} s", TEST_TIMEOUT.as_secs()),
                    duration_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let out = child
            .wait_with_output()
            .map_err(io(format!("reading the output of {cmd}")))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(5)..].join("\n");
        Ok(TestRun {
            passed: out.status.success(),
            tail,
            duration_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }
}

/// One run of a fixture's tests.
#[derive(Debug, Clone)]
pub struct TestRun {
    pub passed: bool,
    /// The output's last lines.
    pub tail: String,
    pub duration_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_toolchain_names_its_install_step() {
        assert!(require("sh").is_ok());
        let e = require("javac-not-here").unwrap_err().to_string();
        assert!(e.contains("javac-not-here is not installed"), "{e}");
        assert_eq!(
            install_step("javac"),
            "apt-get install openjdk-17-jdk-headless"
        );
        let dir = std::env::temp_dir();
        assert!(BuiltFixture::build(&dir, "../x").is_err());
        assert!(!has_recipe(&dir, "no-such-fixture"));
    }
}
