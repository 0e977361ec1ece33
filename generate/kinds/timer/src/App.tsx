import { useEffect, useState } from 'react'
import './App.css'
import { defaultMode, defaultSeconds, title } from './config'
import DurationPicker from './components/DurationPicker'
import LapList from './components/LapList'
import ModeSwitch from './components/ModeSwitch'
import TimeDisplay from './components/TimeDisplay'
import TimerControls from './components/TimerControls'
import { formatClock } from './format'
import { useStopwatch } from './hooks/useStopwatch'
import type { Mode } from './types'

function beep() {
  try {
    const audio = new AudioContext()
    const tone = audio.createOscillator()
    const gain = audio.createGain()
    tone.frequency.value = 880
    gain.gain.setValueAtTime(0.2, audio.currentTime)
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.8)
    tone.connect(gain).connect(audio.destination)
    tone.start()
    tone.stop(audio.currentTime + 0.8)
    tone.onended = () => void audio.close()
  } catch {
    // No audio available: the on-screen message is enough.
  }
}

export default function App() {
  const [mode, setMode] = useState<Mode>(defaultMode)
  const [duration, setDuration] = useState(defaultSeconds)
  const [laps, setLaps] = useState<number[]>([])
  const [finished, setFinished] = useState(false)
  const { elapsed, running, start, pause, reset } = useStopwatch()

  const countdown = mode === 'countdown'
  const remaining = Math.max(0, duration * 1000 - elapsed)
  const shown = countdown ? remaining : elapsed

  useEffect(() => {
    if (countdown && running && remaining === 0) {
      pause()
      setFinished(true)
      beep()
    }
  }, [countdown, running, remaining, pause])

  useEffect(() => {
    document.title = running ? `${formatClock(shown, false)} · ${title}` : title
  }, [running, shown])

  function resetAll() {
    reset()
    setLaps([])
    setFinished(false)
  }

  function changeMode(next: Mode) {
    if (next !== mode) {
      resetAll()
      setMode(next)
    }
  }

  return (
    <main className="page timer-app">
      <h1>{title}</h1>
      <section className="card" aria-label={countdown ? 'Countdown timer' : 'Stopwatch'}>
        <ModeSwitch mode={mode} onChange={changeMode} />
        <TimeDisplay
          ms={shown}
          hundredths={!countdown}
          progress={countdown ? remaining / (duration * 1000) : null}
          finished={finished}
        />
        <TimerControls
          running={running}
          canStart={!countdown || remaining > 0}
          canReset={elapsed > 0 || finished}
          onStart={() => {
            setFinished(false)
            start()
          }}
          onPause={pause}
          onReset={resetAll}
          onLap={countdown ? undefined : () => setLaps((prev) => [...prev, elapsed])}
        />
        {countdown ? (
          <DurationPicker
            seconds={duration}
            disabled={running || elapsed > 0}
            onChange={(seconds) => {
              setDuration(seconds)
              setFinished(false)
            }}
          />
        ) : (
          <LapList laps={laps} />
        )}
      </section>
    </main>
  )
}
