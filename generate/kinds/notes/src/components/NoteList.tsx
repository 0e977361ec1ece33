import { displayTitle } from '../types'
import type { Note } from '../types'

interface NoteListProps {
  notes: Note[]
  selectedId: string | null
  query: string
  onSelect: (id: string) => void
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

export default function NoteList({ notes, selectedId, query, onSelect }: NoteListProps) {
  if (notes.length === 0) {
    return (
      <p className="empty muted">
        {query.trim() === '' ? 'No notes yet.' : `No notes match "${query.trim()}".`}
      </p>
    )
  }
  return (
    <ul className="note-list" aria-label="Notes">
      {notes.map((note) => (
        <li key={note.id}>
          <button
            type="button"
            className={note.id === selectedId ? 'note-link selected' : 'note-link'}
            aria-current={note.id === selectedId ? 'true' : undefined}
            onClick={() => onSelect(note.id)}
          >
            <span className="note-link-title">{displayTitle(note)}</span>
            <span className="note-link-snippet">{note.body.slice(0, 80) || 'No text'}</span>
            <time className="note-link-date" dateTime={new Date(note.updatedAt).toISOString()}>
              {dateFormat.format(note.updatedAt)}
            </time>
          </button>
        </li>
      ))}
    </ul>
  )
}
