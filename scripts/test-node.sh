#!/usr/bin/env bash
# Builds the Node binding (debug, in the shared workspace target dir) and runs its tests
# against the real native addon: drift check of the committed index.d.ts/index.js, tsc on the
# TypeScript samples, and the node:test suites, including reading a store file written by the
# Rust core, the shared commerce vectors (tests/vectors/commerce) and the vision models
# (scripts/models.sh, $AISLE_MODELS). Needs only node, npm and cargo. Run from anywhere; exits non-zero on any failure.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pkg="$root/bindings-node"

# npm ci, unless node_modules was installed from this exact lockfile already.
lock_hash="$(sha256sum "$pkg/package-lock.json" | cut -d' ' -f1)"
stamp="$pkg/node_modules/.aisle-lock-sha256"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$lock_hash" ]]; then
    echo "test-node: node_modules is up to date with package-lock.json"
else
    echo "test-node: npm ci"
    (cd "$pkg" && npm ci --no-audit --no-fund)
    echo "$lock_hash" > "$stamp"
fi

echo "test-node: building the addon (debug)"
(cd "$pkg" && npm run --silent build)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fixture="$tmp/rust-fixture.db"
echo "test-node: writing the Rust fixture"
(cd "$root" && cargo run -q -p aisle-examples --bin write_fixture -- "$fixture")

# The real models and photos of test/vision.test.mjs (cheap when cached).
export AISLE_MODELS="${AISLE_MODELS:-$root/target/models}"
echo "test-node: vision models in $AISLE_MODELS"
bash "$root/scripts/models.sh" ensure

echo "test-node: npm test"
(cd "$pkg" && AISLE_RUST_FIXTURE="$fixture" AISLE_REQUIRE_RUST_FIXTURE=1 npm test)
