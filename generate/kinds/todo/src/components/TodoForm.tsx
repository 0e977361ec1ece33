import { useState } from 'react'

interface TodoFormProps {
  onAdd: (text: string) => void
}

export default function TodoForm({ onAdd }: TodoFormProps) {
  const [text, setText] = useState('')
  const trimmed = text.trim()

  return (
    <form
      className="todo-form"
      onSubmit={(event) => {
        event.preventDefault()
        if (trimmed === '') {
          return
        }
        onAdd(trimmed)
        setText('')
      }}
    >
      <label htmlFor="new-todo" className="sr-only">
        New task
      </label>
      <input
        id="new-todo"
        value={text}
        onChange={(event) => setText(event.target.value)}
        placeholder="What needs doing?"
        autoComplete="off"
        maxLength={200}
      />
      <button type="submit" disabled={trimmed === ''}>
        Add
      </button>
    </form>
  )
}
