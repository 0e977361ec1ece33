import { useEffect, useState } from 'react'
import { isHabitList } from '../types'
import type { Habit } from '../types'

const STORAGE_KEY = 'appforge.habits.v1'

function loadHabits(): Habit[] {
  try {
    const raw = localStorage.getItem(STORAGE_KEY)
    const parsed: unknown = raw === null ? [] : JSON.parse(raw)
    return isHabitList(parsed) ? parsed : []
  } catch {
    return []
  }
}

function newId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}

/** The habits tracked in this browser, kept in localStorage. */
export function useHabits() {
  const [habits, setHabits] = useState<Habit[]>(loadHabits)

  useEffect(() => {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(habits))
    } catch {
      // Storage full or disabled: the habits still work for this visit.
    }
  }, [habits])

  function addHabit(name: string) {
    setHabits((prev) => [...prev, { id: newId(), name, doneDays: [], createdAt: Date.now() }])
  }

  function toggleDay(id: string, day: string) {
    setHabits((prev) =>
      prev.map((habit) => {
        if (habit.id !== id) return habit
        const done = habit.doneDays.includes(day)
        return {
          ...habit,
          doneDays: done ? habit.doneDays.filter((d) => d !== day) : [...habit.doneDays, day],
        }
      }),
    )
  }

  function removeHabit(id: string) {
    setHabits((prev) => prev.filter((habit) => habit.id !== id))
  }

  return { habits, addHabit, toggleDay, removeHabit }
}
