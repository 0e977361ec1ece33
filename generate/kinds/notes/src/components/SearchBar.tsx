interface SearchBarProps {
  query: string
  onChange: (query: string) => void
}

export default function SearchBar({ query, onChange }: SearchBarProps) {
  return (
    <div className="search" role="search">
      <label htmlFor="note-search" className="sr-only">
        Search notes
      </label>
      <input
        id="note-search"
        type="search"
        value={query}
        onChange={(event) => onChange(event.target.value)}
        placeholder="Search notes"
        autoComplete="off"
      />
    </div>
  )
}
