//! The suspect commit: the release's commits ranked by the evidence that ties
//! each one to the canary's failure. Deterministic, no model.
//!
//! Three kinds of evidence, each weighted by how close to the failure it is
//! (the innermost frame of the service's own code weighs most, outer frames
//! less, `1 / (1 + 2·depth)`):
//!
//! - **Lines.** A failing frame's line, or a line up to [`NEAR`] lines from
//!   it, was last written by the commit (`git blame` over the release). The
//!   line that raised is usually the line that changed, or next to it.
//! - **Names.** The commit's changed lines or changed file names carry a word
//!   of the failure: an identifier on the failing lines (`cfg["retry_limit"]`)
//!   or a word of a canary-only error message (`KeyError: 'retry_limit'`,
//!   `Discount.apply`). This is how a configuration change (a renamed key, a
//!   changed value) is found: the code that fails did not change, the key it
//!   reads did. Words the stable pods log too say nothing about the release.
//! - **Files.** The commit touched a file a frame is in. Weak: a refactor of
//!   the same file is the classic red herring, so this only breaks ties.
//!
//! A name in a configuration file (`.json`, `.yaml`, `.properties`, `.conf`,
//! `.env`, ...) weighs twice a failing frame's line: a configuration change
//! never appears in a stack trace, the key it renamed or the value it changed
//! is all that ties it to the failure. A name in code weighs less than a line
//! hit, which already says more about that code.
//!
//! Documentation (Markdown, text, changelogs), comments and blank lines
//! cannot raise an exception: changed lines that are only comments are no
//! evidence, and a commit changing only documentation or comments keeps a
//! tenth of its score.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::frames::{FrameParser, MappedFrame};
use super::release::{ReleaseCommit, ReleaseDiff};

/// Lines from a failing frame that still count as "near" it.
pub const NEAR: u32 = 3;
const LINE_HIT: f64 = 10.0;
const NAME_HIT: f64 = 1.5;
const CONFIG_NAME_HIT: f64 = 6.0;
const FILE_HIT: f64 = 2.0;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Suspect {
    pub sha: String,
    pub subject: String,
    pub score: f64,
    /// The file of this commit the evidence points at most.
    pub file: Option<String>,
    /// Why, one sentence per piece of evidence, strongest first.
    pub why: Vec<String>,
}

fn weight(depth: usize) -> f64 {
    1.0 / (1.0 + 2.0 * depth as f64)
}

/// Words too common in code and logs to tie a commit to a failure.
const STOP: [&str; 60] = [
    "return",
    "const",
    "self",
    "this",
    "function",
    "error",
    "line",
    "file",
    "traceback",
    "most",
    "recent",
    "call",
    "last",
    "exception",
    "null",
    "none",
    "true",
    "false",
    "string",
    "from",
    "with",
    "that",
    "have",
    "into",
    "main",
    "java",
    "base",
    "lang",
    "http",
    "info",
    "warn",
    "post",
    "undefined",
    "properties",
    "reading",
    "cannot",
    "read",
    "object",
    "module",
    "internal",
    "node",
    "loader",
    "thread",
    "panicked",
    "stack",
    "backtrace",
    "rustc",
    "core",
    "library",
    "public",
    "private",
    "static",
    "final",
    "class",
    "import",
    "else",
    "elif",
    "type",
    "value",
    "async",
];

/// Lower-case identifier-like words of `text`, 4 characters or more.
pub fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.len() >= 4 && !w.chars().all(|c| c.is_ascii_digit() || c == '_'))
        .map(str::to_lowercase)
        .filter(|w| !STOP.contains(&w.as_str()))
        .collect()
}

fn is_doc(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_lowercase();
    name.ends_with(".md")
        || name.ends_with(".rst")
        || name.ends_with(".txt")
        || name.ends_with(".adoc")
        || name.starts_with("changelog")
        || name.starts_with("license")
        || name.starts_with("readme")
}

/// Configuration, not code: what a deployment sets rather than what it runs.
fn is_config(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_lowercase();
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    matches!(
        ext,
        "json" | "yaml" | "yml" | "toml" | "properties" | "conf" | "ini" | "env" | "cfg" | "xml"
    ) || name.starts_with(".env")
}

/// A line that changes no behaviour: blank, or a comment or docstring line.
fn is_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty()
        || ["#", "//", "/*", "*", "\"\"\"", "'''", "--", "<!--"]
            .iter()
            .any(|p| t.starts_with(p))
}

fn stem(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.split('.').next().unwrap_or(name).to_lowercase()
}

/// What the failure says, for ranking.
#[derive(Debug, Clone, Default)]
pub struct FailureWords {
    /// word → weight: identifiers on and around the failing lines (weighted
    /// by the frame's depth) and words of canary-only error messages (1.0).
    pub words: BTreeMap<String, f64>,
}

impl FailureWords {
    /// `messages`: canary-only error templates and exemplars; `stable`: the
    /// stable pods' lines (their words are dropped from the messages' words).
    pub fn new(
        release: &ReleaseDiff,
        frames: &[MappedFrame],
        messages: &[String],
        stable: &[&str],
    ) -> Self {
        let mut stable_words = BTreeSet::new();
        for l in stable {
            stable_words.extend(words(l));
        }
        let mut out: BTreeMap<String, f64> = BTreeMap::new();
        // A frame line names a file and a function, which the frames already
        // stand for; the failure's words are in the other lines.
        let parser = FrameParser::new().ok();
        let message_lines = messages
            .iter()
            .flat_map(|m| crate::logs::diff::exemplar_lines(m))
            .filter(|l| parser.as_ref().is_none_or(|p| p.extract(&[*l]).is_empty()));
        for m in message_lines {
            for w in words(m) {
                if !stable_words.contains(&w) {
                    out.insert(w, 1.0);
                }
            }
        }
        for f in frames {
            let w = weight(f.depth);
            // The failing line and the lines either side of it (where the
            // values it uses are usually computed).
            for (_, text) in release.canary_lines(&f.path, f.line.saturating_sub(1), f.line + 1) {
                for word in words(&text) {
                    let e = out.entry(word).or_insert(0.0);
                    *e = e.max(w);
                }
            }
        }
        FailureWords { words: out }
    }
}

/// Ranks the release's commits; every commit is listed, best first.
pub fn rank(release: &ReleaseDiff, frames: &[MappedFrame], failure: &FailureWords) -> Vec<Suspect> {
    // (sha → (score, reasons, file → score)).
    struct Acc {
        score: f64,
        why: Vec<(f64, String)>,
        files: BTreeMap<String, f64>,
    }
    let mut acc: BTreeMap<&str, Acc> = release
        .commits
        .iter()
        .map(|c| {
            (
                c.sha.as_str(),
                Acc {
                    score: 0.0,
                    why: Vec::new(),
                    files: BTreeMap::new(),
                },
            )
        })
        .collect();
    let by_sha: BTreeMap<&str, &ReleaseCommit> = release
        .commits
        .iter()
        .map(|c| (c.sha.as_str(), c))
        .collect();

    // Lines: blame around each frame; per (frame, commit) the best line counts.
    for f in frames {
        let w = weight(f.depth);
        let Ok(blame) = release.blame(&f.path, f.line.saturating_sub(NEAR), f.line + NEAR) else {
            continue;
        };
        let mut best: BTreeMap<&str, (f64, u32)> = BTreeMap::new();
        for (n, sha, text) in &blame {
            let Some(sha) = sha.as_deref() else { continue };
            if is_comment(text) {
                continue;
            }
            let Some((k, _)) = by_sha.get_key_value(sha) else {
                continue;
            };
            let d = n.abs_diff(f.line);
            let s = if d == 0 {
                LINE_HIT
            } else {
                LINE_HIT / 2.0 - f64::from(d)
            } * w;
            let e = best.entry(k).or_insert((0.0, *n));
            if s > e.0 {
                *e = (s, *n);
            }
        }
        for (sha, (s, n)) in best {
            let Some(a) = acc.get_mut(sha) else { continue };
            a.score += s;
            *a.files.entry(f.path.clone()).or_insert(0.0) += s;
            let place = match &f.function {
                Some(func) => format!("{}:{} ({func})", f.path, f.line),
                None => format!("{}:{}", f.path, f.line),
            };
            let depth = if f.depth == 0 {
                "the innermost failing frame".to_owned()
            } else {
                format!("failing frame #{}", f.depth + 1)
            };
            let what = if n == f.line {
                format!("it last changed {place}, {depth}")
            } else {
                format!(
                    "it changed {}:{n}, {} line(s) from {depth} {place}",
                    f.path,
                    n.abs_diff(f.line)
                )
            };
            a.why.push((s, what));
        }
    }

    // Names and files.
    let frame_files: BTreeMap<&str, f64> = frames.iter().fold(BTreeMap::new(), |mut m, f| {
        let e = m.entry(f.path.as_str()).or_insert(0.0);
        *e = f64::max(*e, weight(f.depth));
        m
    });
    for c in &release.commits {
        let Some(a) = acc.get_mut(c.sha.as_str()) else {
            continue;
        };
        let mut named: BTreeMap<&str, (f64, &str)> = BTreeMap::new();
        for file in c.files.iter().filter(|f| !is_doc(&f.path)) {
            let mut changed = BTreeSet::new();
            let lines = file
                .added
                .iter()
                .map(|(_, l)| l)
                .chain(&file.removed)
                .filter(|l| !is_comment(l));
            for l in lines {
                changed.extend(words(l));
            }
            if changed.is_empty() {
                continue;
            }
            let st = stem(&file.path);
            let unit = if is_config(&file.path) {
                CONFIG_NAME_HIT
            } else {
                NAME_HIT
            };
            for (w, wt) in &failure.words {
                let hit = changed.contains(w) || (st.len() >= 4 && st.contains(w.as_str()));
                let s = unit * wt;
                if hit && named.get(w.as_str()).is_none_or(|(x, _)| *x < s) {
                    named.insert(w, (s, file.path.as_str()));
                }
            }
            if let Some(w) = frame_files.get(file.path.as_str()) {
                let s = FILE_HIT * w;
                a.score += s;
                *a.files.entry(file.path.clone()).or_insert(0.0) += s;
                a.why.push((
                    s,
                    format!("it touches {}, a file in the failing stack", file.path),
                ));
            }
        }
        if !named.is_empty() {
            let mut by_file: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (w, (s, path)) in &named {
                let s = *s;
                a.score += s;
                *a.files.entry((*path).to_owned()).or_insert(0.0) += s;
                by_file.entry(path).or_default().push(w);
            }
            let s: f64 = named.values().map(|(s, _)| s).sum();
            for (path, ws) in by_file {
                let ws: Vec<String> = ws.iter().take(4).map(|w| format!("`{w}`")).collect();
                a.why.push((
                    s,
                    format!(
                        "its change to {path} names {}, which the failure names",
                        ws.join(", ")
                    ),
                ));
            }
        }
        let inert = |f: &super::release::ChangedFile| {
            is_doc(&f.path)
                || (f.status == 'M'
                    && f.added.iter().all(|(_, l)| is_comment(l))
                    && f.removed.iter().all(|l| is_comment(l)))
        };
        if !c.files.is_empty() && c.files.iter().all(inert) {
            a.score *= 0.1;
            a.why
                .push((0.0, "it changes only documentation or comments".into()));
        }
    }

    let order: BTreeMap<&str, usize> = release
        .commits
        .iter()
        .enumerate()
        .map(|(i, c)| (c.sha.as_str(), i))
        .collect();
    let mut out: Vec<Suspect> = acc
        .into_iter()
        .filter_map(|(sha, mut a)| {
            let c = by_sha.get(sha)?;
            a.why.sort_by(|x, y| y.0.total_cmp(&x.0));
            let file = a
                .files
                .iter()
                .max_by(|x, y| x.1.total_cmp(y.1).then_with(|| y.0.cmp(x.0)))
                .map(|(f, _)| f.clone())
                .or_else(|| c.files.first().map(|f| f.path.clone()));
            let mut why: Vec<String> = a.why.into_iter().map(|(_, w)| w).collect();
            if why.is_empty() {
                why.push("nothing in the failure points at it".into());
            }
            Some(Suspect {
                sha: sha.to_owned(),
                subject: c.subject.clone(),
                score: (a.score * 100.0).round() / 100.0,
                file,
                why,
            })
        })
        .collect();
    // Best first; on a tie the newer commit first (it is the one least
    // exercised before the canary).
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| order.get(b.sha.as_str()).cmp(&order.get(a.sha.as_str())))
    });
    out
}

/// Markdown: the top `n` suspects with their evidence.
pub fn markdown(suspects: &[Suspect], n: usize) -> String {
    let mut s = String::new();
    for (i, x) in suspects.iter().take(n).enumerate() {
        s.push_str(&format!(
            "{}. `{}` {} (score {:.1})\n",
            i + 1,
            x.sha.get(..8).unwrap_or(&x.sha),
            x.subject,
            x.score
        ));
        for w in &x.why {
            s.push_str(&format!("   - {w}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_identifiers_not_noise() {
        let w = words("KeyError: 'retry_limit' at cfg[\"retry_limit\"] return 1234 self.x");
        assert_eq!(
            w.into_iter().collect::<Vec<_>>(),
            ["keyerror", "retry_limit"]
        );
        assert!(is_doc("docs/README.md") && is_doc("CHANGELOG") && !is_doc("src/a.rs"));
        assert_eq!(stem("src/main/java/com/acme/Discounts.java"), "discounts");
    }
}
