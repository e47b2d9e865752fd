// Edge vision from Node with the real models and photos (scripts/models.sh; test-node.sh sets
// AISLE_MODELS): persons where they stand, frames read in place from Buffers (views with a
// stride, BGR/BGRA), a pipeline panning over the crowd that puts insights in the store's
// forward stream, drops counted with a queue of one, hot model replacement, typed errors.
import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { Detector, Edge, Model, Pipeline, decodeImage, errorKind, loadImage } from '@aisle/core'
import { assertThrowsCode, config, tempDir } from './helpers.mjs'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const models = process.env.AISLE_MODELS ?? join(repo, 'target', 'models')
const PERSON = join(models, 'person-ssdlite.model.json')
const FACES = join(models, 'centerface.model.json')
if (!existsSync(PERSON)) throw new Error(`no models in ${models}: run \`bash scripts/models.sh ensure\``)

const person = Model.load(PERSON)
const city = loadImage(join(models, 'city.jpg'))

function iou(a, b) {
  const w = Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0))
  const h = Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0))
  const union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - w * h
  return union > 0 ? (w * h) / union : 0
}
const region = (x0, y0, x1, y1) => ({ x0, y0, x1, y1 })

function openStore(t) {
  const edge = Edge.open(join(tempDir(t), 'store.db'), { ...config, deviceId: 'cam-box-1' })
  t.after(() => edge.close())
  return edge
}

/** The insight events of a stream, parsed. */
function events(edge, stream = 'vision') {
  return edge.streams().read(stream, 0, 1000).map((r) => JSON.parse(Buffer.from(r.payload).toString('utf8')))
}

test('a model loads verified and finds persons where they stand', () => {
  assert.equal(person.name, 'person-ssdlite-mobilenetv2')
  assert.deepEqual(person.classes, ['background', 'person'])
  assert.equal(person.sha256.length, 64)
  assert.equal(person.descriptor().input.width, 300)
  assert.ok(Model.load(join(models, 'blazeface-128.model.json')).fixes.length > 0)
  const detector = new Detector(person)
  const astronaut = detector.detect(loadImage(join(models, 'astronaut.png')))
  assert.deepEqual(astronaut.map((d) => d.label), ['person'])
  assert.ok(iou(astronaut[0].bbox, region(15, 15, 370, 512)) > 0.6, JSON.stringify(astronaut))
  const crowd = detector.detect(city)
  for (const r of [region(290, 115, 410, 470), region(540, 135, 690, 515), region(173, 98, 320, 475), region(20, 118, 135, 525)]) {
    assert.ok(Math.max(...crowd.map((d) => iou(d.bbox, r))) > 0.6, `${JSON.stringify(r)} in ${JSON.stringify(crowd)}`)
  }
  assert.ok(crowd.every((d) => d.classId === 1 && d.score >= 0.5 && d.keypoints.length === 0))
  const faces = new Detector(Model.load(FACES)).detect(city)
  assert.ok(faces.length >= 4 && faces.every((d) => d.label === 'face' && d.keypoints.length === 5))
})

test('frames are read from Buffers in place: views with a stride, BGR and BGRA', async () => {
  const detector = new Detector(person)
  const expected = detector.detect(city)
  assert.equal(city.data.length, 800 * 564 * 3)
  assert.deepEqual(city, { data: city.data, width: 800, height: 564, stride: 2400, format: 'rgb', timestampMs: 0 })
  const { data } = city
  const bgr = Buffer.alloc(data.length)
  const bgra = Buffer.alloc(800 * 564 * 4 + 32 * 564)
  for (let p = 0, y = 0; y < 564; y++) {
    for (let x = 0; x < 800; x++, p += 3) {
      bgr[p] = data[p + 2]; bgr[p + 1] = data[p + 1]; bgr[p + 2] = data[p]
      const q = y * (800 * 4 + 32) + x * 4
      bgra[q] = data[p + 2]; bgra[q + 1] = data[p + 1]; bgra[q + 2] = data[p]; bgra[q + 3] = 255
    }
  }
  assert.deepEqual(detector.detect({ data: bgr, width: 800, height: 564, format: 'bgr' }), expected)
  assert.deepEqual(detector.detect({ data: new Uint8Array(bgra.buffer, bgra.byteOffset, bgra.length), width: 800, height: 564, stride: 800 * 4 + 32, format: 'bgra' }), expected)
  // A crop without copying: a view starting at column 100, the photo's stride.
  const crop = { data: data.subarray(100 * 3), width: 560, height: 564, stride: 2400 }
  const packed = Buffer.alloc(560 * 564 * 3)
  for (let y = 0; y < 564; y++) packed.set(data.subarray(y * 2400 + 300, y * 2400 + 300 + 1680), y * 1680)
  assert.deepEqual(detector.detect(crop), detector.detect({ data: packed, width: 560, height: 564 }))
  // The Promise twin gives the same, off the event loop.
  assert.deepEqual(await detector.detectAsync(city), expected)
  const png = readFileSync(join(models, 'astronaut.png'))
  assert.equal(detector.detect(decodeImage(png, 7)).length, 1)
})

test('bad frames, images and descriptors are typed errors', async (t) => {
  const detector = new Detector(person)
  const e = assertThrowsCode(() => detector.detect({ data: Buffer.alloc(3), width: 2, height: 2 }), 'FRAME_INVALID')
  assert.match(e.message, /needs 12 bytes, the buffer has 3/)
  assert.equal(errorKind(e.code), 'vision')
  assertThrowsCode(() => detector.detect({ data: Buffer.alloc(12), width: 2, height: 2, format: 'yuv' }), 'FRAME_INVALID')
  assertThrowsCode(() => detector.detect({ data: Buffer.alloc(12), width: 2.5, height: 2 }), 'FRAME_INVALID')
  assertThrowsCode(() => detector.detect({ data: Buffer.alloc(12), width: 2, height: 2, stride: 5 }), 'FRAME_INVALID')
  assertThrowsCode(() => detector.detect({ data: Buffer.alloc(12), width: -2, height: 2 }), 'FRAME_INVALID')
  await assert.rejects(detector.detectAsync({ data: Buffer.alloc(3), width: 2, height: 2 }), { code: 'FRAME_INVALID' })
  assertThrowsCode(() => decodeImage(Buffer.from('not an image')), 'IMAGE_INVALID')
  assertThrowsCode(() => loadImage(join(models, 'manifest.json')), 'IMAGE_INVALID')

  const dir = tempDir(t)
  const descriptor = JSON.parse(readFileSync(PERSON, 'utf8'))
  const edited = (change) => {
    const d = structuredClone(descriptor)
    d.model = join(models, d.model)
    change(d)
    const path = join(dir, 'edited.model.json')
    writeFileSync(path, JSON.stringify(d))
    return path
  }
  assertThrowsCode(() => Model.load(edited((d) => { d.sha256 = '0'.repeat(64) })), 'MODEL_HASH_MISMATCH')
  assertThrowsCode(() => Model.load(edited((d) => { d.input.colour_order = 'rgb' })), 'MODEL_DESCRIPTOR_INVALID')
  assertThrowsCode(() => Model.load(edited((d) => { d.model = join(dir, 'missing.onnx') })), 'MODEL_IO')
  await assert.rejects(Model.loadAsync(edited((d) => { d.sha256 = '0'.repeat(64) })), { code: 'MODEL_HASH_MISMATCH' })
  // From bytes: the descriptor as an object or JSON text, the hash still checked.
  const bytes = readFileSync(join(models, descriptor.model))
  const { model: _file, ...inline } = descriptor
  assert.equal(Model.fromBytes(inline, bytes).sha256, descriptor.sha256)
  assertThrowsCode(() => Model.fromBytes(JSON.stringify(inline), bytes.subarray(1)), 'MODEL_HASH_MISMATCH')
  assert.equal((await Model.loadAsync(PERSON)).name, person.name)
})

test('a camera panning over the crowd puts insights in the forward stream', async (t) => {
  const edge = openStore(t)
  const analytics = {
    camera: 'entrance-1',
    interval_ms: 1000,
    track_timeout_ms: 500,
    lines: [{ name: 'door', from: [300, -100], to: [300, 700], hysteresis_px: 10 }],
    zones: [{ name: 'till-1', kind: 'queue', polygon: [[0, 300], [200, 300], [200, 564], [0, 564]] }],
  }
  const camera = new Pipeline(edge, person, analytics)
  assert.deepEqual([camera.camera, camera.stream, camera.model.name], ['entrance-1', 'vision', person.name])
  // A 560-px window panning right by 12 px per frame at 10 fps: views into the photo's Buffer.
  for (let f = 0; f < 20; f++) {
    await camera.pushBlockingAsync({ data: city.data.subarray(12 * f * 3), width: 560, height: 564, stride: 2400, timestampMs: f * 100 })
  }
  const report = await camera.stopAsync()
  const s = report.stats
  assert.deepEqual([s.framesIn, s.framesProcessed, s.framesDropped, s.framesFailed], [20, 20, 0, 0])
  assert.deepEqual([s.insights, s.insightsFailed, s.lastError], [2, 0, undefined])
  assert.ok(s.tracker.matchedHigh > 0.8 * s.tracker.high, JSON.stringify(s))
  assert.equal(report.finalInsight.start_ms, 1000)
  assert.deepEqual(camera.stop(), report) // a second stop: the same report

  const got = events(edge)
  assert.deepEqual(got.map((e) => [e.type, e.version, e.at_ms]), [['VisionInsight', 1, 1000], ['VisionInsight', 1, 2000]])
  for (const { data } of got) {
    assert.deepEqual([data.camera, data.frames, data.frames_dropped, data.model], ['entrance-1', 10, 0, person.name])
    assert.deepEqual(Object.keys(data).sort(), ['camera', 'end_ms', 'frames', 'frames_dropped', 'lines', 'model', 'start_ms', 'zones'])
    assert.ok(data.zones[0].occupancy_max >= 1, JSON.stringify(data.zones[0]))
  }
  // The scene slides left: people cross the door line one way only.
  const ins = got.reduce((n, e) => n + e.data.lines[0].in, 0)
  const outs = got.reduce((n, e) => n + e.data.lines[0].out, 0)
  assert.ok(ins >= 2 && outs === 0, JSON.stringify(got))
  assertThrowsCode(() => camera.push(city), 'INVALID_ARGUMENT')
})

test('pushing faster than inference drops the oldest frames and counts them', (t) => {
  const edge = openStore(t)
  const camera = new Pipeline(edge, person, '{"camera": "till-2", "interval_ms": 1000}', { queueCapacity: 1, stream: 'till' })
  const pushed = []
  for (let i = 0; i < 30; i++) pushed.push(camera.push({ ...city, timestampMs: i * 10 }))
  assert.equal(pushed[0], 'queued')
  assert.ok(pushed.includes('dropped_oldest'), pushed.join())
  assert.ok(camera.waitIdle(30_000))
  const s = camera.stats()
  assert.deepEqual([s.framesIn, s.queueCapacity, s.queuedMax], [30, 1, 1])
  assert.equal(s.framesDropped, pushed.filter((p) => p === 'dropped_oldest').length)
  assert.equal(s.framesProcessed + s.framesDropped, 30)
  assert.equal(camera.stop().discarded, 0)
  const [event] = events(edge, 'till')
  assert.equal(event.data.frames_dropped, s.framesDropped)
})

test('the model is replaced without stopping the camera', async (t) => {
  const edge = openStore(t)
  // Only people (class 1 of the person model) count, in a zone that is the whole picture.
  const camera = new Pipeline(edge, person, {
    camera: 'aisle-4', interval_ms: 1000, classes: [1],
    zones: [{ name: 'all', polygon: [[0, 0], [800, 0], [800, 564], [0, 564]] }],
  })
  for (const ts of [0, 100, 200]) camera.pushBlocking({ ...city, timestampMs: ts })
  assert.ok(await camera.waitIdleAsync(30_000))
  const old = camera.replaceModel(Model.load(FACES))
  assert.deepEqual([old.name, camera.model.name], [person.name, 'centerface'])
  for (const ts of [1000, 1100, 1200]) camera.pushBlocking({ ...city, timestampMs: ts })
  const s = camera.stop().stats
  assert.deepEqual([s.framesProcessed, s.modelReplacements, s.framesFailed], [6, 1, 0])
  const [first, second] = events(edge).map((e) => e.data)
  assert.ok(first.zones[0].occupancy_max >= 4, JSON.stringify(first))
  assert.deepEqual([second.zones[0].occupancy_max, second.model], [0, 'centerface'])
  // The detector's model is replaced the same way.
  const detector = new Detector(person)
  assert.equal(detector.replaceModel(camera.model).name, person.name)
  assert.ok(detector.detect(city).every((d) => d.label === 'face'))
})

test('bad pipeline settings are typed errors', (t) => {
  const edge = openStore(t)
  assertThrowsCode(() => new Pipeline(edge, person, { camera: 'c', zones: [{ name: 'z', polygon: [[0, 0]] }] }), 'ANALYTICS_CONFIG_INVALID')
  assertThrowsCode(() => new Pipeline(edge, person, '{"camera": "c", "colour": 1}'), 'ANALYTICS_CONFIG_INVALID')
  assertThrowsCode(() => new Pipeline(edge, person, { camera: 'c' }, { queueCapacity: 0 }), 'INVALID_ARGUMENT')
  const camera = new Pipeline(edge, person, { camera: 'c' })
  assertThrowsCode(() => camera.push({ data: Buffer.alloc(10), width: 4, height: 4 }), 'FRAME_INVALID')
  assertThrowsCode(() => camera.waitIdle(-1), 'INVALID_ARGUMENT')
  assert.equal(camera.stop(true).stats.framesIn, 0)
})
