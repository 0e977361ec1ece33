import { useEffect, useState } from 'react'
import './App.css'

interface Tally {
  name: string
  count: number
}

const STORAGE_KEY = 'appforge.tally.v1'

function load(): Tally[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]')
    if (Array.isArray(parsed) && parsed.every((t) => typeof t?.name === 'string' && typeof t?.count === 'number')) {
      return parsed as Tally[]
    }
  } catch {
    // Unreadable storage: start fresh.
  }
  return [{ name: 'Robins', count: 0 }]
}

export default function App() {
  const [tallies, setTallies] = useState<Tally[]>(load)
  const [name, setName] = useState('')

  useEffect(() => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(tallies))
  }, [tallies])

  function bump(index: number, by: number) {
    setTallies((prev) => prev.map((t, i) => (i === index ? { ...t, count: Math.max(0, t.count + by) } : t)))
  }

  return (
    <main className="page tally-app">
      <h1>Tally Counter</h1>
      <form
        className="tally-form"
        onSubmit={(event) => {
          event.preventDefault()
          if (name.trim() === '') return
          setTallies((prev) => [...prev, { name: name.trim(), count: 0 }])
          setName('')
        }}
      >
        <input aria-label="New tally" value={name} onChange={(event) => setName(event.target.value)} placeholder="What are you counting?" />
        <button type="submit">Add</button>
      </form>
      <ul className="tallies">
        {tallies.map((tally, index) => (
          <li key={`${tally.name}-${index}`}>
            <span className="tally-name">{tally.name}</span>
            <button type="button" className="secondary" aria-label={`One less ${tally.name}`} onClick={() => bump(index, -1)}>
              −
            </button>
            <span className="tally-count">{tally.count}</span>
            <button type="button" aria-label={`One more ${tally.name}`} onClick={() => bump(index, 1)}>
              +
            </button>
          </li>
        ))}
      </ul>
      <p className="muted">Total: {tallies.reduce((sum, t) => sum + t.count, 0)}</p>
    </main>
  )
}
