import { useState } from 'react'
import './App.css'
import SwatchCard from './components/SwatchCard'
import { palette } from './palette'
import type { Scheme } from './palette'

const SCHEMES: Scheme[] = ['analogous', 'complementary', 'triadic']

export default function App() {
  const [hue, setHue] = useState(210)
  const [scheme, setScheme] = useState<Scheme>('analogous')
  const swatches = palette(hue, scheme)

  return (
    <main className="page palette-app">
      <h1>Colour Palette</h1>
      <p className="muted">Pick a base hue and a scheme. Click a colour to copy it.</p>
      <div className="palette-controls">
        <label>
          <span>Hue {hue}°</span>
          <input type="range" min={0} max={359} value={hue} onChange={(event) => setHue(Number(event.target.value))} />
        </label>
        <div className="schemes" role="group" aria-label="Scheme">
          {SCHEMES.map((name) => (
            <button
              key={name}
              type="button"
              className={name === scheme ? 'scheme selected' : 'scheme'}
              aria-pressed={name === scheme}
              onClick={() => setScheme(name)}
            >
              {name}
            </button>
          ))}
        </div>
        <button type="button" onClick={() => setHue(Math.floor(Math.random() * 360))}>
          Surprise me
        </button>
      </div>
      <div className="swatches">
        {swatches.map((swatch, index) => (
          <SwatchCard key={index} swatch={swatch} />
        ))}
      </div>
    </main>
  )
}
