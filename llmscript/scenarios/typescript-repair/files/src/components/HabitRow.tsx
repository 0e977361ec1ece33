import StreakBadge from './StreakBadge'
import { dayKey, streak } from '../lib/dates'
import type { Habit } from '../types'

interface HabitRowProps {
  habit: Habit
  days: Date[]
  onToggle: (id: string, day: string) => void
  onRemove: (id: string) => void
}

export default function HabitRow({ habit, days, onToggle, onRemove }: HabitRowProps) {
  const count = streak(habit.doneDays)

  return (
    <li className="habit-row">
      <span className="habit-name">{habit.name}</span>
      <div className="habit-days">
        {days.map((date) => {
          const key = dayKey(date)
          const done = habit.doneDays.includes(key)
          return (
            <button
              key={key}
              type="button"
              className={done ? 'day done' : 'day'}
              aria-pressed={done}
              aria-label={`${habit.name} on ${date.toDateString()}`}
              onClick={() => onToggle(habit.id, key)}
            >
              {done ? '✓' : ''}
            </button>
          )
        })}
      </div>
      <StreakBadge label={count} active={count > 0} />
      <button type="button" className="remove" aria-label={`Remove ${habit.name}`} onClick={() => onRemove(habit.id)}>
        ×
      </button>
    </li>
  )
}
