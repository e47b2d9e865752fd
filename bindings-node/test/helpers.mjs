// Shared helpers for the node:test suites (not a test file itself).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Asserts that `fn` throws a real `Error` carrying the core's `code`, with the core's
 * Display text ("CODE: …") as its message. Returns the error for further checks. */
export function assertThrowsCode(fn, code) {
  let caught
  assert.throws(fn, (err) => {
    caught = err
    assert.ok(err instanceof Error, `expected an Error, got ${err}`)
    assert.equal(err.code, code, `expected code ${code}, got ${err.code}: ${err.message}`)
    assert.ok(err.message.startsWith(`${code}: `), `message should start with the code: ${err.message}`)
    return true
  })
  return caught
}

/** A fresh temporary directory, removed when the calling test ends. */
export function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'aisle-node-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export const config = { storeId: 'store-1', deviceId: 'register-1', currency: 'EUR' }
