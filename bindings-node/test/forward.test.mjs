// Store-and-forward from Node: streams in real store files (round trip, durable across a
// reopen, a full stream), a callback exporter (in order, retried after a throw or a rejected
// Promise, stopped while a callback hangs without a deadlock), and the receiving side: Ingest
// applying batches a Rust exporter wrote (directory sink, NDJSON files) and batches a callback
// re-encoded, exactly once.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

import { Edge, Ingest, encodeBatch, errorKind } from '@aisle/core'
import { assertThrowsCode, config, tempDir } from './helpers.mjs'

/** A store file, closed when the test ends. */
function openStore(t, dir = tempDir(t)) {
  const path = join(dir, 'store.db')
  const edge = Edge.open(path, config)
  t.after(() => edge.close())
  return { edge, streams: edge.streams(), path, dir }
}

const text = (payload) => Buffer.from(payload).toString('utf8')
const fastRetry = { initial_ms: 5, max_ms: 20, probe_ms: 5 }

/** A Promise and the function that resolves it: "the callback has run". */
function signal() {
  let resolve
  const promise = new Promise((r) => (resolve = r))
  return { promise, resolve }
}

describe('streams', () => {
  test('a JSON stream: append values, read them back in order, config and list', (t) => {
    const { streams } = openStore(t)
    streams.create({ name: 'insights', max_bytes: 1 << 20, when_full: 'drop_oldest', priority: 5 })

    assert.equal(streams.append('insights', { type: 'footfall', count: 12 }), 1)
    assert.equal(streams.append('insights', '{"type":"queue","length":3}'), 2)
    assert.equal(streams.append('insights', Buffer.from('[1,2,3]')), 3)
    assert.deepEqual(streams.appendBatch('insights', [42, null, ['a']]), [4, 5, 6])

    const records = streams.read('insights', 0, 100)
    assert.deepEqual(records.map((r) => r.seq), [1, 2, 3, 4, 5, 6])
    assert.deepEqual(records.map((r) => JSON.parse(text(r.payload))), [
      { type: 'footfall', count: 12 },
      { type: 'queue', length: 3 },
      [1, 2, 3],
      42,
      null,
      ['a'],
    ])
    assert.ok(Buffer.isBuffer(records[0].payload))
    assert.ok(records.every((r) => Math.abs(r.atMs - Date.now()) < 60_000))
    assert.deepEqual(streams.read('insights', 4, 1).map((r) => r.seq), [5])

    assert.deepEqual(streams.config('insights'), {
      name: 'insights',
      storage: 'durable',
      max_bytes: 1 << 20,
      max_age_ms: null,
      when_full: 'drop_oldest',
      priority: 5,
      format: 'json',
    })
    // The commerce stream exists from open.
    assert.deepEqual(streams.list().map((s) => s.name).sort(), ['commerce', 'insights'])
  })

  test('a bytes stream takes any bytes; a JSON stream refuses a payload that is not JSON', (t) => {
    const { streams } = openStore(t)
    streams.create(JSON.stringify({ name: 'frames', max_bytes: 4096, when_full: 'reject', format: 'bytes' }))
    const bytes = Uint8Array.from([0, 255, 10, 13])
    assert.equal(streams.append('frames', bytes), 1)
    assert.deepEqual([...streams.read('frames', 0, 1)[0].payload], [0, 255, 10, 13])

    streams.create({ name: 'events', max_bytes: 4096, when_full: 'reject' })
    const err = assertThrowsCode(() => streams.append('events', 'not json'), 'INVALID_PAYLOAD')
    assert.equal(errorKind(err.code), 'forward')
    assertThrowsCode(() => streams.append('nope', '{}'), 'STREAM_NOT_FOUND')
    assertThrowsCode(() => streams.append('events'), 'INVALID_ARGUMENT')
    assertThrowsCode(() => streams.append('events', new Float64Array([1])), 'INVALID_ARGUMENT')
    assertThrowsCode(() => streams.read('events', -1, 10), 'INVALID_ARGUMENT')
    // appendBatch is all or none.
    assertThrowsCode(() => streams.appendBatch('events', ['{}', 'nope']), 'INVALID_PAYLOAD')
    assert.equal(streams.streamStatus('events').last_seq, 0)
  })

  test('configs are validated by the core, naming the field', (t) => {
    const { streams } = openStore(t)
    let err = assertThrowsCode(() => streams.create({ name: 's', max_bytes: 10 }), 'INVALID_ARGUMENT')
    assert.match(err.message, /when_full/)
    err = assertThrowsCode(() => streams.create({ name: 's', max_bytes: 'lots', when_full: 'reject' }), 'INVALID_ARGUMENT')
    assert.match(err.message, /max_bytes/)
    assertThrowsCode(() => streams.create({ name: 'has space', max_bytes: 10, when_full: 'reject' }), 'INVALID_ARGUMENT')
    streams.create({ name: 's', max_bytes: 10, when_full: 'reject' })
    assertThrowsCode(() => streams.create({ name: 's', max_bytes: 10, when_full: 'reject', storage: 'memory' }), 'STREAM_EXISTS')
    err = assertThrowsCode(
      () => streams.addExporter('s', { name: 'hq', sink: { type: 'http', url: 'http://x', timeout_ms: 'soon' } }),
      'INVALID_ARGUMENT',
    )
    assert.match(err.message, /sink/)
    assertThrowsCode(() => streams.addExporter('s', { name: 'hq', sink: { type: 'ftp' } }), 'INVALID_ARGUMENT')
    assertThrowsCode(() => streams.removeExporter('s', 'hq'), 'EXPORTER_NOT_FOUND')
    assertThrowsCode(() => streams.setCallback('s', 'hq', () => {}), 'EXPORTER_NOT_FOUND')
    streams.addExporter('s', { name: 'dir', sink: { type: 'directory', path: tempDir(t) } })
    assertThrowsCode(() => streams.setCallback('s', 'dir', () => {}), 'INVALID_ARGUMENT')
    streams.delete('s')
    assertThrowsCode(() => streams.config('s'), 'STREAM_NOT_FOUND')
  })

  test('records are durable across a reopen, and numbering goes on', (t) => {
    const dir = tempDir(t)
    const path = join(dir, 'store.db')
    let edge = Edge.open(path, config)
    edge.streams().create({ name: 'audit', max_bytes: 1 << 20, when_full: 'reject' })
    edge.streams().append('audit', { n: 1 })
    edge.streams().appendBatch('audit', [{ n: 2 }, { n: 3 }])
    edge.close()

    edge = Edge.open(path, config)
    t.after(() => edge.close())
    const streams = edge.streams()
    assert.deepEqual(streams.read('audit', 0, 10).map((r) => JSON.parse(text(r.payload)).n), [1, 2, 3])
    assert.equal(streams.append('audit', { n: 4 }), 4)
    assert.equal(streams.streamStatus('audit').records, 4)
  })

  test('a full stream with policy reject throws STREAM_FULL and keeps what it holds', (t) => {
    const { streams } = openStore(t)
    streams.create({ name: 'small', max_bytes: 20, when_full: 'reject' })
    streams.append('small', '"0123456789"') // 12 bytes
    const err = assertThrowsCode(() => streams.append('small', '"0123456789"'), 'STREAM_FULL')
    assert.ok(err instanceof Error)
    assert.equal(errorKind(err.code), 'forward')
    assert.match(err.message, /"small"/)
    const status = streams.streamStatus('small')
    assert.equal(status.records, 1)
    assert.equal(status.bytes, 12)
    assert.equal(status.rejected_full, 1)

    streams.create({ name: 'ring', max_bytes: 20, when_full: 'drop_oldest' })
    for (let i = 0; i < 5; i++) streams.append('ring', `"${i}23456789"`)
    assert.equal(streams.streamStatus('ring').dropped_full, 4)
    assert.deepEqual(streams.read('ring', 0, 10).map((r) => r.seq), [5])
  })

  test('appendAsync resolves to the same numbers, concurrent appends share commits', async (t) => {
    const { streams } = openStore(t)
    streams.setGroupCommitWait(1)
    streams.create({ name: 'events', max_bytes: 1 << 20, when_full: 'reject' })
    const seqs = await Promise.all(Array.from({ length: 20 }, (_, i) => streams.appendAsync('events', { i })))
    assert.deepEqual([...seqs].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1))
    assert.deepEqual(await streams.appendBatchAsync('events', [{}, {}]), [21, 22])
    await assert.rejects(streams.appendAsync('events', 'nope'), (err) => err.code === 'INVALID_PAYLOAD')
    await assert.rejects(streams.appendAsync('events'), (err) => err.code === 'INVALID_ARGUMENT')
    await assert.rejects(streams.appendAsync('missing', '{}'), (err) => err.code === 'STREAM_NOT_FOUND')
  })

  test('a memory stream, status of every stream, emitStatus', (t) => {
    const { streams } = openStore(t)
    streams.create({ name: 'live', storage: 'memory', max_bytes: 4096, when_full: 'drop_oldest' })
    streams.create({ name: 'status', max_bytes: 1 << 20, when_full: 'drop_oldest' })
    streams.append('live', { people: 4 })
    streams.addExporter('live', { name: 'app', sink: { type: 'callback' } })
    const all = streams.status()
    assert.deepEqual(all.map((s) => [s.name, s.storage]), [
      ['commerce', 'durable'],
      ['status', 'durable'],
      ['live', 'memory'],
    ])
    const live = all[2]
    assert.equal(live.records, 1)
    assert.deepEqual(
      live.exporters.map((e) => [e.name, e.kind, e.state, e.backlog_records]),
      [['app', 'callback', 'stopped', 1]],
    )
    assert.equal(streams.running, false)

    const seq = streams.emitStatus('status')
    const emitted = JSON.parse(text(streams.read('status', seq - 1, 1)[0].payload))
    assert.deepEqual(emitted.map((s) => s.name), ['commerce', 'status', 'live'])
    assert.deepEqual(JSON.parse(streams.statusJson()).map((s) => s.name), ['commerce', 'status', 'live'])
  })
})

describe('callback exporter', () => {
  test('delivers every record once, in order, in batches; acknowledged once it returns', async (t) => {
    const { streams } = openStore(t)
    streams.create({ name: 'sales', max_bytes: 1 << 20, when_full: 'reject' })
    streams.addExporter('sales', { name: 'app', sink: { type: 'callback' }, batch_max_records: 3 })
    const batches = []
    streams.setCallback('sales', 'app', (batch) => {
      batches.push(batch)
    })
    for (let i = 1; i <= 10; i++) streams.append('sales', { i })
    streams.start()
    t.after(() => streams.stop())
    assert.equal(streams.running, true)
    assert.equal(await streams.flush(10_000), true)

    const seqs = batches.flatMap((b) => b.records.map((r) => r.seq))
    assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert.ok(batches.every((b) => b.records.length <= 3))
    const first = batches[0]
    assert.equal(first.store, config.storeId)
    assert.equal(first.device, config.deviceId)
    assert.equal(first.stream, 'sales')
    assert.equal(first.format, 'json')
    assert.equal(first.firstSeq, 1)
    assert.equal(first.lastSeq, first.records.at(-1).seq)
    assert.equal(first.idempotencyKey, `${config.storeId}/${config.deviceId}/sales/1-${first.lastSeq}`)
    assert.deepEqual(JSON.parse(text(first.records[0].payload)), { i: 1 })

    const [exporter] = streams.streamStatus('sales').exporters
    assert.equal(exporter.acked_seq, 10)
    assert.equal(exporter.backlog_records, 0)
    assert.equal(exporter.delivered_records, 10)
    assert.equal(exporter.state, 'idle')
    // Acknowledged by its only exporter: freed.
    assert.equal(streams.streamStatus('sales').records, 0)
  })

  test('a throw retries the batch with backoff; its message is the last error', async (t) => {
    const { streams } = openStore(t)
    streams.create({ name: 'sales', max_bytes: 1 << 20, when_full: 'reject' })
    streams.addExporter('sales', { name: 'hq', sink: { type: 'callback' }, retry: fastRetry })
    const calls = []
    const failedTwice = signal()
    streams.setCallback('sales', 'hq', (batch) => {
      calls.push(batch.records.map((r) => r.seq))
      if (calls.length <= 2) {
        if (calls.length === 2) failedTwice.resolve(streams.streamStatus('sales').exporters[0])
        throw new Error('HQ is down')
      }
    })
    streams.appendBatch('sales', [{ a: 1 }, { a: 2 }])
    streams.start()
    t.after(() => streams.stop())

    const whileFailing = await failedTwice.promise
    assert.equal(whileFailing.last_error, 'HQ is down')
    assert.equal(whileFailing.acked_seq, 0)
    assert.ok(whileFailing.attempts >= 1)
    assert.equal(await streams.flush(10_000), true)
    // The same batch each time, then acknowledged.
    assert.deepEqual(calls, [[1, 2], [1, 2], [1, 2]])
    assert.equal(streams.streamStatus('sales').exporters[0].acked_seq, 2)
  })

  test('an async callback is awaited: a rejection retries, a fulfilment acknowledges', async (t) => {
    const { streams } = openStore(t)
    streams.create({ name: 'sales', max_bytes: 1 << 20, when_full: 'reject' })
    streams.addExporter('sales', { name: 'hq', sink: { type: 'callback' }, retry: fastRetry })
    let calls = 0
    const delivered = []
    const rejected = signal()
    streams.setCallback('sales', 'hq', async (batch) => {
      calls += 1
      await new Promise((r) => setTimeout(r, 5)) // the event loop runs meanwhile
      if (calls === 1) {
        setImmediate(() => rejected.resolve())
        throw new TypeError('timeout talking to HQ')
      }
      delivered.push(...batch.records.map((r) => r.seq))
    })
    streams.append('sales', { a: 1 })
    streams.start()
    t.after(() => streams.stop())
    await rejected.promise
    assert.equal(await streams.flush(10_000), true)
    assert.deepEqual(delivered, [1])
    assert.equal(calls, 2)
    const [exporter] = streams.streamStatus('sales').exporters
    assert.equal(exporter.acked_seq, 1)
  })

  test('a callback that throws a non-Error value is retried too', async (t) => {
    const { streams } = openStore(t)
    streams.create({ name: 's', max_bytes: 4096, when_full: 'reject' })
    streams.addExporter('s', { name: 'hq', sink: { type: 'callback' }, retry: fastRetry })
    let calls = 0
    const errors = []
    const thrown = signal()
    streams.setCallback('s', 'hq', () => {
      calls += 1
      if (calls > 1) errors.push(streams.streamStatus('s').exporters[0].last_error)
      if (calls === 1) throw 'plain string'
      if (calls === 2) throw Symbol('odd')
      if (calls === 3) throw { message: 42 }
      thrown.resolve()
    })
    streams.append('s', 1)
    streams.start()
    t.after(() => streams.stop())
    await thrown.promise
    assert.equal(await streams.flush(10_000), true)
    assert.equal(calls, 4)
    assert.deepEqual(errors, ['plain string', 'Symbol(odd)', '[object Object]'])
  })

  test('stop() and close() while a callback hangs: no deadlock, the batch is sent again', async (t) => {
    const dir = tempDir(t)
    const path = join(dir, 'store.db')
    let edge = Edge.open(path, config)
    let streams = edge.streams()
    streams.create({ name: 'sales', max_bytes: 1 << 20, when_full: 'reject' })
    streams.addExporter('sales', { name: 'hq', sink: { type: 'callback' }, retry: fastRetry })
    const called = signal()
    streams.setCallback('sales', 'hq', () => {
      called.resolve()
      return new Promise(() => {}) // never settles
    })
    streams.append('sales', { a: 1 })
    streams.start()
    await called.promise
    // The worker waits for that Promise: the sync stop must release it, not wait for it.
    streams.stop()
    assert.equal(streams.running, false)
    assert.equal(streams.streamStatus('sales').exporters[0].acked_seq, 0)
    assert.equal(await streams.flush(50), false)

    // Again, then close the store instead of stopping.
    const again = signal()
    streams.setCallback('sales', 'hq', () => {
      again.resolve()
      return new Promise(() => {})
    })
    streams.start()
    await again.promise
    edge.close()
    assert.equal(edge.closed, true)

    // After a reopen (callbacks are not persisted) the batch is delivered.
    edge = Edge.open(path, config)
    t.after(() => edge.close())
    streams = edge.streams()
    assert.equal(streams.streamStatus('sales').exporters[0].state, 'stopped')
    const got = []
    streams.setCallback('sales', 'hq', (batch) => {
      got.push(...batch.records.map((r) => r.seq))
    })
    streams.start()
    assert.equal(await streams.flush(10_000), true)
    assert.deepEqual(got, [1])
    await streams.stopAsync()
    assert.equal(streams.running, false)
  })

  test('a callback may use the store, and stop forwarding from inside', async (t) => {
    const { streams } = openStore(t)
    streams.create({ name: 'in', max_bytes: 1 << 20, when_full: 'reject' })
    streams.create({ name: 'out', max_bytes: 1 << 20, when_full: 'reject' })
    streams.addExporter('in', { name: 'copy', sink: { type: 'callback' } })
    const stopped = signal()
    streams.setCallback('in', 'copy', (batch) => {
      for (const r of batch.records) streams.append('out', r.payload)
      if (batch.records.some((r) => JSON.parse(text(r.payload)).last)) {
        streams.stop()
        stopped.resolve()
      }
    })
    streams.append('in', { n: 1 })
    streams.start()
    assert.equal(await streams.flush(10_000), true)
    streams.append('in', { last: true })
    await stopped.promise
    assert.equal(streams.running, false)
    assert.deepEqual(streams.read('out', 0, 10).map((r) => JSON.parse(text(r.payload))), [{ n: 1 }, { last: true }])
  })

  test('running with a callback keeps the process alive; close() lets it end', (t) => {
    // The script ends right after start(): only forwarding is left to keep Node running, and
    // the callback closes the store. Without the hold the process would end before the
    // callback ran; without the release it would never end.
    const script = `
      import { Edge } from '@aisle/core'
      const edge = Edge.open(process.argv[1], { storeId: 's', deviceId: 'd', currency: 'EUR' })
      const streams = edge.streams()
      streams.create({ name: 'x', max_bytes: 1000, when_full: 'reject' })
      streams.addExporter('x', { name: 'app', sink: { type: 'callback' } })
      streams.setCallback('x', 'app', (batch) => {
        console.log('delivered ' + batch.records.length)
        edge.close()
      })
      streams.append('x', 1)
      streams.start()
    `
    const pkg = join(dirname(fileURLToPath(import.meta.url)), '..')
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, join(tempDir(t), 'store.db')], {
      cwd: pkg,
      encoding: 'utf8',
      timeout: 30_000,
    })
    assert.equal(child.error, undefined, 'the process did not end')
    assert.equal(child.status, 0, child.stderr)
    assert.equal(child.stdout.trim(), 'delivered 1')
  })

  test('a paused exporter keeps its place; flush waits for enabled exporters only', async (t) => {
    const { streams } = openStore(t)
    streams.create({ name: 's', max_bytes: 4096, when_full: 'reject' })
    streams.addExporter('s', { name: 'hq', sink: { type: 'callback' }, enabled: false })
    const got = []
    streams.setCallback('s', 'hq', (b) => {
      got.push(...b.records.map((r) => r.seq))
    })
    streams.appendBatch('s', [1, 2])
    streams.start()
    t.after(() => streams.stop())
    assert.equal(await streams.flush(1_000), true)
    assert.deepEqual(got, [])
    assert.equal(streams.streamStatus('s').exporters[0].state, 'disabled')
    streams.setExporterEnabled('s', 'hq', true)
    assert.equal(await streams.flush(10_000), true)
    assert.deepEqual(got, [1, 2])
  })
})

describe('Ingest', () => {
  test('applies NDJSON files a directory exporter wrote, exactly once', async (t) => {
    const { streams, dir } = openStore(t)
    const outbox = join(dir, 'usb')
    streams.create({ name: 'sales', max_bytes: 1 << 20, when_full: 'reject' })
    streams.addExporter('sales', {
      name: 'usb',
      sink: { type: 'directory', path: outbox, max_file_bytes: 200 },
      batch_max_records: 4,
    })
    for (let i = 1; i <= 12; i++) streams.append('sales', { receipt: `R-${i}`, total: i * 100 })
    streams.start()
    t.after(() => streams.stop())
    assert.equal(await streams.flush(10_000), true)
    await streams.stopAsync()

    const files = readdirSync(outbox).sort()
    assert.ok(files.length > 1, `several rolled files, got ${files}`)
    const ingest = Ingest.open(join(tempDir(t), 'hq.db'))
    const applied = []
    for (const file of files) {
      const report = ingest.receive(readFileSync(join(outbox, file)), null, (batch) => {
        assert.equal(batch.stream, 'sales')
        for (const r of batch.records) applied.push([r.seq, JSON.parse(text(r.payload)).receipt])
      })
      assert.equal(report.store, config.storeId)
      assert.equal(report.device, config.deviceId)
      assert.equal(report.duplicates, 0)
    }
    assert.deepEqual(applied, Array.from({ length: 12 }, (_, i) => [i + 1, `R-${i + 1}`]))
    assert.equal(ingest.highWater(config.storeId, config.deviceId, 'sales'), 12)

    // A file received twice (a retried upload) applies nothing the second time.
    const again = ingest.receive(readFileSync(join(outbox, files[0])), null, () => {
      throw new Error('must not be called: nothing is new')
    })
    assert.equal(again.applied, 0)
    assert.ok(again.duplicates > 0)
    assert.equal(again.high_seq, 12)
  })

  test('a callback exporter re-encodes its batches for an Ingest, gzip-compressed', async (t) => {
    const { streams } = openStore(t)
    streams.create({ name: 'frames', max_bytes: 1 << 20, when_full: 'reject', format: 'bytes' })
    streams.addExporter('frames', { name: 'hq', sink: { type: 'callback' }, batch_max_records: 2 })
    const ingest = Ingest.openInMemory()
    const seen = []
    const reports = []
    streams.setCallback('frames', 'hq', (batch) => {
      const body = gzipSync(encodeBatch(batch))
      reports.push(ingest.receive(body, 'gzip', (b) => seen.push(...b.records.map((r) => [r.seq, [...r.payload]]))))
      // A lost response makes the exporter send it again: the second copy is a duplicate.
      reports.push(ingest.receive(encodeBatch(batch, 'ndjson'), null))
    })
    streams.appendBatch('frames', [Uint8Array.from([1]), Uint8Array.from([2, 2]), Uint8Array.from([3, 3, 3])])
    streams.start()
    t.after(() => streams.stop())
    assert.equal(await streams.flush(10_000), true)

    assert.deepEqual(seen, [
      [1, [1]],
      [2, [2, 2]],
      [3, [3, 3, 3]],
    ])
    assert.deepEqual(
      reports.map((r) => [r.key, r.applied, r.duplicates, r.high_seq]),
      [
        [`${config.storeId}/${config.deviceId}/frames/1-2`, 2, 0, 2],
        [`${config.storeId}/${config.deviceId}/frames/1-2`, 0, 2, 2],
        [`${config.storeId}/${config.deviceId}/frames/3-3`, 1, 0, 3],
        [`${config.storeId}/${config.deviceId}/frames/3-3`, 0, 1, 3],
      ],
    )
  })

  test('a throwing function rejects the batch: nothing is recorded; the mark survives a reopen', (t) => {
    const path = join(tempDir(t), 'hq.db')
    const body = encodeBatch({
      store: 's1',
      device: 'd1',
      stream: 'sales',
      records: [
        { seq: 1, atMs: 1_700_000_000_000, payload: Buffer.from('{"a":1}') },
        { seq: 2, atMs: 1_700_000_000_001, payload: Buffer.from('{"a":2}') },
      ],
    })
    let ingest = Ingest.open(path)
    const err = assertThrowsCode(
      () =>
        ingest.receive(body, null, () => {
          throw new Error('warehouse DB is read-only')
        }),
      'INGEST_REJECTED',
    )
    assert.match(err.message, /warehouse DB is read-only/)
    assert.equal(errorKind(err.code), 'forward')
    assert.equal(ingest.highWater('s1', 'd1', 'sales'), 0)

    // An async function cannot finish inside the transaction: refused the same way.
    assertThrowsCode(() => ingest.receive(body, null, async () => {}), 'INGEST_REJECTED')
    // Using the ingest from inside its own function would wait for itself: refused.
    assertThrowsCode(() => ingest.receive(body, null, () => ingest.highWater('s1', 'd1', 'sales')), 'INGEST_REJECTED')
    assert.equal(ingest.highWater('s1', 'd1', 'sales'), 0)

    assert.equal(ingest.receive(body.toString('utf8'), undefined).applied, 2)
    ingest = Ingest.open(path)
    assert.equal(ingest.highWater('s1', 'd1', 'sales'), 2)
    assert.equal(ingest.receive(body, null).duplicates, 2)
  })

  test('a malformed body is INGEST_REJECTED', () => {
    const ingest = Ingest.openInMemory()
    assertThrowsCode(() => ingest.receive('', null), 'INGEST_REJECTED')
    assertThrowsCode(() => ingest.receive('{"store":"s"}', null), 'INGEST_REJECTED')
    assertThrowsCode(() => ingest.receive(Buffer.from('{}'), 'brotli'), 'INGEST_REJECTED')
    assertThrowsCode(() => ingest.receive(42, null), 'INVALID_ARGUMENT')
  })
})
