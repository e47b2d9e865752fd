import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { Edge, Money } from '@aisle/core'
import { assertThrowsCode, config } from './helpers.mjs'

const eur = (minor) => new Money(minor, 'EUR')
const strings = (parts) => parts.map(String)

describe('Money', () => {
  test('is built from minor units or parsed exactly', () => {
    const m = new Money(1234, 'EUR')
    assert.equal(m.minor, 1234)
    assert.equal(m.currency, 'EUR')
    assert.equal(m.toString(), '12.34 EUR')
    assert.equal(`${m}`, '12.34 EUR')
    assert.equal(m.toDecimalString(), '12.34')
    assert.ok(Money.parse('12.34', 'EUR').equals(m))
    assert.equal(Money.parse('-0.5', 'EUR').minor, -50)
    assert.equal(Money.parse('1000', 'JPY').toString(), '1000 JPY')
    assert.equal(Money.parse('1.234', 'KWD').minor, 1234)
    assert.ok(m instanceof Money)
  })

  test('parse refuses what it cannot represent', () => {
    for (const bad of ['', '1.234', '1,00', '1e3', 'abc']) assertThrowsCode(() => Money.parse(bad, 'EUR'), 'INVALID_AMOUNT')
    assertThrowsCode(() => Money.parse('1.5', 'JPY'), 'INVALID_AMOUNT')
    assertThrowsCode(() => Money.parse('92233720368547758.08', 'EUR'), 'MONEY_OVERFLOW')
    assertThrowsCode(() => Money.parse('1', 'eur'), 'UNKNOWN_CURRENCY')
    assertThrowsCode(() => new Money(1, 'XYZ'), 'UNKNOWN_CURRENCY')
  })

  test('minor units must be safe integers as numbers; bigint reaches 64 bits', () => {
    for (const bad of [1.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 60)]) {
      assertThrowsCode(() => new Money(bad, 'EUR'), 'INVALID_AMOUNT')
    }
    assert.equal(new Money(Number.MAX_SAFE_INTEGER, 'EUR').minor, Number.MAX_SAFE_INTEGER)
    assert.equal(new Money(-Number.MAX_SAFE_INTEGER, 'EUR').minor, -Number.MAX_SAFE_INTEGER)

    const max = new Money(2n ** 63n - 1n, 'EUR')
    assert.equal(max.minorBigInt, 9223372036854775807n)
    assert.equal(max.toString(), '92233720368547758.07 EUR')
    assert.equal(new Money(-(2n ** 63n), 'EUR').minorBigInt, -(2n ** 63n))
    assertThrowsCode(() => new Money(2n ** 63n, 'EUR'), 'MONEY_OVERFLOW')
    assertThrowsCode(() => new Money(-(2n ** 63n) - 1n, 'EUR'), 'MONEY_OVERFLOW')
    assertThrowsCode(() => new Money(2n ** 100n, 'EUR'), 'MONEY_OVERFLOW')
    // Reading an amount beyond 2^53 as a number would be inexact: it throws instead.
    assertThrowsCode(() => max.minor, 'INVALID_ARGUMENT')
    assert.equal(new Money(0n, 'EUR').minor, 0)
  })

  test('arithmetic is exact and checked', () => {
    assert.equal(eur(100).add(eur(23)).minor, 123)
    assert.equal(eur(100).sub(eur(123)).toString(), '-0.23 EUR')
    assert.equal(Money.parse('1.19', 'EUR').mul(3).toString(), '3.57 EUR')
    assert.equal(eur(5).neg().minor, -5)
    assertThrowsCode(() => new Money(2n ** 63n - 1n, 'EUR').add(eur(1)), 'MONEY_OVERFLOW')
    assertThrowsCode(() => new Money(-(2n ** 63n), 'EUR').neg(), 'MONEY_OVERFLOW')
    assertThrowsCode(() => eur(1).mul(1.5), 'INVALID_ARGUMENT')
  })

  test('currencies never mix', () => {
    const err = assertThrowsCode(() => eur(1).add(new Money(1, 'USD')), 'CURRENCY_MISMATCH')
    assert.equal(err.message, 'CURRENCY_MISMATCH: expected EUR, got USD')
    assertThrowsCode(() => eur(1).sub(new Money(1, 'USD')), 'CURRENCY_MISMATCH')
    assert.equal(eur(1).equals(new Money(1, 'USD')), false)
  })

  test('mulDiv rounds as asked', () => {
    // 15% of 0.99 = 0.1485
    assert.equal(eur(99).mulDiv(15, 100, 'half_even').minor, 15)
    assert.equal(eur(99).mulDiv(15, 100, 'down').minor, 14)
    // 0.125 → half-even 0.12, half-up 0.13, half-down 0.12, up 0.13, down 0.12
    const half = { half_even: 12, half_up: 13, half_down: 12, up: 13, down: 12 }
    for (const [mode, want] of Object.entries(half)) assert.equal(eur(25).mulDiv(1, 2, mode).minor, want, mode)
    // Negative amounts round symmetrically: a refund rounds like the sale.
    const neg = { half_even: -12, half_up: -13, half_down: -12, up: -13, down: -12 }
    for (const [mode, want] of Object.entries(neg)) assert.equal(eur(-25).mulDiv(1, 2, mode).minor, want, mode)
    assertThrowsCode(() => eur(1).mulDiv(1, 0, 'up'), 'INVALID_ARGUMENT')
    assertThrowsCode(() => eur(1).mulDiv(1, 2, 'bankers'), 'INVALID_ARGUMENT')
    assertThrowsCode(() => eur(1).mulDiv(0.5, 2, 'up'), 'INVALID_ARGUMENT')
    assertThrowsCode(() => new Money(2n ** 62n, 'EUR').mulDiv(4, 1, 'up'), 'MONEY_OVERFLOW')
  })

  test('roundToIncrement does cash rounding', () => {
    const chf = (minor) => new Money(minor, 'CHF')
    assert.equal(chf(1232).roundToIncrement(5, 'half_up').toString(), '12.30 CHF')
    assert.equal(chf(1233).roundToIncrement(5, 'half_up').toString(), '12.35 CHF')
    assert.equal(chf(-1233).roundToIncrement(5, 'half_up').minor, -1235)
    assert.equal(chf(1249).roundToIncrement(100, 'half_even').minor, 1200)
    assert.equal(chf(1201).roundToIncrement(100, 'up').minor, 1300)
    assertThrowsCode(() => chf(1).roundToIncrement(0, 'up'), 'INVALID_ARGUMENT')
    assertThrowsCode(() => chf(1).roundToIncrement(-5, 'up'), 'INVALID_ARGUMENT')
  })

  test('allocate splits by largest remainder and always sums to the whole', () => {
    assert.deepEqual(eur(4).allocate([1, 1, 1]).map((m) => m.minor), [1, 1, 2])
    assert.deepEqual(eur(-4).allocate([1, 1, 1]).map((m) => m.minor), [-1, -1, -2])
    assert.deepEqual(strings(eur(1000).allocate([3, 7])), ['3.00 EUR', '7.00 EUR'])
    assert.deepEqual(eur(100).allocate([70, 30, 0]).map((m) => m.minor), [70, 30, 0])
    const parts = eur(1001).allocate([1, 2, 3, 4])
    assert.equal(parts.reduce((a, b) => a.add(b)).minor, 1001)
    assertThrowsCode(() => eur(1).allocate([]), 'INVALID_ARGUMENT')
    assertThrowsCode(() => eur(1).allocate([0, 0]), 'INVALID_ARGUMENT')
    assertThrowsCode(() => eur(1).allocate([1, -1]), 'INVALID_ARGUMENT')
    assertThrowsCode(() => eur(1).allocate([1, 0.5]), 'INVALID_ARGUMENT')
  })

  test('a value that is not a Money is refused, never misread', () => {
    const edge = Edge.openInMemory(config)
    const cart = edge.newCart()
    for (const notMoney of [{}, { minor: 1, currency: 'EUR' }, cart, edge, Object.create(Money.prototype)]) {
      assert.throws(() => eur(1).add(notMoney), (err) => err instanceof Error && typeof err.code === 'string')
    }
    assert.throws(() => edge.upsertProduct({ sku: 'A', name: 'a', price: 1.19, taxCategory: 'standard' }), Error)
  })
})
