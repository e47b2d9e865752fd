#!/usr/bin/env bash
# Python suite: build the abi3 wheel with maturin (dev profile, shared target dir), install it
# into the project venv, write a store file from Rust, prepare the vision models
# (scripts/models.sh, $AISLE_MODELS), run pytest (incl. stubtest + mypy).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=$(bash scripts/python-venv.sh)
export VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH"

wheels="$root/target/wheels"
rm -f "$wheels"/aisle-*.whl
(cd bindings-python && maturin build --profile dev --interpreter "$venv/bin/python" --out "$wheels" -q)
pip install -q --force-reinstall --no-deps "$wheels"/aisle-*.whl

# The real models and photos of the vision tests (cheap when cached): tests/test_vision.py.
export AISLE_MODELS="${AISLE_MODELS:-$root/target/models}"
bash scripts/models.sh ensure >&2

fixture_dir=$(mktemp -d)
trap 'rm -rf "$fixture_dir"' EXIT
cargo run -q -p aisle-examples --bin write_fixture -- "$fixture_dir/rust.db" >/dev/null
export AISLE_RUST_FIXTURE="$fixture_dir/rust.db"

# The HQ hub binary, for tests/test_hub.py (HQ authoring from a Python script through the hub).
cargo build -q -p aisle-hub --bin aisle-hub
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
export AISLE_HUB_BIN="${target_dir:-$root/target}/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}debug/aisle-hub"

# Run from the tests folder so `import aisle` resolves to the installed wheel, not the sources.
cd bindings-python/tests
python -m pytest -q -p no:cacheprovider .
