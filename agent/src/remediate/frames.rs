//! Stack frames in log traces, mapped to files of the service's repository.
//!
//! A failing request's trace names the code that failed: a file and a line per
//! frame. [`FrameParser::extract`] reads the frames of one folded record (the head line and
//! its continuation lines, as [`crate::logs::record::records`] groups them) for
//! Go, Python, Java/Kotlin, Node, Rust, .NET, Ruby and PHP, innermost first.
//! [`map_path`] finds the repository file a frame's path stands for: images
//! run the code under a prefix (`/app/`, `/src/`, `/var/www/`, a Go module
//! path, `./`), and a JVM frame names a class, whose package is the directory
//! under a source root (`src/main/java/`, `src/main/kotlin/`).
//!
//! [`canary_traces`] keeps the traces only the canary logs: a trace the stable
//! pods log too is not what the release broke.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;
use serde::Serialize;

use crate::evidence::PodLogs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    Go,
    Python,
    Jvm,
    Node,
    Rust,
    Dotnet,
    Ruby,
    Php,
}

/// One frame as the trace prints it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Frame {
    pub runtime: Runtime,
    /// The path as printed (for a JVM frame: `com/acme/Foo.java` built from
    /// the class's package and the file name).
    pub path: String,
    pub line: u32,
    pub function: Option<String>,
}

/// The frame patterns, compiled once per [`FrameParser`].
#[derive(Debug, Clone)]
pub struct FrameParser {
    python: Regex,
    node: Regex,
    jvm: Regex,
    go_file: Regex,
    rust_panic: Regex,
    rust_at: Regex,
    rust_fn: Regex,
    dotnet: Regex,
    ruby: Regex,
    php_frame: Regex,
    php_thrown: Regex,
}

fn caps<'a>(re: &Regex, line: &'a str) -> Option<regex::Captures<'a>> {
    re.captures(line)
}

fn num(s: Option<regex::Match<'_>>) -> Option<u32> {
    s.and_then(|m| m.as_str().parse().ok())
}

impl FrameParser {
    pub fn new() -> crate::error::Result<Self> {
        let re = |p: &str| {
            Regex::new(p)
                .map_err(|e| crate::error::Error::Config(format!("frame pattern {p}: {e}")))
        };
        Ok(FrameParser {
            python: re(r#"^\s*File "([^"]+)", line (\d+)(?:, in (\S+))?"#)?,
            node: re(r"^\s*at (?:(?:async )?(.+?) \()?((?:file://)?[^\s()]+?):(\d+):(\d+)\)?\s*$")?,
            jvm: re(
                r"^\s*at (?:[\w.\-]+/)*([\w$.]+)\.([\w$<>\-]+)\(([\w$\-]+\.(?:java|kt|scala|groovy)):(\d+)\)",
            )?,
            go_file: re(r"^\s+(\S+\.go):(\d+)(?: \+0x[0-9a-f]+)?\s*$")?,
            rust_panic: re(r"panicked at (?:'[^']*', )?([^\s:]+\.rs):(\d+):(\d+)")?,
            rust_at: re(r"^\s+at (\S+\.rs):(\d+)(?::\d+)?\s*$")?,
            rust_fn: re(r"^\s*\d+: (\S+)")?,
            dotnet: re(r"^\s*at (.+?) in (.+?):line (\d+)\s*$")?,
            ruby: re(r"^\s*(?:from )?(\S+\.rb):(\d+):in [`']([^'`]+)'")?,
            php_frame: re(r"^\s*#\d+ (\S+\.php)\((\d+)\): (\S+?)(?:\(|$)")?,
            php_thrown: re(r"(?: in |thrown in )(\S+\.php)(?::| on line )(\d+)")?,
        })
    }

    /// The frames of one record's lines, innermost first.
    pub fn extract<S: AsRef<str>>(&self, lines: &[S]) -> Vec<Frame> {
        let mut out = Vec::new();
        let mut python = Vec::new();
        let mut go_func: Option<String> = None;
        let mut rust_func: Option<String> = None;
        for raw in lines {
            let line = raw.as_ref().trim_end();
            let frame = |runtime, path: &str, line: u32, function: Option<&str>| Frame {
                runtime,
                path: path.to_owned(),
                line,
                function: function.map(str::to_owned),
            };
            if let Some(c) = caps(&self.python, line) {
                if let (Some(p), Some(n)) = (c.get(1), num(c.get(2))) {
                    python.push(frame(
                        Runtime::Python,
                        p.as_str(),
                        n,
                        c.get(3).map(|m| m.as_str()),
                    ));
                }
                continue;
            }
            if let Some(c) = caps(&self.dotnet, line) {
                if let (Some(p), Some(n)) = (c.get(2), num(c.get(3))) {
                    out.push(frame(
                        Runtime::Dotnet,
                        p.as_str(),
                        n,
                        c.get(1).map(|m| m.as_str()),
                    ));
                }
                continue;
            }
            if let Some(c) = caps(&self.jvm, line) {
                if let (Some(class), Some(file), Some(n)) = (c.get(1), c.get(3), num(c.get(4))) {
                    let class = class.as_str();
                    let package = class.rsplit_once('.').map_or("", |(p, _)| p);
                    let path = if package.is_empty() {
                        file.as_str().to_owned()
                    } else {
                        format!("{}/{}", package.replace('.', "/"), file.as_str())
                    };
                    let f = c.get(2).map(|m| format!("{class}.{}", m.as_str()));
                    out.push(frame(Runtime::Jvm, &path, n, f.as_deref()));
                }
                continue;
            }
            if let Some(c) = caps(&self.rust_panic, line) {
                if let (Some(p), Some(n)) = (c.get(1), num(c.get(2))) {
                    out.push(frame(Runtime::Rust, p.as_str(), n, None));
                }
                continue;
            }
            if let Some(c) = caps(&self.rust_at, line) {
                if let (Some(p), Some(n)) = (c.get(1), num(c.get(2))) {
                    let f = rust_func.take();
                    let dup = out.last().is_some_and(|l: &Frame| {
                        l.runtime == Runtime::Rust && l.line == n && same_tail(&l.path, p.as_str())
                    });
                    if dup {
                        if let Some(last) = out.last_mut() {
                            last.function = last.function.take().or(f);
                        }
                    } else {
                        out.push(frame(Runtime::Rust, p.as_str(), n, f.as_deref()));
                    }
                }
                continue;
            }
            if let Some(c) = caps(&self.ruby, line) {
                if let (Some(p), Some(n)) = (c.get(1), num(c.get(2))) {
                    out.push(frame(
                        Runtime::Ruby,
                        p.as_str(),
                        n,
                        c.get(3).map(|m| m.as_str()),
                    ));
                }
                continue;
            }
            if let Some(c) = caps(&self.php_frame, line) {
                if let (Some(p), Some(n)) = (c.get(1), num(c.get(2))) {
                    out.push(frame(
                        Runtime::Php,
                        p.as_str(),
                        n,
                        c.get(3).map(|m| m.as_str()),
                    ));
                }
                continue;
            }
            if let Some(c) = caps(&self.php_thrown, line) {
                if let (Some(p), Some(n)) = (c.get(1), num(c.get(2))) {
                    out.push(frame(Runtime::Php, p.as_str(), n, None));
                }
                continue;
            }
            if let Some(c) = caps(&self.go_file, line) {
                if let (Some(p), Some(n)) = (c.get(1), num(c.get(2))) {
                    out.push(frame(Runtime::Go, p.as_str(), n, go_func.take().as_deref()));
                }
                continue;
            }
            if let Some(c) = caps(&self.node, line) {
                if let (Some(p), Some(n)) = (c.get(2), num(c.get(3))) {
                    let p = p.as_str();
                    if !p.starts_with("node:") && p != "<anonymous>" {
                        out.push(frame(Runtime::Node, p, n, c.get(1).map(|m| m.as_str())));
                    }
                }
                continue;
            }
            let t = line.trim_start();
            if let Some(c) = caps(&self.rust_fn, line) {
                rust_func = c.get(1).map(|m| m.as_str().to_owned());
            } else if !line.starts_with(char::is_whitespace) && t.contains('(') && t.ends_with(')')
            {
                // A Go frame's function line (`pkg.Func(0x3, ...)`) precedes its file line.
                go_func = t.split('(').next().map(str::to_owned);
            }
        }
        // Python prints the innermost frame last.
        python.reverse();
        python.extend(out);
        python
    }
}

fn same_tail(a: &str, b: &str) -> bool {
    let a = a.trim_start_matches("./");
    let b = b.trim_start_matches("./");
    a.ends_with(b) || b.ends_with(a)
}

/// The repository file `frame_path` stands for: a repository path that is
/// the frame's whole path, a suffix of it starting at a `/`, or (for a
/// relative frame path of two or more parts) has it as such a suffix; the
/// closest in length when several do.
/// A frame of library code (site-packages, node_modules, the Rust standard
/// library) matches nothing unless the repository vendors that very path.
pub fn map_path<'a>(frame_path: &str, files: &'a [String]) -> Option<&'a str> {
    let p = frame_path
        .strip_prefix("file://")
        .unwrap_or(frame_path)
        .replace('\\', "/");
    let p = p.trim_start_matches("./");
    // A Windows drive (`C:/src/...`) is one more prefix.
    let p = match p.as_bytes() {
        [d, b':', b'/', ..] if d.is_ascii_alphabetic() => &p[2..],
        _ => p,
    };
    // The frame's path under a prefix (`/app/src/x.js` for `src/x.js`), or
    // (a JVM package path, a relative path of at least two parts) the
    // repository's path under a source root (`src/main/java/com/acme/X.java`).
    let deep = p.split('/').filter(|c| !c.is_empty()).count() >= 2;
    files
        .iter()
        .filter(|f| {
            p == f.as_str()
                || p.ends_with(&format!("/{f}"))
                || (deep && !p.starts_with('/') && f.ends_with(&format!("/{p}")))
        })
        .min_by_key(|f| (f.len().abs_diff(p.len()), f.as_str()))
        .map(String::as_str)
}

/// A frame mapped to a repository file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MappedFrame {
    pub path: String,
    pub line: u32,
    pub function: Option<String>,
    pub runtime: Runtime,
    /// 0 for the innermost frame in the repository's code, then outwards.
    pub depth: usize,
}

/// One distinct trace of the canary's failing records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    /// The record's head line (first line of the trace).
    pub head: String,
    /// Every frame, innermost first.
    pub frames: Vec<Frame>,
    /// How many canary records carried this trace.
    pub count: usize,
}

fn traces_of(parser: &FrameParser, pods: &[PodLogs]) -> BTreeMap<Vec<Frame>, (String, usize)> {
    let mut out: BTreeMap<Vec<Frame>, (String, usize)> = BTreeMap::new();
    for pod in pods {
        for r in crate::logs::record::records(&pod.lines) {
            let end = (r.line + r.span).min(pod.lines.len());
            let Some(lines) = pod.lines.get(r.line..end) else {
                continue;
            };
            let frames = parser.extract(lines);
            if frames.is_empty() {
                continue;
            }
            let e = out
                .entry(frames)
                .or_insert_with(|| (lines.first().cloned().unwrap_or_default(), 0));
            e.1 += 1;
        }
    }
    out
}

/// Traces in the canary's logs that the stable pods never logged, most
/// frequent first.
pub fn canary_traces(parser: &FrameParser, canary: &[PodLogs], stable: &[PodLogs]) -> Vec<Trace> {
    let stable: BTreeSet<Vec<Frame>> = traces_of(parser, stable).into_keys().collect();
    let mut out: Vec<Trace> = traces_of(parser, canary)
        .into_iter()
        .filter(|(f, _)| !stable.contains(f))
        .map(|(frames, (head, count))| Trace {
            head,
            frames,
            count,
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.head.cmp(&b.head)));
    out
}

/// The frames of `traces` that map to `files`, each (file, line) once, at the
/// shallowest depth it was seen. Depth counts only mapped frames: library
/// frames above the service's code do not push it outwards.
pub fn map_traces(traces: &[Trace], files: &[String]) -> Vec<MappedFrame> {
    let mut best: BTreeMap<(String, u32), MappedFrame> = BTreeMap::new();
    for t in traces {
        let mut depth = 0;
        for f in &t.frames {
            let Some(path) = map_path(&f.path, files) else {
                continue;
            };
            let key = (path.to_owned(), f.line);
            let keep = best.get(&key).is_none_or(|m| m.depth > depth);
            if keep {
                best.insert(
                    key,
                    MappedFrame {
                        path: path.to_owned(),
                        line: f.line,
                        function: f.function.clone(),
                        runtime: f.runtime,
                        depth,
                    },
                );
            }
            depth += 1;
        }
    }
    let mut out: Vec<MappedFrame> = best.into_values().collect();
    out.sort_by(|a, b| {
        a.depth
            .cmp(&b.depth)
            .then_with(|| a.path.cmp(&b.path))
            .then(a.line.cmp(&b.line))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract(lines: &[&str]) -> Vec<Frame> {
        FrameParser::new().unwrap().extract(lines)
    }

    fn files(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn at(frames: &[Frame]) -> Vec<(String, u32)> {
        frames.iter().map(|f| (f.path.clone(), f.line)).collect()
    }

    fn pl(v: &[(&str, u32)]) -> Vec<(String, u32)> {
        v.iter().map(|(p, n)| ((*p).to_owned(), *n)).collect()
    }

    #[test]
    fn python_traceback_innermost_first() {
        let t = [
            "ERROR invoice.http: POST /invoices 500 id=inv-006",
            "Traceback (most recent call last):",
            "  File \"/app/serve.py\", line 19, in main",
            "    out = service.handle(req)",
            "  File \"/app/invoice/totals.py\", line 17, in average_line",
            "    return subtotal(lines) // count",
            "ZeroDivisionError: integer division or modulo by zero",
        ];
        let f = extract(&t);
        assert_eq!(
            at(&f),
            pl(&[("/app/invoice/totals.py", 17), ("/app/serve.py", 19)])
        );
        assert_eq!(f[0].function.as_deref(), Some("average_line"));
        let repo = files(&["invoice/totals.py", "serve.py", "tests/test_totals.py"]);
        assert_eq!(map_path(&f[0].path, &repo), Some("invoice/totals.py"));
        assert_eq!(
            map_path(
                "/usr/lib/python3.11/logging/__init__.py",
                &files(&["notify/__init__.py"])
            ),
            None,
            "a library file with the same name is not the repository's"
        );
    }

    #[test]
    fn node_frames_skip_internals() {
        let t = [
            "TypeError: Cannot read properties of undefined (reading 'cents')",
            "    at priceOf (/app/src/prices.js:15:16)",
            "    at async Promise.all (index 0)",
            "    at /app/server.js:10:19",
            "    at Module._compile (node:internal/modules/cjs/loader:1521:14)",
            "    at Date.toISOString (<anonymous>)",
            "    at file:///app/src/esm.mjs:3:9",
        ];
        let f = extract(&t);
        assert_eq!(
            at(&f),
            pl(&[
                ("/app/src/prices.js", 15),
                ("/app/server.js", 10),
                ("file:///app/src/esm.mjs", 3)
            ])
        );
        assert_eq!(f[0].function.as_deref(), Some("priceOf"));
        let repo = files(&["src/prices.js", "server.js", "src/esm.mjs"]);
        assert_eq!(map_path(&f[2].path, &repo), Some("src/esm.mjs"));
    }

    #[test]
    fn jvm_frames_map_packages_under_a_source_root() {
        let t = [
            "java.lang.NumberFormatException: Cannot parse null string",
            "\tat java.base/java.lang.Integer.parseInt(Integer.java:630)",
            "\tat com.acme.inventory.Config.threshold(Config.java:20)",
            "\tat com.acme.inventory.Reorder$1.run(Reorder.kt:12)",
            "\t... 3 more",
        ];
        let f = extract(&t);
        assert_eq!(
            at(&f),
            pl(&[
                ("java/lang/Integer.java", 630),
                ("com/acme/inventory/Config.java", 20),
                ("com/acme/inventory/Reorder.kt", 12)
            ])
        );
        assert_eq!(
            f[1].function.as_deref(),
            Some("com.acme.inventory.Config.threshold")
        );
        let repo = files(&[
            "src/main/java/com/acme/inventory/Config.java",
            "src/main/kotlin/com/acme/inventory/Reorder.kt",
        ]);
        assert_eq!(
            map_path(&f[1].path, &repo),
            Some("src/main/java/com/acme/inventory/Config.java")
        );
        assert_eq!(
            map_path(&f[2].path, &repo),
            Some("src/main/kotlin/com/acme/inventory/Reorder.kt")
        );
        assert_eq!(map_path(&f[0].path, &repo), None);
    }

    #[test]
    fn go_panic_frames_with_module_prefixes() {
        let t = [
            "panic: runtime error: index out of range [3] with length 3",
            "",
            "goroutine 42 [running]:",
            "github.com/acme/cart/internal/pricing.DiscountFor(...)",
            "\t/src/internal/pricing/discount.go:10",
            "main.total({0x7a1d40, 0xc0001a2000}, 0xc0001b4000)",
            "\t/src/main.go:37 +0x1b8",
            "net/http.HandlerFunc.ServeHTTP(0x0?, {0x7a1d40?, 0xc0001a2000?}, 0x0?)",
            "\t/usr/local/go/src/net/http/server.go:2220 +0x29",
        ];
        let f = extract(&t);
        assert_eq!(f.len(), 3);
        assert_eq!(
            f[0].function.as_deref(),
            Some("github.com/acme/cart/internal/pricing.DiscountFor")
        );
        let repo = files(&["internal/pricing/discount.go", "main.go"]);
        assert_eq!(
            map_path(&f[0].path, &repo),
            Some("internal/pricing/discount.go")
        );
        assert_eq!(map_path(&f[1].path, &repo), Some("main.go"));
        assert_eq!(map_path(&f[2].path, &repo), None);
        // A module path in the file line (built with -trimpath).
        assert_eq!(
            map_path("github.com/acme/cart/internal/pricing/discount.go", &repo),
            Some("internal/pricing/discount.go")
        );
    }

    #[test]
    fn rust_panic_and_backtrace_are_one_frame_each() {
        let t = [
            "thread 'main' (7471) panicked at src/ledger.rs:21:9:",
            "attempt to subtract with overflow",
            "stack backtrace:",
            "   2: core::panicking::panic_const::panic_const_sub_overflow",
            "             at /rustc/5980761/library/core/src/panicking.rs:175:17",
            "   3: ledger::ledger::Account::withdraw",
            "             at ./src/ledger.rs:21:9",
            "   4: ledger::main",
            "             at ./src/main.rs:10:23",
        ];
        let f = extract(&t);
        assert_eq!(
            at(&f),
            pl(&[
                ("src/ledger.rs", 21),
                ("/rustc/5980761/library/core/src/panicking.rs", 175),
                ("./src/ledger.rs", 21),
                ("./src/main.rs", 10)
            ])
        );
        let repo = files(&["src/ledger.rs", "src/main.rs"]);
        let traces = [Trace {
            head: t[0].into(),
            frames: f,
            count: 1,
        }];
        let m = map_traces(&traces, &repo);
        assert_eq!(
            m.iter()
                .map(|m| (m.path.as_str(), m.line, m.depth))
                .collect::<Vec<_>>(),
            [("src/ledger.rs", 21, 0), ("src/main.rs", 10, 2)],
            "the panic line and its backtrace frame are one (file, line)"
        );
        // The old panic format.
        let f = extract(&["thread 'main' panicked at 'boom', src/lib.rs:3:5"]);
        assert_eq!(at(&f), pl(&[("src/lib.rs", 3)]));
    }

    #[test]
    fn dotnet_ruby_and_php_frames() {
        let t = [
            "System.NullReferenceException: Object reference not set to an instance of an object.",
            "   at Acme.Cart.Pricing.Total(Int32 n) in /src/Acme.Cart/Pricing.cs:line 42",
            "   at Acme.Cart.Program.Main() in C:\\build\\Acme.Cart\\Program.cs:line 7",
        ];
        let f = extract(&t);
        assert_eq!(
            f[0].function.as_deref(),
            Some("Acme.Cart.Pricing.Total(Int32 n)")
        );
        let repo = files(&["Acme.Cart/Pricing.cs", "Acme.Cart/Program.cs"]);
        assert_eq!(map_path(&f[0].path, &repo), Some("Acme.Cart/Pricing.cs"));
        assert_eq!(map_path(&f[1].path, &repo), Some("Acme.Cart/Program.cs"));

        let t = [
            "/app/lib/cart.rb:12:in `total': undefined method `price' for nil:NilClass (NoMethodError)",
            "\tfrom /app/lib/cart.rb:30:in 'block in checkout'",
            "\tfrom /usr/local/bundle/gems/rack-3.0.0/lib/rack.rb:5:in `call'",
        ];
        let f = extract(&t);
        assert_eq!(
            at(&f)[..2],
            pl(&[("/app/lib/cart.rb", 12), ("/app/lib/cart.rb", 30)])
        );
        assert_eq!(f[0].function.as_deref(), Some("total"));
        assert_eq!(map_path(&f[2].path, &files(&["lib/cart.rb"])), None);

        let t = [
            "PHP Fatal error:  Uncaught TypeError: Cart::total(): Argument #1 must be of type array in /var/www/src/Cart.php:42",
            "Stack trace:",
            "#0 /var/www/src/Checkout.php(17): Cart->total(NULL)",
            "#1 {main}",
        ];
        let f = extract(&t);
        assert_eq!(
            at(&f),
            pl(&[
                ("/var/www/src/Cart.php", 42),
                ("/var/www/src/Checkout.php", 17)
            ])
        );
        assert_eq!(f[1].function.as_deref(), Some("Cart->total"));
        let repo = files(&["src/Cart.php", "src/Checkout.php"]);
        assert_eq!(map_path(&f[0].path, &repo), Some("src/Cart.php"));
    }

    #[test]
    fn only_canary_traces_count() {
        let pod = |name: &str, lines: &[&str]| PodLogs {
            pod: name.into(),
            lines: lines.iter().map(|s| (*s).to_owned()).collect(),
            sources: Vec::new(),
        };
        let old = [
            "ERROR app: retry",
            "Traceback (most recent call last):",
            "  File \"/app/a.py\", line 3, in f",
            "    x()",
            "ValueError: old",
        ];
        let new = [
            "ERROR app: boom",
            "Traceback (most recent call last):",
            "  File \"/app/b.py\", line 9, in g",
            "    y()",
            "KeyError: 'k'",
        ];
        let canary = [pod("c", &[&old[..], &new[..], &new[..]].concat())];
        let stable = [pod("s", &old)];
        let t = canary_traces(&FrameParser::new().unwrap(), &canary, &stable);
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!((t[0].frames[0].path.as_str(), t[0].count), ("/app/b.py", 2));
    }
}
