"""Gift cards, store credit and exchanges as a till written in Python uses them: the ledger in
the store file, a basket paid partly by gift card, refunds back to the card or to store
credit, and an exchange recorded as two linked receipts — every amount exact to the cent."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

import aisle
from aisle import Money
from aisle.types import MoneyDict, Sale

GC = "gift_card"
SC = "store_credit"


def eur(amount: str) -> Money:
    return Money.parse(amount, "EUR")


def minor(amount: MoneyDict) -> int:
    assert amount["currency"] == "EUR"
    return amount["minor"]


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[aisle.Edge]:
    with aisle.Edge.open(tmp_path / "shop.db", store_id="store-042", device_id="register-1") as edge:
        edge.set_settings(
            {
                "store_name": "Aisle Markt",
                "tax_regime": {
                    "id": "de-vat",
                    "prices_include_tax": True,
                    "rounding": {"mode": "half_up", "level": "line"},
                    "rates": [{"id": "A", "name": "MwSt 19%", "categories": ["standard"], "percent": "19"}],
                },
                "tender_policy": {"cash_rounding": {"increment": 5, "mode": "half_up"}},
            }
        )
        edge.upsert_products(
            [
                aisle.Product("SHIRT-M", "Shirt M", eur("25.00")),
                aisle.Product("SHIRT-L", "Shirt L", eur("25.00")),
                aisle.Product("JACKET", "Jacket", eur("60.00")),
                aisle.Product("SOCKS", "Socks", eur("4.99")),
            ]
        )
        yield edge


def sell(shop: aisle.Edge, items: dict[str, int], tenders: list[aisle.types.TenderInput]) -> Sale:
    cart = shop.new_cart()
    for sku, quantity in items.items():
        cart.add(sku, quantity)
    return cart.complete(tenders)


def test_the_ledger_of_a_gift_card(shop: aisle.Edge) -> None:
    sv = shop.stored_value
    card = sv.issue(GC, "GC-000123", eur("50.00"), reason="sold at till 1")
    assert card["kind"] == GC and card["id"] == "GC-000123" and card["status"] == "active"
    assert card["balance"] == {"minor": 5000, "currency": "EUR"} and card["expires_at_ms"] is None
    assert sv.load(GC, "GC-000123", eur("10.00"), reason="top-up")["balance"]["minor"] == 6000
    assert sv.adjust(GC, "GC-000123", eur("-0.50"), "goodwill correction")["balance"]["minor"] == 5950
    with pytest.raises(aisle.InvalidArgumentError):
        sv.freeze(GC, "GC-000123", "")  # a status change says why
    assert sv.freeze(GC, "GC-000123", "reported stolen")["status"] == "frozen"
    with pytest.raises(aisle.StoredValueFrozenError) as frozen:
        sv.load(GC, "GC-000123", eur("1.00"))
    assert frozen.value.code == "STORED_VALUE_FROZEN" and isinstance(frozen.value, aisle.CommerceError)
    assert sv.unfreeze(GC, "GC-000123", "found again")["status"] == "active"
    assert sv.balance(GC, "GC-000123") == eur("59.50")

    history = sv.history(GC, "GC-000123")
    assert [(e["entry_type"], minor(e["amount"]), minor(e["balance_after"])) for e in history] == [
        ("issue", 5000, 5000),
        ("load", 1000, 6000),
        ("adjust", -50, 5950),
        ("freeze", 0, 5950),
        ("unfreeze", 0, 5950),
    ]
    assert history[0]["reason"] == "sold at till 1" and history[0]["receipt_no"] is None
    assert [e["seq"] for e in history] == sorted(e["seq"] for e in history)

    # Closing needs an empty account, so the ledger says where the money went.
    with pytest.raises(aisle.InvalidArgumentError) as not_empty:
        sv.close(GC, "GC-000123", "customer left")
    assert "59.50" in str(not_empty.value)
    sv.adjust(GC, "GC-000123", eur("-59.50"), "paid out in cash")
    assert sv.close(GC, "GC-000123", "paid out")["status"] == "closed"
    with pytest.raises(aisle.StoredValueClosedError):
        sv.unfreeze(GC, "GC-000123", "found again")

    # Kind and id key an account; the same id can be a gift card and a store credit.
    sv.issue(SC, "GC-000123", eur("5.00"))
    assert [a["id"] for a in sv.accounts(SC)] == ["GC-000123"]
    assert [a["status"] for a in sv.accounts(GC)] == ["closed"]
    with pytest.raises(aisle.StoredValueExistsError):
        sv.issue(SC, "GC-000123", eur("5.00"))
    with pytest.raises(aisle.StoredValueNotFoundError):
        sv.account(GC, "GC-999")
    with pytest.raises(aisle.StoredValueCurrencyMismatchError):
        sv.load(SC, "GC-000123", Money(100, "USD"))
    with pytest.raises(aisle.InvalidArgumentError) as bad_kind:
        sv.account("voucher", "GC-1")  # type: ignore[arg-type]
    assert "gift_card" in str(bad_kind.value)
    with pytest.raises(aisle.CardNumberRefusedError) as pan:
        sv.issue(GC, "4111111111111111", eur("5.00"))
    assert "4111111111111111" not in str(pan.value)
    with pytest.raises(aisle.InvalidArgumentError):
        sv.issue(GC, "GC-OLD", eur("5.00"), expires_at_ms=1)  # already expired


def test_a_gift_card_pays_part_of_a_basket_and_a_return_credits_it_back(shop: aisle.Edge) -> None:
    sv = shop.stored_value
    sv.issue(GC, "GC-7", eur("20.00"))

    # More than the balance is refused and nothing is written: the cart stays open.
    cart = shop.new_cart()
    cart.add("SHIRT-M")
    cart.add("SOCKS", 2)  # 25.00 + 9.98 = 34.98
    with pytest.raises(aisle.StoredValueInsufficientError) as short:
        cart.complete([aisle.gift_card(eur("25.00"), "GC-7"), aisle.cash(eur("10.00"))])
    assert short.value.code == "STORED_VALUE_INSUFFICIENT" and "20.00" in str(short.value)
    assert cart.status() is aisle.CartStatus.OPEN and shop.receipt_numbers() == []
    assert sv.balance(GC, "GC-7") == eur("20.00")

    sale = cart.complete([aisle.gift_card(eur("20.00"), "GC-7"), aisle.cash(eur("15.00"))])
    gift, cash = sale["settlement"]["tenders"]
    assert gift["kind"] == GC and gift.get("reference") == "GC-7" and minor(gift["amount"]) == 2000
    assert minor(cash["amount"]) == 1500 and minor(cash["change"]) == 0  # 14.98 rounds to 15.00
    assert sale["stored_value"] == [
        {
            "tender_index": 0,
            "kind": GC,
            "account_id": "GC-7",
            "amount": {"minor": -2000, "currency": "EUR"},
            "balance_after": {"minor": 0, "currency": "EUR"},
        }
    ]
    assert "exchange_with" not in sale
    assert sv.balance(GC, "GC-7") == eur("0.00")
    redeem = sv.history(GC, "GC-7")[-1]
    assert redeem["entry_type"] == "redeem" and redeem["receipt_no"] == sale["receipt_no"]
    receipt = shop.receipt(sale["receipt_no"])
    assert receipt["tenders"][0].get("balance") == {"minor": 0, "currency": "EUR"}
    assert "Balance" in shop.receipt_text(sale["receipt_no"])

    # Returning the shirt gives the card back its share first (non-cash tenders first).
    refund = shop.return_items(sale["receipt_no"], [{"line_no": 1, "quantity": 1}], "too small")
    assert [(t["kind"], minor(t["amount"])) for t in refund["settlement"]["tenders"]] == [(GC, -2000), ("cash", -500)]
    assert refund["stored_value"][0]["account_id"] == "GC-7"
    assert minor(refund["stored_value"][0]["balance_after"]) == 2000
    assert sv.balance(GC, "GC-7") == eur("20.00")


def test_returns_to_new_store_credit_and_to_a_named_account(shop: aisle.Edge) -> None:
    sale = sell(shop, {"SHIRT-M": 1, "SOCKS": 1}, [aisle.cash(eur("30.00"))])
    refund = shop.return_items(sale["receipt_no"], [{"line_no": 1, "quantity": 1}], "unwanted", refund_to="store_credit")
    (movement,) = refund["stored_value"]
    credit_id = movement["account_id"]
    assert credit_id == f"SC-{refund['receipt_no']}" and minor(movement["amount"]) == 2500
    assert shop.stored_value.balance(SC, credit_id) == eur("25.00")

    # The customer's existing store credit gets the socks (it must exist: strict).
    socks = [{"line_no": 2, "quantity": 1}]
    with pytest.raises(aisle.StoredValueNotFoundError):
        shop.return_items_to_account(sale["receipt_no"], socks, "unwanted", kind=SC, account_id="SC-NOPE")
    shop.stored_value.issue(SC, "SC-CUSTOMER-7", eur("1.00"))
    to_account = shop.return_items_to_account(sale["receipt_no"], socks, "unwanted", kind=SC, account_id="SC-CUSTOMER-7")
    assert [(t["kind"], t.get("reference")) for t in to_account["settlement"]["tenders"]] == [(SC, "SC-CUSTOMER-7")]
    assert shop.stored_value.balance(SC, "SC-CUSTOMER-7") == eur("5.99")

    # The credit pays a later basket, from the account the refund opened.
    later = sell(shop, {"SOCKS": 2}, [aisle.store_credit(eur("9.98"), credit_id)])
    assert later["stored_value"][0]["balance_after"] == {"minor": 1502, "currency": "EUR"}


def test_an_exchange_for_a_dearer_item_is_two_linked_receipts(shop: aisle.Edge) -> None:
    sale = sell(shop, {"SHIRT-M": 1}, [aisle.card(eur("25.00"), token="tok_1", brand="VISA", last4="4242")])
    numbers_before = shop.receipt_numbers()

    new_cart = shop.new_cart()
    new_cart.add("JACKET")
    # Too little for the difference: nothing is written, the cart stays open.
    with pytest.raises(aisle.InsufficientTenderError):
        shop.exchange(sale["receipt_no"], [{"line_no": 1, "quantity": 1}], new_cart, [aisle.cash(eur("10.00"))], "wrong size")
    assert shop.receipt_numbers() == numbers_before and new_cart.status() is aisle.CartStatus.OPEN

    x = shop.exchange(sale["receipt_no"], [{"line_no": 1, "quantity": 1}], new_cart, [aisle.cash(eur("40.00"))], "wrong size")
    refund, new_sale = x["refund"], x["sale"]
    assert minor(x["difference"]) == 3500  # the jacket's 60.00 less the shirt's 25.00
    assert refund["kind"] == "refund" and refund["original"] == sale["receipt_no"]
    assert refund["exchange_with"] == new_sale["receipt_no"] and new_sale["exchange_with"] == refund["receipt_no"]
    assert shop.receipt_numbers() == numbers_before + [refund["receipt_no"], new_sale["receipt_no"]]
    # The shirt's value passes through the exchange's store credit account.
    credit = f"SC-{refund['receipt_no']}"
    assert [(t["kind"], t.get("reference"), minor(t["amount"])) for t in new_sale["settlement"]["tenders"]] == [
        (SC, credit, 2500),
        ("cash", None, 3500),
    ]
    assert minor(new_sale["settlement"]["change"]) == 500
    assert [e["entry_type"] for e in shop.stored_value.history(SC, credit)] == ["refund", "redeem"]
    assert shop.stored_value.balance(SC, credit) == eur("0.00")
    assert new_cart.status() is aisle.CartStatus.COMPLETED
    assert shop.sale(new_sale["receipt_no"]) == new_sale
    assert shop.receipt(refund["receipt_no"]).get("exchange_with") == new_sale["receipt_no"]


def test_an_exchange_for_a_cheaper_item_leaves_store_credit(shop: aisle.Edge) -> None:
    sale = sell(shop, {"JACKET": 1}, [aisle.cash(eur("60.00"))])
    new_cart = shop.new_cart()
    new_cart.add("SHIRT-L")
    with pytest.raises(aisle.TenderExceedsDueError):
        shop.exchange(sale["receipt_no"], [{"line_no": 1, "quantity": 1}], new_cart, [aisle.cash(eur("1.00"))], "too warm")
    with pytest.raises(aisle.InvalidArgumentError) as bad:
        shop.exchange(sale["receipt_no"], [{"line_no": 1, "quantity": 1}], new_cart, [], "too warm", excess_to="cash")  # type: ignore[arg-type]
    assert "excess_to" in str(bad.value)

    x = shop.exchange(sale["receipt_no"], [{"line_no": 1, "quantity": 1}], new_cart, [], "too warm", excess_to="store_credit")
    assert minor(x["difference"]) == -3500
    credit = f"SC-{x['refund']['receipt_no']}"
    assert shop.stored_value.balance(SC, credit) == eur("35.00")  # 60.00 credited, 25.00 spent
    assert [t["kind"] for t in x["sale"]["settlement"]["tenders"]] == [SC]
