import { useState } from 'react'
import './App.css'
import TipResult from './components/TipResult'
import { split } from './lib'

const PRESETS = [10, 15, 18, 20, 25]

export default function App() {
  const [bill, setBill] = useState('48.50')
  const [tipPercent, setTipPercent] = useState(15)
  const [people, setPeople] = useState(2)
  const result = split(Number.parseFloat(bill), tipPercent, people)

  return (
    <main className="page tip-app">
      <h1>Tip Calculator</h1>
      <label className="field">
        <span>Bill</span>
        <input inputMode="decimal" value={bill} onChange={(event) => setBill(event.target.value)} />
      </label>
      <fieldset className="field presets">
        <legend>Tip</legend>
        {PRESETS.map((percent) => (
          <button
            key={percent}
            type="button"
            className={percent === tipPercent ? 'preset selected' : 'preset'}
            aria-pressed={percent === tipPercent}
            onClick={() => setTipPercent(percent)}
          >
            {percent}%
          </button>
        ))}
      </fieldset>
      <label className="field">
        <span>People</span>
        <input
          type="number"
          min={1}
          max={50}
          value={people}
          onChange={(event) => setPeople(Math.max(1, Math.round(Number(event.target.value)) || 1))}
        />
      </label>
      <TipResult result={result} people={people} />
    </main>
  )
}
