function pad(n: number): string {
  return n.toString().padStart(2, '0')
}

// formatClock shows ms as h:mm:ss or mm:ss, with hundredths when asked (for the stopwatch).
export function formatClock(ms: number, hundredths: boolean): string {
  const total = Math.max(0, ms)
  const totalSeconds = Math.floor(total / 1000)
  const hours = Math.floor(totalSeconds / 3600)
  const minutes = Math.floor((totalSeconds % 3600) / 60)
  const seconds = totalSeconds % 60
  const main = hours > 0 ? `${hours}:${pad(minutes)}:${pad(seconds)}` : `${pad(minutes)}:${pad(seconds)}`
  return hundredths ? `${main}.${pad(Math.floor((total % 1000) / 10))}` : main
}

// formatSpoken describes ms in words for screen readers, e.g. "4 minutes 30 seconds".
export function formatSpoken(ms: number): string {
  const totalSeconds = Math.round(Math.max(0, ms) / 1000)
  const minutes = Math.floor(totalSeconds / 60)
  const seconds = totalSeconds % 60
  const parts: string[] = []
  if (minutes > 0) {
    parts.push(minutes === 1 ? '1 minute' : `${minutes} minutes`)
  }
  if (seconds > 0 || minutes === 0) {
    parts.push(seconds === 1 ? '1 second' : `${seconds} seconds`)
  }
  return parts.join(' ')
}
