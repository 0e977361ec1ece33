import { useState } from 'react'
import './App.css'
import { title } from './config'
import FilterBar from './components/FilterBar'
import TodoForm from './components/TodoForm'
import TodoList from './components/TodoList'
import { useLocalStorage } from './hooks/useLocalStorage'
import { newId } from './id'
import { isTodoList } from './types'
import type { Filter, Todo } from './types'

export default function App() {
  const [todos, setTodos] = useLocalStorage<Todo[]>('appforge.todos.v1', [], isTodoList)
  const [filter, setFilter] = useState<Filter>('all')

  const remaining = todos.filter((t) => !t.done).length
  const doneCount = todos.length - remaining
  const visible = todos.filter((t) =>
    filter === 'all' ? true : filter === 'done' ? t.done : !t.done,
  )

  function add(text: string) {
    setTodos((prev) => [...prev, { id: newId(), text, done: false, createdAt: Date.now() }])
  }

  function toggle(id: string) {
    setTodos((prev) => prev.map((t) => (t.id === id ? { ...t, done: !t.done } : t)))
  }

  function remove(id: string) {
    setTodos((prev) => prev.filter((t) => t.id !== id))
  }

  function clearDone() {
    setTodos((prev) => prev.filter((t) => !t.done))
  }

  return (
    <main className="page todo-app">
      <header className="todo-header">
        <h1>{title}</h1>
        <p className="muted">
          {todos.length === 0
            ? 'Add tasks, tick them off, and they stay here next time.'
            : `${doneCount} of ${todos.length} done`}
        </p>
      </header>
      <section className="card" aria-label="Task list">
        <TodoForm onAdd={add} />
        <FilterBar
          filter={filter}
          remaining={remaining}
          doneCount={doneCount}
          onFilter={setFilter}
          onClearDone={clearDone}
        />
        <TodoList todos={visible} filter={filter} onToggle={toggle} onDelete={remove} />
      </section>
    </main>
  )
}
