//! Where the remediation agent may write: decided before the run from the
//! Rollout and configuration, never from anything the model reads or says.

use std::collections::BTreeSet;

use super::RepoRef;
use crate::error::{Error, Result};

/// Every fix branch starts with this, so a write can never land on a branch a
/// human uses (and the branch says who made it).
pub const BRANCH_PREFIX: &str = "rollwise/fix/";

/// Paths a fix may never write, at any depth: CI definitions run with the
/// repository's secrets, and ownership files decide who reviews. A directory
/// name protects everything under it; a file name protects that file (and
/// `.gitlab-ci*` its variants).
const PROTECTED_DIRS: [&str; 2] = [".github", ".circleci"];
const PROTECTED_FILES: [&str; 2] = ["CODEOWNERS", "Jenkinsfile"];
const PROTECTED_FILE_PREFIXES: [&str; 1] = [".gitlab-ci"];

fn is_protected(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let Some((file, dirs)) = parts.split_last() else {
        return false;
    };
    dirs.iter().any(|d| PROTECTED_DIRS.contains(d))
        || PROTECTED_FILES.contains(file)
        || PROTECTED_FILE_PREFIXES.iter().any(|p| file.starts_with(p))
}

/// The one repository a run is for, and what may be written to it.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoPolicy {
    pub repo: RepoRef,
    /// Repositories writes are allowed on; the run's repository must be one.
    pub allowlist: BTreeSet<RepoRef>,
    /// The fix branch: derived from (rollout, canary revision).
    pub branch: String,
    /// The base (default) branch: never written.
    pub base: String,
    /// The stable and canary revisions (commits or tags), when known.
    pub stable_revision: Option<String>,
    pub canary_revision: Option<String>,
    /// Most files one commit may write, and most bytes per file.
    pub max_files: usize,
    pub max_file_bytes: usize,
}

impl RepoPolicy {
    pub fn new(
        repo: RepoRef,
        allowlist: impl IntoIterator<Item = RepoRef>,
        rollout: &str,
        canary_revision: &str,
        base: &str,
    ) -> Self {
        RepoPolicy {
            repo,
            allowlist: allowlist.into_iter().collect(),
            branch: fix_branch(rollout, canary_revision),
            base: base.to_owned(),
            stable_revision: None,
            canary_revision: None,
            max_files: 10,
            max_file_bytes: 256 * 1024,
        }
    }

    pub fn may_write(&self) -> bool {
        self.allowlist.contains(&self.repo)
    }

    /// Refuses unless the run's repository is allowlisted and `branch` is the
    /// run's fix branch (which is never the base branch).
    pub fn check_write(&self, branch: &str) -> Result<()> {
        if !self.may_write() {
            return Err(Error::NotAllowed(format!(
                "{} is not on the allowlist of repositories rollwise may write to",
                self.repo
            )));
        }
        if branch != self.branch || branch == self.base || !branch.starts_with(BRANCH_PREFIX) {
            return Err(Error::NotAllowed(format!(
                "writes go only to the fix branch {}, never to {branch}",
                self.branch
            )));
        }
        Ok(())
    }

    /// A path a fix may write: relative, inside the repository, not protected.
    pub fn check_path(&self, path: &str) -> Result<()> {
        let bad = path.is_empty()
            || path.starts_with('/')
            || path.contains('\\')
            || path.contains('\0')
            || path
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
            || path.split('/').next() == Some(".git");
        if bad {
            return Err(Error::InvalidArgs {
                tool: "commit_changes".into(),
                message: format!("{path:?} is not a relative path inside the repository"),
            });
        }
        if is_protected(path) {
            return Err(Error::NotAllowed(format!(
                "{path} is protected (CI and ownership files are never changed by rollwise)"
            )));
        }
        Ok(())
    }
}

/// `rollwise/fix/<rollout>-<revision>`: the same (rollout, canary revision)
/// always gives the same branch, which is how a second run finds the first
/// run's pull request.
pub fn fix_branch(rollout: &str, canary_revision: &str) -> String {
    let clean = |s: &str, max: usize| -> String {
        let mut out: String = s
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        while out.contains("..") {
            out = out.replace("..", ".");
        }
        let out = out.trim_matches(|c| c == '-' || c == '.').to_owned();
        out.chars().take(max).collect()
    };
    let rev = clean(canary_revision, 40);
    format!(
        "{BRANCH_PREFIX}{}-{}",
        clean(rollout, 60),
        if rev.is_empty() { "unknown" } else { &rev }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RepoPolicy {
        let r = RepoRef::new("acme", "shop").unwrap();
        RepoPolicy::new(r.clone(), [r], "shop/checkout", "7c9d5f6b8", "main")
    }

    #[test]
    fn the_branch_is_deterministic_and_safe() {
        assert_eq!(
            fix_branch("shop/checkout", "7c9d5f6b8"),
            "rollwise/fix/shop-checkout-7c9d5f6b8"
        );
        assert_eq!(
            fix_branch("a", "../../main"),
            "rollwise/fix/a-main",
            "no path tricks in a branch name"
        );
        assert_eq!(fix_branch("a", ""), "rollwise/fix/a-unknown");
    }

    #[test]
    fn writes_only_to_the_fix_branch_of_an_allowlisted_repo() {
        let p = policy();
        assert!(p.check_write(&p.branch).is_ok());
        assert!(matches!(p.check_write("main"), Err(Error::NotAllowed(_))));
        assert!(matches!(
            p.check_write("rollwise/fix/other"),
            Err(Error::NotAllowed(_))
        ));
        let mut q = policy();
        q.allowlist.clear();
        assert!(matches!(
            q.check_write(&q.branch),
            Err(Error::NotAllowed(_))
        ));
    }

    #[test]
    fn paths_stay_inside_and_off_ci() {
        let p = policy();
        assert!(p.check_path("src/main.go").is_ok());
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../../b",
            "a//b",
            ".git/config",
            "",
        ] {
            assert!(p.check_path(bad).is_err(), "{bad}");
        }
        for protected in [
            ".github/workflows/ci.yml",
            "services/api/.github/workflows/ci.yml",
            "CODEOWNERS",
            "docs/CODEOWNERS",
            ".circleci/config.yml",
            "deploy/.circleci/config.yml",
            "Jenkinsfile",
            "build/Jenkinsfile",
            ".gitlab-ci.yml",
            "sub/.gitlab-ci.yml",
        ] {
            assert!(
                matches!(p.check_path(protected), Err(Error::NotAllowed(_))),
                "{protected}"
            );
        }
        for fine in [
            "src/github/client.rs",
            "docs/jenkinsfile-notes.md",
            "CODEOWNERS.md",
        ] {
            assert!(p.check_path(fine).is_ok(), "{fine}");
        }
    }
}
