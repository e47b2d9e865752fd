package dev.aisle

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Files
import java.nio.file.Path

class ErrorTest {
    @TempDir
    lateinit var dir: Path

    private val config = EdgeConfig("store-042", "register-1", "EUR")

    /** Every exception carries its code, and its message is the core's text, code first. */
    private fun assertCode(code: String, e: AisleException) {
        assertEquals(code, e.code)
        assertTrue(e !is AisleException.Other, "${e.javaClass.simpleName} has no subclass of its own")
        assertTrue(e.message!!.startsWith("$code: "), "message: ${e.message}")
    }

    private fun withCart(block: (Edge, Cart) -> Unit) {
        Edge.openInMemory(config).use { edge ->
            edge.upsertProduct(Product("MILK-1L", "Milk 1 l", Money(119, "EUR"), "reduced"))
            edge.newCart().use { cart -> block(edge, cart) }
        }
    }

    @Test
    fun `unknown SKU`() = withCart { _, cart ->
        val e = assertThrows<AisleException.UnknownSku> { cart.add("A-1", 1) }
        assertCode("UNKNOWN_SKU", e)
        assertEquals("UNKNOWN_SKU: no product with SKU \"A-1\" in catalog", e.message)
        // Catchable as the sealed base class too.
        val base: AisleException = assertThrows<AisleException> { cart.setQuantity("A-1", 2) }
        assertCode("UNKNOWN_SKU", base)
        assertTrue(cart.lines().isEmpty())
    }

    @Test
    fun `invalid quantity`() = withCart { _, cart ->
        val negative = assertThrows<AisleException.InvalidQuantity> { cart.add("MILK-1L", -1) }
        assertCode("INVALID_QUANTITY", negative)
        assertTrue(negative.message!!.contains("quantity -1 for SKU \"MILK-1L\""), negative.message)
        assertCode("INVALID_QUANTITY", assertThrows<AisleException.InvalidQuantity> { cart.add("MILK-1L", 0) })
        assertCode("INVALID_QUANTITY", assertThrows<AisleException.InvalidQuantity> { cart.setQuantity("MILK-1L", -5) })
        assertCode("INVALID_QUANTITY", assertThrows<AisleException.InvalidQuantity> { cart.add("MILK-1L", 1_000_001) })
    }

    @Test
    fun `currency mismatch`() {
        val e = assertThrows<AisleException.CurrencyMismatch> { Money(1, "EUR") + Money(1, "USD") }
        assertCode("CURRENCY_MISMATCH", e)
        assertEquals("CURRENCY_MISMATCH: expected EUR, got USD", e.message)
        withCart { edge, cart ->
            edge.upsertProduct(Product("SODA-US", "Soda", Money(199, "USD"), "standard"))
            assertCode("CURRENCY_MISMATCH", assertThrows<AisleException.CurrencyMismatch> { cart.add("SODA-US", 1) })
        }
    }

    @Test
    fun `bad values`() {
        assertCode("UNKNOWN_CURRENCY", assertThrows<AisleException.UnknownCurrency> { Money.parse("1", "eur") })
        assertCode("UNKNOWN_CURRENCY", assertThrows<AisleException.UnknownCurrency> { Money(1, "XYZ") + Money(1, "XYZ") })
        assertCode("UNKNOWN_CURRENCY", assertThrows<AisleException.UnknownCurrency> { Edge.openInMemory(config.copy(currency = "EURO")) })
        assertCode("INVALID_AMOUNT", assertThrows<AisleException.InvalidAmount> { Money.parse("1.234", "EUR") })
        assertCode("INVALID_AMOUNT", assertThrows<AisleException.InvalidAmount> { Money.parse("1,00", "EUR") })
        assertCode("MONEY_OVERFLOW", assertThrows<AisleException.MoneyOverflow> { Money.parse("92233720368547758.08", "EUR") })
        assertCode("INVALID_ARGUMENT", assertThrows<AisleException.InvalidArgument> { Edge.openInMemory(config.copy(storeId = "")) })
    }

    @Test
    fun `catalog and cart errors`() = withCart { edge, cart ->
        assertCode("UNKNOWN_SKU", assertThrows<AisleException.UnknownSku> { edge.product("NOPE") })
        assertCode("INVALID_PRODUCT", assertThrows<AisleException.InvalidProduct> {
            edge.upsertProduct(Product("BAD SKU", "x", Money(1, "EUR"), "standard"))
        })
        assertCode("INVALID_PRODUCT", assertThrows<AisleException.InvalidProduct> {
            edge.upsertProduct(Product("NEG", "Negative", Money(-1, "EUR"), "standard"))
        })
        // upsertProducts is all or none.
        assertThrows<AisleException.InvalidProduct> {
            edge.upsertProducts(listOf(Product("OK-1", "Fine", Money(1, "EUR"), "standard"), Product("", "x", Money(1, "EUR"), "s")))
        }
        assertEquals(null, edge.findProduct("OK-1"))
        assertEquals(1L, edge.productCount())
        assertCode("CART_NOT_FOUND", assertThrows<AisleException.CartNotFound> { edge.cart("no-such-cart") })
        assertCode("CART_LINE_NOT_FOUND", assertThrows<AisleException.CartLineNotFound> { cart.remove("MILK-1L") })
    }

    @Test
    fun `a file that is not a database`() {
        val path = dir.resolve("notes.txt")
        Files.writeString(path, "shopping list: milk, bread, and definitely not a SQLite header\n".repeat(200))
        val e = assertThrows<AisleException.StoreNotADatabase> { Edge.open(path.toString(), config) }
        assertCode("STORE_NOT_A_DATABASE", e)
        assertTrue(e.message!!.contains(path.toString()), e.message)
    }

    @Test
    fun `a file that cannot be created`() {
        val path = dir.resolve("missing-dir").resolve("store.db").toString()
        val e = assertThrows<AisleException> { Edge.open(path, config) }
        assertTrue(e.code.startsWith("STORE_"), "${e.code}: ${e.message}")
        assertTrue(e.message!!.startsWith("${e.code}: "), e.message)
    }

    @Test
    fun `every code of the core has its own exception class`() {
        // One subclass per code, named after it (UnknownSku ↔ UNKNOWN_SKU; Store ↔ STORE_ERROR):
        // the sealed hierarchy covers exactly the core's codes.
        val subclasses = AisleException::class.java.declaredClasses
            .filter { AisleException::class.java.isAssignableFrom(it) && it != AisleException.Other::class.java }
        val codes = subclasses.map { cls ->
            val snake = cls.simpleName
                .replace(Regex("([a-z0-9])([A-Z])"), "$1_$2")
                .replace(Regex("([A-Z])([A-Z][a-z])"), "$1_$2") // StoreNotADatabase → STORE_NOT_A_DATABASE
                .uppercase()
            if (snake == "STORE") "STORE_ERROR" else snake
        }
        assertEquals(errorCodes().sorted(), codes.sorted())
        assertEquals(codes.size, codes.toSet().size)
        // A code newer than this binding still has its code.
        assertEquals("SOME_NEW_CODE", AisleException.Other("SOME_NEW_CODE: details").code)
    }

    @Test
    fun `every code has a family`() {
        for (code in errorCodes()) {
            assertTrue(errorKind(code) != null, code)
        }
        assertEquals(null, errorKind("SOME_NEW_CODE"))
        assertEquals(ErrorKind.VALUE, AisleException.CurrencyMismatch("CURRENCY_MISMATCH: x").kind)
        withCart { _, cart ->
            assertEquals(ErrorKind.COMMERCE, assertThrows<AisleException> { cart.add("A-1", 1) }.kind)
        }
        val notADatabase = dir.resolve("x.db").also { Files.writeString(it, "x".repeat(4096)) }
        assertEquals(ErrorKind.STORE, assertThrows<AisleException> { Edge.open(notADatabase.toString(), config) }.kind)
    }
}
