interface SearchBarProps {
  query: string
  resultCount: number
  onChange: (query: string) => void
}

export default function SearchBar({ query, resultCount, onChange }: SearchBarProps) {
  return (
    <div className="search-bar" role="search">
      <label htmlFor="recipe-search" className="sr-only">
        Search recipes
      </label>
      <input
        id="recipe-search"
        type="search"
        value={query}
        onChange={(event) => onChange(event.target.value)}
        placeholder="Search by name or ingredient"
      />
      {query.trim() !== '' && (
        <span className="search-count muted">
          {resultCount} {resultCount === 1 ? 'match' : 'matches'}
        </span>
      )}
    </div>
  )
}
