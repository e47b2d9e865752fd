"""CRDT sync from Python: HQ and registers on real store files exchange bytes and converge; a
hub written with Python's own HTTP server (``handle_http``); LAN peer sync; the background
syncer; refusals as typed exceptions."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import aisle


def open_store(tmp_path: Path, store: str, device: str) -> aisle.Edge:
    return aisle.Edge.open(tmp_path / f"{store}-{device}.db", store_id=store, device_id=device, currency="EUR")


def enrol_all(*edges: aisle.Edge) -> None:
    cards = [e.sync.identity() for e in edges]
    for e in edges:
        for c in cards:
            e.sync.enroll(c)


def pull(into: aisle.Edge, source: aisle.Edge) -> int:
    chunks = source.sync.changes_since(into.sync.request())
    for chunk in chunks:
        into.sync.apply(chunk)
    return len(chunks)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[aisle.Edge, aisle.Edge, aisle.Edge]]:
    hq, r1, r2 = open_store(tmp_path, "hq", "hq-1"), open_store(tmp_path, "s1", "r1"), open_store(tmp_path, "s1", "r2")
    hq.sync.set_role("hq")
    enrol_all(hq, r1, r2)
    yield hq, r1, r2
    for e in (hq, r1, r2):
        e.close()


def test_identity_is_a_card_other_replicas_enroll(fleet: tuple[aisle.Edge, aisle.Edge, aisle.Edge]) -> None:
    hq, r1, _ = fleet
    card = r1.sync.identity()
    assert (card["store_id"], card["device_id"], card["role"]) == ("s1", "r1", "store")
    assert len(card["public_key"]) == 64 and card["delegated"] == []
    assert hq.sync.identity()["role"] == "hq"
    assert {d["device_id"] for d in hq.sync.devices()} == {"hq-1", "r1", "r2"}
    with pytest.raises(aisle.InvalidArgumentError, match="public_key"):
        hq.sync.enroll({**card, "public_key": "00"})
    with pytest.raises(aisle.InvalidArgumentError, match="role"):
        hq.sync.set_role("boss")


def test_prices_stock_carts_and_customers_converge(fleet: tuple[aisle.Edge, aisle.Edge, aisle.Edge]) -> None:
    hq, r1, r2 = fleet
    hq.upsert_products([aisle.Product("BEER", "Beer 0.5 l", aisle.Money.parse("1.20", "EUR"), "standard")])
    for r in (r1, r2):
        pull(r, hq)
        assert r.product("BEER").price == aisle.Money.parse("1.20", "EUR")

    r1.sync.stock_add("BEER", "shelf", 24)
    pull(r2, r1)
    # Partitioned: both sell, r2 counts the shelf, both add to a shared cart, a customer is edited.
    assert r1.sync.stock_add("BEER", "shelf", -3) == 21
    r2.sync.stock_add("BEER", "shelf", -2)
    r2.sync.stocktake("BEER", "shelf", 20)
    r1.sync.cart_add("cart-7", "BEER", 1)
    r2.sync.cart_add("cart-7", "BEER", 2)
    r1.sync.upsert_customer("C-1", {"name": "Ada", "points": 10, "card": b"\x01\x02", "note": None})
    for _ in range(2):
        for r in (r1, r2):
            pull(hq, r)
        for r in (r1, r2):
            pull(r, hq)
    for r in (r1, r2):
        assert r.sync.stock_level("BEER", "shelf") == 17
        assert r.sync.cart_lines("cart-7") == [("BEER", 3)]
        assert r.sync.customer("C-1") == {"name": "Ada", "points": 10, "card": b"\x01\x02", "note": None}
    assert hq.sync.stock_level("BEER", "shelf", scope="store:s1") == 17
    assert r1.sync.digest() == r2.sync.digest()
    assert hq.sync.digest("store:s1") == r1.sync.digest("store:s1")
    assert len(r1.sync.digest()) == 64

    # Delete on one side, update on the other: the update (an add) wins; a re-add works after a delete.
    assert r1.sync.delete_customer("C-1") is True
    assert r1.sync.customer("C-1") is None
    assert r2.sync.update_customer("C-1", "points", 11) is True
    pull(hq, r1), pull(hq, r2), pull(r1, hq), pull(r2, hq)
    assert r1.sync.customer("C-1") == r2.sync.customer("C-1")
    with pytest.raises(TypeError, match="bool"):
        r1.sync.upsert_customer("C-2", {"vip": True})

    stats = hq.sync.stats()
    assert stats["slots"] > 0 and stats["metadata_bytes"] > 0
    assert set(hq.sync.compact()) == {"removed_slots", "waiting"}
    vector = r1.sync.vector()
    assert "store:s1" in vector and all(len(site) == 16 for site in vector["store:s1"])


def test_refused_messages_raise_their_sync_error_and_change_nothing(fleet: tuple[aisle.Edge, aisle.Edge, aisle.Edge]) -> None:
    hq, r1, _ = fleet
    r1.sync.stock_add("MILK", "shelf", 5)
    chunks = r1.sync.changes_since(hq.sync.request())
    before = hq.sync.digest()
    with pytest.raises(aisle.SyncDecodeError):
        hq.sync.apply(b"garbage")
    forged = bytearray(chunks[0])
    forged[-1] ^= 1
    with pytest.raises(aisle.SyncBadSignatureError):
        hq.sync.apply(bytes(forged))
    assert hq.sync.digest() == before
    report = hq.sync.apply(chunks[0])
    assert report["from"] == "s1/r1" and report["changed"] >= 1 and report["batch_complete"]
    with pytest.raises(aisle.SyncReplayError):
        hq.sync.apply(chunks[0])
    assert isinstance(aisle.SyncReplayError("SYNC_REPLAY", "x"), aisle.SyncError)


@pytest.fixture
def python_hub(fleet: tuple[aisle.Edge, aisle.Edge, aisle.Edge]) -> Iterator[str]:
    """HQ served by Python's standard HTTP server: ``handle_http`` is the whole hub."""
    hq = fleet[0]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, content_type, answer = hq.sync.handle_http("POST", self.path, body)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_registers_sync_with_a_hub_written_in_python(fleet: tuple[aisle.Edge, aisle.Edge, aisle.Edge], python_hub: str) -> None:
    hq, r1, r2 = fleet
    hq.upsert_products([aisle.Product("TEA", "Tea", aisle.Money.parse("2.50", "EUR"), "reduced")])
    r1.sync.stock_add("TEA", "shelf", 12)
    round1 = r1.sync.sync_with_hub(python_hub)
    assert round1["peer"] == python_hub and round1["pulled"] >= 1 and round1["pushed"]["applied"] >= 1
    round2 = r2.sync.sync_with_hub(python_hub, headers={"X-Register": "r2"}, timeout=5.0)
    assert round2["pulled_changed"] >= 1
    assert r2.product("TEA").price == aisle.Money.parse("2.50", "EUR")
    assert r2.sync.stock_level("TEA", "shelf") == 12
    assert hq.sync.digest("store:s1") == r2.sync.digest("store:s1")

    # Not found, refused and unreachable are typed.
    status, content_type, body = hq.sync.handle_http("GET", "/v1/sync/exchange", b"")
    assert (status, content_type) == (405, "application/json") and b"METHOD_NOT_ALLOWED" in body
    with pytest.raises(aisle.SyncUnreachableError):
        r1.sync.sync_with_hub("http://127.0.0.1:9", timeout=2.0)
    with pytest.raises(aisle.InvalidArgumentError):
        r1.sync.sync_with_hub("ftp://hq")
    with pytest.raises(aisle.InvalidArgumentError, match="timeout"):
        r1.sync.sync_with_hub(python_hub, timeout=-1.0)


def test_stranger_is_refused_by_the_hub(tmp_path: Path, fleet: tuple[aisle.Edge, aisle.Edge, aisle.Edge], python_hub: str) -> None:
    hq = fleet[0]
    stranger = open_store(tmp_path, "s1", "r9")
    stranger.sync.enroll(hq.sync.identity())
    with pytest.raises(aisle.SyncPeerRefusedError, match="SYNC_UNKNOWN_DEVICE"):
        stranger.sync.sync_with_hub(python_hub)
    stranger.close()


def test_lan_peers_and_the_background_syncer(fleet: tuple[aisle.Edge, aisle.Edge, aisle.Edge]) -> None:
    _, r1, r2 = fleet
    r2.sync.cart_add("cart-1", "MILK", 2)
    with r2.sync.listen_lan("127.0.0.1:0") as server:
        addr = server.addr
        assert addr is not None and addr.startswith("127.0.0.1:")
        report = r1.sync.sync_with_peer(addr)
        assert report["pulled_changed"] >= 1
        assert r1.sync.cart_lines("cart-1") == [("MILK", 2)]

        with r1.sync.start_syncer(peers=[addr], interval=60.0) as syncer:
            r1.sync.cart_add("cart-1", "MILK", 1)
            syncer.sync_now()
            deadline = time.monotonic() + 20
            while r2.sync.cart_lines("cart-1") != [("MILK", 3)]:
                assert time.monotonic() < deadline, syncer.status()
                time.sleep(0.01)
            status = syncer.status()
            assert status[0]["peer"] == f"tcp://{addr}" and status[0]["failures"] == 0
    assert server.addr is None
    with pytest.raises(aisle.SyncUnreachableError):
        r1.sync.sync_with_peer(addr, timeout=2.0)
    with pytest.raises(aisle.InvalidArgumentError, match="interval"):
        r1.sync.start_syncer(peers=[addr], interval=0)
