#!/usr/bin/env bash
# Benchmark: `rollwise serve` under Argo-like load (issue "The service").
#  1. 200 concurrent connections calling POST /v1/analyze for an analysis that
#     is cached (the first call ran it): target p99 < 50 ms, zero errors.
#  2. Cold POST /v1/verdicts with the 100,000-line scenario (p11), N times.
#  Peak memory of the server (VmHWM) over both.
# Usage: evals/bench/serve.sh [SECONDS] [VERDICT_RUNS]   (writes evals/bench/serve-results.md)
# Needs wrk (Debian package `wrk`; installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-15}
runs=${2:-5}
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || sudo apt-get install -y wrk >/dev/null; }
cargo build --release --locked -p rollwise --bin rollwise >&2
bin=./target/release/rollwise
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=bench-token
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
ROLLWISE_API_TOKEN=$token ROLLWISE_LOG=warn "$bin" serve --listen "127.0.0.1:$port" \
  --evidence-dir evals/scenarios/tune/public --llm off &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

body='{"namespace":"rollouts-demo","rollout":"rollouts-demo","canaryHash":"j5cdh74fs5","stableHash":"7z26fvqgpq"}'
python3 - "$body" <<'PY'
import json, sys
b = json.loads(sys.argv[1])
d = json.load(open("evals/scenarios/tune/public/p01-rollouts-demo-bad-red.json"))
assert (d["rollout"]["namespace"], d["rollout"]["name"], d["rollout"]["canaryHash"], d["rollout"]["stableHash"]) == (b["namespace"], b["rollout"], b["canaryHash"], b["stableHash"]), "bench body does not match p01"
PY
first=$(curl -s -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "$body" "http://127.0.0.1:$port/v1/analyze")
echo "first call: $first" | cut -c1-200 >&2
cat > "$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
done = function(summary, latency, requests)
  io.write(string.format("RESULT p50_ms=%.2f p99_ms=%.2f max_ms=%.2f requests=%d non2xx=%d errors=%d\n",
    latency:percentile(50)/1000, latency:percentile(99)/1000, latency.max/1000, summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
wrk -t2 -c200 -d"${secs}s" --latency -s "$tmp/post.lua" "http://127.0.0.1:$port/v1/analyze" > "$tmp/wrk.txt"
result=$(grep '^RESULT' "$tmp/wrk.txt")
rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/wrk.txt")
get() { echo "$result" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k {print $2}'; }

bundle=evals/scenarios/tune/public/p11-bidder-large-log-redis-pool.json
times=()
for _ in $(seq "$runs"); do
  t=$(curl -s -o "$tmp/v.json" -w '%{time_total}' -X POST -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' --data-binary "@$bundle" "http://127.0.0.1:$port/v1/verdicts")
  times+=("$t")
done
verdict=$(python3 -c "import json; v=json.load(open('$tmp/v.json')); print(v['verdict'], v['confidence'])")
hwm_kb=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
{
  echo "# Benchmark: rollwise serve"
  echo
  echo "Command: \`evals/bench/serve.sh $secs $runs\` (release build, loopback, \`--evidence-dir evals/scenarios/tune/public --llm off\`)."
  echo
  echo "| what | value | target |"
  echo "| --- | --- | --- |"
  echo "| cached /v1/analyze, 200 connections, ${secs} s (wrk -t2 -c200) | $(get requests) requests, ${rps} req/s | |"
  echo "| latency p50 / p99 / max | $(get p50_ms) / $(get p99_ms) / $(get max_ms) ms | p99 < 50 ms |"
  echo "| errors (non-2xx + socket) | $(get non2xx) + $(get errors) | 0 |"
  echo "| cold /v1/verdicts, p11 ($(du -k $bundle | cut -f1) KiB, 100,382 canary log lines), median of $runs | $(median "${times[@]}") s | |"
  echo "| its verdict | $verdict | abort |"
  echo "| server peak RSS (VmHWM) over the whole run | $((hwm_kb / 1024)) MB | |"
  echo
  echo "Machine: $(nproc) cores shared by server and load generator, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m), $(date -u +%Y-%m-%d)."
} | tee evals/bench/serve-results.md
