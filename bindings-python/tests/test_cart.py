from __future__ import annotations

from pathlib import Path

import pytest

import aisle


def test_cart_totals_are_exact(store: aisle.Edge) -> None:
    cart = store.new_cart()
    cart.add("MILK-1L", 3)
    cart.add("BREAD-500G")
    assert [(line.sku, line.quantity, line.line_total.minor) for line in cart.lines()] == [
        ("MILK-1L", 3, 357),
        ("BREAD-500G", 1, 249),
    ]
    assert cart.subtotal() == aisle.Money(606, "EUR")
    assert str(cart.subtotal()) == "6.06 EUR"
    assert cart.item_count() == 4


def test_add_again_set_quantity_remove_clear(store: aisle.Edge) -> None:
    cart = store.new_cart()
    cart.add("MILK-1L", 1)
    cart.add("MILK-1L", 2)
    assert cart.lines()[0].quantity == 3
    cart.set_quantity("MILK-1L", 5)
    cart.set_quantity("WINE-RED", 1)
    assert cart.subtotal().minor == 5 * 119 + 890
    cart.set_quantity("MILK-1L", 0)
    assert [line.sku for line in cart.lines()] == ["WINE-RED"]
    cart.remove("WINE-RED")
    assert cart.lines() == []
    cart.add("BREAD-500G", 2)
    cart.clear()
    assert cart.subtotal() == aisle.Money(0, "EUR")


def test_cart_persists_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "persist.db"
    first = aisle.Edge.open(path, store_id="s", device_id="d")
    first.upsert_product(aisle.Product("A-1", "Apple", aisle.Money(35, "EUR")))
    cart = first.new_cart()
    cart.add("A-1", 7)
    cart_id = cart.id
    del cart, first

    again = aisle.Edge.open(path, store_id="s", device_id="d")
    assert again.cart_ids() == [cart_id]
    reopened = again.cart(cart_id)
    assert reopened.subtotal() == aisle.Money(245, "EUR")
    assert again.product("A-1").name == "Apple"
    stats = again.stats()
    assert (stats.products, stats.carts, stats.cart_lines) == (1, 1, 1)
    assert stats.bytes > 0


def test_catalog_lookup_and_replace(store: aisle.Edge) -> None:
    assert [p.sku for p in store.products()] == ["BREAD-500G", "GUM-US", "MILK-1L", "WINE-RED"]
    store.upsert_product(aisle.Product("MILK-1L", "Milk 1 l", aisle.Money.parse("1.29", "EUR"), "reduced"))
    assert store.product("MILK-1L").price == aisle.Money(129, "EUR")
    assert store.product("MILK-1L") == aisle.Product("MILK-1L", "Milk 1 l", aisle.Money(129, "EUR"), "reduced")


def test_in_memory_store() -> None:
    edge = aisle.Edge.in_memory(store_id="s", device_id="d", currency="JPY")
    edge.upsert_product(aisle.Product("TEA", "Green tea", aisle.Money.parse("180", "JPY")))
    cart = edge.new_cart()
    cart.add("TEA", 2)
    assert str(cart.subtotal()) == "360 JPY"
    assert edge.schema_version == aisle.SCHEMA_VERSION


def test_close_and_context_manager(tmp_path: Path) -> None:
    path = tmp_path / "ctx.db"
    with aisle.Edge.open(path, store_id="s", device_id="d") as edge:
        edge.upsert_product(aisle.Product("A-1", "Apple", aisle.Money(35, "EUR")))
        cart = edge.new_cart()
        cart.add("A-1", 2)
    assert edge.closed
    with pytest.raises(aisle.StoreClosedError) as info:
        cart.add("A-1", 1)
    assert info.value.code == "STORE_CLOSED"
    assert not (tmp_path / "ctx.db-wal").exists()
    with aisle.Edge.open(path, store_id="s", device_id="d") as again:
        assert again.cart(cart.id).subtotal() == aisle.Money(70, "EUR")
