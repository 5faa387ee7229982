//! Reading a request body with bounded memory: the raw body is read frame by
//! frame (never more than `max_body` bytes in all) and hashed as it arrives;
//! then every JSON string longer than `max_string` bytes (a 50 MB log line) is
//! clipped and log lines past the budgets dropped, so the buffer the parser
//! sees holds at most `max_string` bytes of any one string. What was clipped
//! is counted, for the bundle's gaps.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

use super::api::ApiError;

/// The error a body gives once its time is up.
#[derive(Debug)]
pub struct BodyTimeout;

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimeout {}

/// A body that fails with [`BodyTimeout`] once `deadline` has passed: a
/// client that trickles its body holds a connection and a buffer no longer
/// than that.
pub struct DeadlineBody {
    inner: Body,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl DeadlineBody {
    pub fn new(inner: Body, within: Duration) -> Self {
        DeadlineBody {
            inner,
            sleep: Box::pin(tokio::time::sleep(within)),
        }
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyTimeout)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Middleware: every request body must arrive within `[server]
/// body-timeout-secs`.
pub async fn body_deadline(State(within): State<Duration>, req: Request, next: Next) -> Response {
    let req = req.map(|b| Body::new(DeadlineBody::new(b, within)));
    next.run(req).await
}

/// Whether `e` or anything under it is `T`.
fn caused_by<T: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<T>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The body ran out of time (see [`DeadlineBody`]).
pub fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    caused_by::<BodyTimeout>(e)
}

/// The body was over a length limit.
pub fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    caused_by::<http_body_util::LengthLimitError>(e)
}

/// The bounds a bundle is read within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// One string (a log line): longer ones are cut here.
    pub max_string: usize,
    /// Log line bytes kept per pod (`logs.*[i].lines`); later lines dropped.
    pub max_pod_log: usize,
    /// Log line bytes kept over the whole bundle; later lines dropped.
    pub max_log: usize,
}

/// How a body was clipped while it was read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Clipped {
    /// Strings cut at `max_string` bytes.
    pub strings: usize,
    /// The longest string seen before clipping, in bytes (as sent, escaped).
    pub longest: usize,
    /// Log lines dropped past a log byte budget.
    pub lines_dropped: usize,
    /// Pods that lost lines to a budget.
    pub pods_cut: usize,
}

impl Clipped {
    /// The gaps a bundle reports for what was clipped (none: nothing was).
    pub fn gaps(&self, b: &Bounds) -> Vec<String> {
        let mut gaps = Vec::new();
        if self.strings > 0 {
            gaps.push(format!(
                "{} string(s) in the bundle were over {} bytes (the longest {} bytes) and were clipped while reading: the judged logs are incomplete",
                self.strings, b.max_string, self.longest
            ));
        }
        if self.lines_dropped > 0 {
            gaps.push(format!(
                "{} log line(s) of {} pod(s) were dropped while reading, past {} bytes of lines per pod or {} in the bundle: only each pod's first lines were judged",
                self.lines_dropped, self.pods_cut, b.max_pod_log, b.max_log
            ));
        }
        gaps
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Esc {
    None,
    /// After a backslash.
    Backslash,
    /// Inside `\uXXXX`: this many hex digits still to come.
    Hex(u8),
}

/// Nesting levels whose kind is remembered (the log lines are at 5).
const KINDS: usize = 8;

/// The clipping state machine over JSON bytes (one body). Besides cutting
/// long strings, it follows the structure far enough to know a log line
/// (a string directly in `logs.<side>[i].lines`) and drops whole lines, with
/// their comma, once a log byte budget is spent.
#[derive(Debug)]
struct Clipper {
    bounds: Bounds,
    in_string: bool,
    esc: Esc,
    /// Bytes of the current string seen so far.
    len: usize,
    /// The current string is being cut (past `max_string`).
    dropping: bool,
    /// The current string is a log line being dropped whole.
    dropping_line: bool,
    /// The `\u` escape being read, and whether the last one was a high
    /// surrogate (cutting after it would leave a lone surrogate).
    hex: u16,
    after_high: bool,
    /// Nesting depth, and the kind (`{` or `[`) of the first levels.
    depth: usize,
    kinds: [u8; KINDS],
    /// The next string in the innermost object is a key.
    expect_key: bool,
    /// The top-level key being read (up to a few bytes), and whether the
    /// current top-level value is `logs`.
    key: Option<Vec<u8>>,
    in_logs: bool,
    /// In a lines array: a comma held back until the next element is kept,
    /// and whether any element was kept.
    pending_comma: bool,
    kept_in_array: bool,
    pod_bytes: usize,
    pod_cut: bool,
    log_bytes: usize,
    clipped: Clipped,
}

impl Clipper {
    fn new(bounds: Bounds) -> Self {
        Clipper {
            bounds,
            in_string: false,
            esc: Esc::None,
            len: 0,
            dropping: false,
            dropping_line: false,
            hex: 0,
            after_high: false,
            depth: 0,
            kinds: [0; KINDS],
            expect_key: false,
            key: None,
            in_logs: false,
            pending_comma: false,
            kept_in_array: false,
            pod_bytes: 0,
            pod_cut: false,
            log_bytes: 0,
            clipped: Clipped::default(),
        }
    }

    fn kind(&self, level: usize) -> u8 {
        if level == 0 || level > KINDS {
            0
        } else {
            self.kinds[level - 1]
        }
    }

    /// Directly in `logs.<side>[i].lines`.
    fn in_lines(&self) -> bool {
        self.in_logs && self.depth == 5 && self.kind(5) == b'['
    }

    fn flush_comma(&mut self, out: &mut Vec<u8>) {
        if self.pending_comma {
            if self.kept_in_array {
                out.push(b',');
            }
            self.pending_comma = false;
        }
    }

    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        for &b in chunk {
            if self.in_string {
                self.string_byte(b, out);
                continue;
            }
            match b {
                b'"' => self.start_string(out),
                b'{' | b'[' => {
                    self.flush_comma(out);
                    self.depth += 1;
                    if self.depth <= KINDS {
                        self.kinds[self.depth - 1] = b;
                    }
                    self.expect_key = b == b'{';
                    if b == b'[' {
                        self.kept_in_array = false;
                    }
                    if b == b'{' && self.in_logs && self.depth == 4 {
                        // A new pod.
                        self.pod_bytes = 0;
                        self.pod_cut = false;
                    }
                    out.push(b);
                }
                b'}' | b']' => {
                    self.flush_comma(out);
                    self.depth = self.depth.saturating_sub(1);
                    self.expect_key = false;
                    out.push(b);
                }
                b',' => {
                    if self.in_lines() {
                        self.pending_comma = true;
                    } else {
                        out.push(b);
                    }
                    self.expect_key = self.kind(self.depth) == b'{';
                }
                b':' => {
                    self.expect_key = false;
                    out.push(b);
                }
                _ => {
                    if !b.is_ascii_whitespace() {
                        self.flush_comma(out);
                    }
                    out.push(b);
                }
            }
        }
    }

    fn start_string(&mut self, out: &mut Vec<u8>) {
        self.in_string = true;
        self.len = 0;
        self.dropping = false;
        self.dropping_line = false;
        self.after_high = false;
        self.key = (self.depth == 1 && self.expect_key).then(Vec::new);
        if self.in_lines() {
            let b = &self.bounds;
            if self.pod_bytes >= b.max_pod_log || self.log_bytes >= b.max_log {
                self.pending_comma = false;
                self.dropping_line = true;
                self.clipped.lines_dropped += 1;
                if !self.pod_cut {
                    self.pod_cut = true;
                    self.clipped.pods_cut += 1;
                }
                return;
            }
            self.flush_comma(out);
            self.kept_in_array = true;
        }
        out.push(b'"');
    }

    fn string_byte(&mut self, b: u8, out: &mut Vec<u8>) {
        // A unit starts here: a safe place to cut.
        let boundary = self.esc == Esc::None && !(0x80..0xC0).contains(&b) && !self.after_high;
        if self.esc == Esc::None && b == b'"' {
            self.in_string = false;
            if let Some(k) = self.key.take() {
                self.in_logs = k == b"logs";
            }
            if self.dropping_line {
                return;
            }
            if self.dropping {
                self.clipped.strings += 1;
                self.clipped.longest = self.clipped.longest.max(self.len);
                out.extend_from_slice(b" [clipped]");
            }
            out.push(b);
            return;
        }
        self.len += 1;
        if let Some(k) = self.key.as_mut().filter(|k| k.len() < 8) {
            k.push(b);
        }
        if !self.dropping && boundary && self.len > self.bounds.max_string {
            self.dropping = true;
        }
        self.step_escape(b);
        if !self.dropping && !self.dropping_line {
            out.push(b);
            if self.in_lines() {
                self.pod_bytes += 1;
                self.log_bytes += 1;
            }
        }
    }

    fn step_escape(&mut self, b: u8) {
        self.esc = match self.esc {
            Esc::None if b == b'\\' => Esc::Backslash,
            Esc::None => {
                self.after_high = false;
                Esc::None
            }
            Esc::Backslash if b == b'u' => {
                self.hex = 0;
                Esc::Hex(4)
            }
            Esc::Backslash => {
                self.after_high = false;
                Esc::None
            }
            Esc::Hex(n) => {
                let d = (b as char).to_digit(16).unwrap_or(0) as u16;
                self.hex = (self.hex << 4) | d;
                if n > 1 {
                    Esc::Hex(n - 1)
                } else {
                    self.after_high = (0xD800..0xDC00).contains(&self.hex);
                    Esc::None
                }
            }
        };
    }
}

/// A body as sent, in the frames it arrived in, with its SHA-256: what a
/// repeated bundle is recognised by before any parsing.
#[derive(Debug)]
pub struct RawBody {
    frames: Vec<Bytes>,
    len: usize,
    digest: String,
}

impl RawBody {
    /// Hex SHA-256 of the bytes as sent.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The body with strings clipped and log lines dropped within `bounds`
    /// (strings over `max_string` cut, lines past the log budgets dropped, the JSON kept valid).
    pub fn clip(&self, bounds: Bounds) -> (Vec<u8>, Clipped) {
        let mut clipper = Clipper::new(bounds);
        let mut out = Vec::with_capacity(self.len.min(bounds.max_log + (1 << 20)));
        for f in &self.frames {
            clipper.feed(f, &mut out);
        }
        (out, clipper.clipped)
    }
}

/// Read `body` as sent, hashing it as it arrives: 413 past `max_body` bytes.
/// The frames are kept as they came (no copy); the caller bounds how many
/// bodies are held at once (the service's read budget).
pub async fn read_raw(body: Body, max_body: usize) -> Result<RawBody, ApiError> {
    let mut body = body;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut frames = Vec::new();
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let data = frame_data(frame)?;
        let Some(data) = data else { continue };
        len = len.saturating_add(data.len());
        if len > max_body {
            return Err(ApiError::body_too_large("[server] max-body-bytes"));
        }
        ctx.update(&data);
        frames.push(data);
    }
    let digest = crate::text::hex(ctx.finish().as_ref());
    Ok(RawBody {
        frames,
        len,
        digest,
    })
}

/// The data of one frame (`None`: a trailer), or the read error as the
/// caller's answer.
fn frame_data(frame: Result<Frame<Bytes>, axum::Error>) -> Result<Option<Bytes>, ApiError> {
    let frame = frame.map_err(|e| {
        if is_body_timeout(&e) {
            ApiError::body_timeout()
        } else {
            ApiError::bad_request(format!("the request body could not be read: {e}"))
        }
    })?;
    Ok(frame.into_data().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(max: usize) -> Bounds {
        Bounds {
            max_string: max,
            max_pod_log: usize::MAX,
            max_log: usize::MAX,
        }
    }

    fn clip(input: &str, max: usize) -> (String, Clipped) {
        clip_in(input, bounds(max))
    }

    fn clip_in(input: &str, b: Bounds) -> (String, Clipped) {
        let mut c = Clipper::new(b);
        let mut out = Vec::new();
        // One byte at a time: chunk edges anywhere must not matter.
        for b in input.as_bytes() {
            c.feed(std::slice::from_ref(b), &mut out);
        }
        (String::from_utf8(out).unwrap(), c.clipped)
    }

    #[test]
    fn long_strings_are_clipped_and_the_json_stays_valid() {
        let long = "é\\\"x\\u00e9\\ud83d\\ude00".repeat(50);
        let doc = format!(r#"{{"a":"{long}","b":["short","{long}"],"c":1}}"#);
        for max in [1, 2, 3, 5, 7, 11, 13, 40] {
            let (out, clipped) = clip(&doc, max);
            let v: serde_json::Value =
                serde_json::from_str(&out).unwrap_or_else(|e| panic!("max {max}: {e}: {out}"));
            assert_eq!(v["c"], 1);
            assert_eq!(clipped.strings, if max < 5 { 3 } else { 2 }, "max {max}");
            assert!(v["a"].as_str().unwrap().ends_with(" [clipped]"));
            assert_eq!(clipped.longest, long.len());
        }
    }

    #[test]
    fn short_strings_pass_unchanged() {
        let doc = r#"{"k":"v\"\\","n":[1,2],"u":"\u00e9"}"#;
        let (out, clipped) = clip(doc, 64);
        assert_eq!(out, doc);
        assert_eq!(clipped, Clipped::default());
        assert!(clipped.gaps(&bounds(64)).is_empty());
    }

    /// Before: only single strings were bounded, so a bundle of many lines
    /// was held whole whatever its size.
    #[test]
    fn log_lines_past_the_budgets_are_dropped_whole_and_counted() {
        let lines = |p: &str, n: usize| {
            (0..n)
                .map(|i| format!("\"{p} line {i:02}\""))
                .collect::<Vec<_>>()
                .join(" ,\n ")
        };
        let doc = format!(
            r#"{{"name":"lines","logs":{{"canary":[{{"pod":"c1","lines":[{}],"sources":[{{"container":"x","lines":3}}]}},{{"lines":[{}],"pod":"c2"}}],"stable":[{{"pod":"s1","lines":[{}]}}]}},"events":[{{"message":"an event","lines":["x","y","z"]}}]}}"#,
            lines("c1", 10),
            lines("c2", 3),
            lines("s1", 10)
        );
        // Each line is 10 bytes: 30 bytes per pod keeps 3 lines, 70 in all
        // keeps c1's 3, c2's 3 and s1's first.
        let b = Bounds {
            max_pod_log: 30,
            max_log: 70,
            ..bounds(1 << 20)
        };
        for chunks in [1, 7, 4096] {
            let mut c = Clipper::new(b);
            let mut out = Vec::new();
            for part in doc.as_bytes().chunks(chunks) {
                c.feed(part, &mut out);
            }
            let v: serde_json::Value = serde_json::from_slice(&out)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)));
            let kept = |side: &str, i: usize| v["logs"][side][i]["lines"].as_array().unwrap().len();
            assert_eq!(
                (kept("canary", 0), kept("canary", 1), kept("stable", 0)),
                (3, 3, 1)
            );
            assert_eq!(v["logs"]["canary"][0]["lines"][2], "c1 line 02");
            assert_eq!(v["logs"]["canary"][0]["sources"][0]["lines"], 3);
            // Strings elsewhere are not log lines.
            assert_eq!(v["events"][0]["lines"].as_array().unwrap().len(), 3);
            assert_eq!(v["name"], "lines");
            assert_eq!(c.clipped.lines_dropped, 7 + 9);
            assert_eq!(c.clipped.pods_cut, 2);
            let gaps = c.clipped.gaps(&b);
            assert_eq!(gaps.len(), 1, "{gaps:?}");
            assert!(gaps[0].contains("16 log line(s) of 2 pod(s)"), "{gaps:?}");
        }
        // Within the budgets nothing changes (but whitespace around commas).
        let (out, c) = clip_in(&doc, bounds(1 << 20));
        let parsed = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
        assert_eq!(parsed(&out), parsed(&doc));
        assert_eq!(c, Clipped::default());
    }

    /// A body kept in the frames it came in clips as the same body read byte
    /// by byte, wherever the frame edges fall (inside escapes, strings, keys).
    #[test]
    fn a_raw_body_clips_as_it_would_have_been_read() {
        let long = "x".repeat(300);
        let body = format!(
            r#"{{"name":"b","logs":{{"canary":[{{"pod":"p","lines":["{long}","a\u00e9\"q",{}]}}]}},"k":"{long}"}}"#,
            (0..10)
                .map(|i| format!("\"line {i:02}\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        let b = Bounds {
            max_string: 64,
            max_pod_log: 100,
            max_log: 1000,
        };
        let (want, want_c) = clip_in(&body, b);
        for size in [1, 2, 3, 7, 64, body.len()] {
            let frames: Vec<Bytes> = body
                .as_bytes()
                .chunks(size)
                .map(Bytes::copy_from_slice)
                .collect();
            let raw = RawBody {
                frames,
                len: body.len(),
                digest: String::new(),
            };
            let (got, got_c) = raw.clip(b);
            assert_eq!(String::from_utf8(got).unwrap(), want, "frames of {size}");
            assert_eq!(got_c, want_c, "frames of {size}");
        }
        assert!(want_c.strings > 0 && want_c.lines_dropped > 0, "{want_c:?}");
    }
}
