#!/usr/bin/env bash
# LogHub benchmark: grouping accuracy and one-core throughput of rollwise's
# template miner against drain3 0.9.11. Run from anywhere; results go to stdout.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
venv="$root/evals/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q drain3==0.9.11
cargo build --release -q -p rollwise --example cluster
export ROLLWISE_CLUSTER="${CARGO_TARGET_DIR:-$root/target}/release/examples/cluster"
exec "$venv/bin/python" "$root/evals/loghub/bench.py" "$@"
