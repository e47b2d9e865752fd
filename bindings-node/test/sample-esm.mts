// Type-checked by `tsc` in `npm test`: the ESM entry point has the same typings.
import { Edge, Money } from '@aisle/core'

const edge = Edge.openInMemory({ storeId: 'store-1', deviceId: 'register-1', currency: 'EUR' })
const total: Money = edge.newCart().subtotal()
const zero: boolean = total.equals(new Money(0, 'EUR'))
void zero
