// Hand-written Kotlin idioms over the generated `dev.aisle` API (target/generated-sources/uniffi).
//
// Sugar only: every function here forwards to one generated call. Rules belong in the Rust core.

package dev.aisle

/** `a + b`: [Money.add]. Throws [AisleException.CurrencyMismatch] across currencies. */
operator fun Money.plus(other: Money): Money = add(other)

/** `a - b`: [Money.sub]. Throws [AisleException.CurrencyMismatch] across currencies. */
operator fun Money.minus(other: Money): Money = sub(other)

/** `-a`: [Money.neg]. */
operator fun Money.unaryMinus(): Money = neg()

/** `price * quantity`: [Money.mul]. */
operator fun Money.times(factor: Long): Money = mul(factor)

/** `price * quantity`: [Money.mul]. */
operator fun Money.times(factor: Int): Money = mul(factor.toLong())

/** `quantity * price`: [Money.mul]. */
operator fun Long.times(money: Money): Money = money.mul(this)

/** `quantity * price`: [Money.mul]. */
operator fun Int.times(money: Money): Money = money.mul(this.toLong())

/** `Money.parse("1.19", "EUR")`: [parseMoney], exact, never rounding. */
fun Money.Companion.parse(input: String, currency: String): Money = parseMoney(input, currency)

/** [Money.allocate] with `vararg` weights: `amount.allocate(1, 1, 1)`. */
fun Money.allocate(vararg weights: Long): List<Money> = allocate(weights.toList())

/**
 * The stable machine-readable code of this error, e.g. `"UNKNOWN_SKU"`; [Throwable.message]
 * is the full text and starts with it. Codes are the same in every Aisle binding
 * ([errorCodes] lists them).
 */
val AisleException.code: String
    // The core's message always starts with "CODE: " (every binding relies on it).
    get() = message.orEmpty().substringBefore(':')

/**
 * The family of this error ([ErrorKind.VALUE], [ErrorKind.COMMERCE], [ErrorKind.STORE]), from
 * the core's table; `null` only for a code the core does not know.
 */
val AisleException.kind: ErrorKind?
    get() = errorKind(code)

/**
 * The values of [Product.soldBy]: `Product(…, soldBy = SoldBy.WEIGHT)`. A string field rather
 * than an enum because uniffi cannot give an enum field a default, and `Product(sku, name,
 * price, taxCategory)` must stay a product sold by the piece. Any other value is refused by
 * the core (`InvalidArgument`) when the product is stored.
 */
object SoldBy {
    /** Counted in pieces; the price is per piece. */
    const val UNIT = "unit"

    /** Weighed; the price is per kilogram and carts take grams ([Cart.addWeighed]). */
    const val WEIGHT = "weight"
}

/** Cash handed over (change is given from it): `TenderInput.cash(Money.parse("20.00", "EUR"))`. */
fun TenderInput.Companion.cash(amount: Money): TenderInput = TenderInput(TenderKind.CASH, amount)

/** A card payment the terminal authorised: never the card number, only its [CardAuth]. */
fun TenderInput.Companion.card(amount: Money, auth: CardAuth): TenderInput =
    TenderInput(TenderKind.CARD, amount, card = auth)

/** A gift card payment; `reference` is the gift card's id. */
fun TenderInput.Companion.giftCard(amount: Money, reference: String): TenderInput =
    TenderInput(TenderKind.GIFT_CARD, amount, reference = reference)

/** Store credit (e.g. from an earlier return); `reference` is the credit's id. */
fun TenderInput.Companion.storeCredit(amount: Money, reference: String): TenderInput =
    TenderInput(TenderKind.STORE_CREDIT, amount, reference = reference)

/** [Cart.complete] with `vararg` tenders: `cart.complete(TenderInput.card(…), TenderInput.cash(…))`. */
fun Cart.complete(vararg tenders: TenderInput): SaleSummary = complete(tenders.toList())

/** [Edge.returnItems] back to the original tenders (cards first, then cash). */
fun Edge.returnItems(receiptNo: String, items: List<ReturnItem>, reason: String): SaleSummary =
    returnItems(receiptNo, items, reason, RefundTo.ORIGINAL_TENDERS)

// ---- store-and-forward -----------------------------------------------------------------------

/** A durable JSON stream: `streams.create(StreamConfig.durable("insights", 64L shl 20, WhenFull.DROP_OLDEST))`. */
fun StreamConfig.Companion.durable(name: String, maxBytes: Long, whenFull: WhenFull): StreamConfig =
    StreamConfig(name, maxBytes, whenFull, storage = Storage.DURABLE)

/** An in-memory JSON stream (lost on restart). */
fun StreamConfig.Companion.memory(name: String, maxBytes: Long, whenFull: WhenFull): StreamConfig =
    StreamConfig(name, maxBytes, whenFull, storage = Storage.MEMORY)

/** [Streams.append] of text (UTF-8): a JSON document for a JSON stream. */
fun Streams.append(stream: String, text: String): Long = append(stream, text.encodeToByteArray())

/** [Streams.appendBatch] of texts (UTF-8), in one transaction: all or none. */
fun Streams.appendBatch(stream: String, texts: List<String>): List<Long> =
    appendBatch(stream, texts.map { it.encodeToByteArray() })

/** [Streams.flush] with a [kotlin.time.Duration]: `streams.flush(5.seconds)`. */
fun Streams.flush(timeout: kotlin.time.Duration): Boolean = flush(java.time.Duration.ofNanos(timeout.inWholeNanoseconds))

/** The payload as text (UTF-8), e.g. the JSON of a record of a JSON stream. */
val StreamRecord.text: String
    get() = payload.decodeToString()

/**
 * A [BatchHandler] of a function: returning acknowledges the batch, throwing anything refuses
 * it with the throwable's `toString()` as the reason. `Throwable`, not only `Exception`: the
 * generated glue would otherwise take an `Error` (say a failed assertion) as a normal return.
 */
fun batchHandler(apply: (Batch) -> Unit): BatchHandler = object : BatchHandler {
    override fun handle(batch: Batch) {
        try {
            apply(batch)
        } catch (e: BatchException) {
            throw e
        } catch (t: Throwable) {
            throw BatchException.Failed(t.toString())
        }
    }
}

/**
 * Registers the function a `Sink.Callback` exporter delivers to; it runs on the forwarding
 * worker's thread. Returning acknowledges the batch; throwing makes the exporter retry it
 * (the text becomes its `lastError`):
 * `streams.setCallback("insights", "app") { batch -> upload(batch) }`.
 */
fun Streams.setCallback(stream: String, exporter: String, deliver: (Batch) -> Unit) =
    setCallback(stream, exporter, batchHandler(deliver))

/**
 * Applies a batch body at the receiver: `apply` gets the records not applied before, on this
 * thread, inside the ingest transaction; if it throws, nothing is recorded and this throws
 * [AisleException.IngestRejected].
 */
fun Ingest.receive(body: ByteArray, contentEncoding: String? = null, apply: (Batch) -> Unit): IngestReport =
    receive(body, contentEncoding, batchHandler(apply))

// ---- sync ----------------------------------------------------------------------------------

/** Reads a device card written by [Device.toJson] (in any language): `Device.fromJson(card)`. */
fun Device.Companion.fromJson(json: String): Device = deviceFromJson(json)

/**
 * A [SyncValue] of a plain Kotlin value: `null`, a `String`, a `Long` or `Int`, or a
 * `ByteArray`; anything else is an [IllegalArgumentException].
 */
fun SyncValue.Companion.of(value: Any?): SyncValue = when (value) {
    null -> SyncValue.Null
    is SyncValue -> value
    is String -> SyncValue.Text(value)
    is Long -> SyncValue.Int(value)
    is Int -> SyncValue.Int(value.toLong())
    is ByteArray -> SyncValue.Bytes(value)
    else -> throw IllegalArgumentException("a customer field is null, a String, a Long/Int or a ByteArray, not ${value.javaClass.name}")
}

/** The plain Kotlin value: `null`, a `Long`, a `String` or a `ByteArray`. */
val SyncValue.plain: Any?
    get() = when (this) {
        SyncValue.Null -> null
        is SyncValue.Int -> value
        is SyncValue.Text -> value
        is SyncValue.Bytes -> value
    }

/** [Replication.upsertCustomer] of plain values: `sync.upsertCustomer("C-1", "name" to "Ada", "visits" to 3)`. */
fun Replication.upsertCustomer(id: String, vararg fields: Pair<String, Any?>) =
    upsertCustomer(id, fields.associate { (k, v) -> k to SyncValue.of(v) })

/** A shared cart's lines as `sku → quantity`, in SKU order. */
fun Replication.cartQuantities(cart: String): Map<String, Long> = cartLines(cart).associate { it.sku to it.quantity }
