"""The examples in docs/python.md run as written, so the docs cannot drift from the API."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import aisle

DOC = Path(__file__).resolve().parents[2] / "docs" / "python.md"


def test_the_quickstart_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    quickstart = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)[0]
    monkeypatch.chdir(tmp_path)  # it opens "store.db" in the working directory
    namespace: dict[str, object] = {}
    exec(compile(quickstart, str(DOC), "exec"), namespace)
    priced = namespace["priced"]
    assert isinstance(priced, dict) and priced["total"] == {"minor": 1682, "currency": "EUR"}
    sale = namespace["sale"]
    assert isinstance(sale, dict) and sale["settlement"]["due"] == {"minor": 1680, "currency": "EUR"}
    assert os.path.exists(tmp_path / "store.db")


def _section_example(heading: str) -> str:
    """The first Python block under a `## heading` of the page."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)[0]


def _run(example: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(example, str(DOC), "exec"), namespace)
    return namespace


def test_the_gift_card_and_exchange_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ns = _run(_section_example("Gift cards, store credit, exchanges"), tmp_path, monkeypatch)
    x = ns["x"]
    assert isinstance(x, dict) and x["difference"] == {"minor": 3500, "currency": "EUR"}
    assert x["sale"]["settlement"]["tenders"][0]["reference"] == "SC-register-1-000002"
    cards = ns["cards"]
    assert isinstance(cards, aisle.StoredValue)
    assert cards.account("gift_card", "GC-000123")["status"] == "frozen"
    assert cards.balance("gift_card", "GC-000123") == aisle.Money(2500, "EUR")


def test_the_store_and_forward_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ns = _run(_section_example("Store-and-forward"), tmp_path, monkeypatch)
    assert ns["footfall"] == [
        {"type": "footfall", "count": 12},
        {"type": "queue", "length": 3},
        {"type": "queue", "length": 5},
    ]
    hq = ns["hq"]
    assert isinstance(hq, aisle.Ingest) and hq.high_water("store-042", "register-1", "insights") == 3
    store = ns["store"]
    assert isinstance(store, aisle.Edge) and not store.streams.is_running()
    store.close()
