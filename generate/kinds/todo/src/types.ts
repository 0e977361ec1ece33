export interface Todo {
  id: string
  text: string
  done: boolean
  createdAt: number
}

export type Filter = 'all' | 'active' | 'done'

export const filters: readonly Filter[] = ['all', 'active', 'done']

export function isTodoList(value: unknown): value is Todo[] {
  return (
    Array.isArray(value) &&
    value.every((item: unknown) => {
      if (typeof item !== 'object' || item === null) {
        return false
      }
      const t = item as Record<string, unknown>
      return (
        typeof t.id === 'string' &&
        typeof t.text === 'string' &&
        typeof t.done === 'boolean' &&
        typeof t.createdAt === 'number'
      )
    })
  )
}
