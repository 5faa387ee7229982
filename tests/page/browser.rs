//! The pages in a real browser: headless Chromium (Debian's `chromium`,
//! installed by scripts/setup.sh) loads them from a loopback server. The DOM
//! must hold the charts and no script; the console must be free of errors
//! and CSP violations (checked against a control page that does violate the
//! policy, so the check itself is known to work); a screenshot of a failing
//! canary's page is taken (committed as docs/verdict-page.png with
//! UPDATE_DOCS=1). Without Chromium the test fails (never skips), naming
//! the install step.

// The test reports what it measured (or, when a component is missing, which install step to run).
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::{SCRIPT_EXEMPLAR, app, store};
use crate::cli::repo_path;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ROLLWISE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

/// Chromium with the flags of a quiet, offline, single-use profile.
fn run_chromium(bin: &Path, profile: &Path, extra: &[&str], url: &str) -> Output {
    let out = Command::new("timeout")
        .arg("120")
        .arg(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Console messages that mean something is wrong: script errors, CSP
/// violations, resources refused or not found.
fn console_errors(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("console")
                && (l.contains("uncaught")
                    || l.contains("refused")
                    || l.contains("content security policy")
                    || l.contains("failed to load")
                    || l.contains("error"))
        })
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_in_headless_chromium_without_console_errors() {
    let Some(bin) = chromium() else {
        crate::cli::missing("chromium (Debian package chromium)");
    };
    // The page router, plus a control page that breaks the same policy: an
    // inline script and a style sheet whose hash the policy does not name.
    let csp = rollwise::page::content_security_policy();
    let control = get(move || {
        let csp = csp.clone();
        async move {
            (
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static("text/html")),
                    (header::CONTENT_SECURITY_POLICY, HeaderValue::from_str(&csp).unwrap()),
                ],
                "<!doctype html><html><head><style>body{color:red}</style></head><body><script>document.title='ran'</script>control</body></html>",
            )
                .into_response()
        }
    });
    let routes = app(store()).route("/csp-control", control);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, routes).await.unwrap() });
    let base = format!("http://{addr}");
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("verdict-page.png");

    let (control, failing, hostile, list, screenshot) = {
        let (bin, tmp_path, shot) = (bin.clone(), tmp.path().to_owned(), shot.clone());
        tokio::task::spawn_blocking(move || {
            let profile = |n: &str| tmp_path.join(n);
            let control = run_chromium(
                &bin,
                &profile("c"),
                &["--dump-dom"],
                &format!("{base}/csp-control"),
            );
            let failing = run_chromium(
                &bin,
                &profile("f"),
                &["--dump-dom"],
                &format!("{base}/analyses/p05-oom"),
            );
            let hostile = run_chromium(
                &bin,
                &profile("h"),
                &["--dump-dom"],
                &format!("{base}/analyses/hostile"),
            );
            let list = run_chromium(
                &bin,
                &profile("l"),
                &["--dump-dom"],
                &format!("{base}/analyses"),
            );
            let screenshot = run_chromium(
                &bin,
                &profile("s"),
                &[
                    &format!("--screenshot={}", shot.display()),
                    "--window-size=1280,2200",
                    "--hide-scrollbars",
                ],
                &format!("{base}/analyses/p05-oom"),
            );
            (control, failing, hostile, list, screenshot)
        })
        .await
        .unwrap()
    };
    server.abort();

    // The detector works: the control page's violations are reported.
    let control_err = String::from_utf8_lossy(&control.stderr);
    assert!(
        !console_errors(&control_err).is_empty(),
        "the CSP control page should log violations; chromium said:\n{control_err}"
    );
    assert!(
        !String::from_utf8_lossy(&control.stdout).contains("<title>ran</title>"),
        "the control page's inline script must not have run"
    );

    for (name, out) in [
        ("failing canary", &failing),
        ("hostile", &hostile),
        ("list", &list),
        ("screenshot", &screenshot),
    ] {
        let err = String::from_utf8_lossy(&out.stderr);
        let errors = console_errors(&err);
        assert!(
            errors.is_empty(),
            "{name}: console errors:\n{}",
            errors.join("\n")
        );
    }

    let dom = String::from_utf8_lossy(&failing.stdout);
    assert_eq!(
        dom.matches("<svg class=\"chart\"").count(),
        3,
        "one chart per metric in the DOM"
    );
    assert_eq!(
        dom.matches("<polyline").count(),
        6,
        "canary and stable series"
    );
    assert!(dom.contains("ABORT") && dom.contains("sample (window order)"));
    assert!(!dom.contains("<script"), "no script in the DOM");

    let dom = String::from_utf8_lossy(&hostile.stdout);
    assert!(
        !dom.contains("<script"),
        "the exemplar's script is text, not an element"
    );
    assert!(
        !dom.contains("<img"),
        "the event's image is text, not an element"
    );
    assert!(
        dom.contains("&lt;script&gt;document.title="),
        "shown as text"
    );
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or_default();
    assert!(
        !title.contains("pwned"),
        "no script changed the title: {title}"
    );
    assert!(!SCRIPT_EXEMPLAR.is_empty());

    let dom = String::from_utf8_lossy(&list.stdout);
    assert!(dom.contains("Recent analyses") && dom.contains("/analyses/p05-oom"));

    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(
        png.len() > 30_000,
        "a page with charts, not a blank image: {} bytes",
        png.len()
    );
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(repo_path("docs/verdict-page.png"), &png).unwrap();
    }
    eprintln!("screenshot: {} bytes", png.len());
}
