import { useState } from 'react'

interface HabitFormProps {
  onAdd: (name: string) => void
}

export default function HabitForm({ onAdd }: HabitFormProps) {
  const [name, setName] = useState('')

  return (
    <form
      className="habit-form"
      onSubmit={(event) => {
        event.preventDefault()
        const trimmed = name.trim()
        if (trimmed === '') return
        onAdd(trimmed)
        setName('')
      }}
    >
      <label htmlFor="habit-name" className="sr-only">
        New habit
      </label>
      <input
        id="habit-name"
        value={name}
        maxLength={60}
        onChange={(event) => setName(event.target.value)}
        placeholder="Drink water, read 10 pages…"
      />
      <button type="submit" disabled={name.trim() === ''}>
        Add habit
      </button>
    </form>
  )
}
