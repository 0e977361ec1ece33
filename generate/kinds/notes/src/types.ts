export interface Note {
  id: string
  title: string
  body: string
  updatedAt: number
}

export function isNoteList(value: unknown): value is Note[] {
  return (
    Array.isArray(value) &&
    value.every((item: unknown) => {
      if (typeof item !== 'object' || item === null) {
        return false
      }
      const n = item as Record<string, unknown>
      return (
        typeof n.id === 'string' &&
        typeof n.title === 'string' &&
        typeof n.body === 'string' &&
        typeof n.updatedAt === 'number'
      )
    })
  )
}

export function matches(note: Note, query: string): boolean {
  const q = query.trim().toLowerCase()
  return q === '' || note.title.toLowerCase().includes(q) || note.body.toLowerCase().includes(q)
}

export function displayTitle(note: Note): string {
  return note.title.trim() === '' ? 'Untitled note' : note.title
}
