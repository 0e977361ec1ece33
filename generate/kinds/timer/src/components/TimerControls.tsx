interface TimerControlsProps {
  running: boolean
  canStart: boolean
  canReset: boolean
  onStart: () => void
  onPause: () => void
  onReset: () => void
  // onLap is set in stopwatch mode only.
  onLap?: () => void
}

export default function TimerControls({
  running,
  canStart,
  canReset,
  onStart,
  onPause,
  onReset,
  onLap,
}: TimerControlsProps) {
  return (
    <div className="timer-controls">
      {running ? (
        <button type="button" className="primary" onClick={onPause}>
          Pause
        </button>
      ) : (
        <button type="button" className="primary" onClick={onStart} disabled={!canStart}>
          Start
        </button>
      )}
      {onLap !== undefined && (
        <button type="button" className="secondary" onClick={onLap} disabled={!running}>
          Lap
        </button>
      )}
      <button type="button" className="secondary" onClick={onReset} disabled={!canReset}>
        Reset
      </button>
    </div>
  )
}
