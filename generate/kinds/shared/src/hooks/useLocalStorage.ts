import { useEffect, useState } from 'react'
import type { Dispatch, SetStateAction } from 'react'

// useLocalStorage keeps a value in this browser's localStorage under key. A stored value
// that fails isValid (an older format, or edited by hand) is ignored, and storage that is
// unavailable (private mode, full quota) leaves the app working in memory only.
export function useLocalStorage<T>(
  key: string,
  initial: T,
  isValid: (value: unknown) => value is T,
): [T, Dispatch<SetStateAction<T>>] {
  const [value, setValue] = useState<T>(() => {
    try {
      const raw = window.localStorage.getItem(key)
      if (raw !== null) {
        const parsed: unknown = JSON.parse(raw)
        if (isValid(parsed)) {
          return parsed
        }
      }
    } catch {
      // Unreadable or unavailable storage: start from the initial value.
    }
    return initial
  })

  useEffect(() => {
    try {
      window.localStorage.setItem(key, JSON.stringify(value))
    } catch {
      // Storage full or unavailable: the value lives in memory until the page closes.
    }
  }, [key, value])

  return [value, setValue]
}
