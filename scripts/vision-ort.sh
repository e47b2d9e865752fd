#!/usr/bin/env bash
# Aisle's tract outputs equal onnxruntime's on the same input tensors, for every shipped model:
# dumps Aisle's tensors (aisle-examples --bin vision_dump), then runs the pytest comparison with
# onnxruntime from the project venv (pins: scripts/vision-requirements.txt). `make test-python`
# runs it; the models come from scripts/models.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
venv=$(bash scripts/python-venv.sh)
bash scripts/models.sh ensure >&2
dump=$(mktemp -d)
trap 'rm -rf "$dump"' EXIT
cargo run -q -p aisle-examples --features vision --bin vision_dump -- "$dump" >/dev/null
AISLE_VISION_DUMP="$dump" "$venv/bin/python" -m pytest -q -p no:cacheprovider scripts/test_vision_onnxruntime.py
