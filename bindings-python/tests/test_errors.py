from __future__ import annotations

from pathlib import Path

import pytest

import aisle
from aisle import _errors, _native


def test_every_core_code_has_its_class_in_the_right_family() -> None:
    families = {
        "value": aisle.AisleValueError,
        "commerce": aisle.CommerceError,
        "forward": aisle.ForwardError,
        "sync": aisle.SyncError,
        "vision": aisle.VisionError,
        "store": aisle.StoreError,
    }
    kinds = dict(_native.error_kinds())
    assert set(kinds) == set(aisle.ERROR_CLASSES) == set(aisle.error_codes())
    for code, kind in kinds.items():
        cls = aisle.ERROR_CLASSES[code]
        assert issubclass(cls, families[kind]), code
        assert getattr(aisle, cls.__name__) is cls
    assert _errors._class_for_code("NOT_A_CODE") is aisle.AisleError


def test_unknown_sku(store: aisle.Edge) -> None:
    cart = store.new_cart()
    with pytest.raises(aisle.UnknownSkuError) as info:
        cart.add("A-1", 1)
    assert info.value.code == "UNKNOWN_SKU"
    assert str(info.value) == 'UNKNOWN_SKU: no product with SKU "A-1" in catalog'
    assert isinstance(info.value, aisle.CommerceError)
    with pytest.raises(aisle.UnknownSkuError):
        store.product("A-1")


def test_negative_and_huge_quantities(store: aisle.Edge) -> None:
    cart = store.new_cart()
    with pytest.raises(aisle.InvalidQuantityError) as info:
        cart.add("MILK-1L", -1)
    assert info.value.code == "INVALID_QUANTITY"
    assert "-1" in str(info.value)
    with pytest.raises(aisle.InvalidQuantityError):
        cart.set_quantity("MILK-1L", -5)
    with pytest.raises(aisle.InvalidQuantityError):
        cart.add("MILK-1L", 10**9)
    with pytest.raises(TypeError):
        cart.add("MILK-1L", 1.5)  # type: ignore[arg-type]
    assert cart.lines() == []


def test_currency_mismatch(store: aisle.Edge) -> None:
    cart = store.new_cart()
    with pytest.raises(aisle.CurrencyMismatchError) as info:
        cart.add("GUM-US", 1)
    assert info.value.code == "CURRENCY_MISMATCH"
    assert str(info.value) == "CURRENCY_MISMATCH: expected EUR, got USD"
    with pytest.raises(aisle.CurrencyMismatchError):
        aisle.Money(1, "EUR") + aisle.Money(1, "USD")
    # A value error is also a ValueError, as Python code expects.
    with pytest.raises(ValueError):
        aisle.Money(1, "EUR") - aisle.Money(1, "USD")


def test_bad_values() -> None:
    with pytest.raises(aisle.UnknownCurrencyError):
        aisle.Money(1, "XXX")
    with pytest.raises(aisle.InvalidAmountError) as info:
        aisle.Money.parse("1.234", "EUR")
    assert "at most 2 decimal places" in str(info.value)
    with pytest.raises(aisle.MoneyOverflowError):
        aisle.Money(2**62, "EUR") * 4
    with pytest.raises(aisle.InvalidArgumentError):
        aisle.Money(1, "EUR").mul_div(1, 2, "bankers")
    with pytest.raises(aisle.InvalidArgumentError):
        aisle.Money(1, "EUR").allocate([])


def test_invalid_product(store: aisle.Edge) -> None:
    with pytest.raises(aisle.InvalidProductError) as info:
        store.upsert_product(aisle.Product("HAS SPACE", "x", aisle.Money(1, "EUR")))
    assert info.value.code == "INVALID_PRODUCT"
    with pytest.raises(aisle.InvalidProductError):
        store.upsert_product(aisle.Product("NEG", "x", aisle.Money(-1, "EUR")))
    # All or none: a bad product in a batch leaves the catalog as it was.
    before = store.products()
    with pytest.raises(aisle.InvalidProductError):
        store.upsert_products([aisle.Product("OK-1", "ok", aisle.Money(1, "EUR")), aisle.Product("", "x", aisle.Money(1, "EUR"))])
    assert store.products() == before


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list: milk, bread\n" * 200)
    with pytest.raises(aisle.StoreNotADatabaseError) as info:
        aisle.Edge.open(path, store_id="s", device_id="d")
    assert info.value.code == "STORE_NOT_A_DATABASE"
    assert isinstance(info.value, aisle.StoreError)
    assert path.read_text().startswith("shopping list")


def test_identity_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    aisle.Edge.open(path, store_id="store-1", device_id="d")
    with pytest.raises(aisle.StoreIdentityMismatchError) as info:
        aisle.Edge.open(path, store_id="store-2", device_id="d")
    assert 'store_id "store-1"' in str(info.value)


def test_missing_cart_and_line(store: aisle.Edge) -> None:
    with pytest.raises(aisle.CartNotFoundError):
        store.cart("nope")
    cart = store.new_cart()
    with pytest.raises(aisle.CartLineNotFoundError):
        cart.remove("MILK-1L")
