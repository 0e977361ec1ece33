export interface Swatch {
  hue: number
  saturation: number
  lightness: number
}

/** palette makes five harmonious colours around a base hue. */
export function palette(hue: number, scheme: Scheme): Swatch[] {
  const offsets = SCHEMES[scheme]
  return offsets.map((offset, index) => ({
    hue: (((hue + offset) % 360) + 360) % 360,
    saturation: 55 + ((index * 9) % 30),
    lightness: 30 + index * 12,
  }))
}

export type Scheme = 'analogous' | 'complementary' | 'triadic'

const SCHEMES: Record<Scheme, number[]> = {
  analogous: [-40, -20, 0, 20, 40],
  complementary: [0, 0, 180, 180, 0],
  triadic: [0, 120, 240, 120, 0],
}

/** toHex converts an HSL swatch to a #rrggbb colour. */
export function toHex({ hue, saturation, lightness }: Swatch): string {
  const s = saturation / 100
  const l = lightness / 100
  const k = (n: number) => (n + hue / 30) % 12
  const a = s * Math.min(l, 1 - l)
  const channel = (n: number) => {
    const value = l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)))
    return Math.round(value * 255)
      .toString(16)
      .padStart(2, '0')
  }
  return `#${channel(0)}${channel(8)}${channel(4)}`
}
