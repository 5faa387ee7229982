//! From physical container log lines (`kubectl logs` output) to logical records:
//! level, the message worth mining, and multi-line grouping of stack traces.
//!
//! Grouping matters for canary judgement: a Java trace is one event, not forty
//! `at ...` lines that would each count as a "new template" on the canary. The
//! message of a trace is its stable head (the log line that announced it, or
//! the exception/panic line), so one failure maps to one template.

use std::borrow::Cow;

use serde_json::{Map, Value};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Trace,
    Debug,
    Info,
    Notice,
    Warn,
    Error,
    Fatal,
    Unknown,
}

impl Level {
    /// Parses a level word in any common spelling; `None` if it is not one.
    pub fn from_word(word: &str) -> Option<Level> {
        let w = word.trim_matches(|c: char| !c.is_ascii_alphabetic());
        Some(match w.len() {
            1..=8 => match w.to_ascii_lowercase().as_str() {
                "trace" | "trc" | "trce" => Level::Trace,
                "debug" | "dbg" | "dbug" | "verbose" => Level::Debug,
                "info" | "inf" | "log" | "information" => Level::Info,
                "notice" => Level::Notice,
                "warn" | "warning" | "wrn" => Level::Warn,
                "error" | "err" | "eror" | "severe" | "fail" => Level::Error,
                "fatal" | "critical" | "crit" | "panic" | "alert" | "emerg" | "dpanic" => {
                    Level::Fatal
                }
                _ => return None,
            },
            _ => return None,
        })
    }

    /// A numeric level on the scale its size gives away: Monolog's 100..600
    /// (100 debug, 200 info, 250 notice, 300 warning, 400 error, 500 and up
    /// critical to emergency), else pino/bunyan's 10..60.
    fn from_number(n: f64) -> Level {
        match n as i64 {
            100.. => match n as i64 {
                100..=199 => Level::Debug,
                200..=249 => Level::Info,
                250..=299 => Level::Notice,
                300..=399 => Level::Warn,
                400..=499 => Level::Error,
                _ => Level::Fatal,
            },
            i64::MIN..=10 => Level::Trace,
            11..=20 => Level::Debug,
            21..=30 => Level::Info,
            31..=40 => Level::Warn,
            41..=50 => Level::Error,
            _ => Level::Fatal,
        }
    }

    /// A syslog severity: 0..2 emergency, alert, critical; 3 error; 4 warning;
    /// 5 notice; 6 informational; 7 debug.
    fn from_syslog_number(n: f64) -> Level {
        match n as i64 {
            i64::MIN..=2 => Level::Fatal,
            3 => Level::Error,
            4 => Level::Warn,
            5 => Level::Notice,
            6 => Level::Info,
            _ => Level::Debug,
        }
    }

    /// OpenTelemetry's SeverityNumber (1..4 trace, 5..8 debug, 9..12 info,
    /// 13..16 warn, 17..20 error, 21..24 fatal).
    fn from_otel_number(n: f64) -> Level {
        match n as i64 {
            i64::MIN..=4 => Level::Trace,
            5..=8 => Level::Debug,
            9..=12 => Level::Info,
            13..=16 => Level::Warn,
            17..=20 => Level::Error,
            _ => Level::Fatal,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LogRecord<'a> {
    pub level: Level,
    /// The message text to mine (see the module documentation).
    pub message: Cow<'a, str>,
    /// Index of the head physical line in the pod's lines.
    pub line: usize,
    /// Number of physical lines in the record (head + continuation lines).
    pub span: usize,
    /// The first continuation lines that carry meaning (exception line,
    /// `Caused by`, panic message, first frame), for exemplars; at most
    /// [`MAX_DETAIL`].
    pub detail: Vec<&'a str>,
}

/// Detail lines kept per record: enough to name the failure and where it happened.
pub const MAX_DETAIL: usize = 4;

/// What kind of multi-line block the current record is in; decides which
/// following lines still belong to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    None,
    /// JVM, .NET, Node: indented frames, `Caused by:`, `... N more`.
    Frames,
    /// Python traceback, until its final `XxxError: message` line.
    Python,
    /// Go panic and goroutine dump.
    GoPanic,
    /// Rust panic: message line, `note:`, `stack backtrace:` and frames.
    RustPanic,
    /// .NET console logger: `fail: Category[EventId]`, then the message and any
    /// exception on lines indented by six spaces.
    Dotnet,
}

/// Groups the lines of one pod into records. Streaming-friendly in spirit: a
/// record only ever looks at the lines after its head until the first line
/// that does not continue it.
pub fn records(lines: &[String]) -> Vec<LogRecord<'_>> {
    let mut out: Vec<LogRecord<'_>> = Vec::new();
    let mut block = Block::None;
    let mut replace_message = false;
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim_end();
        if let Some(rec) = out.last_mut()
            && continues(rec, block, line)
        {
            rec.span += 1;
            block = next_block(block, line);
            if line.trim().is_empty() {
                continue;
            }
            if block == Block::Dotnet && rec.span == 2 {
                // The head only names the category; the first indented line is
                // what happened. Category + message is a stable template.
                let what = line.trim();
                rec.message = Cow::Owned(match access_log_status(what) {
                    Some(class) => format!("{} {what} [status {class}]", rec.message),
                    None => format!("{} {what}", rec.message),
                });
                rec.detail.push(line.trim());
                continue;
            }
            if replace_message && block == Block::None {
                // The last line of a Python traceback names the exception:
                // the stable head of a bare traceback.
                rec.message = Cow::Borrowed(line.trim());
                replace_message = false;
            }
            if block == Block::Frames && rec.level < Level::Warn && is_exception_line(line) {
                rec.level = Level::Error;
            }
            if rec.detail.len() < MAX_DETAIL && carries_meaning(line, rec.detail.len()) {
                rec.detail.push(line.trim());
            } else if is_caused_by(line)
                && let Some(last) = rec.detail.last_mut()
                && is_caused_by(last)
            {
                // The last `Caused by:` of a chain is its root cause: it takes
                // the place of the intermediate one kept before it.
                *last = line.trim();
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let (level, message) = parse_head(line);
        let (level, starts) = head_block(line, level);
        block = starts;
        replace_message = line.starts_with("Traceback (most recent call last)");
        out.push(LogRecord {
            level,
            message,
            line: i,
            span: 1,
            detail: Vec::new(),
        });
    }
    out
}

/// The block a head line opens, and its level adjusted for crash heads.
fn head_block(line: &str, level: Level) -> (Level, Block) {
    if let Some(dotnet_level) = dotnet_head_level(line) {
        return (dotnet_level, Block::Dotnet);
    }
    if line.starts_with("panic: ") || line.starts_with("fatal error: ") {
        return (Level::Fatal, Block::GoPanic);
    }
    if is_rust_panic_head(line) {
        return (Level::Fatal, Block::RustPanic);
    }
    if line.starts_with("Traceback (most recent call last)") {
        return (Level::Error, Block::Python);
    }
    if is_exception_line(line) {
        return (level.max_known(Level::Error), Block::Frames);
    }
    // The JVM's default handler for an exception nothing caught: the thread died.
    if line.starts_with("Exception in thread \"") {
        return (Level::Fatal, Block::Frames);
    }
    (level, Block::None)
}

impl Level {
    /// `self` unless it is unknown or milder than `floor`.
    fn max_known(self, floor: Level) -> Level {
        if self == Level::Unknown || self < floor {
            floor
        } else {
            self
        }
    }
}

/// Does `line` continue the record `rec` that is in `block`?
fn continues(rec: &LogRecord<'_>, block: Block, line: &str) -> bool {
    let trimmed = line.trim_start();
    let indented = trimmed.len() < line.len();
    if trimmed.is_empty() {
        // Blank lines sit inside Go panics and after Spring's "Application run failed".
        return true;
    }
    if is_frame(line) || trimmed.starts_with("Caused by:") || trimmed.starts_with("Suppressed:") {
        return true;
    }
    if trimmed.starts_with("--- End of ") || is_more_frames(trimmed) {
        return true;
    }
    match block {
        Block::Python => {
            return indented
                || trimmed.starts_with("During handling of the above exception")
                || trimmed.starts_with("The above exception was the direct cause")
                || trimmed.starts_with("Traceback (most recent call last)")
                || is_python_exception_line(line);
        }
        Block::GoPanic => {
            return indented
                || trimmed.starts_with("goroutine ")
                || trimmed.starts_with("created by ")
                || trimmed.starts_with("exit status ")
                || trimmed.starts_with("[signal ")
                || trimmed.starts_with("panic: ")
                || is_go_frame_function(trimmed);
        }
        Block::RustPanic => {
            return indented
                || rec.span == 1
                || trimmed.starts_with("note: ")
                || trimmed.starts_with("stack backtrace:");
        }
        Block::Dotnet => return indented,
        Block::Frames | Block::None => {}
    }
    if indented && rec.span > 0 && block == Block::Frames {
        return true;
    }
    // An exception line right after an error log line, or a traceback the
    // error line announces (Spring "Application run failed", Django's
    // "Internal Server Error", pino's error object printed after the JSON).
    // A warning takes a trace only when it announces one; otherwise the trace
    // is a crash the runtime printed on its own, which must not hide inside a
    // routine warning's template.
    let takes_trace = rec.level >= Level::Error && rec.level != Level::Unknown
        || rec.level == Level::Warn && announces_trace(&rec.message);
    if takes_trace {
        // `** (ArithmeticError) …`: Elixir's exit reason under its error line.
        return is_exception_line(line)
            || line.starts_with("Traceback (most recent call last)")
            || line.starts_with("** (");
    }
    false
}

/// A log message that says a trace follows: it ends with a colon, or names an
/// exception, an error, a failure or a trace.
fn announces_trace(message: &str) -> bool {
    let lower = message.trim_end().to_ascii_lowercase();
    lower.ends_with(':')
        || [
            "exception",
            "error",
            "traceback",
            "fail",
            "stack",
            "trace",
            "retry",
            "retrying",
        ]
        .iter()
        .any(|w| lower.contains(w))
}

/// `2026-11-24T11:05:22.531Z fail: Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware[1]`:
/// the head of a .NET console-logger entry (optional timestamp, a four-letter
/// level, the category and event id, nothing else); its level if it is one.
fn dotnet_head_level(line: &str) -> Option<Level> {
    let mut tokens = line.split_whitespace();
    let mut first = tokens.next();
    if first.is_some_and(is_time_token) {
        first = tokens.next();
    }
    let level = match first? {
        "trce:" => Level::Trace,
        "dbug:" => Level::Debug,
        "info:" => Level::Info,
        "warn:" => Level::Warn,
        "fail:" => Level::Error,
        "crit:" => Level::Fatal,
        _ => return None,
    };
    let category = tokens.next()?;
    (category.ends_with(']') && category.contains('[') && tokens.next().is_none()).then_some(level)
}

/// `github.com/acme/x.(*T).Method(0xc000aa35d0, {0x1, 0x4})`: a function line of a goroutine dump.
fn is_go_frame_function(line: &str) -> bool {
    match line.find('(') {
        Some(open) => line.ends_with(')') && open > 0 && !line[..open].contains(' '),
        None => false,
    }
}

fn next_block(block: Block, line: &str) -> Block {
    let trimmed = line.trim_start();
    match block {
        Block::Python if !line.starts_with(' ') && is_python_exception_line(line) => Block::None,
        Block::None if line.starts_with("Traceback (most recent call last)") => Block::Python,
        Block::None if is_exception_line(line) || is_frame(line) => Block::Frames,
        Block::None if trimmed.starts_with("Caused by:") => Block::Frames,
        other => other,
    }
}

/// `\tat x.y(Z.java:1)`, `    at fn (file.js:1:2)`, `   at N.M() in f.cs:line 3`.
/// A stack frame line: an indented `at …` (JVM, .NET, Node); a Ruby frame
/// `app/models/order.rb:88:in `total'` (bare or after `from `); a PHP frame
/// `#0 /var/www/src/Cart.php(41): Cart->total()` and the `Stack trace:` line
/// before them; an indented Elixir frame `(app 1.4.0) lib/x.ex:88: X.f/1`.
fn is_frame(line: &str) -> bool {
    let trimmed = line.trim_start();
    let indented = trimmed.len() < line.len();
    if indented && trimmed.starts_with("at ") {
        return true;
    }
    let ruby = trimmed.strip_prefix("from ").unwrap_or(trimmed);
    if let Some((path, rest)) = ruby.split_once(".rb:")
        && !path.contains(' ')
        && rest.contains(":in ")
        && rest.starts_with(|c: char| c.is_ascii_digit())
    {
        return true;
    }
    if trimmed == "Stack trace:" {
        return true;
    }
    if let Some(rest) = trimmed.strip_prefix('#')
        && rest.starts_with(|c: char| c.is_ascii_digit())
        && (rest.contains(".php(") || rest.contains("{main}"))
    {
        return true;
    }
    indented && trimmed.starts_with('(') && trimmed.contains(".ex:")
}

fn is_more_frames(trimmed: &str) -> bool {
    trimmed.starts_with("... ") && trimmed.ends_with(" more")
}

/// `java.lang.IllegalStateException: msg`, `TypeError: msg`, `Error: msg`,
/// `System.InvalidOperationException: msg`, `org.x.FooException` alone.
fn is_exception_line(line: &str) -> bool {
    let head = match line.find(": ") {
        Some(p) => &line[..p],
        None => line.trim_end_matches(':'),
    };
    if head.is_empty() || head.contains(char::is_whitespace) {
        return false;
    }
    let name = head.rsplit('.').next().unwrap_or(head);
    let qualified_ok = head
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '$');
    qualified_ok
        && name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && (name.ends_with("Exception")
            || name.ends_with("Error")
            || name.ends_with("Throwable")
            || name.ends_with("Fault"))
}

/// The closing line of a Python traceback: `requests.exceptions.HTTPError: 503 ...`,
/// `KeyboardInterrupt`, `SystemExit: 1`.
fn is_python_exception_line(line: &str) -> bool {
    if line.starts_with(' ') {
        return false;
    }
    let head = line.split(": ").next().unwrap_or(line);
    !head.is_empty()
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        && head
            .rsplit('.')
            .next()
            .is_some_and(|n| n.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
}

/// Continuation lines worth showing: anything but plain frames, plus the first frame.
/// A JVM chain's `Caused by: X: message` line.
fn is_caused_by(line: &str) -> bool {
    line.trim_start().starts_with("Caused by: ")
}

fn carries_meaning(line: &str, kept: usize) -> bool {
    let trimmed = line.trim_start();
    let frameish = is_frame(line)
        || trimmed.starts_with("File \"")
        || trimmed.starts_with('/')
        || is_more_frames(trimmed)
        || trimmed.starts_with("--- End of ")
        || (line.starts_with(|c: char| c.is_whitespace()) && kept > 0);
    // The first frame names where it happened: after the exception line, or
    // right after a head that is itself the exception.
    !frameish || kept <= 1
}

/// Level and message of a head line, by format: JSON, logfmt, or plain text.
fn parse_head(line: &str) -> (Level, Cow<'_, str>) {
    let trimmed = line.trim();
    if trimmed.starts_with('{')
        && let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(trimmed)
    {
        return parse_json(&obj, trimmed);
    }
    if let Some(parsed) = parse_ruby_logger(trimmed) {
        return parsed;
    }
    if let Some(parsed) = parse_logfmt(trimmed) {
        return parsed;
    }
    let (level, message) = parse_plain(trimmed);
    match access_log_status(&message) {
        Some(class) => (level, Cow::Owned(format!("{message} [status {class}]"))),
        None => (level, message),
    }
}

const HTTP_METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// The status class of a plain-text access-log line, so that a 503 and a 200
/// of one route are two templates (the miner masks the number itself): the
/// combined log format's `"GET /x HTTP/1.1" 503`, `GET /x 503 12ms`
/// (morgan, many routers), `GET http://host/x - 503 -` (ASP.NET Core),
/// `| 503 |` (gin), `Completed 503 …` (Rails), `Sent 503 in …` (Phoenix) and
/// `503 Service Unavailable: GET - /x` (Ktor).
fn access_log_status(message: &str) -> Option<&'static str> {
    let code = |t: &str| {
        (t.len() == 3 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| logfmt_status(t))
            .flatten()
    };
    if let Some(i) = message.find(" HTTP/") {
        let rest = &message[i + 6..];
        if let Some(q) = rest.find("\" ") {
            return rest[q + 2..].split_whitespace().next().and_then(code);
        }
    }
    let tokens: Vec<&str> = message.split_whitespace().collect();
    let method_at = tokens
        .iter()
        .position(|t| HTTP_METHODS.contains(&t.trim_matches(|c: char| c == '"' || c == '[')));
    for (i, w) in tokens.windows(2).enumerate() {
        match w {
            ["Completed" | "Sent", t] => {
                if let Some(c) = code(t) {
                    return Some(c);
                }
            }
            ["|", t] if tokens.get(i + 2) == Some(&"|") => {
                if let Some(c) = code(t) {
                    return Some(c);
                }
            }
            _ => {}
        }
    }
    let m = method_at?;
    // After the method: the path, an optional "-", then the code.
    let after = &tokens[m + 1..];
    let path_like = |t: &&str| t.starts_with('/') || t.starts_with("http");
    if after.first().is_some_and(path_like) {
        let next = after.get(1).copied();
        let next = if next == Some("-") {
            after.get(2).copied()
        } else {
            next
        };
        if let Some(c) = next.and_then(code) {
            return Some(c);
        }
    }
    // Ktor: `503 Service Unavailable: GET - /x`, the code before the method.
    tokens[..m].iter().rev().find_map(|t| code(t))
}

/// Ruby's `Logger` default format (Rails, Sidekiq, Puma in production):
/// `E, [2026-12-01T09:05:00.123456 #1] ERROR -- progname: message`, where the
/// letter repeats the level and `progname` may be empty.
fn parse_ruby_logger(line: &str) -> Option<(Level, Cow<'_, str>)> {
    let b = line.as_bytes();
    if !(b.len() > 4 && b[0].is_ascii_uppercase() && b[1] == b',' && b[2] == b' ' && b[3] == b'[') {
        return None;
    }
    let close = line.find("] ")?;
    let rest = line[close + 2..].trim_start();
    let (word, rest) = rest.split_once(" -- ")?;
    let level = Level::from_word(word).or(match word {
        "ANY" => Some(Level::Unknown),
        _ => None,
    })?;
    let message = rest.split_once(": ").map_or(rest, |(_, m)| m);
    Some((level, Cow::Borrowed(message.trim_start())))
}

const MESSAGE_KEYS: [&str; 12] = [
    "msg",
    "message",
    "log",
    "event",
    "@message",
    "@m",
    // Serilog's JsonFormatter: the rendered text, else the template.
    "RenderedMessage",
    "@mt",
    "MessageTemplate",
    // GELF.
    "short_message",
    "text",
    "body",
];
const ERROR_KEYS: [&str; 11] = [
    "error",
    "err",
    "exception",
    "error.message",
    "exc_info",
    "grpc.error",
    // Serilog's compact JSON puts the exception in `@x`.
    "@x",
    // logstash-logback-encoder and ECS write the whole trace as text.
    "stack_trace",
    "error.stack_trace",
    // log4j2's JsonLayout: {"thrown": {"name", "message", ...}}.
    "thrown",
    "exc_text",
];
/// Fields whose value says how a request ended. Masking would turn `500` into
/// `<*>`, so the value is kept as a class word in the message instead.
const STATUS_KEYS: [&str; 6] = [
    "grpc.code",
    "status",
    "status_code",
    "statusCode",
    "http.status_code",
    "http_status",
];
const LEVEL_KEYS: [&str; 11] = [
    "level",
    "lvl",
    "severity",
    "log.level",
    "levelname",
    "loglevel",
    "log_level",
    "level_name",
    "severity_text",
    "SeverityText",
    "@l",
];
/// Keys whose number is on OpenTelemetry's SeverityNumber scale.
const OTEL_LEVEL_KEYS: [&str; 2] = ["severity_number", "SeverityNumber"];

/// A JSON record's level: a level word under any level key wins over a
/// number (Monolog writes both `level: 200` and `level_name: "INFO"`), and a
/// number is read on the scale of its key or its size.
fn json_level(obj: &Map<String, Value>) -> Level {
    let word = LEVEL_KEYS.iter().find_map(|k| {
        field(obj, k)
            .and_then(Value::as_str)
            .and_then(Level::from_word)
    });
    if let Some(level) = word {
        return level;
    }
    if let Some(n) = OTEL_LEVEL_KEYS.iter().find_map(|k| obj.get(*k)?.as_f64()) {
        return Level::from_otel_number(n);
    }
    // GELF and journald carry syslog severities (0 emergency .. 7 debug).
    if obj.contains_key("short_message") || obj.contains_key("PRIORITY") {
        let n = ["level", "PRIORITY"]
            .iter()
            .find_map(|k| match obj.get(*k)? {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            });
        if let Some(n) = n {
            return Level::from_syslog_number(n);
        }
    }
    LEVEL_KEYS
        .iter()
        .find_map(|k| obj.get(*k)?.as_f64())
        .map_or(Level::Unknown, Level::from_number)
}

/// A field by its key as written, else by the same key in another case
/// (Serilog's `Level`/`RenderedMessage`/`Exception`, .NET's PascalCase).
fn field<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// An error serialised as an object: `{type|name|class, message}` (pino and
/// bunyan `err`, ECS `error`, log4j2's `thrown`, Serilog's exception objects).
fn error_object(e: &Map<String, Value>) -> Option<String> {
    let message = ["message", "msg", "localizedMessage"]
        .iter()
        .find_map(|k| field(e, k).and_then(Value::as_str))?;
    let kind = ["type", "name", "class", "exception_class"]
        .iter()
        .find_map(|k| field(e, k).and_then(Value::as_str));
    Some(match kind {
        Some(t) => format!("{t}: {message}"),
        None => message.to_string(),
    })
}

fn parse_json<'a>(obj: &Map<String, Value>, line: &'a str) -> (Level, Cow<'a, str>) {
    let level = json_level(obj);
    // Rust's tracing-subscriber JSON nests the event's fields, message
    // included, under `fields`.
    let nested = obj.get("fields").and_then(Value::as_object);
    let message = MESSAGE_KEYS
        .iter()
        .find_map(|k| field(obj, k).and_then(Value::as_str))
        .or_else(|| nested.and_then(|f| f.get("message").and_then(Value::as_str)));
    let error = ERROR_KEYS.iter().find_map(|k| match field(obj, k)? {
        Value::String(s) => Some(meaningful_error_line(s).to_owned()),
        Value::Object(e) => error_object(e),
        _ => None,
    });
    let status = status_class(obj);
    let message = match (message, error) {
        (Some(m), Some(e)) => Cow::Owned(format!("{m}: {e}")),
        (Some(m), None) => Cow::Owned(m.to_string()),
        (None, Some(e)) => Cow::Owned(e),
        (None, None) => Cow::Borrowed(line),
    };
    match status {
        Some(class) => (level, Cow::Owned(format!("{message} [status {class}]"))),
        None => (level, message),
    }
}

/// A multi-line error value (a stack trace in one JSON string) is named by one
/// line: a Python traceback by its last (`KeyError: 'currency'`), JVM/.NET/Node
/// traces by their first (`java.lang.IllegalStateException: …`).
fn meaningful_error_line(s: &str) -> &str {
    let mut lines = s.lines().map(str::trim).filter(|l| !l.is_empty());
    match lines.next() {
        Some(first) if first.starts_with("Traceback (most recent call last)") => {
            lines.next_back().unwrap_or(first)
        }
        Some(first) => first,
        None => s,
    }
}

/// How a request ended, as a word that survives masking: a gRPC code as is,
/// an HTTP status as its class.
fn status_class(obj: &Map<String, Value>) -> Option<String> {
    let value = STATUS_KEYS
        .iter()
        .find_map(|k| obj.get(*k))
        // pino-http nests it: {"res": {"statusCode": 500}}
        .or_else(|| obj.get("res").and_then(|r| r.get("statusCode")))?;
    let http = |code: u64| match code {
        100..=399 => Some("ok".to_owned()),
        400..=499 => Some("client-error".to_owned()),
        500..=599 => Some("server-error".to_owned()),
        _ => None,
    };
    match value {
        Value::Number(n) => n.as_u64().and_then(http),
        Value::String(s) if s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() => {
            s.parse().ok().and_then(http)
        }
        Value::String(s)
            if s.chars().all(|c| c.is_ascii_alphabetic() || c == '_') && !s.is_empty() =>
        {
            Some(s.clone())
        }
        _ => None,
    }
}

/// `ts=... level=info msg="..." err="..."`: recognised when it has a `msg=`
/// or `level=` key.
fn parse_logfmt(line: &str) -> Option<(Level, Cow<'_, str>)> {
    if !(line.contains("msg=") || line.starts_with("level=") || line.contains(" level=")) {
        return None;
    }
    let (mut level, mut msg, mut err, mut status) = (None, None, None, None);
    let mut pairs = 0;
    let mut rest = line;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let Some(eq) = rest.find('=') else { break };
        let key = &rest[..eq];
        if key.is_empty() || key.contains(char::is_whitespace) {
            return None;
        }
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted_end(quoted)?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(' ').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        pairs += 1;
        match key {
            "level" | "lvl" | "severity" => level = Level::from_word(value),
            "msg" | "message" => msg = Some(value),
            "err" | "error" => err = Some(value),
            "status" | "status_code" | "grpc_code" | "code" if status.is_none() => {
                status = logfmt_status(value);
            }
            _ => {}
        }
        rest = next;
    }
    if pairs < 2 {
        return None;
    }
    let level = level.unwrap_or(Level::Unknown);
    let message = match (msg, err) {
        (Some(m), Some(e)) => Cow::Owned(format!("{m}: {e}")),
        (Some(m), None) => Cow::Borrowed(m),
        (None, Some(e)) => Cow::Borrowed(e),
        (None, None) => Cow::Borrowed(line),
    };
    match status {
        Some(class) => Some((level, Cow::Owned(format!("{message} [status {class}]")))),
        None => Some((level, message)),
    }
}

/// The logfmt twin of [`status_class`].
fn logfmt_status(value: &str) -> Option<&'static str> {
    match value.parse::<u64>().ok()? {
        100..=399 => Some("ok"),
        400..=499 => Some("client-error"),
        500..=599 => Some("server-error"),
        _ => None,
    }
}

/// Index of the closing quote in `s` (which starts after the opening one).
fn quoted_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// `thread 'main' panicked at src/x.rs:3:5:`, and since Rust 1.90 with the
/// thread's id: `thread 'main' (4711) panicked at …`.
fn is_rust_panic_head(line: &str) -> bool {
    line.starts_with("thread '")
        && (line.contains("' panicked at ")
            || line
                .split_once("' (")
                .and_then(|(_, rest)| rest.split_once(") panicked at "))
                .is_some_and(|(id, _)| id.bytes().all(|b| b.is_ascii_digit())))
}

/// Plain text: strips a leading timestamp, pid, level and Spring's
/// `--- [app] [thread]` decoration; keeps the logger name.
fn parse_plain(line: &str) -> (Level, Cow<'_, str>) {
    if line.starts_with("panic: ") || line.starts_with("fatal error: ") {
        return (Level::Fatal, Cow::Borrowed(line));
    }
    if is_rust_panic_head(line) {
        return (Level::Fatal, Cow::Borrowed(line));
    }
    if line.starts_with("Traceback (most recent call last)") || is_exception_line(line) {
        return (Level::Error, Cow::Borrowed(line));
    }
    let mut rest = line;
    let mut level = None;
    // glog: `E1105 09:13:35.123456       1 reflector.go:138] message`.
    if let Some(l) = glog_level(rest)
        && let Some(close) = rest.find("] ")
    {
        return (l, Cow::Borrowed(rest[close + 2..].trim_start()));
    }
    let mut spring = false;
    for _ in 0..12 {
        let (token, after) = split_token(rest);
        if token.is_empty() {
            break;
        }
        if level.is_none()
            && let Some(l) = bracketed_level(token)
        {
            level = Some(l);
            rest = after;
            continue;
        }
        if spring && token.starts_with('[') {
            break;
        }
        if is_time_token(token) || token == "---" {
            spring |= token == "---";
            rest = after;
            continue;
        }
        if token.starts_with('[') && token.ends_with(']') && level.is_none() {
            // `[1]` pid, `[Nest]`, `[main]` thread before the level.
            rest = after;
            continue;
        }
        if level.is_none()
            && let Some(l) = Level::from_word(token)
            && token
                .trim_end_matches(':')
                .chars()
                .all(|c| c.is_ascii_alphabetic())
            && token.chars().any(|c| c.is_ascii_uppercase())
        {
            level = Some(l);
            rest = after;
            continue;
        }
        let stripped_some = rest.len() < line.len();
        if (level.is_some() || stripped_some)
            && (token == "-" || token.chars().all(|c| c.is_ascii_digit()))
        {
            // Spring's pid between level and `---`.
            rest = after;
            continue;
        }
        if spring && token == ":" {
            rest = after;
            continue;
        }
        break;
    }
    if spring {
        // Thread names are padded inside the brackets (`[           main]`).
        while let Some(inner) = rest.strip_prefix('[') {
            match inner.find(']') {
                Some(close) => rest = inner[close + 1..].trim_start(),
                None => break,
            }
        }
    }
    let message = if rest.is_empty() { line } else { rest };
    (level.unwrap_or(Level::Unknown), Cow::Borrowed(message))
}

fn split_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(p) => (&s[..p], s[p..].trim_start()),
        None => (s, ""),
    }
}

/// `[INFO]`, `[error]`, and envoy's `[ts][1][info][main]` chains.
fn bracketed_level(token: &str) -> Option<Level> {
    if !token.contains('[') {
        return None;
    }
    token
        .split(['[', ']'])
        .filter(|p| !p.is_empty())
        .find_map(|p| {
            if p.chars().all(|c| c.is_ascii_alphabetic()) {
                Level::from_word(p)
            } else {
                None
            }
        })
        .filter(|_| token.ends_with(']'))
}

fn glog_level(line: &str) -> Option<Level> {
    let b = line.as_bytes();
    if b.len() < 6 || !b[1..5].iter().all(u8::is_ascii_digit) || b[5] != b' ' {
        return None;
    }
    match b[0] {
        b'I' => Some(Level::Info),
        b'W' => Some(Level::Warn),
        b'E' => Some(Level::Error),
        b'F' => Some(Level::Fatal),
        _ => None,
    }
}

/// Dates, times, zones and their bracketed forms: `2026-11-05T09:13:35.535Z`,
/// `[2026-11-06`, `11:38:07`, `+0000]`, `16:00:02,476]`, `11/18/2026,`, `AM`.
fn is_time_token(token: &str) -> bool {
    let t = token.trim_matches(|c| matches!(c, '[' | ']' | ','));
    if t == "AM" || t == "PM" {
        return true;
    }
    t.len() >= 4
        && t.bytes().filter(u8::is_ascii_digit).count() * 2 >= t.len()
        && t.bytes().all(|c| {
            c.is_ascii_digit() || matches!(c, b'-' | b':' | b'/' | b'.' | b',' | b'T' | b'Z' | b'+')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn json_level_words_win_over_numbers_and_scales_follow_size() {
        let l = lines(&[
            r#"{"message":"Matched route \"booking_show\".","context":{},"level":200,"level_name":"INFO","channel":"app"}"#,
            r#"{"message":"Uncaught PHP Exception","level":500,"channel":"request"}"#,
            r#"{"message":"deprecated call","level":250,"channel":"php"}"#,
            r#"{"body":"span exported","severity_number":9,"level":50}"#,
            r#"{"@t":"2026-12-01T09:00:00Z","@l":"Warning","@m":"slow"}"#,
        ]);
        let r = records(&l);
        let levels: Vec<Level> = r.iter().map(|r| r.level).collect();
        assert_eq!(
            levels,
            [
                Level::Info,
                Level::Fatal,
                Level::Notice,
                Level::Info,
                Level::Warn
            ]
        );
    }

    #[test]
    fn json_formats_of_several_stacks() {
        let l = lines(&[
            // Serilog JsonFormatter (PascalCase keys).
            r#"{"Timestamp":"2026-12-01T09:00:00.123+00:00","Level":"Error","MessageTemplate":"Charge {Id} failed","RenderedMessage":"Charge 42 failed","Exception":"System.InvalidOperationException: Sequence contains no elements\n   at X.Y()"}"#,
            // logstash-logback-encoder.
            r#"{"@timestamp":"2026-12-01T09:00:00.123Z","@version":"1","message":"Request processing failed","logger_name":"o.a.c.c.C.[dispatcherServlet]","level":"ERROR","level_value":40000,"stack_trace":"java.lang.NullPointerException: Cannot invoke \"String.length()\"\n\tat com.acme.A.b(A.java:12)"}"#,
            // log4j2 JsonLayout.
            r#"{"instant":{"epochSecond":1796000000,"nanoOfSecond":0},"level":"ERROR","loggerName":"com.acme.Pay","message":"refund failed","thrown":{"commonElementCount":0,"localizedMessage":"timeout","message":"timeout","name":"java.net.SocketTimeoutException"}}"#,
            // ECS (nested error).
            r#"{"@timestamp":"2026-12-01T09:00:00.123Z","log.level":"error","message":"upstream failed","error":{"type":"ConnectionError","message":"connection reset by peer","stack_trace":"..."}}"#,
            // GELF with a syslog severity.
            r#"{"version":"1.1","host":"web-1","short_message":"disk almost full","level":4,"timestamp":1796000000.5}"#,
        ]);
        let r = records(&l);
        let got: Vec<(Level, &str)> = r.iter().map(|r| (r.level, &*r.message)).collect();
        assert_eq!(
            got,
            [
                (
                    Level::Error,
                    "Charge 42 failed: System.InvalidOperationException: Sequence contains no elements"
                ),
                (
                    Level::Error,
                    "Request processing failed: java.lang.NullPointerException: Cannot invoke \"String.length()\""
                ),
                (
                    Level::Error,
                    "refund failed: java.net.SocketTimeoutException: timeout"
                ),
                (
                    Level::Error,
                    "upstream failed: ConnectionError: connection reset by peer"
                ),
                (Level::Warn, "disk almost full"),
            ]
        );
    }

    #[test]
    fn a_trace_after_a_routine_warning_is_a_record_of_its_own() {
        let l = lines(&[
            "2026-11-22T10:00:14Z WARN slow query took 136ms table=orders",
            "Traceback (most recent call last):",
            "  File \"/app/service/handlers.py\", line 88, in handle",
            "IndexError: list index out of range",
            "2026-11-22T10:00:15Z WARN db not reachable, retrying in 2s",
            "Traceback (most recent call last):",
            "ConnectionRefusedError: [Errno 111] Connect call failed",
        ]);
        let r = records(&l);
        let got: Vec<(Level, &str)> = r.iter().map(|r| (r.level, &*r.message)).collect();
        assert_eq!(
            got,
            [
                (Level::Warn, "slow query took 136ms table=orders"),
                (Level::Error, "IndexError: list index out of range"),
                (Level::Warn, "db not reachable, retrying in 2s"),
            ]
        );
        assert_eq!(
            r[2].detail.last(),
            Some(&"ConnectionRefusedError: [Errno 111] Connect call failed")
        );
    }

    #[test]
    fn ruby_php_and_elixir_frames_continue_their_record() {
        let l = lines(&[
            "F, [2026-12-01T09:05:00.123456 #1] FATAL -- : [a1b2c3] NoMethodError (undefined method `amount' for nil):",
            "app/services/ledger_poster.rb:88:in `post'",
            "from app/controllers/postings_controller.rb:12:in `create'",
            "PHP Fatal error:  Uncaught TypeError: Ledger::apply(): Argument #1 must be of type Entry, null given in /var/www/src/Ledger.php:88",
            "Stack trace:",
            "#0 /var/www/src/Worker.php(41): Ledger->apply(NULL)",
            "#1 {main}",
            "10:05:00.123 [error] GenServer Ledger.Poster terminating",
            "** (ArithmeticError) bad argument in arithmetic expression",
            "    (ledger 1.4.0) lib/ledger/poster.ex:88: Ledger.Poster.handle_call/3",
            "10:05:01.000 [info] next",
        ]);
        let r = records(&l);
        let spans: Vec<usize> = r.iter().map(|r| r.span).collect();
        assert_eq!(spans, [3, 4, 3, 1], "{r:#?}");
    }

    #[test]
    fn plain_access_logs_carry_their_status_class() {
        let cases = [
            (
                r#"10.0.0.1 - - [22/Nov/2026:10:00:01 +0000] "GET /api/cart HTTP/1.1" 503 12 "-" "curl/8""#,
                Some("server-error"),
            ),
            (
                r#"INFO:     10.4.1.2:50012 - "GET /v1/fx/EURUSD HTTP/1.1" 200 OK"#,
                Some("ok"),
            ),
            ("GET /api/orders 500 12.345 ms - 52", Some("server-error")),
            (
                "Request finished HTTP/1.1 GET http://fares/api/quote - 404 - application/json 3.2ms",
                Some("client-error"),
            ),
            (
                "[GIN] 2026/12/02 - 14:00:01 | 502 |  12.3ms | 10.0.0.1 | GET \"/x\"",
                Some("server-error"),
            ),
            (
                "Completed 500 Internal Server Error in 12ms (ActiveRecord: 1.2ms)",
                Some("server-error"),
            ),
            ("Sent 200 in 4ms", Some("ok")),
            (
                "500 Internal Server Error: GET - /v1/points/42 in 3ms",
                Some("server-error"),
            ),
            ("cache refreshed entries=595", None),
            ("processed 200 jobs in 12 s", None),
        ];
        for (line, want) in cases {
            let got = access_log_status(&parse_plain(line).1);
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn ruby_logger_lines() {
        let l = lines(&[
            "F, [2026-12-01T09:05:00.123456 #1] FATAL -- : [a1b2c3] NoMethodError (undefined method `amount' for nil):",
            "I, [2026-12-01T09:05:01.000001 #1]  INFO -- sidekiq: Booted Rails 7.2.1 application",
            "W, [2026-12-01T09:05:02.5 #7]  WARN -- : flags: fetch failed, retrying",
        ]);
        let r = records(&l);
        let got: Vec<(Level, &str)> = r.iter().map(|r| (r.level, &*r.message)).collect();
        assert_eq!(
            got,
            [
                (
                    Level::Fatal,
                    "[a1b2c3] NoMethodError (undefined method `amount' for nil):"
                ),
                (Level::Info, "Booted Rails 7.2.1 application"),
                (Level::Warn, "flags: fetch failed, retrying"),
            ]
        );
    }

    #[test]
    fn json_pino_numeric_level_and_msg() {
        let l = lines(&[
            r#"{"level":30,"time":1793783246198,"pid":1,"hostname":"catalog-9nhznxclfz-nw72r","msg":"connected to postgres"}"#,
            r#"{"level":50,"time":1,"err":{"type":"TypeError","message":"Cannot read properties of undefined"},"msg":"request failed"}"#,
        ]);
        let r = records(&l);
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].level, &*r[0].message),
            (Level::Info, "connected to postgres")
        );
        assert_eq!(r[1].level, Level::Error);
        assert_eq!(
            r[1].message,
            "request failed: TypeError: Cannot read properties of undefined"
        );
    }

    #[test]
    fn json_tracing_subscriber_nests_the_message_under_fields() {
        let l = lines(&[
            r#"{"timestamp":"2026-12-01T09:00:01.000Z","level":"ERROR","fields":{"message":"redis connection failed: Connection refused (os error 111)","attempt":1},"target":"basket::cache"}"#,
        ]);
        let r = records(&l);
        assert_eq!(r[0].level, Level::Error);
        assert_eq!(
            r[0].message,
            "redis connection failed: Connection refused (os error 111)"
        );
    }

    #[test]
    fn json_zap_string_level_with_error_field() {
        let l = lines(&[
            r#"{"level":"error","ts":1794590704.995434,"caller":"promo/cache.go:142","msg":"failed to refresh promotions cache","attempt":1,"error":"context deadline exceeded"}"#,
        ]);
        let r = records(&l);
        assert_eq!(r[0].level, Level::Error);
        assert_eq!(
            r[0].message,
            "failed to refresh promotions cache: context deadline exceeded"
        );
    }

    #[test]
    fn logfmt_level_msg_and_err() {
        let l = lines(&[
            "ts=2026-11-12T19:00:00.005Z level=info msg=nobid req=3ff84a7e slot=search_top took=3.3ms",
            r#"ts=2026-11-12T19:00:01Z level=error msg="redis pool exhausted" err="dial tcp 10.0.0.1:6379: i/o timeout""#,
        ]);
        let r = records(&l);
        assert_eq!((r[0].level, &*r[0].message), (Level::Info, "nobid"));
        assert_eq!(r[1].level, Level::Error);
        assert_eq!(
            r[1].message,
            "redis pool exhausted: dial tcp 10.0.0.1:6379: i/o timeout"
        );
    }

    #[test]
    fn plain_text_prefixes_are_stripped() {
        let cases = [
            (
                "2026-11-05T09:15:00.528Z  INFO 1 --- [payments-api] [nio-8080-exec-7] c.acme.payments.service.PaymentService   : Payment pay_wgu6 authorized",
                Level::Info,
                "c.acme.payments.service.PaymentService   : Payment pay_wgu6 authorized",
            ),
            (
                "2026-11-08 13:00:12.329  WARN 1 --- [io-8080-exec-18] com.acme.payments.ledger.LedgerClient    : Ledger call slow",
                Level::Warn,
                "com.acme.payments.ledger.LedgerClient    : Ledger call slow",
            ),
            (
                "[2026-11-06 11:38:07 +0000] [1] [INFO] Starting gunicorn 22.0.0",
                Level::Info,
                "Starting gunicorn 22.0.0",
            ),
            (
                "2026-11-06 11:39:55,008 WARNING [reports.export] DataFrame memory usage high",
                Level::Warn,
                "[reports.export] DataFrame memory usage high",
            ),
            (
                "[2026-11-07 16:00:02,476] ERROR django.request: Internal Server Error: /api/v1/orders/",
                Level::Error,
                "django.request: Internal Server Error: /api/v1/orders/",
            ),
            (
                "2026-11-15T09:58:06.004000Z  INFO quote_api: starting quote-api version=0.19.0",
                Level::Info,
                "quote_api: starting quote-api version=0.19.0",
            ),
            (
                "[2026-11-17 11:58:27.015][1][info][main] [source/server/server.cc:426] initializing epoch 0",
                Level::Info,
                "[source/server/server.cc:426] initializing epoch 0",
            ),
            (
                "2026/11/03 14:18:49 [error] 29#29: *1 connect() failed (111: Connection refused)",
                Level::Error,
                "29#29: *1 connect() failed (111: Connection refused)",
            ),
            (
                "E1105 09:13:35.123456       1 reflector.go:138] watch failed",
                Level::Error,
                "watch failed",
            ),
            (
                "2026/11/03 14:18:49 Started server on :8080",
                Level::Unknown,
                "Started server on :8080",
            ),
            (
                "[Nest] 1  - 11/18/2026, 9:58:23 AM     LOG [NestFactory] Starting Nest application...",
                Level::Info,
                "[NestFactory] Starting Nest application...",
            ),
        ];
        for (line, level, message) in cases {
            let l = lines(&[line]);
            let r = records(&l);
            assert_eq!(r.len(), 1, "{line}");
            assert_eq!((r[0].level, &*r[0].message), (level, message), "{line}");
        }
    }

    #[test]
    fn spring_error_with_java_trace_is_one_record() {
        let l = lines(&[
            "2026-11-05T09:13:42.001Z ERROR 1 --- [payments-api] [           main] o.s.boot.SpringApplication               : Application run failed",
            "",
            "org.springframework.beans.factory.UnsatisfiedDependencyException: Error creating bean with name 'paymentController'",
            "\tat org.springframework.beans.factory.support.ConstructorResolver.createArgumentArray(ConstructorResolver.java:795)",
            "\tat org.springframework.beans.factory.support.ConstructorResolver.autowireConstructor(ConstructorResolver.java:237)",
            "Caused by: java.lang.IllegalArgumentException: Could not resolve placeholder 'PAYMENTS_KEY'",
            "\tat org.springframework.core.env.AbstractPropertyResolver.resolveRequiredPlaceholders(AbstractPropertyResolver.java:239)",
            "\t... 52 common frames omitted",
            "\t... 12 more",
            "2026-11-05T09:13:43.001Z  INFO 1 --- [payments-api] [           main] o.s.boot.Other               : next",
        ]);
        let r = records(&l);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].level, Level::Error);
        assert_eq!(
            r[0].message,
            "o.s.boot.SpringApplication               : Application run failed"
        );
        assert_eq!(r[0].span, 9);
        assert!(
            r[0].detail[0]
                .starts_with("org.springframework.beans.factory.UnsatisfiedDependencyException")
        );
        assert!(
            r[0].detail
                .iter()
                .any(|d| d.starts_with("Caused by: java.lang.IllegalArgumentException"))
        );
        assert_eq!(r[1].line, 9);
    }

    #[test]
    fn a_long_java_chain_keeps_its_last_caused_by() {
        let l = lines(&[
            "2026-11-09 08:12:04.311 ERROR [exec-4] c.a.orders.OrderService - order 5521 not saved",
            "org.springframework.dao.DataIntegrityViolationException: could not execute statement",
            "\tat org.springframework.orm.jpa.vendor.HibernateJpaDialect.convertHibernateAccessException(HibernateJpaDialect.java:290)",
            "Caused by: org.hibernate.exception.ConstraintViolationException: could not execute statement",
            "\tat org.hibernate.exception.internal.SQLStateConversionDelegate.convert(SQLStateConversionDelegate.java:95)",
            "\t... 41 more",
            "Caused by: org.hibernate.HibernateException: batch write aborted",
            "\t... 44 more",
            "Caused by: org.postgresql.util.PSQLException: ERROR: duplicate key value violates unique constraint \"orders_ref_key\"",
            "\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:2725)",
            "\t... 48 more",
        ]);
        let r = records(&l);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].detail.len(), MAX_DETAIL);
        assert!(
            r[0].detail[0].starts_with("org.springframework.dao.DataIntegrityViolationException")
        );
        assert!(
            r[0].detail[MAX_DETAIL - 1].starts_with("Caused by: org.postgresql.util.PSQLException"),
            "{:?}",
            r[0].detail
        );
        // A chain that fits keeps every cause.
        let short = lines(&[
            "ERROR job failed",
            "java.lang.IllegalStateException: ledger closed",
            "\tat com.acme.Ledger.append(Ledger.java:12)",
            "Caused by: java.io.IOException: stream closed",
        ]);
        let r = records(&short);
        assert_eq!(
            r[0].detail.last(),
            Some(&"Caused by: java.io.IOException: stream closed")
        );
    }

    #[test]
    fn python_traceback_after_django_error_line() {
        let l = lines(&[
            "[2026-11-07 16:04:22,777] ERROR django.request: Internal Server Error: /api/v1/orders/",
            "Traceback (most recent call last):",
            r#"  File "/usr/local/lib/python3.12/site-packages/django/core/handlers/exception.py", line 55, in inner"#,
            "    response = get_response(request)",
            r#"  File "/app/orders/clients/inventory.py", line 48, in reserve"#,
            "    resp.raise_for_status()",
            "requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: http://inventory/v1/reservations",
            r#"10.42.1.13 - - [07/Nov/2026:16:04:22 +0000] "POST /api/v1/orders/ HTTP/1.1" 500 145 "-" "python-requests/2.32.3" 0.026"#,
        ]);
        let r = records(&l);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].span, 7);
        assert_eq!(r[0].level, Level::Error);
        assert_eq!(
            r[0].message,
            "django.request: Internal Server Error: /api/v1/orders/"
        );
        assert!(
            r[0].detail
                .iter()
                .any(|d| d.starts_with("requests.exceptions.HTTPError: 503"))
        );
    }

    #[test]
    fn bare_python_traceback_takes_the_exception_as_message() {
        let l = lines(&[
            "Traceback (most recent call last):",
            r#"  File "/app/worker.py", line 12, in <module>"#,
            "    main()",
            "KeyError: 'user_id'",
            "2026-11-06 11:40:04,231 INFO [reports.export] next",
        ]);
        let r = records(&l);
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].level, &*r[0].message, r[0].span),
            (Level::Error, "KeyError: 'user_id'", 4)
        );
    }

    #[test]
    fn go_panic_with_goroutine_dump() {
        let l = lines(&[
            r#"{"level":"info","ts":1793810595.427,"caller":"httpapi/server.go:58","msg":"http server listening","addr":":8080"}"#,
            "panic: runtime error: index out of range [4] with length 4",
            "",
            "goroutine 235 [running]:",
            "github.com/acme/inventory/internal/reservation.(*Allocator).pickBin(0xc000aa35d0, {0xc00050cd08, 0x4, 0x5}, 0x8)",
            "\t/src/internal/reservation/allocator.go:142 +0x471",
            "created by github.com/acme/inventory/internal/reservation.Start in goroutine 1",
            "\t/src/internal/reservation/worker.go:46 +0x266",
            "exit status 2",
            r#"{"level":"info","ts":1793810704.425731,"caller":"inventory/main.go:71","msg":"starting inventory"}"#,
        ]);
        let r = records(&l);
        assert_eq!(r.len(), 3, "{r:#?}");
        assert_eq!(r[1].level, Level::Fatal);
        assert_eq!(
            r[1].message,
            "panic: runtime error: index out of range [4] with length 4"
        );
        assert_eq!((r[1].line, r[1].span), (1, 8));
        assert_eq!(r[2].message, "starting inventory");
    }

    #[test]
    fn rust_panic_with_backtrace() {
        let l = lines(&[
            "2026-11-15T10:00:00.623942Z  INFO quote_api: serving",
            "thread 'tokio-runtime-worker' panicked at src/handlers.rs:88:14:",
            "called `Option::unwrap()` on a `None` value",
            "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
            "stack backtrace:",
            "   0: rust_begin_unwind",
            "             at /rustc/abc/library/std/src/panicking.rs:652:5",
            "2026-11-15T10:00:01.000000Z  INFO quote_api: serving",
        ]);
        let r = records(&l);
        assert_eq!(r.len(), 3);
        assert_eq!((r[1].level, r[1].span), (Level::Fatal, 6));
        // Newer Rust prints the thread's id.
        let l2 = lines(&[
            "thread 'main' (4711) panicked at src/ledger.rs:12:9:",
            "attempt to subtract with overflow",
            "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
        ]);
        let r2 = records(&l2);
        assert_eq!((r2.len(), r2[0].level, r2[0].span), (1, Level::Fatal, 3));
        assert_eq!(r2[0].detail[0], "attempt to subtract with overflow");
        assert_eq!(
            r[1].detail[0],
            "called `Option::unwrap()` on a `None` value"
        );
    }

    #[test]
    fn node_error_stacks_alone_and_after_pino_error() {
        let l = lines(&[
            "Error: upstream timeout calling inventory-api after 2000ms (GET http://inventory/v1/stock/batch)",
            "    at Timeout._onTimeout (/app/src/clients/inventory.js:57:18)",
            "    at listOnTimeout (node:internal/timers:594:17)",
            r#"{"level":50,"time":1794306601631,"pid":1,"msg":"checkout failed"}"#,
            "TypeError: Cannot read properties of undefined (reading 'postalCode')",
            "    at validateAddress (/app/dist/checkout/address.js:41:38)",
            "    at async /app/dist/routes/checkout.js:27:21",
            r#"::ffff:10.42.24.183 - - [21/Nov/2026:02:16:28 +0000] "GET /api/wishlist/a5ab HTTP/1.1" 200 867 "-" "okhttp/4.12.0""#,
        ]);
        let r = records(&l);
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].level, r[0].span), (Level::Error, 3));
        assert!(r[0].message.starts_with("Error: upstream timeout"));
        assert_eq!((r[1].message.as_ref(), r[1].span), ("checkout failed", 4));
        assert_eq!(
            r[1].detail[0],
            "TypeError: Cannot read properties of undefined (reading 'postalCode')"
        );
    }

    #[test]
    fn json_error_fields_keep_the_line_that_names_the_failure() {
        let l = lines(&[
            r#"{"event": "unhandled exception", "level": "error", "exception": "Traceback (most recent call last):\n  File \"/app/x.py\", line 3, in f\n    row[\"currency\"]\nKeyError: 'currency'"}"#,
            r#"{"level":"warn","msg":"finished call","grpc.code":"ResourceExhausted","grpc.error":"rpc error: code = ResourceExhausted desc = message larger than max"}"#,
            r#"{"level":30,"msg":"request completed","res":{"statusCode":503}}"#,
            "level=info msg=\"request done\" status=404 path=/x",
        ]);
        let r = records(&l);
        assert_eq!(r[0].message, "unhandled exception: KeyError: 'currency'");
        assert!(
            r[1].message.contains("larger than max")
                && r[1].message.ends_with("[status ResourceExhausted]"),
            "{}",
            r[1].message
        );
        assert_eq!(r[2].message, "request completed [status server-error]");
        assert_eq!(r[3].message, "request done [status client-error]");
    }

    #[test]
    fn dotnet_console_logger_entry_is_one_record() {
        let l = lines(&[
            "2026-11-24T11:05:22.531Z fail: Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware[1]",
            "      An unhandled exception has occurred while executing the request.",
            "      Npgsql.NpgsqlException (0x80004005): Exception while reading from stream",
            "       ---> System.TimeoutException: Timeout during reading attempt",
            "         at Npgsql.Internal.NpgsqlReadBuffer.Ensure(Int32 count)",
            "         --- End of inner exception stack trace ---",
            "         at Acme.Loyalty.Data.MemberRepository.GetBalanceAsync(Int64 memberId) in /src/MemberRepository.cs:line 58",
            "2026-11-24T11:05:22.540Z info: Microsoft.AspNetCore.Hosting.Diagnostics[2]",
            "      Request finished HTTP/1.1 GET http://x/api - 500 - - 29.3483ms",
        ]);
        let r = records(&l);
        assert_eq!(r.len(), 2, "{r:#?}");
        assert_eq!(r[0].level, Level::Error);
        assert_eq!(r[0].span, 7);
        assert!(
            r[0].message.contains("ExceptionHandlerMiddleware"),
            "{}",
            r[0].message
        );
        assert!(
            r[0].message.contains("An unhandled exception"),
            "{}",
            r[0].message
        );
        assert!(
            r[0].detail.iter().any(|d| d.contains("NpgsqlException")),
            "{:?}",
            r[0].detail
        );
        assert_eq!(r[1].level, Level::Info);
        assert!(
            r[1].message.contains("Request finished"),
            "{}",
            r[1].message
        );
    }

    #[test]
    fn dotnet_exception_with_inner_trace() {
        let l = lines(&[
            "fail: Microsoft.AspNetCore.Server.Kestrel[13]",
            "System.InvalidOperationException: Sequence contains no elements",
            "   at System.Linq.ThrowHelper.ThrowNoElementsException()",
            "   at Shop.Api.Controllers.CartController.Get(Int32 id) in /src/Controllers/CartController.cs:line 42",
            "--- End of inner exception stack trace ---",
            "   at Shop.Api.Program.Main(String[] args)",
            "info: Microsoft.Hosting.Lifetime[0]",
        ]);
        let r = records(&l);
        assert_eq!(r.len(), 3, "{r:?}");
        assert_eq!(r[1].level, Level::Error);
        assert_eq!(
            r[1].message,
            "System.InvalidOperationException: Sequence contains no elements"
        );
        assert_eq!(r[1].span, 5);
    }

    #[test]
    fn records_cover_all_real_scenario_lines() -> crate::Result<()> {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../evals/scenarios/tune/public");
        // The scenarios are part of the repository: missing is a failure.
        let entries = std::fs::read_dir(&dir).map_err(|source| crate::Error::Io {
            what: dir.display().to_string(),
            source,
        })?;
        let mut checked = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|source| crate::Error::Io {
                what: path.display().to_string(),
                source,
            })?;
            let doc: Value = serde_json::from_str(&text)?;
            for side in ["canary", "stable"] {
                let pods = doc["logs"][side].as_array().cloned().unwrap_or_default();
                for pod in pods {
                    let lines: Vec<String> = pod["lines"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|l| l.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default();
                    let recs = records(&lines);
                    // Records tile the non-blank lines: in order, no overlap.
                    let mut next = 0;
                    for r in &recs {
                        assert!(r.line >= next && r.span >= 1, "{}", path.display());
                        next = r.line + r.span;
                    }
                    assert!(next <= lines.len());
                    checked += 1;
                }
            }
        }
        assert!(checked > 0);
        Ok(())
    }
}
