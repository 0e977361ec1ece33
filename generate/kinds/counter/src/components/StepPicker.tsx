interface StepPickerProps {
  step: number
  onChange: (step: number) => void
}

const presets = [1, 5, 10]

export const maxStep = 1000

export default function StepPicker({ step, onChange }: StepPickerProps) {
  return (
    <fieldset className="step-picker">
      <legend>Step</legend>
      <div className="step-row">
        {presets.map((preset) => (
          <button
            key={preset}
            type="button"
            className={preset === step ? 'chip active' : 'chip'}
            aria-pressed={preset === step}
            onClick={() => onChange(preset)}
          >
            {preset}
          </button>
        ))}
        <label htmlFor="step-input" className="sr-only">
          Custom step
        </label>
        <input
          id="step-input"
          type="number"
          min={1}
          max={maxStep}
          value={step}
          onChange={(event) => {
            const value = Math.round(Number(event.target.value))
            if (Number.isFinite(value) && value >= 1 && value <= maxStep) {
              onChange(value)
            }
          }}
        />
      </div>
    </fieldset>
  )
}
