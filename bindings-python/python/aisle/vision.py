"""Edge vision: detectors run on the device (tract, pure Rust), camera pipelines, insights.

Frames go in, detections come out; only aggregated insights leave, through a forward stream::

    import numpy as np
    from aisle import vision

    model = vision.Model.load("target/models/person-ssdlite.model.json")  # SHA-256 verified
    detector = vision.Detector(model)
    people = detector.detect(rgb_array)          # H x W x 3 uint8, read in place (no copy)

    with vision.Pipeline(edge, model, {"camera": "door", "lines": [...]}) as camera:
        for ts, bgr in frames:
            camera.push(vision.Frame(bgr, format="bgr", timestamp_ms=ts))   # "queued" / "dropped_oldest"
    events = [json.loads(r.payload) for r in edge.streams.read("vision")]

A frame is a numpy ``uint8`` array ``H×W×3`` (rgb; ``format="bgr"`` for OpenCV) or ``H×W×4``
(rgba/bgra) — a crop ``img[y0:y1, x0:x1]`` works as it is, without copying — or ``bytes``
with ``width``, ``height``, ``format`` and ``stride``; ``Frame.open(path)`` decodes a JPEG or
PNG. Errors are ``aisle.VisionError`` subclasses (``FrameInvalidError``,
``ModelHashMismatchError``, ...). Result shapes are the ``TypedDict``s in :mod:`aisle.types`.
Guide: docs/python.md ("Vision") and docs/vision.md.
"""

from __future__ import annotations

from ._native import Detector, Frame, Model, Pipeline

__all__ = ["Model", "Frame", "Detector", "Pipeline"]
