package dev.aisle

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit

/**
 * The suspend wrappers (`openAsync`, `priceSummaryAsync`, `completeAsync`, …): the same results
 * and the same exceptions as the blocking calls, and the calling thread stays free meanwhile.
 */
class SuspendingTest {
    @TempDir
    lateinit var dir: Path

    private val config = EdgeConfig(storeId = "store-7", deviceId = "handheld-2", currency = "EUR")

    private fun eur(amount: String) = Money.parse(amount, "EUR")

    private val settings = """
        {"time_zone": "Europe/Berlin",
         "tax_regime": {"id": "de-vat", "prices_include_tax": true,
                        "rounding": {"mode": "half_up", "level": "line"},
                        "rates": [{"id": "B", "name": "MwSt 7%", "categories": ["reduced"], "percent": "7"}]},
         "tender_policy": {"cash_rounding": {"increment": 5, "mode": "half_up"}},
         "returns": {"return_days": 30}}
    """.trimIndent()

    private val path get() = dir.resolve("store.db").toString()

    private fun <T> store(block: suspend CoroutineScope.(Edge) -> T): T = runBlocking {
        Edge.openAsync(path, config).use { edge ->
            edge.setSettingsJson(settings)
            edge.upsertProducts(
                listOf(
                    Product("MILK-1L", "Milk 1 l", eur("1.19"), "reduced"),
                    Product("CHEESE-KG", "Mountain cheese per kg", eur("24.90"), "reduced", soldBy = SoldBy.WEIGHT),
                ),
            )
            block(edge)
        }
    }

    private fun basket(edge: Edge): Cart = edge.newCart().also {
        it.add("MILK-1L", 3)
        it.addWeighed("CHEESE-KG", 312)
    }

    @Test
    fun `each wrapper returns what the blocking call returns`() = store { edge ->
        val cart = basket(edge)
        assertEquals(cart.priceSummary(), cart.priceSummaryAsync())
        assertEquals(cart.priceJson(), cart.priceJsonAsync())

        val sale = cart.completeAsync(TenderInput.cash(eur("20.00")))
        assertEquals(edge.saleSummary(sale.receiptNo), sale)
        assertEquals(CartStatus.COMPLETED, cart.status())
        assertEquals(edge.receiptText(sale.receiptNo), edge.receiptTextAsync(sale.receiptNo))
        assertEquals(edge.receiptText(sale.receiptNo, 32), edge.receiptTextAsync(sale.receiptNo, 32))

        val refund = edge.returnItemsAsync(sale.receiptNo, listOf(ReturnItem(lineNo = 1, quantity = 1)), "changed mind")
        assertEquals(edge.saleSummary(refund.receiptNo), refund)
        assertEquals(eur("-1.19"), refund.total)
        val credit = edge.returnItemsAsync(sale.receiptNo, listOf(ReturnItem(1, 1)), "exchange", RefundTo.STORE_CREDIT)
        assertEquals(listOf(sale.receiptNo, refund.receiptNo, credit.receiptNo), edge.receiptNumbers())
        edge.close()

        Edge.openAsync(path, config).use { again ->
            assertEquals(listOf(cart.id()), again.cartIds())
            assertEquals(CartStatus.COMPLETED, again.cart(cart.id()).status())
        }
    }

    @Test
    fun `failures are the blocking calls' exceptions`() = store { edge ->
        val cart = basket(edge)
        val blocking = assertThrows<AisleException.InsufficientTender> { cart.complete(TenderInput.cash(eur("1.00"))) }
        val suspending = assertThrows<AisleException.InsufficientTender> {
            runBlocking { cart.completeAsync(TenderInput.cash(eur("1.00"))) }
        }
        assertEquals(blocking.message, suspending.message)
        assertEquals("INSUFFICIENT_TENDER", suspending.code)
        assertEquals(CartStatus.OPEN, cart.status())

        assertThrows<AisleException.UnknownReceipt> { runBlocking { edge.receiptTextAsync("handheld-2-999999") } }
        assertThrows<AisleException.InvalidArgument> { runBlocking { edge.receiptTextAsync("x", -1) } }
        val sale = cart.completeAsync(TenderInput.cash(eur("20.00")))
        assertThrows<AisleException.CartClosed> { runBlocking { cart.completeAsync(TenderInput.cash(eur("20.00"))) } }
        assertThrows<AisleException.ReturnRefused> {
            runBlocking { edge.returnItemsAsync(sale.receiptNo, listOf(ReturnItem(1, 4)), "more than sold") }
        }

        val notAStore = dir.resolve("notes.txt")
        Files.writeString(notAStore, "a shopping list, not a database\n".repeat(100))
        val e = assertThrows<AisleException.StoreNotADatabase> { runBlocking { Edge.openAsync(notAStore.toString(), config) } }
        assertEquals("STORE_NOT_A_DATABASE", e.code)
    }

    /**
     * Deterministic, not a race against a clock: a child process holds SQLite's write lock on
     * the store file, so recording the sale must wait (SQLite's busy timeout is 5 s). The one
     * thread of `runBlocking` runs another coroutine meanwhile, and only that coroutine lets
     * the lock go. A wrapper that blocked its caller would stall the thread for the whole
     * timeout and fail with a locked database.
     */
    @Test
    fun `the calling thread is free while a call waits`() = store { edge ->
        val cart = basket(edge)
        val holder = ProcessBuilder("python3", "-c", LOCK_HOLDER, path).redirectError(ProcessBuilder.Redirect.INHERIT).start()
        try {
            val out = holder.inputStream.bufferedReader()
            assertEquals("locked", out.readLine(), "the lock holder (python3 with sqlite3) did not take the lock")
            val events = mutableListOf<String>()
            val sale = async {
                cart.completeAsync(TenderInput.cash(eur("20.00"))).also { events += "sale recorded" }
            }
            yield() // the sale starts, and suspends
            events += "caller ran"
            holder.outputStream.apply { write('\n'.code); flush(); close() }
            assertTrue(holder.waitFor(10, TimeUnit.SECONDS) && holder.exitValue() == 0, "the lock holder failed")
            val summary = sale.await()
            assertEquals(listOf("caller ran", "sale recorded"), events)
            assertEquals(edge.saleSummary(summary.receiptNo), summary)
        } finally {
            holder.destroy()
        }
    }

    @Test
    fun `many calls side by side each get their own result`() = store { edge ->
        val carts = (1..8L).map { n -> edge.newCart().also { it.add("MILK-1L", n) } }
        val totals = carts.map { async { it.priceSummaryAsync().total } }.awaitAll()
        assertEquals(carts.map { it.priceSummary().total }, totals)
        assertEquals((1..8L).map { eur("1.19") * it }, totals)
    }

    private companion object {
        val LOCK_HOLDER = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
            db.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            sys.stdin.readline()
            db.execute("ROLLBACK")
            db.close()
        """.trimIndent()
    }
}
