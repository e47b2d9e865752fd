#!/usr/bin/env bash
# Aisle's tract outputs equal onnxruntime's on the same input tensors, for every shipped model:
# dumps Aisle's tensors (aisle-examples --bin vision_dump), then runs the pytest comparison with
# onnxruntime from the project venv (pins: scripts/vision-requirements.txt); and runs the folder
# tool over the photos. `make test-python` runs it; the models come from scripts/models.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
venv=$(bash scripts/python-venv.sh)
bash scripts/models.sh ensure >&2
dump=$(mktemp -d)
trap 'rm -rf "$dump"' EXIT
cargo run -q -p aisle-examples --features vision --bin vision_dump -- "$dump" >/dev/null
# The folder tool, end to end on the photos: one annotated PNG per image, a summary line.
models=${AISLE_MODELS:-$root/target/models}
cargo run -q -p aisle-examples --features vision --bin vision_folder -- \
  --model "$models/person-ssdlite.model.json" --input "$models" --output "$dump/annotated" > "$dump/folder.txt" 2>/dev/null
n=0
for img in "$models"/*.jpg "$models"/*.png; do
  name=$(basename "${img%.*}").png
  [ -s "$dump/annotated/$name" ] || { echo "vision_folder wrote no $name" >&2; cat "$dump/folder.txt" >&2; exit 1; }
  n=$((n + 1))
done
grep -q "^$n images in .* 0 failed" "$dump/folder.txt" || { echo "vision_folder:" >&2; cat "$dump/folder.txt" >&2; exit 1; }
AISLE_VISION_DUMP="$dump" "$venv/bin/python" -m pytest -q -p no:cacheprovider scripts/test_vision_onnxruntime.py
