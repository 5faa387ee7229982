//! Reading a request body with bounded memory: the raw body is read chunk by
//! chunk (never more than `max_body` bytes in all), and every JSON string
//! longer than `max_string` bytes (a 50 MB log line) is clipped while it is
//! read, so the buffer the parser sees holds at most `max_string` bytes of any
//! one string. What was clipped is counted, for the bundle's gaps.

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

/// How a body was clipped while it was read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Clipped {
    /// Strings cut at `max_string` bytes.
    pub strings: usize,
    /// The longest string seen before clipping, in bytes (as sent, escaped).
    pub longest: usize,
}

impl Clipped {
    /// The gap a bundle reports for what was clipped (`None`: nothing was).
    pub fn gap(&self, max_string: usize) -> Option<String> {
        (self.strings > 0).then(|| {
            format!(
                "{} string(s) in the bundle were over {max_string} bytes (the longest {} bytes) and were clipped while reading: the judged logs are incomplete",
                self.strings, self.longest
            )
        })
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

/// The clipping state machine over JSON bytes (one body).
#[derive(Debug)]
struct Clipper {
    max_string: usize,
    in_string: bool,
    esc: Esc,
    /// Bytes of the current string seen so far.
    len: usize,
    /// The current string is being dropped (past `max_string`).
    dropping: bool,
    /// The `\u` escape being read, and whether the last one was a high
    /// surrogate (cutting after it would leave a lone surrogate).
    hex: u16,
    after_high: bool,
    clipped: Clipped,
}

impl Clipper {
    fn new(max_string: usize) -> Self {
        Clipper {
            max_string,
            in_string: false,
            esc: Esc::None,
            len: 0,
            dropping: false,
            hex: 0,
            after_high: false,
            clipped: Clipped::default(),
        }
    }

    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        for &b in chunk {
            if !self.in_string {
                if b == b'"' {
                    self.in_string = true;
                    self.len = 0;
                    self.dropping = false;
                    self.after_high = false;
                }
                out.push(b);
                continue;
            }
            // A unit starts here: a safe place to cut.
            let boundary = self.esc == Esc::None && !(0x80..0xC0).contains(&b) && !self.after_high;
            if self.esc == Esc::None && b == b'"' {
                self.in_string = false;
                if self.dropping {
                    self.clipped.strings += 1;
                    self.clipped.longest = self.clipped.longest.max(self.len);
                    out.extend_from_slice(b" [clipped]");
                }
                out.push(b);
                continue;
            }
            self.len += 1;
            if !self.dropping && boundary && self.len > self.max_string {
                self.dropping = true;
            }
            self.step_escape(b);
            if !self.dropping {
                out.push(b);
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

/// Read `body` into memory: 413 past `max_body` bytes (as sent), strings
/// clipped at `max_string` bytes.
pub async fn read_clipped(
    body: Body,
    max_body: usize,
    max_string: usize,
) -> Result<(Vec<u8>, Clipped), ApiError> {
    let mut body = body;
    let mut clipper = Clipper::new(max_string);
    let mut out = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if is_body_timeout(&e) {
                ApiError::body_timeout()
            } else {
                ApiError::bad_request(format!("the request body could not be read: {e}"))
            }
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > max_body {
            return Err(ApiError::body_too_large("[server] max-body-bytes"));
        }
        clipper.feed(&data, &mut out);
    }
    Ok((out, clipper.clipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(input: &str, max: usize) -> (String, Clipped) {
        let mut c = Clipper::new(max);
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
        assert!(clipped.gap(64).is_none());
    }
}
