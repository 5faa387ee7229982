//! A repository's working tree on disk, read like the GitHub API reads a
//! repository: for `rollwise remediate --repo PATH` and for evals. Paths
//! cannot leave the tree (no `..`, no symlinks out). There is no history:
//! commits and comparisons are "not found", which the model can work around.

use std::path::{Path, PathBuf};

use super::{CommitInfo, Comparison, RepoReader, RepoRef, SearchHit};
use crate::error::{Error, Result};
use crate::tool::BoxFuture;

/// Directories never read: VCS data and build output.
const SKIP_DIRS: [&str; 5] = [".git", "target", "node_modules", "vendor", ".venv"];
/// Files larger than this are not searched or read.
const MAX_FILE_BYTES: u64 = 512 * 1024;
const MAX_FILES_WALKED: usize = 5_000;

#[derive(Debug, Clone)]
pub struct LocalRepo {
    root: PathBuf,
    repo: RepoRef,
    branch: String,
}

impl LocalRepo {
    pub fn open(root: &Path) -> Result<Self> {
        let root = root.canonicalize().map_err(|e| {
            Error::Config(format!("cannot open repository {}: {e}", root.display()))
        })?;
        if !root.is_dir() {
            return Err(Error::Config(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        let dir = root
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("repo")
            .to_owned();
        let repo = RepoRef::new("local", &dir).or_else(|_| RepoRef::new("local", "repo"))?;
        Ok(LocalRepo {
            root,
            repo,
            branch: "main".into(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `path` inside the tree, or an error the model can act on.
    fn resolve(&self, path: &str) -> Result<PathBuf> {
        let rel = path.trim_start_matches("./");
        let outside = || Error::InvalidArgs {
            tool: "read_file".into(),
            message: format!("{path:?} is not a path inside the repository"),
        };
        if rel.is_empty()
            || rel.starts_with('/')
            || rel.split('/').any(|c| c == ".." || SKIP_DIRS.contains(&c))
        {
            return Err(outside());
        }
        let full = self.root.join(rel);
        let canon = full.canonicalize().map_err(|_| Error::NotFound {
            what: format!("file {rel}"),
        })?;
        if !canon.starts_with(&self.root) {
            return Err(outside());
        }
        Ok(canon)
    }

    fn walk(&self) -> Vec<(String, PathBuf)> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut entries: Vec<_> = entries.flatten().collect();
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let Ok(ft) = e.file_type() else { continue };
                let name = e.file_name().to_string_lossy().into_owned();
                if ft.is_dir() && !SKIP_DIRS.contains(&name.as_str()) {
                    stack.push(e.path());
                } else if ft.is_file() {
                    let p = e.path();
                    if let Ok(rel) = p.strip_prefix(&self.root) {
                        out.push((rel.to_string_lossy().replace('\\', "/"), p.clone()));
                    }
                }
                if out.len() >= MAX_FILES_WALKED {
                    return out;
                }
            }
        }
        out.sort();
        out
    }
}

impl RepoReader for LocalRepo {
    fn repo(&self) -> &RepoRef {
        &self.repo
    }

    fn default_branch(&self) -> BoxFuture<'_, Result<String>> {
        let b = self.branch.clone();
        Box::pin(async move { Ok(b) })
    }

    fn read_file<'a>(
        &'a self,
        path: &'a str,
        _rev: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let p = self.resolve(path)?;
            let meta = std::fs::metadata(&p).map_err(|_| Error::NotFound {
                what: format!("file {path}"),
            })?;
            if !meta.is_file() {
                return Err(Error::NotFound {
                    what: format!("file {path} (it is a directory)"),
                });
            }
            if meta.len() > MAX_FILE_BYTES {
                return Err(Error::InvalidArgs {
                    tool: "read_file".into(),
                    message: format!("{path} is larger than {MAX_FILE_BYTES} bytes"),
                });
            }
            std::fs::read_to_string(&p).map_err(|_| Error::Decode {
                service: "local repository",
                message: format!("{path} is not UTF-8 text"),
            })
        })
    }

    fn search_code<'a>(
        &'a self,
        query: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<SearchHit>>> {
        Box::pin(async move {
            let words: Vec<String> = query
                .split_whitespace()
                .filter(|w| !w.contains(':'))
                .map(str::to_lowercase)
                .collect();
            if words.is_empty() {
                return Err(Error::InvalidArgs {
                    tool: "search_code".into(),
                    message: "the query has no words".into(),
                });
            }
            let mut hits = Vec::new();
            for (rel, p) in self.walk() {
                if std::fs::metadata(&p)
                    .map(|m| m.len() > MAX_FILE_BYTES)
                    .unwrap_or(true)
                {
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(&p) else {
                    continue;
                };
                let lower = text.to_lowercase();
                let path_lower = rel.to_lowercase();
                if !words
                    .iter()
                    .all(|w| lower.contains(w) || path_lower.contains(w))
                {
                    continue;
                }
                let lines = text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| {
                        let l = l.to_lowercase();
                        words.iter().any(|w| l.contains(w))
                    })
                    .take(5)
                    .map(|(i, l)| format!("{}: {}", i + 1, l.trim()))
                    .collect();
                hits.push(SearchHit { path: rel, lines });
                if hits.len() >= limit {
                    break;
                }
            }
            Ok(hits)
        })
    }

    fn list_commits<'a>(
        &'a self,
        _rev: Option<&'a str>,
        _path: Option<&'a str>,
        _limit: usize,
    ) -> BoxFuture<'a, Result<Vec<CommitInfo>>> {
        Box::pin(async move {
            Err(Error::NotFound {
                what: "commit history (a local working tree has none; read the files instead)"
                    .into(),
            })
        })
    }

    fn compare<'a>(&'a self, _base: &'a str, _head: &'a str) -> BoxFuture<'a, Result<Comparison>> {
        Box::pin(async move {
            Err(Error::NotFound {
                what: "revision comparison (a local working tree has no history)".into(),
            })
        })
    }

    fn branch_head<'a>(&'a self, branch: &'a str) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move {
            // The working tree stands for the default branch at a fixed commit.
            Ok((branch == self.branch)
                .then(|| "0000000000000000000000000000000000000000".to_owned()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_and_refuses_outside() {
        let dir = tempfile_dir();
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("src/main.go"),
            "package main\nfunc main() { panic(\"x\") }\n",
        )
        .unwrap();
        std::fs::write(dir.join("secret.txt"), "nope").unwrap();
        let r = LocalRepo::open(&dir.join("src")).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(
            rt.block_on(r.read_file("main.go", None))
                .unwrap()
                .contains("panic")
        );
        for bad in ["../secret.txt", "/etc/passwd", ".git/config"] {
            assert!(rt.block_on(r.read_file(bad, None)).is_err(), "{bad}");
        }
        let hits = rt.block_on(r.search_code("panic", 10)).unwrap();
        assert_eq!(hits[0].path, "main.go");
        assert_eq!(hits[0].lines, vec!["2: func main() { panic(\"x\") }"]);
        let e = rt.block_on(r.list_commits(None, None, 5)).unwrap_err();
        assert!(e.is_recoverable_by_model());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("rollwise-local-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
