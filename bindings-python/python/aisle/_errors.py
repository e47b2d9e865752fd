"""Aisle's exception classes: one per stable error code, under six families.

Every error raised by Aisle is an ``AisleError`` with a stable ``code`` (e.g. ``"UNKNOWN_SKU"``)
and a message that says what was wrong. Each code has its own class (``UnknownSkuError``) under
a family base (``AisleValueError``, ``CommerceError``, ``ForwardError``, ``SyncError``,
``VisionError``, ``StoreError``), so callers catch as
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


class ForwardError(AisleError):
    """A store-and-forward rule: streams, exporters, payloads, ingest."""


class SyncError(AisleError):
    """Replication refused a message: signature, device, scope, replay, format, clock."""


class VisionError(AisleError):
    """Edge vision: a model descriptor or file, a frame, an image, inference."""


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


class InvalidBarcodeError(CommerceError):
    """INVALID_BARCODE: Not a valid GTIN-8/12/13/14 (length, non-digit, or wrong check digit)."""


class UnknownBarcodeError(CommerceError):
    """UNKNOWN_BARCODE: No product with that barcode is in the catalog."""


class DuplicateBarcodeError(CommerceError):
    """DUPLICATE_BARCODE: The barcode already belongs to another SKU; nothing was written."""


class InvalidPriceListError(CommerceError):
    """INVALID_PRICE_LIST: A price list field (named in the message) is invalid."""


class UnknownTaxCategoryError(CommerceError):
    """UNKNOWN_TAX_CATEGORY: A line's tax category has no rate and is not exempt in the tax regime."""


class InvalidTaxRegimeError(CommerceError):
    """INVALID_TAX_REGIME: A tax regime is malformed or invalid; the message names the JSON path."""


class PromoInvalidRuleError(CommerceError):
    """PROMO_INVALID_RULE: A promotion rule is malformed or invalid; the message names the JSON path."""


class CartClosedError(CommerceError):
    """CART_CLOSED: The cart was completed or voided; start a new cart."""


class UnknownReceiptError(CommerceError):
    """UNKNOWN_RECEIPT: No sale with that receipt number."""


class ReturnRefusedError(CommerceError):
    """RETURN_REFUSED: A return is not allowed (too many units, too late, a refund receipt, policy)."""


class InvalidTenderError(CommerceError):
    """INVALID_TENDER: A tender is malformed (zero or wrong-signed amount, card data on the wrong kind, missing gift card id, bad last4); the message names the field."""


class InvalidTenderPolicyError(CommerceError):
    """INVALID_TENDER_POLICY: A tender policy (cash rounding, offline limits) is invalid; the message names the JSON path."""


class InsufficientTenderError(CommerceError):
    """INSUFFICIENT_TENDER: The tenders do not cover the total; the message says how much is missing (and how much in cash)."""


class TenderExceedsDueError(CommerceError):
    """TENDER_EXCEEDS_DUE: A card, gift card or credit exceeds what is due (only cash gives change), or cash is not needed."""


class OfflineNotAllowedError(CommerceError):
    """OFFLINE_NOT_ALLOWED: An offline card authorisation, but the tender policy accepts none."""


class OfflineLimitExceededError(CommerceError):
    """OFFLINE_LIMIT_EXCEEDED: An offline card payment is over the floor limit, the device's exposure cap, or too old to forward."""


class CardNumberRefusedError(CommerceError):
    """CARD_NUMBER_REFUSED: Text that would be stored contains a full card number; only the last 4 digits are shown."""


class RefundExceedsPaidError(CommerceError):
    """REFUND_EXCEEDS_PAID: A refund would give back more than the original sale was paid."""


class StoredValueNotFoundError(CommerceError):
    """STORED_VALUE_NOT_FOUND: No gift card or store credit account with that id on this device."""


class StoredValueExistsError(CommerceError):
    """STORED_VALUE_EXISTS: A gift card or store credit account with that id already exists."""


class StoredValueInsufficientError(CommerceError):
    """STORED_VALUE_INSUFFICIENT: The account holds less than the amount asked for; balances never go negative."""


class StoredValueExpiredError(CommerceError):
    """STORED_VALUE_EXPIRED: The gift card or store credit has expired."""


class StoredValueFrozenError(CommerceError):
    """STORED_VALUE_FROZEN: The account is frozen: no loads, redemptions or refunds until it is unfrozen."""


class StoredValueClosedError(CommerceError):
    """STORED_VALUE_CLOSED: The account is closed for good."""


class StoredValueCurrencyMismatchError(CommerceError):
    """STORED_VALUE_CURRENCY_MISMATCH: The account is in another currency than the amount."""


class StreamNotFoundError(ForwardError):
    """STREAM_NOT_FOUND: No stream with that name."""


class StreamExistsError(ForwardError):
    """STREAM_EXISTS: The stream exists with another storage or payload format."""


class StreamFullError(ForwardError):
    """STREAM_FULL: The append does not fit under the stream's max_bytes and its policy is to reject new data; nothing stored was touched."""


class ExporterNotFoundError(ForwardError):
    """EXPORTER_NOT_FOUND: The stream has no exporter with that name."""


class InvalidPayloadError(ForwardError):
    """INVALID_PAYLOAD: A payload is not one JSON value on a JSON stream, or larger than the stream's max_bytes."""


class IngestRejectedError(ForwardError):
    """INGEST_REJECTED: A batch was not applied: a malformed or oversized body, or the application refused it."""


class SyncBadSignatureError(SyncError):
    """SYNC_BAD_SIGNATURE: A sync message does not carry the valid signature of the device it claims to be from."""


class SyncUnknownDeviceError(SyncError):
    """SYNC_UNKNOWN_DEVICE: The sending device is not enrolled on this replica."""


class SyncScopeError(SyncError):
    """SYNC_SCOPE: The device may not read or write that scope."""


class SyncReplayError(SyncError):
    """SYNC_REPLAY: The message was already received (or is older than the replay window)."""


class SyncDecodeError(SyncError):
    """SYNC_DECODE: Not a valid sync message (truncated, garbled)."""


class SyncUnsupportedVersionError(SyncError):
    """SYNC_UNSUPPORTED_VERSION: The message's sync format version is newer than this build reads."""


class SyncClockSkewError(SyncError):
    """SYNC_CLOCK_SKEW: A timestamp in the message is too far ahead of this device's clock."""


class SyncUnreachableError(SyncError):
    """SYNC_UNREACHABLE: The sync peer could not be reached, or answered with something that is not sync."""


class SyncPeerRefusedError(SyncError):
    """SYNC_PEER_REFUSED: The sync peer refused the exchange; the message carries its code and reason."""


class ModelDescriptorInvalidError(VisionError):
    """MODEL_DESCRIPTOR_INVALID: A model descriptor is malformed or invalid; the message says what."""


class ModelHashMismatchError(VisionError):
    """MODEL_HASH_MISMATCH: The model file's SHA-256 is not the one its descriptor expects."""


class ModelInvalidError(VisionError):
    """MODEL_INVALID: The model cannot be loaded, or does not match its descriptor."""


class ModelIoError(VisionError):
    """MODEL_IO: A model file cannot be read."""


class FrameInvalidError(VisionError):
    """FRAME_INVALID: A frame's buffer does not match its width, height and pixel format."""


class ImageInvalidError(VisionError):
    """IMAGE_INVALID: Not a JPEG or PNG image Aisle can decode."""


class InferenceFailedError(VisionError):
    """INFERENCE_FAILED: The model failed on a frame."""


class AnalyticsConfigInvalidError(VisionError):
    """ANALYTICS_CONFIG_INVALID: A camera's analytics configuration is malformed or invalid."""


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
    "INVALID_BARCODE": InvalidBarcodeError,
    "UNKNOWN_BARCODE": UnknownBarcodeError,
    "DUPLICATE_BARCODE": DuplicateBarcodeError,
    "INVALID_PRICE_LIST": InvalidPriceListError,
    "UNKNOWN_TAX_CATEGORY": UnknownTaxCategoryError,
    "INVALID_TAX_REGIME": InvalidTaxRegimeError,
    "PROMO_INVALID_RULE": PromoInvalidRuleError,
    "CART_CLOSED": CartClosedError,
    "UNKNOWN_RECEIPT": UnknownReceiptError,
    "RETURN_REFUSED": ReturnRefusedError,
    "INVALID_TENDER": InvalidTenderError,
    "INVALID_TENDER_POLICY": InvalidTenderPolicyError,
    "INSUFFICIENT_TENDER": InsufficientTenderError,
    "TENDER_EXCEEDS_DUE": TenderExceedsDueError,
    "OFFLINE_NOT_ALLOWED": OfflineNotAllowedError,
    "OFFLINE_LIMIT_EXCEEDED": OfflineLimitExceededError,
    "CARD_NUMBER_REFUSED": CardNumberRefusedError,
    "REFUND_EXCEEDS_PAID": RefundExceedsPaidError,
    "STORED_VALUE_NOT_FOUND": StoredValueNotFoundError,
    "STORED_VALUE_EXISTS": StoredValueExistsError,
    "STORED_VALUE_INSUFFICIENT": StoredValueInsufficientError,
    "STORED_VALUE_EXPIRED": StoredValueExpiredError,
    "STORED_VALUE_FROZEN": StoredValueFrozenError,
    "STORED_VALUE_CLOSED": StoredValueClosedError,
    "STORED_VALUE_CURRENCY_MISMATCH": StoredValueCurrencyMismatchError,
    "STREAM_NOT_FOUND": StreamNotFoundError,
    "STREAM_EXISTS": StreamExistsError,
    "STREAM_FULL": StreamFullError,
    "EXPORTER_NOT_FOUND": ExporterNotFoundError,
    "INVALID_PAYLOAD": InvalidPayloadError,
    "INGEST_REJECTED": IngestRejectedError,
    "SYNC_BAD_SIGNATURE": SyncBadSignatureError,
    "SYNC_UNKNOWN_DEVICE": SyncUnknownDeviceError,
    "SYNC_SCOPE": SyncScopeError,
    "SYNC_REPLAY": SyncReplayError,
    "SYNC_DECODE": SyncDecodeError,
    "SYNC_UNSUPPORTED_VERSION": SyncUnsupportedVersionError,
    "SYNC_CLOCK_SKEW": SyncClockSkewError,
    "SYNC_UNREACHABLE": SyncUnreachableError,
    "SYNC_PEER_REFUSED": SyncPeerRefusedError,
    "MODEL_DESCRIPTOR_INVALID": ModelDescriptorInvalidError,
    "MODEL_HASH_MISMATCH": ModelHashMismatchError,
    "MODEL_INVALID": ModelInvalidError,
    "MODEL_IO": ModelIoError,
    "FRAME_INVALID": FrameInvalidError,
    "IMAGE_INVALID": ImageInvalidError,
    "INFERENCE_FAILED": InferenceFailedError,
    "ANALYTICS_CONFIG_INVALID": AnalyticsConfigInvalidError,
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
