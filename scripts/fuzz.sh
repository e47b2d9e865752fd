#!/usr/bin/env bash
# Runs every fuzz target briefly (FUZZ_SECONDS each, default 30), seeding the JSON targets from
# the shared test vectors. Needs cargo-fuzz (installed from crates.io if missing); uses the
# nightly toolchain if present, else stable with RUSTC_BOOTSTRAP for the sanitizer flags.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"
secs=${FUZZ_SECONDS:-30}
# FUZZ_SEED makes a run repeatable (make test uses one, so CI replays inputs already tried).
seed=()
[ -n "${FUZZ_SEED:-}" ] && seed=(-seed="$FUZZ_SEED")
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# Nightly: AddressSanitizer (it also watches the bundled SQLite's C). Stable: no sanitizer
# (RUSTC_BOOTSTRAP only unlocks the coverage flags cargo-fuzz needs).
toolchain=()
sanitizer=(-s address)
if rustup toolchain list | grep -q '^nightly'; then toolchain=(+nightly); else export RUSTC_BOOTSTRAP=1; sanitizer=(-s none); fi

# Seeds: each vector's request (pricing_request) and its promotions (promotion_rules).
mkdir -p corpus/pricing_request corpus/promotion_rules
python3 - "$root/tests/vectors/commerce" <<'PY'
import json, os, sys
src = sys.argv[1]
for name in sorted(os.listdir(src)):
    v = json.load(open(os.path.join(src, name)))
    req = v["request"]
    open(f"corpus/pricing_request/{name}", "w").write(json.dumps(req))
    if req.get("promotions"):
        open(f"corpus/promotion_rules/{name}", "w").write(json.dumps(req["promotions"]))
PY
# Forwarded batch bodies: the first byte picks the Content-Encoding (0: none).
mkdir -p corpus/forward_batch
printf '\000{"store":"s","device":"d","stream":"sales","first_seq":1,"last_seq":2,"records":[{"seq":1,"at_ms":5,"data":{"a":1}},{"seq":2,"at_ms":6,"data":[1,"x"]}]}' > corpus/forward_batch/json
printf '\000{"store":"s","device":"d","stream":"b","seq":3,"at_ms":1,"data_b64":"AAEC"}\n{"store":"s","device":"d","stream":"b","seq":4,"at_ms":2,"data_b64":""}\n' > corpus/forward_batch/ndjson

# Framed sync bodies: two messages; and an empty push.
mkdir -p corpus/sync_frames
printf '\000\000\000\002\000\000\000\003abc\000\000\000\002de' > corpus/sync_frames/two
printf '\000\000\000\000' > corpus/sync_frames/empty

for t in $(cargo "${toolchain[@]}" fuzz list); do
  echo "== fuzz $t (${secs}s)"
  mkdir -p "corpus/$t"
  cargo "${toolchain[@]}" fuzz run "${sanitizer[@]}" "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 "${seed[@]}" 2>&1 | tail -n 3
done
