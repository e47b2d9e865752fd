#!/usr/bin/env bash
# Creates the project-local Python venv (.venv) and installs the pinned tools into it.
# Idempotent: reinstalls only when a requirements file changed. Prints the venv path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
reqs=("$root/bindings-python/requirements-dev.txt" "$root/scripts/vision-requirements.txt")
stamp="$venv/.aisle-requirements"
want=$(cat "${reqs[@]}" | sha256sum | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
  for r in "${reqs[@]}"; do "$venv/bin/python" -m pip install -q -r "$r" >&2; done
  echo "$want" > "$stamp"
fi
echo "$venv"
