from __future__ import annotations

from pathlib import Path

import pytest

import aisle


@pytest.fixture
def store(tmp_path: Path) -> aisle.Edge:
    edge = aisle.Edge.open(tmp_path / "store.db", store_id="store-1", device_id="register-1", currency="EUR")
    edge.upsert_products(
        [
            aisle.Product("MILK-1L", "Milk 1 l", aisle.Money.parse("1.19", "EUR"), "reduced"),
            aisle.Product("BREAD-500G", "Sourdough bread 500 g", aisle.Money.parse("2.49", "EUR"), "reduced"),
            aisle.Product("WINE-RED", "Red wine 0.75 l", aisle.Money.parse("8.90", "EUR"), "standard"),
            aisle.Product("GUM-US", "Imported gum", aisle.Money(150, "USD"), "standard"),
        ]
    )
    return edge
