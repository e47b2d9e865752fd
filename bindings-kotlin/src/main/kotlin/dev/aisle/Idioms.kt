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
    get() = when (this) {
        is AisleException.UnknownCurrency -> "UNKNOWN_CURRENCY"
        is AisleException.CurrencyMismatch -> "CURRENCY_MISMATCH"
        is AisleException.MoneyOverflow -> "MONEY_OVERFLOW"
        is AisleException.InvalidAmount -> "INVALID_AMOUNT"
        is AisleException.InvalidArgument -> "INVALID_ARGUMENT"
        is AisleException.UnknownSku -> "UNKNOWN_SKU"
        is AisleException.InvalidProduct -> "INVALID_PRODUCT"
        is AisleException.InvalidQuantity -> "INVALID_QUANTITY"
        is AisleException.CartNotFound -> "CART_NOT_FOUND"
        is AisleException.CartLineNotFound -> "CART_LINE_NOT_FOUND"
        is AisleException.StoreNotADatabase -> "STORE_NOT_A_DATABASE"
        is AisleException.StoreCorrupt -> "STORE_CORRUPT"
        is AisleException.StoreSchemaTooNew -> "STORE_SCHEMA_TOO_NEW"
        is AisleException.StoreIdentityMismatch -> "STORE_IDENTITY_MISMATCH"
        is AisleException.StoreClosed -> "STORE_CLOSED"
        is AisleException.StoreIo -> "STORE_IO"
        is AisleException.Store -> "STORE_ERROR"
        // A code newer than this binding: the core's message always starts with "CODE: ".
        is AisleException.Other -> message.orEmpty().substringBefore(':')
    }

/**
 * The family of this error ([ErrorKind.VALUE], [ErrorKind.COMMERCE], [ErrorKind.STORE]), from
 * the core's table; `null` only for a code the core does not know.
 */
val AisleException.kind: ErrorKind?
    get() = errorKind(code)
