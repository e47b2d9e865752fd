// The documents of the Aisle core (commerce, stored value, store-and-forward), as TypeScript.
// Hand-written; index.d.ts (generated) re-exports everything here (see scripts/dts-header.txt).
//
// A document is the core's JSON form of a value, passed through unchanged: snake_case keys as
// in docs/schemas/ and in what priceJson returns, amounts as { minor, currency } (MoneyValue),
// percents as decimal text ("12.5"). So `cart.price()` is the same object in Node as the
// dict Python gets and the JSON Kotlin gets. Keep this file in step with the serde types in
// core/src/commerce/ (pricing.rs, sale.rs, receipt.rs, tender.rs, settings.rs, promotions/,
// stored_value.rs), core/src/forward/ (config.rs, status.rs, ingest.rs) and core/src/vision/
// (analytics.rs, insights.rs); tsc type-checks
// test/sample.ts against it in `npm test`.

import type { Money, MoneyValue, RoundingMode, StoredValueKind } from './index'

// ---- values ------------------------------------------------------------------------------

/** An amount passed in: a `Money`, or a `MoneyValue` such as `priced.total`. */
export type MoneyInput = Money | MoneyValue

/** A percentage as exact decimal text, at most six decimals: `"12.5"`, `"20"`. */
export type Percent = string

/**
 * A percentage in a rule or a rate: decimal text (`"8.875"`) or a whole number (`20`). A
 * fractional JS number is refused, so a rate is never approximated.
 */
export type PercentInput = string | number

/** How many units a line has: a count, or grams from a scale (then priced per kilogram). */
export type Quantity = { units: number } | { grams: number }

// ---- cart inputs ----------------------------------------------------------------------------

export type TenderKind = 'cash' | 'card' | 'gift_card' | 'store_credit'

/**
 * The record of an authorisation from the payment terminal. Never a card number: a text field
 * containing one is refused with `CARD_NUMBER_REFUSED`, which never echoes it.
 */
export interface CardAuth {
  /** The terminal's or acquirer's reference for the payment (used to refund it). */
  token: string
  /** e.g. `"VISA"`. */
  brand: string
  /** Exactly the last four digits. */
  last4: string
  auth_code?: string
  /** Authorised by the terminal offline: subject to the store's offline policy. */
  offline?: boolean
  /** When the terminal authorised it, Unix milliseconds. */
  authorized_at_ms: number
}

/** One tender offered for a sale: `{ kind: 'cash', amount }`, `{ kind: 'card', amount, card }`. */
export interface TenderInput {
  kind: TenderKind
  /** Cash: what was handed over (change is given back). Others: the amount charged. */
  amount: MoneyInput
  /** Required for a card, refused for the others. */
  card?: CardAuth
  /** The gift card or store credit id (required for those); optional free text otherwise. */
  reference?: string
}

/** The customer of a cart. */
export interface Customer {
  id?: string | null
  /** Selects price lists and promotions, e.g. `"staff"`, `"members"`. */
  group?: string | null
  loyalty_id?: string | null
  /** Pays no tax (exclusive prices: none added; inclusive: the net). */
  tax_exempt?: boolean
}

/** A manual unit price (per kilogram for a weighed line) and why. */
export interface PriceOverrideInput {
  price: MoneyInput
  reason: string
}

/** A manual discount: exactly one of `percent` (text, e.g. `"12.5"`) or `amount`, and why. */
export interface DiscountInput {
  percent?: Percent
  amount?: MoneyInput
  reason: string
}

/** `quantity` units of line `line_no` (1-based, as on the sale) to return; a weighed line: 1. */
export interface ReturnItem {
  line_no: number
  quantity: number
}

// ---- priced cart -------------------------------------------------------------------------

export interface PriceOverride {
  price: MoneyValue
  reason: string
}

export interface ManualDiscount {
  percent?: Percent
  amount?: MoneyValue
  reason: string
  /** Above the store's `approval_above_percent`: the app must have it approved. */
  needs_approval: boolean
}

/** `count` units of `amount` each. */
export interface UnitRun {
  count: number
  amount: MoneyValue
}

/** One discount on one line: a promotion's, or a manual one. */
export interface LineAdjustment {
  /** The promotion id, or `"manual"` / `"manual_order"`. */
  source: string
  /** The promotion's name or the manual reason. */
  label: string
  /** The rule type (`"buy_x_get_y"`, …) or `"manual_line"` / `"manual_order"`. */
  rule: string
  /** The discount on the line (positive). */
  amount: MoneyValue
  /** The discount per unit; runs sum to `amount`. */
  units: UnitRun[]
}

/** One tax rate on a line or in the totals. */
export interface TaxLine {
  rate_id: string
  percent: Percent
  base: MoneyValue
  amount: MoneyValue
}

export interface PricedLine {
  sku: string
  name: string
  quantity: Quantity
  /** Per unit, or per kilogram for a weighed line. */
  unit_price: MoneyValue
  /** Before any discount. */
  base: MoneyValue
  adjustments: LineAdjustment[]
  discount: MoneyValue
  /** What the customer pays per unit, runs summing to `amount`. */
  units: UnitRun[]
  /** `base − discount`. */
  amount: MoneyValue
  tax_category: string
  net: MoneyValue
  tax: MoneyValue
  gross: MoneyValue
  taxes: TaxLine[]
  price_override: PriceOverride | null
  manual_discount: ManualDiscount | null
}

export interface AppliedPromotion {
  id: string
  name: string
  rule: string
  applications: number
  discount: MoneyValue
}

/** What became of a coupon code: a result, never an exception. */
export type CouponStatus = 'applied' | 'not_applicable' | 'invalid' | 'expired' | 'not_yet_valid' | 'already_used'

export interface CouponResult {
  code: string
  status: CouponStatus
}

/** A priced cart: every part sums exactly to its whole. */
export interface PricedCart {
  currency: string
  lines: PricedLine[]
  /** Sum of the line bases. */
  subtotal: MoneyValue
  discount: MoneyValue
  net: MoneyValue
  tax: MoneyValue
  /** What the customer owes, before cash rounding. */
  total: MoneyValue
  taxes: TaxLine[]
  promotions: AppliedPromotion[]
  coupons: CouponResult[]
  order_discount: ManualDiscount | null
  /** False only if best deal hit its search budget. */
  best_deal_exact: boolean
}

// ---- tenders and settlement -----------------------------------------------------------------

export interface SettledTender {
  kind: TenderKind
  /** What it contributed to the sale (negative for a refund). */
  amount: MoneyValue
  /** What was handed over or charged. */
  tendered: MoneyValue
  /** `tendered − amount`; non-zero only on cash. */
  change: MoneyValue
  card?: CardAuth
  reference?: string
}

export interface OfflineAuthorization {
  tender_index: number
  amount: MoneyValue
  expires_at_ms: number
}

/** How a total was paid. */
export interface Settlement {
  tenders: SettledTender[]
  /** The total after cash rounding: the sum of the tenders' `amount`s. */
  due: MoneyValue
  /** `due − total`. */
  cash_rounding: MoneyValue
  paid: MoneyValue
  change: MoneyValue
  offline_authorizations: OfflineAuthorization[]
}

/** What `price()` / `priceJson()` return: the priced cart, settled if tenders were given. */
export interface PriceResult extends PricedCart {
  settlement?: Settlement
}

// ---- sales and receipts --------------------------------------------------------------------

export type SaleKind = 'sale' | 'refund'

/** `count` units that each paid `gross`, of which `tax` is tax: what a return refunds. */
export interface PaidUnits {
  count: number
  gross: MoneyValue
  tax: MoneyValue
}

export interface SaleLine {
  /** 1-based position on the receipt. */
  line_no: number
  sku: string
  name: string
  quantity: Quantity
  unit_price: MoneyValue
  base: MoneyValue
  adjustments: LineAdjustment[]
  discount: MoneyValue
  net: MoneyValue
  tax: MoneyValue
  gross: MoneyValue
  taxes: TaxLine[]
  /** What each unit paid, lowest first. */
  units: PaidUnits[]
  /** For a refund line: the line of the original sale it returns. */
  returns_line?: number
}

/** A completed sale or refund (a refund's amounts are negative), as stored and as sent. */
export interface Sale {
  receipt_no: string
  kind: SaleKind
  store_id: string
  device_id: string
  /** RFC 3339 instant. */
  at: string
  at_ms: number
  currency: string
  cart_id: string | null
  customer: Customer | null
  lines: SaleLine[]
  subtotal: MoneyValue
  discount: MoneyValue
  net: MoneyValue
  tax: MoneyValue
  total: MoneyValue
  taxes: TaxLine[]
  promotions: AppliedPromotion[]
  settlement: Settlement
  /** For a refund: the receipt it returns against. */
  original: string | null
  reason: string | null
  /**
   * What each gift card / store credit tender did to its account, in tender order (absent
   * when none did): for a refund to new store credit, the id it was given (`SC-<receipt>`).
   */
  stored_value?: StoredValueMovement[]
  /** For the two receipts of an exchange: the other one's receipt number. */
  exchange_with?: string
}

/** An exchange (`edge.exchange()`): the return and the new sale, recorded together. */
export interface Exchange {
  /** The return (kind `refund`); its `exchange_with` is the sale's receipt number. */
  refund: Sale
  /** The new sale, numbered right after the refund; its `exchange_with` is the refund's. */
  sale: Sale
  /**
   * What the customer paid on balance (positive) or was paid out (negative, store credit
   * included): `sale.settlement.due + refund.settlement.due`.
   */
  difference: MoneyValue
}

/** A discount printed under a receipt line (the amount is positive). */
export interface ReceiptDiscount {
  label: string
  amount: MoneyValue
}

export interface ReceiptLine {
  name: string
  /** `"2"`, `"1.234 kg"`. */
  quantity_text: string
  unit_price: MoneyValue
  /** After discounts. */
  amount: MoneyValue
  /** `[label, amount off]`, the amount positive. */
  discounts: ReceiptDiscount[]
  /** e.g. `"A"`; empty for none. */
  tax_code: string
}

export interface ReceiptTax {
  label: string
  base: MoneyValue
  amount: MoneyValue
}

export interface ReceiptTender {
  /** `"Cash"`, `"VISA ****1111"`. */
  label: string
  amount: MoneyValue
}

/** A receipt as data; `edge.receiptText()` prints it. */
export interface Receipt {
  store_name: string
  store_id: string
  device_id: string
  receipt_no: string
  /** Local time of the sale, RFC 3339. */
  at: string
  lines: ReceiptLine[]
  subtotal: MoneyValue
  discount_total: MoneyValue
  tax_summary: ReceiptTax[]
  total: MoneyValue
  cash_rounding: MoneyValue
  tenders: ReceiptTender[]
  change: MoneyValue
  footer: string[]
  is_refund: boolean
  original_receipt_no: string | null
}

// ---- store settings and rules -----------------------------------------------------------------

export type PromotionMode = 'priority' | 'best_deal'

export interface PricingRounding {
  /** Percent discounts (promotions and manual). Default `half_up`. */
  discounts?: RoundingMode
  /** Price per kg × weight. Default `half_up`. */
  weight?: RoundingMode
}

/** A tax regime (`docs/schemas/tax-regime.schema.json`). */
export interface TaxRegime {
  id: string
  /** true: shelf prices include tax (VAT); false: tax is added at the till (sales tax). */
  prices_include_tax: boolean
  rounding: {
    mode: RoundingMode
    level: 'unit' | 'line' | 'total'
    inclusive_target?: 'tax' | 'net'
  }
  rates: TaxRate[]
  exempt_categories?: string[]
}

export interface TaxRate {
  id: string
  /** What the receipt prints, e.g. `"VAT 20%"`. */
  name: string
  categories: string[]
  percent: PercentInput
  compound?: boolean
}

/** Cash rounding: the cash part is rounded to a multiple of `increment` minor units. */
export interface CashRounding {
  increment: number
  mode: RoundingMode
}

export interface OfflinePolicy {
  /** Largest single offline card payment. */
  floor_limit: MoneyInput
  /** Cap on offline card payments outstanding on this device. */
  max_exposure: MoneyInput
  /** An offline authorisation must be forwarded within this many milliseconds. */
  expiry_ms: number
}

/** `docs/schemas/tender-policy.schema.json`. */
export interface TenderPolicy {
  cash_rounding?: CashRounding | null
  /** Absent: offline card authorisations are refused. */
  offline?: OfflinePolicy | null
}

export interface ReturnPolicy {
  blind_returns?: boolean
  blind_max?: MoneyInput | null
  /** Days after the sale a receipt return is accepted (absent: any time). */
  return_days?: number | null
}

/** What a store needs to price and sell. Every field has a default; pricing needs a tax regime. */
export interface StoreSettings {
  /** Printed on receipts. */
  store_name?: string
  /** IANA time zone, e.g. `"Europe/Berlin"`: promotion windows are local. */
  time_zone?: string
  /** Sales channel for price-list scopes, e.g. `"pos"`. */
  channel?: string
  promotion_mode?: PromotionMode
  rounding?: PricingRounding
  tax_regime?: TaxRegime | null
  /** Manual discounts above this percent are flagged `needs_approval`. */
  approval_above_percent?: PercentInput | null
  tender_policy?: TenderPolicy
  returns?: ReturnPolicy
  /** Extra lines at the bottom of receipts. */
  receipt_footer?: string[]
}

/** Which units a rule looks at: any unit whose SKU, category or tag is listed, or `all`. */
export interface PromotionTarget {
  skus?: string[]
  categories?: string[]
  tags?: string[]
  all?: boolean
}

export interface PromotionGroup {
  target: PromotionTarget
  quantity: number
}

/** What a promotion does. Amounts are decimal text in the store's currency (`"10.00"`). */
export type PromotionRule =
  | { type: 'percent_off'; target: PromotionTarget; percent: PercentInput }
  | { type: 'amount_off'; target: PromotionTarget; amount: string }
  | { type: 'order_percent_off'; target?: PromotionTarget; percent: PercentInput; min_spend?: string }
  | { type: 'order_amount_off'; target?: PromotionTarget; amount: string; min_spend?: string }
  | { type: 'fixed_price'; target: PromotionTarget; quantity: number; price: string; max_applications?: number }
  | {
      type: 'buy_x_get_y'
      buy: PromotionGroup
      get: PromotionGroup
      /** Off the reward units; default 100 (free). */
      percent?: PercentInput
      reward?: 'cheapest' | 'most_expensive'
      max_applications?: number
    }
  | {
      type: 'tiered'
      target: PromotionTarget
      basis: 'quantity' | 'spend'
      tiers: Array<{ min: string; percent?: PercentInput; amount?: string }>
    }
  | {
      type: 'bundle'
      groups: PromotionGroup[]
      price?: string
      percent?: PercentInput
      max_applications?: number
    }

/** A promotion (`docs/schemas/promotion.schema.json`); a bad field is `PROMO_INVALID_RULE`. */
export interface Promotion {
  id: string
  /** Shown on receipts. */
  name?: string
  /** Higher applies first. */
  priority?: number
  exclusive?: boolean
  stop_further?: boolean
  stackable?: boolean
  conditions?: {
    /** A coupon code the cart must carry. */
    coupon?: string
    customer_groups?: string[]
    /** Local time window in the store's time zone. */
    window?: {
      /** e.g. `"2026-12-01T00:00"`, inclusive. */
      from?: string
      to?: string
      weekdays?: Array<'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun'>
      /** e.g. `"16:00"`. */
      time_from?: string
      time_to?: string
    }
  }
  usage_limit?: { total?: number; per_customer?: number }
  rule: PromotionRule
}

/** A price list (`docs/schemas/price-list.schema.json`). */
export interface PriceList {
  id: string
  name: string
  currency: string
  /** Higher wins among lists that apply. */
  priority?: number
  scope?: { stores?: string[]; channels?: string[]; customer_groups?: string[] }
  /** Unix milliseconds, inclusive. */
  valid_from?: number | null
  /** Unix milliseconds, exclusive. */
  valid_to?: number | null
  /** SKU → decimal amount in `currency`, e.g. `{ "MILK-1L": "1.09" }`. */
  prices: Record<string, string>
}

// ---- pricing requests (priceJson / price) ------------------------------------------------------

export interface RequestDiscount {
  percent?: PercentInput
  /** Decimal text in the request's currency. */
  amount?: string
  reason: string
}

export interface RequestLine {
  sku: string
  name?: string
  /** Units (exclusive with `grams`). */
  quantity?: number
  /** Weight from a scale; `unit_price` is then per kilogram. */
  grams?: number
  /** Decimal text in the request's currency, e.g. `"1.19"`. */
  unit_price: string
  tax_category: string
  categories?: string[]
  tags?: string[]
  price_override?: { price: string; reason: string }
  discount?: RequestDiscount
}

/** A self-contained pricing request (`docs/schemas/pricing-request.schema.json`). */
export interface PricingRequest {
  $comment?: string
  currency: string
  /** RFC 3339 instant, e.g. `"2026-11-27T16:30:00Z"`. */
  at: string
  /** IANA time zone; default UTC. */
  time_zone?: string
  mode?: PromotionMode
  rounding?: PricingRounding
  tax_regime: TaxRegime
  promotions?: Promotion[]
  customer?: { group?: string; tax_exempt?: boolean }
  coupons?: string[]
  /** Promotion id → uses so far. */
  usage?: Record<string, { total?: number; by_this_customer?: number }>
  approval_above_percent?: PercentInput
  order_discount?: RequestDiscount
  lines: RequestLine[]
  /** Settle the total with these (the result then has a `settlement`). */
  tenders?: TenderInput[]
  tender_policy?: TenderPolicy
  /** Outstanding offline card amount before this sale, minor units. */
  offline_exposure?: number
}

// ---- stored value (edge.storedValue()) -------------------------------------------------------

export type AccountStatus = 'active' | 'frozen' | 'closed'

export type StoredValueEntryType = 'issue' | 'load' | 'redeem' | 'refund' | 'adjust' | 'freeze' | 'unfreeze' | 'close'

/** A gift card or store credit account. */
export interface StoredValueAccount {
  kind: StoredValueKind
  id: string
  currency: string
  /** The sum of the account's entries; never negative. */
  balance: MoneyValue
  status: AccountStatus
  /** Unix ms from which it can no longer be loaded or redeemed; `null`: never. */
  expires_at_ms: number | null
  created_at_ms: number
}

/** One entry of an account's ledger. */
export interface StoredValueEntry {
  /** Position in the device's ledger (increasing, shared by all accounts). */
  seq: number
  kind: StoredValueKind
  account_id: string
  entry_type: StoredValueEntryType
  /** Signed: credits positive, redemptions negative, status changes zero. */
  amount: MoneyValue
  balance_after: MoneyValue
  at_ms: number
  /** The sale or refund that moved the money, if any. */
  receipt_no: string | null
  reason: string | null
}

/** What a sale or refund did to one stored-value account (`sale.stored_value`). */
export interface StoredValueMovement {
  /** Index into the sale's `settlement.tenders`. */
  tender_index: number
  kind: StoredValueKind
  account_id: string
  /** Signed: negative for a redemption, positive for a credit. */
  amount: MoneyValue
  balance_after: MoneyValue
}

// ---- store-and-forward (edge.streams(), Ingest) ------------------------------------------------

/**
 * A record's payload for `streams.append`: a string or a `Uint8Array`/`Buffer`, stored as is,
 * or any other JSON value, stored as its JSON text.
 */
export type StreamPayload =
  | string
  | Uint8Array
  | number
  | boolean
  | null
  | readonly unknown[]
  | { readonly [key: string]: unknown }

/** `durable`: in the device's SQLite file; `memory`: lost on restart. */
export type StreamStorage = 'durable' | 'memory'

/** What an append does to a full stream: refuse it (`STREAM_FULL`) or drop the oldest records. */
export type WhenFull = 'reject' | 'drop_oldest'

/** `json`: each payload is one JSON value; `bytes`: opaque (base64 on the wire). */
export type PayloadFormat = 'json' | 'bytes'

/** A stream (`docs/forward.md`); `list()` and `config()` return every key. */
export interface StreamConfig {
  /** 1–64 characters of `A-Z a-z 0-9 . _ -`. */
  name: string
  storage?: StreamStorage
  /** Cap on the payload bytes held. */
  max_bytes: number
  /** Required: no silent default for what gets lost. */
  when_full: WhenFull
  /** TTL: older records are deleted, sent or not. `null`: none. */
  max_age_ms?: number | null
  /** Higher first on a shared link. */
  priority?: number
  format?: PayloadFormat
}

export type Compression = 'none' | 'gzip' | 'zstd'

/** Where an exporter sends its batches. */
export type SinkConfig =
  | {
      type: 'http'
      /** `http://` or `https://`; each batch is `POST`ed with an `Idempotency-Key` header. */
      url: string
      format?: 'json' | 'ndjson'
      compression?: Compression
      /** Extra headers, e.g. `[['Authorization', 'Bearer …']]`. */
      headers?: Array<[string, string]>
      timeout_ms?: number
      /** Extra trust anchor (PEM) for a private CA. */
      ca_pem?: string | null
    }
  | {
      type: 'mqtt'
      host: string
      port: number
      /** Placeholders `{store}`, `{device}`, `{stream}`. */
      client_id?: string | null
      /** Default `aisle/{store}/{device}/{stream}`. */
      topic?: string
      compression?: Compression
      tls?: { ca_pem: string; client_cert_pem?: string | null; client_key_pem?: string | null } | null
      keep_alive_s?: number
      timeout_ms?: number
    }
  | {
      /** Rolling NDJSON files, fsynced before the ack. */
      type: 'directory'
      path: string
      max_file_bytes?: number
    }
  | {
      /** A function registered with `streams.setCallback(stream, exporter, fn)`. */
      type: 'callback'
    }

/** Where a new exporter starts reading its stream. */
export type StartAt = { at: 'oldest' } | { at: 'latest' } | { at: 'seq'; seq: number }

/** An exporter of a stream (`docs/forward.md`, "Exporters"). */
export interface ExporterConfig {
  /** Unique within its stream; same rules as stream names. */
  name: string
  sink: SinkConfig
  /** Default 500. */
  batch_max_records?: number
  /** Default 1 MiB. */
  batch_max_bytes?: number
  /** Wait up to this long for a batch to fill (default 0). */
  batch_interval_ms?: number
  /** Token bucket, payload bytes per second; `null`: unlimited. */
  max_bytes_per_sec?: number | null
  start_at?: StartAt
  enabled?: boolean
  /** Exponential backoff with jitter; a probe checks a link that is down every `probe_ms`. */
  retry?: { initial_ms: number; max_ms: number; probe_ms: number }
  /** A stream that receives batches the sink refused for good. */
  dead_letter?: string | null
}

export type ExporterState = 'idle' | 'sending' | 'retrying' | 'disabled' | 'waiting_for_callback' | 'stopped'

export interface ExporterStatus {
  stream: string
  name: string
  /** The sink: `http`, `mqtt`, `directory` or `callback`. */
  kind: string
  enabled: boolean
  state: ExporterState
  acked_seq: number
  backlog_records: number
  backlog_bytes: number
  oldest_unsent_age_ms: number | null
  last_error: string | null
  last_error_ms: number | null
  last_ack_ms: number | null
  delivered_records: number
  delivered_bytes: number
  dead_lettered: number
  /** Consecutive failed attempts of the current batch. */
  attempts: number
  /** Over the last minute. */
  records_per_sec: number
  bytes_per_sec: number
}

export interface StreamStatus {
  name: string
  storage: StreamStorage
  priority: number
  when_full: WhenFull
  /** Records and payload bytes held (unsent, or not yet acknowledged by every exporter). */
  records: number
  bytes: number
  max_bytes: number
  /** The oldest record held (`null`: none) and the last one appended (0: none yet). */
  first_seq: number | null
  last_seq: number
  oldest_age_ms: number | null
  dropped_full: number
  dropped_expired: number
  rejected_full: number
  exporters: ExporterStatus[]
}

/** What one `ingest.receive()` did. */
export interface IngestReport {
  /** The batch's idempotency key, `store/device/stream/first-last`. */
  key: string
  store: string
  device: string
  stream: string
  /** Records handed to the application. */
  applied: number
  /** Records skipped because they were applied before. */
  duplicates: number
  /** The high-water mark after this batch. */
  high_seq: number
}

/**
 * The family of an error code (`errorKind(err.code)`). The core may add families; a newer
 * one is still a string.
 */
export type ErrorKind = 'value' | 'commerce' | 'forward' | 'sync' | 'vision' | 'store' | (string & {})

/** A device's sync identity (`edge.sync().identity()`), what other replicas `enroll`. */
export interface DeviceCard {
  /** Ed25519 public key, 64 hex digits. */
  public_key: string
  store_id: string
  device_id: string
  role: 'store' | 'hq'
  /** Scopes HQ lets it write besides its store's, e.g. `"global"`. */
  delegated: string[]
}

/** A customer field's value in sync: `null`, an integer, a string or bytes (a `Buffer`). */
export type SyncValue = null | number | string | Uint8Array

// ---- edge vision ------------------------------------------------------------------------------

export type ZoneKind = 'area' | 'queue' | 'interaction'

/** A counting line: a finite segment in frame pixels. Crossing from its left to its right
 * (looking from `from` to `to`, y down) is `in`. */
export interface LineConfig {
  name: string
  from: [number, number]
  to: [number, number]
  /** A side counts only once the person is this far from the line (default 10 px). */
  hysteresis_px?: number
}

/** A polygon zone (at least 3 vertices, frame pixels). */
export interface ZoneConfig {
  name: string
  polygon: Array<[number, number]>
  /** Default `'area'`; a queue zone's occupancy is the queue length. */
  kind?: ZoneKind
}

/** A camera's analytics (docs/vision.md); only `camera` is required. */
export interface AnalyticsConfig {
  camera: string
  lines?: LineConfig[]
  zones?: ZoneConfig[]
  /** Insight interval, ms (default 60000, at least 1000). */
  interval_ms?: number
  /** Counts from 1 to min_count - 1 are reported as null. */
  min_count?: number
  anchor?: 'bottom_centre' | 'centre'
  /** Only these class ids count (empty: all). */
  classes?: number[]
  /** A track unseen this long is over (default 2000 ms). */
  track_timeout_ms?: number
}

/** Crossings of one line in an interval; `null`: suppressed (below min_count) or unknown. */
export interface LineInsight {
  name: string
  in: number | null
  out: number | null
}

export interface ZoneInsight {
  name: string
  kind: ZoneKind
  entries: number | null
  occupancy_mean: number | null
  occupancy_max: number | null
  visits: number | null
  dwell_p50_ms: number | null
  dwell_p90_ms: number | null
}

/** One interval's aggregates of one camera (`frames === 0`: a gap report). No pixels, boxes or ids. */
export interface Insight {
  camera: string
  start_ms: number
  end_ms: number
  frames: number
  lines: LineInsight[]
  zones: ZoneInsight[]
}

/** A record of a vision stream: `JSON.parse(Buffer.from(record.payload).toString())`
 * (docs/schemas/vision-insight.schema.json). */
export interface VisionInsightEvent {
  type: 'VisionInsight'
  version: number
  /** The end of the interval. */
  at_ms: number
  data: Insight & {
    /** Frames the pipeline dropped since the previous event. */
    frames_dropped: number
    /** The model that saw the interval's last frame. */
    model: string
  }
}
