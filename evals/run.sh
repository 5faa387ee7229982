#!/usr/bin/env bash
# Regenerate the committed eval report over every labelled scenario.
# Usage: evals/run.sh   (writes evals/results/eval-report.md and eval-report.json)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p rollwise --bin rollwise >&2
mkdir -p evals/results
cmd=(./target/release/rollwise eval --scenarios evals/scenarios
     --json evals/results/eval-report.json --report evals/results/eval-report.md
     --max-false-promote 0)
status=0
"${cmd[@]}" || status=$?
{
  echo
  echo "Produced by \`evals/run.sh\`, i.e. \`${cmd[*]}\`,"
  echo "on $(date -u +%Y-%m-%d) ($(nproc) cores, release build, commit $(git rev-parse --short HEAD))."
} >> evals/results/eval-report.md
cat evals/results/eval-report.md
exit "$status"
