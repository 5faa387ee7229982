#!/usr/bin/env bash
# deploy/: render every overlay with kustomize, validate the output against the
# Kubernetes 1.33 schemas (kubernetes-validate, strict), and fail if the
# committed rendering (deploy/rendered/<overlay>.yaml) has drifted.
# `--update` rewrites the committed renderings instead of comparing.
set -euo pipefail
cd "$(dirname "$0")/.."
kubectl=$(command -v kubectl || echo .venv/bin/kubectl)
validate=.venv/bin/kubernetes-validate
[ -x "$kubectl" ] || { echo "check-deploy: kubectl not found; run scripts/setup.sh" >&2; exit 1; }
[ -x "$validate" ] || { echo "check-deploy: kubernetes-validate not found; run scripts/setup.sh" >&2; exit 1; }
mkdir -p deploy/rendered
status=0
for dir in deploy/overlays/*/; do
  o=$(basename "$dir")
  out=$(mktemp)
  "$kubectl" kustomize "$dir" > "$out"
  # The Argo CRs have no built-in schema; tests/plugin checks them against the CRDs.
  if ! "$validate" -k 1.33.0 --strict --quiet --no-warn "$out"; then
    echo "check-deploy: $o does not validate against Kubernetes 1.33" >&2; status=1
  fi
  if [ "${1:-}" = "--update" ]; then
    cp "$out" "deploy/rendered/$o.yaml"
  elif ! diff -u "deploy/rendered/$o.yaml" "$out" >&2; then
    echo "check-deploy: deploy/rendered/$o.yaml is stale: run scripts/check-deploy.sh --update" >&2; status=1
  fi
  rm -f "$out"
done
[ $status -eq 0 ] && echo "check-deploy: $(ls deploy/overlays | wc -l) overlays render, validate and match deploy/rendered/"
exit $status
