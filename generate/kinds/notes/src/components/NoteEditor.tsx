import type { Note } from '../types'

interface NoteEditorProps {
  note: Note
  onChange: (id: string, change: Partial<Pick<Note, 'title' | 'body'>>) => void
  onDelete: (id: string) => void
}

export default function NoteEditor({ note, onChange, onDelete }: NoteEditorProps) {
  return (
    <article className="editor" aria-label="Edit note">
      <div className="editor-field">
        <label htmlFor="note-title">Title</label>
        <input
          id="note-title"
          className="editor-title"
          value={note.title}
          onChange={(event) => onChange(note.id, { title: event.target.value })}
          placeholder="Untitled note"
          maxLength={120}
          autoFocus={note.title === '' && note.body === ''}
        />
      </div>
      <div className="editor-field editor-grow">
        <label htmlFor="note-body">Note</label>
        <textarea
          id="note-body"
          value={note.body}
          onChange={(event) => onChange(note.id, { body: event.target.value })}
          placeholder="Start writing…"
        />
      </div>
      <div className="editor-actions">
        <span className="muted">Saved in this browser</span>
        <button
          type="button"
          className="danger-button"
          onClick={() => {
            if (window.confirm('Delete this note?')) {
              onDelete(note.id)
            }
          }}
        >
          Delete note
        </button>
      </div>
    </article>
  )
}
