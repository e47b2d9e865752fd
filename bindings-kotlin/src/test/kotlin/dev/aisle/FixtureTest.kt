package dev.aisle

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.io.File

/**
 * Reads a store file written by the Rust core (`examples/write_fixture.rs`): the proof that
 * Kotlin reads the same file format the native core writes. scripts/test-kotlin.sh writes the
 * file and passes its path as `AISLE_FIXTURE` (or `-Daisle.fixture=`). Missing is a failure,
 * never a skip.
 */
class FixtureTest {
    private fun fixturePath(): String {
        val path = System.getProperty("aisle.fixture")?.takeIf { it.isNotBlank() }
            ?: System.getenv("AISLE_FIXTURE")?.takeIf { it.isNotBlank() }
            ?: fail("no fixture: set AISLE_FIXTURE (scripts/test-kotlin.sh does) to a store written by write_fixture")
        assertTrue(File(path).isFile, "fixture $path does not exist")
        return path
    }

    @Test
    fun `reads the cart the Rust core wrote`() {
        val path = fixturePath()
        Edge.open(path, EdgeConfig("fixture-store", "rust-writer", "EUR")).use { edge ->
            assertEquals(listOf("BREAD-500G", "MILK-1L", "WINE-RED"), edge.products().map { it.sku })
            assertEquals(Product("WINE-RED", "Red wine 0.75 l", Money(890, "EUR"), "standard"), edge.product("WINE-RED"))
            assertEquals(listOf("rust-writer-cart-1"), edge.cartIds())
            edge.cart("rust-writer-cart-1").use { cart ->
                assertEquals(
                    listOf(
                        CartLine("MILK-1L", "Milk 1 l", 3, Money(119, "EUR"), Money(357, "EUR"), "reduced"),
                        CartLine("BREAD-500G", "Sourdough bread 500 g", 1, Money(249, "EUR"), Money(249, "EUR"), "reduced"),
                    ),
                    cart.lines(),
                )
                assertEquals(Money(606, "EUR"), cart.subtotal())
                assertEquals("6.06 EUR", cart.subtotal().toString())
                assertEquals(4L, cart.itemCount())
            }
        }
    }

    @Test
    fun `refuses to open the Rust store as another device`() {
        val e = assertThrows<AisleException.StoreIdentityMismatch> {
            Edge.open(fixturePath(), EdgeConfig("fixture-store", "kotlin-reader", "EUR"))
        }
        assertEquals("STORE_IDENTITY_MISMATCH", e.code)
    }
}
