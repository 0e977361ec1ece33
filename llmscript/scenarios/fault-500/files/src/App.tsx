import { useState } from 'react'
import './App.css'
import { convert, format, other, unitName } from './units'
import type { Unit } from './units'

const COMMON = [1, 5, 10, 21.0975, 42.195]

export default function App() {
  const [from, setFrom] = useState<Unit>('km')
  const [input, setInput] = useState('10')
  const value = Number.parseFloat(input)
  const to = other(from)

  return (
    <main className="page converter">
      <h1>Kilometres ⇄ Miles</h1>
      <div className="converter-row">
        <label className="sr-only" htmlFor="distance">
          Distance in {unitName[from]}
        </label>
        <input id="distance" inputMode="decimal" value={input} onChange={(event) => setInput(event.target.value)} />
        <span className="unit">{from}</span>
        <button type="button" onClick={() => setFrom(to)} aria-label="Swap units">
          ⇄
        </button>
      </div>
      <p className="result" aria-live="polite">
        {Number.isFinite(value) ? (
          <>
            {format(value)} {unitName[from]} = <strong>{format(convert(value, from))}</strong> {unitName[to]}
          </>
        ) : (
          <span className="muted">Type a number to convert.</span>
        )}
      </p>
      <table className="common">
        <caption className="muted">Common distances</caption>
        <tbody>
          {COMMON.map((distance) => (
            <tr key={distance}>
              <td>
                {format(distance)} {from}
              </td>
              <td>
                {format(convert(distance, from))} {to}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </main>
  )
}
