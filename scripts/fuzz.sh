#!/usr/bin/env bash
# Runs every fuzz target briefly (FUZZ_SECONDS each, default 30). Needs cargo-fuzz; uses the
# nightly toolchain if present, else stable with RUSTC_BOOTSTRAP for the sanitizer flags.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"
secs=${FUZZ_SECONDS:-30}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
toolchain=()
if rustup toolchain list | grep -q '^nightly'; then toolchain=(+nightly); else export RUSTC_BOOTSTRAP=1; fi
for t in $(cargo "${toolchain[@]}" fuzz list); do
  echo "== fuzz $t (${secs}s)"
  cargo "${toolchain[@]}" fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=2048
done
