"""A small program a data scientist might write; `mypy --strict` must accept it."""

from __future__ import annotations

import aisle


def basket_total(store: aisle.Edge, items: dict[str, int]) -> aisle.Money:
    cart = store.new_cart()
    for sku, quantity in items.items():
        try:
            cart.add(sku, quantity)
        except aisle.UnknownSkuError as e:
            print(e.code, e.message)
    total: aisle.Money = cart.subtotal()
    lines: list[aisle.CartLine] = cart.lines()
    assert all(line.line_total.currency == total.currency for line in lines)
    return total


def main() -> None:
    store = aisle.Edge.in_memory(store_id="s", device_id="d")
    store.upsert_product(aisle.Product("A", "Apple", aisle.Money.parse("0.35", "EUR")))
    parts: list[aisle.Money] = basket_total(store, {"A": 3}).allocate([1, 2])
    print([p.minor for p in parts])
