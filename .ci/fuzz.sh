#!/usr/bin/env bash
# Builds every fuzz target (fuzz/, cargo-fuzz + libFuzzer) and runs each for a bounded time,
# starting from the seed corpus in fuzz/corpus/<target>. Fails on any crash or panic; the
# input that caused it is left in fuzz/artifacts/<target>/.
#
#   .ci/fuzz.sh                      # every target, FUZZ_SECONDS (default 15) each
#   FUZZ_SECONDS=600 .ci/fuzz.sh jwt # one target, longer
#
# The machine's toolchain is stable; cargo-fuzz passes the nightly -Z flags libFuzzer's
# coverage instrumentation needs, which RUSTC_BOOTSTRAP allows. No sanitizer: the code is safe
# Rust, and what is looked for is a panic (with debug assertions: overflows too).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CARGO_FUZZ_VERSION=0.13.2
FUZZ_SECONDS=${FUZZ_SECONDS:-15}

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install --quiet --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
export RUSTC_BOOTSTRAP=1
# Its own target dir: the instrumented build shares nothing with the workspace's.
export CARGO_TARGET_DIR=$ROOT/fuzz/target
FLAGS=(--fuzz-dir fuzz --sanitizer none --dev --debug-assertions)

TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || mapfile -t TARGETS < <(cargo fuzz list --fuzz-dir fuzz)

echo "== cargo fuzz build (${#TARGETS[@]} targets)"
cargo fuzz build "${FLAGS[@]}"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for t in "${TARGETS[@]}"; do
  echo "== fuzz $t for ${FUZZ_SECONDS}s"
  mkdir -p "$WORK/$t"
  # New inputs go to the scratch corpus (first directory); the seeds are only read.
  cargo fuzz run "${FLAGS[@]}" "$t" "$WORK/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>&1 \
    | grep -E "^(stat::number_of_executed_units|stat::new_units_added|==|INFO: Running|.*(panicked|ERROR|SUMMARY|Test unit written))" || true
  if [ "${PIPESTATUS[0]}" -ne 0 ]; then
    echo "fuzz target $t failed; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
