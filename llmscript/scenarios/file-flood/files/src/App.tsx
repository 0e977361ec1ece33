import { useState } from 'react'
import './App.css'

const EMOJI: [string, string][] = [
  ['😀', 'grinning face'],
  ['😂', 'tears of joy'],
  ['😍', 'heart eyes'],
  ['🤔', 'thinking face'],
  ['😴', 'sleeping face'],
  ['🥳', 'partying face'],
  ['🐶', 'dog'],
  ['🐱', 'cat'],
  ['🦊', 'fox'],
  ['🐢', 'turtle'],
  ['🌵', 'cactus'],
  ['🌻', 'sunflower'],
  ['🍕', 'pizza'],
  ['🍣', 'sushi'],
  ['☕', 'coffee'],
  ['🚀', 'rocket'],
  ['⚽', 'football'],
  ['🎸', 'guitar'],
  ['💡', 'light bulb'],
  ['❤️', 'red heart'],
]

export default function App() {
  const [query, setQuery] = useState('')
  const [copied, setCopied] = useState<string | null>(null)
  const visible = EMOJI.filter(([, name]) => name.includes(query.trim().toLowerCase()))

  async function copy(emoji: string) {
    try {
      await navigator.clipboard.writeText(emoji)
      setCopied(emoji)
    } catch {
      setCopied(null)
    }
  }

  return (
    <main className="page emoji-app">
      <h1>Emoji Gallery</h1>
      <input
        type="search"
        aria-label="Search emoji"
        value={query}
        onChange={(event) => setQuery(event.target.value)}
        placeholder="Search by name"
      />
      <p className="muted" aria-live="polite">
        {copied === null ? 'Click an emoji to copy it.' : `Copied ${copied}`}
      </p>
      <div className="emoji-grid">
        {visible.map(([emoji, name]) => (
          <button key={name} type="button" className="emoji" title={name} aria-label={`Copy ${name}`} onClick={() => copy(emoji)}>
            {emoji}
          </button>
        ))}
      </div>
    </main>
  )
}
