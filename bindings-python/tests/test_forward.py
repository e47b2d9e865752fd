"""Store-and-forward as a register and its HQ backend would use it from Python: streams in the
store file, a callback exporter that hands batches to Python code (and retries when it
raises), and `aisle.Ingest` on the receiving side applying each record exactly once — fed by
a directory exporter's files, by a callback, and by the core's HTTP exporter posting to a
Python HTTP server on loopback."""

from __future__ import annotations

import gzip
import http.server
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import aisle
from aisle.types import ExporterConfig, RetryPolicy, StreamConfig

STORE, DEVICE = "store-042", "register-1"
# Retries in tens of milliseconds, so a test that makes a delivery fail does not wait long.
FAST_RETRY: RetryPolicy = {"initial_ms": 20, "max_ms": 100, "probe_ms": 20}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[aisle.Edge]:
    with aisle.Edge.open(tmp_path / "register.db", store_id=STORE, device_id=DEVICE) as edge:
        yield edge


def sales_stream(name: str = "sales", max_bytes: int = 1 << 20) -> StreamConfig:
    return {"name": name, "max_bytes": max_bytes, "when_full": "reject", "priority": 10}


def callback_exporter(name: str = "backend", batch_max_records: int = 500) -> ExporterConfig:
    return {"name": name, "sink": {"type": "callback"}, "retry": FAST_RETRY, "batch_max_records": batch_max_records}


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Polls a condition the workers make true; fails (never hangs) after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def test_a_stream_round_trip(store: aisle.Edge) -> None:
    streams = store.streams
    assert streams is store.streams
    streams.create({"name": "insights", "max_bytes": 1 << 20, "when_full": "drop_oldest", "priority": 1})
    assert streams.config("insights") == {
        "name": "insights",
        "storage": "durable",
        "max_bytes": 1 << 20,
        "max_age_ms": None,
        "when_full": "drop_oldest",
        "priority": 1,
        "format": "json",
    }
    # The commerce outbox exists from the start.
    assert [c["name"] for c in streams.list()] == ["commerce", "insights"]

    before = time.time_ns() // 1_000_000
    assert streams.append("insights", {"type": "footfall", "count": 12}) == 1  # a dict: JSON
    assert streams.append("insights", '{"type": "queue", "length": 3}') == 2  # str: the text itself
    assert streams.append("insights", b"[1, 2, 3]") == 3  # bytes as they are
    assert streams.append_batch("insights", [{"zone": z} for z in "ABC"]) == [4, 5, 6]
    records = streams.read("insights")
    assert [r.seq for r in records] == [1, 2, 3, 4, 5, 6]
    assert records[0].payload == b'{"type":"footfall","count":12}'
    assert [json.loads(r.payload) for r in records[1:3]] == [{"type": "queue", "length": 3}, [1, 2, 3]]
    assert all(before <= r.at_ms <= time.time_ns() // 1_000_000 for r in records)
    assert streams.read("insights", after_seq=4, max_records=1) == [records[4]]

    status = streams.stream_status("insights")
    assert (status["records"], status["first_seq"], status["last_seq"], status["exporters"]) == (6, 1, 6, [])
    assert status["bytes"] == sum(len(r.payload) for r in records)
    assert [s["name"] for s in json.loads(streams.status_json())] == [s["name"] for s in streams.status()]

    # A bytes stream in memory takes any bytes.
    streams.create({"name": "frames", "storage": "memory", "max_bytes": 4096, "when_full": "reject", "format": "bytes"})
    blob = bytes(range(256))
    assert streams.append("frames", bytearray(blob)) == 1
    assert streams.read("frames")[0].payload == blob
    assert streams.emit_status("insights") == 7
    assert {s["name"] for s in json.loads(streams.read("insights", after_seq=6)[0].payload)} == {
        "commerce",
        "insights",
        "frames",
    }

    # Errors are typed, under aisle.ForwardError, and say what was wrong.
    with pytest.raises(aisle.InvalidPayloadError) as bad_payload:
        streams.append("insights", "not json")
    assert bad_payload.value.code == "INVALID_PAYLOAD" and isinstance(bad_payload.value, aisle.ForwardError)
    with pytest.raises(aisle.StreamNotFoundError) as missing:
        streams.append("nope", b"{}")
    assert missing.value.code == "STREAM_NOT_FOUND" and '"nope"' in str(missing.value)
    with pytest.raises(aisle.StreamExistsError):
        streams.create({"name": "insights", "storage": "memory", "max_bytes": 10, "when_full": "reject"})
    with pytest.raises(TypeError):
        streams.append("insights", 42)  # type: ignore[arg-type]
    # All or none: one bad payload in a batch appends nothing.
    with pytest.raises(aisle.InvalidPayloadError):
        streams.append_batch("insights", [b"{}", b"{oops"])
    assert streams.stream_status("insights")["last_seq"] == 7

    streams.delete("frames")
    with pytest.raises(aisle.StreamNotFoundError):
        streams.config("frames")


def test_configs_are_checked_by_the_core_and_errors_name_the_path(store: aisle.Edge) -> None:
    streams = store.streams
    with pytest.raises(aisle.InvalidArgumentError) as info:
        streams.create({"name": "s", "max_bytes": "lots", "when_full": "reject"})  # type: ignore[typeddict-item]
    assert "stream config at max_bytes" in str(info.value)
    with pytest.raises(aisle.InvalidArgumentError) as info:
        streams.create({"name": "s", "max_bytes": 10})  # type: ignore[typeddict-item]
    assert "when_full" in str(info.value)  # no silent default for what to lose
    with pytest.raises(aisle.InvalidArgumentError) as info:
        streams.create({"name": "has space", "max_bytes": 10, "when_full": "reject"})
    assert "has space" in str(info.value)
    # The same document as JSON text.
    streams.create('{"name": "logs", "max_bytes": 100, "when_full": "drop_oldest"}')
    assert streams.config("logs")["when_full"] == "drop_oldest"

    with pytest.raises(aisle.InvalidArgumentError) as info:
        streams.add_exporter("logs", {"name": "hq", "sink": {"type": "http", "url": "http://x", "timeout_ms": "soon"}})  # type: ignore[typeddict-item]
    assert "at sink" in str(info.value) and '"soon"' in str(info.value)
    with pytest.raises(aisle.InvalidArgumentError) as info:
        streams.add_exporter("logs", {"name": "hq", "sink": {"type": "ftp"}})  # type: ignore[typeddict-item]
    assert "ftp" in str(info.value)
    with pytest.raises(aisle.StreamNotFoundError):
        streams.add_exporter("nope", callback_exporter())
    with pytest.raises(aisle.ExporterNotFoundError) as no_exporter:
        streams.set_callback("logs", "backend", lambda batch: None)
    assert no_exporter.value.code == "EXPORTER_NOT_FOUND"
    streams.add_exporter("logs", '{"name": "usb", "sink": {"type": "directory", "path": "/tmp/aisle-never-started"}}')
    with pytest.raises(aisle.InvalidArgumentError) as info:
        streams.set_callback("logs", "usb", lambda batch: None)
    assert "not to a callback" in str(info.value)
    with pytest.raises(TypeError):
        streams.set_callback("logs", "usb", "not a function")  # type: ignore[arg-type]
    for bad in (-1.0, float("nan")):
        with pytest.raises(aisle.InvalidArgumentError):
            streams.flush(bad)


def test_stream_full_is_a_typed_error_and_drop_oldest_counts(store: aisle.Edge) -> None:
    streams = store.streams
    streams.create({"name": "tiny", "max_bytes": 10, "when_full": "reject"})
    assert streams.append("tiny", '"abcdef"') == 1  # 8 bytes
    with pytest.raises(aisle.StreamFullError) as full:
        streams.append("tiny", '"abc"')  # 5 more do not fit
    assert full.value.code == "STREAM_FULL" and isinstance(full.value, aisle.ForwardError)
    assert '"tiny" holds 8 of its 10 bytes; 5 more do not fit' in str(full.value)
    status = streams.stream_status("tiny")
    assert (status["records"], status["rejected_full"]) == (1, 1)
    assert [r.payload for r in streams.read("tiny")] == [b'"abcdef"']  # nothing stored was touched

    streams.create({"name": "ring", "max_bytes": 10, "when_full": "drop_oldest"})
    for n in range(5):
        streams.append("ring", str(1000 + n))  # 4 bytes each: two fit
    assert [r.payload for r in streams.read("ring")] == [b"1003", b"1004"]
    assert streams.stream_status("ring")["dropped_full"] == 3


def test_records_survive_a_restart_and_forwarding_resumes_where_it_stopped(tmp_path: Path) -> None:
    path = tmp_path / "register.db"
    delivered: list[int] = []

    def deliver(batch: aisle.Batch) -> None:
        delivered.extend(json.loads(r.payload)["n"] for r in batch.records)

    with aisle.Edge.open(path, store_id=STORE, device_id=DEVICE) as store:
        store.streams.create(sales_stream())
        store.streams.create({"name": "scratch", "storage": "memory", "max_bytes": 100, "when_full": "reject"})
        store.streams.append("scratch", b"{}")
        store.streams.add_exporter("sales", callback_exporter())
        store.streams.set_callback("sales", "backend", deliver)
        store.streams.start()
        assert store.streams.append_batch("sales", [{"n": n} for n in range(3)]) == [1, 2, 3]
        assert store.streams.flush(10.0)
        store.streams.stop()
        store.streams.set_exporter_enabled("sales", "backend", False)
        store.streams.append_batch("sales", [{"n": n} for n in range(3, 6)])
        assert store.streams.flush(0.0)  # a paused exporter is not waited for, and holds its records...
        assert store.streams.stream_status("sales")["exporters"][0]["state"] == "disabled"
    assert delivered == [0, 1, 2]

    with aisle.Edge.open(path, store_id=STORE, device_id=DEVICE) as store:
        streams = store.streams
        assert not streams.is_running()
        assert [json.loads(r.payload)["n"] for r in streams.read("sales")] == [3, 4, 5]  # ...durably
        assert "scratch" not in [c["name"] for c in streams.list()]  # memory streams are gone
        assert streams.append("sales", {"n": 6}) == 7  # numbering continues
        streams.set_exporter_enabled("sales", "backend", True)
        streams.start()
        # The callback is not persisted: the exporter waits for it, keeping its place.
        wait_until(
            lambda: streams.stream_status("sales")["exporters"][0]["state"] == "waiting_for_callback",
            "the exporter to wait for its callback",
        )
        streams.set_callback("sales", "backend", deliver)
        assert streams.flush(10.0)
        assert delivered == list(range(7))
        exporter = streams.stream_status("sales")["exporters"][0]
        assert (exporter["acked_seq"], exporter["backlog_records"], exporter["delivered_records"]) == (7, 0, 7)
        assert streams.read("sales") == []  # acknowledged by every exporter: reclaimed


def test_a_callback_exporter_delivers_in_order_and_retries_after_an_exception(store: aisle.Edge) -> None:
    streams = store.streams
    streams.create(sales_stream())
    streams.create({"name": "audit", "max_bytes": 1 << 20, "when_full": "reject"})
    streams.add_exporter("sales", callback_exporter(batch_max_records=3))
    streams.append_batch("sales", [{"n": n} for n in range(10)])

    received: list[int] = []
    keys: list[str] = []
    threads: set[int] = set()
    hq_down = threading.Event()
    hq_down.set()
    failures = 0

    def deliver(batch: aisle.Batch) -> None:
        nonlocal failures
        threads.add(threading.get_ident())
        # The store can be used from the callback: here, an audit record per attempt.
        store.streams.append("audit", {"key": batch.idempotency_key})
        if batch.first_seq == 4 and hq_down.is_set():
            failures += 1
            raise ConnectionError("HQ is down")
        assert (batch.store, batch.device, batch.stream, batch.format) == (STORE, DEVICE, "sales", "json")
        assert batch.idempotency_key == f"{STORE}/{DEVICE}/sales/{batch.first_seq}-{batch.last_seq}"
        assert len(batch) == len(batch.records) <= 3
        keys.append(batch.idempotency_key)
        received.extend(json.loads(r.payload)["n"] for r in batch.records)

    streams.set_callback("sales", "backend", deliver)
    assert streams.stream_status("sales")["exporters"][0]["state"] == "stopped"
    streams.start()
    assert streams.is_running()

    # The second batch fails until HQ is back; the exporter retries it and shows why.
    def retrying() -> bool:
        exporter = streams.stream_status("sales")["exporters"][0]
        return exporter["state"] == "retrying" and failures >= 2

    wait_until(retrying, "the exporter to retry the failed batch")
    exporter = streams.stream_status("sales")["exporters"][0]
    assert exporter["last_error"] == "ConnectionError: HQ is down"
    assert exporter["acked_seq"] == 3 and exporter["backlog_records"] == 7 and exporter["attempts"] >= 1
    assert received == [0, 1, 2]
    assert not streams.flush(0.05)

    hq_down.clear()
    # flush releases the GIL: the worker takes it to run the callback meanwhile.
    assert streams.flush(10.0)
    assert received == list(range(10))  # in order, each once
    assert keys == [f"{STORE}/{DEVICE}/sales/{a}-{b}" for a, b in ((1, 3), (4, 6), (7, 9), (10, 10))]
    assert threading.get_ident() not in threads  # on the forwarding thread, not the caller's
    exporter = streams.stream_status("sales")["exporters"][0]
    assert (exporter["state"], exporter["acked_seq"], exporter["delivered_records"], exporter["attempts"]) == (
        "idle",
        10,
        10,
        0,
    )
    audited = [json.loads(r.payload)["key"] for r in streams.read("audit", max_records=1000)]
    assert audited.count(f"{STORE}/{DEVICE}/sales/4-6") == failures + 1

    streams.stop()
    assert not streams.is_running()
    streams.append("sales", {"n": 10})
    assert not streams.flush(0.05)  # stopped: nothing is sent
    assert received == list(range(10))


def test_a_callback_can_stop_forwarding_and_close_waits_for_nothing(store: aisle.Edge) -> None:
    streams = store.streams
    streams.create(sales_stream())
    streams.add_exporter("sales", callback_exporter(batch_max_records=1))
    streams.append_batch("sales", [{"n": n} for n in range(3)])
    seen: list[int] = []

    def deliver_one_then_stop(batch: aisle.Batch) -> None:
        seen.append(batch.first_seq)
        streams.stop()  # from the worker itself: must not wait for itself

    streams.set_callback("sales", "backend", deliver_one_then_stop)
    streams.start()
    wait_until(lambda: streams.stream_status("sales")["exporters"][0]["acked_seq"] == 1, "the first batch")
    assert not streams.is_running()
    assert not streams.flush(0.05)  # the rest waits for the next start
    assert seen == [1]
    store.close()  # joins nothing that is waiting for this thread's GIL
    assert store.closed


def test_an_exception_in_a_callback_never_crashes_the_process(tmp_path: Path) -> None:
    # Forwarding runs, the callback keeps raising while the main thread keeps the GIL busy, and
    # the interpreter exits without stopping anything or closing the store: the exit hook stops
    # the workers before shutdown, so the process ends cleanly and the record is still held.
    script = f"""
import aisle, json
store = aisle.Edge.open({str(tmp_path / "exit.db")!r}, store_id="s", device_id="d")
store.streams.create({{"name": "x", "max_bytes": 1000, "when_full": "reject"}})
store.streams.add_exporter("x", {{"name": "cb", "sink": {{"type": "callback"}},
                                  "retry": {{"initial_ms": 1, "max_ms": 2, "probe_ms": 1}}}})
def fail(batch):
    raise RuntimeError("never delivered")
store.streams.set_callback("x", "cb", fail)
store.streams.append("x", {{"n": 1}})
store.streams.start()
while store.streams.stream_status("x")["exporters"][0]["attempts"] < 3:
    sum(range(1000))  # keeps the GIL busy in Python code
print(store.streams.stream_status("x")["exporters"][0]["last_error"])
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "RuntimeError: never delivered"
    with aisle.Edge.open(tmp_path / "exit.db", store_id="s", device_id="d") as store:
        assert [r.seq for r in store.streams.read("x")] == [1]  # still held, to be delivered


def test_ingest_applies_the_files_of_a_directory_exporter_exactly_once(store: aisle.Edge, tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    streams = store.streams
    streams.create(sales_stream())
    streams.add_exporter(
        "sales",
        {"name": "usb", "sink": {"type": "directory", "path": str(usb), "max_file_bytes": 150}, "batch_max_records": 4},
    )
    streams.append_batch("sales", [{"n": n} for n in range(10)])
    streams.start()
    assert streams.flush(10.0)
    streams.stop()
    files = sorted(usb.iterdir())
    assert len(files) >= 2 and all(f.name.startswith("sales-") and f.suffix == ".ndjson" for f in files)

    hq = aisle.Ingest.open(tmp_path / "hq.db")
    applied: list[tuple[int, int]] = []

    def apply(batch: aisle.Batch) -> None:
        assert (batch.store, batch.device, batch.stream) == (STORE, DEVICE, "sales")
        applied.extend((r.seq, json.loads(r.payload)["n"]) for r in batch.records)

    reports = [hq.receive(f.read_bytes(), apply) for f in files]
    assert applied == [(seq, seq - 1) for seq in range(1, 11)]
    assert sum(r["applied"] for r in reports) == 10 and reports[-1]["high_seq"] == 10
    assert reports[0]["key"].startswith(f"{STORE}/{DEVICE}/sales/1-")
    assert hq.high_water(STORE, DEVICE, "sales") == 10

    # The stick is read again (or a file was copied twice): nothing is applied twice.
    again = [hq.receive(f.read_bytes(), apply) for f in files]
    assert [r["applied"] for r in again] == [0] * len(files)
    assert sum(r["duplicates"] for r in again) == 10
    assert len(applied) == 10
    # The marks are in the receiver's file.
    assert aisle.Ingest.open(tmp_path / "hq.db").high_water(STORE, DEVICE, "sales") == 10
    assert hq.high_water(STORE, DEVICE, "other") == 0


def test_ingest_records_nothing_when_the_application_raises() -> None:
    hq = aisle.Ingest.in_memory()
    batch = b'{"store":"s","device":"d","stream":"x","records":[{"seq":1,"at_ms":0,"data":{"sku":"A"}},{"seq":2,"at_ms":0,"data":{"sku":"B"}}]}'

    def refuse(batch: aisle.Batch) -> None:
        raise KeyError("unknown SKU B")

    with pytest.raises(aisle.IngestRejectedError) as rejected:
        hq.receive(batch, refuse)
    assert rejected.value.code == "INGEST_REJECTED" and isinstance(rejected.value, aisle.ForwardError)
    assert "the application refused it: KeyError: 'unknown SKU B'" in str(rejected.value)
    assert isinstance(rejected.value.__cause__, KeyError)  # the application's own exception
    assert hq.high_water("s", "d", "x") == 0

    got: list[bytes] = []
    report = hq.receive(gzip.compress(batch), lambda b: got.extend(r.payload for r in b.records), content_encoding="gzip")
    assert report == {"key": "s/d/x/1-2", "store": "s", "device": "d", "stream": "x", "applied": 2, "duplicates": 0, "high_seq": 2}
    assert got == [b'{"sku":"A"}', b'{"sku":"B"}']
    assert hq.receive(batch)["duplicates"] == 2  # no function: only the marks move (here: none)

    for body, why in ((b"", "empty body"), (b"{not json", "line 1"), (batch[:-10], "line 1")):
        with pytest.raises(aisle.IngestRejectedError) as bad:
            hq.receive(body)
        assert why in str(bad.value)
    with pytest.raises(aisle.IngestRejectedError) as bad:
        hq.receive(batch, content_encoding="br")
    assert "Content-Encoding" in str(bad.value)


def test_a_callback_exporter_feeds_ingest_with_the_batch_re_encoded(store: aisle.Edge) -> None:
    # A backend in the same process: each batch goes over "the wire" as the HTTP sink would
    # send it, and Ingest applies it; a batch delivered twice applies nothing the second time.
    hq = aisle.Ingest.in_memory()
    events: list[dict[str, Any]] = []
    streams = store.streams
    streams.add_exporter("commerce", callback_exporter("hq"))

    def post(batch: aisle.Batch) -> None:
        for body in (batch.to_json(), batch.to_ndjson()):  # the second is a duplicate
            assert aisle.Batch.decode(body).idempotency_key == batch.idempotency_key
            hq.receive(body, lambda b: events.extend(json.loads(r.payload) for r in b.records))

    streams.set_callback("commerce", "hq", post)
    streams.start()
    # Commerce writes its sale events to the "commerce" stream in the sale's transaction.
    store.set_settings({"tax_regime": {"id": "none", "prices_include_tax": True, "rounding": {"mode": "half_up", "level": "line"}, "rates": [], "exempt_categories": ["standard"]}})
    store.upsert_product(aisle.Product("TEA", "Tea", aisle.Money(350, "EUR")))
    for quantity in (1, 2):
        cart = store.new_cart()
        cart.add("TEA", quantity)
        cart.complete([aisle.cash(aisle.Money(1000, "EUR"))])
    assert streams.flush(10.0)
    assert [(e["type"], e["data"]["total"]["minor"]) for e in events] == [("SaleCompleted", 350), ("SaleCompleted", 700)]
    assert hq.high_water(STORE, DEVICE, "commerce") == 2


class _IngestServer(http.server.ThreadingHTTPServer):
    """An HQ endpoint on loopback: Ingest behind a plain Python HTTP server."""

    daemon_threads = True

    def __init__(self, hq: aisle.Ingest, fail_first: int) -> None:
        self.hq = hq
        self.fail_first = fail_first
        self.requests: list[tuple[str, str | None]] = []
        self.applied: list[int] = []
        super().__init__(("127.0.0.1", 0), _IngestHandler)


class _IngestHandler(http.server.BaseHTTPRequestHandler):
    server: _IngestServer

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        server.requests.append((self.headers["Idempotency-Key"], self.headers.get("Content-Encoding")))
        if len(server.requests) <= server.fail_first:
            self.send_response(503)  # e.g. a deploy: the register must retry
        else:
            try:
                server.hq.receive(
                    body,
                    lambda b: server.applied.extend(json.loads(r.payload)["n"] for r in b.records),
                    content_encoding=self.headers.get("Content-Encoding"),
                )
                self.send_response(200)
            except aisle.IngestRejectedError:
                self.send_response(422)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_the_http_exporter_posts_to_a_python_backend_with_ingest(store: aisle.Edge) -> None:
    server = _IngestServer(aisle.Ingest.in_memory(), fail_first=2)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        streams = store.streams
        streams.create(sales_stream())
        url = f"http://127.0.0.1:{server.server_address[1]}/ingest"
        streams.add_exporter(
            "sales",
            {
                "name": "hq",
                "sink": {"type": "http", "url": url, "format": "ndjson", "compression": "gzip"},
                "batch_max_records": 5,
                "retry": {"initial_ms": 20, "max_ms": 100, "probe_ms": 20},
            },
        )
        for n in range(12):
            streams.append("sales", {"n": n})
        streams.start()
        assert streams.flush(20.0)
        assert server.applied == list(range(12))  # in order, exactly once, after two 503s
        assert all(encoding == "gzip" for _, encoding in server.requests)
        keys = [key for key, _ in server.requests]
        assert keys[:3] == [f"{STORE}/{DEVICE}/sales/1-5"] * 3  # the same batch, retried
        assert keys[3:] == [f"{STORE}/{DEVICE}/sales/{a}-{b}" for a, b in ((6, 10), (11, 12))]
        exporter = streams.stream_status("sales")["exporters"][0]
        assert exporter["delivered_records"] == 12 and "503" in (exporter["last_error"] or "")
        assert server.hq.high_water(STORE, DEVICE, "sales") == 12
    finally:
        store.streams.stop()
        server.shutdown()
        server.server_close()
