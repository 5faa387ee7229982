//! Failure classes beyond level words: what a log record says happened, read
//! from its words and its structure (a stack trace, a panic header), whatever
//! level it was logged at. A service that logs `checksum mismatch` at WARN has
//! still lost data; a Java exception with `at ...` frames is a crash of the
//! request however the logger labels it.
//!
//! The lexicon is small and general on purpose: words and structures every
//! runtime uses, never one service's strings. The README's "Failure classes"
//! table lists it for users.

use serde::{Deserialize, Serialize};

/// One failure class, most severe first (the order [`classify`] prefers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureClass {
    /// A process, thread or request died on an unhandled error: a stack trace of
    /// any runtime, a panic, a segfault.
    Crash,
    /// Data read back differs from what was written: checksums, corruption,
    /// quarantined records, data loss.
    DataIntegrity,
    /// A resource ran out: memory, file descriptors, a connection pool, disk, quota.
    ResourceExhaustion,
    /// Trust failed: TLS/x509, certificates, authentication and authorization.
    Security,
    /// Something the service calls is not there: refused/reset connections,
    /// DNS failures, timeouts and 503s from upstream.
    Dependency,
}

impl FailureClass {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Crash => "crash",
            FailureClass::DataIntegrity => "data-integrity",
            FailureClass::ResourceExhaustion => "resource-exhaustion",
            FailureClass::Security => "security",
            FailureClass::Dependency => "dependency",
        }
    }

    /// Whether one novel occurrence is already a failure of the new version, so
    /// that no count threshold applies: a crash with a trace is a code path
    /// that dies, and any data that fails its own integrity check is lost data.
    /// The other classes are often caused by the environment (a dependency that
    /// restarts, a token that expires) and need a meaningful rate.
    pub fn needs_no_count(self) -> bool {
        matches!(self, FailureClass::Crash | FailureClass::DataIntegrity)
    }
}

/// Markers that mean a crash on their own (lowercase, substring match on a line).
const CRASH_MARKERS: [&str; 30] = [
    "traceback (most recent call last)",
    "exception in thread \"",
    "panicked at",
    "goroutine ",
    "unhandled exception",
    "unhandledpromiserejection",
    "unhandled rejection",
    "unhandledrejection",
    "uncaught exception",
    "uncaughtexception",
    "php fatal error",
    "fatal error:",
    "** (exit)",
    "segmentation fault",
    "sigsegv",
    "stack overflow",
    "core dumped",
    // Go's panic head line alone (when the goroutine dump was cut), Java's
    // StackOverflowError, Rust's stack overflow, Elixir/Erlang exits and
    // crash reports, native aborts and fatal signals.
    "panic: ",
    "stackoverflowerror",
    "has overflowed its stack",
    "** (",
    "crash report",
    "fatal python error",
    "terminate called after throwing",
    "double free",
    "free(): invalid",
    "sigabrt",
    "sigbus",
    "sigill",
    "sigfpe",
];

/// Words that name lost or corrupted data on their own.
const INTEGRITY_WORDS: [&str; 5] = [
    "corrupt",
    "quarantine",
    "data loss",
    "lost write",
    "torn write",
];

/// Things that are checked against what was written: they mean lost data only
/// next to a word of failure ([`FAILED_WORDS`]): `checksum verified` is routine.
const INTEGRITY_CHECKS: [&str; 11] = [
    "checksum",
    "sha256",
    "crc",
    "digest",
    "hash",
    "md5",
    "sha",
    "integrity",
    "read-back",
    "readback",
    "verification",
];

/// Words of failure that turn a check into a failed check.
const FAILED_WORDS: [&str; 6] = ["mismatch", "failed", "failure", "invalid", "bad", "differs"];

const RESOURCE_WORDS: [&str; 20] = [
    "out of memory",
    "outofmemoryerror",
    "oom",
    "oomkilled",
    "memoryerror",
    "heap space",
    "too many open files",
    "emfile",
    "pool exhausted",
    "exhausted",
    "no space left",
    "enospc",
    "quota exceeded",
    "resourceexhausted",
    "cannot allocate memory",
    "gc overhead limit",
    "heap limit",
    "too many clients",
    "too many connections",
    "connection is not available",
];

const SECURITY_WORDS: [&str; 19] = [
    "x509",
    "pkix",
    "certificate",
    "tls handshake",
    "handshake failed",
    "handshake failure",
    "unauthorized",
    "forbidden",
    "permission denied",
    "access denied",
    "authentication failed",
    "invalid token",
    "token expired",
    "token has expired",
    "expired token",
    "jwt expired",
    "invalid credentials",
    "bad credentials",
    "certificate verify failed",
];

const DEPENDENCY_WORDS: [&str; 28] = [
    "connection refused",
    "econnrefused",
    "connection reset",
    "econnreset",
    "no such host",
    "nxdomain",
    "name resolution",
    "could not resolve",
    "getaddrinfo",
    "timed out",
    "timeout",
    "deadline exceeded",
    "service unavailable",
    "upstream connect error",
    "broken pipe",
    "dial tcp",
    // Exception names and runtime phrasings of the same failures: Python's
    // ConnectionRefusedError and asyncio's "Connect call failed", Java's
    // java.net.ConnectException, errno names, and the usual verbs.
    "connectionrefused",
    "connectionreset",
    "connectexception",
    "connect call failed",
    "failed to connect",
    "could not connect",
    "unable to connect",
    "cannot connect",
    "unreachable",
    "ehostunreach",
    "enetunreach",
    "connection aborted",
];

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `needle` (lowercase) occurs in `hay` (lowercase) starting on a word
/// boundary; `corrupt` matches `corrupted`, `oom` does not match `room`.
pub(crate) fn has_word_start(hay: &str, needle: &str) -> bool {
    let h = hay.as_bytes();
    hay.match_indices(needle)
        .any(|(start, _)| start == 0 || !is_word_byte(h[start - 1]))
}

/// A lexicon term in a lowercase line: stems (`corrupt`, `quarantine`) match
/// longer words; short terms (`oom`, `sha`, `bad`) must be whole words.
fn has_term(hay: &str, term: &str) -> bool {
    if term.len() <= 4 {
        has_word(hay, term)
    } else {
        has_word_start(hay, term)
    }
}

/// Whether `needle` occurs on word boundaries on both sides.
fn has_word(hay: &str, needle: &str) -> bool {
    let h = hay.as_bytes();
    hay.match_indices(needle).any(|(start, m)| {
        let end = start + m.len();
        (start == 0 || !is_word_byte(h[start - 1])) && (end == h.len() || !is_word_byte(h[end]))
    })
}

/// A stack frame line of a common runtime: Java/Kotlin/.NET/Node `at x.y(...)`,
/// Python `File "...", line N`, Ruby `from x.rb:12:in`, Go `\t/src/x.go:12 +0x1f`,
/// Elixir `(app 1.0) lib/x.ex:12: ...`.
fn is_frame(line: &str) -> bool {
    let t = line.trim_start();
    (t.starts_with("at ") && (t.contains('(') || t.contains(':')))
        || (t.starts_with("File \"") && t.contains(", line "))
        || (t.starts_with("from ") && t.contains(".rb:"))
        || (t.starts_with('/') && t.contains(".go:"))
        || (t.starts_with('(') && t.contains(".ex:"))
}

/// An exception or error class name: `NullPointerException`, `TypeError`,
/// `NoMethodError`, `System.InvalidOperationException`.
pub fn names_exception(line: &str) -> bool {
    exception_names(line).next().is_some()
}

/// The exception or error class names a line names, in order.
pub fn exception_names(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| {
            t.len() > 5
                && t.starts_with(|c: char| c.is_ascii_uppercase())
                && (t.ends_with("Exception") || t.ends_with("Error"))
        })
}

/// The most severe class the lines of one record (its template, then its detail
/// lines) show, if any. A crash needs structure: a crash marker, a `panic:`
/// header, or an exception class name together with a stack frame.
pub fn classify<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<FailureClass> {
    classes(lines).first().copied()
}

/// The classes of a record logged at error level or above: as [`classes`], and
/// a record that names an exception or error class (`NullPointerException`,
/// `KeyError`) but no other class is a crash even without a trace: a logger
/// configured to print one line per error still reports an unhandled error of
/// a code path. Below error level, a named exception is routine (a retry, a
/// handled validation failure) and needs the structure of a trace.
pub fn classes_at_error_level<'a>(
    lines: impl IntoIterator<Item = &'a str> + Clone,
) -> Vec<FailureClass> {
    let mut found = classes(lines.clone());
    if found.is_empty() && lines.into_iter().any(names_exception) {
        found.push(FailureClass::Crash);
    }
    found
}

/// Every class the lines of one record show, most severe first (a Java
/// `ConnectException` with frames is both a crash and a dependency failure).
pub fn classes<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<FailureClass> {
    let mut found: Vec<FailureClass> = Vec::new();
    let mut exception = false;
    let mut frame = false;
    let better = |c: FailureClass, found: &mut Vec<FailureClass>| {
        if !found.contains(&c) {
            found.push(c);
        }
    };
    for line in lines {
        let lower = line.to_lowercase();
        exception |= names_exception(line);
        frame |= is_frame(line);
        let t = lower.trim_start();
        if CRASH_MARKERS.iter().any(|m| lower.contains(m))
            || t.starts_with("panic:")
            || (t.contains("genserver") && t.contains("terminating"))
        {
            better(FailureClass::Crash, &mut found);
        }
        let lists: [(&[&str], FailureClass); 4] = [
            (&INTEGRITY_WORDS, FailureClass::DataIntegrity),
            (&RESOURCE_WORDS, FailureClass::ResourceExhaustion),
            (&SECURITY_WORDS, FailureClass::Security),
            (&DEPENDENCY_WORDS, FailureClass::Dependency),
        ];
        for (words, class) in lists {
            if words.iter().any(|w| has_term(&lower, w)) {
                better(class, &mut found);
            }
        }
        if INTEGRITY_CHECKS.iter().any(|w| has_term(&lower, w))
            && FAILED_WORDS.iter().any(|w| has_term(&lower, w))
        {
            better(FailureClass::DataIntegrity, &mut found);
        }
    }
    if exception && frame {
        better(FailureClass::Crash, &mut found);
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(lines: &[&str]) -> Option<FailureClass> {
        classify(lines.iter().copied())
    }

    #[test]
    fn a_record_shows_every_class_it_names_most_severe_first() {
        let lines = [
            "WARN o.f.c.i.j.JdbcUtils : Connection error: Connection to 127.0.0.1:5432 refused",
            "org.postgresql.util.PSQLException: Connection to 127.0.0.1:5432 refused.",
            "\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:346)",
            "Caused by: java.net.ConnectException: Connection refused",
        ];
        assert_eq!(
            classes(lines),
            vec![FailureClass::Crash, FailureClass::Dependency]
        );
        assert_eq!(classify(lines), Some(FailureClass::Crash));
        assert!(classes(["user 7 logged in"]).is_empty());
    }

    #[test]
    fn a_named_exception_at_error_level_is_a_crash_without_a_trace() {
        let npe = [
            "ERROR c.a.p.RefundService : refund failed: java.lang.NullPointerException: Cannot invoke \"Currency.getCode()\"",
        ];
        assert_eq!(classes(npe), vec![]);
        assert_eq!(classes_at_error_level(npe), vec![FailureClass::Crash]);
        // A named exception that says what failed keeps that class.
        let timeout = ["ERROR ledger call failed: java.net.SocketTimeoutException: Read timed out"];
        assert_eq!(
            classes_at_error_level(timeout),
            vec![FailureClass::Dependency]
        );
        assert!(classes_at_error_level(["ERROR payment declined by issuer"]).is_empty());
    }

    #[test]
    fn crashes_of_many_runtimes() {
        let cases: [&[&str]; 19] = [
            &[
                "o.a.c.c.C.[dispatcherServlet] : Servlet.service() threw exception",
                "java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"s\" is null",
                "\tat com.acme.cart.CartService.total(CartService.java:88)",
            ],
            &[
                "Traceback (most recent call last):",
                "  File \"/app/worker.py\", line 12, in <module>",
                "KeyError: 'user_id'",
            ],
            &[
                "panic: runtime error: invalid memory address or nil pointer dereference",
                "goroutine 1 [running]:",
            ],
            &["thread 'tokio-runtime-worker' panicked at src/handlers.rs:88:14:"],
            &[
                "TypeError: Cannot read properties of undefined (reading 'id')",
                "    at handler (/app/dist/routes/cart.js:41:38)",
            ],
            &[
                "[UnhandledPromiseRejection: This error originated either by throwing inside of an async function]",
            ],
            &[
                "Unhandled exception. System.InvalidOperationException: Sequence contains no elements",
                "   at Shop.Api.Program.Main(String[] args)",
            ],
            &[
                "NoMethodError (undefined method `name' for nil:NilClass):",
                "app/controllers/orders_controller.rb:12:in `show'",
                "from /usr/lib/ruby/3.2.0/webrick.rb:10:in `x'",
            ],
            &[
                "PHP Fatal error:  Uncaught Error: Call to a member function get() on null in /var/www/src/Cart.php:41",
            ],
            &[
                "[error] GenServer MyApp.Worker terminating",
                "** (EXIT) an exception was raised:",
            ],
            &["panic: assignment to entry in nil map"],
            &["Exception java.lang.StackOverflowError"],
            &["thread 'main' has overflowed its stack"],
            &["** (RuntimeError) boom"],
            &["=CRASH REPORT==== 7-Dec-2026::10:00:00.000000 ==="],
            &["Fatal Python error: Segmentation fault"],
            &["terminate called after throwing an instance of 'std::out_of_range'"],
            &["double free or corruption (out)"],
            &[
                "WARNING: [pool www] child 41 exited on signal 6 (SIGABRT) after 12.3 seconds from start",
            ],
        ];
        for lines in cases {
            assert_eq!(class(lines), Some(FailureClass::Crash), "{lines:?}");
        }
    }

    #[test]
    fn an_exception_name_without_a_trace_is_not_a_crash() {
        assert_ne!(
            class(&["WARN retrying after IOException from peer"]),
            Some(FailureClass::Crash)
        );
    }

    #[test]
    fn data_integrity_in_several_stacks() {
        let cases = [
            "WARN  c.a.s.BlobStore : checksum mismatch on read-back for block 8812",
            "level=warn msg=\"integrity check failed\" segment=000123",
            "2026-11-22 10:00:01,123 WARNING [store] CRC mismatch in page 77, page quarantined",
            "E1122 10:00:01.123456 1 wal.go:88] WAL segment corrupted at offset 4096",
            r#"{"level":"warn","msg":"sha256 digest mismatch after upload","key":"a/b"}"#,
            "[2026-11-22T10:00:01Z WARN  store::engine] possible data loss: 3 rows missing after compaction",
        ];
        for l in cases {
            assert_eq!(class(&[l]), Some(FailureClass::DataIntegrity), "{l}");
        }
    }

    #[test]
    fn resource_exhaustion_in_several_stacks() {
        let cases = [
            "java.lang.OutOfMemoryError: Java heap space",
            "accept tcp [::]:8080: accept4: too many open files",
            "HikariPool-1 - Connection is not available, request timed out; pool exhausted",
            "OSError: [Errno 28] No space left on device: '/tmp/upload'",
            "rpc error: code = ResourceExhausted desc = quota exceeded for project",
            "fatal: runtime: out of memory",
            "psycopg2.OperationalError: FATAL:  sorry, too many clients already",
            "HikariPool-1 - Connection is not available, request timed out after 30000ms.",
            "mmap failed: Cannot allocate memory",
        ];
        for l in cases {
            assert_eq!(class(&[l]), Some(FailureClass::ResourceExhaustion), "{l}");
        }
    }

    #[test]
    fn security_in_several_stacks() {
        let cases = [
            "x509: certificate signed by unknown authority",
            "javax.net.ssl.SSLHandshakeException: PKIX path building failed",
            "level=error msg=\"request rejected\" reason=unauthorized",
            "open /etc/secrets/key.pem: permission denied",
            "WARN auth: authentication failed for client svc-orders",
            "TokenExpiredError: jwt expired",
            "upstream said: Bad credentials",
        ];
        for l in cases {
            assert_eq!(class(&[l]), Some(FailureClass::Security), "{l}");
        }
    }

    #[test]
    fn dependency_in_several_stacks() {
        let cases = [
            "dial tcp 10.0.0.7:5432: connect: connection refused",
            "Error: connect ECONNREFUSED 127.0.0.1:6379",
            "psycopg2.OperationalError: could not translate host name: Name resolution failure",
            "upstream connect error or disconnect/reset before headers",
            "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
            "lookup inventory.svc: no such host",
            "ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 6432)",
            "Caused by: java.net.ConnectException: Connection refused",
            "redis.exceptions.ConnectionError: Error 113 connecting to redis:6379. No route to host. EHOSTUNREACH",
            "Failed to connect to broker at kafka-0.kafka:9092",
            "network is unreachable",
        ];
        for l in cases {
            assert_eq!(class(&[l]), Some(FailureClass::Dependency), "{l}");
        }
    }

    #[test]
    fn routine_lines_have_no_class() {
        let cases = [
            "GET /api/v1/orders 200 12ms",
            "cache hit ratio 0.93 in room 12",
            "Started server on :8080",
            "INFO scheduler: job finished in 120 ms",
            "checksum verified for 120 blocks",
            "shard rebalance failed, retrying",
            "hashmap resize took 3 ms",
        ];
        for l in cases {
            assert_eq!(class(&[l]), None, "{l}");
        }
    }

    #[test]
    fn the_most_severe_class_wins() {
        assert_eq!(
            class(&["checksum mismatch after connection reset"]),
            Some(FailureClass::DataIntegrity)
        );
    }
}
