//! The release diff: the commits between the stable and the canary revision
//! of a local git repository, with the lines each one changed, read with the
//! `git` command line.
//!
//! A release is everything the canary runs that the stable pods do not:
//! `git log stable..canary`. Which release commit last wrote a line of the
//! canary's code is `git blame stable..canary` (lines older than the release
//! are "boundary" lines, no suspect's).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::error::{Error, Result};

/// One file of one commit: the lines it added (line numbers in that commit's
/// version of the file) and the lines it removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangedFile {
    pub path: String,
    /// `A`dded, `M`odified, `D`eleted (as `git show --name-status` says).
    pub status: char,
    pub added: Vec<(u32, String)>,
    pub removed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseCommit {
    pub sha: String,
    pub subject: String,
    pub files: Vec<ChangedFile>,
}

impl ReleaseCommit {
    pub fn short(&self) -> &str {
        self.sha.get(..8).unwrap_or(&self.sha)
    }
}

/// The commits of a release, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseDiff {
    pub stable: String,
    pub canary: String,
    pub stable_sha: String,
    pub canary_sha: String,
    pub commits: Vec<ReleaseCommit>,
    /// Every file tracked at the canary revision.
    #[serde(skip)]
    pub canary_files: Vec<String>,
    #[serde(skip)]
    pub repo: PathBuf,
}

/// The git command, or an error that names how to install it.
pub fn git(repo: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["-c", "core.quotepath=off"])
        .args(args)
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Config(
                    "git is not installed: install it (apt-get install git) to read the release diff"
                        .into(),
                )
            } else {
                Error::Io {
                    what: "cannot run git".into(),
                    source: e,
                }
            }
        })?;
    if !out.status.success() {
        return Err(Error::Config(format!(
            "git {} in {}: {}",
            args.join(" "),
            repo.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `git show --unified=0` of one commit, parsed.
fn parse_patch(text: &str) -> Vec<ChangedFile> {
    let mut files: Vec<ChangedFile> = Vec::new();
    let mut new_line = 0u32;
    let mut old_path: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("diff --git ") {
            old_path = None;
            continue;
        }
        if let Some(p) = line.strip_prefix("--- ") {
            old_path = p.strip_prefix("a/").map(str::to_owned);
            continue;
        }
        if let Some(p) = line.strip_prefix("+++ ") {
            let (path, status) = match p.strip_prefix("b/") {
                Some(p) => (p.to_owned(), if old_path.is_some() { 'M' } else { 'A' }),
                None => (old_path.clone().unwrap_or_default(), 'D'),
            };
            files.push(ChangedFile {
                path,
                status,
                added: Vec::new(),
                removed: Vec::new(),
            });
            continue;
        }
        if let Some(h) = line.strip_prefix("@@ ") {
            // @@ -a,b +c,d @@
            new_line = h
                .split_whitespace()
                .find_map(|t| t.strip_prefix('+'))
                .and_then(|t| t.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            continue;
        }
        let Some(f) = files.last_mut() else { continue };
        if let Some(t) = line.strip_prefix('+') {
            f.added.push((new_line, t.to_owned()));
            new_line += 1;
        } else if let Some(t) = line.strip_prefix('-') {
            f.removed.push(t.to_owned());
        }
    }
    files
}

impl ReleaseDiff {
    /// The release from `stable` to `canary` (tags, branches or commits) of
    /// the git repository at `repo`.
    pub fn local(repo: &Path, stable: &str, canary: &str) -> Result<Self> {
        let rev = |r: &str| -> Result<String> {
            Ok(
                git(repo, &["rev-parse", "--verify", &format!("{r}^{{commit}}")])?
                    .trim()
                    .to_owned(),
            )
        };
        let stable_sha = rev(stable)?;
        let canary_sha = rev(canary)?;
        let range = format!("{stable_sha}..{canary_sha}");
        let log = git(repo, &["log", "--reverse", "--format=%H%x1f%s", &range])?;
        let mut commits = Vec::new();
        for l in log.lines() {
            let Some((sha, subject)) = l.split_once('\x1f') else {
                continue;
            };
            let patch = git(
                repo,
                &[
                    "show",
                    "--format=",
                    "--unified=0",
                    "--no-color",
                    "--no-renames",
                    "--no-ext-diff",
                    sha,
                ],
            )?;
            commits.push(ReleaseCommit {
                sha: sha.to_owned(),
                subject: subject.to_owned(),
                files: parse_patch(&patch),
            });
        }
        let canary_files = git(repo, &["ls-tree", "-r", "--name-only", &canary_sha])?
            .lines()
            .map(str::to_owned)
            .collect();
        Ok(ReleaseDiff {
            stable: stable.to_owned(),
            canary: canary.to_owned(),
            stable_sha,
            canary_sha,
            commits,
            canary_files,
            repo: repo.to_path_buf(),
        })
    }

    /// Which release commit last wrote each of lines `from..=to` of `path` at
    /// the canary revision: `(line, Some(sha), text)`, `None` for a line
    /// older than the release.
    pub fn blame(
        &self,
        path: &str,
        from: u32,
        to: u32,
    ) -> Result<Vec<(u32, Option<String>, String)>> {
        let range = format!("{}..{}", self.stable_sha, self.canary_sha);
        let lines = format!("{},{}", from.max(1), to.max(from.max(1)));
        let out = git(
            &self.repo,
            &["blame", "-s", "-l", "-L", &lines, &range, "--", path],
        )?;
        let mut v = Vec::new();
        for l in out.lines() {
            // `<sha> [<orig path>] <line>) <text>`
            let Some((meta, text)) = l.split_once(") ") else {
                continue;
            };
            let mut parts = meta.split_whitespace();
            let (Some(sha), Some(n)) = (parts.next(), parts.next_back()) else {
                continue;
            };
            let Ok(n) = n.parse::<u32>() else {
                continue;
            };
            let sha = (!sha.starts_with('^')).then(|| sha.to_owned());
            v.push((n, sha, text.to_owned()));
        }
        Ok(v)
    }

    /// Lines `from..=to` of `path` at the canary revision (clipped to the file).
    pub fn canary_lines(&self, path: &str, from: u32, to: u32) -> Vec<(u32, String)> {
        let Ok(text) = git(
            &self.repo,
            &["show", &format!("{}:{path}", self.canary_sha)],
        ) else {
            return Vec::new();
        };
        text.lines()
            .enumerate()
            .filter_map(|(i, l)| {
                let n = u32::try_from(i + 1).ok()?;
                (n >= from && n <= to).then(|| (n, l.to_owned()))
            })
            .collect()
    }

    /// Markdown: the commits and the files each changed.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "Release {} → {} ({} commits):\n\n",
            self.stable,
            self.canary,
            self.commits.len()
        );
        for c in self.commits.iter().rev() {
            let files: Vec<String> = c
                .files
                .iter()
                .map(|f| format!("`{}` (+{} −{})", f.path, f.added.len(), f.removed.len()))
                .collect();
            s.push_str(&format!(
                "- `{}` {} — {}\n",
                c.short(),
                c.subject,
                files.join(", ")
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_parse_into_added_line_numbers_and_removed_text() {
        let p = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -15 +15,2 @@ def f():\n-    a = 1\n+    a = 2\n+    b = 3\n@@ -30,0 +31 @@\n+# end\n\
                 diff --git a/new.txt b/new.txt\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hello\n\
                 diff --git a/gone.md b/gone.md\n--- a/gone.md\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n";
        let f = parse_patch(p);
        assert_eq!(f.len(), 3);
        assert_eq!(
            (f[0].path.as_str(), f[0].status, f[0].removed.as_slice()),
            ("x.py", 'M', &["    a = 1".to_owned()][..])
        );
        assert_eq!(
            f[0].added,
            [
                (15, "    a = 2".to_owned()),
                (16, "    b = 3".to_owned()),
                (31, "# end".to_owned())
            ]
        );
        assert_eq!((f[1].path.as_str(), f[1].status), ("new.txt", 'A'));
        assert_eq!((f[2].path.as_str(), f[2].status), ("gone.md", 'D'));
    }
}
