"""A small program a data scientist might write; `mypy --strict` must accept it."""

from __future__ import annotations

import json
from typing import Optional

import aisle
from aisle import Money
from aisle.types import (
    Exchange,
    ExporterConfig,
    IngestReport,
    MoneyDict,
    PricedCart,
    PriceResult,
    Sale,
    StoredValueAccount,
    StoreSettings,
    StreamConfig,
    StreamStatus,
    TenderInput,
)


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


def configure(store: aisle.Edge) -> None:
    settings: StoreSettings = {
        "store_name": "Corner shop",
        "time_zone": "Europe/Zurich",
        "tax_regime": {
            "id": "ch-vat",
            "prices_include_tax": True,
            "rounding": {"mode": "half_up", "level": "line"},
            "rates": [{"id": "A", "name": "MWST 8.1%", "categories": ["standard"], "percent": "8.1"}],
        },
        "tender_policy": {"cash_rounding": {"increment": 5, "mode": "half_up"}},
    }
    store.set_settings(settings)
    store.set_promotions(
        [{"id": "TEN", "name": "10% off tea", "rule": {"type": "percent_off", "target": {"tags": ["tea"]}, "percent": "10"}}]
    )
    store.upsert_price_list({"id": "staff", "name": "Staff", "currency": "CHF", "prices": {"TEA": "3.00"}})
    mode: str = store.settings()["promotion_mode"]
    print(mode, [p["id"] for p in store.promotions()], store.price_lists_json())


def discount_share(priced: PricedCart) -> float:
    # Floats only for a report, after the exact arithmetic is done.
    subtotal = priced["subtotal"]["minor"]
    return priced["discount"]["minor"] / subtotal if subtotal else 0.0


def sell(store: aisle.Edge) -> Sale:
    cart = store.new_cart()
    tea = store.product_by_barcode("7613035974685")
    cart.add(tea.sku, 2)
    cart.add_weighed("NUTS-KG", 250)
    cart.set_line_discount(tea.sku, aisle.discount(percent="12.5", reason="best before tomorrow"))
    cart.set_order_discount(None)
    cart.set_price_override("NUTS-KG", Money.parse("30.00", "CHF"), "price match")
    cart.set_customer({"id": "C-7", "group": "staff"})
    cart.add_coupon("WELCOME")
    priced = cart.price()
    print(f"{discount_share(priced):.1%} off", [c["status"] for c in priced["coupons"]])
    weighed: Optional[int] = cart.lines()[1].grams
    status: aisle.CartStatus = cart.status()
    name: str = status  # a str enum: each member is its name
    if status is aisle.CartStatus.OPEN:
        print(weighed, name, status.value, cart.customer())
    tenders: list[TenderInput] = [
        aisle.card(Money.parse("5.00", "CHF"), token="tok_1", brand="VISA", last4="4242"),
        aisle.cash(Money.parse("50.00", "CHF")),
        {"kind": "gift_card", "amount": Money(100, "CHF"), "reference": "GC-0001"},
    ]
    sale = cart.complete(tenders)
    due: Money = Money.from_dict(sale["settlement"]["due"])
    print(due, store.receipt_text(sale["receipt_no"], width=42))
    for line in sale["lines"]:
        paid: MoneyDict = line["gross"]
        print(line["line_no"], line["sku"], line["quantity"].get("units"), paid["minor"])
    return sale


def give_back(store: aisle.Edge, sale: Sale) -> int:
    refund = store.return_items(sale["receipt_no"], [{"line_no": 1, "quantity": 1}], "unwanted", refund_to="store_credit")
    receipt = store.receipt(refund["receipt_no"])
    assert receipt["is_refund"]
    return -refund["settlement"]["due"]["minor"]


def what_if() -> PriceResult:
    request = {
        "currency": "EUR",
        "at": "2026-11-27T16:30:00Z",
        "tax_regime": {"id": "none", "prices_include_tax": False, "rounding": {"mode": "half_up", "level": "line"}, "rates": [], "exempt_categories": ["none"]},
        "lines": [{"sku": "A", "quantity": 3, "unit_price": "1.99", "tax_category": "none"}],
        "tenders": [aisle.cash(Money(1000, "EUR"))],
    }
    result = aisle.price(request)
    settlement = result.get("settlement")
    if settlement is not None:
        print(settlement["change"])
    same: str = aisle.price_json(json.dumps(request))
    assert json.loads(same)["total"] == result["total"]
    return result


def gift_cards_and_exchanges(store: aisle.Edge, sale: Sale) -> Exchange:
    sv: aisle.StoredValue = store.stored_value
    account: StoredValueAccount = sv.issue("gift_card", "GC-7", Money(5000, "CHF"), reason="sold")
    sv.load("gift_card", "GC-7", Money(100, "CHF"))
    sv.freeze("gift_card", "GC-7", "stolen")
    balance: Money = sv.balance(account["kind"], account["id"])
    print(balance, [e["entry_type"] for e in sv.history("gift_card", "GC-7")], len(sv.accounts("store_credit")))
    for movement in sale.get("stored_value", []):
        print(movement["account_id"], movement["balance_after"]["minor"])
    store.return_items_to_account(sale["receipt_no"], [{"line_no": 1, "quantity": 1}], "x", kind="store_credit", account_id="SC-1")
    cart = store.new_cart()
    x = store.exchange(sale["receipt_no"], [{"line_no": 2, "quantity": 1}], cart, [], "size", excess_to="store_credit")
    linked: Optional[str] = x["refund"].get("exchange_with")
    print(linked, x["difference"]["minor"])
    return x


def forward(store: aisle.Edge, hq: aisle.Ingest) -> IngestReport:
    streams: aisle.Streams = store.streams
    config: StreamConfig = {"name": "insights", "max_bytes": 1 << 20, "when_full": "drop_oldest", "storage": "memory"}
    streams.create(config)
    exporter: ExporterConfig = {
        "name": "hq",
        "sink": {"type": "http", "url": "https://hq.example/ingest", "compression": "gzip", "headers": [("Authorization", "Bearer x")]},
        "start_at": {"at": "seq", "seq": 10},
        "retry": {"initial_ms": 100, "max_ms": 1000, "probe_ms": 100},
    }
    streams.add_exporter("insights", exporter)
    streams.add_exporter("insights", '{"name": "usb", "sink": {"type": "directory", "path": "/media/usb"}}')
    seq: int = streams.append("insights", {"count": 1})
    seqs: list[int] = streams.append_batch("insights", [b"{}", "[]", [1, 2]])

    def deliver(batch: aisle.Batch) -> None:
        for record in batch.records:
            print(batch.idempotency_key, record.seq, record.at_ms, json.loads(record.payload))

    streams.add_exporter("insights", {"name": "cb", "sink": {"type": "callback"}})
    streams.set_callback("insights", "cb", deliver)
    streams.start()
    drained: bool = streams.flush(5.0)
    status: list[StreamStatus] = streams.status()
    for exporter_status in status[0]["exporters"]:
        print(exporter_status["state"], exporter_status["last_error"], exporter_status["backlog_records"])
    streams.emit_status_every("insights", 60.0)
    streams.stop()
    records: list[aisle.Record] = streams.read("insights", after_seq=seq, max_records=10)
    body = aisle.Batch.decode(b"{}").to_ndjson() if not records else b""
    report = hq.receive(body, deliver, content_encoding=None)
    print(drained, seqs, report["applied"], hq.high_water("s", "d", "insights"))
    try:
        streams.append("insights", b"x" * (2 << 20))
    except (aisle.StreamFullError, aisle.InvalidPayloadError) as e:
        assert isinstance(e, aisle.ForwardError)
        print(e.code)
    return report


def main() -> None:
    store = aisle.Edge.in_memory(store_id="s", device_id="d")
    store.upsert_product(aisle.Product("A", "Apple", aisle.Money.parse("0.35", "EUR")))
    parts: list[aisle.Money] = basket_total(store, {"A": 3}).allocate([1, 2])
    print([p.minor for p in parts])

    shop = aisle.Edge.in_memory(store_id="s", device_id="d", currency="CHF")
    configure(shop)
    shop.upsert_products(
        [
            aisle.Product("TEA", "Green tea", Money.parse("3.50", "CHF"), barcodes=["7613035974685"], tags=["tea"]),
            aisle.Product("NUTS-KG", "Mixed nuts", Money.parse("32.00", "CHF"), sold_by="weight", attributes={"origin": "TR"}),
        ]
    )
    try:
        print(give_back(shop, sell(shop)))
    except aisle.CommerceError as e:
        print(e.code)
    print(what_if()["lines"][0]["units"])
