#!/usr/bin/env bash
# Cross-language sync: a Rust HQ replica and Python, Node and Kotlin registers exchange sync
# bytes (lost, duplicated, delayed, reordered by tests/sync-cross/run.py) and must converge.
# Runs after test-python, test-node and test-kotlin (it uses the wheel they installed, the
# addon they built and the Kotlin test classes); `make test` orders it so.
#
#   bash scripts/test-sync-cross.sh [--schedules N] [--steps N] [--seed S]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv=$(bash scripts/python-venv.sh)

target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
profile_dir="${target_dir:-$root/target}/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}debug"
echo "==> cargo build -p aisle --example sync_agent"
cargo build -q -p aisle --example sync_agent

kt="$root/bindings-kotlin/target"
for f in "$kt/test-classpath.txt" "$kt/native-dir.txt" "$kt/test-classes/dev/aisle/SyncAgentKt.class"; do
    [[ -f "$f" ]] || { echo "test-sync-cross: $f is missing: run scripts/test-kotlin.sh first" >&2; exit 1; }
done
[[ -f "$root/bindings-node/index.js" ]] && ls "$root"/bindings-node/*.node >/dev/null 2>&1 \
    || { echo "test-sync-cross: the Node addon is not built: run scripts/test-node.sh first" >&2; exit 1; }

export AISLE_AGENT_RUST="[\"$profile_dir/examples/sync_agent\"]"
export AISLE_AGENT_KOTLIN="$("$venv/bin/python" - "$kt" <<'PY'
import json, sys
kt = sys.argv[1]
cp = ":".join([f"{kt}/classes", f"{kt}/test-classes", open(f"{kt}/test-classpath.txt").read().strip()])
native = open(f"{kt}/native-dir.txt").read().strip()
print(json.dumps(["java", f"-Djna.library.path={native}", "-cp", cp, "dev.aisle.SyncAgentKt"]))
PY
)"
echo "==> tests/sync-cross/run.py (Rust HQ; Python, Node and Kotlin registers)"
"$venv/bin/python" tests/sync-cross/run.py "$@"
