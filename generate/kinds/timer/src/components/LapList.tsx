import { formatClock } from '../format'

interface LapListProps {
  // laps are elapsed times at each lap, in ms, oldest first.
  laps: number[]
}

export default function LapList({ laps }: LapListProps) {
  if (laps.length === 0) {
    return null
  }
  return (
    <ol className="laps" aria-label="Laps">
      {laps
        .map((at, i) => ({ n: i + 1, at, split: at - (i > 0 ? laps[i - 1] : 0) }))
        .reverse()
        .map((lap) => (
          <li key={lap.n}>
            <span className="muted">Lap {lap.n}</span>
            <span>{formatClock(lap.split, true)}</span>
            <span className="muted">{formatClock(lap.at, true)}</span>
          </li>
        ))}
    </ol>
  )
}
