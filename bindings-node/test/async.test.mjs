// The Promise-returning twins of the long calls (`Edge.openAsync`, `cart.priceAsync`,
// `cart.completeAsync`, `edge.returnItemsAsync`, `edge.receiptTextAsync`, `priceAsync`): each
// resolves to exactly what its sync call returns, rejects (never throws) with the same
// `Error`, `code` and message, and runs off the main thread, so the event loop keeps serving.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { Edge, Money, price, priceAsync } from '@aisle/core'
import { tempDir } from './helpers.mjs'

const chf = (amount) => Money.parse(amount, 'CHF')
const config = { storeId: 'zh-02', deviceId: 'till-7', currency: 'CHF' }
const settings = {
  time_zone: 'Europe/Zurich',
  tax_regime: {
    id: 'ch-vat',
    prices_include_tax: true,
    rounding: { mode: 'half_up', level: 'line' },
    rates: [
      { id: 'A', name: 'MWST 8.1%', categories: ['standard'], percent: '8.1' },
      { id: 'B', name: 'MWST 2.6%', categories: ['reduced'], percent: '2.6' },
    ],
  },
  tender_policy: { cash_rounding: { increment: 5, mode: 'half_up' } },
  returns: { return_days: 30 },
}
const promotions = [
  {
    id: 'snack-3for2',
    name: 'Snacks 3 for 2',
    rule: {
      type: 'buy_x_get_y',
      buy: { target: { tags: ['snack'] }, quantity: 2 },
      get: { target: { tags: ['snack'] }, quantity: 1 },
    },
  },
]
const catalog = [
  { sku: 'COFFEE-500G', name: 'Espresso beans 500 g', price: chf('12.90'), taxCategory: 'reduced' },
  { sku: 'APPLES', name: 'Apples Gala', price: chf('3.90'), taxCategory: 'reduced', soldBy: 'weight' },
  { sku: 'CHIPS', name: 'Potato chips 175 g', price: chf('2.50'), taxCategory: 'reduced', tags: ['snack'] },
  { sku: 'WINE-RED', name: 'Pinot Noir 75 cl', price: chf('14.90'), taxCategory: 'standard' },
]

function openStore(t) {
  const path = join(tempDir(t), 'store.db')
  const edge = Edge.open(path, config)
  edge.setSettings(settings)
  edge.setPromotions(promotions)
  edge.upsertProducts(catalog)
  t.after(() => edge.close())
  return { edge, path }
}

function fillCart(edge) {
  const cart = edge.newCart()
  cart.add('COFFEE-500G', 2)
  cart.addWeighed('APPLES', 1234)
  cart.add('CHIPS', 3)
  cart.add('WINE-RED', 1)
  cart.setLineDiscount('WINE-RED', { percent: '10', reason: 'damaged label' })
  return cart
}

/** The error the sync call throws. */
function thrownBy(fn) {
  try {
    fn()
  } catch (err) {
    return err
  }
  assert.fail('the sync call did not throw')
}

/**
 * Asserts that `promise` rejects with an `Error` like `expected` (the sync call's): the same
 * class, `code` and message. `call` must not throw itself: an async call reports through its
 * Promise.
 */
async function assertRejectsLike(call, expected, code) {
  assert.equal(expected.code, code, `the sync call threw ${expected.code}: ${expected.message}`)
  let promise
  assert.doesNotThrow(() => {
    promise = call()
  }, 'an *Async call must reject, not throw')
  assert.ok(promise instanceof Promise)
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof Error, `expected an Error, got ${err}`)
    assert.equal(Object.getPrototypeOf(err), Object.getPrototypeOf(expected))
    assert.equal(err.code, code)
    assert.equal(err.message, expected.message)
    return true
  })
}

describe('the Promise resolves to what the sync call returns', () => {
  test('Edge.openAsync opens the same store as Edge.open', async (t) => {
    const { edge, path } = openStore(t)
    const cart = fillCart(edge)
    edge.close()
    const opened = await Edge.openAsync(path, config)
    t.after(() => opened.close())
    assert.ok(opened instanceof Edge)
    assert.equal(opened.path, path)
    assert.deepEqual(opened.config, config)
    assert.deepEqual(opened.products().map((p) => p.sku), ['APPLES', 'CHIPS', 'COFFEE-500G', 'WINE-RED'])
    assert.deepEqual(opened.cartIds(), [cart.id])
    assert.equal(opened.cart(cart.id).status(), 'open')
  })

  test('cart.priceAsync, completeAsync, receiptTextAsync and returnItemsAsync', async (t) => {
    const { edge } = openStore(t)
    const cart = fillCart(edge)
    const priced = cart.price()
    assert.deepEqual(await cart.priceAsync(), priced)
    assert.equal(priced.promotions[0].id, 'snack-3for2', 'the basket should take the promotion')

    const sale = await cart.completeAsync([{ kind: 'cash', amount: chf('100.00') }])
    assert.equal(sale.kind, 'sale')
    assert.deepEqual(sale.total, priced.total)
    assert.deepEqual(edge.sale(sale.receipt_no), sale, 'the resolved sale is the recorded one')
    assert.equal(cart.status(), 'completed')

    assert.equal(await edge.receiptTextAsync(sale.receipt_no), edge.receiptText(sale.receipt_no))
    assert.equal(await edge.receiptTextAsync(sale.receipt_no, 32), edge.receiptText(sale.receipt_no, 32))

    const refund = await edge.returnItemsAsync(sale.receipt_no, [{ line_no: 1, quantity: 1 }], 'changed mind')
    assert.equal(refund.kind, 'refund')
    assert.deepEqual(edge.sale(refund.receipt_no), refund)
    const credit = await edge.returnItemsAsync(sale.receipt_no, [{ line_no: 1, quantity: 1 }], 'exchange', 'store_credit')
    assert.deepEqual(credit.settlement.tenders.map((t) => t.kind), ['store_credit'])
    assert.deepEqual(edge.receiptNumbers(), [sale.receipt_no, refund.receipt_no, credit.receipt_no])
  })

  test('priceAsync prices every shared vector exactly as price does', async () => {
    const folder = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'vectors', 'commerce')
    const files = readdirSync(folder).filter((f) => f.endsWith('.json'))
    assert.ok(files.length >= 40, `only ${files.length} vectors in ${folder}`)
    let rejected = 0
    for (const file of files) {
      const { request } = JSON.parse(readFileSync(join(folder, file), 'utf8'))
      let expected
      try {
        expected = { value: price(request) }
      } catch (err) {
        expected = { err }
      }
      if (expected.err) {
        rejected++
        await assertRejectsLike(() => priceAsync(request), expected.err, expected.err.code)
      } else {
        assert.deepEqual(await priceAsync(request), expected.value, file)
      }
    }
    assert.ok(rejected > 0 && rejected < files.length, 'the vectors should include good and bad requests')
  })
})

describe('a failure rejects with the sync call\'s Error and code', () => {
  test('core errors', async (t) => {
    const { edge } = openStore(t)
    const cart = fillCart(edge)
    const short = [{ kind: 'cash', amount: chf('10.00') }]
    await assertRejectsLike(() => cart.completeAsync(short), thrownBy(() => cart.complete(short)), 'INSUFFICIENT_TENDER')
    assert.equal(cart.status(), 'open', 'a refused sale changes nothing')

    const sale = cart.complete([{ kind: 'cash', amount: chf('100.00') }])
    const cash = [{ kind: 'cash', amount: chf('100.00') }]
    await assertRejectsLike(() => cart.completeAsync(cash), thrownBy(() => cart.complete(cash)), 'CART_CLOSED')
    const tooMany = [{ line_no: 1, quantity: 3 }]
    await assertRejectsLike(
      () => edge.returnItemsAsync(sale.receipt_no, tooMany, 'x'),
      thrownBy(() => edge.returnItems(sale.receipt_no, tooMany, 'x')),
      'RETURN_REFUSED',
    )
    await assertRejectsLike(
      () => edge.receiptTextAsync('till-7-999999'),
      thrownBy(() => edge.receiptText('till-7-999999')),
      'UNKNOWN_RECEIPT',
    )

    const untaxed = Edge.openInMemory(config)
    untaxed.upsertProducts(catalog)
    const bare = untaxed.newCart()
    bare.add('CHIPS', 1)
    await assertRejectsLike(() => bare.priceAsync(), thrownBy(() => bare.price()), 'INVALID_ARGUMENT')

    const notAStore = join(tempDir(t), 'notes.txt')
    writeFileSync(notAStore, 'a shopping list, not a database\n'.repeat(100))
    await assertRejectsLike(
      () => Edge.openAsync(notAStore, config),
      thrownBy(() => Edge.open(notAStore, config)),
      'STORE_NOT_A_DATABASE',
    )
    assert.equal(readFileSync(notAStore, 'utf8').slice(0, 16), 'a shopping list,')
  })

  test('arguments that cannot be read reject too, before any work starts', async (t) => {
    const { edge, path } = openStore(t)
    const cart = fillCart(edge)
    const floaty = [{ kind: 'cash', amount: { minor: 2.5, currency: 'CHF' } }]
    await assertRejectsLike(() => cart.completeAsync(floaty), thrownBy(() => cart.complete(floaty)), 'INVALID_ARGUMENT')
    const card = [{ kind: 'card', amount: chf('1.00'), card: { token: '4111 1111 1111 1111', brand: 'VISA', last4: '1111', authorized_at_ms: Date.now() } }]
    await assertRejectsLike(() => cart.completeAsync(card), thrownBy(() => cart.complete(card)), 'CARD_NUMBER_REFUSED')
    await assertRejectsLike(() => edge.receiptTextAsync('x', -1), thrownBy(() => edge.receiptText('x', -1)), 'INVALID_ARGUMENT')
    await assertRejectsLike(
      () => edge.returnItemsAsync('x', [{ line_no: 1, quantity: 1 }], 'y', 'cash'),
      thrownBy(() => edge.returnItems('x', [{ line_no: 1, quantity: 1 }], 'y', 'cash')),
      'INVALID_ARGUMENT',
    )
    const badConfig = { ...config, currency: 'EURO' }
    await assertRejectsLike(() => Edge.openAsync(path, badConfig), thrownBy(() => Edge.open(path, badConfig)), 'UNKNOWN_CURRENCY')
    const request = { lines: [{ sku: 'A', unit_price: { minor: 1.5, currency: 'EUR' }, quantity: { units: 1 } }] }
    await assertRejectsLike(() => priceAsync(request), thrownBy(() => price(request)), 'INVALID_ARGUMENT')
    assert.equal(cart.status(), 'open')
  })
})

// A Python child holds SQLite's write lock on the store file until told to let go.
const LOCK_HOLDER = `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
db.close()
`

async function holdWriteLock(path) {
  const python = spawnSync('python3', ['-c', 'import sqlite3'])
  assert.equal(python.status, 0, 'this test needs python3 with its sqlite3 module (to hold a lock on the store file)')
  const child = spawn('python3', ['-c', LOCK_HOLDER, path], { stdio: ['pipe', 'pipe', 'inherit'] })
  const exited = once(child, 'exit')
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const first = await lines.next()
  assert.equal(first.value, 'locked', 'the lock holder did not take the lock')
  return {
    async release() {
      child.stdin.end('\n')
      const [code] = await exited
      assert.equal(code, 0, 'the lock holder failed')
    },
  }
}

describe('the event loop is not blocked', () => {
  test('a timer fires while completeAsync waits for the store, and only then does the sale complete', async (t) => {
    const { edge, path } = openStore(t)
    const cart = fillCart(edge)
    const holder = await holdWriteLock(path)
    const events = []
    // Recording the sale needs the write lock, which the child holds: the call waits for it
    // on the thread pool (SQLite's busy timeout is 5 s). Nothing here races a clock: the
    // lock is released only by the timer callback below, which can run only if the main
    // thread is free while the call waits. A blocking call would instead stall the loop for
    // the whole timeout and fail with a locked database.
    const completed = cart.completeAsync([{ kind: 'cash', amount: chf('100.00') }]).then((sale) => {
      events.push('sale recorded')
      return sale
    })
    await new Promise((resolve) => setTimeout(resolve, 0))
    events.push('timer fired')
    await holder.release()
    const sale = await completed
    assert.deepEqual(events, ['timer fired', 'sale recorded'])
    assert.deepEqual(edge.sale(sale.receipt_no), sale)
  })

  test('many Promises run side by side and each resolves to its own result', async (t) => {
    const { edge } = openStore(t)
    const carts = Array.from({ length: 8 }, (_, i) => {
      const cart = edge.newCart()
      cart.add('CHIPS', i + 1)
      return cart
    })
    const priced = await Promise.all(carts.map((c) => c.priceAsync()))
    assert.deepEqual(priced, carts.map((c) => c.price()))
    assert.deepEqual(priced.map((p) => p.total.minor), [250, 500, 500, 750, 1000, 1000, 1250, 1500])
  })
})
