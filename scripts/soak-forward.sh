#!/usr/bin/env bash
# The long crash soak of store-and-forward: N SIGKILLs (default 10000) of a child that appends
# and forwards, then a full check that every acknowledged append arrived once, in order.
#   bash scripts/soak-forward.sh [rounds] [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
FORWARD_CRASH_ROUNDS="${1:-10000}" FORWARD_CRASH_SEED="${2:-$RANDOM}" \
  cargo test -p aisle-examples --test forward_crash -- --nocapture
