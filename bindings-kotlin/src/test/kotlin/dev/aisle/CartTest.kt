package dev.aisle

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

class CartTest {
    @TempDir
    lateinit var dir: Path

    private val config = EdgeConfig(storeId = "store-042", deviceId = "register-1", currency = "EUR")

    private fun eur(amount: String) = Money.parse(amount, "EUR")

    private val milk = Product("MILK-1L", "Milk 1 l", Money(119, "EUR"), "reduced")
    private val bread = Product("BREAD-500G", "Sourdough bread 500 g", Money(249, "EUR"), "reduced")
    private val wine = Product("WINE-RED", "Red wine 0.75 l", Money(890, "EUR"), "standard")

    @Test
    fun `a cart prices its lines exactly from the catalog`() {
        Edge.open(dir.resolve("store.db").toString(), config).use { edge ->
            edge.upsertProducts(listOf(milk, bread))
            edge.upsertProduct(wine)
            assertEquals(3L, edge.productCount())
            assertEquals(listOf("BREAD-500G", "MILK-1L", "WINE-RED"), edge.products().map { it.sku })
            assertEquals(milk, edge.product("MILK-1L"))
            assertEquals(milk, edge.findProduct("MILK-1L"))
            assertNull(edge.findProduct("NOPE"))
            edge.newCart().use { cart ->
                assertEquals("register-1-cart-1", cart.id())
                assertEquals("EUR", cart.currency())
                cart.add("MILK-1L", 3)
                cart.add("BREAD-500G", 2)

                val lines = cart.lines()
                assertEquals(
                    listOf(
                        CartLine("MILK-1L", "Milk 1 l", 3, Money(119, "EUR"), Money(357, "EUR"), "reduced"),
                        CartLine("BREAD-500G", "Sourdough bread 500 g", 2, Money(249, "EUR"), Money(498, "EUR"), "reduced"),
                    ),
                    lines,
                )
                // 3 × 1.19 + 2 × 2.49 = 8.55; the brief's 3 × 1.19 + 2.49 = 6.06 below.
                assertEquals(Money(855, "EUR"), cart.subtotal())
                assertEquals(5L, cart.itemCount())

                cart.setQuantity("BREAD-500G", 1)
                val subtotal = cart.subtotal()
                assertEquals(606L, subtotal.minor)
                assertEquals(Money(606, "EUR"), subtotal)
                assertEquals(eur("6.06"), subtotal)
                assertEquals("6.06 EUR", subtotal.toString())
                assertEquals("6.06", subtotal.toDecimalString())

                // Adding more of a SKU grows its line; order stays the order of first add.
                cart.add("WINE-RED", 1)
                cart.add("MILK-1L", 1)
                assertEquals(listOf("MILK-1L" to 4L, "BREAD-500G" to 1L, "WINE-RED" to 1L), cart.lines().map { it.sku to it.quantity })

                cart.remove("WINE-RED")
                cart.setQuantity("MILK-1L", 0) // 0 removes the line
                assertEquals(listOf("BREAD-500G"), cart.lines().map { it.sku })

                cart.clear()
                assertTrue(cart.lines().isEmpty())
                assertEquals(Money(0, "EUR"), cart.subtotal())
                assertEquals(0L, cart.itemCount())
            }
        }
    }

    @Test
    fun `a cart survives closing and reopening the store`() {
        val path = dir.resolve("register.db").toString()
        val cartId = Edge.open(path, config).use { edge ->
            edge.upsertProducts(listOf(milk, bread, wine))
            edge.newCart().close()
            edge.newCart().use { cart ->
                cart.add("MILK-1L", 3)
                cart.add("BREAD-500G", 1)
                cart.id()
            }
        }

        Edge.open(path, config).use { edge ->
            assertEquals(config, edge.config())
            assertEquals(path, edge.path())
            assertTrue(edge.schemaVersion() >= 1)
            assertEquals(listOf("register-1-cart-1", cartId), edge.cartIds())
            edge.cart(cartId).use { cart ->
                assertEquals(listOf("MILK-1L" to 3L, "BREAD-500G" to 1L), cart.lines().map { it.sku to it.quantity })
                assertEquals(Money(606, "EUR"), cart.subtotal())
            }
            val stats = edge.stats()
            assertEquals(3L, stats.products)
            assertEquals(2L, stats.carts)
            assertEquals(2L, stats.cartLines)
            assertTrue(stats.bytes > 0, "bytes = ${stats.bytes}")
            // Cart numbering goes on after a restart.
            edge.newCart().use { assertEquals("register-1-cart-3", it.id()) }
        }
    }

    @Test
    fun `prices are read from the catalog when the cart is read`() {
        Edge.openInMemory(config).use { edge ->
            assertEquals(":memory:", edge.path())
            edge.upsertProduct(milk)
            val cart = edge.newCart()
            cart.add("MILK-1L", 2)
            edge.upsertProduct(milk.copy(price = eur("1.29")))
            assertEquals(eur("2.58"), cart.subtotal())
            cart.close()
        }
    }

    @Test
    fun `one store can be used from several threads`() {
        Edge.open(dir.resolve("threads.db").toString(), config).use { edge ->
            edge.upsertProducts(listOf(milk, bread))
            val carts = (1..4).map { edge.newCart() }
            val threads = carts.map { cart ->
                Thread {
                    repeat(25) { cart.add("MILK-1L", 1) }
                    cart.add("BREAD-500G", 1)
                }
            }
            threads.forEach { it.start() }
            threads.forEach { it.join() }
            for (cart in carts) {
                assertEquals(Money(25 * 119 + 249, "EUR"), cart.subtotal())
                cart.close()
            }
            assertEquals(8L, edge.stats().cartLines)
        }
    }

    @Test
    fun `a closed handle refuses further calls`() {
        val edge = Edge.openInMemory(config)
        edge.close()
        edge.close() // closing twice is fine
        assertThrows<IllegalStateException> { edge.cartIds() }
    }

    @Test
    fun `closing the store closes it for its carts too`() {
        val path = dir.resolve("closing.db").toString()
        val cart = Edge.open(path, config).use { edge ->
            edge.upsertProduct(milk)
            edge.newCart().also { it.add("MILK-1L", 2) }
        }
        val cartId = cart.id() // the handle works; the store behind it is closed
        cart.use {
            val e = assertThrows<AisleException.StoreClosed> { it.add("MILK-1L", 1) }
            assertEquals("STORE_CLOSED", e.code)
            assertEquals(ErrorKind.STORE, e.kind)
            assertTrue(e.message!!.startsWith("STORE_CLOSED: "), e.message)
            assertThrows<AisleException.StoreClosed> { it.subtotal() }
        }
        // Reopening gives the cart back as it was.
        Edge.open(path, config).use { edge ->
            edge.cart(cartId).use { assertEquals(Money(238, "EUR"), it.subtotal()) }
        }
    }

    @Test
    fun `a store remembers who opened it`() {
        val path = dir.resolve("identity.db").toString()
        Edge.open(path, config).close()
        val e = assertThrows<AisleException.StoreIdentityMismatch> {
            Edge.open(path, config.copy(deviceId = "register-2"))
        }
        assertEquals("STORE_IDENTITY_MISMATCH", e.code)
        assertTrue(e.message!!.contains("\"register-2\""), e.message)
    }
}
