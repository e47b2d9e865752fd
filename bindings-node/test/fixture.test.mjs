// Reads a store file written by the Rust core (examples/write_fixture.rs): every binding must
// read the file format the native core writes. scripts/test-node.sh generates the file, passes
// its path in AISLE_RUST_FIXTURE and sets AISLE_REQUIRE_RUST_FIXTURE=1, so there (and in CI)
// a missing fixture fails instead of skipping.
import assert from 'node:assert/strict'
import { copyFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { Edge } from '@aisle/core'
import { tempDir } from './helpers.mjs'

const fixture = process.env.AISLE_RUST_FIXTURE
const required = process.env.AISLE_REQUIRE_RUST_FIXTURE === '1' || Boolean(process.env.CI)
const skip = !fixture && !required ? 'AISLE_RUST_FIXTURE not set (scripts/test-node.sh sets it)' : false

test('reads a store file written by Rust', { skip }, (t) => {
  assert.ok(fixture, 'AISLE_RUST_FIXTURE must name the store file written by write_fixture')
  assert.ok(existsSync(fixture), `Rust fixture ${fixture} does not exist`)
  const path = join(tempDir(t), 'rust-fixture.db')
  copyFileSync(fixture, path) // opening writes WAL files: keep the original untouched

  const edge = Edge.open(path, { storeId: 'fixture-store', deviceId: 'rust-writer', currency: 'EUR' })
  assert.deepEqual(edge.products().map((p) => [p.sku, p.price.toString(), p.taxCategory]), [
    ['BREAD-500G', '2.49 EUR', 'reduced'],
    ['MILK-1L', '1.19 EUR', 'reduced'],
    ['WINE-RED', '8.90 EUR', 'standard'],
  ])
  assert.deepEqual(edge.cartIds(), ['rust-writer-cart-1'])
  const cart = edge.cart('rust-writer-cart-1')
  assert.deepEqual(
    cart.lines().map((l) => [l.sku, l.quantity, l.unitPrice.minor, l.lineTotal.minor]),
    [['MILK-1L', 3, 119, 357], ['BREAD-500G', 1, 249, 249]],
  )
  assert.equal(cart.subtotal().minor, 606)
  assert.equal(cart.subtotal().toString(), '6.06 EUR')
  // Node continues where Rust left off.
  assert.equal(edge.newCart().id, 'rust-writer-cart-2')
})
