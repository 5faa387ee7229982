#!/usr/bin/env bash
# Benchmark: `rollwise analyze` on the 100,000-line public scenario (p11).
# Target (issue "Foundation"): under 1 s wall time and under 200 MB peak RSS.
# Usage: evals/bench/analyze.sh [RUNS]   (writes evals/bench/analyze-results.md)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-7}
bundle=evals/scenarios/tune/public/p11-bidder-large-log-redis-pool.json
cargo build --release --locked -p rollwise --bin rollwise >&2
bin=./target/release/rollwise
lines=$(python3 -c "import json,sys; d=json.load(open('$bundle')); print(sum(len(p['lines']) for s in d['logs'].values() for p in s))")
walls=(); rss=()
for _ in $(seq "$runs"); do
  out=$( { /usr/bin/time -f '%e %M' "$bin" analyze --evidence "$bundle" --json >/dev/null; } 2>&1 | tail -1)
  walls+=("${out% *}"); rss+=("${out#* }")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
max() { printf '%s\n' "$@" | sort -g | tail -1; }
wall_med=$(median "${walls[@]}"); wall_max=$(max "${walls[@]}")
rss_max_kb=$(max "${rss[@]}")
verdict=$("$bin" analyze --evidence "$bundle" --json | python3 -c "import json,sys; v=json.load(sys.stdin); print(v['verdict'], v['confidence'])")
{
  echo "# Benchmark: rollwise analyze on a 100,000-line scenario"
  echo
  echo "Command: \`evals/bench/analyze.sh $runs\` (release build, $runs runs, /usr/bin/time)."
  echo
  echo "| what | value | target |"
  echo "| --- | --- | --- |"
  echo "| bundle | $(basename $bundle), $(du -k $bundle | cut -f1) KiB, $lines log lines | |"
  echo "| wall time, median of $runs | ${wall_med} s | < 1 s |"
  echo "| wall time, worst | ${wall_max} s | |"
  echo "| peak RSS, worst | $((rss_max_kb / 1024)) MB | < 200 MB |"
  echo "| verdict | $verdict | abort |"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m), $(date -u +%Y-%m-%d)."
} | tee evals/bench/analyze-results.md
