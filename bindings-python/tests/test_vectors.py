"""The shared commerce vectors (repo root ``tests/vectors/commerce``, format in its README):
the same pricing requests and expected results every language's suite runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

import aisle

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors" / "commerce"
MIN_VECTORS = 40


def first_mismatch(expected: Any, actual: Any, path: str = "$") -> Optional[str]:
    """The first path where ``actual`` does not match ``expected`` (objects: a subset; arrays:
    the same length, element-wise; anything else: equal, with the same type)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            if key not in actual:
                return f"{path}.{key}: missing (expected {value!r})"
            found = first_mismatch(value, actual[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{path}: expected {len(expected)} elements, got {actual!r}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            found = first_mismatch(e, a, f"{path}[{i}]")
            if found:
                return found
        return None
    # bool is an int in Python: compare types too, so true never equals 1.
    if expected == actual and type(expected) is type(actual):
        return None
    return f"{path}: expected {expected!r}, got {actual!r}"


def run_vector(vector: dict[str, Any], price: Callable[[dict[str, Any]], Any]) -> Optional[str]:
    try:
        actual = price(vector["request"])
    except aisle.AisleError as e:
        if "error" not in vector:
            return f"expected a result, got the error {e}"
        if e.code != vector["error"]["code"]:
            return f"$error.code: expected {vector['error']['code']}, got {e.code} ({e})"
        if not isinstance(e, aisle.ERROR_CLASSES[e.code]):
            return f"$error: {type(e).__name__} is not the class of {e.code}"
        part = vector["error"].get("message_contains")
        if part is not None and part not in str(e):
            return f"$error.message: expected it to contain {part!r}, got {str(e)!r}"
        return None
    if "error" in vector:
        return f"expected the error {vector['error']}, got a result"
    return first_mismatch(vector["expect"], actual)


def load_vectors() -> list[dict[str, Any]]:
    if not VECTORS.is_dir():
        pytest.fail(f"the shared commerce vectors are missing: no folder {VECTORS} (see tests/vectors/README.md)")
    vectors = []
    for path in sorted(VECTORS.glob("*.json")):
        vector = json.loads(path.read_text(encoding="utf-8"))
        assert vector.get("name") == path.stem, f"{path.name}: name {vector.get('name')!r} is not the file name"
        assert ("expect" in vector) != ("error" in vector), f"{path.name}: needs exactly one of expect or error"
        vectors.append(vector)
    return vectors


def _via_price_json(request: dict[str, Any]) -> Any:
    return json.loads(aisle.price_json(json.dumps(request)))


@pytest.mark.parametrize("price", [_via_price_json, aisle.price], ids=["price_json", "price"])
def test_every_commerce_vector(price: Callable[[dict[str, Any]], Any]) -> None:
    vectors = load_vectors()
    assert len(vectors) >= MIN_VECTORS, f"only {len(vectors)} vectors in {VECTORS}; expected at least {MIN_VECTORS}"
    failures = [f"{v['name']}: {problem}" for v in vectors if (problem := run_vector(v, price))]
    assert not failures, f"{len(failures)} of {len(vectors)} vectors failed:\n" + "\n".join(failures)


def test_price_and_price_json_agree() -> None:
    # The dict entry point is the JSON one with json.dumps/loads around it: same result, key for key.
    for vector in load_vectors():
        if "expect" in vector:
            assert aisle.price(vector["request"]) == _via_price_json(vector["request"]), vector["name"]


def test_the_matcher_reports_paths() -> None:
    assert first_mismatch({"a": [{"b": 1}]}, {"a": [{"b": 2}], "c": 0}) == "$.a[0].b: expected 1, got 2"
    assert first_mismatch({"a": True}, {"a": 1}) == "$.a: expected True, got 1"
    assert first_mismatch([{}], [1, 2]) == "$: expected 1 elements, got [1, 2]"
    assert first_mismatch({"x": {}}, {}) == "$.x: missing (expected {})"
    assert first_mismatch({"a": [{}]}, {"a": [{"anything": 1}]}) is None
