#!/usr/bin/env bash
# Extract the GitHub REST operations rollwise's GitHub tools use from GitHub's
# official OpenAPI description (npm @octokit/openapi, dereferenced api.github.com
# document) into tests/remediate/github-openapi-subset.json, which the fake
# GitHub in tests/remediate checks every request and response against.
#
# Run from the repository root:  scripts/github-openapi-subset.sh [VERSION]
# Recorded run: scripts/github-openapi-subset.sh 23.0.2
set -euo pipefail
version="${1:-23.0.2}"
out="tests/remediate/github-openapi-subset.json"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@octokit/openapi@${version}" >/dev/null && tar xzf octokit-openapi-*.tgz package/generated/api.github.com.deref.json)
node - "$work/package/generated/api.github.com.deref.json" "$out" "$version" <<'JS'
const fs = require("fs");
const [src, out, version] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(src, "utf8"));
// [method, path, success status]
const ops = [
  ["get", "/repos/{owner}/{repo}", "200"],
  ["get", "/repos/{owner}/{repo}/contents/{path}", "200"],
  ["get", "/search/code", "200"],
  ["get", "/repos/{owner}/{repo}/commits", "200"],
  ["get", "/repos/{owner}/{repo}/compare/{basehead}", "200"],
  ["get", "/repos/{owner}/{repo}/git/ref/{ref}", "200"],
  ["post", "/repos/{owner}/{repo}/git/refs", "201"],
  ["get", "/repos/{owner}/{repo}/git/commits/{commit_sha}", "200"],
  ["post", "/repos/{owner}/{repo}/git/trees", "201"],
  ["post", "/repos/{owner}/{repo}/git/commits", "201"],
  ["patch", "/repos/{owner}/{repo}/git/refs/{ref}", "200"],
  ["get", "/repos/{owner}/{repo}/pulls", "200"],
  ["post", "/repos/{owner}/{repo}/pulls", "201"],
  ["patch", "/repos/{owner}/{repo}/pulls/{pull_number}", "200"],
  ["post", "/repos/{owner}/{repo}/issues/{issue_number}/labels", "200"],
];
// OpenAPI 3.0 -> plain JSON Schema: `nullable: true` becomes a "null" type;
// documentation-only keys are dropped to keep the committed file small.
const DROP = new Set(["description", "example", "examples", "externalDocs", "title", "x-github", "x-octokit", "deprecated", "readOnly", "writeOnly", "format", "pattern"]);
function clean(s) {
  if (Array.isArray(s)) return s.map(clean);
  if (s === null || typeof s !== "object") return s;
  const o = {};
  for (const [k, v] of Object.entries(s)) {
    if (DROP.has(k)) continue;
    if (k === "properties") { o[k] = Object.fromEntries(Object.entries(v).map(([p, ps]) => [p, clean(ps)])); continue; }
    o[k] = clean(v);
  }
  if (s.nullable) {
    delete o.nullable;
    if (o.type) o.type = [].concat(o.type, "null");
    else if (o.enum) o.enum = [...o.enum, null];
    else return { anyOf: [o, { type: "null" }] };
    if (o.enum && !o.enum.includes(null)) o.enum.push(null);
  }
  return o;
}
const result = { source: `npm @octokit/openapi@${version} generated/api.github.com.deref.json`, operations: [] };
for (const [method, path, status] of ops) {
  const op = spec.paths[path] && spec.paths[path][method];
  if (!op) throw new Error(`missing ${method} ${path}`);
  const resp = op.responses[status].content["application/json"];
  const ex = resp.examples ? Object.values(resp.examples)[0].value : null;
  const body = op.requestBody && op.requestBody.content["application/json"];
  result.operations.push({
    operationId: op.operationId, method: method.toUpperCase(), path, status: Number(status),
    query: (op.parameters || []).filter(p => p.in === "query").map(p => p.name),
    request: body ? clean(body.schema) : null,
    response: clean(resp.schema),
    example: ex,
  });
}
fs.writeFileSync(out, JSON.stringify(result) + "\n");
console.log(`${out}: ${result.operations.length} operations`);
JS
