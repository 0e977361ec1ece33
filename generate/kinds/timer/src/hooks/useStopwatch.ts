import { useCallback, useEffect, useState } from 'react'

interface Clock {
  running: boolean
  // accumulated is the time counted before the current run, in ms.
  accumulated: number
  // startedAt is when the current run began (performance.now()); meaningful while running.
  startedAt: number
}

const stopped: Clock = { running: false, accumulated: 0, startedAt: 0 }

// useStopwatch measures elapsed time across start and pause. It reads the clock rather
// than counting ticks, so it stays exact when the tab is in the background.
export function useStopwatch() {
  const [clock, setClock] = useState<Clock>(stopped)
  const [now, setNow] = useState(0)

  useEffect(() => {
    if (!clock.running) {
      return
    }
    const id = window.setInterval(() => setNow(performance.now()), 50)
    return () => window.clearInterval(id)
  }, [clock.running])

  const start = useCallback(() => {
    const t = performance.now()
    setNow(t)
    setClock((c) => (c.running ? c : { running: true, accumulated: c.accumulated, startedAt: t }))
  }, [])

  const pause = useCallback(() => {
    const t = performance.now()
    setClock((c) =>
      c.running ? { running: false, accumulated: c.accumulated + (t - c.startedAt), startedAt: 0 } : c,
    )
  }, [])

  const reset = useCallback(() => setClock(stopped), [])

  const elapsed = clock.running ? clock.accumulated + Math.max(0, now - clock.startedAt) : clock.accumulated
  return { elapsed, running: clock.running, start, pause, reset }
}
