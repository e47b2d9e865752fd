// The shared commerce vectors (tests/vectors/commerce/*.json, format in tests/vectors/README.md),
// run through the Node binding: the same requests and expectations as in Rust, Python and
// Kotlin, so the languages cannot disagree by a cent. Each vector is its own subtest, named
// after the vector; the suite then fails once, listing every vector that failed.
import assert from 'node:assert/strict'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { price, priceJson } from '@aisle/core'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const folder = join(root, 'tests', 'vectors', 'commerce')
const MIN_VECTORS = 40

/** The README's matcher: the first path where `actual` does not contain `expected`, or null. */
export function firstMismatch(expected, actual, path = '$') {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      return `${path}: expected ${expected.length} elements, got ${JSON.stringify(actual)}`
    }
    for (let i = 0; i < expected.length; i++) {
      const found = firstMismatch(expected[i], actual[i], `${path}[${i}]`)
      if (found) return found
    }
    return null
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return `${path}: expected an object, got ${JSON.stringify(actual)}`
    }
    for (const [key, value] of Object.entries(expected)) {
      if (!Object.hasOwn(actual, key)) return `${path}.${key}: missing (expected ${JSON.stringify(value)})`
      const found = firstMismatch(value, actual[key], `${path}.${key}`)
      if (found) return found
    }
    return null
  }
  // Strict: true never equals 1, "5" never equals 5.
  return expected === actual ? null : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`
}

/**
 * The text of the top-level member `key` of the JSON object in `text`, exactly as written:
 * the request goes to priceJson verbatim (JSON.parse + JSON.stringify would turn `10.0` into
 * `10` and lose digits past 2^53).
 */
export function rawMember(text, key) {
  let i = 0
  const ws = () => {
    while (/\s/.test(text[i] ?? '')) i++
  }
  const string = () => {
    const start = i++
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1
    i++
    return JSON.parse(text.slice(start, i))
  }
  const value = () => {
    const start = i
    let depth = 0
    while (i < text.length) {
      const c = text[i]
      if (c === '"') {
        string()
        continue
      }
      if (c === '{' || c === '[') depth++
      else if (c === '}' || c === ']') {
        if (depth === 0) break
        depth--
      } else if (c === ',' && depth === 0) break
      i++
    }
    return text.slice(start, i).trim()
  }
  ws()
  if (text[i++] !== '{') throw new Error('a vector must be a JSON object')
  for (;;) {
    ws()
    if (text[i] === '}') break
    const name = string()
    ws()
    i++ // ':'
    ws()
    const raw = value()
    if (name === key) return raw
    ws()
    if (text[i] === ',') i++
  }
  throw new Error(`the vector has no "${key}"`)
}

/** Runs one vector; returns why it failed, or null. */
function runVector(vector, requestText) {
  let actual
  try {
    actual = JSON.parse(priceJson(requestText))
  } catch (err) {
    if (typeof err?.code !== 'string') throw err
    if (!vector.error) return `expected a result, got the error ${err.message}`
    if (err.code !== vector.error.code) return `$error.code: expected ${vector.error.code}, got ${err.code} (${err.message})`
    const part = vector.error.message_contains
    if (part !== undefined && !err.message.includes(part)) {
      return `$error.message: expected it to contain ${JSON.stringify(part)}, got ${JSON.stringify(err.message)}`
    }
    return null
  }
  if (vector.error) return `expected the error ${JSON.stringify(vector.error)}, got a result`
  return firstMismatch(vector.expect, actual)
}

/** `price(object)` must agree with `priceJson(text)`: same result, or same error (whose text
 * may differ only in the line and column serde names, as the texts are laid out differently). */
function runAsObject(vector, requestText) {
  const failure = (err) => ({ code: err.code, message: err.message.replace(/ at line \d+ column \d+/g, '') })
  let viaText
  try {
    viaText = { result: JSON.parse(priceJson(requestText)) }
  } catch (err) {
    viaText = failure(err)
  }
  let viaObject
  try {
    viaObject = { result: price(vector.request) }
  } catch (err) {
    viaObject = failure(err)
  }
  assert.deepEqual(viaObject, viaText, 'price(request) disagrees with priceJson(text)')
}

const files = existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.json')).sort() : null

test('shared commerce vectors', async (t) => {
  assert.ok(files, `no vector folder at ${folder}: the shared vectors (tests/vectors/commerce/*.json) must be there`)
  assert.ok(files.length >= MIN_VECTORS, `only ${files.length} vectors in ${folder}; expected at least ${MIN_VECTORS}`)
  const failures = []
  for (const file of files) {
    await t.test(file.replace(/\.json$/, ''), () => {
      try {
        const text = readFileSync(join(folder, file), 'utf8')
        const vector = JSON.parse(text)
        assert.equal(`${vector.name}.json`, file, 'the name must be the file name')
        assert.ok(('expect' in vector) !== ('error' in vector), 'a vector has exactly one of expect and error')
        const requestText = rawMember(text, 'request')
        assert.deepEqual(JSON.parse(requestText), vector.request, 'rawMember read the request')
        const failure = runVector(vector, requestText)
        assert.equal(failure, null, `${vector.name}: ${failure}`)
        // The object API on the same input; a float literal such as 10.0 has no JS form, so
        // only requests whose numbers JS holds exactly are compared.
        if (!/(?<!["\w.])-?\d+(?:\.\d+|[eE])/.test(requestText.replace(/"(?:[^"\\]|\\.)*"/g, '""'))) {
          runAsObject(vector, requestText)
        }
      } catch (err) {
        failures.push(`${file}: ${err.message.split('\n')[0]}`)
        throw err
      }
    })
  }
  assert.equal(failures.length, 0, `${failures.length} of ${files.length} vectors failed:\n${failures.join('\n')}`)
})

test('the matcher follows the README', () => {
  const actual = { lines: [{ sku: 'A', amount: { minor: 338, currency: 'EUR' } }], total: { minor: 838 }, ok: true }
  assert.equal(firstMismatch({ lines: [{ sku: 'A' }] }, actual), null)
  assert.equal(firstMismatch({ lines: [{}] }, actual), null)
  assert.equal(firstMismatch({ lines: [{ amount: { minor: 337 } }] }, actual), '$.lines[0].amount.minor: expected 337, got 338')
  assert.match(firstMismatch({ lines: [{}, {}] }, actual), /^\$\.lines: expected 2 elements/)
  assert.match(firstMismatch({ missing: null }, actual), /^\$\.missing: missing/)
  assert.equal(firstMismatch({ ok: 1 }, actual), '$.ok: expected 1, got true')
  assert.equal(firstMismatch({ total: [] }, actual), '$.total: expected 0 elements, got {"minor":838}')
  assert.equal(rawMember('{"name": "x", "request": {"a": [1, "}"], "b": 10.0}, "expect": {}}', 'request'), '{"a": [1, "}"], "b": 10.0}')
})
