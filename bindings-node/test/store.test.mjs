import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { Edge, Money, errorCodes, errorKind } from '@aisle/core'
import { assertThrowsCode, config, tempDir } from './helpers.mjs'

const require = createRequire(import.meta.url)
const eur = (amount) => Money.parse(amount, 'EUR')

const catalog = [
  { sku: 'MILK-1L', name: 'Milk 1 l', price: eur('1.19'), taxCategory: 'reduced' },
  { sku: 'BREAD-500G', name: 'Sourdough bread 500 g', price: eur('2.49'), taxCategory: 'reduced' },
  { sku: 'WINE-RED', name: 'Red wine 0.75 l', price: eur('8.90'), taxCategory: 'standard' },
]

function openStore(t) {
  const path = join(tempDir(t), 'store.db')
  const edge = Edge.open(path, config)
  edge.upsertProducts(catalog)
  return { edge, path }
}

describe('Edge and catalog', () => {
  test('opens a store file and keeps its identity', (t) => {
    const { edge, path } = openStore(t)
    assert.equal(edge.path, path)
    assert.deepEqual(edge.config, config)
    assert.equal(edge.productCount(), 3)
    assert.deepEqual(edge.stats(), { products: 3, carts: 0, cartLines: 0, bytes: edge.stats().bytes })
    assert.ok(edge.stats().bytes > 0)
    assertThrowsCode(() => Edge.open(path, { ...config, deviceId: 'register-2' }), 'STORE_IDENTITY_MISMATCH')
    assertThrowsCode(() => Edge.open(path, { ...config, currency: 'USD' }), 'STORE_IDENTITY_MISMATCH')
  })

  test('validates the config in the core', () => {
    assertThrowsCode(() => Edge.openInMemory({ ...config, storeId: '' }), 'INVALID_ARGUMENT')
    assertThrowsCode(() => Edge.openInMemory({ ...config, deviceId: 'has space' }), 'INVALID_ARGUMENT')
    assertThrowsCode(() => Edge.openInMemory({ ...config, currency: 'EURO' }), 'UNKNOWN_CURRENCY')
    assert.equal(Edge.openInMemory(config).path, ':memory:')
  })

  test('upserts, gets, finds and lists products', (t) => {
    const { edge } = openStore(t)
    const milk = edge.product('MILK-1L')
    assert.equal(milk.name, 'Milk 1 l')
    assert.equal(milk.taxCategory, 'reduced')
    assert.ok(milk.price instanceof Money)
    assert.equal(milk.price.toString(), '1.19 EUR')
    assert.deepEqual(edge.products().map((p) => p.sku), ['BREAD-500G', 'MILK-1L', 'WINE-RED'])
    assert.equal(edge.findProduct('NOPE'), null)
    assert.equal(edge.findProduct('WINE-RED').price.minor, 890)

    edge.upsertProduct({ ...milk, price: eur('1.29') })
    assert.equal(edge.product('MILK-1L').price.minor, 129)
    assert.equal(edge.productCount(), 3)

    assertThrowsCode(() => edge.product('NOPE'), 'UNKNOWN_SKU')
    assertThrowsCode(() => edge.upsertProduct({ ...milk, name: ' ' }), 'INVALID_PRODUCT')
    assertThrowsCode(() => edge.upsertProduct({ ...milk, sku: 'HAS SPACE' }), 'INVALID_PRODUCT')
    assertThrowsCode(() => edge.upsertProduct({ ...milk, price: eur('-1') }), 'INVALID_PRODUCT')
    // upsertProducts is all or none.
    assertThrowsCode(
      () => edge.upsertProducts([{ ...milk, sku: 'NEW-1' }, { ...milk, sku: '' }]),
      'INVALID_PRODUCT',
    )
    assert.equal(edge.findProduct('NEW-1'), null)
  })

  test('a file that is not a database is refused', (t) => {
    const path = join(tempDir(t), 'notes.txt')
    writeFileSync(path, 'these are my shopping notes, not a database\n'.repeat(200))
    const err = assertThrowsCode(() => Edge.open(path, config), 'STORE_NOT_A_DATABASE')
    assert.ok(err.message.includes(path), err.message)
  })

  test('Edge has no public constructor', () => {
    assert.throws(() => new Edge(), Error)
  })
})

describe('Cart', () => {
  test('adds lines and prices them exactly', (t) => {
    const { edge } = openStore(t)
    const cart = edge.newCart()
    assert.equal(cart.id, 'register-1-cart-1')
    assert.equal(cart.currency, 'EUR')
    cart.add('MILK-1L', 3)
    cart.add('BREAD-500G', 2)
    const lines = cart.lines()
    assert.deepEqual(
      lines.map((l) => [l.sku, l.name, l.quantity, l.unitPrice.toString(), l.lineTotal.toString(), l.taxCategory]),
      [
        ['MILK-1L', 'Milk 1 l', 3, '1.19 EUR', '3.57 EUR', 'reduced'],
        ['BREAD-500G', 'Sourdough bread 500 g', 2, '2.49 EUR', '4.98 EUR', 'reduced'],
      ],
    )
    assert.equal(cart.subtotal().toString(), '8.55 EUR')
    assert.equal(cart.itemCount(), 5)

    cart.setQuantity('BREAD-500G', 1)
    const subtotal = cart.subtotal()
    assert.equal(subtotal.minor, 606) // 3 × 1.19 + 2.49
    assert.equal(subtotal.toString(), '6.06 EUR')
    assert.ok(subtotal.equals(new Money(606, 'EUR')))

    cart.add('MILK-1L', 1) // more of an existing line keeps its place
    assert.deepEqual(cart.lines().map((l) => [l.sku, l.quantity]), [['MILK-1L', 4], ['BREAD-500G', 1]])
    cart.setQuantity('WINE-RED', 2) // setQuantity adds an absent line
    cart.setQuantity('MILK-1L', 0) // 0 removes the line
    assert.deepEqual(cart.lines().map((l) => l.sku), ['BREAD-500G', 'WINE-RED'])
    cart.remove('BREAD-500G')
    assert.deepEqual(cart.lines().map((l) => l.sku), ['WINE-RED'])
    assertThrowsCode(() => cart.remove('BREAD-500G'), 'CART_LINE_NOT_FOUND')
    cart.clear()
    assert.deepEqual(cart.lines(), [])
    assert.equal(cart.subtotal().toString(), '0.00 EUR')
    assert.deepEqual(edge.stats(), { ...edge.stats(), carts: 1, cartLines: 0 })
  })

  test('bad input raises the core error with its code', (t) => {
    const { edge } = openStore(t)
    const cart = edge.newCart()
    assertThrowsCode(() => cart.add('NOPE', 1), 'UNKNOWN_SKU')
    const negative = assertThrowsCode(() => cart.add('MILK-1L', -1), 'INVALID_QUANTITY')
    assert.ok(negative.message.includes('-1'), negative.message) // not wrapped to 4294967295
    assertThrowsCode(() => cart.add('MILK-1L', 0), 'INVALID_QUANTITY')
    assertThrowsCode(() => cart.add('MILK-1L', 1_000_001), 'INVALID_QUANTITY')
    assertThrowsCode(() => cart.setQuantity('MILK-1L', -1), 'INVALID_QUANTITY')
    // Not a whole number: refused, never truncated to 1.
    for (const q of [1.5, 0.5, NaN, Infinity, 2 ** 53]) {
      assertThrowsCode(() => cart.add('MILK-1L', q), 'INVALID_ARGUMENT')
      assertThrowsCode(() => cart.setQuantity('MILK-1L', q), 'INVALID_ARGUMENT')
    }
    assertThrowsCode(() => cart.add('', 1), 'INVALID_PRODUCT')
    assert.deepEqual(cart.lines(), [])
    // Wrong JS types are refused by napi before the core is called.
    assert.throws(() => cart.add('MILK-1L', '1'), Error)
    assert.throws(() => cart.add(42, 1), Error)
  })

  test('a product priced in another currency cannot join the cart', (t) => {
    const { edge } = openStore(t)
    edge.upsertProduct({ sku: 'IMPORT-1', name: 'Imported tea', price: Money.parse('3.00', 'USD'), taxCategory: 'standard' })
    const cart = edge.newCart()
    const err = assertThrowsCode(() => cart.add('IMPORT-1', 1), 'CURRENCY_MISMATCH')
    assert.equal(err.message, 'CURRENCY_MISMATCH: expected EUR, got USD')
    assertThrowsCode(() => cart.setQuantity('IMPORT-1', 2), 'CURRENCY_MISMATCH')
  })

  test('carts persist and reopen after the store is closed', (t) => {
    const dir = tempDir(t)
    const path = join(dir, 'persist.db')
    // A separate process opens the store, fills a cart and exits: the store is really closed.
    const script = `
      const { Edge, Money } = require(${JSON.stringify(require.resolve('@aisle/core'))})
      const edge = Edge.open(${JSON.stringify(path)}, ${JSON.stringify(config)})
      const eur = (a) => Money.parse(a, 'EUR')
      edge.upsertProducts([
        { sku: 'MILK-1L', name: 'Milk 1 l', price: eur('1.19'), taxCategory: 'reduced' },
        { sku: 'BREAD-500G', name: 'Sourdough bread 500 g', price: eur('2.49'), taxCategory: 'reduced' },
      ])
      const cart = edge.newCart()
      cart.add('MILK-1L', 3)
      cart.add('BREAD-500G', 1)
      edge.newCart().add('MILK-1L', 1)
      process.stdout.write(cart.id)
    `
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
    assert.equal(child.status, 0, child.stderr)
    const id = child.stdout

    const edge = Edge.open(path, config)
    assert.deepEqual(edge.cartIds(), ['register-1-cart-1', 'register-1-cart-2'])
    const cart = edge.cart(id)
    assert.deepEqual(cart.lines().map((l) => [l.sku, l.quantity]), [['MILK-1L', 3], ['BREAD-500G', 1]])
    assert.equal(cart.subtotal().minor, 606)
    // New carts continue the sequence; changes are visible to another handle on the file.
    assert.equal(edge.newCart().id, 'register-1-cart-3')
    cart.remove('MILK-1L')
    assert.equal(Edge.open(path, config).cart(id).subtotal().toString(), '2.49 EUR')
    assertThrowsCode(() => edge.cart('register-1-cart-99'), 'CART_NOT_FOUND')
  })

  test('close() releases the file; every handle then throws STORE_CLOSED', (t) => {
    const path = join(tempDir(t), 'close.db')
    const edge = Edge.open(path, config)
    edge.upsertProduct({ sku: 'MILK-1L', name: 'Milk 1 l', price: Money.parse('1.19', 'EUR'), taxCategory: 'reduced' })
    const cart = edge.newCart()
    cart.add('MILK-1L', 2)
    edge.close()
    assert.equal(edge.closed, true)
    assertThrowsCode(() => cart.add('MILK-1L', 1), 'STORE_CLOSED')
    assertThrowsCode(() => edge.products(), 'STORE_CLOSED')
    edge.close()
    assert.equal(existsSync(path + '-wal'), false)
    assert.equal(Edge.open(path, config).cart(cart.id).subtotal().minor, 238)
  })
})

test('every error code of the core is listed by errorCodes()', () => {
  const codes = errorCodes()
  assert.equal(new Set(codes).size, codes.length)
  for (const code of [
    'UNKNOWN_CURRENCY', 'CURRENCY_MISMATCH', 'MONEY_OVERFLOW', 'INVALID_AMOUNT', 'INVALID_ARGUMENT',
    'UNKNOWN_SKU', 'INVALID_PRODUCT', 'INVALID_QUANTITY', 'CART_NOT_FOUND', 'CART_LINE_NOT_FOUND',
    'STORE_NOT_A_DATABASE', 'STORE_CORRUPT', 'STORE_SCHEMA_TOO_NEW', 'STORE_IDENTITY_MISMATCH',
    'STORE_CLOSED', 'STORE_IO', 'STORE_ERROR',
    'STORED_VALUE_NOT_FOUND', 'STORED_VALUE_EXISTS', 'STORED_VALUE_INSUFFICIENT', 'STORED_VALUE_EXPIRED',
    'STORED_VALUE_FROZEN', 'STORED_VALUE_CLOSED', 'STORED_VALUE_CURRENCY_MISMATCH',
    'STREAM_NOT_FOUND', 'STREAM_EXISTS', 'STREAM_FULL', 'EXPORTER_NOT_FOUND', 'INVALID_PAYLOAD', 'INGEST_REJECTED',
  ]) {
    assert.ok(codes.includes(code), code)
  }
})

test('every error code belongs to one family: errorKind(code)', () => {
  for (const code of errorCodes()) assert.match(errorKind(code) ?? '', /^[a-z]+$/, code)
  const forward = errorCodes().filter((code) => errorKind(code) === 'forward')
  assert.deepEqual(forward.sort(), [
    'EXPORTER_NOT_FOUND', 'INGEST_REJECTED', 'INVALID_PAYLOAD', 'STREAM_EXISTS', 'STREAM_FULL', 'STREAM_NOT_FOUND',
  ])
  assert.equal(errorKind('STORED_VALUE_FROZEN'), 'commerce')
  assert.equal(errorKind('UNKNOWN_CURRENCY'), 'value')
  assert.equal(errorKind('STORE_CLOSED'), 'store')
  assert.equal(errorKind('NOT_A_CODE'), null)
})
