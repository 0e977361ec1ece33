export type Unit = 'km' | 'mi'

const KM_PER_MILE = 1.609344

/** convert turns a distance in one unit into the other. */
export function convert(value: number, from: Unit): number {
  return from === 'km' ? value / KM_PER_MILE : value * KM_PER_MILE
}

export function other(unit: Unit): Unit {
  return unit === 'km' ? 'mi' : 'km'
}

export const unitName: Record<Unit, string> = { km: 'kilometres', mi: 'miles' }

export function format(value: number): string {
  return value.toLocaleString(undefined, { maximumFractionDigits: 3 })
}
