import { useEffect, useRef, useState } from 'react'
import './App.css'

function format(ms: number): string {
  const minutes = Math.floor(ms / 60000)
  const seconds = Math.floor((ms % 60000) / 1000)
  const hundredths = Math.floor((ms % 1000) / 10)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${pad(minutes)}:${pad(seconds)}.${pad(hundredths)}`
}

export default function App() {
  const [elapsed, setElapsed] = useState(0)
  const [running, setRunning] = useState(false)
  const [laps, setLaps] = useState<number[]>([])
  const startedAt = useRef(0)

  useEffect(() => {
    if (!running) return
    startedAt.current = performance.now() - elapsed
    const timer = window.setInterval(() => setElapsed(performance.now() - startedAt.current), 31)
    return () => window.clearInterval(timer)
    // elapsed is read once when the watch starts; it must not restart the interval.
  }, [running])

  function reset() {
    setRunning(false)
    setElapsed(0)
    setLaps([])
  }

  return (
    <main className="page stopwatch-app">
      <h1>Stopwatch</h1>
      <p className="time" role="timer">
        {format(elapsed)}
      </p>
      <div className="stopwatch-controls">
        <button type="button" onClick={() => setRunning((r) => !r)}>
          {running ? 'Stop' : 'Start'}
        </button>
        <button type="button" className="secondary" onClick={() => setLaps((prev) => [elapsed, ...prev])} disabled={!running}>
          Lap
        </button>
        <button type="button" className="secondary" onClick={reset} disabled={running || elapsed === 0}>
          Reset
        </button>
      </div>
      <ol className="laps" reversed>
        {laps.map((lap, index) => (
          <li key={laps.length - index}>{format(lap)}</li>
        ))}
      </ol>
    </main>
  )
}
