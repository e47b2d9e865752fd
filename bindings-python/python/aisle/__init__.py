"""Aisle: one Rust core for retail stores.

Open a store, load a catalog, ring up a cart, take the payment — exact to the cent, the same
rules as every other register, handheld and backend that links the core::

    import aisle
    from aisle import Money

    store = aisle.Edge.open("store.db", store_id="store-1", device_id="register-1", currency="EUR")
    store.set_settings({"tax_regime": {...}})   # see docs/python.md
    store.upsert_product(aisle.Product("MILK-1L", "Milk 1 l", Money.parse("1.19", "EUR"), "reduced"))
    cart = store.new_cart()
    cart.add("MILK-1L", 3)
    priced = cart.price()                 # a dict: lines, promotions, tax, total
    sale = cart.complete([aisle.cash(Money.parse("5.00", "EUR"))])
    print(store.receipt_text(sale["receipt_no"]))

Results with many fields (priced carts, sales, receipts, settings) are plain dicts; their
shapes are the ``TypedDict``s in :mod:`aisle.types`. Amounts in them are
``{"minor": 357, "currency": "EUR"}``; ``Money.from_dict`` turns one into a ``Money``.
"""

from __future__ import annotations

from . import types
from ._enums import CartStatus
from ._native import (
    SCHEMA_VERSION,
    Cart,
    CartLine,
    Edge,
    Money,
    Product,
    StoreStats,
    error_codes,
    price,
    price_json,
)
from ._inputs import card, cash, discount, gift_card, store_credit
from ._errors import (
    ERROR_CLASSES,
    AisleError,
    AisleValueError,
    CommerceError,
    StoreError,
    UnknownCurrencyError,
    CurrencyMismatchError,
    MoneyOverflowError,
    InvalidAmountError,
    InvalidArgumentError,
    UnknownSkuError,
    InvalidProductError,
    InvalidQuantityError,
    CartNotFoundError,
    CartLineNotFoundError,
    InvalidBarcodeError,
    UnknownBarcodeError,
    DuplicateBarcodeError,
    InvalidPriceListError,
    UnknownTaxCategoryError,
    InvalidTaxRegimeError,
    PromoInvalidRuleError,
    CartClosedError,
    UnknownReceiptError,
    ReturnRefusedError,
    InvalidTenderError,
    InvalidTenderPolicyError,
    InsufficientTenderError,
    TenderExceedsDueError,
    OfflineNotAllowedError,
    OfflineLimitExceededError,
    CardNumberRefusedError,
    RefundExceedsPaidError,
    StoredValueNotFoundError,
    StoredValueExistsError,
    StoredValueInsufficientError,
    StoredValueExpiredError,
    StoredValueFrozenError,
    StoredValueClosedError,
    StoredValueCurrencyMismatchError,
    StoreNotADatabaseError,
    StoreCorruptError,
    StoreSchemaTooNewError,
    StoreIdentityMismatchError,
    StoreClosedError,
    StoreIoError,
    StoreFailureError,
)

ROUNDING_MODES = ("half_even", "half_up", "half_down", "up", "down")

__all__ = [
    "SCHEMA_VERSION",
    "ROUNDING_MODES",
    "Cart",
    "CartLine",
    "CartStatus",
    "Edge",
    "Money",
    "Product",
    "StoreStats",
    "error_codes",
    "price",
    "price_json",
    "cash",
    "card",
    "gift_card",
    "store_credit",
    "discount",
    "types",
    "ERROR_CLASSES",
    "AisleError",
    "AisleValueError",
    "CommerceError",
    "StoreError",
    "UnknownCurrencyError",
    "CurrencyMismatchError",
    "MoneyOverflowError",
    "InvalidAmountError",
    "InvalidArgumentError",
    "UnknownSkuError",
    "InvalidProductError",
    "InvalidQuantityError",
    "CartNotFoundError",
    "CartLineNotFoundError",
    "InvalidBarcodeError",
    "UnknownBarcodeError",
    "DuplicateBarcodeError",
    "InvalidPriceListError",
    "UnknownTaxCategoryError",
    "InvalidTaxRegimeError",
    "PromoInvalidRuleError",
    "CartClosedError",
    "UnknownReceiptError",
    "ReturnRefusedError",
    "InvalidTenderError",
    "InvalidTenderPolicyError",
    "InsufficientTenderError",
    "TenderExceedsDueError",
    "OfflineNotAllowedError",
    "OfflineLimitExceededError",
    "CardNumberRefusedError",
    "RefundExceedsPaidError",
    "StoredValueNotFoundError",
    "StoredValueExistsError",
    "StoredValueInsufficientError",
    "StoredValueExpiredError",
    "StoredValueFrozenError",
    "StoredValueClosedError",
    "StoredValueCurrencyMismatchError",
    "StoreNotADatabaseError",
    "StoreCorruptError",
    "StoreSchemaTooNewError",
    "StoreIdentityMismatchError",
    "StoreClosedError",
    "StoreIoError",
    "StoreFailureError",
]
