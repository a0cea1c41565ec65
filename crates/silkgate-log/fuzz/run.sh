#!/usr/bin/env bash
# Runs every fuzz target of silkgate-log for a bounded time each, starting from the seeds in
# seeds/<target>/ (spec examples and hand-made inputs of each format).
#
#   crates/silkgate-log/fuzz/run.sh [SECONDS_PER_TARGET]   (default 60)
#
# Needs the nightly toolchain and cargo-fuzz (`rustup toolchain install nightly`,
# `cargo install cargo-fuzz`). Each target runs with a 512 MiB RSS limit, so unbounded memory
# growth fails like a crash does; crashes are written to crates/silkgate-log/fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
for target in note checkpoint tile proof entry; do
  echo "== fuzz $target for ${seconds}s"
  mkdir -p "corpus/$target"
  cp -n "seeds/$target"/* "corpus/$target/" 2>/dev/null || true
  cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=512 -max_len=65536 -print_final_stats=1 2>&1 \
    | grep -E '^(#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::peak_rss_mb|==|INFO: Running|.*(panicked|ERROR|SUMMARY))' || true
  if ls "artifacts/$target"/crash-* >/dev/null 2>&1 || ls "artifacts/$target"/oom-* >/dev/null 2>&1; then
    echo "== $target FAILED: see artifacts/$target"; exit 1
  fi
done
echo "== all fuzz targets ran without a crash"
