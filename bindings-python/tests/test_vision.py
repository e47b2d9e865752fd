"""Edge vision from Python with the real models and photos (scripts/models.sh, $AISLE_MODELS).

numpy is only a test dependency here (the project venv has it, pinned in
scripts/vision-requirements.txt); the package itself never imports it.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import aisle
from aisle import vision

MODELS = Path(os.environ.get("AISLE_MODELS", Path(__file__).resolve().parents[2] / "target" / "models"))
PERSON = MODELS / "person-ssdlite.model.json"
FACES = MODELS / "centerface.model.json"

pytestmark = pytest.mark.skipif(
    not PERSON.exists() and not os.environ.get("AISLE_MODELS"),
    reason="models not prepared: run `bash scripts/models.sh ensure` (scripts/test-python.sh does)",
)


def iou(a: Any, b: Any) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.fixture(scope="module")
def person() -> vision.Model:
    return vision.Model.load(PERSON)


@pytest.fixture(scope="module")
def city() -> np.ndarray[Any, np.dtype[np.uint8]]:
    f = vision.Frame.open(MODELS / "city.jpg")
    return np.frombuffer(f.to_bytes(), np.uint8).reshape(f.height, f.width, 3)


def test_a_model_loads_verified(person: vision.Model) -> None:
    assert person.name == "person-ssdlite-mobilenetv2"
    assert person.classes == ["background", "person"]
    assert len(person.sha256) == 64 and person.fixes == []
    assert person.descriptor()["input"]["width"] == 300
    # BlazeFace needs its graph fixed to load in tract: the fix is reported.
    assert vision.Model.load(MODELS / "blazeface-128.model.json").fixes


def test_persons_are_found_where_they_stand(person: vision.Model) -> None:
    detector = vision.Detector(person)
    found = detector.detect(vision.Frame.open(MODELS / "astronaut.png"))
    assert [d["label"] for d in found] == ["person"]
    assert iou(found[0]["bbox"], (15, 15, 370, 512)) > 0.6 and found[0]["score"] > 0.5
    crowd = detector.detect(vision.Frame.open(MODELS / "city.jpg"))
    # Hand-drawn people of the crossing (tests/vision.rs in the core).
    for region in [(290, 115, 410, 470), (540, 135, 690, 515), (173, 98, 320, 475), (20, 118, 135, 525)]:
        assert max(iou(d["bbox"], region) for d in crowd) > 0.6, (region, crowd)
    assert all(d["class_id"] == 1 and d["score"] >= 0.5 and d["keypoints"] == [] for d in crowd)
    assert [d["score"] for d in crowd] == sorted((d["score"] for d in crowd), reverse=True)


def test_faces_come_with_landmarks() -> None:
    faces = vision.Detector.load(FACES).detect(vision.Frame.open(MODELS / "city.jpg"))
    assert len(faces) >= 4
    assert all(d["label"] == "face" and len(d["keypoints"]) == 5 for d in faces)


def test_numpy_frames_are_read_in_place(person: vision.Model, city: Any) -> None:
    detector = vision.Detector(person)
    from_file = detector.detect(vision.Frame.open(MODELS / "city.jpg"))
    assert detector.detect(city) == from_file  # an array directly
    frame = vision.Frame(city, timestamp_ms=5)
    assert (frame.width, frame.height, frame.stride, frame.format, frame.borrowed) == (800, 564, 2400, "rgb", True)
    # BGR (OpenCV's order) and BGRA give the same people.
    bgr = np.ascontiguousarray(city[..., ::-1])
    assert detector.detect(vision.Frame(bgr, format="bgr")) == from_file
    bgra = np.concatenate([bgr, np.full(city.shape[:2] + (1,), 255, np.uint8)], axis=2)
    assert detector.detect(vision.Frame(bgra, format="bgra")) == from_file
    # A crop is a view with the photo's row stride: read as it is, not copied.
    crop = city[:, 100:660]
    view = vision.Frame(crop)
    assert (view.width, view.stride) == (560, 2400)
    assert detector.detect(view) == detector.detect(np.ascontiguousarray(crop))
    # No copy: the frame sees what is written into the array after it was made.
    scratch = city.copy()
    held = vision.Frame(scratch)
    assert detector.detect(held)
    scratch[:] = 0
    assert detector.detect(held) == []


def test_bytes_frames_and_padded_rows(person: vision.Model, city: Any) -> None:
    detector = vision.Detector(person)
    expected = detector.detect(city)
    assert detector.detect(vision.Frame(city.tobytes(), width=800, height=564)) == expected
    padded = np.zeros((564, 800 * 3 + 64), np.uint8)
    padded[:, : 800 * 3] = city.reshape(564, -1)
    frame = vision.Frame(padded.tobytes(), width=800, height=564, stride=800 * 3 + 64, format="rgb")
    assert detector.detect(frame) == expected


def test_bad_frames_are_frame_invalid(city: Any) -> None:
    with pytest.raises(aisle.FrameInvalidError, match="needs 12 bytes, the buffer has 3"):
        vision.Frame(b"abc", width=2, height=2)
    with pytest.raises(aisle.FrameInvalidError, match="need width= and height="):
        vision.Frame(b"abc")
    with pytest.raises(aisle.FrameInvalidError, match="uint8"):
        vision.Frame(city.astype(np.float32))
    with pytest.raises(aisle.FrameInvalidError, match="ascontiguousarray"):
        vision.Frame(city[:, ::2])  # every other pixel: not adjacent
    with pytest.raises(aisle.FrameInvalidError, match="ascontiguousarray"):
        vision.Frame(city[::-1])  # rows bottom to top
    with pytest.raises(aisle.FrameInvalidError, match="channels"):
        vision.Frame(city, format="rgba")
    with pytest.raises(aisle.FrameInvalidError, match="width=10 was given"):
        vision.Frame(city, width=10)
    with pytest.raises(aisle.FrameInvalidError, match="format must be"):
        vision.Frame(city, format="yuv")  # type: ignore[arg-type]
    with pytest.raises(aisle.FrameInvalidError):
        vision.Frame(city[:, :, :2])
    with pytest.raises(aisle.FrameInvalidError, match="not int"):
        vision.Frame(3)
    with pytest.raises(aisle.ImageInvalidError):
        vision.Frame.decode(b"not an image")
    with pytest.raises(aisle.ImageInvalidError):
        vision.Frame.open(MODELS / "manifest.json")
    assert issubclass(aisle.FrameInvalidError, aisle.VisionError)


def _descriptor(tmp_path: Path, edit: Any) -> Path:
    d = json.loads(PERSON.read_text())
    d["model"] = str(MODELS / d["model"])
    edit(d)
    path = tmp_path / "edited.model.json"
    path.write_text(json.dumps(d))
    return path


def test_bad_descriptors_and_files_are_typed(tmp_path: Path) -> None:
    with pytest.raises(aisle.ModelHashMismatchError, match="0000"):
        vision.Model.load(_descriptor(tmp_path, lambda d: d.update(sha256="0" * 64)))
    with pytest.raises(aisle.ModelDescriptorInvalidError, match="colour_order"):
        vision.Model.load(_descriptor(tmp_path, lambda d: d["input"].update(colour_order="rgb")))
    with pytest.raises(aisle.ModelIoError):
        vision.Model.load(_descriptor(tmp_path, lambda d: d.update(model=str(tmp_path / "missing.onnx"))))
    with pytest.raises(aisle.ModelIoError):
        vision.Model.load(tmp_path / "nothing-here.model.json")
    (tmp_path / "broken.model.json").write_text("{ not json")
    with pytest.raises(aisle.ModelDescriptorInvalidError):
        vision.Model.load(tmp_path / "broken.model.json")
    # From bytes: the descriptor as a dict, the hash still checked.
    d = json.loads(PERSON.read_text())
    data = (MODELS / d.pop("model")).read_bytes()
    assert vision.Model.from_bytes(d, data).sha256 == d["sha256"]
    with pytest.raises(aisle.ModelHashMismatchError):
        vision.Model.from_bytes(json.dumps(d), data[:-1])


def test_detection_runs_on_several_threads_at_once(person: vision.Model, city: Any) -> None:
    detector = vision.Detector(person)
    expected = detector.detect(city)
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(detector.detect(city))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 3


def test_the_detector_model_is_replaced_between_frames(person: vision.Model, city: Any) -> None:
    detector = vision.Detector(person)
    old = detector.replace_model(vision.Model.load(FACES))
    assert old.name == person.name and detector.model.name == "centerface"
    assert {d["label"] for d in detector.detect(city)} == {"face"}


def _edge(tmp_path: Path) -> aisle.Edge:
    return aisle.Edge.open(tmp_path / "store.db", store_id="store-1", device_id="cam-box-1")


def _events(edge: aisle.Edge, stream: str = "vision") -> list[aisle.types.InsightEvent]:
    return [json.loads(r.payload) for r in edge.streams.read(stream, 0, 1000)]


def test_a_camera_panning_over_the_crowd_puts_insights_in_the_stream(
    tmp_path: Path, person: vision.Model, city: Any
) -> None:
    analytics: aisle.types.AnalyticsConfig = {
        "camera": "entrance-1",
        "interval_ms": 1000,
        "track_timeout_ms": 500,
        "lines": [{"name": "door", "from": (300, -100), "to": (300, 700), "hysteresis_px": 10}],
        "zones": [{"name": "till-1", "kind": "queue", "polygon": [(0, 300), (200, 300), (200, 564), (0, 564)]}],
    }
    edge = _edge(tmp_path)
    with vision.Pipeline(edge, person, analytics) as camera:
        assert (camera.camera, camera.stream, camera.model.name) == ("entrance-1", "vision", person.name)
        # A 560-px window panning right by 12 px per frame at 10 fps: views into the photo.
        for f in range(20):
            camera.push_blocking(vision.Frame(city[:, 12 * f : 12 * f + 560], timestamp_ms=f * 100))
    report = camera.stop()  # again: the same counters
    s = report["stats"]
    assert (s["frames_in"], s["frames_processed"], s["frames_dropped"], s["frames_failed"]) == (20, 20, 0, 0)
    assert (s["insights"], s["insights_failed"], s["last_error"]) == (2, 0, None)
    assert s["tracker"]["matched_high"] > 0.8 * s["tracker"]["high"]
    assert report["final_insight"] is not None and report["final_insight"]["start_ms"] == 1000
    events = _events(edge)
    assert [(e["type"], e["version"], e["at_ms"]) for e in events] == [("VisionInsight", 1, 1000), ("VisionInsight", 1, 2000)]
    for e in events:
        data = e["data"]
        assert (data["camera"], data["frames"], data["frames_dropped"], data["model"]) == ("entrance-1", 10, 0, person.name)
        zone = data["zones"][0]
        assert zone["name"] == "till-1" and zone["kind"] == "queue"
        assert zone["occupancy_max"] is not None and zone["occupancy_max"] >= 1
        assert sorted(data) == ["camera", "end_ms", "frames", "frames_dropped", "lines", "model", "start_ms", "zones"]
    # The scene slides left: people cross the door line one way only.
    ins = sum(e["data"]["lines"][0]["in"] or 0 for e in events)
    outs = sum(e["data"]["lines"][0]["out"] or 0 for e in events)
    assert ins >= 2 and outs == 0, events
    # The stream is durable: a store opened again reads the same insights.
    edge.close()
    assert _events(_edge(tmp_path)) == events


def test_a_full_queue_drops_the_oldest_frames_and_counts_them(tmp_path: Path, person: vision.Model, city: Any) -> None:
    edge = _edge(tmp_path)
    camera = vision.Pipeline(edge, person, {"camera": "till-2", "interval_ms": 1000}, queue_capacity=1, stream="till")
    pushed = [camera.push(vision.Frame(city, timestamp_ms=i * 10)) for i in range(30)]
    assert pushed[0] == "queued" and "dropped_oldest" in pushed
    assert camera.wait_idle(30.0)
    s = camera.stats()
    assert s["frames_in"] == 30 and s["queue_capacity"] == 1 and s["queued_max"] == 1
    assert s["frames_dropped"] == pushed.count("dropped_oldest") > 0
    assert s["frames_processed"] + s["frames_dropped"] == 30
    report = camera.stop()
    assert report["discarded"] == 0
    # The event tells how many frames were never analysed.
    (event,) = _events(edge, "till")
    assert event["data"]["frames_dropped"] == s["frames_dropped"]
    with pytest.raises(aisle.InvalidArgumentError, match="stopped"):
        camera.push(city)


def test_the_model_is_replaced_without_stopping_the_camera(tmp_path: Path, person: vision.Model, city: Any) -> None:
    edge = _edge(tmp_path)
    # Only people (class 1 of the person model) count, in a zone that is the whole picture.
    analytics = {"camera": "aisle-4", "interval_ms": 1000, "classes": [1],
                 "zones": [{"name": "all", "polygon": [[0, 0], [800, 0], [800, 564], [0, 564]]}]}
    camera = vision.Pipeline(edge, person, json.dumps(analytics))
    for ts in (0, 100, 200):
        camera.push_blocking(vision.Frame(city, timestamp_ms=ts))
    assert camera.wait_idle(30.0)
    # A model that does not verify never replaces the working one; a good one does, at once.
    with pytest.raises(aisle.ModelHashMismatchError):
        camera.replace_model(vision.Model.load(_descriptor(tmp_path, lambda d: d.update(sha256="0" * 64))))
    old = camera.replace_model(vision.Model.load(FACES))
    assert old.name == person.name and camera.model.name == "centerface"
    for ts in (1000, 1100, 1200):
        camera.push_blocking(vision.Frame(city, timestamp_ms=ts))
    s = camera.stop()["stats"]
    assert (s["frames_processed"], s["model_replacements"], s["frames_failed"]) == (6, 1, 0)
    first, second = (e["data"] for e in _events(edge))
    # People seen in the first second; the face model finds no class-1 objects after it.
    assert first["zones"][0]["occupancy_max"] is not None and first["zones"][0]["occupancy_max"] >= 4
    assert second["zones"][0]["occupancy_max"] == 0 and second["model"] == "centerface"


def test_bad_pipeline_settings_are_typed(tmp_path: Path, person: vision.Model) -> None:
    edge = _edge(tmp_path)
    with pytest.raises(aisle.AnalyticsConfigInvalidError, match="zones"):
        vision.Pipeline(edge, person, {"camera": "c", "zones": [{"name": "z", "polygon": [[0, 0]]}]})
    with pytest.raises(aisle.AnalyticsConfigInvalidError, match="colour"):
        vision.Pipeline(edge, person, '{"camera": "c", "colour": 1}')
    with pytest.raises(aisle.InvalidArgumentError, match="queue_capacity"):
        vision.Pipeline(edge, person, {"camera": "c"}, queue_capacity=0)
    camera = vision.Pipeline(edge, person, {"camera": "c"})
    with pytest.raises(aisle.FrameInvalidError):
        camera.push(b"\x00" * 10)
    with pytest.raises(aisle.InvalidArgumentError):
        camera.wait_idle(-1.0)
    assert camera.stop(discard=True)["stats"]["frames_in"] == 0


def test_the_docs_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "python.md").read_text(encoding="utf-8")
    section = doc.split("\n## Vision\n", 1)[1].split("\n## ", 1)[0]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AISLE_MODELS", str(MODELS))
    ns: dict[str, Any] = {}
    exec(compile(example, "docs/python.md", "exec"), ns)
    assert ns["people"] and ns["stats"]["frames_processed"] == 20
    assert [e["data"]["frames"] for e in ns["insights"]] == [10, 10]
    assert sum(e["data"]["lines"][0]["in"] for e in ns["insights"]) >= 2
