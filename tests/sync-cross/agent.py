"""The Python replica of the cross-language sync check (see PROTOCOL.md in this folder)."""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

import aisle


def run(state: dict[str, Any], cmd: dict[str, Any]) -> dict[str, Any]:
    op = cmd["op"]
    if op == "open":
        edge = aisle.Edge.open(cmd["path"], store_id=cmd["store"], device_id=cmd["device"], currency="EUR")
        edge.sync.set_role(cmd["role"])
        state["edge"] = edge
        return {"card": json.dumps(edge.sync.identity())}
    edge = state["edge"]
    sync = edge.sync
    if op == "enroll":
        sync.enroll(cmd["card"])
        return {}
    if op == "request":
        return {"bytes": base64.b64encode(sync.request()).decode()}
    if op == "changes_since":
        chunks = sync.changes_since(base64.b64decode(cmd["bytes"]))
        return {"chunks": [base64.b64encode(c).decode() for c in chunks]}
    if op == "apply":
        return {"changed": sync.apply(base64.b64decode(cmd["bytes"]))["changed"]}
    if op == "stock_add":
        return {"level": sync.stock_add(cmd["sku"], cmd["location"], cmd["delta"])}
    if op == "stocktake":
        sync.stocktake(cmd["sku"], cmd["location"], cmd["count"])
        return {}
    if op == "cart_add":
        sync.cart_add(cmd["cart"], cmd["sku"], cmd["quantity"])
        return {}
    if op == "cart_remove":
        sync.cart_remove(cmd["cart"], cmd["sku"])
        return {}
    if op == "customer_upsert":
        sync.upsert_customer(cmd["id"], cmd["fields"])
        return {}
    if op == "customer_delete":
        return {"deleted": sync.delete_customer(cmd["id"])}
    if op == "price":
        price = aisle.Money(cmd["price_minor"], "EUR")
        edge.upsert_product(aisle.Product(cmd["sku"], cmd["name"], price, "standard"))
        return {}
    if op == "state":
        try:
            price_minor: int | None = edge.product(cmd["sku"]).price.minor
        except aisle.UnknownSkuError:
            price_minor = None
        return {
            "level": sync.stock_level(cmd["sku"], cmd["location"]),
            "lines": [list(line) for line in sync.cart_lines(cmd["cart"])],
            "customer": sync.customer(cmd["customer"]),
            "price_minor": price_minor,
        }
    if op == "digest":
        return {"digest": sync.digest(cmd["scope"])}
    raise aisle.InvalidArgumentError("INVALID_ARGUMENT", f"unknown op {op!r}")


def main() -> None:
    state: dict[str, Any] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd["op"] == "quit":
            print(json.dumps({"ok": True}), flush=True)
            break
        try:
            answer = {"ok": True, **run(state, cmd)}
        except aisle.AisleError as e:
            answer = {"ok": False, "code": e.code, "message": str(e)}
        print(json.dumps(answer), flush=True)
    if "edge" in state:
        state["edge"].close()


if __name__ == "__main__":
    main()
