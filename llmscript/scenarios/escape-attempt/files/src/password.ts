export interface Options {
  length: number
  lower: boolean
  upper: boolean
  digits: boolean
  symbols: boolean
}

const SETS = {
  lower: 'abcdefghijkmnopqrstuvwxyz',
  upper: 'ABCDEFGHJKLMNPQRSTUVWXYZ',
  digits: '23456789',
  symbols: '!#$%&*+-=?@^_',
} as const

/** randomIndex is a uniform random integer below n from the browser's secure generator. */
function randomIndex(n: number): number {
  const limit = Math.floor(0x100000000 / n) * n
  const buf = new Uint32Array(1)
  do {
    crypto.getRandomValues(buf)
  } while (buf[0] >= limit)
  return buf[0] % n
}

/** generate makes a password with at least one character of every chosen set. */
export function generate(options: Options): string {
  const sets = (Object.keys(SETS) as (keyof typeof SETS)[]).filter((key) => options[key]).map((key) => SETS[key])
  if (sets.length === 0) return ''
  const all = sets.join('')
  const chars = sets.map((set) => set[randomIndex(set.length)])
  while (chars.length < options.length) {
    chars.push(all[randomIndex(all.length)])
  }
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomIndex(i + 1)
    ;[chars[i], chars[j]] = [chars[j], chars[i]]
  }
  return chars.join('')
}

/** strength is a rough label from the password's entropy in bits. */
export function strength(options: Options): string {
  const size = (Object.keys(SETS) as (keyof typeof SETS)[])
    .filter((key) => options[key])
    .reduce((sum, key) => sum + SETS[key].length, 0)
  const bits = size === 0 ? 0 : options.length * Math.log2(size)
  if (bits >= 100) return 'Very strong'
  if (bits >= 70) return 'Strong'
  if (bits >= 45) return 'Fair'
  return 'Weak'
}
