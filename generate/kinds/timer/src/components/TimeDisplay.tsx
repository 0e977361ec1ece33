import { formatClock, formatSpoken } from '../format'

interface TimeDisplayProps {
  ms: number
  hundredths: boolean
  // progress is the share of a countdown still to go, from 1 to 0; null for the stopwatch.
  progress: number | null
  finished: boolean
}

export default function TimeDisplay({ ms, hundredths, progress, finished }: TimeDisplayProps) {
  return (
    <div className={finished ? 'time-display finished' : 'time-display'}>
      <div role="timer" aria-label={formatSpoken(ms)} className="time">
        {formatClock(ms, hundredths)}
      </div>
      {progress !== null && (
        <div className="progress" aria-hidden="true">
          <div className="progress-bar" style={{ width: `${Math.max(0, Math.min(1, progress)) * 100}%` }} />
        </div>
      )}
      <p className="status" role="status">
        {finished ? "Time's up!" : ''}
      </p>
    </div>
  )
}
