// A day at a till, through the Node API: settings and promotions as JSON, a catalog with
// barcodes, categories and a weighed product, a cart with a customer, a coupon and a manual
// discount, pricing, a sale paid by card and cash, its receipt, two returns that together
// refund exactly what was paid, and the errors an app must handle (each with its code).
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { Edge, Money, price, priceJson } from '@aisle/core'
import { assertThrowsCode, tempDir } from './helpers.mjs'

const chf = (amount) => Money.parse(amount, 'CHF')
const minor = (m) => ({ minor: m, currency: 'CHF' })
const config = { storeId: 'zh-01', deviceId: 'till-1', currency: 'CHF' }

const settings = {
  store_name: 'Aisle Market Zürich',
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
  approval_above_percent: '20',
  tender_policy: { cash_rounding: { increment: 5, mode: 'half_up' } },
  returns: { return_days: 30 },
  receipt_footer: ['Merci!'],
}

const promotions = [
  {
    id: 'coffee-coupon',
    name: 'Coffee 10%',
    conditions: { coupon: 'COFFEE10' },
    rule: { type: 'percent_off', target: { categories: ['coffee'] }, percent: 10 },
  },
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
  {
    sku: 'COFFEE-500G',
    name: 'Espresso beans 500 g',
    price: chf('12.90'),
    taxCategory: 'reduced',
    barcodes: ['4006381333931'],
    categories: ['coffee', 'food/hot-drinks'],
  },
  { sku: 'APPLES', name: 'Apples Gala', price: chf('3.90'), taxCategory: 'reduced', soldBy: 'weight', categories: ['fruit'] },
  { sku: 'CHIPS', name: 'Potato chips 175 g', price: chf('2.50'), taxCategory: 'reduced', tags: ['snack'] },
  { sku: 'WINE-RED', name: 'Pinot Noir 75 cl', price: chf('14.90'), taxCategory: 'standard', barcodes: ['036000291452'] },
]

const visa = (overrides = {}) => ({
  token: 'tok_8f2a91',
  brand: 'VISA',
  last4: '1111',
  auth_code: 'A1B2C3',
  authorized_at_ms: Date.now(),
  ...overrides,
})

/** A store file with the settings, promotions and catalog above. */
function openStore(t) {
  const path = join(tempDir(t), 'store.db')
  const edge = Edge.open(path, config)
  edge.setSettingsJson(JSON.stringify(settings))
  edge.setPromotionsJson(JSON.stringify(promotions))
  edge.upsertProducts(catalog)
  return { edge, path }
}

/** The basket of the day: 2 coffee (coupon), 1.234 kg apples, 3 chips (3 for 2), 1 wine (-10%). */
function fillCart(edge) {
  const cart = edge.newCart()
  cart.add(edge.productByBarcode('4006381333931').sku, 2)
  cart.addWeighed('APPLES', 1234)
  cart.add('CHIPS', 3)
  cart.add(edge.productByBarcode('0036000291452').sku, 1) // the UPC-A 036000291452 as EAN-13
  cart.setCustomer({ id: 'C-1001', group: 'members', loyalty_id: 'L-77' })
  cart.addCoupon(' coffee10 ')
  cart.setLineDiscount('WINE-RED', { percent: '10', reason: 'damaged label' })
  return cart
}

const sum = (amounts) => amounts.reduce((a, m) => a + m.minor, 0)
const byKind = (settlement, kind) => sum(settlement.tenders.filter((t) => t.kind === kind).map((t) => t.amount))

describe('settings, rules and catalog', () => {
  test('settings and promotions round-trip as JSON and as objects', (t) => {
    const { edge } = openStore(t)
    const stored = JSON.parse(edge.settingsJson())
    assert.equal(stored.store_name, 'Aisle Market Zürich')
    assert.deepEqual(stored.tender_policy.cash_rounding, { increment: 5, mode: 'half_up' })
    assert.deepEqual(edge.settings(), stored)
    assert.equal(edge.settings().tax_regime.rates[1].percent, '2.6')
    assert.deepEqual(edge.promotions().map((p) => p.id), ['coffee-coupon', 'snack-3for2'])
    assert.deepEqual(JSON.parse(edge.promotionsJson()), edge.promotions())

    // The object forms take the same documents.
    edge.setSettings({ ...stored, store_name: 'Aisle Market Oerlikon' })
    assert.equal(edge.settings().store_name, 'Aisle Market Oerlikon')
    edge.setPromotions(edge.promotions().slice(1))
    assert.deepEqual(edge.promotions().map((p) => p.id), ['snack-3for2'])
  })

  test('products carry barcodes, categories, tags, weight and variants', (t) => {
    const { edge } = openStore(t)
    const coffee = edge.product('COFFEE-500G')
    assert.deepEqual(coffee.barcodes, ['4006381333931'])
    assert.deepEqual(coffee.categories, ['coffee', 'food/hot-drinks'])
    assert.deepEqual(coffee.tags, [])
    assert.equal(coffee.soldBy, 'unit')
    assert.equal(edge.product('APPLES').soldBy, 'weight')
    assert.deepEqual(edge.product('CHIPS').tags, ['snack'])
    // Any length of the same GTIN finds the product.
    for (const code of ['036000291452', '0036000291452', '00036000291452']) {
      assert.equal(edge.productByBarcode(code).sku, 'WINE-RED', code)
    }
    assertThrowsCode(() => edge.productByBarcode('4006381333932'), 'INVALID_BARCODE') // check digit
    assertThrowsCode(() => edge.productByBarcode('5901234123457'), 'UNKNOWN_BARCODE')
    assertThrowsCode(
      () => edge.upsertProduct({ ...catalog[2], sku: 'CHIPS-XL', barcodes: ['4006381333931'] }),
      'DUPLICATE_BARCODE',
    )
    assertThrowsCode(() => edge.upsertProduct({ ...catalog[2], soldBy: 'kg' }), 'INVALID_ARGUMENT')

    edge.upsertProduct({
      sku: 'TSHIRT-RED-M',
      name: 'T-shirt red M',
      price: chf('19.90'),
      taxCategory: 'standard',
      parentSku: 'TSHIRT',
      attributes: { colour: 'red', size: 'M' },
    })
    const shirt = edge.product('TSHIRT-RED-M')
    assert.equal(shirt.parentSku, 'TSHIRT')
    assert.deepEqual(shirt.attributes, { colour: 'red', size: 'M' })
    // The four-field product of the first release still works, with the defaults.
    edge.upsertProduct({ sku: 'BAG', name: 'Paper bag', price: chf('0.30'), taxCategory: 'standard' })
    const bag = edge.product('BAG')
    assert.deepEqual(
      [bag.barcodes, bag.categories, bag.tags, bag.soldBy, bag.parentSku, bag.attributes],
      [[], [], [], 'unit', undefined, {}],
    )
  })

  test('a price list for a customer group sets the price of the cart line', (t) => {
    const { edge } = openStore(t)
    const members = { id: 'members', name: 'Members', currency: 'CHF', scope: { customer_groups: ['members'] } }
    edge.upsertPriceListJson(JSON.stringify({ ...members, prices: { 'WINE-RED': '12.90' } }))
    edge.upsertPriceList({ id: 'web', name: 'Web shop', currency: 'CHF', scope: { channels: ['web'] }, prices: { CHIPS: '1.99' } })
    assert.deepEqual(edge.priceLists().map((l) => [l.id, l.prices]), [['members', { 'WINE-RED': '12.90' }], ['web', { CHIPS: '1.99' }]])
    assert.deepEqual(JSON.parse(edge.priceListsJson()), edge.priceLists())
    const cart = edge.newCart()
    cart.add('WINE-RED', 1)
    cart.add('CHIPS', 1)
    assert.deepEqual(cart.lines().map((l) => l.unitPrice.minor), [1490, 250])
    cart.setCustomer({ group: 'members' })
    assert.deepEqual(cart.lines().map((l) => l.unitPrice.minor), [1290, 250]) // not on the web channel
    const floatPrice = '{"id": "x", "name": "X", "currency": "CHF", "prices": {"A": 1.5}}'
    assertThrowsCode(() => edge.upsertPriceListJson(floatPrice), 'INVALID_PRICE_LIST')
  })

  test('a promotion rule that is not valid is PROMO_INVALID_RULE naming its JSON path', (t) => {
    const { edge } = openStore(t)
    const bad = [promotions[0], { id: 'too-much', rule: { type: 'percent_off', target: { all: true }, percent: '150' } }]
    const err = assertThrowsCode(() => edge.setPromotionsJson(JSON.stringify(bad)), 'PROMO_INVALID_RULE')
    assert.match(err.message, /\[1\]\.rule\.percent/)
    const all = { all: true }
    const buyNone = { type: 'buy_x_get_y', buy: { target: all, quantity: 0 }, get: { target: all, quantity: 1 } }
    const viaObjects = assertThrowsCode(() => edge.setPromotions([{ id: 'b', rule: buyNone }]), 'PROMO_INVALID_RULE')
    assert.match(viaObjects.message, /\[0\]\.rule\.buy\.quantity/)
    // All or none: the store keeps its promotions.
    assert.deepEqual(edge.promotions().map((p) => p.id), ['coffee-coupon', 'snack-3for2'])
    const noIncrement = { ...settings, tender_policy: { cash_rounding: { increment: 0, mode: 'half_up' } } }
    assertThrowsCode(() => edge.setSettings(noIncrement), 'INVALID_TENDER_POLICY')
    assertThrowsCode(() => edge.setSettingsJson('{"colour": "red"}'), 'INVALID_ARGUMENT')
    assert.equal(edge.settings().store_name, 'Aisle Market Zürich')
  })
})

describe('a sale and its returns', () => {
  test('prices the cart: weight, promotions, coupon, manual discount and tax, exactly', (t) => {
    const { edge } = openStore(t)
    const cart = fillCart(edge)
    assert.equal(cart.status(), 'open')
    assert.deepEqual(cart.coupons(), ['COFFEE10'])
    assert.deepEqual(cart.customer(), { id: 'C-1001', group: 'members', loyalty_id: 'L-77', tax_exempt: false })

    const lines = cart.lines()
    assert.deepEqual(lines.map((l) => [l.sku, l.quantity, l.grams, l.unitPrice.minor, l.lineTotal.minor]), [
      ['COFFEE-500G', 2, undefined, 1290, 2580],
      ['APPLES', 1, 1234, 390, 481], // 3.90/kg × 1.234 kg = 4.8126 → 4.81
      ['CHIPS', 3, undefined, 250, 750],
      ['WINE-RED', 1, undefined, 1490, 1490],
    ])
    assert.deepEqual(lines[3].discount, { percent: '10', reason: 'damaged label', needs_approval: false })

    const priced = cart.price()
    assert.equal(priced.currency, 'CHF')
    assert.deepEqual(
      priced.lines.map((l) => [l.sku, l.quantity, l.base.minor, l.discount.minor, l.amount.minor, l.tax.minor]),
      [
        ['COFFEE-500G', { units: 2 }, 2580, 258, 2322, 59], // 10% coupon; 23.22 × 2.6/102.6
        ['APPLES', { grams: 1234 }, 481, 0, 481, 12],
        ['CHIPS', { units: 3 }, 750, 250, 500, 13], // one of three free
        ['WINE-RED', { units: 1 }, 1490, 149, 1341, 100], // 10% manual; 13.41 × 8.1/108.1
      ],
    )
    assert.deepEqual(priced.lines[2].units, [{ count: 2, amount: minor(250) }, { count: 1, amount: minor(0) }])
    assert.deepEqual(priced.lines[3].adjustments, [
      { source: 'manual', label: 'damaged label', rule: 'manual_line', amount: minor(149), units: [{ count: 1, amount: minor(149) }] },
    ])
    assert.deepEqual(
      [priced.subtotal, priced.discount, priced.net, priced.tax, priced.total],
      [minor(5301), minor(657), minor(4460), minor(184), minor(4644)],
    )
    assert.deepEqual(priced.taxes.map((x) => [x.rate_id, x.percent, x.base.minor, x.amount.minor]), [
      ['A', '8.1', 1241, 100],
      ['B', '2.6', 3219, 84],
    ])
    assert.deepEqual(priced.promotions.map((p) => [p.id, p.applications, p.discount.minor]), [
      ['coffee-coupon', 2, 258],
      ['snack-3for2', 1, 250],
    ])
    assert.deepEqual(priced.coupons, [{ code: 'COFFEE10', status: 'applied' }])
    // Parts always sum to the whole.
    assert.equal(sum(priced.lines.map((l) => l.gross)), priced.total.minor)
    assert.equal(sum(priced.lines.map((l) => l.tax)), priced.tax.minor)

    // An order discount above the store's 20% is flagged for approval, not refused.
    cart.setOrderDiscount({ percent: '25', reason: 'loyalty voucher' })
    assert.equal(cart.price().order_discount.needs_approval, true)
    cart.setOrderDiscount(null)
    assert.equal(cart.price().order_discount, null)
    // A manual price takes the line out of promotions; clearing it brings them back.
    cart.setPriceOverride('CHIPS', { price: chf('2.00'), reason: 'price match' })
    assert.deepEqual(cart.lines()[2].priceOverride, { price: minor(200), reason: 'price match' })
    const overridden = cart.price().lines[2]
    assert.deepEqual([overridden.base.minor, overridden.adjustments], [600, []])
    cart.setPriceOverride('CHIPS', null)
    assert.equal(cart.price().total.minor, 4644)
    // An unknown coupon is a result, not an exception.
    cart.addCoupon('NOSUCHCODE')
    assert.deepEqual(cart.price().coupons.map((c) => [c.code, c.status]), [['COFFEE10', 'applied'], ['NOSUCHCODE', 'invalid']])
    cart.removeCoupon('nosuchcode')
    assert.deepEqual(cart.coupons(), ['COFFEE10'])
  })

  test('completes with card and cash, prints a 48-column receipt, and two returns refund exactly what was paid', (t) => {
    const { edge, path } = openStore(t)
    const cart = fillCart(edge)
    const sale = cart.complete([
      { kind: 'card', amount: chf('20.00'), card: visa() },
      { kind: 'cash', amount: { minor: 5000, currency: 'CHF' } }, // a MoneyValue works as well as a Money
    ])
    assert.equal(sale.kind, 'sale')
    assert.equal(sale.receipt_no, 'till-1-000001')
    assert.equal(sale.cart_id, cart.id)
    assert.deepEqual(sale.customer, { id: 'C-1001', group: 'members', loyalty_id: 'L-77', tax_exempt: false })
    assert.deepEqual(sale.total, minor(4644))
    // Card first; the cash rest 26.44 rounds to 26.45; 50.00 cash gives 23.55 change.
    const s = sale.settlement
    assert.deepEqual([s.due, s.cash_rounding, s.paid, s.change], [minor(4645), minor(1), minor(7000), minor(2355)])
    assert.deepEqual(s.tenders.map((x) => [x.kind, x.amount.minor, x.tendered.minor, x.change.minor]), [
      ['card', 2000, 2000, 0],
      ['cash', 2645, 5000, 2355],
    ])
    assert.equal(s.tenders[0].card.last4, '1111')
    // Each unit's paid amount is recorded: the free chip paid 0.
    assert.deepEqual(sale.lines[2].units.map((u) => [u.count, u.gross.minor]), [[1, 0], [1, 250], [1, 250]])
    assert.equal(cart.status(), 'completed')

    // Another handle on the file (an app restart) reads the same sale.
    const reopened = Edge.open(path, config)
    assert.deepEqual(reopened.sale(sale.receipt_no), sale)
    assert.deepEqual(reopened.receiptNumbers(), ['till-1-000001'])

    const text = edge.receiptText(sale.receipt_no)
    const rows = text.trimEnd().split('\n')
    for (const row of rows) assert.ok([...row].length <= 48, `receipt row longer than 48: ${JSON.stringify(row)}`)
    const printed = ['Aisle Market Zürich', 'Receipt till-1-000001', 'Espresso beans 500 g', '1.234 kg x 3.90']
    printed.push('- Coffee 10%', 'TOTAL CHF', 'VISA ****1111', 'Merci!')
    for (const expected of printed) {
      assert.ok(text.includes(expected), `receipt lacks ${expected}:\n${text}`)
    }
    assert.match(text, /^To pay +46\.45$/m)
    assert.match(text, /^Change +23\.55$/m)
    const narrow = edge.receiptText(sale.receipt_no, 32)
    for (const row of narrow.trimEnd().split('\n')) assert.ok([...row].length <= 32, row)
    const receipt = edge.receipt(sale.receipt_no)
    assert.deepEqual(JSON.parse(edge.receiptJson(sale.receipt_no)), receipt)
    assert.deepEqual(receipt.tenders, [{ label: 'VISA ****1111', amount: minor(2000) }, { label: 'Cash', amount: minor(5000) }])
    assert.deepEqual(receipt.lines[0].discounts, [{ label: 'Coffee 10%', amount: minor(258) }])
    assert.equal(receipt.is_refund, false)

    // First return: one bag of coffee, back to the card.
    const first = edge.returnItems(sale.receipt_no, [{ line_no: 1, quantity: 1 }], 'customer changed mind')
    assert.equal(first.kind, 'refund')
    assert.equal(first.original, sale.receipt_no)
    assert.deepEqual(first.total, minor(-1161))
    assert.deepEqual(first.settlement.tenders.map((x) => [x.kind, x.amount.minor]), [['card', -1161]])
    assert.deepEqual(first.lines.map((l) => [l.sku, l.returns_line, l.gross.minor]), [['COFFEE-500G', 1, -1161]])

    // Second return: everything else. The rest of the card, then cash (cumulatively rounded).
    const second = edge.returnItems(
      sale.receipt_no,
      [{ line_no: 1, quantity: 1 }, { line_no: 2, quantity: 1 }, { line_no: 3, quantity: 3 }, { line_no: 4, quantity: 1 }],
      'the rest, unopened',
      'original_tenders',
    )
    assert.deepEqual(second.total, minor(-3483))
    assert.deepEqual(second.settlement.tenders.map((x) => [x.kind, x.amount.minor]), [['card', -839], ['cash', -2645]])

    // Together: exactly what was paid, tender by tender.
    for (const kind of ['card', 'cash']) {
      assert.equal(byKind(first.settlement, kind) + byKind(second.settlement, kind), -byKind(sale.settlement, kind), kind)
    }
    assert.equal(first.settlement.due.minor + second.settlement.due.minor, -sale.settlement.due.minor)
    assert.equal(first.total.minor + second.total.minor, -sale.total.minor)

    const refundText = edge.receiptText(second.receipt_no)
    assert.ok(refundText.includes('*** REFUND ***'), refundText)
    assert.ok(refundText.trimEnd().split('\n').every((row) => [...row].length <= 48))
    assert.equal(edge.receipt(second.receipt_no).original_receipt_no, 'till-1-000001')
    assert.deepEqual(edge.receiptNumbers(), ['till-1-000001', 'till-1-000002', 'till-1-000003'])

    // Nothing is left to return; a refund cannot be returned against; the receipt must exist.
    const nothingLeft = assertThrowsCode(() => edge.returnItems(sale.receipt_no, [{ line_no: 3, quantity: 1 }], 'again'), 'RETURN_REFUSED')
    assert.match(nothingLeft.message, /already returned/)
    assertThrowsCode(() => edge.returnItems(first.receipt_no, [{ line_no: 1, quantity: 1 }], 'refund of a refund'), 'RETURN_REFUSED')
    assertThrowsCode(() => edge.returnItems(sale.receipt_no, [{ line_no: 9, quantity: 1 }], 'no such line'), 'RETURN_REFUSED')
    assertThrowsCode(() => edge.sale('till-1-999999'), 'UNKNOWN_RECEIPT')
    assertThrowsCode(() => edge.receiptText('till-1-999999'), 'UNKNOWN_RECEIPT')
  })

  test('a return can go to store credit', (t) => {
    const { edge } = openStore(t)
    const cart = edge.newCart()
    cart.add('WINE-RED', 2)
    const sale = cart.complete([{ kind: 'cash', amount: chf('29.80') }])
    const refund = edge.returnItems(sale.receipt_no, [{ line_no: 1, quantity: 1 }], 'exchange', 'store_credit')
    assert.deepEqual(refund.settlement.tenders.map((x) => [x.kind, x.amount.minor]), [['store_credit', -1490]])
    assertThrowsCode(() => edge.returnItems(sale.receipt_no, [{ line_no: 1, quantity: 1 }], 'x', 'cash'), 'INVALID_ARGUMENT')
  })
})

describe('errors an app handles, each with its code', () => {
  test('a completed cart is closed: CART_CLOSED', (t) => {
    const { edge } = openStore(t)
    const cart = edge.newCart()
    cart.add('CHIPS', 1)
    cart.complete([{ kind: 'cash', amount: chf('2.50') }])
    assertThrowsCode(() => cart.add('CHIPS', 1), 'CART_CLOSED')
    assertThrowsCode(() => cart.addWeighed('APPLES', 500), 'CART_CLOSED')
    assertThrowsCode(() => cart.setCustomer(null), 'CART_CLOSED')
    const again = assertThrowsCode(() => cart.complete([{ kind: 'cash', amount: chf('2.50') }]), 'CART_CLOSED')
    assert.ok(again.message.includes(cart.id), again.message)
    assert.equal(edge.cart(cart.id).status(), 'completed')
  })

  test('too little money: INSUFFICIENT_TENDER, and the cart stays open', (t) => {
    const { edge } = openStore(t)
    const cart = edge.newCart()
    cart.add('COFFEE-500G', 1)
    assertThrowsCode(() => cart.complete([{ kind: 'cash', amount: chf('10.00') }]), 'INSUFFICIENT_TENDER')
    assertThrowsCode(() => cart.complete([]), 'INSUFFICIENT_TENDER')
    // A card is never charged more than is due.
    assertThrowsCode(() => cart.complete([{ kind: 'card', amount: chf('13.00'), card: visa() }]), 'TENDER_EXCEEDS_DUE')
    assert.equal(cart.status(), 'open')
    assert.equal(edge.receiptNumbers().length, 0)
    const sale = cart.complete([{ kind: 'cash', amount: chf('20.00') }])
    assert.deepEqual(sale.settlement.change, minor(710))
  })

  test('a card number anywhere is CARD_NUMBER_REFUSED and never echoed', (t) => {
    const { edge } = openStore(t)
    const cart = edge.newCart()
    cart.add('WINE-RED', 1)
    const spaced = '4111 1111 1111 1111'
    const attempts = [
      () => cart.complete([{ kind: 'card', amount: chf('14.90'), card: visa({ token: spaced }) }]),
      () => cart.complete([{ kind: 'card', amount: chf('14.90'), card: visa({ auth_code: '4111-1111-1111-1111' }) }]),
      // A number where text belongs is caught while converting, before the core sees it.
      () => cart.complete([{ kind: 'card', amount: chf('14.90'), card: visa({ last4: 4111111111111111 }) }]),
      () => cart.setLineDiscount('WINE-RED', { percent: '5', reason: `card ${spaced}` }),
    ]
    for (const attempt of attempts) {
      const err = assertThrowsCode(attempt, 'CARD_NUMBER_REFUSED')
      const digits = err.message.replace(/[^0-9]/g, '')
      assert.ok(!digits.includes('4111111111111111'), err.message)
      assert.ok(!err.message.includes(spaced), err.message)
      assert.ok(err.message.includes('1111'), err.message) // the last four only
    }
    assert.equal(cart.status(), 'open')
    assert.equal(edge.receiptNumbers().length, 0)
  })

  test('documents that do not convert are INVALID_ARGUMENT naming the path', (t) => {
    const { edge } = openStore(t)
    const cart = edge.newCart()
    cart.add('CHIPS', 1)
    const cases = [
      [() => cart.complete([{ kind: 'cash', amount: { minor: 2.5, currency: 'CHF' } }]), 'tenders[0].amount'],
      [() => cart.complete([{ kind: 'cash', amount: { minor: 2 ** 53, currency: 'CHF' } }]), 'tenders[0].amount.minor'],
      [() => cart.complete([{ kind: 'cheque', amount: chf('2.50') }]), 'tenders[0].kind'],
      [() => cart.complete({ kind: 'cash', amount: chf('2.50') }), 'tenders'],
      [() => cart.setCustomer({ id: 'C-1', vip: true }), 'customer.vip'],
      [() => cart.setCustomer({ id: () => 'C-1' }), 'customer.id'],
      [() => cart.setLineDiscount('CHIPS', { percent: 12.5, reason: 'x' }), 'discount.percent'],
      [() => edge.returnItems('till-1-000001', [{ line_no: -1, quantity: 1 }], 'x'), 'items[0].line_no'],
      [() => price({ currency: 'CHF', at: 'now', tax_regime: {}, lines: [], offline_exposure: NaN }), 'request.offline_exposure'],
    ]
    for (const [attempt, path] of cases) {
      const err = assertThrowsCode(attempt, 'INVALID_ARGUMENT')
      assert.ok(err.message.startsWith(`INVALID_ARGUMENT: ${path}`), `${path}: ${err.message}`)
    }
    const cyclic = { id: 'C-1' }
    cyclic.self = cyclic
    assertThrowsCode(() => cart.setCustomer(cyclic), 'INVALID_ARGUMENT')
    // Exact values convert exactly: a bigint amount, a Money.
    const sale = cart.complete([{ kind: 'cash', amount: { minor: 250n, currency: 'CHF' } }])
    assert.deepEqual(sale.total, minor(250))
    assert.equal(JSON.stringify(chf('2.50')), '{"minor":250,"currency":"CHF"}')
  })
})

describe('pricing requests', () => {
  const request = {
    currency: 'CHF',
    at: '2026-11-27T16:30:00Z',
    time_zone: 'Europe/Zurich',
    tax_regime: settings.tax_regime,
    promotions,
    lines: [
      { sku: 'CHIPS', unit_price: '2.50', tax_category: 'reduced', tags: ['snack'], quantity: 3 },
      { sku: 'APPLES', unit_price: '3.90', tax_category: 'reduced', grams: 1234 },
    ],
    tenders: [{ kind: 'cash', amount: chf('10.00') }],
    tender_policy: settings.tender_policy,
  }

  test('price(object) is JSON.parse(priceJson(text)), with the tenders settled', () => {
    const result = price(request)
    assert.deepEqual(result, JSON.parse(priceJson(JSON.stringify(request))))
    assert.deepEqual([result.subtotal, result.discount, result.total], [minor(1231), minor(250), minor(981)])
    // 9.81 in cash rounds to 9.80; 10.00 handed over gives 0.20 back.
    assert.deepEqual([result.settlement.due, result.settlement.change], [minor(980), minor(20)])
    assert.equal(price({ ...request, tenders: undefined }).settlement, undefined)
  })

  test('a bad request raises the core error with its code and path', () => {
    const badRule = { ...request, promotions: [{ id: 'p', rule: { type: 'percent_off', target: { all: true }, percent: '101' } }] }
    assert.match(assertThrowsCode(() => price(badRule), 'PROMO_INVALID_RULE').message, /\[0\]\.rule\.percent/)
    assertThrowsCode(() => priceJson(JSON.stringify(badRule)), 'PROMO_INVALID_RULE')
    assertThrowsCode(() => price({ ...request, tenders: [{ kind: 'cash', amount: chf('5.00') }] }), 'INSUFFICIENT_TENDER')
    assert.match(assertThrowsCode(() => priceJson('{"currency": "CHF"}'), 'INVALID_ARGUMENT').message, /pricing request/)
    assertThrowsCode(() => priceJson('not json'), 'INVALID_ARGUMENT')
  })
})
