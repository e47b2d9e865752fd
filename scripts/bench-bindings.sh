#!/usr/bin/env bash
# Side-by-side in one run: `cart.price()` of a 100-line cart against 1,000 promotions, from
# Rust, Python and Node, all built in release mode, on the same store file.
# Prints median and p90 µs per call and the ratios to native. Usage: bash scripts/bench-bindings.sh [N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
n=${1:-300}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build -q --release -p aisle-benches --bin bench_fixture --bin cart_price_loop
id=$(target/release/bench_fixture "$work/bench.db" 1000)

# Python: a release wheel in a throwaway venv (the test venv keeps its dev wheel).
venv=$(bash scripts/python-venv.sh)
(cd bindings-python && "$venv/bin/maturin" build --release -q --interpreter "$venv/bin/python" --out "$work/wheels" >/dev/null)
python3 -m venv "$work/venv" >/dev/null
"$work/venv/bin/pip" install -q --no-deps "$work"/wheels/aisle-*.whl

# Node: a release addon beside the package's own files.
(cd bindings-node && [ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null)
(cd bindings-node && node scripts/build.mjs --release >/dev/null)

rust=$(target/release/cart_price_loop "$work/bench.db" "$id" "$n")
py=$("$work/venv/bin/python" - "$work/bench.db" "$id" "$n" <<'PY'
import sys, time, aisle
path, cart_id, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
edge = aisle.Edge.open(path, store_id="bench-store", device_id="bench-till", currency="EUR")
cart = edge.cart(cart_id)
cart.price()
ts = []
for _ in range(n):
    t = time.perf_counter_ns(); cart.price(); ts.append((time.perf_counter_ns() - t) / 1000)
ts.sort()
print(f"python {ts[len(ts)//2]:.1f} {ts[len(ts)*9//10]:.1f}")
PY
)
js=$(cd bindings-node && node - "$work/bench.db" "$id" "$n" <<'JS'
const { Edge } = require('./index.js')
const [path, id, n] = process.argv.slice(2)
const edge = Edge.open(path, { storeId: 'bench-store', deviceId: 'bench-till', currency: 'EUR' })
const cart = edge.cart(id)
cart.price()
const ts = []
for (let i = 0; i < Number(n); i++) {
  const t = process.hrtime.bigint(); cart.price(); ts.push(Number(process.hrtime.bigint() - t) / 1000)
}
ts.sort((a, b) => a - b)
console.log(`node ${ts[Math.floor(ts.length / 2)].toFixed(1)} ${ts[Math.floor(ts.length * 9 / 10)].toFixed(1)}`)
JS
)
# Rebuild the debug addon so the Node test suite keeps running against the tested build.
(cd bindings-node && node scripts/build.mjs >/dev/null)
echo "cart.price(): 100 lines, 1,000 promotions, N=$n (median µs, p90 µs)"
printf '%s\n%s\n%s\n' "$rust" "$py" "$js"
awk -v r="$rust" -v p="$py" -v j="$js" 'BEGIN { split(r, a, " "); split(p, b, " "); split(j, c, " ");
  printf "ratio python/rust %.2f, node/rust %.2f (median)\n", b[2] / a[2], c[2] / a[2] }'
