//! The time shape of a template: when in each pod's life its canary lines
//! appear, relative to the pod's start and readiness.
//!
//! A pod's clock: its start is its first log record (version-1 bundles carry no
//! start time), or the first record's timestamp. Readiness is, in order: the
//! pod's `readyAt - startedAt` (bundle version 2) measured from the first
//! timestamped record; else the first record that says the process is up
//! ([`is_ready_line`]: "ready", "listening on", "started", "serving"...); else
//! the end of the first fifth of the pod's log. Positions are seconds when the
//! pod's lines carry timestamps ([`parse_timestamp`]), else record indexes: a
//! log without times still has an order.

use serde::{Deserialize, Serialize};

use super::classes::has_word_start;

/// Share of a pod's window taken as start-up when nothing says the pod is ready.
pub const DEFAULT_STARTUP_SHARE: f64 = 0.2;

/// Canary-side time shape of one template, over all canary pods.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    /// Canary occurrences per third of their pod's log window (first, middle, last).
    pub thirds: [u64; 3],
    /// Canary occurrences during their pod's start-up (before readiness).
    pub startup: u64,
    /// Seconds after pod start of the earliest and latest occurrence, when the
    /// lines carry timestamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_secs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_secs: Option<f64>,
    /// Every canary occurrence came during start-up, the pod then logged on
    /// without it for at least two thirds of its window, and every such pod is
    /// ready with no restarts at the end: a start-up transient.
    pub transient: bool,
    /// One pod of the transient, with its start-up length (seconds when known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transient_pod: Option<String>,
}

impl Timeline {
    /// The last third holds more than half the occurrences and at least twice
    /// the first third: errors that start late or grow. A pure function of the
    /// per-third counts, so a person can check it against the page.
    pub fn growing(&self) -> bool {
        let total: u64 = self.thirds.iter().sum();
        total >= 2 && 2 * self.thirds[2] > total && self.thirds[2] >= 2 * self.thirds[0].max(1)
    }

    /// Whether any occurrence was placed (a diff built without log positions has
    /// no time shape to show).
    pub fn is_known(&self) -> bool {
        self.thirds.iter().any(|&n| n > 0)
    }

    /// The sparkline and summary, as the page and Slack show them; `None` when
    /// there is no time shape.
    pub fn display(&self) -> Option<String> {
        self.is_known()
            .then(|| format!("{} {}", self.sparkline(), self.summary()))
    }

    /// Present in every third of the window.
    pub fn persistent(&self) -> bool {
        self.thirds.iter().all(|&n| n > 0)
    }

    /// "first 3 s, last 28 s, per third 9/3/2, falling": the short form used by
    /// reasons and Slack.
    pub fn summary(&self) -> String {
        let [a, b, c] = self.thirds;
        let trend = if self.transient {
            "start-up only"
        } else if self.growing() {
            "growing"
        } else if c * 2 < a {
            "falling"
        } else {
            "steady"
        };
        match (self.first_secs, self.last_secs) {
            (Some(f), Some(l)) => format!(
                "first seen {f:.0} s, last seen {l:.0} s after pod start; per third {a}/{b}/{c}, {trend}"
            ),
            _ => format!("per third of the pod's log {a}/{b}/{c}, {trend}"),
        }
    }

    /// A three-character sparkline of the per-third counts.
    pub fn sparkline(&self) -> String {
        const BARS: [char; 5] = ['·', '▂', '▄', '▆', '█'];
        let max = self.thirds.iter().copied().max().unwrap_or(0).max(1);
        self.thirds
            .iter()
            .map(|&n| {
                if n == 0 {
                    BARS[0]
                } else {
                    BARS[(1 + (n * 3).div_ceil(max) as usize).min(4)]
                }
            })
            .collect()
    }
}

/// One pod's clock: where its start-up ends and its window ends, in the unit of
/// its positions (seconds or record indexes), and whether it ended healthy.
#[derive(Debug, Clone, PartialEq)]
pub struct PodClock {
    pub name: String,
    /// Whether positions are seconds since the first record.
    pub timed: bool,
    pub ready_at: f64,
    pub end: f64,
    /// Ready with no restarts per the pod status; false when the status is missing.
    pub healthy: bool,
}

/// A per-template accumulator of canary occurrences: per-third and start-up
/// counts, and per pod the first and last position.
#[derive(Debug, Clone, Default)]
pub struct TimelineTally {
    thirds: [u64; 3],
    startup: u64,
    per_pod: Vec<(usize, f64, f64)>,
}

impl TimelineTally {
    /// One occurrence at `at` in pod `pod` (an index into the clocks given to
    /// [`Self::finish`]), whose clock is `clock`.
    pub fn add(&mut self, pod: usize, at: f64, clock: &PodClock) {
        let (third, startup) = place(at, clock);
        self.thirds[third] += 1;
        self.startup += u64::from(startup);
        match self.per_pod.iter_mut().find(|p| p.0 == pod) {
            Some(p) => {
                p.1 = p.1.min(at);
                p.2 = p.2.max(at);
            }
            None => self.per_pod.push((pod, at, at)),
        }
    }

    pub fn finish(&self, clocks: &[PodClock]) -> Timeline {
        let mut t = Timeline {
            thirds: self.thirds,
            startup: self.startup,
            ..Timeline::default()
        };
        let mut transient = !self.per_pod.is_empty();
        for &(pod, first, last) in &self.per_pod {
            let Some(c) = clocks.get(pod) else {
                transient = false;
                continue;
            };
            if c.timed {
                t.first_secs = Some(t.first_secs.map_or(first, |f: f64| f.min(first)));
                t.last_secs = Some(t.last_secs.map_or(last, |l: f64| l.max(last)));
            }
            let quiet_after = c.end > 0.0 && last <= c.end / 3.0;
            if !(last <= c.ready_at && quiet_after && c.healthy) {
                transient = false;
            } else if t.transient_pod.is_none() {
                t.transient_pod = Some(c.name.clone());
            }
        }
        t.transient = transient;
        if !transient {
            t.transient_pod = None;
        }
        t
    }
}

/// Which third of its pod's window a position falls in, and whether it is in start-up.
pub fn place(at: f64, clock: &PodClock) -> (usize, bool) {
    let third = if clock.end <= 0.0 {
        0
    } else {
        ((at / clock.end * 3.0) as usize).min(2)
    };
    (third, at <= clock.ready_at)
}

/// A line that says the process is up and serving: general start-up phrases
/// of common servers and frameworks, matched at word starts (so "already" is
/// not "ready"), lowercase. A line that also says it is waiting, retrying or
/// failing is not one ("waiting for the database to be ready").
pub fn is_ready_line(message: &str) -> bool {
    const READY: [&str; 16] = [
        "ready",
        "listening on",
        "listening at",
        "server listening",
        "started server",
        "server started",
        "server running",
        "application started",
        "successfully started",
        "started successfully",
        "startup complete",
        "serving",
        "running on http",
        "accepting connections",
        "starting processing",
        "main dispatch loop",
    ];
    const NOT: [&str; 13] = [
        "not ready",
        "unready",
        "failed",
        "error",
        "waiting",
        "retry",
        "retrying",
        "refused",
        "unable",
        "cannot",
        "could not",
        "timed out",
        // uvicorn/gunicorn "Started server process [1]": a process, not a server up.
        "server process",
    ];
    let lower = message.to_lowercase();
    let ready = READY.iter().any(|w| has_word_start(&lower, w)) || spring_style_started(&lower);
    ready && !NOT.iter().any(|b| lower.contains(b))
}

/// "Started PayoutsApplication in 21.3 seconds" (Spring Boot and others that
/// report their start-up time): "started", one name, "in", a number.
fn spring_style_started(lower: &str) -> bool {
    let words: Vec<&str> = lower.split_whitespace().collect();
    words.windows(4).any(|w| {
        w[0] == "started" && w[2] == "in" && w[3].starts_with(|c: char| c.is_ascii_digit())
    })
}

/// Days from 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_of(s: &str) -> Option<u32> {
    let l = s.get(..3)?.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| *m == l)
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// Reads `n` ASCII digits at `i`.
fn digits(b: &[u8], i: usize, n: usize) -> Option<u32> {
    let s = b.get(i..i + n)?;
    s.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// `HH:MM:SS[.,fraction]` at `i`: seconds of the day and the index after it.
fn clock_at(b: &[u8], i: usize) -> Option<(f64, usize)> {
    let (h, m, s) = (digits(b, i, 2)?, digits(b, i + 3, 2)?, digits(b, i + 6, 2)?);
    if b.get(i + 2) != Some(&b':') || b.get(i + 5) != Some(&b':') || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let mut j = i + 8;
    let mut secs = f64::from(h * 3600 + m * 60 + s);
    if matches!(b.get(j), Some(b'.' | b',')) {
        let start = j + 1;
        j = start;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        let frac = std::str::from_utf8(&b[start..j]).ok()?;
        if let Ok(f) = format!("0.{frac}").parse::<f64>() {
            secs += f;
        }
    }
    Some((secs, j))
}

/// A zone offset `Z`, `+00:00`, `+0000` at `i`, in seconds to subtract.
fn zone_at(b: &[u8], i: usize) -> f64 {
    let i = if b.get(i) == Some(&b' ') { i + 1 } else { i };
    match b.get(i) {
        Some(&sign @ (b'+' | b'-')) => {
            let h = digits(b, i + 1, 2);
            let m = digits(b, i + 3, 2).or_else(|| digits(b, i + 4, 2));
            match (h, m) {
                (Some(h), Some(m)) => {
                    let off = f64::from(h * 3600 + m * 60);
                    if sign == b'+' { off } else { -off }
                }
                _ => 0.0,
            }
        }
        _ => 0.0,
    }
}

/// `YYYY-MM-DD[T ]HH:MM:SS...` or `YYYY/MM/DD HH:MM:SS` at `i`.
fn iso_at(b: &[u8], i: usize) -> Option<f64> {
    let y = digits(b, i, 4)?;
    let sep = *b.get(i + 4)?;
    if !matches!(sep, b'-' | b'/') || b.get(i + 7) != Some(&sep) {
        return None;
    }
    let (mo, d) = (digits(b, i + 5, 2)?, digits(b, i + 8, 2)?);
    if !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || !matches!(b.get(i + 10), Some(b'T' | b' '))
    {
        return None;
    }
    // Gin's request logger separates date and clock with ` - `.
    let clock = if b.get(i + 10..i + 13) == Some(b" - ") {
        i + 13
    } else {
        i + 11
    };
    let (secs, j) = clock_at(b, clock)?;
    let day = days_from_civil(i64::from(y), mo, d) as f64;
    Some(day * 86_400.0 + secs - zone_at(b, j))
}

/// The timestamp of a log line, in seconds (epoch seconds when the line has a
/// full date; for formats without a year, seconds in an arbitrary year, which
/// is enough to compare lines of one pod). Looks at the line's head only.
/// Formats: RFC 3339 / ISO 8601 with or without zone, `2026-11-22 10:00:01,123`,
/// `2026/11/22 10:00:01`, Gin's `2026/11/22 - 10:00:01`, klog `I1122 10:00:01.123456`, JSON
/// `ts`/`time`/`timestamp`/`@timestamp` (string, or epoch seconds/millis/micros/nanos),
/// Apache/nginx `[22/Nov/2026:10:00:01 +0000]`, syslog `Nov 22 10:00:01`.
pub fn parse_timestamp(line: &str) -> Option<f64> {
    let t = line.trim_start();
    if t.starts_with('{') {
        return json_timestamp(t);
    }
    let b = t.as_bytes();
    let head = b.len().min(48);
    // klog: a level letter, MMDD, space, clock.
    if matches!(b.first(), Some(b'I' | b'W' | b'E' | b'F'))
        && b.get(5) == Some(&b' ')
        && let (Some(mo), Some(d), Some((secs, _))) =
            (digits(b, 1, 2), digits(b, 3, 2), clock_at(b, 6))
        && (1..=12).contains(&mo)
    {
        return Some(days_from_civil(2000, mo, d) as f64 * 86_400.0 + secs);
    }
    for i in 0..head {
        if i > 0 && b[i - 1].is_ascii_digit() {
            continue;
        }
        if let Some(s) = iso_at(b, i) {
            return Some(s);
        }
        // Apache/nginx: 22/Nov/2026:10:00:01 +0000
        if b.get(i + 2) == Some(&b'/') && b.get(i + 6) == Some(&b'/') {
            let d = digits(b, i, 2);
            let mo = t.get(i + 3..i + 6).and_then(month_of);
            let y = digits(b, i + 7, 4);
            if let (Some(d), Some(mo), Some(y), Some(b':')) = (d, mo, y, b.get(i + 11))
                && let Some((secs, j)) = clock_at(b, i + 12)
            {
                let day = days_from_civil(i64::from(y), mo, d) as f64;
                return Some(day * 86_400.0 + secs - zone_at(b, j));
            }
        }
    }
    // A clock alone at the head, `10:00:01.123` or `[10:00:01]` (Elixir's
    // Logger, many `%H:%M:%S` formats): seconds of an arbitrary day, enough to
    // order one pod's lines.
    let at = usize::from(b.first() == Some(&b'['));
    if let Some((secs, j)) = clock_at(b, at)
        && b.get(j).is_none_or(|c| !c.is_ascii_digit())
    {
        return Some(days_from_civil(2000, 1, 1) as f64 * 86_400.0 + secs);
    }
    // syslog: Nov 22 10:00:01
    let mo = t.get(..3).and_then(month_of)?;
    let d = if b.get(4) == Some(&b' ') {
        digits(b, 5, 1)
    } else {
        digits(b, 4, 2)
    }?;
    let (secs, _) = clock_at(b, 7)?;
    (b.get(3) == Some(&b' ')).then(|| days_from_civil(2000, mo, d) as f64 * 86_400.0 + secs)
}

fn json_timestamp(t: &str) -> Option<f64> {
    for key in [
        "\"@timestamp\"",
        "\"timestamp\"",
        "\"time\"",
        "\"ts\"",
        "\"@t\"",
        "\"datetime\"",
        "\"asctime\"",
        "\"timeMillis\"",
    ] {
        let Some(pos) = t.find(key) else { continue };
        let rest = t[pos + key.len()..]
            .trim_start()
            .strip_prefix(':')?
            .trim_start();
        if let Some(s) = rest.strip_prefix('"') {
            if let Some(v) = iso_at(s.as_bytes(), 0) {
                return Some(v);
            }
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..end].parse().ok()?;
        return Some(if n >= 1e17 {
            n / 1e9
        } else if n >= 1e14 {
            n / 1e6
        } else if n >= 1e11 {
            n / 1e3
        } else {
            n
        });
    }
    None
}

/// RFC 3339 text (`startedAt`/`readyAt` of a pod status) in epoch seconds.
pub fn parse_rfc3339(s: &str) -> Option<f64> {
    iso_at(s.as_bytes(), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_of_common_formats() {
        let base = parse_timestamp("2026-11-22T10:00:01Z").unwrap();
        let same = [
            "2026-11-22T10:00:01.000Z INFO x",
            "2026-11-22T11:00:01+01:00 INFO x",
            "2026-11-22 10:00:01,000 INFO [main] x",
            "[2026-11-22 10:00:01 +0000] [1] [INFO] x",
            "2026/11/22 10:00:01 [error] 29#29: x",
            r#"{"level":"info","ts":1795341601.0,"msg":"x"}"#,
            r#"{"level":30,"time":1795341601000,"msg":"x"}"#,
            r#"{"@timestamp":"2026-11-22T10:00:01Z","message":"x"}"#,
            r#"10.0.0.1 - - [22/Nov/2026:10:00:01 +0000] "GET / HTTP/1.1" 200 1"#,
            r#"[GIN] 2026/11/22 - 10:00:01 | 200 |     1.2ms |  10.0.0.1 | GET      "/""#,
        ];
        for l in same {
            assert_eq!(parse_timestamp(l), Some(base), "{l}");
        }
        let a = parse_timestamp("I1122 10:00:01.500000       1 x.go:1] a").unwrap();
        let b = parse_timestamp("E1122 10:00:03.500000       1 x.go:1] b").unwrap();
        assert!((b - a - 2.0).abs() < 1e-6);
        let s = parse_timestamp("Nov 22 10:00:01 host app[1]: x").unwrap();
        let s2 = parse_timestamp("Nov 22 10:00:31 host app[1]: x").unwrap();
        assert!((s2 - s - 30.0).abs() < 1e-6);
        let c = parse_timestamp("10:00:01.250 [error] Postgrex.Protocol failed").unwrap();
        let c2 = parse_timestamp("[10:00:11] worker up").unwrap();
        assert!((c2 - c - 9.75).abs() < 1e-6);
        for l in [
            r#"{"@t":"2026-11-22T10:00:01Z","@m":"x"}"#,
            r#"{"message":"x","datetime":"2026-11-22T10:00:01.000000+00:00"}"#,
            r#"{"asctime":"2026-11-22 10:00:01,000","message":"x"}"#,
        ] {
            assert_eq!(parse_timestamp(l), Some(base), "{l}");
        }
        assert_eq!(parse_timestamp("GET /api 200 12ms"), None);
        assert_eq!(parse_timestamp("panic: runtime error"), None);
    }

    #[test]
    fn ready_lines() {
        assert!(is_ready_line("http server listening on :8080"));
        assert!(is_ready_line("Started server on :8080"));
        assert!(is_ready_line(
            "Application started. Press Ctrl+C to shut down."
        ));
        assert!(is_ready_line(
            "Started PayoutsApplication in 21.3 seconds (process running for 22.0)"
        ));
        assert!(is_ready_line("Uvicorn running on http://0.0.0.0:8000"));
        assert!(is_ready_line("Nest application successfully started"));
        assert!(is_ready_line("Application startup complete."));
        assert!(!is_ready_line("database not ready, retrying"));
        assert!(!is_ready_line("GET /api/orders 200"));
        assert!(!is_ready_line(
            "relation \"orders\" already exists, skipping"
        ));
        assert!(!is_ready_line(
            "waiting for vault agent: secrets file ready?"
        ));
        assert!(!is_ready_line("started processing request 42"));
        assert!(!is_ready_line("Started server process [1]"));
    }

    fn clock(ready_at: f64, end: f64, healthy: bool) -> PodClock {
        PodClock {
            name: "canary-0".into(),
            timed: true,
            ready_at,
            end,
            healthy,
        }
    }

    #[test]
    fn a_burst_before_readiness_that_stops_is_a_transient() {
        let tally = |c: &PodClock| {
            let mut t = TimelineTally::default();
            for at in [1.0, 5.0, 28.0] {
                t.add(0, at, c);
            }
            t
        };
        let ok = clock(30.0, 600.0, true);
        let tl = tally(&ok).finish(std::slice::from_ref(&ok));
        assert!(tl.transient);
        assert_eq!(tl.thirds, [3, 0, 0]);
        assert_eq!(tl.startup, 3);
        assert_eq!((tl.first_secs, tl.last_secs), (Some(1.0), Some(28.0)));
        // Not healthy at the end, or still logging after readiness: not a transient.
        let sick = clock(30.0, 600.0, false);
        assert!(!tally(&sick).finish(&[sick]).transient);
        let early = clock(20.0, 600.0, true);
        assert!(!tally(&early).finish(&[early]).transient);
        // A pod whose clock is missing fails closed.
        assert!(!tally(&ok).finish(&[]).transient);
    }

    #[test]
    fn growth_is_the_last_third_holding_most() {
        let grow = Timeline {
            thirds: [1, 2, 9],
            ..Timeline::default()
        };
        let even = Timeline {
            thirds: [4, 4, 4],
            ..Timeline::default()
        };
        assert!(grow.growing() && !even.growing());
        assert!(even.persistent());
        assert!(grow.summary().contains("growing"));
        assert_eq!(even.sparkline().chars().count(), 3);
    }

    #[test]
    fn places_positions_in_thirds() {
        let c = clock(10.0, 90.0, true);
        assert_eq!(place(5.0, &c), (0, true));
        assert_eq!(place(45.0, &c), (1, false));
        assert_eq!(place(90.0, &c), (2, false));
    }
}
