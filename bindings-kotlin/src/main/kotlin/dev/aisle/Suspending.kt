// Suspend wrappers for the long calls (ARCHITECTURE decision 8: Kotlin gets blocking calls plus
// suspend wrappers). Each runs the one blocking generated call on Dispatchers.IO, so a
// coroutine on the main thread (or any other) suspends while SQLite and the pricing engine
// work, and gets back exactly what the blocking call returns, or the same AisleException.
//
// Named `…Async` like Node's Promise-returning twins (`cart.priceAsync()`), and like OkHttp's
// suspending `Call.executeAsync()`: a suspend extension cannot share the name of the member it
// wraps, because Kotlin always picks the member. Sugar only: no rule lives here.

package dev.aisle

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/** [Edge.open] on [Dispatchers.IO]: opens (creating and migrating) the store file. */
suspend fun Edge.Companion.openAsync(path: String, config: EdgeConfig): Edge =
    withContext(Dispatchers.IO) { Edge.open(path, config) }

/** [Cart.priceSummary] on [Dispatchers.IO]: prices the cart now and returns the totals. */
suspend fun Cart.priceSummaryAsync(): PriceSummary = withContext(Dispatchers.IO) { priceSummary() }

/** [Cart.priceJson] on [Dispatchers.IO]: prices the cart now and returns everything as JSON. */
suspend fun Cart.priceJsonAsync(): String = withContext(Dispatchers.IO) { priceJson() }

/** [Cart.complete] on [Dispatchers.IO]: prices, settles and records the sale. */
suspend fun Cart.completeAsync(tenders: List<TenderInput>): SaleSummary =
    withContext(Dispatchers.IO) { complete(tenders) }

/** [Cart.completeAsync] with `vararg` tenders: `cart.completeAsync(TenderInput.cash(…))`. */
suspend fun Cart.completeAsync(vararg tenders: TenderInput): SaleSummary = completeAsync(tenders.toList())

/** [Edge.returnItems] on [Dispatchers.IO]; by default back to the original tenders. */
suspend fun Edge.returnItemsAsync(
    receiptNo: String,
    items: List<ReturnItem>,
    reason: String,
    refundTo: RefundTo = RefundTo.ORIGINAL_TENDERS,
): SaleSummary = withContext(Dispatchers.IO) { returnItems(receiptNo, items, reason, refundTo) }

/** [Edge.receiptText] on [Dispatchers.IO]: reads and renders the receipt for a printer. */
suspend fun Edge.receiptTextAsync(receiptNo: String, width: Int = 48): String =
    withContext(Dispatchers.IO) { receiptText(receiptNo, width) }

/** [Edge.exchange] on [Dispatchers.IO]: the return and the new sale in one transaction. */
suspend fun Edge.exchangeAsync(
    originalReceipt: String,
    items: List<ReturnItem>,
    newCart: Cart,
    tenders: List<TenderInput>,
    reason: String,
    excessTo: RefundTo,
): ExchangeSummary = withContext(Dispatchers.IO) { exchange(originalReceipt, items, newCart, tenders, reason, excessTo) }

/** [Streams.append] on [Dispatchers.IO]: returns the sequence number once it is on disk. */
suspend fun Streams.appendAsync(stream: String, payload: ByteArray): Long =
    withContext(Dispatchers.IO) { append(stream, payload) }

/** [Streams.append] of text (UTF-8) on [Dispatchers.IO]. */
suspend fun Streams.appendAsync(stream: String, text: String): Long = appendAsync(stream, text.encodeToByteArray())

/** [Streams.appendBatch] on [Dispatchers.IO]: all or none, in one transaction. */
suspend fun Streams.appendBatchAsync(stream: String, payloads: List<ByteArray>): List<Long> =
    withContext(Dispatchers.IO) { appendBatch(stream, payloads) }

/**
 * [Streams.flush] on [Dispatchers.IO]: suspends until every enabled exporter has drained or
 * [timeout] passes. A callback exporter's function may itself need the caller's thread (post to
 * the main thread, `runBlocking` on a single-threaded dispatcher): this never holds it.
 */
suspend fun Streams.flushAsync(timeout: kotlin.time.Duration): Boolean =
    withContext(Dispatchers.IO) { flush(timeout) }

/** [Streams.stop] on [Dispatchers.IO]: waits for a batch in flight (and its callback) to finish. */
suspend fun Streams.stopAsync() = withContext(Dispatchers.IO) { stop() }

/** [Ingest.receive] on [Dispatchers.IO]; `apply` runs there, inside the ingest transaction. */
suspend fun Ingest.receiveAsync(body: ByteArray, contentEncoding: String? = null, apply: (Batch) -> Unit): IngestReport =
    withContext(Dispatchers.IO) { receive(body, contentEncoding, apply) }

/**
 * [Replication.syncWithHub] on [Dispatchers.IO]: one round with a hub over HTTP(S). Throws what
 * the blocking call throws (`SyncUnreachable`, `SyncPeerRefused`, …).
 */
suspend fun Replication.syncWithHubAsync(config: HttpSyncConfig): RoundReport =
    withContext(Dispatchers.IO) { syncWithHub(config) }

/** [Replication.syncWithPeer] on [Dispatchers.IO]: one round with a LAN peer at `host:port`. */
suspend fun Replication.syncWithPeerAsync(addr: String, timeoutMs: Long): RoundReport =
    withContext(Dispatchers.IO) { syncWithPeer(addr, timeoutMs) }

/** [Syncer.stop] on [Dispatchers.IO]: waits for a round in progress to finish. */
suspend fun Syncer.stopAsync() = withContext(Dispatchers.IO) { stop() }
