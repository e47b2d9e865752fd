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
