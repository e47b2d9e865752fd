// The Node replica of the cross-language sync check (see PROTOCOL.md in this folder).
import { createInterface } from 'node:readline'

// Loaded by path: this folder is outside the package (index.mjs is its ESM entry point).
import { Edge, Money } from '../../bindings-node/index.mjs'

const b64 = (bytes) => Buffer.from(bytes).toString('base64')
const raw = (text) => Buffer.from(text, 'base64')

function run(state, cmd) {
  if (cmd.op === 'open') {
    const edge = Edge.open(cmd.path, { storeId: cmd.store, deviceId: cmd.device, currency: 'EUR' })
    edge.sync().setRole(cmd.role)
    state.edge = edge
    return { card: JSON.stringify(edge.sync().identity()) }
  }
  const edge = state.edge
  const sync = edge.sync()
  switch (cmd.op) {
    case 'enroll':
      sync.enroll(cmd.card)
      return {}
    case 'request':
      return { bytes: b64(sync.request()) }
    case 'changes_since':
      return { chunks: sync.changesSince(raw(cmd.bytes)).map(b64) }
    case 'apply':
      return { changed: sync.apply(raw(cmd.bytes)).changed }
    case 'stock_add':
      return { level: sync.stockAdd(cmd.sku, cmd.location, cmd.delta) }
    case 'stocktake':
      sync.stocktake(cmd.sku, cmd.location, cmd.count)
      return {}
    case 'cart_add':
      sync.cartAdd(cmd.cart, cmd.sku, cmd.quantity)
      return {}
    case 'cart_remove':
      sync.cartRemove(cmd.cart, cmd.sku)
      return {}
    case 'customer_upsert':
      sync.upsertCustomer(cmd.id, cmd.fields)
      return {}
    case 'customer_delete':
      return { deleted: sync.deleteCustomer(cmd.id) }
    case 'price':
      edge.upsertProduct({ sku: cmd.sku, name: cmd.name, price: new Money(cmd.price_minor, 'EUR'), taxCategory: 'standard' })
      return {}
    case 'state': {
      let priceMinor = null
      try {
        priceMinor = edge.product(cmd.sku).price.minor
      } catch (e) {
        if (e.code !== 'UNKNOWN_SKU') throw e
      }
      return {
        level: sync.stockLevel(cmd.sku, cmd.location),
        lines: sync.cartLines(cmd.cart).map((l) => [l.sku, l.quantity]),
        customer: sync.customer(cmd.customer),
        price_minor: priceMinor,
      }
    }
    case 'digest':
      return { digest: sync.digest(cmd.scope) }
    default: {
      const err = new Error(`INVALID_ARGUMENT: unknown op ${JSON.stringify(cmd.op)}`)
      err.code = 'INVALID_ARGUMENT'
      throw err
    }
  }
}

const state = {}
const rl = createInterface({ input: process.stdin })
for await (const line of rl) {
  if (!line.trim()) continue
  const cmd = JSON.parse(line)
  if (cmd.op === 'quit') {
    process.stdout.write(JSON.stringify({ ok: true }) + '\n')
    break
  }
  let answer
  try {
    answer = { ok: true, ...run(state, cmd) }
  } catch (e) {
    if (typeof e?.code !== 'string') throw e
    answer = { ok: false, code: e.code, message: e.message }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
}
state.edge?.close()
rl.close()
