"""Small constructors for the dicts Aisle takes as input: tenders and manual discounts.

They only build dicts (amounts in their exact ``{"minor", "currency"}`` form); the core checks
them when they are used, so a helper never accepts or refuses anything a hand-written dict
would not.
"""

from __future__ import annotations

import time
from typing import Optional

from ._native import Money
from .types import CardAuth, DiscountInput, MoneyDict, MoneyInput, TenderInput

__all__ = ["cash", "card", "gift_card", "store_credit", "discount"]


def _amount(amount: MoneyInput) -> MoneyDict:
    return amount.to_dict() if isinstance(amount, Money) else amount


def cash(amount: MoneyInput, *, reference: Optional[str] = None) -> TenderInput:
    """Cash handed over (more than is due gets change)."""
    tender: TenderInput = {"kind": "cash", "amount": _amount(amount)}
    if reference is not None:
        tender["reference"] = reference
    return tender


def card(
    amount: MoneyInput,
    *,
    token: str,
    brand: str,
    last4: str,
    auth_code: Optional[str] = None,
    offline: bool = False,
    authorized_at_ms: Optional[int] = None,
    reference: Optional[str] = None,
) -> TenderInput:
    """A card payment as the terminal authorised it: its token, the card brand and last four
    digits — never the card number. ``authorized_at_ms`` defaults to now."""
    auth: CardAuth = {
        "token": token,
        "brand": brand,
        "last4": last4,
        "offline": offline,
        "authorized_at_ms": time.time_ns() // 1_000_000 if authorized_at_ms is None else authorized_at_ms,
    }
    if auth_code is not None:
        auth["auth_code"] = auth_code
    tender: TenderInput = {"kind": "card", "amount": _amount(amount), "card": auth}
    if reference is not None:
        tender["reference"] = reference
    return tender


def gift_card(amount: MoneyInput, reference: str) -> TenderInput:
    """A gift card redemption; ``reference`` is the gift card's id."""
    return {"kind": "gift_card", "amount": _amount(amount), "reference": reference}


def store_credit(amount: MoneyInput, reference: str) -> TenderInput:
    """Store credit redeemed (e.g. from a refund); ``reference`` is the credit's id."""
    return {"kind": "store_credit", "amount": _amount(amount), "reference": reference}


def discount(*, reason: str, percent: Optional[str] = None, amount: Optional[MoneyInput] = None) -> DiscountInput:
    """A manual discount for ``Cart.set_line_discount()`` / ``set_order_discount()``: give
    exactly one of ``percent`` (a decimal string, ``"12.5"``) or ``amount``."""
    d: DiscountInput = {"reason": reason}
    if percent is not None:
        d["percent"] = percent
    if amount is not None:
        d["amount"] = _amount(amount)
    return d
