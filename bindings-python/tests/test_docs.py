"""The quickstart in docs/python.md runs as written, so the docs cannot drift from the API."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

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
