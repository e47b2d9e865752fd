"""HQ authoring from a Python script through the real hub (`aisle-hub`, SQLite backend, run as
its own process on loopback): the script is a normal replica with role "hq" that publishes a
price list and a promotion; a register, enrolled at the hub, syncs and sells at the new price.
No second implementation of the rules: the script uses the same library as the register."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import aisle

ADMIN = "test-admin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[str]:
    binary = os.environ.get("AISLE_HUB_BIN")
    assert binary, "AISLE_HUB_BIN is not set: run scripts/test-python.sh (it builds aisle-hub)"
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--database", f"sqlite:{tmp_path / 'hub.db'}", "--listen", f"127.0.0.1:{port}", "--admin-token", ADMIN, "--log", "text"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/readyz", timeout=1).read()
            break
        except OSError:
            assert proc.poll() is None, "aisle-hub exited"
            assert time.monotonic() < deadline, "aisle-hub did not become ready"
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def enrol(url: str, edge: aisle.Edge) -> None:
    request = urllib.request.Request(
        f"{url}/v1/admin/devices",
        data=json.dumps(edge.sync.identity()).encode(),
        headers={"Authorization": f"Bearer {ADMIN}"},
        method="POST",
    )
    assert urllib.request.urlopen(request, timeout=10).status == 201
    edge.sync.enroll(urllib.request.urlopen(f"{url}/v1/sync/identity", timeout=10).read().decode())


def eur(amount: str) -> aisle.Money:
    return aisle.Money.parse(amount, "EUR")


def test_a_python_hq_script_publishes_through_the_hub(tmp_path: Path, hub: str) -> None:
    with aisle.Edge.open(tmp_path / "pricing.db", store_id="hq", device_id="pricing-script") as hq, aisle.Edge.open(
        tmp_path / "register.db", store_id="s1", device_id="r1"
    ) as register:
        hq.sync.set_role("hq")
        enrol(hub, hq)
        enrol(hub, register)

        # The script: catalog, a price list and a promotion, then one round with the hub.
        hq.upsert_products([aisle.Product("TEA", "Green tea", eur("2.50"), "reduced")])
        hq.upsert_price_list({"id": "members", "name": "Members", "currency": "EUR", "prices": {"TEA": "1.99"}})
        hq.set_promotions([{"id": "TEA-10", "rule": {"type": "percent_off", "target": {"skus": ["TEA"]}, "percent": "10"}}])
        assert hq.sync.sync_with_hub(hub)["pushed"]["applied"] >= 1

        # The register picks it up, sells with it, and reports its stock back.
        round_ = register.sync.sync_with_hub(hub)
        assert round_["pulled_changed"] > 0
        assert register.product("TEA").price == eur("2.50")
        assert [p["id"] for p in register.price_lists()] == ["members"]
        assert len(register.promotions()) == 1
        register.sync.stock_add("TEA", "shelf", 40)
        register.sync.sync_with_hub(hub)
        # An HQ replica holds the scopes of the stores whose devices it knows.
        hq.sync.enroll(register.sync.identity())
        hq.sync.sync_with_hub(hub)
        assert hq.sync.stock_level("TEA", "shelf", scope="store:s1") == 40
        assert hq.sync.digest("global") == register.sync.digest("global")
