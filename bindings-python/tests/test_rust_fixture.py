"""Reads a store file written by the Rust core (examples/write_fixture.rs)."""

from __future__ import annotations

import os
from pathlib import Path

import aisle


def test_reads_a_store_written_by_rust() -> None:
    # Set by scripts/test-python.sh; a missing fixture is a failure, not a skip.
    path = Path(os.environ["AISLE_RUST_FIXTURE"])
    edge = aisle.Edge.open(path, store_id="fixture-store", device_id="rust-writer", currency="EUR")
    assert [p.sku for p in edge.products()] == ["BREAD-500G", "MILK-1L", "WINE-RED"]
    cart = edge.cart("rust-writer-cart-1")
    assert [(line.sku, line.quantity) for line in cart.lines()] == [("MILK-1L", 3), ("BREAD-500G", 1)]
    assert str(cart.subtotal()) == "6.06 EUR"
