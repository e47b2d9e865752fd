"""The stubs are checked against the native module (stubtest) and used by a strict sample."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=HERE)


def test_stubs_match_the_native_module() -> None:
    result = _run("mypy.stubtest", "aisle", "--concise")
    assert result.returncode == 0, result.stdout + result.stderr


def test_sample_type_checks_strictly() -> None:
    result = _run("mypy", "--strict", str(HERE / "typing_sample.py"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_sample_with_a_type_error_is_caught(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('import aisle\nm: aisle.Money = aisle.Money(1, "EUR")\nx: str = m.minor\n')
    result = _run("mypy", "--strict", str(bad))
    assert result.returncode != 0 and "Incompatible types" in result.stdout
