package dev.aisle

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

class MoneyTest {
    private fun eur(minor: Long) = Money(minor, "EUR")

    @Test
    fun `parse is exact and display uses the currency's exponent`() {
        assertEquals(eur(1234), Money.parse("12.34", "EUR"))
        assertEquals(eur(-50), parseMoney("-0.5", "EUR"))
        assertEquals(Money(1000, "JPY"), Money.parse("1000", "JPY"))
        assertEquals(Money(1234, "KWD"), Money.parse("1.234", "KWD"))
        assertEquals("-12.05 EUR", eur(-1205).toString())
        assertEquals("0.05 EUR", eur(5).toString())
        assertEquals("500 JPY", Money(500, "JPY").toString())
        assertEquals("-12.05", eur(-1205).toDecimalString())
        // toString never throws, even for a currency the core does not know.
        assertEquals("Money(minor=5, currency=XYZ)", Money(5, "XYZ").toString())
    }

    @Test
    fun `arithmetic is checked and has operators`() {
        assertEquals(eur(123), eur(100).add(eur(23)))
        assertEquals(eur(123), eur(100) + eur(23))
        assertEquals(eur(77), eur(100) - eur(23))
        assertEquals(eur(357), eur(119) * 3)
        assertEquals(eur(357), 3L * eur(119))
        assertEquals(eur(606), eur(119) * 3 + eur(249))
        assertEquals(eur(-1), eur(1).sub(eur(2)))
        assertEquals(eur(-119), -eur(119))
        assertEquals(eur(119), eur(-119).neg())
        assertThrows<AisleException.MoneyOverflow> { -eur(Long.MIN_VALUE) }
        val overflow = assertThrows<AisleException.MoneyOverflow> { eur(Long.MAX_VALUE) + eur(1) }
        assertEquals("MONEY_OVERFLOW", overflow.code)
        assertThrows<AisleException.MoneyOverflow> { eur(Long.MAX_VALUE / 2 + 1) * 2 }
    }

    @Test
    fun `mulDiv rounds as asked`() {
        // 15 % of 0.99 = 0.1485
        assertEquals(eur(15), eur(99).mulDiv(15, 100, RoundingMode.HALF_EVEN))
        assertEquals(eur(14), eur(99).mulDiv(15, 100, RoundingMode.DOWN))
        // 0.25 / 2 = 0.125
        val expected = mapOf(
            RoundingMode.HALF_EVEN to 12L,
            RoundingMode.HALF_UP to 13L,
            RoundingMode.HALF_DOWN to 12L,
            RoundingMode.UP to 13L,
            RoundingMode.DOWN to 12L,
        )
        assertEquals(RoundingMode.entries.toSet(), expected.keys)
        for ((mode, minor) in expected) {
            assertEquals(eur(minor), eur(25).mulDiv(1, 2, mode), "$mode")
            // Refunds round like the sale they reverse.
            assertEquals(eur(-minor), eur(-25).mulDiv(1, 2, mode), "-$mode")
        }
        val e = assertThrows<AisleException.InvalidArgument> { eur(1).mulDiv(1, 0, RoundingMode.UP) }
        assertEquals("INVALID_ARGUMENT", e.code)
    }

    @Test
    fun `cash rounding to an increment`() {
        val chf = { minor: Long -> Money(minor, "CHF") }
        assertEquals(chf(1230), chf(1232).roundToIncrement(5, RoundingMode.HALF_UP))
        assertEquals(chf(1235), chf(1233).roundToIncrement(5, RoundingMode.HALF_UP))
        assertEquals(chf(-1235), chf(-1233).roundToIncrement(5, RoundingMode.HALF_UP))
        assertEquals(chf(1200), chf(1249).roundToIncrement(100, RoundingMode.HALF_EVEN))
        assertEquals(chf(1300), chf(1201).roundToIncrement(100, RoundingMode.UP))
        assertThrows<AisleException.InvalidArgument> { chf(1).roundToIncrement(0, RoundingMode.UP) }
    }

    @Test
    fun `allocate splits by largest remainder and always sums to the whole`() {
        assertEquals(listOf(eur(1), eur(1), eur(2)), eur(4).allocate(listOf(1L, 1L, 1L)))
        assertEquals(listOf(eur(1), eur(1), eur(2)), eur(4).allocate(1, 1, 1))
        assertEquals(listOf(eur(-1), eur(-1), eur(-2)), eur(-4).allocate(1, 1, 1))
        assertEquals(listOf(eur(300), eur(700)), eur(1000).allocate(3, 7))
        assertEquals(listOf(eur(70), eur(30), eur(0)), eur(100).allocate(70, 30, 0))
        val parts = eur(1001).allocate(1, 2, 3, 4, 5, 6, 7)
        assertEquals(eur(1001), parts.reduce { a, b -> a + b })

        assertEquals("INVALID_ARGUMENT", assertThrows<AisleException.InvalidArgument> { eur(1).allocate(listOf()) }.code)
        assertThrows<AisleException.InvalidArgument> { eur(1).allocate(0, 0) }
        val negative = assertThrows<AisleException.InvalidArgument> { eur(1).allocate(1, -1) }
        assertEquals("INVALID_ARGUMENT: allocation weights must not be negative, got -1", negative.message)
    }

    @Test
    fun `the examples in docs-kotlin_md hold`() {
        val total = Money.parse("1.19", "EUR") * 3 + Money(249, "EUR")
        assertEquals("6.06 EUR", total.toString())
        assertEquals("-6.06 EUR", (-total).toString())
        assertEquals("0.97 EUR", total.mulDiv(19, 119, RoundingMode.HALF_EVEN).toString())
        assertEquals("12.35 CHF", Money(1233, "CHF").roundToIncrement(5, RoundingMode.HALF_UP).toString())
        assertEquals(listOf("0.01", "0.01", "0.02"), Money(4, "EUR").allocate(1, 1, 1).map { it.toDecimalString() })
    }
}
