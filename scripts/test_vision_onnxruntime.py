"""Aisle (tract) and onnxruntime give the same outputs on the same input tensor, for every
shipped model. The tensors and Aisle's raw outputs are dumped by
`aisle-examples --bin vision_dump` (scripts/vision-ort.sh runs it first and sets
AISLE_VISION_DUMP)."""
import json
import os
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from vision_onnxruntime import session

DUMP = Path(os.environ.get("AISLE_VISION_DUMP", ""))
CASES = json.loads((DUMP / "manifest.json").read_text())["cases"] if (DUMP / "manifest.json").is_file() else []


def test_the_dump_has_every_shipped_model():
    assert DUMP.is_dir(), "run scripts/vision-ort.sh (it dumps Aisle's tensors first)"
    assert sorted(c["model"] for c in CASES) == ["blazeface-128", "blazeface-256", "centerface", "person-ssdlite"]
    assert onnxruntime.__version__ == "1.31.1"


@pytest.mark.parametrize("case", CASES, ids=[c["model"] for c in CASES])
def test_tract_equals_onnxruntime_on_the_same_tensor(case):
    x = np.load(DUMP / case["input"]["file"])
    assert list(x.shape) == case["input"]["shape"] and x.dtype == np.float32
    sess, name = session(case["onnx"], case["input"]["name"], case["input"]["shape"])
    names = [o["name"] for o in case["outputs"]]
    ours = [np.load(DUMP / o["file"]) for o in case["outputs"]]
    theirs = [o.ravel() for o in sess.run(names, {name: x})]
    for n, a, b in zip(names, ours, theirs):
        assert a.shape == b.shape, f"{case['model']} {n}: {a.shape} vs {b.shape}"
        scale = max(1.0, float(np.abs(b).max()))
        diff = float(np.abs(a - b).max())
        # Same graph, different kernels (fused, reordered sums): float rounding only. Seen
        # here: at most 4e-6 of the output's largest magnitude.
        assert diff <= 2e-5 * scale, f"{case['model']} {n}: max |tract - onnxruntime| = {diff} (scale {scale})"
