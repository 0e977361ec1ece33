export interface Habit {
  id: string
  name: string
  /** Days the habit was done, as local YYYY-MM-DD keys. */
  doneDays: string[]
  createdAt: number
}

export function isHabitList(value: unknown): value is Habit[] {
  return (
    Array.isArray(value) &&
    value.every((item: unknown) => {
      if (typeof item !== 'object' || item === null) return false
      const habit = item as Record<string, unknown>
      return (
        typeof habit.id === 'string' &&
        typeof habit.name === 'string' &&
        typeof habit.createdAt === 'number' &&
        Array.isArray(habit.doneDays) &&
        habit.doneDays.every((day: unknown) => typeof day === 'string')
      )
    })
  )
}
