import type { Mode } from '../types'

interface ModeSwitchProps {
  mode: Mode
  onChange: (mode: Mode) => void
}

const modes: { value: Mode; label: string }[] = [
  { value: 'countdown', label: 'Countdown' },
  { value: 'stopwatch', label: 'Stopwatch' },
]

export default function ModeSwitch({ mode, onChange }: ModeSwitchProps) {
  return (
    <div className="mode-switch" role="group" aria-label="Mode">
      {modes.map((m) => (
        <button
          key={m.value}
          type="button"
          className={m.value === mode ? 'segment active' : 'segment'}
          aria-pressed={m.value === mode}
          onClick={() => onChange(m.value)}
        >
          {m.label}
        </button>
      ))}
    </div>
  )
}
