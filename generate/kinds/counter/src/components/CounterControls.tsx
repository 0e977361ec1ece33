interface CounterControlsProps {
  step: number
  canReset: boolean
  onDecrement: () => void
  onIncrement: () => void
  onReset: () => void
}

export default function CounterControls({
  step,
  canReset,
  onDecrement,
  onIncrement,
  onReset,
}: CounterControlsProps) {
  return (
    <div className="controls">
      <button
        type="button"
        className="round"
        onClick={onDecrement}
        aria-label={`Decrease by ${step}`}
      >
        −{step}
      </button>
      <button type="button" className="reset" onClick={onReset} disabled={!canReset}>
        Reset
      </button>
      <button
        type="button"
        className="round"
        onClick={onIncrement}
        aria-label={`Increase by ${step}`}
      >
        +{step}
      </button>
    </div>
  )
}
