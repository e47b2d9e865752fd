import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

import * as esm from '@aisle/core'

const require = createRequire(import.meta.url)

test('ESM and CommonJS entry points expose the same binding', () => {
  const cjs = require('@aisle/core')
  const names = Object.keys(cjs).filter((k) => !k.startsWith('__'))
  assert.ok(names.includes('Edge') && names.includes('Money') && names.includes('Cart'), names.join())
  for (const name of names) assert.equal(esm[name], cjs[name], name)
  assert.equal(esm.default, cjs)
  assert.equal(new esm.Money(606, 'EUR').toString(), '6.06 EUR')
})
