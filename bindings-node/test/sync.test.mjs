// CRDT sync from Node: HQ and registers on real store files exchange Buffers and converge; a
// Node backend acting as the HQ hub (node:http + handleHttpAsync); LAN peer sync and the
// background syncer; refusals as Errors with a stable code.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { Edge, Money, errorKind } from '@aisle/core'
import { assertThrowsCode, tempDir } from './helpers.mjs'

function open(t, dir, storeId, deviceId) {
  const edge = Edge.open(join(dir, `${storeId}-${deviceId}.db`), { storeId, deviceId, currency: 'EUR' })
  t.after(() => edge.close())
  return edge
}

function fleet(t) {
  const dir = tempDir(t)
  const hq = open(t, dir, 'hq', 'hq-1')
  const r1 = open(t, dir, 's1', 'r1')
  const r2 = open(t, dir, 's1', 'r2')
  hq.sync().setRole('hq')
  const cards = [hq, r1, r2].map((e) => e.sync().identity())
  for (const e of [hq, r1, r2]) for (const c of cards) e.sync().enroll(c)
  return { dir, hq, r1, r2 }
}

function pull(into, from) {
  const chunks = from.sync().changesSince(into.sync().request())
  for (const c of chunks) into.sync().apply(c)
  return chunks.length
}

const product = (sku, price) => ({ sku, name: sku, price: new Money(price, 'EUR'), taxCategory: 'standard' })

/** Serves `edge` as the HQ hub on 127.0.0.1 with node:http. */
async function nodeHub(t, edge) {
  const server = createServer((req, res) => {
    const parts = []
    req.on('data', (c) => parts.push(c))
    req.on('end', async () => {
      const reply = await edge.sync().handleHttpAsync(req.method, req.url, Buffer.concat(parts))
      res.writeHead(reply.status, { 'content-type': reply.contentType })
      res.end(reply.body)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => server.close(resolve)))
  return `http://127.0.0.1:${server.address().port}`
}

describe('sync', () => {
  test('identity cards, enrolment and roles', (t) => {
    const { hq, r1 } = fleet(t)
    const card = r1.sync().identity()
    assert.deepEqual([card.store_id, card.device_id, card.role, card.delegated], ['s1', 'r1', 'store', []])
    assert.equal(card.public_key.length, 64)
    assert.equal(hq.sync().identity().role, 'hq')
    assert.deepEqual(hq.sync().devices().map((d) => d.device_id).sort(), ['hq-1', 'r1', 'r2'])
    hq.sync().enroll(JSON.stringify(card)) // the JSON text works too
    assertThrowsCode(() => hq.sync().enroll({ ...card, public_key: '00' }), 'INVALID_ARGUMENT')
    assertThrowsCode(() => hq.sync().setRole('boss'), 'INVALID_ARGUMENT')
  })

  test('prices, stock, shared carts and customers converge', (t) => {
    const { hq, r1, r2 } = fleet(t)
    hq.upsertProduct(product('BEER', 120))
    for (const r of [r1, r2]) {
      pull(r, hq)
      assert.equal(r.product('BEER').price.minor, 120)
    }
    r1.sync().stockAdd('BEER', 'shelf', 24)
    pull(r2, r1)
    assert.equal(r1.sync().stockAdd('BEER', 'shelf', -3), 21)
    r2.sync().stockAdd('BEER', 'shelf', -2)
    r2.sync().stocktake('BEER', 'shelf', 20)
    r1.sync().cartAdd('cart-7', 'BEER', 1)
    r2.sync().cartAdd('cart-7', 'BEER', 2)
    r1.sync().upsertCustomer('C-1', { name: 'Ada', points: 10, card: Buffer.from([1, 2]), note: null })
    for (let i = 0; i < 2; i++) {
      for (const r of [r1, r2]) pull(hq, r)
      for (const r of [r1, r2]) pull(r, hq)
    }
    for (const r of [r1, r2]) {
      assert.equal(r.sync().stockLevel('BEER', 'shelf'), 17)
      assert.deepEqual(r.sync().cartLines('cart-7'), [{ sku: 'BEER', quantity: 3 }])
      assert.deepEqual(r.sync().customer('C-1'), { name: 'Ada', points: 10, card: Buffer.from([1, 2]), note: null })
    }
    assert.equal(hq.sync().stockLevel('BEER', 'shelf', 'store:s1'), 17)
    assert.equal(r1.sync().digest(), r2.sync().digest())
    assert.equal(hq.sync().digest('store:s1'), r1.sync().digest('store:s1'))
    assert.match(r1.sync().digest(), /^[0-9a-f]{64}$/)
    assert.equal(r1.sync().deleteCustomer('C-1'), true)
    assert.equal(r1.sync().customer('C-1'), null)
    assertThrowsCode(() => r1.sync().stockAdd('BEER', 'shelf', 1.5), 'INVALID_ARGUMENT')
    const stats = hq.sync().stats()
    assert.ok(stats.slots > 0 && stats.metadataBytes > 0)
    assert.deepEqual(Object.keys(hq.sync().compact()).sort(), ['removedSlots', 'waiting'])
    assert.ok(Object.keys(r1.sync().vector()['store:s1']).every((site) => site.length === 16))
  })

  test('refused messages throw their SYNC_* code and change nothing', (t) => {
    const { hq, r1 } = fleet(t)
    r1.sync().stockAdd('MILK', 'shelf', 5)
    const [chunk] = r1.sync().changesSince(hq.sync().request())
    const before = hq.sync().digest()
    assertThrowsCode(() => hq.sync().apply(Buffer.from('garbage')), 'SYNC_DECODE')
    const forged = Buffer.from(chunk)
    forged[forged.length - 1] ^= 1
    const err = assertThrowsCode(() => hq.sync().apply(forged), 'SYNC_BAD_SIGNATURE')
    assert.equal(errorKind(err.code), 'sync')
    assert.equal(hq.sync().digest(), before)
    const report = hq.sync().apply(chunk)
    assert.equal(report.from, 's1/r1')
    assert.ok(report.changed >= 1 && report.batchComplete)
    assertThrowsCode(() => hq.sync().apply(chunk), 'SYNC_REPLAY')
  })

  test('a Node backend is the hub: registers sync with it over HTTP', async (t) => {
    const { dir, hq, r1, r2 } = fleet(t)
    const url = await nodeHub(t, hq)
    hq.upsertProduct(product('TEA', 250))
    r1.sync().stockAdd('TEA', 'shelf', 12)
    const round = await r1.sync().syncWithHubAsync(url)
    assert.equal(round.peer, url)
    assert.ok(round.pulled >= 1 && round.pushed.applied >= 1)
    const round2 = await r2.sync().syncWithHubAsync(url, { headers: { 'x-register': 'r2' }, timeoutMs: 5000 })
    assert.ok(round2.pulledChanged >= 1)
    assert.equal(r2.product('TEA').price.minor, 250)
    assert.equal(r2.sync().stockLevel('TEA', 'shelf'), 12)
    assert.equal(hq.sync().digest('store:s1'), r2.sync().digest('store:s1'))

    const stranger = open(t, dir, 's1', 'r9')
    stranger.sync().enroll(hq.sync().identity())
    await assert.rejects(stranger.sync().syncWithHubAsync(url), (e) => e.code === 'SYNC_PEER_REFUSED' && /SYNC_UNKNOWN_DEVICE/.test(e.message))
    await assert.rejects(r1.sync().syncWithHubAsync('http://127.0.0.1:9', { timeoutMs: 2000 }), (e) => e.code === 'SYNC_UNREACHABLE')
    await assert.rejects(r1.sync().syncWithHubAsync('ftp://hq'), (e) => e.code === 'INVALID_ARGUMENT')
    const reply = hq.sync().handleHttp('GET', '/v1/sync/exchange', Buffer.alloc(0))
    assert.equal(reply.status, 405)
    assert.equal(JSON.parse(reply.body.toString()).code, 'METHOD_NOT_ALLOWED')
  })

  test('LAN peers and the background syncer', async (t) => {
    const { r1, r2 } = fleet(t)
    r2.sync().cartAdd('cart-1', 'MILK', 2)
    const server = r2.sync().listenLan('127.0.0.1:0')
    t.after(() => server.stop())
    const addr = server.addr
    assert.match(addr, /^127\.0\.0\.1:\d+$/)
    const round = await r1.sync().syncWithPeerAsync(addr)
    assert.ok(round.pulledChanged >= 1)
    assert.deepEqual(r1.sync().cartLines('cart-1'), [{ sku: 'MILK', quantity: 2 }])

    const syncer = r1.sync().startSyncer({ peers: [addr], intervalMs: 60_000 })
    t.after(() => syncer.stop())
    r1.sync().cartAdd('cart-1', 'MILK', 1)
    syncer.syncNow()
    const deadline = Date.now() + 20_000
    while (r2.sync().cartLines('cart-1')[0]?.quantity !== 3) {
      assert.ok(Date.now() < deadline, JSON.stringify(syncer.status()))
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    assert.equal(syncer.status()[0].peer, `tcp://${addr}`)
    syncer.stop()
    server.stop()
    assert.equal(server.addr, null)
    assertThrowsCode(() => r1.sync().syncWithPeer(addr, 2000), 'SYNC_UNREACHABLE')
    assertThrowsCode(() => r1.sync().startSyncer({ peers: [addr], intervalMs: 0 }), 'INVALID_ARGUMENT')
  })
})
