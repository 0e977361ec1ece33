import { useState } from 'react'
import './App.css'
import Die from './components/Die'

function roll(): number {
  return 1 + Math.floor(Math.random() * 6)
}

export default function App() {
  const [count, setCount] = useState(2)
  const [values, setValues] = useState<number[]>([3, 5])
  const [rolling, setRolling] = useState(false)
  const [history, setHistory] = useState<number[]>([])
  const total = values.reduce((sum, value) => sum + value, 0)

  function rollAll(dice: number) {
    setRolling(true)
    window.setTimeout(() => {
      const next = Array.from({ length: dice }, roll)
      setValues(next)
      setHistory((prev) => [next.reduce((sum, value) => sum + value, 0), ...prev].slice(0, 10))
      setRolling(false)
    }, 350)
  }

  function changeCount(next: number) {
    setCount(next)
    rollAll(next)
  }

  return (
    <main className="page dice-app">
      <h1>Dice Roller</h1>
      <div className="dice-controls">
        <label>
          Dice{' '}
          <select value={count} onChange={(event) => changeCount(Number(event.target.value))}>
            {[1, 2, 3, 4, 5, 6].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => rollAll(count)} disabled={rolling}>
          Roll
        </button>
      </div>
      <div className="dice">
        {values.map((value, index) => (
          <Die key={index} value={value} rolling={rolling} />
        ))}
      </div>
      <p className="total" aria-live="polite">
        Total: <strong>{total}</strong>
      </p>
      {history.length > 0 && <p className="muted">Last rolls: {history.join(', ')}</p>}
    </main>
  )
}
