//! Reading a bundle from bytes or a file, with errors that name the file, the
//! position and the field, and checks that serde alone cannot express.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::Evidence;
use crate::error::{Error, Result};

/// Refuse bundles larger than this unless the caller says otherwise. The largest
/// public scenario is 12 MB; 256 MiB leaves room for whole-window logs of big
/// Rollouts while keeping a stray multi-GB file from exhausting memory.
pub const DEFAULT_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Where a bundle came from, for error messages.
#[derive(Debug, Clone)]
pub enum BundleSource {
    File(PathBuf),
    Named(String),
}

impl std::fmt::Display for BundleSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BundleSource::File(p) => write!(f, "{}", p.display()),
            BundleSource::Named(n) => f.write_str(n),
        }
    }
}

pub fn load_file(path: &Path, max_bytes: u64) -> Result<Evidence> {
    let source = BundleSource::File(path.to_owned());
    let meta = std::fs::metadata(path).map_err(|e| Error::Io {
        what: format!("cannot read evidence file {}", path.display()),
        source: e,
    })?;
    if meta.is_dir() {
        return Err(Error::InvalidEvidence {
            source_name: source.to_string(),
            line: 0,
            column: 0,
            field: String::new(),
            message: "is a directory, not an evidence bundle file".into(),
        });
    }
    if meta.len() > max_bytes {
        return Err(too_large(
            &source,
            max_bytes,
            &format!("{} bytes", meta.len()),
        ));
    }
    // The metadata length is 0 for pipes and devices (`/dev/stdin`, a FIFO) and a
    // file may grow after the check, so the limit is enforced on the read itself.
    let io_err = |e| Error::Io {
        what: format!("cannot read evidence file {}", path.display()),
        source: e,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io_err)?
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(
            &source,
            max_bytes,
            &format!("more than {max_bytes} bytes"),
        ));
    }
    parse_bytes(&bytes, &source)
}

fn too_large(source: &BundleSource, max_bytes: u64, size: &str) -> Error {
    // `size` is "<n> bytes" from the metadata, or "more than <limit> bytes" when
    // only reading found out.
    Error::InvalidEvidence {
        source_name: source.to_string(),
        line: 0,
        column: 0,
        field: String::new(),
        message: format!(
            "file is {size}, over the limit of {max_bytes} bytes (raise it with --max-evidence-bytes)"
        ),
    }
}

/// Parse and check a bundle. Never panics, whatever the bytes.
pub fn parse_bytes(bytes: &[u8], source: &BundleSource) -> Result<Evidence> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // serde_json's default recursion limit (128) keeps deeply nested input from
    // overflowing the stack.
    let evidence: Evidence = match serde_path_to_error::deserialize(&mut de) {
        Ok(ev) => ev,
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let message = strip_position(&inner.to_string());
            let mut field = if path == "." { String::new() } else { path };
            // serde names a missing field in the message and points at its
            // parent; the field itself (`metrics[2].better`) is what to fix.
            if let Some(missing) = message
                .strip_prefix("missing field `")
                .and_then(|m| m.split('`').next())
            {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(missing);
            }
            return Err(Error::InvalidEvidence {
                source_name: source.to_string(),
                line: inner.line(),
                column: inner.column(),
                field,
                message,
            });
        }
    };
    if let Err(e) = de.end() {
        return Err(Error::InvalidEvidence {
            source_name: source.to_string(),
            line: e.line(),
            column: e.column(),
            field: String::new(),
            message: "trailing data after the bundle's JSON object".into(),
        });
    }
    validate(&evidence, source)?;
    Ok(evidence)
}

/// serde_json appends " at line L column C" to its messages; we report the
/// position separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// The checks serde cannot express, on a bundle that parsed: every caller that
/// builds an [`Evidence`] some other way (the service, a test) runs it too, so
/// a bundle the CLI refuses is refused everywhere, with the same field named.
pub fn validate(ev: &Evidence, source: &BundleSource) -> Result<()> {
    let bad = |field: &str, message: String| Error::InvalidEvidence {
        source_name: source.to_string(),
        line: 0,
        column: 0,
        field: field.to_owned(),
        message,
    };
    // `version`, `rollout.canaryWeight` and unique metric names are checked while
    // deserializing (evidence/mod.rs), where the error gets a line and column.
    if ev.name.trim().is_empty() {
        return Err(bad("name", "must not be empty".into()));
    }
    if ev.rollout.namespace.trim().is_empty() {
        return Err(bad("rollout.namespace", "must not be empty".into()));
    }
    if ev.rollout.name.trim().is_empty() {
        return Err(bad("rollout.name", "must not be empty".into()));
    }
    for (i, m) in ev.metrics.iter().enumerate() {
        if m.name.trim().is_empty() {
            return Err(bad(
                &format!("metrics[{i}].name"),
                "must not be empty".into(),
            ));
        }
        for (side, samples) in [("canary", &m.canary), ("stable", &m.stable)] {
            if let Some((j, v, why)) = samples
                .iter()
                .enumerate()
                .find_map(|(j, v)| impossible(*v, m.unit.as_deref()).map(|why| (j, v, why)))
            {
                return Err(bad(
                    &format!("metrics[{i}].{side}[{j}]"),
                    format!(
                        "{v} is impossible for {} ({why})",
                        m.unit
                            .as_deref()
                            .map_or_else(|| m.name.clone(), |u| format!("unit {u:?}"))
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Why a sample cannot be a value of its unit, if it cannot: a ratio lies in
/// 0..=1, a percentage in 0..=100, and durations, counts, sizes and rates are
/// never negative. Units this does not know are not constrained; non-finite
/// samples are refused while parsing.
fn impossible(v: f64, unit: Option<&str>) -> Option<&'static str> {
    let unit = unit?.trim().to_ascii_lowercase();
    let (lo, hi, why) = match unit.as_str() {
        "ratio" | "fraction" => (0.0, 1.0, "a ratio lies in 0..=1"),
        "percent" | "%" => (0.0, 100.0, "a percentage lies in 0..=100"),
        "ms" | "s" | "seconds" | "second" | "milliseconds" | "us" | "µs" | "ns" | "count"
        | "bytes" | "b" | "kib" | "mib" | "gib" | "kb" | "mb" | "gb" | "cores" | "requests" => {
            (0.0, f64::INFINITY, "it is never negative")
        }
        u if u.ends_with("/s") || u.ends_with("per_second") => {
            (0.0, f64::INFINITY, "a rate is never negative")
        }
        _ => return None,
    };
    (!(lo..=hi).contains(&v)).then_some(why)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

/// Every `*.json` file below `dir`, sorted, skipping hidden files and
/// directories. `what` names the directory in errors ("scenario directory").
pub fn json_files(dir: &Path, what: &str) -> Result<Vec<std::path::PathBuf>> {
    let io = |e, p: &Path| Error::Io {
        what: format!("cannot read {what} {}", p.display()),
        source: e,
    };
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| io(e, &d))? {
            let entry = entry.map_err(|e| io(e, &d))?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let ft = entry.file_type().map_err(|e| io(e, &path))?;
            if ft.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}
