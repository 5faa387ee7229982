#!/usr/bin/env bash
# Regenerates tests/notify/block_kit.schema.json, the JSON Schema every Slack
# payload rollwise sends is validated against in tests/notify: derived from the
# npm @slack/types definitions (the Node Slack SDK's Block Kit types) of the
# block types rollwise emits (tests/notify/block_kit_message.ts).
# Needs node and npm; installs the pinned packages in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

SLACK_TYPES_VERSION=3.2.0
GENERATOR_VERSION=2.9.0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp tests/notify/block_kit_message.ts "$work/message.ts"
(
  cd "$work"
  npm init -y >/dev/null
  npm install --silent --no-audit --no-fund \
    "@slack/types@$SLACK_TYPES_VERSION" "ts-json-schema-generator@$GENERATOR_VERSION" >/dev/null
  printf '{"compilerOptions":{"strict":true,"skipLibCheck":true,"module":"commonjs","moduleResolution":"node"},"files":["message.ts"]}\n' >tsconfig.json
  npx --no-install ts-json-schema-generator --path message.ts --tsconfig tsconfig.json \
    --type SlackMessage --no-top-ref --out schema.json
)
cp "$work/schema.json" tests/notify/block_kit.schema.json
echo "wrote tests/notify/block_kit.schema.json (@slack/types $SLACK_TYPES_VERSION, ts-json-schema-generator $GENERATOR_VERSION)" >&2
