import { useState } from 'react'
import './App.css'
import { title } from './config'
import NoteEditor from './components/NoteEditor'
import NoteList from './components/NoteList'
import SearchBar from './components/SearchBar'
import { useLocalStorage } from './hooks/useLocalStorage'
import { newId } from './id'
import { isNoteList, matches } from './types'
import type { Note } from './types'

export default function App() {
  const [notes, setNotes] = useLocalStorage<Note[]>('appforge.notes.v1', [], isNoteList)
  const [selectedId, setSelectedId] = useState<string | null>(
    () => [...notes].sort((a, b) => b.updatedAt - a.updatedAt)[0]?.id ?? null,
  )
  const [query, setQuery] = useState('')

  const sorted = [...notes].sort((a, b) => b.updatedAt - a.updatedAt)
  const visible = sorted.filter((note) => matches(note, query))
  const selected = notes.find((note) => note.id === selectedId) ?? null

  function create() {
    const note: Note = { id: newId(), title: '', body: '', updatedAt: Date.now() }
    setNotes((prev) => [note, ...prev])
    setSelectedId(note.id)
    setQuery('')
  }

  function update(id: string, change: Partial<Pick<Note, 'title' | 'body'>>) {
    setNotes((prev) =>
      prev.map((note) => (note.id === id ? { ...note, ...change, updatedAt: Date.now() } : note)),
    )
  }

  function remove(id: string) {
    const next = sorted.filter((note) => note.id !== id)
    setNotes((prev) => prev.filter((note) => note.id !== id))
    setSelectedId(next[0]?.id ?? null)
  }

  return (
    <div className="notes-app">
      <aside className="sidebar">
        <header className="sidebar-header">
          <h1>{title}</h1>
          <button type="button" onClick={create}>
            New note
          </button>
        </header>
        <SearchBar query={query} onChange={setQuery} />
        <NoteList notes={visible} selectedId={selectedId} query={query} onSelect={setSelectedId} />
      </aside>
      <main className="content">
        {selected === null ? (
          <div className="placeholder">
            <h2>No note selected</h2>
            <p className="muted">Pick a note on the left or start a new one.</p>
            <button type="button" onClick={create}>
              Write a note
            </button>
          </div>
        ) : (
          <NoteEditor key={selected.id} note={selected} onChange={update} onDelete={remove} />
        )}
      </main>
    </div>
  )
}
