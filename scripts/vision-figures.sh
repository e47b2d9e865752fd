#!/usr/bin/env bash
# The vision figures of docs/performance.md in one run: per-frame latency of every shipped model
# in Aisle (tract, release build) and in onnxruntime (the pinned Python package), same model,
# same input tensor, one thread each, side by side; then one camera-hour of tracking + analytics
# (cost per frame against inference, association rate, insight bytes).
#   bash scripts/vision-figures.sh [ROUNDS] [RUNS]   (default 5 rounds of 6 timed runs per model)
# Aisle and onnxruntime alternate round by round, so both see the same load on a shared machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
host=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$host}"
rounds=${1:-5}
runs=${2:-6}
venv=$(bash scripts/python-venv.sh)
bash scripts/models.sh ensure >&2
cargo build -q --release -p aisle-examples --features vision --bin vision_figures
bin="$root/target/$CARGO_BUILD_TARGET/release/vision_figures"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$venv/bin/python" - "$bin" "$out" "$rounds" "$runs" <<'PY'
import json, os, statistics, subprocess, sys, time
from pathlib import Path
import numpy as np, onnxruntime
sys.path.insert(0, "scripts")
from vision_onnxruntime import session

binary, out, rounds, runs = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
load0 = os.getloadavg()[0]
aisle, ort, detect, tract, own, sessions, shapes = {}, {}, {}, {}, {}, {}, {}
for r in range(rounds):
    lines = subprocess.run([binary, "latency", str(out), str(runs)], check=True, capture_output=True, text=True).stdout
    for row in map(json.loads, lines.splitlines()):
        m = row["model"]
        aisle.setdefault(m, []).extend(row["model_ms"])
        detect.setdefault(m, []).extend(row["detect_ms"])
        tract.setdefault(m, []).extend(row["tract_kernels_ms"])
        own[m] = row["own_kernel_layers"]
        if m not in sessions:
            x = np.load(out / row["input"])
            sess, name = session(row["onnx"], row["input_name"], list(x.shape), threads=1)
            for _ in range(3):
                sess.run(None, {name: x})
            sessions[m] = (sess, name, x)
            shapes[m] = "x".join(map(str, x.shape))
        sess, name, x = sessions[m]
        for _ in range(runs):
            t = time.perf_counter()
            sess.run(None, {name: x})
            ort.setdefault(m, []).append((time.perf_counter() - t) * 1e3)
load1 = os.getloadavg()[0]
med = statistics.median
print(f"onnxruntime {onnxruntime.__version__}; tract 1 thread, onnxruntime 1 intra-op thread; "
      f"{rounds} alternating rounds x {runs} runs (after 3 warm-ups); median ms per frame; "
      f"{os.cpu_count()} cores, load average {load0:.1f} -> {load1:.1f}")
print(f"{'model':16} {'input':>14} {'Aisle':>9} {'onnxruntime':>12} {'ratio':>7} {'Aisle detect()':>15} "
      f"{'tract kernels only':>19} {'ratio':>7} {'own layers':>10}")
for m in aisle:
    a, o, t = med(aisle[m]), med(ort[m]), med(tract[m])
    print(f"{m:16} {shapes[m]:>14} {a:9.2f} {o:12.2f} {a / o:6.2f}x {med(detect[m]):15.2f} "
          f"{t:19.2f} {t / o:6.2f}x {own[m]:10}")
r = json.loads(subprocess.run([binary, "camera-hour"], check=True, capture_output=True, text=True).stdout)
print(f"camera-hour ({r['frames']} frames at {r['fps']} fps, {r['detections_per_frame']:.1f} persons detected per frame, "
      f"2 lines, 3 zones, 1-minute intervals):")
print(f"  tracking + analytics {r['tracking_analytics_ms_per_frame'] * 1000:.1f} us/frame = "
      f"{r['tracking_share_of_inference'] * 100:.3f}% of person detection ({r['person_detect_ms_per_frame']:.1f} ms/frame)")
print(f"  association rate {r['association_rate']:.3f} (confident detections matched to a track; "
      f"{r['tracks_confirmed']} tracks confirmed)")
print(f"  insight data {r['insight_events']} events, {r['insight_bytes'] / 1000:.1f} KB per camera-hour")
print("where tract's time goes (ms per run by kind of operation, 5 runs):")
print(subprocess.run([binary, "profile"], check=True, capture_output=True, text=True).stdout, end="")
PY
