import type { Filter, Todo } from '../types'
import TodoItem from './TodoItem'

interface TodoListProps {
  todos: Todo[]
  filter: Filter
  onToggle: (id: string) => void
  onDelete: (id: string) => void
}

const emptyText: Record<Filter, string> = {
  all: 'Nothing here yet. Add your first task above.',
  active: 'All done. Nice work!',
  done: 'No finished tasks yet.',
}

export default function TodoList({ todos, filter, onToggle, onDelete }: TodoListProps) {
  if (todos.length === 0) {
    return <p className="empty muted">{emptyText[filter]}</p>
  }
  return (
    <ul className="todo-list" aria-label="Tasks">
      {todos.map((todo) => (
        <TodoItem key={todo.id} todo={todo} onToggle={onToggle} onDelete={onDelete} />
      ))}
    </ul>
  )
}
