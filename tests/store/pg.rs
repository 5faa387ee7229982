//! A throwaway Postgres for the store tests: `initdb` into a temporary
//! directory and `postgres` on a free loopback port, as the `postgres` user
//! when we are root (initdb refuses root). Trust authentication on loopback.
//! A missing Postgres fails the test (never a skip), naming the install step.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct PgServer {
    child: Child,
    _dir: tempfile::TempDir,
    pub url: String,
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists() && b.join("postgres").exists())
        .collect();
    dirs.sort();
    if let Some(d) = dirs.pop() {
        return Some(d);
    }
    // Elsewhere (a developer's machine): initdb and postgres on PATH.
    let out = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let dir = p.parent()?.to_owned();
    (out.status.success() && dir.join("postgres").exists()).then_some(dir)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `bin` with `args`, as the postgres user when we are root.
fn command(bin: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin).args(args);
        c
    } else {
        let mut c = Command::new(bin);
        c.args(args);
        c
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start a fresh Postgres, or fail naming the install step when none is installed.
pub async fn start() -> PgServer {
    let Some(bin) = bin_dir() else {
        crate::cli::missing("Postgres (initdb, postgres: Debian package postgresql)");
    };
    let t = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    if is_root() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let ok = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&data)
            .status()
            .unwrap();
        assert!(ok.success(), "chown of the data directory failed");
    }
    let data_s = data.to_str().unwrap();
    let out = command(
        &bin.join("initdb"),
        &[
            "-D",
            data_s,
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let port_s = port.to_string();
    let child = command(
        &bin.join("postgres"),
        &[
            "-D",
            data_s,
            "-k",
            data_s,
            "-p",
            &port_s,
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "full_page_writes=off",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let server = PgServer {
        child,
        _dir: dir,
        url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
    };
    // Ready when a store can be opened (the server accepts connections
    // before it accepts queries).
    let url = rollwise::store::StoreUrl::parse(&server.url).unwrap();
    loop {
        match rollwise::store::Store::open(&url).await {
            Ok(_) => break,
            Err(e) if t.elapsed() > Duration::from_secs(30) => {
                panic!("Postgres did not start: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    eprintln!("Postgres started in {:?} on port {port}", t.elapsed());
    server
}
