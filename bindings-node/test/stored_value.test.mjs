// Gift cards, store credit and exchanges from Node, in a real store file: the ledger
// (issue, load, adjust, freeze, close, history), gift card and store credit tenders that
// redeem it in the sale's transaction, refunds that credit it back, returns to a named
// account, and exchanges as two linked receipts — with the errors an app must handle.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { Edge, Money, errorKind } from '@aisle/core'
import { assertThrowsCode, tempDir } from './helpers.mjs'

const chf = (amount) => Money.parse(amount, 'CHF')
const minor = (m) => ({ minor: m, currency: 'CHF' })
const config = { storeId: 'zh-01', deviceId: 'till-1', currency: 'CHF' }

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

const catalog = [
  { sku: 'WINE', name: 'Pinot Noir 75 cl', price: chf('16.90'), taxCategory: 'standard' },
  { sku: 'GIFT', name: 'Gift box', price: chf('50.00'), taxCategory: 'standard' },
  { sku: 'BREAD', name: 'Sourdough bread', price: chf('4.95'), taxCategory: 'reduced' },
]

const visa = { token: 'tok_1', brand: 'VISA', last4: '1111', auth_code: 'A1', authorized_at_ms: Date.now() }

function openStore(t) {
  const edge = Edge.open(join(tempDir(t), 'store.db'), config)
  edge.setSettings(settings)
  edge.upsertProducts(catalog)
  t.after(() => edge.close())
  return edge
}

function cartWith(edge, lines) {
  const cart = edge.newCart()
  for (const [sku, quantity] of lines) cart.add(sku, quantity)
  return cart
}

describe('gift cards', () => {
  test('the ledger: issue, load, adjust, freeze, history, close', (t) => {
    const edge = openStore(t)
    const sv = edge.storedValue()
    const issued = sv.issue('gift_card', 'GC-1001', chf('50.00'), null, 'sold at till 1')
    assert.deepEqual(
      { ...issued, created_at_ms: 0 },
      {
        kind: 'gift_card',
        id: 'GC-1001',
        currency: 'CHF',
        balance: minor(5000),
        status: 'active',
        expires_at_ms: null,
        created_at_ms: 0,
      },
    )
    assert.equal(sv.load('gift_card', 'GC-1001', minor(2000)).balance.minor, 7000)
    assert.equal(sv.adjust('gift_card', 'GC-1001', chf('-5.00'), 'goodwill correction').balance.minor, 6500)
    assert.ok(sv.balance('gift_card', 'GC-1001').equals(chf('65.00')))

    assert.equal(sv.freeze('gift_card', 'GC-1001', 'reported stolen').status, 'frozen')
    assertThrowsCode(() => sv.load('gift_card', 'GC-1001', chf('1.00')), 'STORED_VALUE_FROZEN')
    assert.equal(sv.unfreeze('gift_card', 'GC-1001', 'found again').status, 'active')

    const history = sv.history('gift_card', 'GC-1001')
    assert.deepEqual(
      history.map((e) => [e.entry_type, e.amount.minor, e.balance_after.minor, e.reason]),
      [
        ['issue', 5000, 5000, 'sold at till 1'],
        ['load', 2000, 7000, null],
        ['adjust', -500, 6500, 'goodwill correction'],
        ['freeze', 0, 6500, 'reported stolen'],
        ['unfreeze', 0, 6500, 'found again'],
      ],
    )
    assert.ok(history.every((e, i) => i === 0 || e.seq > history[i - 1].seq))

    // Only an empty account closes; the ledger says where the money went.
    assertThrowsCode(() => sv.close('gift_card', 'GC-1001', 'customer left'), 'INVALID_ARGUMENT')
    sv.adjust('gift_card', 'GC-1001', chf('-65.00'), 'paid out in cash')
    assert.equal(sv.close('gift_card', 'GC-1001', 'paid out').status, 'closed')
    assertThrowsCode(() => sv.load('gift_card', 'GC-1001', chf('1.00')), 'STORED_VALUE_CLOSED')

    sv.issue('gift_card', 'GC-1002', chf('10.00'), Date.now() + 86_400_000)
    assert.deepEqual(sv.accounts('gift_card').map((a) => [a.id, a.status]), [
      ['GC-1001', 'closed'],
      ['GC-1002', 'active'],
    ])
    assert.deepEqual(sv.accounts('store_credit'), [])
  })

  test('the errors an app handles, each with its code', (t) => {
    const sv = openStore(t).storedValue()
    sv.issue('gift_card', 'GC-1', chf('10.00'))
    assertThrowsCode(() => sv.issue('gift_card', 'GC-1', chf('10.00')), 'STORED_VALUE_EXISTS')
    // The same id as store credit is another account.
    assert.equal(sv.issue('store_credit', 'GC-1', chf('1.00')).kind, 'store_credit')
    const missing = assertThrowsCode(() => sv.account('gift_card', 'GC-404'), 'STORED_VALUE_NOT_FOUND')
    assert.equal(errorKind(missing.code), 'commerce')
    assertThrowsCode(() => sv.adjust('gift_card', 'GC-1', chf('-20.00'), 'too much'), 'STORED_VALUE_INSUFFICIENT')
    assertThrowsCode(() => sv.issue('gift_card', 'GC-2', chf('0.00')), 'INVALID_ARGUMENT')
    assertThrowsCode(() => sv.issue('gift_card', 'GC-3', chf('5.00'), Date.now() - 1), 'INVALID_ARGUMENT')
    assertThrowsCode(() => sv.issue('gift_card', 'GC-4', chf('5.00'), 1.5), 'INVALID_ARGUMENT')
    assertThrowsCode(() => sv.issue('voucher', 'V-1', chf('5.00')), 'INVALID_ARGUMENT')
    assertThrowsCode(() => sv.issue('gift_card', 'GC-5', { minor: 1.5, currency: 'CHF' }), 'INVALID_ARGUMENT')
    // A gift card number that is a payment card number is refused, never stored.
    const card = assertThrowsCode(() => sv.issue('gift_card', '4111111111111111', chf('5.00')), 'CARD_NUMBER_REFUSED')
    assert.doesNotMatch(card.message, /4111111111111111/)
  })

  test('a gift card pays part of a sale in its transaction; a refund credits it back', (t) => {
    const edge = openStore(t)
    const sv = edge.storedValue()
    sv.issue('gift_card', 'GC-7', chf('30.00'))
    sv.issue('gift_card', 'GC-EUR', Money.parse('30.00', 'EUR'))

    // Frozen, unknown, another currency, overdrawn: refused, and the cart stays open.
    sv.freeze('gift_card', 'GC-7', 'check')
    const cart = cartWith(edge, [['WINE', 2]]) // 33.80
    const pay = (reference, amount = chf('30.00')) => [
      { kind: 'gift_card', amount, reference },
      { kind: 'cash', amount: chf('5.00') },
    ]
    assertThrowsCode(() => cart.complete(pay('GC-7')), 'STORED_VALUE_FROZEN')
    sv.unfreeze('gift_card', 'GC-7', 'ok')
    assertThrowsCode(() => cart.complete(pay('GC-404')), 'STORED_VALUE_NOT_FOUND')
    assertThrowsCode(() => cart.complete(pay('GC-EUR')), 'STORED_VALUE_CURRENCY_MISMATCH')
    assertThrowsCode(() => cart.complete(pay('GC-7', chf('31.00'))), 'STORED_VALUE_INSUFFICIENT')
    assert.equal(cart.status(), 'open')

    const sale = cart.complete(pay('GC-7'))
    assert.deepEqual(
      sale.settlement.tenders.map((x) => [x.kind, x.amount.minor, x.reference ?? null]),
      [
        ['gift_card', 3000, 'GC-7'],
        ['cash', 380, null],
      ],
    )
    assert.deepEqual(sale.stored_value, [
      { tender_index: 0, kind: 'gift_card', account_id: 'GC-7', amount: minor(-3000), balance_after: minor(0) },
    ])
    assert.equal(sv.balance('gift_card', 'GC-7').minor, 0)
    assert.deepEqual(edge.sale(sale.receipt_no).stored_value, sale.stored_value)
    const redeem = sv.history('gift_card', 'GC-7').at(-1)
    assert.deepEqual([redeem.entry_type, redeem.amount.minor, redeem.receipt_no], ['redeem', -3000, sale.receipt_no])

    // Returning one wine (16.90) goes back to the gift card first.
    const refund = edge.returnItems(sale.receipt_no, [{ line_no: 1, quantity: 1 }], 'corked')
    assert.deepEqual(refund.stored_value.map((m) => [m.account_id, m.amount.minor, m.balance_after.minor]), [
      ['GC-7', 1690, 1690],
    ])
    assert.equal(sv.balance('gift_card', 'GC-7').minor, 1690)
  })

  test('a refund to a named store credit account, then spent as a tender', async (t) => {
    const edge = openStore(t)
    const sv = edge.storedValue()
    sv.issue('store_credit', 'SC-CUST-7', chf('1.00'), null, 'welcome')
    const sale = cartWith(edge, [['WINE', 2]]).complete([{ kind: 'card', amount: chf('33.80'), card: visa }])

    const refund = edge.returnItemsToAccount(sale.receipt_no, [{ line_no: 1, quantity: 1 }], 'gift', 'store_credit', 'SC-CUST-7')
    assert.deepEqual(
      refund.settlement.tenders.map((x) => [x.kind, x.amount.minor, x.reference]),
      [['store_credit', -1690, 'SC-CUST-7']],
    )
    assert.equal(refund.stored_value[0].balance_after.minor, 1790)
    assert.equal(sv.balance('store_credit', 'SC-CUST-7').minor, 1790)

    await assert.rejects(
      edge.returnItemsToAccountAsync(sale.receipt_no, [{ line_no: 1, quantity: 1 }], 'gift', 'gift_card', 'GC-404'),
      (err) => err.code === 'STORED_VALUE_NOT_FOUND',
    )
    const second = await edge.returnItemsToAccountAsync(sale.receipt_no, [{ line_no: 1, quantity: 1 }], 'gift', 'store_credit', 'SC-CUST-7')
    assert.equal(second.stored_value[0].balance_after.minor, 3480)

    const bread = cartWith(edge, [['BREAD', 2]]).complete([{ kind: 'store_credit', amount: chf('9.90'), reference: 'SC-CUST-7' }])
    assert.equal(bread.stored_value[0].balance_after.minor, 2490)
  })
})

describe('exchanges', () => {
  test('for something dearer: two linked receipts, the credit pays first, cash the rest', (t) => {
    const edge = openStore(t)
    const original = cartWith(edge, [['WINE', 2]]).complete([{ kind: 'card', amount: chf('33.80'), card: visa }])
    const cart = cartWith(edge, [['GIFT', 1]])
    const x = edge.exchange(original.receipt_no, [{ line_no: 1, quantity: 1 }], cart, [{ kind: 'cash', amount: chf('40.00') }], 'wrong wine')

    assert.equal(x.refund.kind, 'refund')
    assert.equal(x.sale.kind, 'sale')
    assert.equal(x.refund.exchange_with, x.sale.receipt_no)
    assert.equal(x.sale.exchange_with, x.refund.receipt_no)
    assert.equal(x.refund.original, original.receipt_no)
    assert.deepEqual([x.refund.total.minor, x.sale.total.minor, x.difference.minor], [-1690, 5000, 3310])
    const credit = `SC-${x.refund.receipt_no}`
    assert.deepEqual(
      x.sale.settlement.tenders.map((y) => [y.kind, y.amount.minor, y.reference ?? null]),
      [
        ['store_credit', 1690, credit],
        ['cash', 3310, null],
      ],
    )
    assert.equal(x.sale.settlement.change.minor, 690)
    assert.equal(cart.status(), 'completed')
    // The credit passed through the ledger: in with the refund, out with the sale.
    const sv = edge.storedValue()
    assert.deepEqual(sv.history('store_credit', credit).map((e) => [e.entry_type, e.amount.minor, e.receipt_no]), [
      ['refund', 1690, x.refund.receipt_no],
      ['redeem', -1690, x.sale.receipt_no],
    ])
    assert.deepEqual(edge.sale(x.sale.receipt_no), x.sale)
  })

  test('for something cheaper: the excess back to the card, or kept as store credit', async (t) => {
    const edge = openStore(t)
    const sv = edge.storedValue()
    const original = cartWith(edge, [['WINE', 2]]).complete([{ kind: 'card', amount: chf('33.80'), card: visa }])
    const oneWine = [{ line_no: 1, quantity: 1 }]

    const x = edge.exchange(original.receipt_no, oneWine, cartWith(edge, [['BREAD', 1]]), [], 'swap')
    assert.deepEqual(x.refund.settlement.tenders.map((y) => [y.kind, y.amount.minor]), [
      ['store_credit', -495],
      ['card', -1195],
    ])
    assert.equal(x.difference.minor, -1195)
    assert.equal(sv.balance('store_credit', `SC-${x.refund.receipt_no}`).minor, 0)

    const y = await edge.exchangeAsync(original.receipt_no, oneWine, cartWith(edge, [['BREAD', 1]]), [], 'swap', 'store_credit')
    assert.equal(y.difference.minor, -1195)
    assert.equal(sv.balance('store_credit', `SC-${y.refund.receipt_no}`).minor, 1195)

    // Nothing left to return: refused, and nothing is written.
    const before = edge.receiptNumbers().length
    assertThrowsCode(
      () => edge.exchange(original.receipt_no, oneWine, cartWith(edge, [['BREAD', 1]]), [], 'swap'),
      'RETURN_REFUSED',
    )
    await assert.rejects(
      edge.exchangeAsync(original.receipt_no, oneWine, cartWith(edge, [['BREAD', 1]]), [], 'swap'),
      (err) => err.code === 'RETURN_REFUSED',
    )
    assert.equal(edge.receiptNumbers().length, before)
  })
})
