interface DurationPickerProps {
  seconds: number
  disabled: boolean
  onChange: (seconds: number) => void
}

const presets = [60, 5 * 60, 10 * 60, 25 * 60]
const maxSeconds = 24 * 60 * 60 - 1

function clamp(seconds: number): number {
  return Math.min(maxSeconds, Math.max(1, Math.round(seconds)))
}

export default function DurationPicker({ seconds, disabled, onChange }: DurationPickerProps) {
  const minutesPart = Math.floor(seconds / 60)
  const secondsPart = seconds % 60

  return (
    <fieldset className="duration" disabled={disabled}>
      <legend>Duration</legend>
      <div className="duration-inputs">
        <label>
          <input
            type="number"
            min={0}
            max={1439}
            aria-label="Minutes"
            value={minutesPart}
            onChange={(event) => {
              const m = Number(event.target.value)
              if (Number.isFinite(m) && m >= 0) {
                onChange(clamp(m * 60 + secondsPart))
              }
            }}
          />
          <span>min</span>
        </label>
        <label>
          <input
            type="number"
            min={0}
            max={59}
            aria-label="Seconds"
            value={secondsPart}
            onChange={(event) => {
              const s = Number(event.target.value)
              if (Number.isFinite(s) && s >= 0 && s < 60) {
                onChange(clamp(minutesPart * 60 + s))
              }
            }}
          />
          <span>sec</span>
        </label>
      </div>
      <div className="presets">
        {presets.map((p) => (
          <button
            key={p}
            type="button"
            className={p === seconds ? 'chip active' : 'chip'}
            aria-pressed={p === seconds}
            onClick={() => onChange(p)}
          >
            {p / 60} min
          </button>
        ))}
      </div>
    </fieldset>
  )
}
