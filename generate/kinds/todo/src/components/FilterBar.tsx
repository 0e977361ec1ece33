import { filters } from '../types'
import type { Filter } from '../types'

interface FilterBarProps {
  filter: Filter
  remaining: number
  doneCount: number
  onFilter: (filter: Filter) => void
  onClearDone: () => void
}

const labels: Record<Filter, string> = { all: 'All', active: 'Active', done: 'Done' }

export default function FilterBar({
  filter,
  remaining,
  doneCount,
  onFilter,
  onClearDone,
}: FilterBarProps) {
  return (
    <div className="filter-bar">
      <span className="muted" aria-live="polite">
        {remaining === 1 ? '1 task left' : `${remaining} tasks left`}
      </span>
      <div className="filters" role="group" aria-label="Show">
        {filters.map((f) => (
          <button
            key={f}
            type="button"
            className={f === filter ? 'chip active' : 'chip'}
            aria-pressed={f === filter}
            onClick={() => onFilter(f)}
          >
            {labels[f]}
          </button>
        ))}
      </div>
      <button type="button" className="link-button" onClick={onClearDone} disabled={doneCount === 0}>
        Clear done
      </button>
    </div>
  )
}
