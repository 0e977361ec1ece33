/** dayKey is the local calendar day of date as YYYY-MM-DD. */
export function dayKey(date: Date): string {
  const month = String(date.getMonth() + 1).padStart(2, '0')
  const day = String(date.getDate()).padStart(2, '0')
  return `${date.getFullYear()}-${month}-${day}`
}

/** lastDays returns the count days ending today, oldest first. */
export function lastDays(count: number, today: Date = new Date()): Date[] {
  return Array.from({ length: count }, (_, index) => {
    const date = new Date(today)
    date.setDate(today.getDate() - (count - 1 - index))
    return date
  })
}

/**
 * streak counts the days in a row the habit was done, up to today. A habit not yet done
 * today keeps yesterday's streak until the day is over.
 */
export function streak(doneDays: string[], today: Date = new Date()): number {
  const done = new Set(doneDays)
  const date = new Date(today)
  if (!done.has(dayKey(date))) {
    date.setDate(date.getDate() - 1)
  }
  let count = 0
  while (done.has(dayKey(date))) {
    count++
    date.setDate(date.getDate() - 1)
  }
  return count
}

const weekday = new Intl.DateTimeFormat(undefined, { weekday: 'short' })

export function weekdayLabel(date: Date): string {
  return weekday.format(date)
}
