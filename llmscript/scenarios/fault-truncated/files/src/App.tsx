import { useEffect, useState } from 'react'
import './App.css'
import { nextNewYear, remaining, toInputValue } from './countdown'

const UNITS = ['days', 'hours', 'minutes', 'seconds'] as const

export default function App() {
  const [now, setNow] = useState(() => new Date())
  const [title, setTitle] = useState('New Year')
  const [target, setTarget] = useState(() => toInputValue(nextNewYear(new Date())))

  useEffect(() => {
    const timer = window.setInterval(() => setNow(new Date()), 1000)
    return () => window.clearInterval(timer)
  }, [])

  const date = new Date(target)
  const valid = !Number.isNaN(date.getTime())
  const left = remaining(valid ? date : now, now)

  return (
    <main className="page countdown-app">
      <h1>{title.trim() === '' ? 'Countdown' : `Countdown to ${title.trim()}`}</h1>
      <div className="countdown-settings">
        <label>
          <span>Event</span>
          <input value={title} onChange={(event) => setTitle(event.target.value)} />
        </label>
        <label>
          <span>Date and time</span>
          <input type="datetime-local" value={target} onChange={(event) => setTarget(event.target.value)} />
        </label>
      </div>
      {!valid ? (
        <p className="muted">Pick a date to count down to.</p>
      ) : left.past ? (
        <p className="done">🎉 {title.trim() === '' ? 'It' : title.trim()} has arrived!</p>
      ) : (
        <div className="countdown" role="timer" aria-live="off">
          {UNITS.map((unit) => (
            <div key={unit} className="countdown-unit">
              <span className="value">{String(left[unit]).padStart(2, '0')}</span>
              <span className="label">{unit}</span>
            </div>
          ))}
        </div>
      )}
    </main>
  )
}
