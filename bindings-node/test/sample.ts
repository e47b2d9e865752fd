// Type-checked by `tsc` in `npm test` (never run): the typings a TypeScript user gets.
import { Cart, Edge, Ingest, LanServer, Money, Streams, StoredValue, Sync, Syncer, encodeBatch, errorCodes, errorKind, price, priceAsync, priceJson } from '@aisle/core'
import type {
  ApplyReport,
  CartLine,
  DeviceCard,
  PeerStatus,
  RoundReport,
  SyncValue,
  CartStatus,
  Customer,
  EdgeConfig,
  ErrorKind,
  Exchange,
  ExporterConfig,
  ExporterStatus,
  ForwardBatch,
  ForwardRecord,
  IngestReport,
  MoneyValue,
  PriceList,
  PriceResult,
  PricedCart,
  PricedLine,
  PricingRequest,
  Product,
  Promotion,
  Receipt,
  RefundTo,
  RoundingMode,
  Sale,
  SoldBy,
  StoreSettings,
  StoreStats,
  StoredValueAccount,
  StoredValueEntry,
  StoredValueKind,
  StoredValueMovement,
  StreamConfig,
  StreamStatus,
  TaxRegime,
  TenderInput,
} from '@aisle/core'

const config: EdgeConfig = { storeId: 'store-1', deviceId: 'register-1', currency: 'EUR' }
const edge: Edge = Edge.openInMemory(config)
const milk: Product = { sku: 'MILK-1L', name: 'Milk 1 l', price: Money.parse('1.19', 'EUR'), taxCategory: 'reduced' }
edge.upsertProducts([milk])
edge.upsertProduct({ ...milk, price: new Money(129, 'EUR') })
const found: Product | null = edge.findProduct('MILK-1L')

const cart: Cart = edge.newCart()
cart.add('MILK-1L', 3)
cart.setQuantity('MILK-1L', 2)
const lines: CartLine[] = cart.lines()
const firstTotal: Money | undefined = lines[0]?.lineTotal
const subtotal: Money = cart.subtotal()
const minor: number = subtotal.minor
const exact: bigint = subtotal.minorBigInt
const big = new Money(2n ** 60n, 'EUR')
const text: string = `${subtotal}`

const modes: RoundingMode[] = ['half_even', 'half_up', 'half_down', 'up', 'down']
const rounded: Money[] = modes.map((mode) => subtotal.mulDiv(15, 100, mode).roundToIncrement(5, mode))
const parts: Money[] = subtotal.allocate([1, 1, 1])
const stats: StoreStats = edge.stats()
const ids: string[] = edge.cartIds()
const codes: string[] = errorCodes()

try {
  cart.add('NOPE', 1)
} catch (err) {
  const code: string | undefined = err instanceof Error ? (err as Error & { code?: string }).code : undefined
  void code
}

// @ts-expect-error: rounding modes are a closed set
subtotal.mulDiv(1, 2, 'bankers')
// @ts-expect-error: a price is a Money, never a float
edge.upsertProduct({ ...milk, price: 1.19 })
// @ts-expect-error: quantities are numbers
cart.add('MILK-1L', '3')
// @ts-expect-error: Money is immutable
subtotal.minor = 5

// ---- commerce ----------------------------------------------------------------------------
const vat: TaxRegime = {
  id: 'de-vat',
  prices_include_tax: true,
  rounding: { mode: 'half_up', level: 'line' },
  rates: [{ id: 'A', name: 'MwSt 19%', categories: ['standard'], percent: '19' }],
}
const settings: StoreSettings = { store_name: 'Shop', tax_regime: vat, tender_policy: { cash_rounding: { increment: 5, mode: 'half_up' } } }
edge.setSettings(settings)
edge.setSettingsJson(JSON.stringify(settings))
const stored: StoreSettings = edge.settings()
const promos: Promotion[] = [{ id: 'p1', conditions: { coupon: 'SAVE' }, rule: { type: 'percent_off', target: { all: true }, percent: '10' } }]
edge.setPromotions(promos)
const promosJson: string = edge.promotionsJson()
const list: PriceList = { id: 'members', name: 'Members', currency: 'EUR', prices: { 'MILK-1L': '1.09' } }
edge.upsertPriceList(list)
const lists: PriceList[] = edge.priceLists()
const soldBy: SoldBy = 'weight'
edge.upsertProduct({ sku: 'APPLES', name: 'Apples', price: Money.parse('2.99', 'EUR'), taxCategory: 'standard', soldBy, barcodes: ['4006381333931'] })
const scanned: Product = edge.productByBarcode('4006381333931')
const grams: number | undefined = cart.lines()[0]?.grams

cart.addWeighed('APPLES', 1234)
cart.setCustomer({ id: 'C-1', group: 'members', tax_exempt: false })
const customer: Customer | null = cart.customer()
cart.addCoupon('save')
cart.setLineDiscount('MILK-1L', { percent: '12.5', reason: 'dented' })
cart.setOrderDiscount({ amount: new Money(50, 'EUR'), reason: 'goodwill' })
cart.setOrderDiscount(null)
cart.setPriceOverride('APPLES', { price: { minor: 250, currency: 'EUR' }, reason: 'price match' })
const status: CartStatus = cart.status()
const priced: PricedCart = cart.price()
const line: PricedLine | undefined = priced.lines[0]
const total: MoneyValue = priced.total
const totalMinor: number = priced.total.minor
const tenders: TenderInput[] = [
  { kind: 'card', amount: Money.parse('5.00', 'EUR'), card: { token: 'tok_1', brand: 'VISA', last4: '1111', authorized_at_ms: Date.now() } },
  { kind: 'cash', amount: priced.total },
]
const sale: Sale = cart.complete(tenders)
const change: number = sale.settlement.change.minor
const receipt: Receipt = edge.receipt(sale.receipt_no)
const printed: string = edge.receiptText(sale.receipt_no, 42)
const refundTo: RefundTo = 'store_credit'
const refund: Sale = edge.returnItems(sale.receipt_no, [{ line_no: 1, quantity: 1 }], 'changed mind', refundTo)
const receipts: string[] = edge.receiptNumbers()

const request: PricingRequest = {
  currency: 'EUR',
  at: '2026-11-27T16:30:00Z',
  tax_regime: vat,
  lines: [{ sku: 'A', quantity: 2, unit_price: '1.99', tax_category: 'standard' }],
  tenders: [{ kind: 'cash', amount: new Money(500, 'EUR') }],
}
const result: PriceResult = price(request)
const due: MoneyValue | undefined = result.settlement?.due

// The Promise-returning twins of the long calls resolve to the same types.
async function asyncDay(path: string): Promise<string> {
  const store: Edge = await Edge.openAsync(path, config)
  const basket = store.newCart()
  const open: CartStatus = basket.status()
  const quote: PricedCart = await basket.priceAsync()
  const paid: Sale = await basket.completeAsync([{ kind: 'cash', amount: quote.total }])
  const back: Sale = await store.returnItemsAsync(paid.receipt_no, [{ line_no: 1, quantity: 1 }], 'x', 'store_credit')
  const quoted: PriceResult = await priceAsync(request)
  // @ts-expect-error: a cart status is one of three names
  const closed: CartStatus = 'closed'
  void [open, back, quoted, closed]
  return store.receiptTextAsync(paid.receipt_no, 42)
}
const resultJson: string = priceJson(JSON.stringify(request))

// @ts-expect-error: a discount percent is text, never a float
cart.setLineDiscount('MILK-1L', { percent: 12.5, reason: 'dented' })
// @ts-expect-error: tender kinds are a closed set
cart.complete([{ kind: 'cheque', amount: priced.total }])
// @ts-expect-error: a tender amount is a Money or { minor, currency }, never a float
cart.complete([{ kind: 'cash', amount: 12.5 }])
// @ts-expect-error: refunds go to the original tenders or to store credit
edge.returnItems(sale.receipt_no, [{ line_no: 1, quantity: 1 }], 'x', 'cash')
// @ts-expect-error: amounts in results are data, not Money objects
priced.total.add(priced.tax)
// @ts-expect-error: sold by unit or weight
edge.upsertProduct({ ...milk, soldBy: 'kg' })

// ---- gift cards, store credit, exchanges ----------------------------------------------------
const giftCard: StoredValueKind = 'gift_card'
const sv: StoredValue = edge.storedValue()
const account: StoredValueAccount = sv.issue(giftCard, 'GC-1', Money.parse('50.00', 'EUR'), null, 'sold')
sv.load('gift_card', 'GC-1', { minor: 1000, currency: 'EUR' })
const balance: Money = sv.balance('gift_card', 'GC-1')
const entries: StoredValueEntry[] = sv.history('gift_card', 'GC-1')
const accounts: StoredValueAccount[] = sv.accounts('store_credit')
const moved: StoredValueMovement[] | undefined = sale.stored_value
const linked: string | undefined = sale.exchange_with
const swap: Exchange = edge.exchange(sale.receipt_no, [{ line_no: 1, quantity: 1 }], edge.newCart(), [], 'swap', 'store_credit')
const paidOut: number = swap.difference.minor
const toAccount: Sale = edge.returnItemsToAccount(sale.receipt_no, [{ line_no: 1, quantity: 1 }], 'x', 'store_credit', 'SC-1')
// @ts-expect-error: two kinds of stored value
sv.issue('voucher', 'V-1', Money.parse('5.00', 'EUR'))

// ---- store-and-forward -----------------------------------------------------------------------
const streams: Streams = edge.streams()
const insights: StreamConfig = { name: 'insights', max_bytes: 64 << 20, when_full: 'drop_oldest', priority: 1 }
streams.create(insights)
const hq: ExporterConfig = {
  name: 'hq',
  sink: { type: 'http', url: 'https://hq.example/ingest', compression: 'zstd', headers: [['Authorization', 'Bearer t']] },
  retry: { initial_ms: 200, max_ms: 60_000, probe_ms: 500 },
}
streams.addExporter('commerce', hq)
streams.addExporter('insights', { name: 'app', sink: { type: 'callback' }, start_at: { at: 'latest' } })
streams.setCallback('insights', 'app', async (batch: ForwardBatch) => {
  const first: ForwardRecord | undefined = batch.records[0]
  const key: string = batch.idempotencyKey
  void [first?.seq, first?.atMs, first?.payload.byteLength, key]
})
const seq: number = streams.append('insights', { type: 'footfall', count: 12 })
streams.append('insights', '{"type":"queue"}')
streams.append('insights', new Uint8Array([123, 125]))
const seqs: number[] = streams.appendBatch('insights', [{ a: 1 }, [1, 2], 3, null])
const records: ForwardRecord[] = streams.read('insights', 0, 100)
const configs: StreamConfig[] = streams.list()
streams.start()
const running: boolean = streams.running
const statuses: StreamStatus[] = streams.status()
const exporters: ExporterStatus[] = streams.streamStatus('insights').exporters
const lastError: string | null | undefined = exporters[0]?.last_error
async function forwarding(): Promise<boolean> {
  const appended: number = await streams.appendAsync('insights', { n: 1 })
  const drained: boolean = await streams.flush(5_000)
  await streams.stopAsync()
  void appended
  return drained
}
const ingest: Ingest = Ingest.openInMemory()
const report: IngestReport = ingest.receive(encodeBatch({ store: 's', device: 'd', stream: 'x', records: [] }, 'ndjson'), null, (batch) => {
  void batch.records.length
})
const high: number = ingest.highWater('s', 'd', 'x')
const family: ErrorKind | null = errorKind('STREAM_FULL')
// @ts-expect-error: a stream needs its full policy
streams.create({ name: 'x', max_bytes: 10 })
// @ts-expect-error: flush is a Promise (it must not block the thread callbacks run on)
const flushed: boolean = streams.flush(10)

// Sync: cards, bytes, a hub handler, rounds and the syncer.
const sync: Sync = edge.sync()
const card: DeviceCard = sync.identity()
sync.enroll(card)
const chunks: Uint8Array[] = sync.changesSince(sync.request())
const applied: ApplyReport = sync.apply(chunks[0])
const reply = sync.handleHttp('POST', '/v1/sync/exchange', sync.request())
const hubRound: Promise<RoundReport> = sync.syncWithHubAsync('http://127.0.0.1:8080', { timeoutMs: 5000 })
const lan: LanServer = sync.listenLan('127.0.0.1:0')
const syncer: Syncer = sync.startSyncer({ peers: [lan.addr ?? ''], intervalMs: 1000 })
const peers: PeerStatus[] = syncer.status()
const field: SyncValue | undefined = sync.customer('C-1')?.name
// @ts-expect-error: a role is 'store' or 'hq'
sync.setRole('boss')

void [card, applied, reply.status, hubRound, peers, field]
void asyncDay
void [account, balance, entries, accounts, moved, linked, paidOut, toAccount]
void [seq, seqs, records, configs, running, statuses, lastError, forwarding, report, high, family, flushed]
void [found, firstTotal, minor, exact, big, text, rounded, parts, stats, ids, codes]
void [stored, promosJson, lists, scanned, grams, customer, status, line, total, totalMinor, change, receipt, printed, refund, receipts, due, resultJson]

// ---- edge vision ----
import { Detector, Model, Pipeline, loadImage } from '@aisle/core'
import type { AnalyticsConfig, Detection, Frame, PipelineStats, StopReport, VisionInsightEvent } from '@aisle/core'
const personModel: Model = Model.load('target/models/person-ssdlite.model.json')
const photo: Frame = loadImage('target/models/city.jpg', 0)
const cameraFrame: Frame = { data: new Uint8Array(640 * 480 * 4), width: 640, height: 480, format: 'bgra', timestampMs: 33 }
const people: Detection[] = new Detector(personModel).detect(photo)
const firstBox: number = people[0].bbox.x1 - people[0].bbox.x0
const laterPeople: Promise<Detection[]> = new Detector(personModel).detectAsync(cameraFrame)
const entrance: AnalyticsConfig = { camera: 'entrance-1', lines: [{ name: 'door', from: [100, 400], to: [540, 400] }] }
const camera = new Pipeline(edge, personModel, entrance, { queueCapacity: 2 })
const pushedFrame: 'queued' | 'dropped_oldest' = camera.push(cameraFrame)
const cameraStats: PipelineStats = camera.stats()
const stopped: Promise<StopReport> = camera.stopAsync()
const insightEvents: VisionInsightEvent[] = edge.streams().read('vision', 0, 100).map((r) => JSON.parse(String.fromCharCode(...r.payload)) as VisionInsightEvent)
const footfallIn: number | null = insightEvents[0].data.lines[0].in
// @ts-expect-error: a pixel format is 'rgb', 'bgr', 'rgba' or 'bgra'
camera.push({ data: new Uint8Array(3), width: 1, height: 1, format: 'yuv' })
void [people, firstBox, laterPeople, pushedFrame, cameraStats, stopped, footfallIn]
