package dev.aisle

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** Products with barcodes, variants and weights; price lists; the binding's own conversions. */
class CatalogTest {
    private val config = EdgeConfig("store-042", "register-1", "EUR")

    private fun eur(amount: String) = Money.parse(amount, "EUR")

    private val regime = """
        {"id": "de-vat", "prices_include_tax": true, "rounding": {"mode": "half_up", "level": "line"},
         "rates": [{"id": "A", "name": "MwSt 19%", "categories": ["standard"], "percent": "19"},
                   {"id": "B", "name": "MwSt 7%", "categories": ["reduced"], "percent": "7"}]}
    """.trimIndent()

    private fun withEdge(block: (Edge) -> Unit) = Edge.openInMemory(config).use(block)

    @Test
    fun `a product keeps every field`() = withEdge { edge ->
        val shirt = Product(
            sku = "TSHIRT-RED-M",
            name = "T-shirt red M",
            price = eur("19.99"),
            taxCategory = "standard",
            barcodes = listOf("036000291452"),
            categories = listOf("clothing", "clothing/shirts"),
            tags = listOf("cotton", "summer"),
            soldBy = SoldBy.UNIT,
            parentSku = "TSHIRT",
            attributes = mapOf("colour" to "red", "size" to "M"),
        )
        edge.upsertProduct(shirt)
        assertEquals(shirt, edge.product("TSHIRT-RED-M"))
        // The four-argument form is a product sold by the piece with nothing else.
        val plain = Product("SOAP", "Hand soap", eur("1.75"), "standard")
        assertEquals(SoldBy.UNIT, plain.soldBy)
        assertEquals(listOf<String>(), plain.barcodes)
        assertEquals(mapOf<String, String>(), plain.attributes)
        assertEquals(null, plain.parentSku)
        edge.upsertProduct(plain)
        assertEquals(plain, edge.product("SOAP"))

        // UPC-A, EAN-13 and GTIN-14 spellings are one GTIN.
        for (code in listOf("036000291452", "0036000291452", "00036000291452")) {
            assertEquals("TSHIRT-RED-M", edge.productByBarcode(code).sku, code)
        }
        assertEquals("INVALID_BARCODE", assertThrows<AisleException.InvalidBarcode> { edge.productByBarcode("036000291453") }.code)
        assertThrows<AisleException.UnknownBarcode> { edge.productByBarcode("4000417025005") }
        val dup = assertThrows<AisleException.DuplicateBarcode> {
            edge.upsertProduct(plain.copy(barcodes = listOf("0036000291452")))
        }
        assertTrue(dup.message!!.contains("TSHIRT-RED-M"), dup.message)
        assertThrows<AisleException.InvalidBarcode> { edge.upsertProduct(plain.copy(barcodes = listOf("12345"))) }
        assertThrows<AisleException.InvalidProduct> { edge.upsertProduct(plain.copy(parentSku = "SOAP")) }

        val soldBy = assertThrows<AisleException.InvalidArgument> { edge.upsertProduct(plain.copy(soldBy = "kg")) }
        assertTrue(soldBy.message!!.contains("\"kg\""), soldBy.message)
    }

    @Test
    fun `weighed goods take grams, pieces take quantities`() = withEdge { edge ->
        edge.upsertProducts(
            listOf(
                Product("APPLES", "Apples per kg", eur("2.99"), "reduced", soldBy = SoldBy.WEIGHT),
                Product("SOAP", "Hand soap", eur("1.75"), "standard"),
            ),
        )
        assertEquals(SoldBy.WEIGHT, edge.product("APPLES").soldBy)
        edge.newCart().use { cart ->
            cart.addWeighed("APPLES", 500)
            cart.addWeighed("APPLES", 250)
            // 2.99 × 0.750 = 2.2425 → 2.24
            assertEquals(CartLine("APPLES", "Apples per kg", 1, eur("2.99"), eur("2.24"), "reduced", grams = 750), cart.lines().single())
            assertThrows<AisleException.InvalidQuantity> { cart.add("APPLES", 1) }
            assertThrows<AisleException.InvalidQuantity> { cart.addWeighed("SOAP", 100) }
            assertThrows<AisleException.InvalidQuantity> { cart.addWeighed("APPLES", 0) }
            assertThrows<AisleException.CartLineNotFound> { cart.setLineDiscount("SOAP", ManualDiscount(percent = "5", reason = "x")) }
        }
    }

    @Test
    fun `price lists as JSON`() = withEdge { edge ->
        edge.setSettingsJson("""{"tax_regime": $regime}""")
        edge.upsertProduct(Product("MILK-1L", "Milk 1 l", eur("1.19"), "reduced"))
        edge.upsertPriceListJson(
            """{"id": "members", "name": "Members' prices", "currency": "EUR", "priority": 10,
                "scope": {"customer_groups": ["member"]}, "prices": {"MILK-1L": "0.99"}}""",
        )
        val lists = Json.parse(edge.priceListsJson()) as List<*>
        assertEquals(listOf("members"), lists.map { (it as Map<*, *>)["id"] })
        edge.newCart().use { cart ->
            cart.add("MILK-1L", 2)
            assertEquals(eur("2.38"), cart.priceSummary().total)
            cart.setCustomer(Customer(group = "member"))
            assertEquals(eur("0.99"), cart.lines().single().unitPrice)
            assertEquals(eur("1.98"), cart.priceSummary().total)
        }
        val e = assertThrows<AisleException.InvalidPriceList> {
            edge.upsertPriceListJson("""{"id": "bad", "name": "Bad", "currency": "EUR", "prices": {"MILK-1L": 0.99}}""")
        }
        assertEquals("INVALID_PRICE_LIST", e.code)
    }

    @Test
    fun `priceJson prices a request without a store`() {
        val request = """
            {"currency": "EUR", "at": "2026-03-14T10:00:00Z", "tax_regime": $regime,
             "lines": [{"sku": "MILK-1L", "quantity": 3, "unit_price": "1.19", "tax_category": "reduced"}],
             "tenders": [{"kind": "cash", "amount": {"minor": 500, "currency": "EUR"}}]}
        """.trimIndent()
        val result = Json.obj(priceJson(request))
        assertEquals(null, Json.firstMismatch(Json.parse("""{"subtotal": {"minor": 357}, "total": {"minor": 357, "currency": "EUR"},
            "settlement": {"due": {"minor": 357}, "change": {"minor": 143}}}"""), result))
        val e = assertThrows<AisleException.InvalidArgument> { priceJson("""{"currency": "EUR"}""") }
        assertTrue(e.message!!.startsWith("INVALID_ARGUMENT: "), e.message)
        assertThrows<AisleException.InvalidArgument> { priceJson("not json") }
    }

    @Test
    fun `what the binding converts is refused with the core's codes`() = withEdge { edge ->
        edge.setSettingsJson("""{"tax_regime": $regime}""")
        edge.upsertProduct(Product("MILK-1L", "Milk 1 l", eur("1.19"), "reduced"))
        edge.newCart().use { cart ->
            cart.add("MILK-1L", 1)
            val percent = assertThrows<AisleException.InvalidArgument> {
                cart.setLineDiscount("MILK-1L", ManualDiscount(percent = "ten", reason = "x"))
            }
            assertTrue(percent.message!!.contains("\"ten\""), percent.message)
            assertThrows<AisleException.InvalidArgument> { cart.setOrderDiscount(ManualDiscount(percent = "-5", reason = "x")) }
            assertThrows<AisleException.InvalidArgument> {
                cart.setOrderDiscount(ManualDiscount(percent = "5", amount = eur("1.00"), reason = "both"))
            }
            assertThrows<AisleException.InvalidArgument> { cart.setOrderDiscount(ManualDiscount(percent = "5", reason = " ")) }
            assertThrows<AisleException.UnknownCurrency> { cart.setOrderDiscount(ManualDiscount(amount = Money(1, "XYZ"), reason = "x")) }
            val sale = cart.complete(TenderInput.cash(eur("2.00")))
            val line = assertThrows<AisleException.InvalidArgument> { edge.returnItems(sale.receiptNo, listOf(ReturnItem(-1, 1)), "x") }
            assertEquals("INVALID_ARGUMENT: a return line number must not be negative, got -1", line.message)
            assertThrows<AisleException.InvalidArgument> { edge.receiptText(sale.receiptNo, -1) }
            assertThrows<AisleException.UnknownReceipt> { edge.receiptText("register-1-999999") }
            assertThrows<AisleException.UnknownReceipt> { edge.saleJson("nope") }
        }
    }
}
