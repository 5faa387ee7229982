#!/usr/bin/env bash
# Benchmark: cached POST /v1/verdicts at 200 concurrent connections (#15).
# The same bundle (p23, 48 KB) is posted once to be judged, then by wrk on 200
# connections for 10 s: each is answered from the cache (the body read within
# the read budget and hashed as it arrives; no analysis slot, no parse). Prints wrk's report
# (latency percentiles, non-2xx count).
#
# Usage: evals/bench/verdicts-cached.sh [BINARY]   (release build by default)
# Needs wrk (Debian package `wrk`).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/release/rollwise}
command -v wrk >/dev/null || { echo "verdicts-cached: wrk not found (apt-get install wrk)" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
token=bench-token
bundle=evals/scenarios/tune/public/p23-product-catalog-not-ready.json
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
(ulimit -n 256; ROLLWISE_API_TOKEN=$token ROLLWISE_LOG=warn exec "$bin" serve \
  --config evals/bench/hostile.toml --listen 127.0.0.1:$port \
  --evidence-dir evals/scenarios/tune/public --llm off --store memory) 2>/dev/null &
pid=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.05; done
curl -sf -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  --data-binary @$bundle http://127.0.0.1:$port/v1/verdicts >/dev/null
cat > "$tmp/post.lua" <<LUA
local f = io.open("$bundle", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
wrk -t2 -c200 -d10s --latency -s "$tmp/post.lua" http://127.0.0.1:$port/v1/verdicts
curl -s http://127.0.0.1:$port/metrics | grep -E '^rollwise_(cache_lookups_total|http_requests_total)' || true
