import './App.css'
import HabitForm from './components/HabitForm'
import HabitRow from './components/HabitRow'
import { useHabits } from './hooks/useHabits'
import { lastDays, weekdayLabel } from './lib/dates'

export default function App() {
  const { habits, addHabit, toggleDay, removeHabit } = useHabits()
  const days = lastDays(7)

  return (
    <main className="page habit-app">
      <h1>Habit Tracker</h1>
      <p className="muted">Tick off each day you kept a habit. Your streaks are saved in this browser.</p>
      <HabitForm onAdd={addHabit} />
      {habits.length === 0 ? (
        <p className="empty muted">No habits yet. Add one above to start a streak.</p>
      ) : (
        <>
          <div className="habit-header" aria-hidden="true">
            <span />
            <div className="habit-days">
              {days.map((date) => (
                <span key={date.toDateString()} className="day-label">
                  {weekdayLabel(date)}
                </span>
              ))}
            </div>
          </div>
          <ul className="habit-list">
            {habits.map((habit) => (
              <HabitRow key={habit.id} habit={habit} days={days} onToggle={toggleDay} onRemove={removeHabit} />
            ))}
          </ul>
        </>
      )}
    </main>
  )
}
