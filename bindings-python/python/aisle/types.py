"""The shapes of Aisle's commerce records, as ``TypedDict``s.

Priced carts, sales, receipts, settings and promotions come back from Aisle as plain ``dict``s
parsed from the core's JSON, so they print, compare, ``json.dumps`` and load into a DataFrame
as they are. These classes only describe those dicts for type checkers (``mypy --strict``,
editors); nothing here converts or checks anything at run time.

Gift cards and store credit (:class:`StoredValueAccount`, :class:`StoredValueEntry`),
exchanges (:class:`Exchange`) and store-and-forward (:class:`StreamConfig`,
:class:`ExporterConfig`, :class:`StreamStatus`, :class:`IngestReport`) follow the same rules.

Conventions, the same in every language Aisle speaks:

* an amount is ``{"minor": 1234, "currency": "EUR"}`` (:class:`MoneyDict`): exact integer minor
  units, never a float. ``aisle.Money.from_dict(d)`` turns one into a ``Money``;
* a percentage is a decimal string, ``"12.5"``;
* a quantity is ``{"units": 3}``, or ``{"grams": 312}`` for a weighed line;
* times are RFC 3339 strings (``at``) or Unix milliseconds (``*_ms``).

Input dicts (tenders, discounts, customers, return items) may give an amount as an
``aisle.Money`` instead of a :class:`MoneyDict`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Tuple, TypedDict, Union

from ._enums import CartStatus
from ._native import Money

__all__ = [
    "ReceiptDiscount",
    "MoneyDict",
    "MoneyInput",
    "RoundingModeName",
    "SoldBy",
    "CartStatus",
    "TenderKind",
    "SaleKind",
    "RefundTo",
    "CouponStatus",
    "PromotionMode",
    "Quantity",
    "UnitRun",
    "LineAdjustment",
    "TaxAmount",
    "PriceOverride",
    "ManualDiscount",
    "DiscountInput",
    "Customer",
    "PricedLine",
    "AppliedPromotion",
    "CouponResult",
    "PricedCart",
    "PriceResult",
    "CardAuth",
    "TenderInput",
    "SettledTender",
    "OfflineAuthorization",
    "Settlement",
    "PaidUnits",
    "SaleLine",
    "Sale",
    "ReturnItem",
    "ReceiptLine",
    "ReceiptTax",
    "ReceiptTender",
    "Receipt",
    "TaxRounding",
    "TaxRate",
    "TaxRegime",
    "PricingRounding",
    "CashRounding",
    "OfflinePolicy",
    "TenderPolicy",
    "ReturnPolicy",
    "StoreSettings",
    "PriceScope",
    "PriceList",
    "Promotion",
    "PricingRequest",
    "StoredValueKind",
    "AccountStatus",
    "EntryType",
    "StoredValueAccount",
    "StoredValueEntry",
    "StoredValueMovement",
    "Exchange",
    "Storage",
    "WhenFull",
    "PayloadFormat",
    "StreamConfig",
    "StartAt",
    "RetryPolicy",
    "HttpSink",
    "MqttTls",
    "MqttSink",
    "DirectorySink",
    "CallbackSink",
    "SinkConfig",
    "ExporterConfig",
    "ExporterState",
    "ExporterStatus",
    "StreamStatus",
    "IngestReport",
    "Role",
    "DeviceCard",
    "Touched",
    "ApplyReport",
    "PushReport",
    "RoundReport",
    "SyncFailure",
    "PeerStatus",
    "CompactReport",
    "SyncStats",
    "SyncValue",
    "PixelFormat",
    "Pushed",
    "Detection",
    "AnalyticsConfig",
    "LineConfig",
    "ZoneConfig",
    "ZoneKind",
    "LineInsight",
    "ZoneInsight",
    "Insight",
    "InsightData",
    "InsightEvent",
    "TrackerStats",
    "PipelineStats",
    "StopReport",
]

# ---- values -------------------------------------------------------------------------------


class MoneyDict(TypedDict):
    """An exact amount: integer minor units (cents) of an ISO-4217 currency."""

    minor: int
    currency: str


MoneyInput = Union[Money, MoneyDict]
"""An amount as an input accepts it: an ``aisle.Money`` or its dict form."""

# Written as unions of one-value literals (the same type, PEP 586) so mypy.stubtest, which
# expects a Union at run time for an alias mypy sees as one, accepts them.
RoundingModeName = Union[
    Literal["half_even"], Literal["half_up"], Literal["half_down"], Literal["up"], Literal["down"]
]
SoldBy = Union[Literal["unit"], Literal["weight"]]
TenderKind = Union[Literal["cash"], Literal["card"], Literal["gift_card"], Literal["store_credit"]]
SaleKind = Union[Literal["sale"], Literal["refund"]]
RefundTo = Union[Literal["original_tenders"], Literal["store_credit"]]
CouponStatus = Union[
    Literal["applied"],
    Literal["not_applicable"],
    Literal["invalid"],
    Literal["expired"],
    Literal["not_yet_valid"],
    Literal["already_used"],
]
PromotionMode = Union[Literal["priority"], Literal["best_deal"]]


class Quantity(TypedDict, total=False):
    """Exactly one key: ``{"units": 3}`` or, for a weighed line, ``{"grams": 312}``."""

    units: int
    grams: int


class UnitRun(TypedDict):
    """``count`` units of ``amount`` each; a line's runs sum to its total."""

    count: int
    amount: MoneyDict


# ---- pricing ------------------------------------------------------------------------------


class LineAdjustment(TypedDict):
    """One discount on one line: a promotion's, or a manual one."""

    source: str  # the promotion id, or "manual" / "manual_order"
    label: str  # promotion name or the cashier's reason
    rule: str  # "percent_off", "buy_x_get_y", ..., "manual_line", "manual_order"
    amount: MoneyDict  # positive
    units: List[UnitRun]


class TaxAmount(TypedDict):
    """One tax rate on a line or in a summary."""

    rate_id: str
    percent: str
    base: MoneyDict
    amount: MoneyDict


class PriceOverride(TypedDict):
    """A manual unit price with the reason for it."""

    price: MoneyDict
    reason: str


class _ManualDiscountRequired(TypedDict):
    reason: str
    needs_approval: bool


class ManualDiscount(_ManualDiscountRequired, total=False):
    """A manual discount as recorded: exactly one of ``percent`` or ``amount``.

    ``needs_approval`` is set by the engine when the discount is above the store's
    ``approval_above_percent``; the app decides who may approve it.
    """

    percent: str
    amount: MoneyDict


class _DiscountInputRequired(TypedDict):
    reason: str


class DiscountInput(_DiscountInputRequired, total=False):
    """A manual discount to give: exactly one of ``percent`` (``"12.5"``) or ``amount``."""

    percent: str
    amount: MoneyInput


class Customer(TypedDict, total=False):
    """The customer of a cart. Every key is optional on input."""

    id: Optional[str]
    group: Optional[str]  # for price lists and promotions, e.g. "staff"
    loyalty_id: Optional[str]
    tax_exempt: bool


class PricedLine(TypedDict):
    sku: str
    name: str
    quantity: Quantity
    unit_price: MoneyDict  # per piece, or per kg for a weighed line
    base: MoneyDict  # before any discount
    adjustments: List[LineAdjustment]
    discount: MoneyDict
    units: List[UnitRun]  # what each unit pays, summing to amount
    amount: MoneyDict  # base - discount
    tax_category: str
    net: MoneyDict
    tax: MoneyDict
    gross: MoneyDict
    taxes: List[TaxAmount]
    price_override: Optional[PriceOverride]
    manual_discount: Optional[ManualDiscount]


class AppliedPromotion(TypedDict):
    id: str
    name: str
    rule: str
    applications: int
    discount: MoneyDict


class CouponResult(TypedDict):
    code: str
    status: CouponStatus


class PricedCart(TypedDict):
    """What ``Cart.price()`` returns: lines, discounts and tax, exact to the cent."""

    currency: str
    lines: List[PricedLine]
    subtotal: MoneyDict  # sum of line bases
    discount: MoneyDict
    net: MoneyDict
    tax: MoneyDict
    total: MoneyDict  # what the customer owes, before cash rounding
    taxes: List[TaxAmount]
    promotions: List[AppliedPromotion]
    coupons: List[CouponResult]
    order_discount: Optional[ManualDiscount]
    best_deal_exact: bool


class PriceResult(PricedCart, total=False):
    """What ``aisle.price()`` returns: the priced cart, and its settlement if the request had
    tenders."""

    settlement: Settlement


# ---- tenders ------------------------------------------------------------------------------


class _CardAuthRequired(TypedDict):
    token: str  # the terminal's reference for the payment, never the card number
    brand: str
    last4: str
    authorized_at_ms: int


class CardAuth(_CardAuthRequired, total=False):
    """A payment terminal's authorisation. Never a card number: Aisle refuses one."""

    auth_code: str
    offline: bool


class _TenderInputRequired(TypedDict):
    kind: TenderKind
    amount: MoneyInput  # cash: handed over; others: charged


class TenderInput(_TenderInputRequired, total=False):
    """A tender offered to ``Cart.complete()``; ``aisle.cash()``, ``aisle.card()``, ... build
    them. ``card`` is required for a card, ``reference`` for a gift card or store credit."""

    card: CardAuth
    reference: str


StoredValueKind = Union[Literal["gift_card"], Literal["store_credit"]]
"""The two kinds of stored value, spelled as their tenders."""


class _SettledTenderRequired(TypedDict):
    kind: TenderKind
    amount: MoneyDict  # what it contributed (negative on a refund)
    tendered: MoneyDict  # what was handed over or charged
    change: MoneyDict  # non-zero only on cash


class SettledTender(_SettledTenderRequired, total=False):
    card: CardAuth
    reference: str


class OfflineAuthorization(TypedDict):
    tender_index: int
    amount: MoneyDict
    expires_at_ms: int


class Settlement(TypedDict):
    """How a total was paid (or a refund paid out)."""

    tenders: List[SettledTender]
    due: MoneyDict  # the total after cash rounding
    cash_rounding: MoneyDict  # due - total
    paid: MoneyDict
    change: MoneyDict
    offline_authorizations: List[OfflineAuthorization]


# ---- sales and receipts -------------------------------------------------------------------


class PaidUnits(TypedDict):
    """``count`` units that each paid ``gross``, of which ``tax`` is tax."""

    count: int
    gross: MoneyDict
    tax: MoneyDict


class _SaleLineRequired(TypedDict):
    line_no: int  # 1-based, what a return names
    sku: str
    name: str
    quantity: Quantity
    unit_price: MoneyDict
    base: MoneyDict
    adjustments: List[LineAdjustment]
    discount: MoneyDict
    net: MoneyDict
    tax: MoneyDict
    gross: MoneyDict
    taxes: List[TaxAmount]
    units: List[PaidUnits]  # lowest paid first: what returns refund


class SaleLine(_SaleLineRequired, total=False):
    returns_line: int  # on a refund: the original line


class StoredValueMovement(TypedDict):
    """What one gift card / store credit tender of a sale or refund did to its account."""

    tender_index: int  # into settlement["tenders"]
    kind: StoredValueKind
    account_id: str  # for a refund to new store credit: the id it was given, "SC-<receipt>"
    amount: MoneyDict  # negative for a redemption, positive for a credit
    balance_after: MoneyDict


class _SaleRequired(TypedDict):
    receipt_no: str
    kind: SaleKind
    store_id: str
    device_id: str
    at: str
    at_ms: int
    currency: str
    cart_id: Optional[str]
    customer: Optional[Customer]
    lines: List[SaleLine]
    subtotal: MoneyDict
    discount: MoneyDict
    net: MoneyDict
    tax: MoneyDict
    total: MoneyDict
    taxes: List[TaxAmount]
    promotions: List[AppliedPromotion]
    settlement: Settlement
    original: Optional[str]  # on a refund: the receipt it returns against
    reason: Optional[str]


class Sale(_SaleRequired, total=False):
    """A completed sale or refund (refund amounts are negative). ``stored_value`` and
    ``exchange_with`` are present only when they say something."""

    stored_value: List[StoredValueMovement]  # per gift card / store credit tender
    exchange_with: str  # the other receipt of an exchange


class Exchange(TypedDict):
    """What ``Edge.exchange()`` returns: the two linked receipts."""

    refund: Sale  # the return, against the original receipt
    sale: Sale  # the new sale, numbered right after the refund
    difference: MoneyDict  # paid by the customer (positive) or given back (negative)


class ReturnItem(TypedDict):
    """``quantity`` units of line ``line_no`` of a sale (a weighed line: 1)."""

    line_no: int
    quantity: int


class ReceiptDiscount(TypedDict):
    """A discount printed under a receipt line (the amount is positive)."""

    label: str
    amount: MoneyDict


class ReceiptLine(TypedDict):
    name: str
    quantity_text: str  # "2", "0.312 kg"
    unit_price: MoneyDict
    amount: MoneyDict  # after discounts
    discounts: List["ReceiptDiscount"]
    tax_code: str


class ReceiptTax(TypedDict):
    label: str
    base: MoneyDict
    amount: MoneyDict


class _ReceiptTenderRequired(TypedDict):
    label: str  # "Cash", "VISA ****4242", "Gift card ****0123"
    amount: MoneyDict


class ReceiptTender(_ReceiptTenderRequired, total=False):
    balance: MoneyDict  # a gift card's or store credit's balance after (printed "Balance")


class _ReceiptRequired(TypedDict):
    store_name: str
    store_id: str
    device_id: str
    receipt_no: str
    at: str  # local time of the sale, RFC 3339
    lines: List[ReceiptLine]
    subtotal: MoneyDict
    discount_total: MoneyDict
    tax_summary: List[ReceiptTax]
    total: MoneyDict
    cash_rounding: MoneyDict
    tenders: List[ReceiptTender]
    change: MoneyDict
    footer: List[str]
    is_refund: bool
    original_receipt_no: Optional[str]


class Receipt(_ReceiptRequired, total=False):
    """A receipt as data (``Edge.receipt_text()`` renders it for a printer)."""

    exchange_with: str  # the other receipt of an exchange


# ---- settings -----------------------------------------------------------------------------


class _TaxRoundingRequired(TypedDict):
    mode: RoundingModeName
    level: Literal["unit", "line", "total"]


class TaxRounding(_TaxRoundingRequired, total=False):
    inclusive_target: Literal["tax", "net"]


class _TaxRateRequired(TypedDict):
    id: str
    name: str  # printed on receipts, e.g. "VAT 20%"
    categories: List[str]
    percent: str


class TaxRate(_TaxRateRequired, total=False):
    compound: bool


class _TaxRegimeRequired(TypedDict):
    id: str
    prices_include_tax: bool
    rounding: TaxRounding
    rates: List[TaxRate]


class TaxRegime(_TaxRegimeRequired, total=False):
    """``docs/schemas/tax-regime.schema.json``."""

    exempt_categories: List[str]


class PricingRounding(TypedDict, total=False):
    discounts: RoundingModeName
    weight: RoundingModeName


class CashRounding(TypedDict):
    increment: int  # minor units: 5 rounds cash to 0.05
    mode: RoundingModeName


class OfflinePolicy(TypedDict):
    floor_limit: MoneyDict
    max_exposure: MoneyDict
    expiry_ms: int


class TenderPolicy(TypedDict, total=False):
    """``docs/schemas/tender-policy.schema.json``."""

    cash_rounding: Optional[CashRounding]
    offline: Optional[OfflinePolicy]


class ReturnPolicy(TypedDict, total=False):
    blind_returns: bool
    blind_max: Optional[MoneyDict]
    return_days: Optional[int]


class StoreSettings(TypedDict, total=False):
    """A store's settings. ``Edge.settings()`` returns every key; ``Edge.set_settings()`` takes
    any of them (the rest get their defaults)."""

    store_name: str
    time_zone: str  # IANA, e.g. "Europe/Berlin"
    channel: str  # for price-list scopes, e.g. "pos"
    promotion_mode: PromotionMode
    rounding: PricingRounding
    tax_regime: Optional[TaxRegime]  # required before a cart can be priced
    approval_above_percent: Optional[str]
    tender_policy: TenderPolicy
    returns: ReturnPolicy
    receipt_footer: List[str]


# ---- price lists and promotions -----------------------------------------------------------


class PriceScope(TypedDict, total=False):
    stores: List[str]
    channels: List[str]
    customer_groups: List[str]


class _PriceListRequired(TypedDict):
    id: str
    name: str
    currency: str


class PriceList(_PriceListRequired, total=False):
    """``docs/schemas/price-list.schema.json``: prices are decimal strings (``"1.09"``) in the
    list's currency."""

    priority: int
    scope: PriceScope
    valid_from: Optional[int]
    valid_to: Optional[int]
    prices: Dict[str, str]


class _PromotionRequired(TypedDict):
    id: str
    rule: Dict[str, Any]  # {"type": "percent_off", ...}: see docs/schemas/promotion.schema.json


class Promotion(_PromotionRequired, total=False):
    name: str
    priority: int
    exclusive: bool
    stop_further: bool
    stackable: bool
    conditions: Dict[str, Any]
    usage_limit: Dict[str, Any]


class _PricingRequestRequired(TypedDict):
    currency: str
    at: str  # RFC 3339 instant
    tax_regime: TaxRegime
    lines: List[Dict[str, Any]]


class PricingRequest(_PricingRequestRequired, total=False):
    """A self-contained pricing request for ``aisle.price()`` (schema:
    ``docs/schemas/pricing-request.schema.json``)."""

    time_zone: str
    mode: PromotionMode
    rounding: PricingRounding
    promotions: List[Promotion]
    customer: Dict[str, Any]
    coupons: List[str]
    usage: Dict[str, Dict[str, int]]
    approval_above_percent: str
    order_discount: Dict[str, Any]
    tenders: List[TenderInput]
    tender_policy: TenderPolicy
    offline_exposure: int


# ---- gift cards and store credit ----------------------------------------------------------

AccountStatus = Union[Literal["active"], Literal["frozen"], Literal["closed"]]
EntryType = Union[
    Literal["issue"],
    Literal["load"],
    Literal["redeem"],
    Literal["refund"],
    Literal["adjust"],
    Literal["freeze"],
    Literal["unfreeze"],
    Literal["close"],
]


class StoredValueAccount(TypedDict):
    """A gift card or store credit account (``store.stored_value.account(kind, id)``)."""

    kind: StoredValueKind
    id: str
    currency: str
    balance: MoneyDict  # the sum of the entries; never negative
    status: AccountStatus
    expires_at_ms: Optional[int]
    created_at_ms: int


class StoredValueEntry(TypedDict):
    """One entry of an account's append-only ledger."""

    seq: int
    kind: StoredValueKind
    account_id: str
    entry_type: EntryType
    amount: MoneyDict  # signed: credits positive, redemptions negative, status changes zero
    balance_after: MoneyDict
    at_ms: int
    receipt_no: Optional[str]  # the sale or refund that moved the money
    reason: Optional[str]


# ---- store-and-forward --------------------------------------------------------------------

Storage = Union[Literal["durable"], Literal["memory"]]
WhenFull = Union[Literal["reject"], Literal["drop_oldest"]]
PayloadFormat = Union[Literal["json"], Literal["bytes"]]


class _StreamConfigRequired(TypedDict):
    name: str  # 1-64 of A-Z a-z 0-9 . _ -
    max_bytes: int  # cap on the payload bytes held
    when_full: WhenFull  # no default: decide which data is the one to lose


class StreamConfig(_StreamConfigRequired, total=False):
    """A stream (``docs/schemas/stream.schema.json``): ``Streams.create()`` takes it,
    ``Streams.config()`` / ``list()`` return it with every key."""

    storage: Storage  # default "durable"
    max_age_ms: Optional[int]  # TTL; None: none
    priority: int  # higher first on a shared link
    format: PayloadFormat  # default "json"


class _StartAtRequired(TypedDict):
    at: Union[Literal["oldest"], Literal["latest"], Literal["seq"]]


class StartAt(_StartAtRequired, total=False):
    """Where a new exporter starts: ``{"at": "oldest"}``, ``{"at": "latest"}`` or
    ``{"at": "seq", "seq": 42}``."""

    seq: int


class RetryPolicy(TypedDict):
    initial_ms: int
    max_ms: int
    probe_ms: int  # how often a down link is probed


class _HttpSinkRequired(TypedDict):
    type: Literal["http"]
    url: str


class HttpSink(_HttpSinkRequired, total=False):
    format: Union[Literal["json"], Literal["ndjson"]]
    compression: Union[Literal["none"], Literal["gzip"], Literal["zstd"]]
    headers: List[Tuple[str, str]]  # e.g. [("Authorization", "Bearer ...")]
    timeout_ms: int
    ca_pem: Optional[str]


class _MqttTlsRequired(TypedDict):
    ca_pem: str


class MqttTls(_MqttTlsRequired, total=False):
    client_cert_pem: Optional[str]
    client_key_pem: Optional[str]


class _MqttSinkRequired(TypedDict):
    type: Literal["mqtt"]
    host: str
    port: int


class MqttSink(_MqttSinkRequired, total=False):
    client_id: Optional[str]
    topic: str  # placeholders {store}, {device}, {stream}
    compression: Union[Literal["none"], Literal["gzip"], Literal["zstd"]]
    tls: Optional[MqttTls]
    keep_alive_s: int
    timeout_ms: int


class _DirectorySinkRequired(TypedDict):
    type: Literal["directory"]
    path: str


class DirectorySink(_DirectorySinkRequired, total=False):
    max_file_bytes: int


class CallbackSink(TypedDict):
    """A Python function registered with ``Streams.set_callback()``."""

    type: Literal["callback"]


SinkConfig = Union[HttpSink, MqttSink, DirectorySink, CallbackSink]


class _ExporterConfigRequired(TypedDict):
    name: str
    sink: SinkConfig


class ExporterConfig(_ExporterConfigRequired, total=False):
    """An exporter (``docs/schemas/exporter.schema.json``) for ``Streams.add_exporter()``."""

    batch_max_records: int
    batch_max_bytes: int
    batch_interval_ms: int
    max_bytes_per_sec: Optional[int]
    start_at: StartAt
    enabled: bool
    retry: RetryPolicy
    dead_letter: Optional[str]


ExporterState = Union[
    Literal["idle"],
    Literal["sending"],
    Literal["retrying"],
    Literal["disabled"],
    Literal["waiting_for_callback"],
    Literal["stopped"],
]


class ExporterStatus(TypedDict):
    stream: str
    name: str
    kind: Union[Literal["http"], Literal["mqtt"], Literal["directory"], Literal["callback"]]
    enabled: bool
    state: ExporterState
    acked_seq: int
    backlog_records: int
    backlog_bytes: int
    oldest_unsent_age_ms: Optional[int]
    last_error: Optional[str]  # e.g. a callback's exception, "ValueError: HQ is down"
    last_error_ms: Optional[int]
    last_ack_ms: Optional[int]
    delivered_records: int
    delivered_bytes: int
    dead_lettered: int
    attempts: int  # consecutive failed attempts of the current batch
    records_per_sec: float  # over the last minute (a rate, not money)
    bytes_per_sec: float


class StreamStatus(TypedDict):
    """What ``Streams.status()`` / ``stream_status()`` return per stream."""

    name: str
    storage: Storage
    priority: int
    when_full: WhenFull
    records: int  # held: unsent, or sent but not acknowledged by every exporter
    bytes: int
    max_bytes: int
    first_seq: Optional[int]
    last_seq: int  # 0: nothing appended yet
    oldest_age_ms: Optional[int]
    dropped_full: int
    dropped_expired: int
    rejected_full: int
    exporters: List[ExporterStatus]


class IngestReport(TypedDict):
    """What ``Ingest.receive()`` did with one batch."""

    key: str  # the batch's idempotency key, store/device/stream/first-last
    store: str
    device: str
    stream: str
    applied: int  # records handed to the application
    duplicates: int  # records skipped: applied before
    high_seq: int  # the high-water mark after this batch


# ---- CRDT sync (``edge.sync``) ----------------------------------------------------------

Role = Union[Literal["store"], Literal["hq"]]


class DeviceCard(TypedDict):
    """A device's sync identity (``Sync.identity()``), what other replicas ``enroll``."""

    public_key: str  # Ed25519 public key, 64 hex digits
    store_id: str
    device_id: str
    role: Role
    delegated: List[str]  # scopes HQ lets it write besides its store's, e.g. "global"


class Touched(TypedDict):
    scope: str
    collection: str
    key: str


ApplyReport = TypedDict(
    "ApplyReport",
    {
        "from": str,  # the sending device, "store/device"
        "received": int,  # slots in the chunk
        "changed": int,  # slots that changed this replica
        "batch_complete": bool,  # the chunk completed its batch (and raised this replica's vector)
        "touched": List[Touched],
    },
)
"""What ``Sync.apply()`` did with one chunk."""


class PushReport(TypedDict):
    """What a peer did with the chunks pushed to it."""

    chunks: int
    applied: int
    duplicates: int  # already received before: harmless
    changed: int


class RoundReport(TypedDict):
    """What one ``sync_with_hub`` / ``sync_with_peer`` round did."""

    peer: str
    pulled: int  # chunks received and applied
    pulled_changed: int  # slots they changed here
    duplicates: int  # chunks already had (relayed copies, retried rounds)
    pushed: PushReport


class SyncFailure(TypedDict):
    code: str
    message: str


class PeerStatus(TypedDict):
    """``Syncer.status()`` per hub or peer."""

    peer: str
    rounds: int
    failures: int  # since the last completed round
    last_round: Optional[RoundReport]
    last_error: Optional[SyncFailure]


class CompactReport(TypedDict):
    removed_slots: int
    waiting: int  # deleted records whose delete is not yet seen everywhere


class SyncStats(TypedDict):
    slots: int
    data_bytes: int
    metadata_bytes: int


SyncValue = Union[None, int, str, bytes]
"""A customer field's value."""


# ---- edge vision (aisle.vision) ---------------------------------------------------------------

PixelFormat = Union[Literal["rgb"], Literal["bgr"], Literal["rgba"], Literal["bgra"]]
"""Byte order of a frame's pixels."""

Pushed = Union[Literal["queued"], Literal["dropped_oldest"]]
"""What ``Pipeline.push()`` did: queued, or queued after dropping the oldest waiting frame."""


class Detection(TypedDict):
    """One object ``Detector.detect()`` found, in frame pixels."""

    class_id: int  # index into Model.classes
    label: str
    score: float  # 0..1
    bbox: Tuple[float, float, float, float]  # (x0, y0, x1, y1)
    keypoints: List[Tuple[float, float]]  # face landmarks, for face models


ZoneKind = Union[Literal["area"], Literal["queue"], Literal["interaction"]]


LineConfig = TypedDict(
    "LineConfig",
    {"name": str, "from": Tuple[float, float], "to": Tuple[float, float], "hysteresis_px": float},
    total=False,
)
"""A counting line (a finite segment, frame pixels): ``name``, ``from``, ``to`` required."""


class _ZoneConfigRequired(TypedDict):
    name: str
    polygon: List[Tuple[float, float]]


class ZoneConfig(_ZoneConfigRequired, total=False):
    kind: ZoneKind


class _AnalyticsConfigRequired(TypedDict):
    camera: str


class AnalyticsConfig(_AnalyticsConfigRequired, total=False):
    """A camera's analytics (docs/vision.md); only ``camera`` is required."""

    lines: List[LineConfig]
    zones: List[ZoneConfig]
    interval_ms: int  # default 60000
    min_count: int  # counts 1..min_count-1 are reported as None
    anchor: Union[Literal["bottom_centre"], Literal["centre"]]
    classes: List[int]  # only these class ids count (empty: all)
    track_timeout_ms: int  # default 2000


LineInsight = TypedDict("LineInsight", {"name": str, "in": Optional[int], "out": Optional[int]})
"""Crossings of one line in an interval (``None``: suppressed below ``min_count``)."""


class ZoneInsight(TypedDict):
    name: str
    kind: ZoneKind
    entries: Optional[int]
    occupancy_mean: Optional[float]
    occupancy_max: Optional[int]
    visits: Optional[int]
    dwell_p50_ms: Optional[int]
    dwell_p90_ms: Optional[int]


class Insight(TypedDict):
    """One interval's aggregates of one camera (``frames == 0``: a gap report)."""

    camera: str
    start_ms: int
    end_ms: int
    frames: int
    lines: List[LineInsight]
    zones: List[ZoneInsight]


class InsightData(Insight):
    frames_dropped: int  # since the previous event
    model: str  # the model that saw the interval's last frame


InsightEvent = TypedDict(
    "InsightEvent", {"type": Literal["VisionInsight"], "version": int, "at_ms": int, "data": InsightData}
)
"""A record of a vision stream: ``json.loads(record.payload)`` (docs/schemas/vision-insight.schema.json)."""


class TrackerStats(TypedDict):
    frames: int
    confirmed: int
    evicted: int
    expired: int
    matched_high: int
    high: int


class PipelineStats(TypedDict):
    """``Pipeline.stats()``: counters since the pipeline started."""

    frames_in: int
    frames_processed: int
    frames_failed: int
    frames_dropped: int
    queued: int
    queue_capacity: int
    queued_max: int
    inference_ms: float
    tracking_ms: float
    insights: int
    insight_bytes: int
    insights_failed: int
    model_replacements: int
    tracker: TrackerStats
    last_error: Optional[str]


class StopReport(TypedDict):
    """``Pipeline.stop()``: the final counters and the last (flushed) insight."""

    stats: PipelineStats
    discarded: int
    final_insight: Optional[Insight]
