export interface Remaining {
  days: number
  hours: number
  minutes: number
  seconds: number
  past: boolean
}

/** remaining splits the time from now until target into days, hours, minutes and seconds. */
export function remaining(target: Date, now: Date): Remaining {
  const diff = target.getTime() - now.getTime()
  const total = Math.max(0, Math.floor(Math.abs(diff) / 1000))
  return {
    days: Math.floor(total / 86400),
    hours: Math.floor((total % 86400) / 3600),
    minutes: Math.floor((total % 3600) / 60),
    seconds: total % 60,
    past: diff < 0,
  }
}

/** nextNewYear is midnight of the coming 1 January, local time. */
export function nextNewYear(now: Date): Date {
  return new Date(now.getFullYear() + 1, 0, 1)
}

export function toInputValue(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`
}
