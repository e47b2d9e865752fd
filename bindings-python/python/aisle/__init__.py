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

Gift cards and store credit live in ``store.stored_value``; exchanges are ``store.exchange()``.
Store-and-forward (durable streams, exporters to HTTP, MQTT, a directory or a Python
function) is ``store.streams``; ``aisle.Ingest`` applies forwarded batches exactly once on
the receiving side.
"""

from __future__ import annotations

from . import types
from ._enums import CartStatus
from ._native import (
    SCHEMA_VERSION,
    Batch,
    Cart,
    CartLine,
    Edge,
    Ingest,
    Money,
    Product,
    Record,
    StoredValue,
    StoreStats,
    Streams,
    error_codes,
    price,
    price_json,
)
from . import _forward as _forward  # stops forwarding at interpreter exit
from ._inputs import card, cash, discount, gift_card, store_credit
from ._errors import (
    ERROR_CLASSES,
    AisleError,
    AisleValueError,
    CommerceError,
    ForwardError,
    SyncError,
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
    StreamNotFoundError,
    StreamExistsError,
    StreamFullError,
    ExporterNotFoundError,
    InvalidPayloadError,
    IngestRejectedError,
    SyncBadSignatureError,
    SyncUnknownDeviceError,
    SyncScopeError,
    SyncReplayError,
    SyncDecodeError,
    SyncUnsupportedVersionError,
    SyncClockSkewError,
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
    "Batch",
    "Cart",
    "CartLine",
    "CartStatus",
    "Edge",
    "Ingest",
    "Money",
    "Product",
    "Record",
    "StoredValue",
    "StoreStats",
    "Streams",
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
    "ForwardError",
    "SyncError",
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
    "StreamNotFoundError",
    "StreamExistsError",
    "StreamFullError",
    "ExporterNotFoundError",
    "InvalidPayloadError",
    "IngestRejectedError",
    "SyncBadSignatureError",
    "SyncUnknownDeviceError",
    "SyncScopeError",
    "SyncReplayError",
    "SyncDecodeError",
    "SyncUnsupportedVersionError",
    "SyncClockSkewError",
    "StoreNotADatabaseError",
    "StoreCorruptError",
    "StoreSchemaTooNewError",
    "StoreIdentityMismatchError",
    "StoreClosedError",
    "StoreIoError",
    "StoreFailureError",
]
