#!/usr/bin/env bash
# Installs everything rollwise's demo and tests need on a fresh machine.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  say "cargo not found: install Rust with rustup (https://rustup.rs), then re-run"
  exit 1
fi

# rust-toolchain.toml pins the toolchain and its components; rustup installs them on first use.
rustup component add rustfmt clippy >/dev/null 2>&1 || true

if ! cargo nextest --version >/dev/null 2>&1; then
  say "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi
say "ready: $(cargo --version), $(cargo nextest --version | head -1)"
