// Hand-written Kotlin idioms over the generated `dev.aisle` API (target/generated-sources/uniffi).
//
// Sugar only: every function here forwards to one generated call. Rules belong in the Rust core.

package dev.aisle

/** `a + b`: [Money.add]. Throws [AisleException.CurrencyMismatch] across currencies. */
operator fun Money.plus(other: Money): Money = add(other)

/** `a - b`: [Money.sub]. Throws [AisleException.CurrencyMismatch] across currencies. */
operator fun Money.minus(other: Money): Money = sub(other)

/** `-a`: [Money.neg]. */
operator fun Money.unaryMinus(): Money = neg()

/** `price * quantity`: [Money.mul]. */
operator fun Money.times(factor: Long): Money = mul(factor)

/** `price * quantity`: [Money.mul]. */
operator fun Money.times(factor: Int): Money = mul(factor.toLong())

/** `quantity * price`: [Money.mul]. */
operator fun Long.times(money: Money): Money = money.mul(this)

/** `quantity * price`: [Money.mul]. */
operator fun Int.times(money: Money): Money = money.mul(this.toLong())

/** `Money.parse("1.19", "EUR")`: [parseMoney], exact, never rounding. */
fun Money.Companion.parse(input: String, currency: String): Money = parseMoney(input, currency)

/** [Money.allocate] with `vararg` weights: `amount.allocate(1, 1, 1)`. */
fun Money.allocate(vararg weights: Long): List<Money> = allocate(weights.toList())

/**
 * The stable machine-readable code of this error, e.g. `"UNKNOWN_SKU"`; [Throwable.message]
 * is the full text and starts with it. Codes are the same in every Aisle binding
 * ([errorCodes] lists them).
 */
val AisleException.code: String
    // The core's message always starts with "CODE: " (every binding relies on it).
    get() = message.orEmpty().substringBefore(':')

/**
 * The family of this error ([ErrorKind.VALUE], [ErrorKind.COMMERCE], [ErrorKind.STORE]), from
 * the core's table; `null` only for a code the core does not know.
 */
val AisleException.kind: ErrorKind?
    get() = errorKind(code)
