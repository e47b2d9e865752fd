package dev.aisle

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

/**
 * Gift cards, store credit and exchanges at a till: the ledger, gift cards and store credit as
 * tenders, refunds back to an account, and an exchange as two linked receipts.
 */
class StoredValueTest {
    @TempDir
    lateinit var dir: Path

    private val config = EdgeConfig(storeId = "store-042", deviceId = "register-1", currency = "EUR")

    private fun eur(amount: String) = Money.parse(amount, "EUR")

    // Prices include tax and there is no cash rounding, so every amount below is plain addition.
    private val settings = """
        {"time_zone": "Europe/Berlin",
         "tax_regime": {"id": "de-vat", "prices_include_tax": true,
                        "rounding": {"mode": "half_up", "level": "line"},
                        "rates": [{"id": "A", "name": "MwSt 19%", "categories": ["standard"], "percent": "19"},
                                  {"id": "B", "name": "MwSt 7%", "categories": ["reduced"], "percent": "7"}]},
         "returns": {"return_days": 30}}
    """.trimIndent()

    /** JUnit runs only test methods that return nothing, hence `Unit`. */
    private fun store(block: (Edge, StoredValue) -> Unit) =
        Edge.open(dir.resolve("store.db").toString(), config).use { edge ->
            edge.setSettingsJson(settings)
            edge.upsertProducts(
                listOf(
                    Product("COFFEE-500", "Coffee beans 500 g", eur("8.99"), "reduced"),
                    Product("SCARF", "Wool scarf", eur("24.00"), "standard"),
                ),
            )
            block(edge, edge.storedValue())
        }

    private fun sell(edge: Edge, vararg lines: Pair<String, Int>, tenders: List<TenderInput>): SaleSummary =
        edge.newCart().use { cart ->
            for ((sku, qty) in lines) cart.add(sku, qty.toLong())
            cart.complete(tenders)
        }

    @Suppress("UNCHECKED_CAST")
    private fun tenders(edge: Edge, receiptNo: String) =
        (Json.obj(edge.saleJson(receiptNo))["settlement"] as Map<String, Any?>)["tenders"] as List<Map<String, Any?>>

    @Test
    fun `the ledger of a gift card`() = store { _, sv ->
        val issued = sv.issue(StoredValueKind.GIFT_CARD, "GC-1001", eur("50.00"), reason = "sold at till 1")
        assertEquals(
            StoredValueAccount(StoredValueKind.GIFT_CARD, "GC-1001", "EUR", eur("50.00"), AccountStatus.ACTIVE, null, issued.createdAtMs),
            issued,
        )
        assertEquals(eur("60.00"), sv.load(StoredValueKind.GIFT_CARD, "GC-1001", eur("10.00")).balance)
        assertEquals(eur("55.00"), sv.adjust(StoredValueKind.GIFT_CARD, "GC-1001", eur("-5.00"), "goodwill correction").balance)
        assertEquals(AccountStatus.FROZEN, sv.freeze(StoredValueKind.GIFT_CARD, "GC-1001", "reported stolen").status)
        val frozen = assertThrows<AisleException.StoredValueFrozen> { sv.load(StoredValueKind.GIFT_CARD, "GC-1001", eur("1.00")) }
        assertEquals("STORED_VALUE_FROZEN", frozen.code)
        assertEquals(ErrorKind.COMMERCE, frozen.kind)
        assertEquals(AccountStatus.ACTIVE, sv.unfreeze(StoredValueKind.GIFT_CARD, "GC-1001", "found again").status)

        val history = sv.history(StoredValueKind.GIFT_CARD, "GC-1001")
        assertEquals(
            listOf(EntryType.ISSUE, EntryType.LOAD, EntryType.ADJUST, EntryType.FREEZE, EntryType.UNFREEZE),
            history.map { it.entryType },
        )
        assertEquals(listOf("50.00", "10.00", "-5.00", "0.00", "0.00").map(::eur), history.map { it.amount })
        assertEquals(listOf("50.00", "60.00", "55.00", "55.00", "55.00").map(::eur), history.map { it.balanceAfter })
        assertEquals(listOf("sold at till 1", null, "goodwill correction", "reported stolen", "found again"), history.map { it.reason })
        assertTrue(history.zipWithNext().all { (a, b) -> a.seq < b.seq })
        assertTrue(history.all { it.receiptNo == null && it.accountId == "GC-1001" })

        // A gift card and a store credit may share an id; within a kind it is taken.
        assertThrows<AisleException.StoredValueExists> { sv.issue(StoredValueKind.GIFT_CARD, "GC-1001", eur("5.00")) }
        sv.issue(StoredValueKind.STORE_CREDIT, "GC-1001", eur("5.00"))
        assertEquals(listOf("GC-1001"), sv.accounts(StoredValueKind.GIFT_CARD).map { it.id })
        assertEquals(listOf(eur("5.00")), sv.accounts(StoredValueKind.STORE_CREDIT).map { it.balance })

        assertThrows<AisleException.StoredValueNotFound> { sv.balance(StoredValueKind.GIFT_CARD, "GC-404") }
        val card = assertThrows<AisleException.CardNumberRefused> { sv.issue(StoredValueKind.GIFT_CARD, "4111111111111111", eur("5.00")) }
        assertTrue(!card.message!!.contains("4111111111111111"), card.message)
        assertThrows<AisleException.StoredValueCurrencyMismatch> { sv.load(StoredValueKind.GIFT_CARD, "GC-1001", Money(500, "USD")) }
        assertThrows<AisleException.StoredValueInsufficient> { sv.adjust(StoredValueKind.GIFT_CARD, "GC-1001", eur("-55.01"), "too much") }
        assertThrows<AisleException.InvalidArgument> { sv.load(StoredValueKind.GIFT_CARD, "GC-1001", eur("-1.00")) }

        // Closing needs an empty account, so the ledger says where the money went.
        val notEmpty = assertThrows<AisleException.InvalidArgument> { sv.close(StoredValueKind.GIFT_CARD, "GC-1001", "customer left") }
        assertTrue(notEmpty.message!!.contains("55.00"), notEmpty.message)
        sv.adjust(StoredValueKind.GIFT_CARD, "GC-1001", eur("-55.00"), "paid out in cash")
        assertEquals(AccountStatus.CLOSED, sv.close(StoredValueKind.GIFT_CARD, "GC-1001", "customer left").status)
        assertThrows<AisleException.StoredValueClosed> { sv.load(StoredValueKind.GIFT_CARD, "GC-1001", eur("1.00")) }

        // Expiry: in the past is refused at issue; once passed, the card takes nothing more.
        assertThrows<AisleException.InvalidArgument> {
            sv.issue(StoredValueKind.GIFT_CARD, "GC-OLD", eur("5.00"), expiresAtMs = System.currentTimeMillis() - 1_000)
        }
        val expiresAt = System.currentTimeMillis() + 300
        sv.issue(StoredValueKind.GIFT_CARD, "GC-PROMO", eur("5.00"), expiresAtMs = expiresAt)
        while (System.currentTimeMillis() <= expiresAt) Thread.sleep(expiresAt + 1 - System.currentTimeMillis())
        val expired = assertThrows<AisleException.StoredValueExpired> { sv.load(StoredValueKind.GIFT_CARD, "GC-PROMO", eur("1.00")) }
        assertEquals("STORED_VALUE_EXPIRED", expired.code)
    }

    @Test
    fun `a gift card pays part of a basket, and a return goes back onto it`() = store { edge, sv ->
        sv.issue(StoredValueKind.GIFT_CARD, "GC-2002", eur("10.00"))
        edge.newCart().use { cart ->
            cart.add("COFFEE-500", 2) // 17.98
            // More than the card holds: nothing is written, the cart stays open.
            val short = assertThrows<AisleException.StoredValueInsufficient> { cart.complete(TenderInput.giftCard(eur("17.98"), "GC-2002")) }
            assertEquals("STORED_VALUE_INSUFFICIENT", short.code)
            assertEquals(CartStatus.OPEN, cart.status())
            assertThrows<AisleException.StoredValueNotFound> { cart.complete(TenderInput.giftCard(eur("5.00"), "GC-404"), TenderInput.cash(eur("20.00"))) }
            assertEquals(eur("10.00"), sv.balance(StoredValueKind.GIFT_CARD, "GC-2002"))
            assertEquals(emptyList<String>(), edge.receiptNumbers())
        }

        val sale = sell(edge, "COFFEE-500" to 2, tenders = listOf(TenderInput.giftCard(eur("10.00"), "GC-2002"), TenderInput.cash(eur("10.00"))))
        assertEquals(eur("2.02"), sale.change)
        val giftIndex = tenders(edge, sale.receiptNo).indexOfFirst { it["kind"] == "gift_card" }
        assertEquals(
            listOf(StoredValueMovement(giftIndex, StoredValueKind.GIFT_CARD, "GC-2002", eur("-10.00"), eur("0.00"))),
            sale.storedValue,
        )
        assertEquals(sale, edge.saleSummary(sale.receiptNo))
        assertNull(sale.exchangeWith)
        assertEquals(eur("0.00"), sv.balance(StoredValueKind.GIFT_CARD, "GC-2002"))
        val redeem = sv.history(StoredValueKind.GIFT_CARD, "GC-2002").last()
        assertEquals(EntryType.REDEEM, redeem.entryType)
        assertEquals(sale.receiptNo, redeem.receiptNo)
        assertEquals(eur("-10.00"), redeem.amount)

        // One coffee back, onto the same card (not to the cash the customer paid).
        val refund = edge.returnItemsToAccount(sale.receiptNo, listOf(ReturnItem(1, 1)), "unwanted gift", StoredValueKind.GIFT_CARD, "GC-2002")
        assertEquals(eur("-8.99"), refund.total)
        assertEquals(listOf(StoredValueMovement(0, StoredValueKind.GIFT_CARD, "GC-2002", eur("8.99"), eur("8.99"))), refund.storedValue)
        assertNull(refund.storeCreditId)
        assertEquals(eur("8.99"), sv.balance(StoredValueKind.GIFT_CARD, "GC-2002"))
        assertEquals(EntryType.REFUND, sv.history(StoredValueKind.GIFT_CARD, "GC-2002").last().entryType)
        assertThrows<AisleException.StoredValueNotFound> {
            edge.returnItemsToAccount(sale.receiptNo, listOf(ReturnItem(1, 1)), "unwanted gift", StoredValueKind.STORE_CREDIT, "SC-NOPE")
        }
    }

    @Test
    fun `a refund as store credit names its account, which pays later`() = store { edge, sv ->
        val sale = sell(edge, "SCARF" to 1, tenders = listOf(TenderInput.cash(eur("24.00"))))
        assertEquals(emptyList<StoredValueMovement>(), sale.storedValue)
        val credit = edge.returnItems(sale.receiptNo, listOf(ReturnItem(1, 1)), "wrong colour", RefundTo.STORE_CREDIT)
        val creditId = credit.storeCreditId!!
        assertEquals("SC-${credit.receiptNo}", creditId)
        assertEquals(listOf(StoredValueMovement(0, StoredValueKind.STORE_CREDIT, creditId, eur("24.00"), eur("24.00"))), credit.storedValue)
        assertEquals(eur("24.00"), sv.balance(StoredValueKind.STORE_CREDIT, creditId))

        val later = sell(edge, "COFFEE-500" to 1, tenders = listOf(TenderInput.storeCredit(eur("8.99"), creditId)))
        assertEquals(eur("15.01"), later.storedValue.single().balanceAfter)
        assertEquals(eur("15.01"), sv.balance(StoredValueKind.STORE_CREDIT, creditId))
    }

    @Test
    fun `an exchange for something cheaper leaves the rest as store credit`() = store { edge, sv ->
        val original = sell(edge, "SCARF" to 1, tenders = listOf(TenderInput.cash(eur("24.00"))))
        val cart = edge.newCart()
        cart.add("COFFEE-500", 2) // 17.98
        val x = edge.exchange(original.receiptNo, listOf(ReturnItem(1, 1)), cart, emptyList(), "wrong size", RefundTo.STORE_CREDIT)

        // Two receipts, numbered one after the other, each naming the other.
        assertEquals(listOf(original.receiptNo, x.refund.receiptNo, x.sale.receiptNo), edge.receiptNumbers())
        assertEquals(x.sale.receiptNo, x.refund.exchangeWith)
        assertEquals(x.refund.receiptNo, x.sale.exchangeWith)
        assertEquals(eur("-24.00"), x.refund.total)
        assertEquals(eur("17.98"), x.sale.total)
        assertEquals(eur("-6.02"), x.difference)
        assertEquals(CartStatus.COMPLETED, cart.status())

        // The returned value passes through SC-<refund>: credited 24.00, 17.98 spent, 6.02 left.
        val creditId = "SC-${x.refund.receiptNo}"
        assertEquals(creditId, x.refund.storeCreditId)
        assertEquals(eur("24.00"), x.refund.storedValue.single().amount)
        assertEquals(StoredValueMovement(0, StoredValueKind.STORE_CREDIT, creditId, eur("-17.98"), eur("6.02")), x.sale.storedValue.single())
        assertEquals(eur("6.02"), sv.balance(StoredValueKind.STORE_CREDIT, creditId))
        assertEquals(listOf(EntryType.REFUND, EntryType.REDEEM), sv.history(StoredValueKind.STORE_CREDIT, creditId).map { it.entryType })
        assertEquals(x.sale, edge.saleSummary(x.sale.receiptNo))
        cart.close()
    }

    @Test
    fun `an exchange for something dearer takes the difference in cash`() = store { edge, sv ->
        val original = sell(edge, "COFFEE-500" to 1, tenders = listOf(TenderInput.cash(eur("10.00"))))
        val cart = edge.newCart()
        cart.add("SCARF", 1) // 24.00, of which the coffee's 8.99 is already paid
        // Too little for the difference: nothing is written.
        assertThrows<AisleException.InsufficientTender> {
            edge.exchange(original.receiptNo, listOf(ReturnItem(1, 1)), cart, listOf(TenderInput.cash(eur("15.00"))), "swap", RefundTo.ORIGINAL_TENDERS)
        }
        assertEquals(listOf(original.receiptNo), edge.receiptNumbers())
        assertEquals(CartStatus.OPEN, cart.status())

        val x = runBlocking {
            edge.exchangeAsync(original.receiptNo, listOf(ReturnItem(1, 1)), cart, listOf(TenderInput.cash(eur("20.00"))), "swap", RefundTo.ORIGINAL_TENDERS)
        }
        assertEquals(eur("15.01"), x.difference)
        assertEquals(eur("4.99"), x.sale.change)
        assertEquals(eur("24.00"), x.sale.total)
        val creditId = "SC-${x.refund.receiptNo}"
        assertEquals(eur("0.00"), sv.balance(StoredValueKind.STORE_CREDIT, creditId))
        assertEquals(listOf(creditId), x.sale.storedValue.map { it.accountId })
        // Nothing is left to return from the original.
        assertThrows<AisleException.ReturnRefused> { edge.returnItems(original.receiptNo, listOf(ReturnItem(1, 1)), "again") }
        cart.close()
    }
}
