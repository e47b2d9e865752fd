"""Aisle: one Rust core for retail stores.

Open a store, load a catalog, ring up a cart — exact to the cent, the same rules as every other
register, handheld and backend that links the core::

    import aisle

    store = aisle.Edge.open("store.db", store_id="store-1", device_id="register-1", currency="EUR")
    store.upsert_product(aisle.Product("MILK-1L", "Milk 1 l", aisle.Money.parse("1.19", "EUR"), "reduced"))
    cart = store.new_cart()
    cart.add("MILK-1L", 3)
    assert str(cart.subtotal()) == "3.57 EUR"
"""

from __future__ import annotations

from ._native import (
    SCHEMA_VERSION,
    Cart,
    CartLine,
    Edge,
    Money,
    Product,
    StoreStats,
    error_codes,
)
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
    "Edge",
    "Money",
    "Product",
    "StoreStats",
    "error_codes",
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
    "StoreNotADatabaseError",
    "StoreCorruptError",
    "StoreSchemaTooNewError",
    "StoreIdentityMismatchError",
    "StoreClosedError",
    "StoreIoError",
    "StoreFailureError",
]
