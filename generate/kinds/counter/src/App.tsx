import { useEffect } from 'react'
import './App.css'
import { defaultStep, title } from './config'
import CounterControls from './components/CounterControls'
import CounterDisplay from './components/CounterDisplay'
import StepPicker, { maxStep } from './components/StepPicker'
import { useLocalStorage } from './hooks/useLocalStorage'

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value)
}

function isStep(value: unknown): value is number {
  return isCount(value) && value >= 1 && value <= maxStep
}

export default function App() {
  const [count, setCount] = useLocalStorage('appforge.counter.v1', 0, isCount)
  const [step, setStep] = useLocalStorage('appforge.counter.step.v1', defaultStep, isStep)

  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      const target = event.target
      if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) {
        return
      }
      if (event.key === '+' || event.key === '=' || event.key === 'ArrowUp') {
        event.preventDefault()
        setCount((c) => c + step)
      } else if (event.key === '-' || event.key === 'ArrowDown') {
        event.preventDefault()
        setCount((c) => c - step)
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [step, setCount])

  return (
    <main className="page counter-app">
      <h1>{title}</h1>
      <section className="card" aria-label="Counter">
        <CounterDisplay count={count} />
        <CounterControls
          step={step}
          canReset={count !== 0}
          onDecrement={() => setCount((c) => c - step)}
          onIncrement={() => setCount((c) => c + step)}
          onReset={() => setCount(0)}
        />
        <StepPicker step={step} onChange={setStep} />
      </section>
      <p className="muted hint">
        Tip: press + or − (or the arrow keys) to count. Your count is saved in this browser.
      </p>
    </main>
  )
}
