"""The commerce API piece by piece: catalog fields, barcodes, price lists, settings and
promotions as dicts or JSON, cart adjustments, pricing without a store, and how Python values
are (and are not) accepted."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

import pytest

import aisle
from aisle import Money
from aisle.types import TaxRegime

UNTAXED: TaxRegime = {
    "id": "untaxed",
    "prices_include_tax": False,
    "rounding": {"mode": "half_up", "level": "line"},
    "rates": [],
    "exempt_categories": ["none", "standard", "reduced"],
}


@pytest.fixture
def priced_store(store: aisle.Edge) -> aisle.Edge:
    store.set_settings({"tax_regime": UNTAXED})
    store.upsert_product(
        aisle.Product("NUTS-KG", "Mixed nuts", Money.parse("19.90", "EUR"), "reduced", sold_by="weight")
    )
    return store


# ---- catalog --------------------------------------------------------------------------------


def test_product_fields_round_trip(store: aisle.Edge) -> None:
    shirt = aisle.Product(
        "TSHIRT-RED-M",
        "T-shirt red M",
        Money.parse("19.99", "EUR"),
        barcodes=["036000291452"],
        categories=["apparel", "apparel/tops"],
        tags=["cotton", "summer"],
        parent_sku="TSHIRT",
        attributes={"colour": "red", "size": "M"},
    )
    store.upsert_product(shirt)
    stored = store.product("TSHIRT-RED-M")
    assert stored == shirt
    assert (stored.sold_by, stored.barcodes, stored.categories, stored.tags) == (
        "unit",
        ["036000291452"],
        ["apparel", "apparel/tops"],
        ["cotton", "summer"],
    )
    assert (stored.parent_sku, stored.attributes) == ("TSHIRT", {"colour": "red", "size": "M"})
    assert "parent_sku=\"TSHIRT\"" in repr(stored) and "barcodes=" in repr(stored)
    # The old constructor still works, with the new fields at their defaults.
    plain = aisle.Product("A-1", "Apple", Money(35, "EUR"))
    assert (plain.tax_category, plain.sold_by, plain.barcodes, plain.parent_sku, plain.attributes) == (
        "standard",
        "unit",
        [],
        None,
        {},
    )
    assert repr(plain) == 'Product(sku="A-1", name="Apple", price=Money(35, "EUR"), tax_category="standard")'


def test_barcode_lookup_any_gtin_length(store: aisle.Edge) -> None:
    store.upsert_product(aisle.Product("CEREAL", "Cereal", Money(399, "EUR"), barcodes=["036000291452"]))
    for code in ["036000291452", "0036000291452", "00036000291452"]:
        assert store.product_by_barcode(code).sku == "CEREAL"
    with pytest.raises(aisle.InvalidBarcodeError):
        store.product_by_barcode("036000291453")  # wrong check digit
    with pytest.raises(aisle.UnknownBarcodeError):
        store.product_by_barcode("4006381333931")
    with pytest.raises(aisle.DuplicateBarcodeError):
        store.upsert_product(aisle.Product("OTHER", "Other", Money(1, "EUR"), barcodes=["0036000291452"]))


def test_sold_by_is_checked_and_types_are_strict() -> None:
    with pytest.raises(aisle.InvalidArgumentError) as info:
        aisle.Product("X", "x", Money(1, "EUR"), sold_by="kg")  # type: ignore[arg-type]
    assert '"unit" or "weight"' in str(info.value)
    with pytest.raises(TypeError):
        # A str is a sequence of str to a type checker, but never a list of barcodes here.
        aisle.Product("X", "x", Money(1, "EUR"), barcodes="4006381333931")


def test_price_lists(priced_store: aisle.Edge) -> None:
    members = {
        "id": "members",
        "name": "Members' prices",
        "currency": "EUR",
        "priority": 10,
        "scope": {"customer_groups": ["member"]},
        "prices": {"MILK-1L": "0.99"},
    }
    priced_store.upsert_price_list(members)  # type: ignore[arg-type]
    assert priced_store.price_lists() == [
        {
            "id": "members",
            "name": "Members' prices",
            "currency": "EUR",
            "priority": 10,
            "scope": {"stores": [], "channels": [], "customer_groups": ["member"]},
            "valid_from": None,
            "valid_to": None,
            "prices": {"MILK-1L": "0.99"},
        }
    ]
    assert json.loads(priced_store.price_lists_json()) == priced_store.price_lists()
    cart = priced_store.new_cart()
    cart.add("MILK-1L", 2)
    assert cart.price()["total"] == {"minor": 238, "currency": "EUR"}
    cart.set_customer({"group": "member"})
    assert cart.lines()[0].unit_price == Money(99, "EUR")
    assert cart.price()["total"] == {"minor": 198, "currency": "EUR"}
    with pytest.raises(aisle.InvalidPriceListError) as info:
        priced_store.upsert_price_list_json('{"id": "bad", "name": "Bad", "currency": "EUR", "prices": {"MILK-1L": 0.99}}')
    assert 'prices["MILK-1L"]' in str(info.value)


# ---- settings and promotions ----------------------------------------------------------------


def test_settings_defaults_json_and_errors(store: aisle.Edge) -> None:
    defaults = store.settings()
    assert defaults["tax_regime"] is None and defaults["time_zone"] == "UTC"
    assert json.loads(store.settings_json()) == defaults
    store.set_settings_json(json.dumps({"store_name": "Kiosk", "tax_regime": UNTAXED}))
    assert store.settings()["store_name"] == "Kiosk"
    with pytest.raises(aisle.InvalidArgumentError) as info:
        store.set_settings({"time_zone": "Mars/Olympus_Mons"})
    assert "Mars/Olympus_Mons" in str(info.value)
    with pytest.raises(aisle.InvalidTaxRegimeError):
        over_100 = [{"id": "A", "name": "A", "categories": ["x"], "percent": "101"}]
        store.set_settings({"tax_regime": {**UNTAXED, "rates": over_100}})  # type: ignore[typeddict-item]
    with pytest.raises(aisle.InvalidTenderPolicyError) as policy:
        store.set_settings({"tender_policy": {"cash_rounding": {"increment": 0, "mode": "half_up"}}})
    assert "$.cash_rounding.increment" in str(policy.value)
    assert store.settings()["store_name"] == "Kiosk"  # unchanged by the refused ones


def test_pricing_needs_a_tax_regime(store: aisle.Edge) -> None:
    cart = store.new_cart()
    cart.add("MILK-1L")
    with pytest.raises(aisle.InvalidArgumentError) as info:
        cart.price()
    assert "tax regime" in str(info.value)


def test_promotions_round_trip(priced_store: aisle.Edge) -> None:
    promos = [
        {"id": "MILK-2", "name": "Milk -0.20", "rule": {"type": "amount_off", "target": {"skus": ["MILK-1L"]}, "amount": "0.20"}}
    ]
    priced_store.set_promotions(promos)  # type: ignore[arg-type]
    stored = priced_store.promotions()
    assert stored[0]["rule"] == promos[0]["rule"] and stored[0]["priority"] == 0
    assert json.loads(priced_store.promotions_json()) == stored
    priced_store.set_promotions_json(priced_store.promotions_json())
    assert priced_store.promotions() == stored
    cart = priced_store.new_cart()
    cart.add("MILK-1L", 3)
    assert cart.price()["promotions"] == [
        {"id": "MILK-2", "name": "Milk -0.20", "rule": "amount_off", "applications": 3, "discount": {"minor": 60, "currency": "EUR"}}
    ]
    priced_store.set_promotions([])
    assert priced_store.promotions() == []


# ---- the cart -------------------------------------------------------------------------------


def test_weighed_lines(priced_store: aisle.Edge) -> None:
    cart = priced_store.new_cart()
    cart.add_weighed("NUTS-KG", 250)
    cart.add_weighed("NUTS-KG", 125)
    (line,) = cart.lines()
    assert (line.grams, line.quantity, line.line_total) == (375, 1, Money.parse("7.46", "EUR"))  # 19.90 x 0.375
    assert "grams=375" in repr(line)
    cart.set_weight("NUTS-KG", 1000)
    assert cart.subtotal() == Money.parse("19.90", "EUR")
    with pytest.raises(aisle.InvalidQuantityError) as info:
        cart.add("NUTS-KG", 1)
    assert "sold by weight" in str(info.value)
    with pytest.raises(aisle.InvalidQuantityError):
        cart.add_weighed("MILK-1L", 100)
    with pytest.raises(aisle.InvalidQuantityError):
        cart.add_weighed("NUTS-KG", 0)
    cart.set_weight("NUTS-KG", 0)
    assert cart.lines() == []


def test_price_override_discounts_customer_coupons(priced_store: aisle.Edge) -> None:
    cart = priced_store.new_cart()
    cart.add("WINE-RED", 2)
    cart.add("BREAD-500G")
    cart.set_price_override("BREAD-500G", Money.parse("1.99", "EUR"), "day-old")
    assert cart.lines()[1].price_override == {"price": {"minor": 199, "currency": "EUR"}, "reason": "day-old"}
    cart.set_line_discount("WINE-RED", aisle.discount(amount=Money.parse("1.00", "EUR"), reason="scratched"))
    cart.set_order_discount({"percent": "10", "reason": "loyalty"})
    priced = cart.price()
    # 2 x 8.90 - 1.00 = 16.80; bread 1.99; 10% of 18.79 = 1.879 -> 1.88 (half up): 16.91.
    assert priced["total"] == {"minor": 1691, "currency": "EUR"}
    assert priced["order_discount"] == {"percent": "10", "reason": "loyalty", "needs_approval": False}
    assert [line["price_override"] is not None for line in priced["lines"]] == [False, True]
    cart.set_price_override("BREAD-500G", None)
    cart.set_line_discount("WINE-RED", None)
    cart.set_order_discount(None)
    assert cart.price()["total"] == {"minor": 2029, "currency": "EUR"}
    with pytest.raises(aisle.InvalidArgumentError) as info:
        cart.set_price_override("BREAD-500G", Money(100, "EUR"))
    assert "reason" in str(info.value)
    with pytest.raises(aisle.InvalidArgumentError):
        cart.set_line_discount("WINE-RED", aisle.discount(reason="neither percent nor amount"))
    with pytest.raises(aisle.CartLineNotFoundError):
        cart.set_line_discount("MILK-1L", aisle.discount(percent="5", reason="x"))

    assert cart.customer() is None
    cart.set_customer({"id": "C-1", "loyalty_id": "L-77", "tax_exempt": True})
    assert cart.customer() == {"id": "C-1", "group": None, "loyalty_id": "L-77", "tax_exempt": True}
    cart.set_customer(None)
    assert cart.customer() is None

    cart.add_coupon(" spring ")
    cart.add_coupon("SPRING")
    assert cart.coupons() == ["SPRING"]
    assert cart.price()["coupons"] == [{"code": "SPRING", "status": "invalid"}]
    cart.remove_coupon("spring")
    assert cart.coupons() == []


def test_an_empty_cart_cannot_be_completed(priced_store: aisle.Edge) -> None:
    with pytest.raises(aisle.InvalidArgumentError) as info:
        priced_store.new_cart().complete([aisle.cash(Money(100, "EUR"))])
    assert "empty" in str(info.value)


def test_tender_errors(priced_store: aisle.Edge) -> None:
    cart = priced_store.new_cart()
    cart.add("MILK-1L")
    with pytest.raises(aisle.TenderExceedsDueError):
        cart.complete([aisle.card(Money(500, "EUR"), token="t", brand="VISA", last4="4242")])
    with pytest.raises(aisle.OfflineNotAllowedError):
        cart.complete([aisle.card(Money(119, "EUR"), token="t", brand="VISA", last4="4242", offline=True)])
    with pytest.raises(aisle.InvalidTenderError) as info:
        cart.complete([{"kind": "gift_card", "amount": Money(119, "EUR")}])
    assert ".reference" in str(info.value)  # the message names the field
    with pytest.raises(aisle.CurrencyMismatchError):
        cart.complete([aisle.cash(Money(119, "USD"))])
    # A gift card is redeemed from the device's ledger: one never issued there is refused.
    with pytest.raises(aisle.StoredValueNotFoundError) as sv_info:
        cart.complete([aisle.gift_card(Money(100, "EUR"), "GC-1"), aisle.cash(Money(19, "EUR"))])
    assert sv_info.value.code == "STORED_VALUE_NOT_FOUND"
    sale = cart.complete([aisle.card(Money(100, "EUR"), token="t", brand="VISA", last4="4242"), aisle.cash(Money(19, "EUR"))])
    assert [t["kind"] for t in sale["settlement"]["tenders"]] == ["card", "cash"]


# ---- pricing without a store ----------------------------------------------------------------


def test_price_a_request_with_tenders() -> None:
    request: dict[str, Any] = {
        "currency": "CHF",
        "at": "2026-11-27T16:30:00Z",
        "tax_regime": {**UNTAXED, "exempt_categories": ["none"]},
        "lines": [{"sku": "A", "quantity": 3, "unit_price": "3.33", "tax_category": "none"}],
        "tenders": [aisle.cash(Money.parse("20.00", "CHF"))],
        "tender_policy": {"cash_rounding": {"increment": 5, "mode": "half_up"}},
    }
    result = aisle.price(request)
    assert result["total"] == {"minor": 999, "currency": "CHF"}
    settlement = result["settlement"]
    assert (settlement["due"]["minor"], settlement["cash_rounding"]["minor"], settlement["change"]["minor"]) == (1000, 1, 1000)
    assert json.loads(aisle.price_json(json.dumps(request))) == result
    del request["tenders"]
    assert "settlement" not in aisle.price(request)
    with pytest.raises(aisle.InvalidArgumentError) as info:
        aisle.price({**request, "lines": [{"sku": "A", "unit_price": "1.00", "tax_category": "none"}]})
    assert "lines[0]" in str(info.value)
    with pytest.raises(aisle.InvalidArgumentError):
        aisle.price_json("not json")


# ---- Python values in, dicts out ------------------------------------------------------------


def test_helpers_build_plain_json_dicts() -> None:
    eur = Money.parse("12.50", "EUR")
    assert aisle.cash(eur) == {"kind": "cash", "amount": {"minor": 1250, "currency": "EUR"}}
    card = aisle.card(eur, token="tok", brand="VISA", last4="4242", auth_code="A1", authorized_at_ms=1)
    assert card == {
        "kind": "card",
        "amount": {"minor": 1250, "currency": "EUR"},
        "card": {"token": "tok", "brand": "VISA", "last4": "4242", "offline": False, "authorized_at_ms": 1, "auth_code": "A1"},
    }
    assert aisle.card(eur, token="t", brand="B", last4="0000")["card"]["authorized_at_ms"] > 1_700_000_000_000
    assert aisle.gift_card(eur, "GC-9") == {"kind": "gift_card", "amount": {"minor": 1250, "currency": "EUR"}, "reference": "GC-9"}
    assert aisle.store_credit({"minor": 5, "currency": "EUR"}, "SC-1")["amount"] == {"minor": 5, "currency": "EUR"}
    assert aisle.discount(percent="12.5", reason="x") == {"reason": "x", "percent": "12.5"}
    assert json.loads(json.dumps([card, aisle.discount(amount=eur, reason="y")]))  # JSON as they are


def test_money_dicts() -> None:
    assert Money(-1205, "EUR").to_dict() == {"minor": -1205, "currency": "EUR"}
    assert Money.from_dict({"minor": 1205, "currency": "JPY"}) == Money(1205, "JPY")
    with pytest.raises(aisle.InvalidArgumentError):
        Money.from_dict({"minor": 1.5, "currency": "EUR"})  # type: ignore[typeddict-item]
    with pytest.raises(aisle.InvalidArgumentError):
        Money.from_dict({"minor": 1, "currency": "EUR", "extra": 0})  # type: ignore[typeddict-unknown-key]


def test_floats_and_foreign_types_are_refused(priced_store: aisle.Edge) -> None:
    cart = priced_store.new_cart()
    cart.add("MILK-1L")
    with pytest.raises(aisle.InvalidArgumentError) as info:
        cart.set_order_discount({"percent": 12.5, "reason": "x"})  # type: ignore[arg-type]
    assert "discount.percent" in str(info.value) and "never a float" in str(info.value)
    with pytest.raises(aisle.InvalidArgumentError) as info:
        cart.complete([{"kind": "cash", "amount": 1.19}])  # type: ignore[typeddict-item]
    assert "tenders[0].amount" in str(info.value)
    with pytest.raises(TypeError) as type_error:
        cart.complete([{"kind": "cash", "amount": Decimal("1.19")}])  # type: ignore[typeddict-item]
    assert "tenders[0].amount: cannot pass a Decimal" in str(type_error.value)
    with pytest.raises(TypeError):
        cart.set_customer({1: "x"})  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        cart.complete([{"kind": "cash", "amount": {"minor": 2**70, "currency": "EUR"}}])
    with pytest.raises(aisle.InvalidArgumentError) as info:
        cart.complete([{"kind": "bitcoin", "amount": Money(119, "EUR")}])  # type: ignore[typeddict-item]
    assert "tenders[0].kind" in str(info.value) and "store_credit" in str(info.value)
    with pytest.raises(aisle.InvalidArgumentError):
        cart.set_customer({"id": "C-1", "vip": True})  # type: ignore[arg-type]
    assert cart.status() == "open"


def test_many_threads_share_one_store(priced_store: aisle.Edge) -> None:
    # Calls release the GIL: threads interleave on the store's own lock without deadlocking.
    errors: list[BaseException] = []
    totals: list[int] = []

    def work() -> None:
        try:
            for _ in range(10):
                cart = priced_store.new_cart()
                cart.add("MILK-1L", 2)
                totals.append(cart.complete([aisle.cash(Money(500, "EUR"))])["total"]["minor"])
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert totals == [238] * 40
    numbers = priced_store.receipt_numbers()
    assert len(numbers) == 40 and numbers == sorted(numbers)
