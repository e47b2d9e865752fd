// Type-checked by `tsc` in `npm test` (never run): the typings a TypeScript user gets.
import { Cart, Edge, Money, errorCodes } from '@aisle/core'
import type { CartLine, EdgeConfig, Product, RoundingMode, StoreStats } from '@aisle/core'

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

void [found, firstTotal, minor, exact, big, text, rounded, parts, stats, ids, codes]
