#!/usr/bin/env bash
# Set up, build and run `rollwise demo` on the embedded example scenarios:
# no cluster, no API key.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked -p rollwise --bin rollwise >&2
exec ./target/release/rollwise demo "$@"
