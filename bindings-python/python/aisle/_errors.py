"""Aisle's exception classes: one per stable error code, under three families.

Every error raised by Aisle is an ``AisleError`` with a stable ``code`` (e.g. ``"UNKNOWN_SKU"``)
and a message that says what was wrong. Each code has its own class (``UnknownSkuError``) under
a family base (``AisleValueError``, ``CommerceError``, ``StoreError``), so callers catch as
broadly or narrowly as they like::

    try:
        cart.add("NOPE", 1)
    except aisle.UnknownSkuError as e:
        print(e.code, e)

The table here must match the core's codes; ``tests/test_errors.py`` checks it against
``_native.error_kinds()`` so it cannot drift.
"""

from __future__ import annotations


class AisleError(Exception):
    """Base class of every error Aisle raises."""

    code: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class AisleValueError(AisleError, ValueError):
    """A bad value: an amount, a currency, an argument."""


class CommerceError(AisleError):
    """A catalog or cart rule was broken (unknown SKU, bad quantity, ...)."""


class StoreError(AisleError):
    """The store file cannot be used (not a database, damaged, too new, I/O)."""


class UnknownCurrencyError(AisleValueError):
    """UNKNOWN_CURRENCY: The currency code is not an ISO-4217 code Aisle knows."""


class CurrencyMismatchError(AisleValueError):
    """CURRENCY_MISMATCH: Two amounts (or a product and a cart) are in different currencies."""


class MoneyOverflowError(AisleValueError):
    """MONEY_OVERFLOW: An amount left the 64-bit range of minor units."""


class InvalidAmountError(AisleValueError):
    """INVALID_AMOUNT: A decimal amount could not be parsed exactly."""


class InvalidArgumentError(AisleValueError):
    """INVALID_ARGUMENT: An argument is outside what the call accepts."""


class UnknownSkuError(CommerceError):
    """UNKNOWN_SKU: No product with that SKU is in the catalog."""


class InvalidProductError(CommerceError):
    """INVALID_PRODUCT: A product field (SKU, name, price, tax category) is invalid."""


class InvalidQuantityError(CommerceError):
    """INVALID_QUANTITY: A quantity is negative, zero where not allowed, or too large."""


class CartNotFoundError(CommerceError):
    """CART_NOT_FOUND: No cart with that id exists."""


class CartLineNotFoundError(CommerceError):
    """CART_LINE_NOT_FOUND: The cart has no line for that SKU."""


class StoreNotADatabaseError(StoreError):
    """STORE_NOT_A_DATABASE: The file is not an Aisle store (not SQLite, or another app's database)."""


class StoreCorruptError(StoreError):
    """STORE_CORRUPT: The store file is damaged."""


class StoreSchemaTooNewError(StoreError):
    """STORE_SCHEMA_TOO_NEW: The store file was written by a newer Aisle."""


class StoreIdentityMismatchError(StoreError):
    """STORE_IDENTITY_MISMATCH: The store file belongs to another store, device or currency."""


class StoreClosedError(StoreError):
    """STORE_CLOSED: The store was closed; open it again to use it."""


class StoreIoError(StoreError):
    """STORE_IO: The store file cannot be opened or written (path, permissions, disk)."""


class StoreFailureError(StoreError):
    """STORE_ERROR: Any other SQLite failure."""


ERROR_CLASSES: dict[str, type[AisleError]] = {
    "UNKNOWN_CURRENCY": UnknownCurrencyError,
    "CURRENCY_MISMATCH": CurrencyMismatchError,
    "MONEY_OVERFLOW": MoneyOverflowError,
    "INVALID_AMOUNT": InvalidAmountError,
    "INVALID_ARGUMENT": InvalidArgumentError,
    "UNKNOWN_SKU": UnknownSkuError,
    "INVALID_PRODUCT": InvalidProductError,
    "INVALID_QUANTITY": InvalidQuantityError,
    "CART_NOT_FOUND": CartNotFoundError,
    "CART_LINE_NOT_FOUND": CartLineNotFoundError,
    "STORE_NOT_A_DATABASE": StoreNotADatabaseError,
    "STORE_CORRUPT": StoreCorruptError,
    "STORE_SCHEMA_TOO_NEW": StoreSchemaTooNewError,
    "STORE_IDENTITY_MISMATCH": StoreIdentityMismatchError,
    "STORE_CLOSED": StoreClosedError,
    "STORE_IO": StoreIoError,
    "STORE_ERROR": StoreFailureError,
}


def _class_for_code(code: str) -> type[AisleError]:
    """Called by the native module to pick the class for a core error."""
    return ERROR_CLASSES.get(code, AisleError)
