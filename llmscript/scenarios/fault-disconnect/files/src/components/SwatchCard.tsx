import { useState } from 'react'
import { toHex } from '../palette'
import type { Swatch } from '../palette'

interface SwatchCardProps {
  swatch: Swatch
}

export default function SwatchCard({ swatch }: SwatchCardProps) {
  const [copied, setCopied] = useState(false)
  const hex = toHex(swatch)
  const dark = swatch.lightness < 55

  async function copy() {
    try {
      await navigator.clipboard.writeText(hex)
      setCopied(true)
      window.setTimeout(() => setCopied(false), 1200)
    } catch {
      setCopied(false)
    }
  }

  return (
    <button
      type="button"
      className="swatch"
      style={{ background: hex, color: dark ? '#ffffff' : '#0f172a' }}
      onClick={copy}
      aria-label={`Copy ${hex}`}
    >
      <span>{copied ? 'Copied!' : hex}</span>
    </button>
  )
}
