package dev.aisle

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

/**
 * A store day on a handheld, as an app would write it: settings and promotions as JSON, a
 * catalog with barcodes and weighed goods, a cart with every kind of adjustment, a split
 * payment, receipts, and returns that refund exactly what was paid.
 */
class SalesTest {
    @TempDir
    lateinit var dir: Path

    private val config = EdgeConfig(storeId = "store-042", deviceId = "register-1", currency = "EUR")

    private fun eur(amount: String) = Money.parse(amount, "EUR")

    private val settings = """
        {
          "store_name": "Aisle Markt Berlin",
          "time_zone": "Europe/Berlin",
          "approval_above_percent": "20",
          "tax_regime": {
            "id": "de-vat", "prices_include_tax": true,
            "rounding": {"mode": "half_up", "level": "line", "inclusive_target": "tax"},
            "rates": [{"id": "A", "name": "MwSt 19%", "categories": ["standard"], "percent": "19"},
                      {"id": "B", "name": "MwSt 7%", "categories": ["reduced"], "percent": "7"}]
          },
          "tender_policy": {"cash_rounding": {"increment": 5, "mode": "half_up"}},
          "returns": {"return_days": 30},
          "receipt_footer": ["Thank you for shopping with us"]
        }
    """.trimIndent()

    private val promotions = """
        [
          {"id": "COFFEE-10", "name": "Coffee -10%", "priority": 5,
           "rule": {"type": "percent_off", "target": {"categories": ["coffee"]}, "percent": "10"}},
          {"id": "WELCOME-5", "name": "Welcome 5.00 off", "priority": 1,
           "conditions": {"coupon": "WELCOME5"},
           "rule": {"type": "order_amount_off", "amount": "5.00", "min_spend": "20.00"}}
        ]
    """.trimIndent()

    private val milk = Product(
        "MILK-1L", "Milk 1 l", Money(119, "EUR"), "reduced",
        barcodes = listOf("4000417025005"), categories = listOf("dairy"),
    )
    private val cheese = Product(
        "CHEESE-KG", "Mountain cheese per kg", eur("24.90"), "reduced",
        categories = listOf("cheese"), tags = listOf("organic"), soldBy = SoldBy.WEIGHT,
    )
    private val coffee = Product("COFFEE-500", "Coffee beans 500 g", eur("8.99"), "reduced", categories = listOf("coffee"))
    private val wine = Product(
        "WINE-RED", "Red wine 0.75 l", eur("8.90"), "standard",
        parentSku = "WINE", attributes = mapOf("colour" to "red"),
    )

    private fun card(last4: String = "4242", token: String = "tok_9f2c") =
        CardAuth(token = token, brand = "VISA", last4 = last4, authorizedAtMs = System.currentTimeMillis(), authCode = "A7Q1")

    /** A store with the settings, promotions and catalog above. */
    private fun <T> store(block: (Edge) -> T): T =
        Edge.open(dir.resolve("store.db").toString(), config).use { edge ->
            edge.setSettingsJson(settings)
            edge.setPromotionsJson(promotions)
            edge.upsertProducts(listOf(milk, cheese, coffee, wine))
            block(edge)
        }

    @Suppress("UNCHECKED_CAST")
    private fun Map<String, Any?>.obj(key: String) = this[key] as Map<String, Any?>

    @Suppress("UNCHECKED_CAST")
    private fun Map<String, Any?>.list(key: String) = this[key] as List<Map<String, Any?>>

    /** A `{"minor", "currency"}` object of a JSON result. */
    private fun Map<String, Any?>.money(key: String): Money {
        val m = obj(key)
        return Money((m["minor"] as Json.Num).value.longValueExact(), m["currency"] as String)
    }

    private fun sum(amounts: List<Money>) = amounts.fold(Money(0, "EUR")) { a, b -> a + b }

    @Test
    fun `a basket from scan to receipt, then returned in two goes`() = store { edge ->
        val cart = edge.newCart()

        // Scan, weigh, discount, attach the customer, enter a coupon.
        val scanned = edge.productByBarcode("4000417025005")
        assertEquals(milk, scanned)
        cart.add(scanned.sku, 3)
        cart.addWeighed("CHEESE-KG", 312)
        cart.add("COFFEE-500", 2)
        cart.add("WINE-RED", 1)
        cart.setLineDiscount("WINE-RED", ManualDiscount(amount = eur("1.00"), reason = "damaged label"))
        cart.setCustomer(Customer(id = "C-1001", group = "member"))
        cart.addCoupon(" welcome5 ")

        assertEquals(Customer(id = "C-1001", group = "member"), cart.customer())
        assertEquals(listOf("WELCOME5"), cart.coupons())
        assertEquals(CartStatus.OPEN, cart.status())
        val lines = cart.lines()
        assertEquals(listOf("MILK-1L", "CHEESE-KG", "COFFEE-500", "WINE-RED"), lines.map { it.sku })
        // 24.90 per kg × 0.312 kg = 7.7688 → 7.77; a weighed line is one unit.
        assertEquals(CartLine("CHEESE-KG", "Mountain cheese per kg", 1, eur("24.90"), eur("7.77"), "reduced", grams = 312), lines[1])
        assertEquals(ManualDiscount(amount = eur("1.00"), reason = "damaged label"), lines[3].discount)

        // 3 × 1.19 + 7.77 + 2 × 8.99 + 8.90 = 38.22; off: coffee 10 % (2 × 0.90), the coupon's
        // 5.00 and the manual 1.00 = 7.80; prices include tax, so the total is 30.42.
        val summary = cart.priceSummary()
        assertEquals(eur("38.22"), summary.subtotal)
        assertEquals(eur("7.80"), summary.discount)
        assertEquals(eur("30.42"), summary.total)
        assertEquals(summary.total, summary.net + summary.tax)

        val priced = Json.obj(cart.priceJson())
        assertEquals(summary.total, priced.money("total"))
        assertEquals(listOf("COFFEE-10", "WELCOME-5"), priced.list("promotions").map { it["id"] as String }.sorted())
        assertEquals(listOf(mapOf("code" to "WELCOME5", "status" to "applied")), priced.list("coupons"))
        assertEquals(listOf("A", "B"), priced.list("taxes").map { it["rate_id"] as String }.sorted())
        assertEquals(summary.tax, sum(priced.list("taxes").map { it.money("amount") }))
        val wineLine = priced.list("lines")[3]
        assertTrue(wineLine.list("adjustments").any { it["rule"] == "manual_line" && it.money("amount") == eur("1.00") })

        // Card 20.00, then cash: 10.42 left, rounded to 10.40 in cash; 20.00 handed over.
        val sale = cart.complete(TenderInput.card(eur("20.00"), card()), TenderInput.cash(eur("20.00")))
        assertEquals(SaleSummary("register-1-000001", eur("30.42"), eur("30.40"), eur("9.60"), eur("-0.02")), sale)
        assertEquals(sale, edge.saleSummary(sale.receiptNo))
        assertEquals(CartStatus.COMPLETED, cart.status())

        // The cart is closed for good.
        val closed = assertThrows<AisleException.CartClosed> { cart.add("MILK-1L", 1) }
        assertEquals("CART_CLOSED", closed.code)
        assertEquals(ErrorKind.COMMERCE, closed.kind)
        assertThrows<AisleException.CartClosed> { cart.complete(TenderInput.cash(eur("50.00"))) }
        assertThrows<AisleException.CartClosed> { cart.addCoupon("AGAIN") }

        // The stored record: card details without a number, the settlement, the customer.
        val record = Json.obj(edge.saleJson(sale.receiptNo))
        assertEquals("sale", record["kind"])
        assertEquals(mapOf("id" to "C-1001", "group" to "member", "loyalty_id" to null, "tax_exempt" to false), record["customer"])
        val tenders = record.obj("settlement").list("tenders")
        assertEquals(listOf("card", "cash"), tenders.map { it["kind"] })
        assertEquals("4242", tenders[0].obj("card")["last4"])
        assertEquals(eur("9.60"), tenders[1].money("change"))

        // The receipt fits the printer.
        val text = edge.receiptText(sale.receiptNo)
        for (line in text.lines()) assertTrue(line.length <= 48, "longer than 48: \"$line\"")
        for (part in listOf("Aisle Markt Berlin", "Receipt register-1-000001", "Mountain cheese per kg", "0.312 kg", "damaged label",
            "TOTAL EUR", "30.42", "Cash rounding", "To pay", "30.40", "VISA ****4242", "Change", "9.60", "Thank you for shopping with us")) {
            assertTrue(text.contains(part), "receipt lacks \"$part\":\n$text")
        }
        assertFalse(text.contains("tok_9f2c"), text)
        val narrow = edge.receiptText(sale.receiptNo, width = 32)
        for (line in narrow.lines()) assertTrue(line.length <= 32, "longer than 32: \"$line\"")
        val receipt = Json.obj(edge.receiptJson(sale.receiptNo))
        assertEquals(sale.receiptNo, receipt["receipt_no"])
        assertEquals(false, receipt["is_refund"])
        assertEquals(4, receipt.list("lines").size)

        // Two milks and the cheese back: within what the card paid, so all of it to the card.
        val first = edge.returnItems(sale.receiptNo, listOf(ReturnItem(1, 2), ReturnItem(2, 1)), "customer changed mind")
        assertEquals("register-1-000002", first.receiptNo)
        assertTrue(first.total.minor < 0, "a refund is negative: $first")
        assertEquals(first.total, first.due)
        // The rest: a milk, both coffees and the wine, to the card's remainder and then cash.
        val second = edge.returnItems(
            sale.receiptNo,
            listOf(ReturnItem(lineNo = 1, quantity = 1), ReturnItem(3, 2), ReturnItem(4, 1)),
            "customer changed mind",
            RefundTo.ORIGINAL_TENDERS,
        )
        // Together exactly what was paid, tender by tender: 20.00 card, 10.40 cash.
        assertEquals(-sale.total, first.total + second.total)
        assertEquals(-sale.due, first.due + second.due)
        val refunded = listOf(first, second).flatMap { Json.obj(edge.saleJson(it.receiptNo)).obj("settlement").list("tenders") }
        assertEquals(eur("-20.00"), sum(refunded.filter { it["kind"] == "card" }.map { it.money("amount") }))
        assertEquals(eur("-10.40"), sum(refunded.filter { it["kind"] == "cash" }.map { it.money("amount") }))
        assertEquals(listOf(sale.receiptNo, first.receiptNo, second.receiptNo), edge.receiptNumbers())

        val refundText = edge.receiptText(second.receiptNo)
        assertTrue(refundText.contains("REFUND") && refundText.contains(sale.receiptNo), refundText)
        assertEquals(true, Json.obj(edge.receiptJson(second.receiptNo))["is_refund"])
        assertEquals(sale.receiptNo, Json.obj(edge.saleJson(second.receiptNo))["original"])

        // Nothing is left to return.
        val refused = assertThrows<AisleException.ReturnRefused> {
            edge.returnItems(sale.receiptNo, listOf(ReturnItem(1, 1)), "again")
        }
        assertEquals("RETURN_REFUSED", refused.code)
        assertTrue(refused.message!!.contains("3 already returned"), refused.message)
        assertThrows<AisleException.ReturnRefused> { edge.returnItems(sale.receiptNo, listOf(ReturnItem(9, 1)), "no such line") }
        assertThrows<AisleException.ReturnRefused> { edge.returnItems(second.receiptNo, listOf(ReturnItem(1, 1)), "a refund") }
        cart.close()
    }

    @Test
    fun `a return as store credit, and store credit as a tender`() = store { edge ->
        val sale = edge.newCart().use { cart ->
            cart.add("COFFEE-500", 1) // 8.99 − 10 % = 8.09
            cart.complete(TenderInput.cash(eur("10.00")))
        }
        // 8.09 in cash rounds to 8.10.
        assertEquals(SaleSummary("register-1-000001", eur("8.09"), eur("8.10"), eur("1.90"), eur("0.01")), sale)
        val credit = edge.returnItems(sale.receiptNo, listOf(ReturnItem(1, 1)), "exchange", RefundTo.STORE_CREDIT)
        assertEquals(eur("-8.09"), credit.total)
        val tenders = Json.obj(edge.saleJson(credit.receiptNo)).obj("settlement").list("tenders")
        assertEquals(listOf("store_credit"), tenders.map { it["kind"] })
        // The refund opened a store credit account named after its receipt, which pays later.
        val creditId = tenders[0]["reference"]
        assertEquals("SC-register-1-000002", creditId)

        edge.newCart().use { cart ->
            cart.add("MILK-1L", 2) // 2.38
            val paid = cart.complete(TenderInput.storeCredit(eur("2.38"), creditId as String))
            assertEquals(eur("2.38"), paid.due)
            assertEquals(eur("0.00"), paid.cashRounding)
        }
    }

    @Test
    fun `manual prices, order discounts and clearing them`() = store { edge ->
        edge.newCart().use { cart ->
            cart.add("WINE-RED", 2)
            cart.setPriceOverride("WINE-RED", PriceOverride(eur("7.50"), "price match"))
            assertEquals(PriceOverride(eur("7.50"), "price match"), cart.lines()[0].priceOverride)
            assertEquals(eur("15.00"), cart.priceSummary().total)

            cart.setOrderDiscount(ManualDiscount(percent = "12.5", reason = "staff"))
            // 12.5 % of 15.00 = 1.875 → 1.88 (half up).
            assertEquals(eur("13.12"), cart.priceSummary().total)
            val priced = Json.obj(cart.priceJson())
            assertEquals("12.5", priced.obj("order_discount")["percent"])
            assertEquals(false, priced.obj("order_discount")["needs_approval"])

            cart.setOrderDiscount(ManualDiscount(percent = "25", reason = "manager special"))
            assertEquals(true, Json.obj(cart.priceJson()).obj("order_discount")["needs_approval"])

            cart.setOrderDiscount(null)
            cart.setPriceOverride("WINE-RED", null)
            assertNull(cart.lines()[0].priceOverride)
            assertEquals(eur("17.80"), cart.priceSummary().total)

            cart.setWeight("CHEESE-KG", 1000)
            assertEquals(eur("24.90"), cart.lines()[1].lineTotal)
            cart.setWeight("CHEESE-KG", 0)
            assertEquals(listOf("WINE-RED"), cart.lines().map { it.sku })

            cart.addCoupon("welcome5")
            cart.removeCoupon("WELCOME5")
            assertTrue(cart.coupons().isEmpty())
            cart.setCustomer(Customer(id = "C-7", taxExempt = true))
            assertEquals(eur("0.00"), cart.priceSummary().tax)
            cart.setCustomer(null)
            assertNull(cart.customer())
        }
    }

    @Test
    fun `tenders that do not settle`() = store { edge ->
        edge.newCart().use { cart ->
            cart.add("MILK-1L", 1) // 1.19, 1.20 in cash
            val short = assertThrows<AisleException.InsufficientTender> { cart.complete(TenderInput.cash(eur("1.00"))) }
            assertEquals("INSUFFICIENT_TENDER", short.code)
            assertTrue(short.message!!.contains("0.20"), short.message)
            assertThrows<AisleException.InsufficientTender> { cart.complete(listOf()) }
            // No change on a card.
            assertThrows<AisleException.TenderExceedsDue> { cart.complete(TenderInput.card(eur("5.00"), card())) }
            // A card tender needs its authorisation.
            assertThrows<AisleException.InvalidTender> { cart.complete(TenderInput(TenderKind.CARD, eur("1.19"))) }
            assertThrows<AisleException.OfflineNotAllowed> {
                cart.complete(TenderInput.card(eur("1.19"), card().copy(offline = true)))
            }
            assertThrows<AisleException.CurrencyMismatch> { cart.complete(TenderInput.cash(Money(500, "USD"))) }
            // Nothing was recorded; the cart is still open and sells.
            assertTrue(edge.receiptNumbers().isEmpty())
            assertEquals(CartStatus.OPEN, cart.status())
            assertEquals(eur("1.20"), cart.complete(TenderInput.cash(eur("1.20"))).due)
        }
    }

    @Test
    fun `a card number is refused and never echoed`() = store { edge ->
        edge.newCart().use { cart ->
            cart.add("MILK-1L", 1)
            val pan = "4111111111111111"
            val e = assertThrows<AisleException.CardNumberRefused> {
                cart.complete(TenderInput.card(eur("1.19"), card(token = "tok_$pan")))
            }
            assertEquals("CARD_NUMBER_REFUSED", e.code)
            assertTrue(e.message!!.contains("card.token") && e.message!!.contains("ending 1111"), e.message)
            assertFalse(e.message!!.contains(pan), e.message)

            val spaced = "4111 1111 1111 1111"
            val reason = assertThrows<AisleException.CardNumberRefused> {
                cart.setOrderDiscount(ManualDiscount(percent = "5", reason = "paid with $spaced"))
            }
            assertFalse(reason.message!!.contains(spaced) || reason.message!!.contains(pan), reason.message)
            assertThrows<AisleException.CardNumberRefused> {
                cart.complete(TenderInput.cash(eur("1.20")).copy(reference = "card $spaced"))
            }
            assertTrue(edge.receiptNumbers().isEmpty())
        }
    }

    @Test
    fun `bad rules are refused with the JSON path`() = store { edge ->
        val bad = """[{"id": "HALF", "rule": {"type": "percent_off", "target": {"skus": ["MILK-1L"]}, "percent": 12.5}}]"""
        val e = assertThrows<AisleException.PromoInvalidRule> { edge.setPromotionsJson(bad) }
        assertEquals("PROMO_INVALID_RULE", e.code)
        assertTrue(e.message!!.contains("[0].rule.percent"), e.message)
        // The old promotions stay.
        assertEquals(listOf("COFFEE-10", "WELCOME-5"), Json.parse(edge.promotionsJson()).let { it as List<*> }.map { (it as Map<*, *>)["id"] })

        val regime = assertThrows<AisleException.InvalidTaxRegime> {
            edge.setSettingsJson("""{"tax_regime": {"id": "x", "prices_include_tax": true, "rounding": {"mode": "half_up", "level": "line"}, "rates": [{"id": "A", "name": "A", "categories": ["standard"], "percent": "120"}]}}""")
        }
        assertTrue(regime.message!!.contains("rates[0]"), regime.message)
        val unknown = assertThrows<AisleException.InvalidArgument> { edge.setSettingsJson("""{"store_nam": "typo"}""") }
        assertTrue(unknown.message!!.contains("store_nam"), unknown.message)
        assertEquals("Aisle Markt Berlin", Json.obj(edge.settingsJson())["store_name"])
    }

    @Test
    fun `pricing needs a tax regime`() {
        Edge.openInMemory(config).use { edge ->
            edge.upsertProduct(milk)
            edge.newCart().use { cart ->
                cart.add("MILK-1L", 1)
                val e = assertThrows<AisleException.InvalidArgument> { cart.priceSummary() }
                assertTrue(e.message!!.contains("tax regime"), e.message)
            }
        }
    }
}
